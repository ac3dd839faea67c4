// Edge fading with density and the sampled-graph note.
import { describe, expect, it } from "vitest";
import { edgeFade, sampledNote } from "../src/graph-draw";

// a graph spanning [-1, 1]^2 fitted to a 600 x 400 view (scale 200 px per unit, centred)
const fade = (lineLen: number, zoom = 1) => edgeFade(lineLen, [-1, -1, 1, 1], 200 * zoom, 200 * zoom, 300, 200, 600, 400);

describe("edgeFade", () => {
  it("leaves sparse edges alone and fades dense ones, never to nothing", () => {
    expect(fade(0)).toBe(1);
    expect(fade(10)).toBe(1); // 2,000 px of ink on 240,000 px
    const dense = fade(5000);
    expect(dense).toBeLessThan(0.5);
    expect(dense).toBeGreaterThanOrEqual(0.12);
    expect(fade(1e9)).toBe(0.12);
  });
  it("fades more as edges get denser", () => {
    let last = 1;
    for (const len of [300, 600, 1200, 2400, 4800]) {
      const f = fade(len);
      expect(f).toBeLessThanOrEqual(last);
      last = f;
    }
    expect(fade(4800)).toBeLessThan(fade(600));
  });
  it("brings edges back when zooming in (fewer of them in view)", () => {
    expect(fade(2000, 4)).toBeGreaterThan(fade(2000, 1));
    expect(fade(2000, 16)).toBeGreaterThan(fade(2000, 4));
  });
  it("is 1 for an empty or degenerate view", () => {
    expect(edgeFade(100, [0, 0, 0, 0], 200, 200, 300, 200, 0, 400)).toBe(1);
    expect(Number.isFinite(edgeFade(100, [0, 0, 0, 0], 200, 200, 300, 200, 600, 400))).toBe(true);
  });
});

describe("sampledNote", () => {
  it("says how many nodes of how many a sampled graph shows", () => {
    expect(sampledNote(5000, 1762000)).toBe("showing 5,000 of 1,762,000 nodes (sampled)");
    expect(sampledNote(10, 0)).toBe("");
  });
});
