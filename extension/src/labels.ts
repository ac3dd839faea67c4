// Label placement (pure) and drawing on the overlay canvas, for both explorers.
//
// `placeLabels` takes candidates (the screen position of a labelled point, its text width, its
// rank: 0 = most important) and returns the labels to draw: greedy by rank, each label tried
// right, left, above and below its point, accepted when its box lies inside the drawing rect and
// overlaps no box drawn before it (nor an obstacle such as the view title). Overlap tests go
// through a uniform grid of cells (one label height high), so a frame costs O(candidates), not
// O(candidates^2). At most `cap` labels are drawn. Hysteresis: a label drawn last frame has its
// rank halved (a bounded boost) and keeps its side first, so a small pan keeps the same labels.
//
// DOM hooks (for the browser tests; set by label-layer.ts when the drawn set changes, at rest
// and at most every 500 ms while the view moves):
//   - the overlay canvas has `data-labels="<number of labels drawn>"`;
//   - the widget's root element (`.ngx-root`) has `data-label-texts` = a JSON array of the drawn
//     label texts (as shown, so possibly shortened with "…"), most important first.
import type { Rect } from "./scale";
import type { Theme } from "./theme";

/** Candidates as parallel arrays (n of them): the anchor point in CSS px, text width, rank, and
 * a stable key (the point index) that identifies the label from one frame to the next. */
export interface Candidates {
  n: number;
  x: Float32Array;
  y: Float32Array;
  w: Float32Array;
  rank: Float64Array;
  key: Int32Array;
}

export interface PlaceOptions {
  /** Drawing area: every label box lies inside it (CSS px). */
  rect: Rect;
  /** Most labels drawn. */
  cap: number;
  /** Height of a label box (CSS px). */
  lineHeight: number;
  /** Labels drawn last frame: key -> side used (0 right, 1 left, 2 above, 3 below). */
  prev?: ReadonlyMap<number, number>;
  /** Areas no label may cover (titles, notes). */
  obstacles?: readonly Rect[];
  /** Gap between a point and its label, and around label boxes (CSS px). */
  gap?: number;
  /** Stop after this many candidates were tried (bounds the work of a frame); default 40 x cap. */
  maxTries?: number;
}

/** One drawn label: candidate index, box (left, top, width, height) and the side used. */
export interface Placed {
  i: number;
  key: number;
  x: number;
  y: number;
  w: number;
  h: number;
  side: number;
}

/** Rank factor of a label drawn last frame (a bounded boost: it never beats a label more than
 * twice as important). */
export const KEEP_BOOST = 0.5;

/** The label budget of a frame: ~300 at the start, more when zoomed in (fewer points on screen). */
export function labelCap(zoom: number): number {
  return Math.round(Math.min(1200, 300 * Math.max(1, Math.sqrt(Math.max(zoom, 1)))));
}

/** Uniform grid of cells over the rect; each cell lists the boxes overlapping it. */
class Occupancy {
  private readonly cols: number;
  private readonly rows: number;
  private readonly head: Int32Array;
  private next: number[] = [];
  private item: number[] = [];
  private boxes: number[] = [];

  constructor(
    private readonly r: Rect,
    private readonly cw: number,
    private readonly ch: number,
  ) {
    this.cols = Math.max(1, Math.ceil(r.w / cw));
    this.rows = Math.max(1, Math.ceil(r.h / ch));
    this.head = new Int32Array(this.cols * this.rows).fill(-1);
  }

  private span(x0: number, y0: number, x1: number, y1: number): [number, number, number, number] {
    const c0 = Math.max(0, Math.floor((x0 - this.r.x) / this.cw));
    const c1 = Math.min(this.cols - 1, Math.floor((x1 - this.r.x) / this.cw));
    const r0 = Math.max(0, Math.floor((y0 - this.r.y) / this.ch));
    const r1 = Math.min(this.rows - 1, Math.floor((y1 - this.r.y) / this.ch));
    return [c0, c1, r0, r1];
  }

  /** Does the box overlap any box added? */
  hits(x0: number, y0: number, x1: number, y1: number): boolean {
    const [c0, c1, r0, r1] = this.span(x0, y0, x1, y1);
    const b = this.boxes;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        for (let e = this.head[r * this.cols + c]; e >= 0; e = this.next[e]) {
          const k = 4 * this.item[e];
          if (x0 < b[k + 2] && b[k] < x1 && y0 < b[k + 3] && b[k + 1] < y1) return true;
        }
      }
    }
    return false;
  }

  add(x0: number, y0: number, x1: number, y1: number): void {
    const id = this.boxes.length / 4;
    this.boxes.push(x0, y0, x1, y1);
    const [c0, c1, r0, r1] = this.span(x0, y0, x1, y1);
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * this.cols + c;
        this.next.push(this.head[cell]);
        this.item.push(id);
        this.head[cell] = this.next.length - 1;
      }
    }
  }
}

