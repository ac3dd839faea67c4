import { describe, expect, it } from "vitest";
import { chunkMajorRange, loadedCount, toChunkMajor } from "../src/chunks";
import { chunksWithin, type DrawnState, nextDrawBudget, planDraw } from "../src/progressive";

describe("chunkMajorRange", () => {
  it("is the slice of toChunkMajor starting at the first point of chunk c0", () => {
    for (const [n, stride, comps] of [
      [10, 4, 2],
      [1000, 7, 1],
      [37, 5, 3],
      [5, 8, 2],
    ]) {
      const src = new Uint8Array(n * comps).map((_, i) => (i * 37 + 11) & 255);
      const all = toChunkMajor(src, comps, n, stride, new Uint8Array(n * comps));
      for (let c0 = 0; c0 <= stride; c0++) {
        for (let c1 = c0; c1 <= stride; c1++) {
          const part = chunkMajorRange(src, comps, n, stride, c0, c1, new Uint8Array(0));
          const a = loadedCount(n, stride, c0) * comps,
            b = loadedCount(n, stride, c1) * comps;
          expect(Array.from(part)).toEqual(Array.from(all.subarray(a, b)));
        }
      }
    }
  });

  it("writes into the scratch buffer when it is large enough", () => {
    const scratch = new Uint8Array(64);
    const out = chunkMajorRange(new Uint8Array(20).fill(3), 2, 10, 4, 1, 3, scratch);
    expect(out.buffer).toBe(scratch.buffer);
    expect(out.length).toBe(2 * (3 + 2));
  });
});

describe("planDraw", () => {
  it("starts a view over from a cleared rectangle, then appends in budget-sized steps", () => {
    let st: DrawnState | undefined;
    const steps: Array<[boolean, number, number]> = [];
    for (let k = 0; k < 4; k++) {
      const { plan, next } = planDraw(st, "a", 250, 100);
      steps.push([plan.clear, plan.from, plan.to]);
      st = next;
    }
    expect(steps).toEqual([
      [true, 0, 100],
      [false, 100, 200],
      [false, 200, 250],
      [false, 250, 250],
    ]);
  });

  it("appends only the new points when the target grows (chunks arrive)", () => {
    const a = planDraw(undefined, "s", 64, 1000);
    const b = planDraw(a.next, "s", 128, 1000);
    expect(b.plan).toEqual({ clear: false, from: 64, to: 128 });
  });

  it("restarts on a new signature or a smaller target", () => {
    const a = planDraw(undefined, "s", 64, 1000);
    expect(planDraw(a.next, "t", 64, 1000).plan).toEqual({ clear: true, from: 0, to: 64 });
    expect(planDraw(a.next, "s", 10, 1000).plan).toEqual({ clear: true, from: 0, to: 10 });
  });

  it("a zero budget draws nothing but still clears a changed view", () => {
    expect(planDraw(undefined, "s", 64, 0)).toEqual({ plan: { clear: true, from: 0, to: 0 }, next: { sig: "s", drawn: 0 } });
  });
});

describe("chunksWithin", () => {
  it("keeps whole chunks up to the limit, at least one", () => {
    expect(chunksWithin(1_000_000, 16, 16, 131_072)).toBe(2);
    expect(chunksWithin(1_000_000, 16, 1, 131_072)).toBe(1);
    expect(chunksWithin(1_000_000, 16, 16, 10)).toBe(1);
    expect(chunksWithin(1_000_000, 16, 0, 131_072)).toBe(0);
  });

  it("draws everything when n is within the limit or there is no limit", () => {
    expect(chunksWithin(100_000, 2, 2, 131_072)).toBe(2);
    expect(chunksWithin(1_000_000, 16, 9, Number.POSITIVE_INFINITY)).toBe(9);
  });
});

describe("nextDrawBudget", () => {
  it("aims the next frame at the target time at the measured rate", () => {
    expect(nextDrawBudget(200_000, 400)).toBe(50_000); // 500 points/ms -> 100 ms
    expect(nextDrawBudget(100_000, 100)).toBe(100_000);
    expect(nextDrawBudget(100_000, 80)).toBe(125_000);
  });

  it("grows at most 2x per frame and stays within bounds", () => {
    expect(nextDrawBudget(200_000, 10)).toBe(400_000);
    expect(nextDrawBudget(40_000, 5_000)).toBe(32_768);
    expect(nextDrawBudget(7_000_000, 5)).toBe(8_000_000);
    expect(nextDrawBudget(50_000, 0)).toBe(50_000); // no measurement: unchanged
  });
});
