// What each GridExplorer view shows: the layout of the main view and the 8 small multiples, where
// the main view's points come from, and the data + transform (`ViewDraw`) of every view. Pure.
import { loadedCount } from "./chunks";
import { pointStyle, type ViewDraw } from "./grid-draw";
import { type GridStore, N_SPACES } from "./grid-store";
import { chunksWithin } from "./progressive";
import { affine2d, affine3d, IDENTITY_ZOOM, projectAll, type Range, type Rect, rotation, type Zoom } from "./scale";
import { parseRgb, type Theme } from "./theme";

export const MAIN_H = 520;
/** Points a small multiple draws at most (whole chunks of the stream, at least the first). */
export const SMALL_LIMIT = 65_536;
const GAP = 6;

export interface GridLayout {
  main: Rect;
  small: Rect[];
  height: number;
}

/** The main view on top, the small multiples below it in 8 columns (4 when narrower than 720 px). */
export function gridLayout(width: number): GridLayout {
  const cols = width >= 720 ? 8 : 4;
  const size = Math.floor((width - GAP * (cols + 1)) / cols);
  const small: Rect[] = [];
  for (let i = 0; i < N_SPACES; i++) {
    small.push({ x: GAP + (i % cols) * (size + GAP), y: MAIN_H + GAP + Math.floor(i / cols) * (size + GAP), w: size, h: size });
  }
  return { main: { x: 0, y: 0, w: width, h: MAIN_H }, small, height: MAIN_H + GAP + (N_SPACES / cols) * (size + GAP) };
}

/** Where the main view's points come from: axes (0,1) of a space from `coords`, anything else from `main`. */
export interface MainSource {
  data: Uint8Array;
  comps: number;
  chunks: number;
  ver: number;
  key: string;
  axes: number[];
  /** Data generation (GPU uploads: same generation = chunks only added). */
  gen: number;
  /** Space index. */
  s: number;
  three: boolean;
  /** The view needs `main` chunks that have not arrived. */
  waiting: boolean;
}

/** The main view's source for space `s`, axes `ax` (or 3-D); `mainAxes` are those of the `main` chunks held. */
export function mainSource(store: GridStore, s: number, ax: number[], three: boolean, mainAxes: number[]): MainSource {
  if (!three && ax[0] === 0 && ax[1] === 1) {
    const chunks = store.coords.prefix;
    const ver = store.spaceVer,
      gen = store.spaceGen;
    return { data: store.spaces[s], comps: 2, chunks, ver, gen, key: `s${s}`, axes: [0, 1], s, three, waiting: false };
  }
  const want = three ? `${s}|3d` : `${s}|${ax[0]},${ax[1]}`;
  const ok = store.mainKey === want;
  return {
    data: ok ? store.main : new Uint8Array(0),
    comps: ok ? store.mainComps : 2,
    chunks: ok ? store.mainT.prefix : 0,
    ver: store.mainVer,
    gen: store.mainGen,
    key: "main",
    axes: ok ? mainAxes : ax,
    s,
    three,
    waiting: !ok,
  };
}

/** What the views are drawn with besides the data. */
export interface ViewParams {
  layout: GridLayout;
  zoom: Zoom;
  yaw: number;
  pitch: number;
  theme: Theme;
  /** Quantisation range of axis `a` of space `s`. */
  bound(s: number, a: number): Range;
  /** Density view: the main view stays 2-D. */
  dense: boolean;
}

/** View 0 is the main view (from `src`), views 1..8 the small multiples of spaces 0..7. */
export function viewDraw(store: GridStore, view: number, p: ViewParams, src: MainSource): ViewDraw {
  const { main, small } = p.layout;
  if (view === 0) {
    const ps = pointStyle(store.n, false);
    const a = src.axes;
    const b = (k: number) => p.bound(src.s, a[k]);
    const affine =
      src.three && !p.dense && src.comps === 3
        ? affine3d(main, [b(0), b(1), b(2)], rotation(p.yaw, p.pitch), p.zoom)
        : affine2d(main, b(0), b(1), p.zoom);
    return {
      rect: main,
      key: src.key,
      ver: src.ver,
      gen: src.gen,
      data: src.data,
      comps: src.comps,
      stride: store.stride,
      chunks: src.chunks,
      affine,
      size: ps.size,
      alpha: ps.alpha,
      bg: parseRgb(p.theme.bg),
    };
  }
  const s = view - 1;
  // the small multiples draw a fixed sample: whole chunks up to SMALL_LIMIT points (chunk-major
  // order makes that a uniform sample), so their cost stays bounded however many tokens load
  const ps = pointStyle(Math.min(store.n, smallShown(store.n, store.stride)), true);
  return {
    rect: small[s],
    key: `s${s}`,
    ver: store.spaceVer,
    gen: store.spaceGen,
    limit: SMALL_LIMIT,
    data: store.spaces[s],
    comps: 2,
    stride: store.stride,
    chunks: store.coords.prefix,
    affine: affine2d(small[s], p.bound(s, 0), p.bound(s, 1), IDENTITY_ZOOM, 4),
    size: ps.size,
    alpha: ps.alpha,
    bg: parseRgb(p.theme.bg1),
  };
}

/** Points a small multiple shows once all are loaded (see SMALL_LIMIT). */
export function smallShown(n: number, stride: number): number {
  return loadedCount(n, stride, chunksWithin(n, stride, stride, SMALL_LIMIT));
}

/** Screen positions of a view's points, reusing `cache` when view, data and transform are the same. */
export function projectView(v: ViewDraw, n: number, cache: { tag: string; xy: Float32Array }): { tag: string; xy: Float32Array } {
  const tag = `${v.key}|${v.ver}|${Array.from(v.affine.m).join()}|${v.affine.b.join()}|${n}`;
  if (cache.tag === tag) return cache;
  const out = cache.xy.length < 2 * n ? { tag: "", xy: new Float32Array(2 * n) } : cache;
  projectAll(v.data, v.comps, Math.min(n, v.data.length / v.comps), v.affine, out.xy);
  out.tag = tag;
  return out;
}

/** Screen position of point `i` in a view, or null when it is not loaded (or i < 0). */
export function pointPos(v: ViewDraw, i: number, n: number): [number, number] | null {
  if (i < 0 || i >= n || i % v.stride >= v.chunks || v.data.length < v.comps * n) return null;
  const out = projectAll(v.data.subarray(v.comps * i, v.comps * i + v.comps), v.comps, 1, v.affine, new Float32Array(2));
  return [out[0], out[1]];
}

/**
 * The note a view shows instead of an empty frame: "no token placed in <space>" when the kernel's
 * `placed` counts (one per space) say that space holds none of the tokens shown; "" otherwise (also
 * while `placed` is unknown, or when there are no tokens at all).
 */
export function emptyNote(placed: unknown, n: number, s: number, name: string): string {
  if (n <= 0 || !Array.isArray(placed) || placed.length <= s) return "";
  return Number(placed[s]) === 0 ? `no token placed in ${name}` : "";
}
