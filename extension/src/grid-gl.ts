// WebGL2 point renderer for all 9 grid views on ONE canvas/context (viewport = whole canvas,
// scissor = view rect). Coordinates stay uint8 on the GPU; colour is a uint8 LUT index.
import { chunkMajorRange, loadedCount, toChunkMajor } from "./chunks";
import { clearRect, compile, loseContext, lutTexture, premulBlend, setLut, uniforms } from "./gl";
import type { GridFrame, GridRenderer, ViewDraw } from "./grid-draw";
import { chunksWithin, type DrawnState, planDraw } from "./progressive";

// Vertex shader. aQ is the uint8 coordinate (z defaults to 0 for 2-comp buffers), mapped to CSS
// px by the 2x3 affine (uM0, uM1, uB) and then to clip space. GPU buffers are in chunk-major
// order (toChunkMajor), so only the loaded prefix is drawn and no per-vertex load test is
// needed. uPass: 0 = no selection, 1 = unselected points dimmed, 2 = selected points on top.
const VS = `#version 300 es
layout(location=0) in vec3 aQ;
layout(location=1) in float aC;
layout(location=2) in float aS;
uniform vec3 uM0, uM1;
uniform vec2 uB, uCanvas;
uniform int uPass;
uniform float uSize, uAlpha;
uniform vec3 uDim;
uniform sampler2D uLut;
out vec4 vCol;
void main() {
  bool sel = aS > 0.5;
  // code 255 on x and y: the token is not placed in this space
  if ((uPass == 1 && sel) || (uPass == 2 && !sel) || (aQ.x > 254.5 && aQ.y > 254.5)) {
    gl_Position = vec4(2.0, 2.0, 2.0, 1.0);  // outside the clip volume: not rasterised
    gl_PointSize = 0.0;
    vCol = vec4(0.0);
    return;
  }
  vec2 p = vec2(dot(uM0, aQ), dot(uM1, aQ)) + uB;
  gl_Position = vec4(p.x / uCanvas.x * 2.0 - 1.0, 1.0 - p.y / uCanvas.y * 2.0, 0.0, 1.0);
  vec3 c = texelFetch(uLut, ivec2(int(aC), 0), 0).rgb;
  float a = uAlpha;
  if (uPass == 1) { c = mix(c, uDim, 0.7); a *= 0.3; }
  if (uPass == 2) { a = min(1.0, a * 1.6 + 0.2); }
  gl_PointSize = uSize;
  vCol = vec4(c * a, a);  // premultiplied
}`;

// Round points when they are big enough to show a shape; squares are cheaper for 1 px dots.
const FS = `#version 300 es
precision mediump float;
in vec4 vCol;
uniform bool uRound;
out vec4 outColor;
void main() {
  if (uRound) { vec2 d = gl_PointCoord - 0.5; if (dot(d, d) > 0.25) discard; }
  outColor = vCol;
}`;

const U = ["uM0", "uM1", "uB", "uCanvas", "uPass", "uSize", "uAlpha", "uDim", "uLut", "uRound"];

interface Buf {
  buf: WebGLBuffer;
  ver: number;
  len: number;
  /** Generation and stride of the data held, and the chunks of it uploaded (a prefix). */
  gen: number;
  stride: number;
  chunks: number;
}

