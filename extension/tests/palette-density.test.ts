import { describe, expect, it } from "vitest";
import { BINS, densityImage, histogram } from "../src/density";
import { CATEGORICAL, categoricalLut, fillCategories, hexToRgb, NO_CATEGORY, viridis, viridisLut } from "../src/palette";

describe("palette", () => {
  it("has 12 distinct categorical colours", () => {
    expect(new Set(CATEGORICAL).size).toBe(12);
    expect(hexToRgb("#ff8000")).toEqual([255, 128, 0]);
    const lut = categoricalLut();
    expect(Array.from(lut.slice(0, 4))).toEqual([...hexToRgb(CATEGORICAL[0]), 255]);
  });

  it("viridis goes dark purple -> yellow with rising luminance", () => {
    const lum = (c: number[]) => 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    const a = viridis(0),
      b = viridis(1);
    expect(a[2]).toBeGreaterThan(a[1]);
    expect(b[0]).toBeGreaterThan(200);
    expect(lum(b)).toBeGreaterThan(lum(a));
    expect(viridisLut().length).toBe(1024);
  });

  it("fills category runs per point", () => {
    const out = fillCategories(
      [
        { start: 0, count: 2, color: 3 },
        { start: 3, count: 10, color: 14 },
      ],
      6,
      new Uint8Array(6),
    );
    expect(Array.from(out)).toEqual([3, 3, NO_CATEGORY, 2, 2, 2]);
  });
});

describe("density", () => {
  it("bins loaded points with y flipped", () => {
    const q = new Uint8Array([0, 0, 255, 255, 0, 0, 10, 20]);
    const h = histogram(q, 2, 4, 2, 1); // only even indices loaded: points 0 and 2
    expect(h[255 * BINS + 0]).toBe(2);
    expect(h[0 * BINS + 255]).toBe(0);
    const img = densityImage(h, new Uint8ClampedArray(BINS * BINS * 4), null, [1, 2, 3]);
    expect(Array.from(img.slice(4 * 255 * BINS, 4 * 255 * BINS + 4))).toEqual([1, 2, 3, 255]);
    expect(img[3]).toBe(0);
  });
});
