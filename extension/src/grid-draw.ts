// What a grid renderer is asked to draw; shared by the WebGL2 and the 2-D canvas renderers.
import type { Affine, Rect } from "./scale";

export interface ViewDraw {
  rect: Rect; // CSS px inside the canvas
  key: string; // data identity for GPU buffers / caches: "s0".."s7" or "main"
  ver: number; // bumped whenever `data` changes
  data: Uint8Array; // quantised coords, `comps` bytes per display index
  comps: number;
  stride: number;
  chunks: number; // loaded iff i % stride < chunks
  gen?: number; // data generation: same gen = same data, chunks only added (`ver` = any change); default ver
  limit?: number; // draw at most this many points (whole chunks, progressive.ts `chunksWithin`); default all
  affine: Affine; // q -> CSS px
  size: number; // point size, CSS px
  alpha: number;
  bg: [number, number, number];
  // per-view overrides of the frame's per-point arrays (used by the compact LOD sample)
  colorIdx?: Uint8Array;
  colorVer?: number;
  sel?: Uint8Array;
  selVer?: number;
}

export interface GridFrame {
  width: number; // CSS px
  height: number;
  dpr: number;
  n: number;
  views: ViewDraw[]; // the views to (re)draw this frame
  colorIdx: Uint8Array;
  colorVer: number; // per-point LUT index
  colorGen?: number; // colour generation: same gen = only chunks `colorChunks` and later changed
  colorChunks?: number; // chunks whose colours are final (numeric colours arrive in chunks)
  lut: Uint8Array;
  lutVer: number; // 256 x RGBA
  sel: Uint8Array;
  selVer: number;
  hasSel: boolean;
  dim: [number, number, number]; // colour that unselected points fade towards
  brand: [number, number, number];
  clear: [number, number, number] | null; // clear the whole canvas first (full redraw)
  budget?: number; // at most this many points drawn this frame (WebGL: the rest in the next frames)
}

export interface GridRenderer {
  readonly kind: "webgl2" | "canvas2d" | "density";
  readonly canvas: HTMLCanvasElement;
  resize(width: number, height: number, dpr: number): void;
  /** Draw the frame's views; true when some points are left for the next frames (see `budget`). */
  draw(f: GridFrame): boolean;
  dispose(): void;
}

/** Point size and opacity that keep 10^3..10^7 points readable. */
export function pointStyle(n: number, small: boolean): { size: number; alpha: number } {
  const l = Math.log10(Math.max(10, n));
  const size = Math.min(4.5, Math.max(1.2, 4.5 - 0.8 * (l - 3))) * (small ? 0.6 : 1);
  const alpha = Math.min(0.9, Math.max(0.12, 0.95 - 0.2 * (l - 3))) * (small ? 0.9 : 1);
  return { size: Math.max(1, size), alpha };
}
