import { describe, expect, it } from "vitest";
import { ChunkTracker, chunkCount, loadedCount, placeChunk } from "../src/chunks";

describe("strided chunks", () => {
  it("counts ceil((n - r) / S)", () => {
    expect(chunkCount(10, 0, 4)).toBe(3); // 0 4 8
    expect(chunkCount(10, 1, 4)).toBe(3); // 1 5 9
    expect(chunkCount(10, 2, 4)).toBe(2); // 2 6
    expect(chunkCount(10, 3, 4)).toBe(2);
    expect(chunkCount(3, 5, 8)).toBe(0);
  });

  it("loadedCount equals the sum of chunk sizes", () => {
    for (const [n, s] of [
      [10, 4],
      [1000, 7],
      [5, 8],
      [64, 8],
    ]) {
      let acc = 0;
      for (let k = 0; k <= s; k++) {
        expect(loadedCount(n, s, k)).toBe(acc);
        acc += chunkCount(n, k, s);
      }
      expect(loadedCount(n, s, s)).toBe(n);
    }
  });

  it("places chunk r at r, r+S, ... (2 comps)", () => {
    const n = 10,
      s = 4;
    const dst = new Uint8Array(2 * n);
    placeChunk(dst, new Uint8Array([10, 11, 50, 51, 90, 91]), 1, s, n, 2);
    expect(Array.from(dst.slice(2, 4))).toEqual([10, 11]);
    expect(Array.from(dst.slice(10, 12))).toEqual([50, 51]);
    expect(Array.from(dst.slice(18, 20))).toEqual([90, 91]);
    expect(dst[0]).toBe(0);
  });

  it("fills every index exactly once across all chunks (3 comps and 1 comp)", () => {
    const n = 23,
      s = 5;
    const d3 = new Uint8Array(3 * n),
      d1 = new Uint8Array(n);
    for (let r = 0; r < s; r++) {
      const c = chunkCount(n, r, s);
      const src3 = new Uint8Array(3 * c),
        src1 = new Uint8Array(c);
      for (let k = 0; k < c; k++) {
        const i = r + k * s;
        src3.set([i, i + 100, i + 200], 3 * k);
        src1[k] = i;
      }
      placeChunk(d3, src3, r, s, n, 3);
      placeChunk(d1, src1, r, s, n, 1);
    }
    for (let i = 0; i < n; i++) {
      expect([d3[3 * i], d3[3 * i + 1], d3[3 * i + 2]]).toEqual([i, i + 100, i + 200]);
      expect(d1[i]).toBe(i);
    }
  });

  it("rejects a chunk of the wrong size", () => {
    expect(() => placeChunk(new Uint8Array(20), new Uint8Array(5), 0, 4, 10, 2)).toThrow(/expected 6 bytes/);
  });

  it("tracker keeps the contiguous prefix", () => {
    const t = new ChunkTracker(4);
    expect(t.mark(0)).toBe(true);
    t.mark(2);
    expect(t.prefix).toBe(1);
    t.mark(1);
    expect(t.prefix).toBe(3);
    expect(t.mark(1)).toBe(false);
    expect(() => t.mark(4)).toThrow();
  });
});

import { gatherSample, sampleIndices } from "../src/lod";

describe("LOD sample", () => {
  it("takes indices in chunk 0 plus capped selected points", () => {
    const n = 1000,
      S = 4;
    const sel = new Uint8Array(n);
    sel[5] = 1;
    sel[6] = 1;
    sel[7] = 1;
    sel[9] = 1;
    const idx = sampleIndices(n, S, S, sel, 100, 2);
    const plain = Array.from(idx).filter((i) => !sel[i]);
    expect(plain.every((i) => i % S === 0)).toBe(true);
    expect(plain.length).toBeLessThanOrEqual(100);
    expect(Array.from(idx).filter((i) => sel[i])).toEqual([5, 6]);
    expect(sampleIndices(n, S, 0, sel, 100, 2).length).toBe(0);
  });

  it("gathers coords, colour and selection at the sample", () => {
    const data = new Uint8Array([0, 1, 10, 11, 20, 21]);
    const s = gatherSample(Uint32Array.from([2, 0]), data, 2, new Uint8Array([7, 8, 9]), new Uint8Array([0, 0, 1]));
    expect(Array.from(s.data)).toEqual([20, 21, 0, 1]);
    expect(Array.from(s.color)).toEqual([9, 7]);
    expect(Array.from(s.sel)).toEqual([1, 0]);
  });
});

import { toChunkMajor } from "../src/chunks";

describe("chunk-major GPU layout", () => {
  it("puts chunk r's points after chunks 0..r-1 so loaded points are a prefix", () => {
    const n = 10,
      S = 4;
    const src = Uint8Array.from({ length: 2 * n }, (_, k) => k); // point i = (2i, 2i+1)
    const out = toChunkMajor(src, 2, n, S, new Uint8Array(2 * n));
    const order = [0, 4, 8, 1, 5, 9, 2, 6, 3, 7];
    expect(Array.from(out)).toEqual(order.flatMap((i) => [2 * i, 2 * i + 1]));
    // after chunks 0 and 1 the first loadedCount(10, 4, 2) = 6 entries are exactly those chunks
    expect(order.slice(0, loadedCount(n, S, 2)).every((i) => i % S < 2)).toBe(true);
    expect(Array.from(toChunkMajor(Uint8Array.from([9, 8, 7]), 1, 3, 2, new Uint8Array(3)))).toEqual([9, 7, 8]);
  });
});

describe("adaptive LOD budget", () => {
  it("shrinks when moving frames are slow, grows when fast, within bounds", async () => {
    const { nextBudget, LodCache } = await import("../src/lod");
    expect(nextBudget(30_000, 40)).toBe(18_000);
    expect(nextBudget(30_000, 10)).toBe(45_000);
    expect(nextBudget(30_000, 25)).toBe(30_000);
    expect(nextBudget(6_000, 100)).toBe(5_000);
    expect(nextBudget(200_000, 5)).toBe(250_000);
    const c = new LodCache(30_000, 100);
    for (let i = 0; i < 7; i++) c.frameTime(50);
    expect(c.size).toBe(30_000); // adapts every 8 frames
    c.frameTime(50);
    expect(c.size).toBe(18_000);
  });
});
