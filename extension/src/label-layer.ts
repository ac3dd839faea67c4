// The labels a view holds and draws: the kernel's global set and its answer to the last
// viewport request, merged by rank; each frame the labelled points are projected, culled to the
// view and placed (labels.ts), so a frame's label work is bounded by the label set (<= ~22k
// points), not by n. Viewport requests go out when panning/zooming stops (debounced).
import {
  type Candidates,
  CharWidths,
  LabelSprites,
  labelCap,
  labelFont,
  type Placed,
  placeLabels,
  shortLabel,
  translatePlaced,
} from "./labels";
import { checkLabelIndices, type LabelsMsg, type ViewportRequest } from "./protocol";
import { type Affine, type Rect, UNPLACED } from "./scale";
import type { Theme } from "./theme";

/** A decoded label set: point indices, ranks (ascending) and display texts. */
interface LabelSet {
  index: Uint32Array;
  rank: Uint32Array;
  texts: string[];
}

const EMPTY: LabelSet = { index: new Uint32Array(0), rank: new Uint32Array(0), texts: [] };
/** Wait after the last move before asking the kernel for the labels inside the view. */
const VIEWPORT_DELAY = 300;
/** While panning, a full placement every this many frames (labels entering the view appear);
 * the frames between only move the labels placed (translatePlaced). */
const REPLACE_EVERY = 6;

/** The last placement: what it was made for (`tag`), its labels and their anchors. */
interface LastPlacement {
  tag: string;
  placed: Placed[];
  texts: string[];
  ax: Float32Array;
  ay: Float32Array;
  age: number;
}

function decodeSet(m: LabelsMsg): LabelSet {
  const dec = new TextDecoder();
  const texts: string[] = new Array(m.count);
  for (let k = 0; k < m.count; k++) texts[k] = shortLabel(dec.decode(m.data.subarray(m.offsets[k], m.offsets[k + 1])));
  return { index: m.index, rank: m.rank, texts };
}

/** Two rank-sorted sets as one, each point once (a point's rank is the same in both). */
export function mergeSets(a: LabelSet, b: LabelSet): LabelSet {
  const n = a.index.length + b.index.length;
  const index = new Uint32Array(n),
    rank = new Uint32Array(n);
  const texts: string[] = [];
  let i = 0,
    j = 0,
    k = 0;
  while (i < a.index.length || j < b.index.length) {
    const takeA = j >= b.index.length || (i < a.index.length && a.rank[i] <= b.rank[j]);
    const s = takeA ? a : b,
      p = takeA ? i++ : j++;
    if (k > 0 && index[k - 1] === s.index[p] && rank[k - 1] === s.rank[p]) continue; // the same point
    index[k] = s.index[p];
    rank[k] = s.rank[p];
    texts.push(s.texts[p]);
    k++;
  }
  return { index: index.slice(0, k), rank: rank.slice(0, k), texts };
}

/** Screen position of labelled points from quantised coordinates (grid views); NaN when the
 * point is not loaded yet or not placed in this space. */
export function projectQuantised(
  v: { data: Uint8Array; comps: number; stride: number; chunks: number; affine: Affine },
  n: number,
  index: Uint32Array,
  x: Float32Array,
  y: Float32Array,
): void {
  const [m0, m1, m2, m3, m4, m5] = v.affine.m;
  const [b0, b1] = v.affine.b;
  const c = v.comps,
    q = v.data;
  const full = q.length >= c * n;
  for (let k = 0; k < index.length; k++) {
    const i = index[k];
    const qx = q[c * i],
      qy = q[c * i + 1];
    if (!full || i >= n || i % v.stride >= v.chunks || (qx === UNPLACED && qy === UNPLACED)) {
      x[k] = y[k] = NaN;
      continue;
    }
    const qz = c === 3 ? q[c * i + 2] : 0;
    x[k] = m0 * qx + m1 * qy + m2 * qz + b0;
    y[k] = m3 * qx + m4 * qy + m5 * qz + b1;
  }
}

/** Screen position of labelled points from float (x, y) positions (graph view). */
export function projectPositions(pos: Float32Array, n: number, a: Affine, index: Uint32Array, x: Float32Array, y: Float32Array): void {
  const [m0, m1, , m3, m4] = a.m;
  const [b0, b1] = a.b;
  for (let k = 0; k < index.length; k++) {
    const i = index[k];
    if (i >= n) {
      x[k] = y[k] = NaN;
      continue;
    }
    x[k] = m0 * pos[2 * i] + m1 * pos[2 * i + 1] + b0;
    y[k] = m3 * pos[2 * i] + m4 * pos[2 * i + 1] + b1;
  }
}

