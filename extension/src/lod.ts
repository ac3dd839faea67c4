import { pointStyle, type ViewDraw } from "./grid-draw";

// Level of detail for interaction: while the main view is panned/zoomed/rotated it draws a
// compact sample instead of all n points, then redraws everything once the pointer rests.
// The sample is every `step`-th display index with step a multiple of the stride S, so all of
// it lies in chunk 0 (loaded first) and, as tokens are sorted by category, every category keeps
// its share. Selected points are added (up to a cap) so a selection stays visible while moving.

export interface Sample {
  idx: Uint32Array;
  data: Uint8Array;
  color: Uint8Array;
  sel: Uint8Array;
}

export function sampleIndices(n: number, stride: number, chunks: number, sel: Uint8Array, budget: number, selCap: number): Uint32Array {
  if (chunks <= 0 || n <= 0) return new Uint32Array(0);
  const step = stride * Math.max(1, Math.ceil(n / (stride * budget)));
  const out: number[] = [];
  for (let i = 0; i < n; i += step) out.push(i);
  let nsel = 0;
  for (let i = 0; i < n && nsel < selCap; i++) {
    if (sel[i] && i % step !== 0 && i % stride < chunks) {
      out.push(i);
      nsel++;
    }
  }
  return Uint32Array.from(out);
}

/** Gather per-point arrays at `idx` (coords with `comps` bytes per point). */
export function gatherSample(idx: Uint32Array, data: Uint8Array, comps: number, color: Uint8Array, sel: Uint8Array): Sample {
  const m = idx.length;
  const d = new Uint8Array(m * comps),
    c = new Uint8Array(m),
    s = new Uint8Array(m);
  for (let k = 0; k < m; k++) {
    const i = idx[k];
    for (let j = 0; j < comps; j++) d[k * comps + j] = data[i * comps + j];
    c[k] = color[i];
    s[k] = sel[i];
  }
  return { idx, data: d, color: c, sel: s };
}

/** Frame-time feedback: shrink the sample when moving frames take longer than two display
 * frames, grow it when they fit comfortably in one (fast GPUs draw far more than the start). */
export function nextBudget(budget: number, medianFrameMs: number, min = 5_000, max = 250_000): number {
  if (medianFrameMs > 30) return Math.max(min, Math.round(budget * 0.6));
  if (medianFrameMs < 18) return Math.min(max, Math.round(budget * 1.5));
  return budget;
}

interface SampleSource {
  n: number;
  sel: Uint8Array;
  colorIdx: Uint8Array;
  colorVer: number;
  selVer: number;
}

/** Caches the compact LOD copy of the main view's data; rebuilt when data/colour/selection change. */
export class LodCache {
  private tag = "";
  private ver = 0;
  private cached: ViewDraw | null = null;

  private frames: number[] = [];

  constructor(
    private budget: number,
    private selCap: number,
  ) {}

  /** Points the sample holds now. */
  get size(): number {
    return this.budget;
  }

  /** Report the time between two frames drawn while moving; every 8 frames the budget adapts. */
  frameTime(ms: number): void {
    this.frames.push(ms);
    if (this.frames.length < 8) return;
    const sorted = this.frames.sort((a, b) => a - b);
    this.budget = nextBudget(this.budget, sorted[sorted.length >> 1]);
    this.frames = [];
  }

  view(full: ViewDraw, src: SampleSource): ViewDraw {
    const n = Math.min(src.n, full.data.length / full.comps);
    if (n <= 2 * this.budget) return full;
    const tag = `${full.key}|${full.ver}|${full.chunks}|${src.colorVer}|${src.selVer}|${this.budget}`;
    if (this.tag !== tag || !this.cached) {
      const idx = sampleIndices(n, full.stride, full.chunks, src.sel, this.budget, this.selCap);
      const s = gatherSample(idx, full.data, full.comps, src.colorIdx, src.sel);
      const ver = ++this.ver;
      const alpha = pointStyle(Math.max(idx.length, 1) * 4, false).alpha;
      this.tag = tag;
      this.cached = {
        ...full,
        key: "lod",
        ver,
        data: s.data,
        stride: 1,
        chunks: idx.length ? 1 : 0,
        colorIdx: s.color,
        colorVer: ver,
        sel: s.sel,
        selVer: ver,
        alpha,
      };
    }
    return { ...this.cached, rect: full.rect, affine: full.affine, bg: full.bg, size: full.size };
  }
}
