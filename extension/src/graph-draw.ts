// What a graph renderer draws; shared by the WebGL2 and 2-D canvas renderers.
import type { GraphData } from "./graph-data";
import type { Affine } from "./scale";

export interface GraphFrame {
  width: number;
  height: number;
  dpr: number;
  data: GraphData;
  affine: Affine; // node position -> CSS px
  lut: Uint8Array;
  lutVer: number; // categorical palette
  bg: [number, number, number];
  ring: [number, number, number]; // node outline
  brand: [number, number, number]; // selected outline
  lod: boolean; // while moving: draw an even subsample of nodes and edges
  hasSel: boolean;
  edgeFade: number; // 0..1, multiplies edge opacity: lower where edges crowd the view (edgeFade())
}

export interface GraphRenderer {
  readonly kind: "webgl2" | "canvas2d";
  readonly canvas: HTMLCanvasElement;
  draw(f: GraphFrame): void;
  dispose(): void;
}

/** Ink coverage (edge px per view px) from which edges start to fade, and the faintest fade. */
const FADE_FROM = 0.25;
const FADE_MIN = 0.12;

/**
 * Edge opacity factor for the current view: 1 while the visible edges cover little of the view,
 * falling as their ink (visible length x 1 px line, over the view's area) grows, so a dense
 * hairball turns into a light haze and zooming in brings the edges back. `lineLen`: summed edge
 * length in data units; `extent`: the nodes' bounding box in data units; `sx`, `sy`: data -> px
 * scale (the affine's diagonal), `bx`, `by` its offsets; `w`, `h`: the view in px. The visible part
 * of the edges is estimated as the visible fraction of the nodes' bounding box.
 */
export function edgeFade(
  lineLen: number,
  extent: [number, number, number, number],
  sx: number,
  sy: number,
  bx: number,
  by: number,
  w: number,
  h: number,
): number {
  if (!(lineLen > 0) || w <= 0 || h <= 0) return 1;
  const xs = [extent[0] * sx + bx, extent[2] * sx + bx].sort((a, b) => a - b);
  const ys = [extent[1] * sy + by, extent[3] * sy + by].sort((a, b) => a - b);
  const bw = Math.max(xs[1] - xs[0], 1),
    bh = Math.max(ys[1] - ys[0], 1);
  const vw = Math.max(0, Math.min(xs[1], w) - Math.max(xs[0], 0));
  const vh = Math.max(0, Math.min(ys[1], h) - Math.max(ys[0], 0));
  const visible = Math.min(1, (Math.max(vw, 1) * Math.max(vh, 1)) / (bw * bh));
  const ink = (lineLen * Math.sqrt(Math.abs(sx * sy)) * visible) / (w * h);
  if (ink <= FADE_FROM) return 1;
  return Math.max(FADE_MIN, (FADE_FROM / ink) ** 0.7);
}

/** The on-canvas note of a sampled graph: "showing 5,000 of 1,762,000 nodes (sampled)"; "" when `from` is 0 (not sampled). */
export function sampledNote(shown: number, from: number): string {
  if (!(from > 0)) return "";
  const f = (v: number) => Math.round(v).toLocaleString("en-US");
  return `showing ${f(shown)} of ${f(from)} nodes (sampled)`;
}
