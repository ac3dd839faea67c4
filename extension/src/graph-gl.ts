// WebGL2 renderer for the graph: edges as GL lines (colour = palette index, opacity from the
// width byte) then nodes as round points with an outline (selected nodes: brand colour).
import { clearRect, compile, loseContext, lutTexture, premulBlend, setLut, uniforms } from "./gl";
import type { GraphFrame, GraphRenderer } from "./graph-draw";

// Node and edge positions are float data coords; uXf maps them to CSS px (x*sx+bx, y*sy+by).
const EDGE_VS = `#version 300 es
layout(location=0) in vec2 aP;
layout(location=1) in float aC;
layout(location=2) in float aW;
uniform vec4 uXf;
uniform vec2 uCanvas;
uniform sampler2D uLut;
uniform float uFade;
out vec4 vCol;
void main() {
  vec2 p = aP * uXf.xy + uXf.zw;
  gl_Position = vec4(p.x / uCanvas.x * 2.0 - 1.0, 1.0 - p.y / uCanvas.y * 2.0, 0.0, 1.0);
  float a = (0.05 + 0.55 * aW / 255.0) * uFade;  // weak edges nearly transparent
  vCol = vec4(texelFetch(uLut, ivec2(int(aC), 0), 0).rgb * a, a);
}`;

const EDGE_FS = `#version 300 es
precision mediump float;
in vec4 vCol;
out vec4 o;
void main() { o = vCol; }`;

// Point size from the size byte (sqrt so area ~ degree); outline colour via vRing.
const NODE_VS = `#version 300 es
layout(location=0) in vec2 aP;
layout(location=1) in float aC;
layout(location=2) in float aS;
layout(location=3) in float aSel;
uniform vec4 uXf;
uniform vec2 uCanvas;
uniform sampler2D uLut;
uniform float uDpr, uDim;
uniform vec3 uRing, uBrand;
out vec3 vFill;
out vec4 vRing;
out float vA;
void main() {
  vec2 p = aP * uXf.xy + uXf.zw;
  gl_Position = vec4(p.x / uCanvas.x * 2.0 - 1.0, 1.0 - p.y / uCanvas.y * 2.0, 0.0, 1.0);
  bool sel = aSel > 0.5;
  float r = 1.5 + sqrt(aS) * 0.45;  // = nodeRadius() in graph-data.ts
  gl_PointSize = (2.0 * r + (sel ? 4.0 : 1.0)) * uDpr;
  vFill = texelFetch(uLut, ivec2(int(aC), 0), 0).rgb;
  vRing = vec4(sel ? uBrand : uRing, sel ? 0.62 : 0.8);  // w: where the outline starts (r^2 in point coords x4)
  vA = sel || uDim < 0.5 ? 1.0 : 0.35;
}`;

const NODE_FS = `#version 300 es
precision mediump float;
in vec3 vFill;
in vec4 vRing;
in float vA;
out vec4 o;
void main() {
  vec2 d = gl_PointCoord * 2.0 - 1.0;
  float r2 = dot(d, d);
  if (r2 > 1.0) discard;
  vec3 c = r2 > vRing.w ? vRing.rgb : vFill;
  o = vec4(c * vA, vA);
}`;

const NODE_LOD = 12_000; // nodes drawn while panning/zooming
const EDGE_LOD = 20_000; // edges drawn while panning/zooming

/** Element indices taking every k-th item (k-th pair of vertices for lines). */
function strideIndices(count: number, budget: number, perItem: number): Uint32Array {
  const k = Math.max(1, Math.ceil(count / budget));
  const m = Math.ceil(count / k);
  const out = new Uint32Array(m * perItem);
  for (let j = 0; j < m; j++) for (let v = 0; v < perItem; v++) out[j * perItem + v] = j * k * perItem + v;
  return out;
}

export class GraphGL implements GraphRenderer {
  readonly kind = "webgl2";
  private edgeP: WebGLProgram;
  private nodeP: WebGLProgram;
  private ue: Record<string, WebGLUniformLocation | null>;
  private un: Record<string, WebGLUniformLocation | null>;
  private vaoE: WebGLVertexArrayObject;
  private vaoN: WebGLVertexArrayObject;
  private lut: WebGLTexture;
  private lutVer = -1;
  private bufs: WebGLBuffer[] = [];
  private tags = ["", "", ""];
  private lodE: WebGLBuffer;
  private lodN: WebGLBuffer;
  private lodCount = [0, 0];
  private lodTag = "";

  constructor(
    readonly canvas: HTMLCanvasElement,
    private gl: WebGL2RenderingContext,
  ) {
    this.edgeP = compile(gl, EDGE_VS, EDGE_FS);
    this.nodeP = compile(gl, NODE_VS, NODE_FS);
    this.ue = uniforms(gl, this.edgeP, ["uXf", "uCanvas", "uLut", "uFade"]);
    this.un = uniforms(gl, this.nodeP, ["uXf", "uCanvas", "uLut", "uDpr", "uDim", "uRing", "uBrand"]);
    const a = gl.createVertexArray(),
      b = gl.createVertexArray();
    if (!a || !b) throw new Error("createVertexArray failed");
    this.vaoE = a;
    this.vaoN = b;
    for (let i = 0; i < 7; i++) {
      const buf = gl.createBuffer();
      if (!buf) throw new Error("createBuffer failed");
      this.bufs.push(buf);
    }
    this.lut = lutTexture(gl);
    const le = gl.createBuffer(),
      ln = gl.createBuffer();
    if (!le || !ln) throw new Error("createBuffer failed");
    this.lodE = le;
    this.lodN = ln;
  }

