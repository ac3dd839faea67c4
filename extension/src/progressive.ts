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
 * Frame budget (points per frame) from the time the last frames took: software WebGL draws a few
 * hundred thousand points per frame before the page stutters, a GPU far more. Halves when frames
 * take over 60 ms, grows by half under 25 ms, within [min, max].
 */
export function nextDrawBudget(budget: number, frameMs: number, min = 65_536, max = 8_000_000): number {
  if (frameMs > 60) return Math.max(min, Math.round(budget / 2));
  if (frameMs < 25) return Math.min(max, Math.round(budget * 1.5));
  return budget;
}
