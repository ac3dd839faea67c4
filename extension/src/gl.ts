// Minimal WebGL2 helpers: program compilation, LUT textures, context set-up with the 2-D
// fallback, and teardown.
import type { Disposer } from "./model";

export function compile(gl: WebGL2RenderingContext, vs: string, fs: string): WebGLProgram {
  const mk = (type: number, src: string): WebGLShader => {
    const s = gl.createShader(type);
    if (!s) throw new Error("createShader failed");
    gl.shaderSource(s, src);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS) && !gl.isContextLost()) {
      const log = gl.getShaderInfoLog(s);
      gl.deleteShader(s);
      throw new Error(`shader compile: ${log}`);
    }
    return s;
  };
  const p = gl.createProgram();
  if (!p) throw new Error("createProgram failed");
  const v = mk(gl.VERTEX_SHADER, vs),
    f = mk(gl.FRAGMENT_SHADER, fs);
  gl.attachShader(p, v);
  gl.attachShader(p, f);
  gl.linkProgram(p);
  gl.deleteShader(v);
  gl.deleteShader(f);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS) && !gl.isContextLost()) {
    throw new Error(`program link: ${gl.getProgramInfoLog(p)}`);
  }
  return p;
}

export function uniforms(gl: WebGL2RenderingContext, p: WebGLProgram, names: string[]): Record<string, WebGLUniformLocation | null> {
  const out: Record<string, WebGLUniformLocation | null> = {};
  for (const n of names) out[n] = gl.getUniformLocation(p, n);
  return out;
}

/** A 256x1 RGBA8 texture holding a colour lookup table (sampled with texelFetch). */
export function lutTexture(gl: WebGL2RenderingContext): WebGLTexture {
  const t = gl.createTexture();
  if (!t) throw new Error("createTexture failed");
  gl.bindTexture(gl.TEXTURE_2D, t);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 256, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(1024));
  return t;
}

export function setLut(gl: WebGL2RenderingContext, t: WebGLTexture, lut: Uint8Array): void {
  gl.bindTexture(gl.TEXTURE_2D, t);
  gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, 256, 1, gl.RGBA, gl.UNSIGNED_BYTE, lut);
}

/** Try to get a WebGL2 context; null when unavailable (or disabled for tests). */
export function getGL2(canvas: HTMLCanvasElement): WebGL2RenderingContext | null {
  const g = globalThis as { __neurographForceCanvas2d?: boolean };
  if (g.__neurographForceCanvas2d) return null;
  try {
    return canvas.getContext("webgl2", {
      antialias: false,
      alpha: false,
      depth: false,
      stencil: false,
      premultipliedAlpha: true,
      preserveDrawingBuffer: true,
      powerPreference: "high-performance",
    });
  } catch {
    return null;
  }
}

/** Release the context now instead of waiting for GC (browsers cap live contexts). */
export function loseContext(gl: WebGL2RenderingContext): void {
  gl.getExtension("WEBGL_lose_context")?.loseContext();
}

/** Premultiplied alpha blending, as the shaders output premultiplied colour. */
export function premulBlend(gl: WebGL2RenderingContext): void {
  gl.enable(gl.BLEND);
  gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
}

export function clearRect(gl: WebGL2RenderingContext, x: number, y: number, w: number, h: number, rgb: ArrayLike<number>): void {
  gl.enable(gl.SCISSOR_TEST);
  gl.scissor(x, y, w, h);
  gl.clearColor(rgb[0] / 255, rgb[1] / 255, rgb[2] / 255, 1);
  gl.clear(gl.COLOR_BUFFER_BIT);
}

/** A fresh canvas in `stage`, before `before` (the overlay). */
export function newCanvas(stage: HTMLElement, before: Node): HTMLCanvasElement {
  const c = document.createElement("canvas");
  stage.insertBefore(c, before);
  return c;
}

/**
 * A WebGL2 renderer on a fresh canvas (a lost context later calls `onLost`), or, when WebGL2 is
 * unavailable or `makeGL` throws, `make2D` on another fresh canvas (`failed` is then true).
 */
export function webgl2OrFallback<R>(
  stage: HTMLElement,
  before: Node,
  d: Disposer,
  makeGL: (c: HTMLCanvasElement, gl: WebGL2RenderingContext) => R,
  make2D: (c: HTMLCanvasElement) => R,
  onLost: () => void,
): { renderer: R; failed: boolean } {
  const canvas = newCanvas(stage, before);
  const gl = getGL2(canvas);
  if (gl) {
    try {
      const renderer = makeGL(canvas, gl);
      d.listen(canvas, "webglcontextlost", onLost);
      return { renderer, failed: false };
    } catch (e) {
      console.warn("[neurograph_lab] WebGL2 init failed", e);
      loseContext(gl);
    }
  }
  canvas.remove();
  return { renderer: make2D(newCanvas(stage, before)), failed: true };
}
