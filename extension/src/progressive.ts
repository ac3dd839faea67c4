// Progressive drawing: a view's points are drawn over several frames, a bounded number per
// frame, onto what the previous frames left on the canvas (WebGL `preserveDrawingBuffer`).
// GPU buffers hold the points in chunk-major order (chunks.ts), so any prefix of them is a
// uniform sample: drawing the prefix [0, k) then [k, m) gives the same pixels as drawing
// [0, m) at once (same order, same blending). New chunks are only appended; a change of
// anything else about the view (data generation, transform, size, colours, selection) starts
// it over from a cleared rectangle.

/** What is on the canvas for one view: its signature and how many points of it are drawn. */
export interface DrawnState {
  sig: string;
  drawn: number;
}

/** What to do for a view this frame: clear its rectangle first?, then draw points [from, to). */
export interface DrawPlan {
  clear: boolean;
  from: number;
  to: number;
}

/**
 * The plan for a view showing `target` points (its loaded prefix) with signature `sig`, given
 * what is drawn (`prev`) and at most `budget` points to draw now; and the state after it.
 * A view whose `target` shrank (or whose signature changed) is cleared and started over.
 */
export function planDraw(prev: DrawnState | undefined, sig: string, target: number, budget: number): { plan: DrawPlan; next: DrawnState } {
  const t = Math.max(0, Math.floor(target)),
    b = Math.max(0, Math.floor(budget));
  if (!prev || prev.sig !== sig || prev.drawn > t) {
    const to = Math.min(t, b);
    return { plan: { clear: true, from: 0, to }, next: { sig, drawn: to } };
  }
  const to = Math.min(t, prev.drawn + b);
  return { plan: { clear: false, from: prev.drawn, to }, next: { sig, drawn: to } };
}

/**
 * Points a view draws when it shows at most `limit` points of `n` sent in `stride` chunks:
 * whole chunks only (a chunk is a uniform sample; part of one is not, as the display order
 * is sorted by category), at least one. `chunks` is the loaded prefix. Returns the number of
 * chunks to draw.
 */
export function chunksWithin(n: number, stride: number, chunks: number, limit: number): number {
  if (!Number.isFinite(limit) || limit >= n) return chunks;
  const per = Math.max(1, Math.ceil(n / Math.max(1, stride)));
  return Math.min(chunks, Math.max(1, Math.floor(limit / per)));
}

/**
 * Frame budget (points per frame) from the last one: `budget` points took `frameMs` from one
 * frame to the next, so aim the next at `targetMs` (half the 200 ms a frame may take, leaving
 * room for the page's own compositing) at that rate; growing at most 2x per frame, within
 * [min, max]. Software WebGL under load draws a few hundred thousand points per second, a GPU
 * many millions. The floor matters: a frame also costs the page's own compositing, so on a
 * saturated machine a small budget would measure an ever smaller rate and draw ever fewer points.
 */
export function nextDrawBudget(budget: number, frameMs: number, targetMs = 100, min = 32_768, max = 8_000_000): number {
  if (!(frameMs > 0)) return budget;
  const want = (budget * targetMs) / frameMs;
  return Math.round(Math.max(min, Math.min(max, 2 * budget, want)));
}