export type ViewportFields = Omit<ViewportRequest, "type" | "request" | "version">;

export class LabelLayer {
  private global: LabelSet = EMPTY;
  private view: LabelSet = EMPTY;
  private merged: LabelSet = EMPTY;
  private widths = new Float32Array(0);
  private widthFont = "";
  private chars: CharWidths | null = null;
  private cand: Candidates = {
    n: 0,
    x: new Float32Array(0),
    y: new Float32Array(0),
    w: new Float32Array(0),
    rank: new Float64Array(0),
    key: new Int32Array(0),
  };
  private prev = new Map<number, number>();
  private published = "";
  private publishedAt = 0;
  private request = 0;
  private applied = -1;
  private timer = 0;
  private lastBox = "";
  private readonly sprites = new LabelSprites();
  private last: LastPlacement | null = null;
  /** Labels placed but not drawn yet (their sprites come in the next frames): draw again. */
  pending = false;
  private setVer = 0;

  constructor(
    private readonly overlay: HTMLCanvasElement,
    private readonly root: HTMLElement,
    private readonly send: (m: ViewportRequest) => void,
    /** Error guard for the debounced request (the view's red banner). */
    private readonly wrap: (fn: () => void) => () => void = (fn) => fn,
  ) {}

  /** Labelled points held (global and view sets merged). */
  get size(): number {
    return this.merged.index.length;
  }

  /** New data version: drop every label (the new version's labels follow). */
  reset(): void {
    this.global = this.view = this.merged = EMPTY;
    this.widths = new Float32Array(0);
    this.prev.clear();
    this.lastBox = "";
    this.applied = -1;
    this.setVer++;
  }

  /** A `labels` message of the current version; `n` is the view's point count. */
  onLabels(m: LabelsMsg, n: number): void {
    checkLabelIndices(m, n);
    if (m.scope === "global") this.global = decodeSet(m);
    else {
      const req = m.request ?? this.request;
      if (req < this.applied) return; // an answer overtaken by a newer one
      this.applied = req;
      this.view = decodeSet(m);
    }
    this.merged = mergeSets(this.global, this.view);
    this.widths = new Float32Array(0);
    this.setVer++;
  }

  private measure(theme: Theme): void {
    const { font } = labelFont(theme);
    const ctx = this.overlay.getContext("2d");
    if (!ctx) return;
    if (font !== this.widthFont || !this.chars) {
      this.chars = new CharWidths((ch) => {
        ctx.font = font;
        return ctx.measureText(ch).width;
      });
      this.widthFont = font;
      this.widths = new Float32Array(0);
    }
    if (this.widths.length === this.merged.index.length) return;
    const w = new Float32Array(this.merged.index.length);
    for (let k = 0; k < w.length; k++) w[k] = Math.ceil(this.chars.width(this.merged.texts[k])) + 2;
    this.widths = w;
  }

