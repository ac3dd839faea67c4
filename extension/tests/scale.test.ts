import { describe, expect, it } from "vitest";
import { affine2d, affine3d, dequant, fitPositions, projectAll, rotation, zoomAt } from "../src/scale";

describe("scale", () => {
  it("dequantises q=0 -> min, q=255 -> max", () => {
    expect(dequant(0, [-2, 3])).toBe(-2);
    expect(dequant(255, [-2, 3])).toBe(3);
    expect(dequant(51, [0, 5])).toBeCloseTo(1);
  });

  const rect = { x: 10, y: 20, w: 200, h: 100 };

  it("2-D affine keeps aspect and puts y up", () => {
    const a = affine2d(rect, [0, 1], [0, 1], { k: 1, tx: 0, ty: 0 }, 0);
    const out = projectAll(new Uint8Array([0, 255, 255, 0]), 2, 2, a, new Float32Array(4));
    // square data in a 200x100 rect: 100 px side, centred at (110, 70)
    expect(out[0]).toBeCloseTo(60);
    expect(out[1]).toBeCloseTo(20);
    expect(out[2]).toBeCloseTo(160);
    expect(out[3]).toBeCloseTo(120);
  });

  it("zoomAt keeps the cursor point fixed", () => {
    const z0 = { k: 1, tx: 0, ty: 0 };
    const q = new Uint8Array([40, 200]);
    const before = projectAll(q, 2, 1, affine2d(rect, [0, 1], [0, 1], z0), new Float32Array(2));
    const z1 = zoomAt(z0, 2, before[0], before[1], rect.x + rect.w / 2, rect.y + rect.h / 2);
    const after = projectAll(q, 2, 1, affine2d(rect, [0, 1], [0, 1], z1), new Float32Array(2));
    expect(after[0]).toBeCloseTo(before[0], 3);
    expect(after[1]).toBeCloseTo(before[1], 3);
    expect(z1.k).toBe(2);
  });

  it("3-D identity rotation projects x right, y up, centre at rect centre", () => {
    const a = affine3d(
      rect,
      [
        [0, 1],
        [0, 1],
        [0, 1],
      ],
      rotation(0, 0),
      { k: 1, tx: 0, ty: 0 },
    );
    const out = projectAll(new Uint8Array([127, 127, 0, 255, 127, 127, 127, 255, 127]), 3, 3, a, new Float32Array(6));
    expect(out[0]).toBeCloseTo(110, 0);
    expect(out[1]).toBeCloseTo(70, 0);
    expect(out[2]).toBeGreaterThan(110);
    expect(out[5]).toBeLessThan(70);
  });

  it("rotation is orthonormal", () => {
    const r = rotation(0.7, -0.3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let d = 0;
        for (let k = 0; k < 3; k++) d += r[3 * i + k] * r[3 * j + k];
        expect(d).toBeCloseTo(i === j ? 1 : 0, 6);
      }
    }
  });

  it("fitPositions fits the bounding box", () => {
    const pos = new Float32Array([-5, -5, 5, 5]);
    const a = fitPositions(pos, 2, { x: 0, y: 0, w: 100, h: 100 }, { k: 1, tx: 0, ty: 0 }, 0);
    expect(a.m[0] * -5 + a.b[0]).toBeCloseTo(0);
    expect(a.m[4] * -5 + a.b[1]).toBeCloseTo(100);
  });
});
