// Label placement (labels.ts) and the label set of a view (label-layer.ts): no overlaps, inside
// the canvas, priority respected, stable under a small pan, bounded, empty input.
import { describe, expect, it } from "vitest";
import { mergeSets, projectPositions, projectQuantised, visibleBox } from "../src/label-layer";
import { type Candidates, CharWidths, labelCap, type Placed, placeLabels, shortLabel, sideBox, translatePlaced } from "../src/labels";
import type { Rect } from "../src/scale";

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** n candidates spread over [0, W] x [0, H] (a few outside), ranks 0..n-1 in order. */
function candidates(n: number, W: number, H: number, seed = 1, margin = 40): Candidates {
  const r = rng(seed);
  const c: Candidates = {
    n,
    x: new Float32Array(n),
    y: new Float32Array(n),
    w: new Float32Array(n),
    rank: new Float64Array(n),
    key: new Int32Array(n),
  };
  for (let i = 0; i < n; i++) {
    c.x[i] = -margin + r() * (W + 2 * margin);
    c.y[i] = -margin + r() * (H + 2 * margin);
    c.w[i] = 20 + Math.floor(r() * 80);
    c.rank[i] = i;
    c.key[i] = 1000 + i;
  }
  return c;
}

const RECT: Rect = { x: 0, y: 0, w: 800, h: 500 };
const LH = 15;

function overlap(a: Placed, b: Placed): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function boxesOverlap(a: { x: number; y: number; w: number; h: number }, b: Placed): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