/** Box (left, top) of side `side` of a label w x h at point (x, y). */
export function sideBox(side: number, x: number, y: number, w: number, h: number, gap: number): [number, number] {
  switch (side) {
    case 0:
      return [x + gap, y - h / 2];
    case 1:
      return [x - gap - w, y - h / 2];
    case 2:
      return [x - w / 2, y - gap - h];
    default:
      return [x - w / 2, y + gap];
  }
}

/** Candidate indices inside the rect, most important first (with the hysteresis boost). */
function visibleOrder(c: Candidates, o: PlaceOptions): Int32Array {
  const r = o.rect,
    prev = o.prev;
  const fresh: number[] = [],
    kept: number[] = [];
  let sorted = true,
    last = -Infinity;
  for (let i = 0; i < c.n; i++) {
    const x = c.x[i],
      y = c.y[i];
    if (!(x >= r.x && x <= r.x + r.w && y >= r.y && y <= r.y + r.h)) continue; // also drops NaN
    if (prev?.has(c.key[i])) kept.push(i);
    else {
      if (c.rank[i] < last) sorted = false;
      last = c.rank[i];
      fresh.push(i);
    }
  }
  if (!sorted) fresh.sort((a, b) => c.rank[a] - c.rank[b]);
  kept.sort((a, b) => c.rank[a] - c.rank[b]);
  // merge: a kept label competes with rank * KEEP_BOOST
  const out = new Int32Array(fresh.length + kept.length);
  let i = 0,
    j = 0,
    k = 0;
  while (i < fresh.length || j < kept.length) {
    if (j >= kept.length || (i < fresh.length && c.rank[fresh[i]] < c.rank[kept[j]] * KEEP_BOOST)) out[k++] = fresh[i++];
    else out[k++] = kept[j++];
  }
  return out;
}

/** The labels to draw this frame (see the top of this file). */
export function placeLabels(c: Candidates, o: PlaceOptions): Placed[] {
  const out: Placed[] = [];
  if (c.n === 0 || o.cap <= 0 || o.rect.w <= 0 || o.rect.h <= 0) return out;
  const h = o.lineHeight,
    gap = o.gap ?? 3,
    r = o.rect;
  const occ = new Occupancy(r, Math.max(8, 4 * h), Math.max(4, h));
  for (const ob of o.obstacles ?? []) occ.add(ob.x, ob.y, ob.x + ob.w, ob.y + ob.h);
  const order = visibleOrder(c, o);
  const maxTries = o.maxTries ?? 40 * o.cap;
  const x1 = r.x + r.w,
    y1 = r.y + r.h;
  for (let t = 0; t < order.length && t < maxTries && out.length < o.cap; t++) {
    const i = order[t];
    const w = c.w[i];
    if (!(w > 0) || w > r.w) continue;
    const first = o.prev?.get(c.key[i]) ?? 0;
    for (let s = 0; s < 4; s++) {
      const side = s === 0 ? first : s <= first ? s - 1 : s;
      const [bx, by] = sideBox(side, c.x[i], c.y[i], w, h, gap);
      if (bx < r.x || by < r.y || bx + w > x1 || by + h > y1) continue;
      // one pixel of air around each box (half on each side)
      if (occ.hits(bx - 0.5, by - 0.5, bx + w + 0.5, by + h + 0.5)) continue;
      occ.add(bx, by, bx + w, by + h);
      out.push({ i, key: c.key[i], x: bx, y: by, w, h, side });
      break;
    }
  }
  return out;
}

/**
 * A placement moved by a pure translation (a pan): each label follows its point (`ax, ay` the
 * anchors it was placed at, `nx, ny` where they are now); labels whose box leaves the rect or
 * meets an obstacle are dropped. Boxes move together, so no two start to overlap. Used while
 * panning, between full placements (label-layer.ts), so most pan frames cost O(labels drawn).
 */