  /**
   * Place this frame's labels: `project` writes the screen position of the labelled points
   * (NaN when not drawn); labels stay inside `rect` and off `obstacles`. `motion`: the linear
   * part of the view transform (as a string) and whether the view is moving; while it moves by
   * pure translation (same linear part) most frames only move the previous placement.
   */
  place(
    theme: Theme,
    rect: Rect,
    zoom: number,
    project: (index: Uint32Array, x: Float32Array, y: Float32Array) => void,
    obstacles: Rect[] = [],
    motion: { linear: string; moving: boolean } = { linear: "", moving: false },
  ): { placed: Placed[]; texts: string[] } {
    const m = this.merged,
      n = m.index.length;
    if (n === 0) {
      this.prev.clear();
      this.last = null;
      return { placed: [], texts: [] };
    }
    const { px, font } = labelFont(theme);
    const tag = `${this.setVer}|${motion.linear}|${rect.x},${rect.y},${rect.w},${rect.h}|${font}|${obstacles.map((o) => `${o.w}x${o.h}`).join()}`;
    const last = this.last;
    if (motion.moving && last && last.tag === tag && last.age < REPLACE_EVERY) {
      const k = last.placed.length;
      const idx = new Uint32Array(k),
        nx = new Float32Array(k),
        ny = new Float32Array(k);
      for (let j = 0; j < k; j++) idx[j] = m.index[last.placed[j].i];
      project(idx, nx, ny);
      const t = translatePlaced(last.placed, last.ax, last.ay, nx, ny, rect, obstacles);
      this.last = {
        tag,
        placed: t.placed,
        texts: t.kept.map((j) => last.texts[j]),
        ax: Float32Array.from(t.kept, (j) => nx[j]),
        ay: Float32Array.from(t.kept, (j) => ny[j]),
        age: last.age + 1,
      };
      this.prev = new Map(t.placed.map((p) => [p.key, p.side]));
      return { placed: this.last.placed, texts: this.last.texts };
    }
    this.measure(theme);
    let c = this.cand;
    if (c.x.length < n) {
      c = this.cand = {
        n,
        x: new Float32Array(n),
        y: new Float32Array(n),
        w: new Float32Array(n),
        rank: new Float64Array(n),
        key: new Int32Array(n),
      };
    }
    c.n = n;
    project(m.index, c.x, c.y);
    for (let k = 0; k < n; k++) {
      c.w[k] = this.widths[k] || 0;
      c.rank[k] = m.rank[k];
      c.key[k] = m.index[k];
    }
    const placed = placeLabels(c, { rect, cap: labelCap(zoom), lineHeight: px + 4, prev: this.prev, obstacles });
    this.prev = new Map(placed.map((p) => [p.key, p.side]));
    const texts = placed.map((p) => m.texts[p.i]);
    const ax = Float32Array.from(placed, (p) => c.x[p.i]),
      ay = Float32Array.from(placed, (p) => c.y[p.i]);
    this.last = { tag, placed, texts, ax, ay, age: 0 };
    return { placed, texts };
  }

  /** Draw on the overlay (its context in CSS px) and publish the drawn set (DOM hooks, labels.ts):
   * at rest, and at most every 500 ms while moving (an attribute change restyles the page). */
  draw(ctx: CanvasRenderingContext2D, theme: Theme, dpr: number, p: { placed: Placed[]; texts: string[] }, moving = false): void {
    this.pending = this.sprites.draw(ctx, p.placed, p.texts, theme, dpr) > 0;
    const now = performance.now();
    if (moving && now - this.publishedAt < 500) return;
    const key = `${p.texts.length}\u0000${p.texts.join("\u0000")}`;
    if (key === this.published) return;
    this.published = key;
    this.publishedAt = now;
    this.overlay.dataset.labels = String(p.texts.length);
    this.root.dataset.labelTexts = JSON.stringify(p.texts);
  }

  /** After a move: ask for the labels inside the view once moves stop (`fields` returns null
   * when the whole data is in view, or the view cannot say, e.g. 3-D). */
  moved(version: number, fields: () => ViewportFields | null): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(
      this.wrap(() => {
        this.timer = 0;
        const f = fields();
        if (!f) return;
        const box = JSON.stringify(f);
        if (box === this.lastBox) return;
        this.lastBox = box;
        this.send({ type: "viewport", version, request: ++this.request, ...f });
      }),
      VIEWPORT_DELAY,
    );
  }

  dispose(): void {
    window.clearTimeout(this.timer);
  }
}

/** The part of a 2-D view's data box inside `rect`, in the units of the affine's input
 * (quantised 0..`max` for grid views, layout units for the graph: pass max = Infinity); null
 * when the whole box is in view (the global set already holds its best labels). */
export function visibleBox(a: Affine, rect: Rect, lo: number, hi: number): [number, number, number, number] | null {
  const m0 = a.m[0],
    m4 = a.m[4];
  if (!m0 || !m4) return null;
  const xa = (rect.x - a.b[0]) / m0,
    xb = (rect.x + rect.w - a.b[0]) / m0;
  const ya = (rect.y - a.b[1]) / m4,
    yb = (rect.y + rect.h - a.b[1]) / m4;
  const box: [number, number, number, number] = [
    Math.max(lo, Math.min(xa, xb)),
    Math.max(lo, Math.min(ya, yb)),
    Math.min(hi, Math.max(xa, xb)),
    Math.min(hi, Math.max(ya, yb)),
  ];
  if (box[0] <= lo && box[1] <= lo && box[2] >= hi && box[3] >= hi) return null;
  if (box[0] > box[2] || box[1] > box[3]) return null; // panned off the data
  return box;
}