  /** Element buffers of the LOD subsample (bound to each VAO as its ELEMENT_ARRAY_BUFFER). */
  private lodBuffers(n: number, edges: number): void {
    const tag = `${n}|${edges}`;
    if (this.lodTag === tag) return;
    this.lodTag = tag;
    const gl = this.gl;
    const ie = strideIndices(edges, EDGE_LOD, 2),
      iN = strideIndices(n, NODE_LOD, 1);
    gl.bindVertexArray(this.vaoE);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.lodE);
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, ie, gl.STATIC_DRAW);
    gl.bindVertexArray(this.vaoN);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.lodN);
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, iN, gl.STATIC_DRAW);
    gl.bindVertexArray(null);
    this.lodCount = [ie.length, iN.length];
  }

  private attr(vao: WebGLVertexArrayObject, loc: number, buf: WebGLBuffer, data: ArrayBufferView | null, size: number, type: number): void {
    const gl = this.gl;
    gl.bindVertexArray(vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    if (data) gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, size, type, false, 0, 0);
  }

  private upload(f: GraphFrame): void {
    const gl = this.gl,
      d = f.data,
      b = this.bufs;
    const nodeTag = `${d.nodeVer}`;
    if (this.tags[0] !== nodeTag) {
      this.tags[0] = nodeTag;
      this.attr(this.vaoN, 0, b[0], d.pos, 2, gl.FLOAT);
      this.attr(this.vaoN, 1, b[1], d.col, 1, gl.UNSIGNED_BYTE);
      this.attr(this.vaoN, 2, b[2], d.size, 1, gl.UNSIGNED_BYTE);
    }
    const selTag = `${d.nodeVer}|${d.selVer}`;
    if (this.tags[1] !== selTag) {
      this.tags[1] = selTag;
      this.attr(this.vaoN, 3, b[3], d.sel, 1, gl.UNSIGNED_BYTE);
    }
    d.lines();
    const edgeTag = `${d.nodeVer}|${d.edgeVer}`;
    if (this.tags[2] !== edgeTag) {
      this.tags[2] = edgeTag;
      const m = d.edges;
      this.attr(this.vaoE, 0, b[4], d.linePos.subarray(0, 4 * m), 2, gl.FLOAT);
      this.attr(this.vaoE, 1, b[5], d.lineCol.subarray(0, 2 * m), 1, gl.UNSIGNED_BYTE);
      this.attr(this.vaoE, 2, b[6], d.lineW.subarray(0, 2 * m), 1, gl.UNSIGNED_BYTE);
    }
    gl.bindVertexArray(null);
  }

  draw(f: GraphFrame): void {
    const gl = this.gl;
    if (gl.isContextLost()) return;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    clearRect(gl, 0, 0, this.canvas.width, this.canvas.height, f.bg);
    gl.disable(gl.SCISSOR_TEST);
    if (f.data.n === 0) return;
    this.upload(f);
    if (this.lutVer !== f.lutVer) {
      setLut(gl, this.lut, f.lut);
      this.lutVer = f.lutVer;
    }
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.lut);
    premulBlend(gl);
    const m = f.affine.m,
      xf = [m[0], m[4], f.affine.b[0], f.affine.b[1]] as const;
    const edges = f.data.edges;
    if (f.lod) this.lodBuffers(f.data.n, edges);
    if (edges > 0) {
      gl.useProgram(this.edgeP);
      gl.uniform4f(this.ue.uXf, ...xf);
      gl.uniform2f(this.ue.uCanvas, f.width, f.height);
      gl.uniform1i(this.ue.uLut, 0);
      gl.uniform1f(this.ue.uFade, f.edgeFade * (f.hasSel ? 0.5 : 1));
      gl.bindVertexArray(this.vaoE);
      if (f.lod) gl.drawElements(gl.LINES, this.lodCount[0], gl.UNSIGNED_INT, 0);
      else gl.drawArrays(gl.LINES, 0, 2 * edges);
    }
    gl.useProgram(this.nodeP);
    gl.uniform4f(this.un.uXf, ...xf);
    gl.uniform2f(this.un.uCanvas, f.width, f.height);
    gl.uniform1i(this.un.uLut, 0);
    gl.uniform1f(this.un.uDpr, f.dpr);
    gl.uniform1f(this.un.uDim, f.hasSel ? 1 : 0);
    gl.uniform3f(this.un.uRing, f.ring[0] / 255, f.ring[1] / 255, f.ring[2] / 255);
    gl.uniform3f(this.un.uBrand, f.brand[0] / 255, f.brand[1] / 255, f.brand[2] / 255);
    gl.bindVertexArray(this.vaoN);
    if (f.lod) gl.drawElements(gl.POINTS, this.lodCount[1], gl.UNSIGNED_INT, 0);
    else gl.drawArrays(gl.POINTS, 0, f.data.n);
    gl.bindVertexArray(null);
  }

  dispose(): void {
    const gl = this.gl;
    for (const b of [...this.bufs, this.lodE, this.lodN]) gl.deleteBuffer(b);
    gl.deleteVertexArray(this.vaoE);
    gl.deleteVertexArray(this.vaoN);
    gl.deleteTexture(this.lut);
    gl.deleteProgram(this.edgeP);
    gl.deleteProgram(this.nodeP);
    loseContext(gl);
    this.canvas.width = 1;
    this.canvas.height = 1;
    this.canvas.remove();
  }
}