export function translatePlaced(
  placed: readonly Placed[],
  ax: Float32Array,
  ay: Float32Array,
  nx: Float32Array,
  ny: Float32Array,
  rect: Rect,
  obstacles: readonly Rect[] = [],
): { placed: Placed[]; kept: number[] } {
  const out: Placed[] = [],
    kept: number[] = [];
  for (let k = 0; k < placed.length; k++) {
    const p = placed[k];
    const dx = nx[k] - ax[k],
      dy = ny[k] - ay[k];
    if (!Number.isFinite(dx) || !Number.isFinite(dy)) continue;
    const x = p.x + dx,
      y = p.y + dy;
    if (x < rect.x || y < rect.y || x + p.w > rect.x + rect.w || y + p.h > rect.y + rect.h) continue;
    if (obstacles.some((o) => x < o.x + o.w && o.x < x + p.w && y < o.y + o.h && o.y < y + p.h)) continue;
    out.push({ ...p, x, y });
    kept.push(k);
  }
  return { placed: out, kept };
}

/** Text width from per-character widths measured once each (labels are measured once per font,
 * not per frame; at 1M tokens this keeps the label set's widths cheap). */
export class CharWidths {
  private readonly cache = new Map<number, number>();

  constructor(private readonly measure: (ch: string) => number) {}

  width(text: string): number {
    let w = 0;
    for (let k = 0; k < text.length; k++) {
      const code = text.charCodeAt(k);
      let cw = this.cache.get(code);
      if (cw === undefined) {
        cw = this.measure(text[k]);
        this.cache.set(code, cw);
      }
      w += cw;
    }
    return w;
  }
}

/** Long labels are shortened to `max` characters with "…". */
export function shortLabel(text: string, max = 28): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The label font: a little smaller than the UI font. */
export function labelFont(theme: Theme): { font: string; px: number } {
  const px = Math.max(9, Math.round((parseFloat(theme.fontSize) || 13) * 0.85));
  return { font: `${px}px ${theme.font}`, px };
}

type Sprite = HTMLCanvasElement | OffscreenCanvas;

/** Halo width around the text (CSS px). */
const HALO = 2;

/**
 * Labels drawn as cached sprites: each text is rendered once (its halo of the background colour,
 * then the text) into a small canvas at the device pixel ratio, and every frame only copies
 * sprites (`drawImage`), far cheaper than stroking and filling text in a software canvas. The
 * cache is dropped when the theme, font or pixel ratio change, and when it passes `max` texts.
 * At most `perFrame` new sprites are rendered in one frame (a pan brings many new labels into
 * view); the others are drawn in the next frames (`draw` returns how many are still missing).
 */
export class LabelSprites {
  private cache = new Map<string, Sprite>();
  private style = "";

  constructor(
    private readonly max = 3000,
    private readonly perFrame = 32,
  ) {}

  private sprite(text: string, w: number, h: number, theme: Theme, dpr: number, font: string, make: boolean): Sprite | null {
    let s = this.cache.get(text);
    if (s || !make) return s ?? null;
    const W = Math.max(1, Math.ceil((w + 2 * HALO) * dpr)),
      H = Math.max(1, Math.ceil((h + 2 * HALO) * dpr));
    s =
      typeof OffscreenCanvas !== "undefined"
        ? new OffscreenCanvas(W, H)
        : Object.assign(document.createElement("canvas"), { width: W, height: H });
    const ctx = s.getContext("2d") as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
    if (!ctx) return null;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = font;
    ctx.textBaseline = "middle";
    ctx.lineJoin = "round";
    ctx.lineWidth = 2 * HALO - 1;
    ctx.strokeStyle = theme.bg;
    ctx.strokeText(text, HALO, HALO + h / 2);
    ctx.fillStyle = theme.fg1;
    ctx.fillText(text, HALO, HALO + h / 2);
    if (this.cache.size >= this.max) this.cache.clear();
    this.cache.set(text, s);
    return s;
  }

  /** Draw placed labels (`ctx` in CSS px: the overlay's transform) with a halo of the background
   * colour, readable over points in light and dark themes. */
  draw(ctx: CanvasRenderingContext2D, placed: readonly Placed[], texts: readonly string[], theme: Theme, dpr: number): number {
    if (!placed.length) return 0;
    const { font } = labelFont(theme);
    const style = `${font}|${theme.bg}|${theme.fg1}|${dpr}`;
    if (style !== this.style) {
      this.cache.clear();
      this.style = style;
    }
    let made = 0,
      missing = 0;
    for (let k = 0; k < placed.length; k++) {
      const p = placed[k];
      const had = this.cache.size,
        make = made < this.perFrame;
      const s = this.sprite(texts[k], p.w, p.h, theme, dpr, font, make);
      if (this.cache.size !== had) made++;
      if (s) ctx.drawImage(s, p.x - HALO, p.y - HALO, s.width / dpr, s.height / dpr);
      else if (!make) missing++; // next frame (a sprite that cannot be made is not retried forever)
    }
    return missing;
  }
}