export class GridGL implements GridRenderer {
  readonly kind = "webgl2";
  private prog: WebGLProgram;
  private u: Record<string, WebGLUniformLocation | null>;
  private vao: WebGLVertexArrayObject;
  private lut: WebGLTexture;
  private lutVer = -1;
  private bufs = new Map<string, Buf>();
  private scratch: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  /** What each view rectangle shows now (progressive drawing), and the canvas clear done last. */
  private drawn = new Map<string, DrawnState>();
  private clearSig = "";
  private w = 1;
  private h = 1;
  private dpr = 1;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private gl: WebGL2RenderingContext,
  ) {
    this.prog = compile(gl, VS, FS);
    this.u = uniforms(gl, this.prog, U);
    const vao = gl.createVertexArray();
    if (!vao) throw new Error("createVertexArray failed");
    this.vao = vao;
    this.lut = lutTexture(gl);
  }

  resize(width: number, height: number, dpr: number): void {
    this.w = width;
    this.h = height;
    this.dpr = dpr;
  }

  /**
   * Upload `data` (display order) to buffer `key` in chunk-major order when its version changed.
   * Same `gen` and stride as held: only the chunks from the held prefix up to `chunks` are
   * uploaded (data that grows by chunks costs the new chunks, not all n points again).
   */
  private buffer(
    key: string,
    data: Uint8Array,
    ver: number,
    comps: number,
    stride: number,
    n: number,
    gen = ver,
    chunks = stride,
  ): WebGLBuffer {
    const gl = this.gl;
    let b = this.bufs.get(key);
    if (!b) {
      const buf = gl.createBuffer();
      if (!buf) throw new Error("createBuffer failed");
      b = { buf, ver: -1, len: -1, gen: -1, stride: 0, chunks: 0 };
      this.bufs.set(key, b);
    }
    gl.bindBuffer(gl.ARRAY_BUFFER, b.buf);
    if (b.ver === ver && b.len === data.length) return b.buf;
    if (b.gen === gen && b.len === data.length && b.stride === stride && stride > 1) {
      if (chunks > b.chunks) {
        const off = loadedCount(n, stride, b.chunks) * comps;
        this.scratch = this.room(data.length);
        const up = chunkMajorRange(data, comps, n, stride, b.chunks, chunks, this.scratch);
        gl.bufferSubData(gl.ARRAY_BUFFER, off, up);
        b.chunks = chunks;
      }
      b.ver = ver;
      return b.buf;
    }
    let up = data;
    if (stride > 1) {
      this.scratch = this.room(data.length);
      up = toChunkMajor(data, comps, n, stride, this.scratch.subarray(0, data.length));
    }
    if (b.len === data.length) gl.bufferSubData(gl.ARRAY_BUFFER, 0, up);
    else gl.bufferData(gl.ARRAY_BUFFER, up, gl.DYNAMIC_DRAW);
    Object.assign(b, { ver, len: data.length, gen, stride, chunks });
    return b.buf;
  }

  private room(len: number): Uint8Array<ArrayBuffer> {
    return this.scratch.length < len ? new Uint8Array(len) : this.scratch;
  }

  draw(f: GridFrame): boolean {
    const gl = this.gl;
    if (gl.isContextLost()) return false;
    const dpr = this.dpr;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.useProgram(this.prog);
    gl.bindVertexArray(this.vao);
    if (this.lutVer !== f.lutVer) {
      setLut(gl, this.lut, f.lut);
      this.lutVer = f.lutVer;
    }
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.lut);
    gl.uniform1i(this.u.uLut, 0);
    gl.uniform2f(this.u.uCanvas, this.w, this.h);
    gl.uniform3f(this.u.uDim, f.dim[0] / 255, f.dim[1] / 255, f.dim[2] / 255);
    // the space between the views is cleared when the canvas or its colour changed; the views
    // keep what earlier frames drew (progressive drawing, progressive.ts) until they change
    const clearSig = f.clear ? `${this.canvas.width}x${this.canvas.height}|${f.clear.join()}` : this.clearSig;
    if (f.clear && clearSig !== this.clearSig) {
      clearRect(gl, 0, 0, this.canvas.width, this.canvas.height, f.clear);
      this.clearSig = clearSig;
      this.drawn.clear();
    }
    premulBlend(gl);
    let budget = f.budget ?? Number.POSITIVE_INFINITY;
    let more = false;
    for (const v of f.views) {
      const left = this.drawView(v, f, dpr, budget);
      budget = Math.max(0, budget - left.drawn);
      more ||= left.more;
    }
    gl.disable(gl.SCISSOR_TEST);
    return more;
  }

  /** Draw what `v` still needs, at most `budget` points; the points drawn and whether any are left. */
  private drawView(v: ViewDraw, f: GridFrame, dpr: number, budget: number): { drawn: number; more: boolean } {
    const gl = this.gl;
    const r = v.rect;
    const x = Math.round(r.x * dpr),
      w = Math.round(r.w * dpr),
      hh = Math.round(r.h * dpr);
    const y = this.canvas.height - Math.round(r.y * dpr) - hh; // GL origin is bottom-left
    const n = Math.min(f.n, Math.floor(v.data.length / v.comps));
    const own = v.colorIdx !== undefined;
    // numeric colours arrive in chunks too: draw only points whose colour is there
    const ready = own ? v.chunks : Math.min(v.chunks, f.colorChunks ?? v.chunks);
    const shown = chunksWithin(n, v.stride, ready, v.limit ?? Number.POSITIVE_INFINITY);
    const count = loadedCount(n, v.stride, shown);
    const colorGen = own ? (v.colorVer ?? 0) : (f.colorGen ?? f.colorVer);
    // everything that changes the pixels except more points of the same data; with a selection
    // (two passes over the points) the count too: the passes cannot be appended to
    const sig = [
      x,
      y,
      w,
      hh,
      v.key,
      v.gen ?? v.ver,
      n,
      v.stride,
      v.comps,
      Array.from(v.affine.m).join(),
      v.affine.b.join(),
      v.size,
      v.alpha,
      v.bg.join(),
      colorGen,
      f.lutVer,
      f.hasSel ? `sel${v.selVer ?? f.selVer}|${count}` : "",
      dpr,
    ].join("|");
    const at = `${x},${y}`; // what the rectangle shows (the main view's LOD sample and full data alternate)
    const { plan, next } = planDraw(this.drawn.get(at), sig, count, f.hasSel ? count : budget);
    this.drawn.set(at, next);
    if (plan.clear) clearRect(gl, x, y, w, hh, v.bg);
    const more = next.drawn < count;
    if (plan.to <= plan.from) return { drawn: 0, more };
    gl.enable(gl.SCISSOR_TEST);
    gl.scissor(x, y, w, hh);
    // per-point attributes: colour index (loc 1) and selected flag (loc 2), shared by the
    // full-data views; the LOD sample brings its own compact copies
    const c = v.colorIdx ?? f.colorIdx,
      sl = v.sel ?? f.sel;
    if (own) this.buffer(`${v.key}:color`, c, v.colorVer ?? 0, 1, v.stride, c.length);
    else this.buffer("color", c, f.colorVer, 1, v.stride, c.length, f.colorGen ?? f.colorVer, f.colorChunks ?? v.stride);
    gl.enableVertexAttribArray(1);
    gl.vertexAttribPointer(1, 1, gl.UNSIGNED_BYTE, false, 0, 0);
    this.buffer(own ? `${v.key}:sel` : "sel", sl, v.selVer ?? f.selVer, 1, v.stride, sl.length);
    gl.enableVertexAttribArray(2);
    gl.vertexAttribPointer(2, 1, gl.UNSIGNED_BYTE, false, 0, 0);
    this.buffer(v.key, v.data, v.ver, v.comps, v.stride, n, v.gen ?? v.ver, v.chunks);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, v.comps, gl.UNSIGNED_BYTE, false, 0, 0);
    const m = v.affine.m;
    gl.uniform3f(this.u.uM0, m[0], m[1], m[2]);
    gl.uniform3f(this.u.uM1, m[3], m[4], m[5]);
    gl.uniform2f(this.u.uB, v.affine.b[0], v.affine.b[1]);
    gl.uniform1f(this.u.uSize, Math.max(1, v.size * dpr));
    gl.uniform1f(this.u.uAlpha, v.alpha);
    gl.uniform1i(this.u.uRound, v.size * dpr >= 3 ? 1 : 0);
    const span = plan.to - plan.from;
    if (!f.hasSel) {
      gl.uniform1i(this.u.uPass, 0);
      gl.drawArrays(gl.POINTS, plan.from, span);
    } else {
      gl.uniform1i(this.u.uPass, 1);
      gl.drawArrays(gl.POINTS, plan.from, span);
      gl.uniform1i(this.u.uPass, 2);
      gl.drawArrays(gl.POINTS, plan.from, span);
    }
    return { drawn: span, more };
  }

  dispose(): void {
    const gl = this.gl;
    for (const b of this.bufs.values()) gl.deleteBuffer(b.buf);
    this.bufs.clear();
    gl.deleteVertexArray(this.vao);
    gl.deleteTexture(this.lut);
    gl.deleteProgram(this.prog);
    loseContext(gl);
    this.canvas.width = 1;
    this.canvas.height = 1;
    this.canvas.remove();
  }
}