describe("placeLabels", () => {
  it("draws no two overlapping labels and none past the canvas edge", () => {
    for (const seed of [1, 2, 3]) {
      const c = candidates(5000, RECT.w, RECT.h, seed);
      const placed = placeLabels(c, { rect: RECT, cap: 400, lineHeight: LH });
      expect(placed.length).toBeGreaterThan(50);
      let outside = 0,
        overlaps = 0;
      for (let a = 0; a < placed.length; a++) {
        const p = placed[a];
        if (p.x < RECT.x || p.y < RECT.y || p.x + p.w > RECT.x + RECT.w || p.y + p.h > RECT.y + RECT.h) outside++;
        for (let b = a + 1; b < placed.length; b++) if (overlap(p, placed[b])) overlaps++;
      }
      expect([outside, overlaps]).toEqual([0, 0]);
    }
  });

  it("respects priority: every label left out is blocked on all four sides by a more important one", () => {
    const c = candidates(3000, RECT.w, RECT.h, 7);
    c.x[0] = 400;
    c.y[0] = 250;
    const placed = placeLabels(c, { rect: RECT, cap: 10_000, lineHeight: LH, gap: 3 });
    const drawn = new Set(placed.map((p) => p.i));
    expect(drawn.has(0)).toBe(true); // the most important (well inside the canvas) is always drawn
    let checked = 0;
    for (let i = 0; i < c.n; i++) {
      if (drawn.has(i) || !(c.x[i] >= 0 && c.x[i] <= RECT.w && c.y[i] >= 0 && c.y[i] <= RECT.h)) continue;
      for (let side = 0; side < 4; side++) {
        const [x, y] = sideBox(side, c.x[i], c.y[i], c.w[i], LH, 3);
        const inside = x >= 0 && y >= 0 && x + c.w[i] <= RECT.w && y + LH <= RECT.h;
        if (!inside) continue;
        const box = { x: x - 0.5, y: y - 0.5, w: c.w[i] + 1, h: LH + 1 };
        const blocker = placed.find((p) => boxesOverlap(box, p));
        expect(blocker).toBeDefined();
        expect((blocker as Placed).i).toBeLessThan(i); // blocked by a more important label
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("caps the labels drawn, more when zoomed in", () => {
    const c = candidates(20_000, RECT.w, RECT.h, 3);
    expect(placeLabels(c, { rect: RECT, cap: 50, lineHeight: LH }).length).toBe(50);
    expect(labelCap(1)).toBe(300);
    expect(labelCap(0.3)).toBe(300);
    expect(labelCap(4)).toBe(600);
    expect(labelCap(1e6)).toBe(1200);
  });

  it("keeps most labels under a small pan (hysteresis)", () => {
    const c = candidates(6000, RECT.w, RECT.h, 11);
    const a = placeLabels(c, { rect: RECT, cap: 300, lineHeight: LH });
    const prev = new Map(a.map((p) => [p.key, p.side]));
    const moved: Candidates = { ...c, x: c.x.map((v) => v + 4), y: c.y.map((v) => v + 3) };
    const b = placeLabels(moved, { rect: RECT, cap: 300, lineHeight: LH, prev });
    const kept = b.filter((p) => prev.has(p.key)).length;
    expect(kept / a.length).toBeGreaterThan(0.85);
    // without hysteresis the same pan changes more of them
    const fresh = placeLabels(moved, { rect: RECT, cap: 300, lineHeight: LH });
    expect(kept).toBeGreaterThanOrEqual(fresh.filter((p) => prev.has(p.key)).length);
    // and the boost is bounded: a label 3x less important than a rival does not keep its place
    const two: Candidates = {
      n: 2,
      x: new Float32Array([100, 100]),
      y: new Float32Array([100, 100]),
      w: new Float32Array([60, 60]),
      rank: new Float64Array([10, 30]),
      key: new Int32Array([1, 2]),
    };
    const p2 = placeLabels(two, { rect: RECT, cap: 1, lineHeight: LH, prev: new Map([[2, 0]]) });
    expect(p2.map((p) => p.key)).toEqual([1]);
    const p3 = placeLabels({ ...two, rank: new Float64Array([20, 30]) }, { rect: RECT, cap: 1, lineHeight: LH, prev: new Map([[2, 0]]) });
    expect(p3.map((p) => p.key)).toEqual([2]);
  });

  it("keeps off obstacles and ignores points outside the rect", () => {
    const c = candidates(2000, RECT.w, RECT.h, 5);
    const title = { x: 0, y: 0, w: 300, h: 30 };
    const placed = placeLabels(c, { rect: RECT, cap: 500, lineHeight: LH, obstacles: [title] });
    for (const p of placed) expect(boxesOverlap(title, p)).toBe(false);
    for (const p of placed) {
      expect(c.x[p.i] >= 0 && c.x[p.i] <= RECT.w && c.y[p.i] >= 0 && c.y[p.i] <= RECT.h).toBe(true);
    }
    const sub: Rect = { x: 100, y: 50, w: 300, h: 200 };
    for (const p of placeLabels(c, { rect: sub, cap: 500, lineHeight: LH })) {
      expect(p.x >= sub.x && p.y >= sub.y && p.x + p.w <= sub.x + sub.w && p.y + p.h <= sub.y + sub.h).toBe(true);
    }
  });

  it("handles empty input, NaN positions, zero widths and a zero cap", () => {
    const empty: Candidates = {
      n: 0,
      x: new Float32Array(0),
      y: new Float32Array(0),
      w: new Float32Array(0),
      rank: new Float64Array(0),
      key: new Int32Array(0),
    };
    expect(placeLabels(empty, { rect: RECT, cap: 300, lineHeight: LH })).toEqual([]);
    const c = candidates(10, RECT.w, RECT.h, 2);
    expect(placeLabels(c, { rect: RECT, cap: 0, lineHeight: LH })).toEqual([]);
    expect(placeLabels(c, { rect: { x: 0, y: 0, w: 0, h: 0 }, cap: 10, lineHeight: LH })).toEqual([]);
    c.x.fill(NaN);
    expect(placeLabels(c, { rect: RECT, cap: 10, lineHeight: LH })).toEqual([]);
    const d = candidates(10, RECT.w, RECT.h, 2, 0);
    d.w.fill(0);
    expect(placeLabels(d, { rect: RECT, cap: 10, lineHeight: LH })).toEqual([]);
  });

  it("stays cheap at many candidates (work bounded by the cap)", () => {
    const c = candidates(200_000, 1400, 520, 9);
    const placed = placeLabels(c, { rect: { x: 0, y: 0, w: 1400, h: 520 }, cap: 300, lineHeight: LH });
    expect(placed.length).toBe(300);
  });
});

describe("translatePlaced (pan frames between full placements)", () => {
  it("moves labels with their points, drops those leaving the rect, keeps them apart", () => {
    const c = candidates(4000, RECT.w, RECT.h, 13);
    const placed = placeLabels(c, { rect: RECT, cap: 300, lineHeight: LH });
    const ax = Float32Array.from(placed, (p) => c.x[p.i]),
      ay = Float32Array.from(placed, (p) => c.y[p.i]);
    const nx = ax.map((v) => v + 40),
      ny = ay.map((v) => v - 25);
    nx[0] = NaN; // a point no longer drawn
    const title = { x: 0, y: 0, w: 200, h: 20 };
    const t = translatePlaced(placed, ax, ay, nx, ny, RECT, [title]);
    expect(t.placed.length).toBeGreaterThan(placed.length * 0.7);
    expect(t.placed.length).toBeLessThan(placed.length); // some left the rect (and the NaN one)
    expect(t.kept).not.toContain(0);
    let bad = 0;
    t.placed.forEach((p, k) => {
      const q = placed[t.kept[k]];
      if (Math.abs(p.x - q.x - 40) > 1e-3 || Math.abs(p.y - q.y + 25) > 1e-3) bad++;
      if (p.x < 0 || p.y < 0 || p.x + p.w > RECT.w || p.y + p.h > RECT.h || boxesOverlap(title, p)) bad++;
      for (let j = k + 1; j < t.placed.length; j++) if (overlap(p, t.placed[j])) bad++;
    });
    expect(bad).toBe(0);
  });
});

describe("text measurement", () => {
  it("measures each character once", () => {
    let calls = 0;
    const cw = new CharWidths((ch) => {
      calls++;
      return ch === "m" ? 10 : 5;
    });
    expect(cw.width("mama")).toBe(30);
    expect(cw.width("amam")).toBe(30);
    expect(calls).toBe(2);
    expect(cw.width("")).toBe(0);
  });

  it("shortens long labels", () => {
    expect(shortLabel("apple")).toBe("apple");
    expect(shortLabel("a".repeat(40), 10)).toBe(`${"a".repeat(9)}…`);
    expect(shortLabel(" two\nlines ")).toBe("two lines");
  });
});

describe("label sets", () => {
  const set = (index: number[], rank: number[]) => ({
    index: Uint32Array.from(index),
    rank: Uint32Array.from(rank),
    texts: index.map((i) => `p${i}`),
  });

  it("merges the global and view sets by rank, each point once", () => {
    const m = mergeSets(set([5, 9, 2], [0, 3, 7]), set([9, 4, 8], [3, 5, 40]));
    expect(Array.from(m.index)).toEqual([5, 9, 4, 2, 8]);
    expect(Array.from(m.rank)).toEqual([0, 3, 5, 7, 40]);
    expect(m.texts).toEqual(["p5", "p9", "p4", "p2", "p8"]);
    expect(mergeSets(set([], []), set([], [])).index.length).toBe(0);
  });

  it("projects quantised points, skipping unloaded and unplaced ones", () => {
    const data = Uint8Array.from([10, 20, 255, 255, 30, 40, 50, 60]);
    const affine = { m: new Float32Array([2, 0, 0, 0, -1, 0]), b: [1, 300] as [number, number] };
    const x = new Float32Array(4),
      y = new Float32Array(4);
    projectQuantised({ data, comps: 2, stride: 2, chunks: 1, affine }, 4, Uint32Array.from([0, 1, 2, 3]), x, y);
    expect([x[0], y[0]]).toEqual([21, 280]);
    expect(Number.isNaN(x[1])).toBe(true); // chunk 1 not loaded
    expect([x[2], y[2]]).toEqual([61, 260]);
    expect(Number.isNaN(x[3])).toBe(true);
    const px = new Float32Array(2),
      py = new Float32Array(2);
    projectPositions(Float32Array.from([1, 2, 3, 4]), 2, affine, Uint32Array.from([1, 5]), px, py);
    expect([px[0], py[0]]).toEqual([7, 296]);
    expect(Number.isNaN(px[1])).toBe(true);
  });

  it("finds the visible box of a zoomed view, and none when everything is in view", () => {
    const rect = { x: 0, y: 0, w: 510, h: 255 };
    // identity-like: q in 0..255 maps to x = 2q, y = 255 - q
    const whole = { m: new Float32Array([2, 0, 0, 0, -1, 0]), b: [0, 255] as [number, number] };
    expect(visibleBox(whole, rect, 0, 255)).toBeNull();
    const zoomed = { m: new Float32Array([8, 0, 0, 0, -4, 0]), b: [-400, 600] as [number, number] };
    const box = visibleBox(zoomed, rect, 0, 255) as number[];
    expect(box[0]).toBeCloseTo(50);
    expect(box[2]).toBeCloseTo(113.75);
    expect(box[1]).toBeCloseTo(86.25);
    expect(box[3]).toBeCloseTo(150);
  });
});
