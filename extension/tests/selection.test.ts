import { describe, expect, it } from "vitest";
import { nearestPoint, packMask, pointInPolygon, selectBox, selectLasso, toBytes, unpackMask } from "../src/selection";

describe("bitmask", () => {
  it("is LSB first: bit i = byte i>>3, bit i&7", () => {
    const f = new Uint8Array(17);
    f[0] = 1;
    f[9] = 1;
    f[16] = 1;
    expect(Array.from(packMask(f))).toEqual([0b0000_0001, 0b0000_0010, 0b0000_0001]);
    const g = new Uint8Array(8);
    g[7] = 1;
    expect(Array.from(packMask(g))).toEqual([0x80]);
  });

  it("round-trips random masks", () => {
    const n = 1003;
    const f = new Uint8Array(n);
    for (let i = 0; i < n; i++) f[i] = (i * 2654435761) % 7 < 3 ? 1 : 0;
    const packed = packMask(f);
    expect(packed.length).toBe(Math.ceil(n / 8));
    const back = new Uint8Array(n);
    const count = unpackMask(packed, n, back);
    expect(Array.from(back)).toEqual(Array.from(f));
    expect(count).toBe(f.reduce((a, b) => a + b, 0));
  });

  it("empty selection packs to b'' and ignores bits past n", () => {
    expect(packMask(new Uint8Array(10)).length).toBe(0);
    const out = new Uint8Array(3);
    expect(unpackMask(new Uint8Array([0xff]), 3, out)).toBe(3);
    expect(unpackMask(new Uint8Array(0), 3, out)).toBe(0);
    expect(Array.from(out)).toEqual([0, 0, 0]);
  });

  it("accepts DataView / ArrayBuffer / arrays", () => {
    const buf = new Uint8Array([1, 2, 3]).buffer;
    expect(Array.from(toBytes(new DataView(buf, 1)))).toEqual([2, 3]);
    expect(Array.from(toBytes(buf))).toEqual([1, 2, 3]);
    expect(Array.from(toBytes([4, 5]))).toEqual([4, 5]);
    expect(toBytes(null).length).toBe(0);
  });
});

describe("box and lasso", () => {
  // a 10x10 grid of points at integer coordinates
  const n = 100;
  const xy = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    xy[2 * i] = i % 10;
    xy[2 * i + 1] = Math.floor(i / 10);
  }
  const all = { n, stride: 1, chunks: 1 };

  it("box selects inclusive, any corner order", () => {
    const out = new Uint8Array(n);
    expect(selectBox(xy, all, { x0: 3.5, y0: 2, x1: 1, y1: 0 }, out)).toBe(9);
    expect(out[1] && out[3] && out[21] && out[23]).toBeTruthy();
    expect(out[4]).toBe(0);
  });

  it("skips unloaded points (i % S >= chunks)", () => {
    const out = new Uint8Array(n);
    const c = selectBox(xy, { n, stride: 4, chunks: 1 }, { x0: -1, y0: -1, x1: 10, y1: 10 }, out);
    expect(c).toBe(25);
    for (let i = 0; i < n; i++) expect(out[i]).toBe(i % 4 === 0 ? 1 : 0);
  });

  it("lasso handles a concave (U-shaped) polygon", () => {
    // U shape: outer 0..9 x 0..9, notch x in (3,6) for y > 3 cut out
    const poly = [-0.5, -0.5, 9.5, -0.5, 9.5, 9.5, 6.5, 9.5, 6.5, 3.5, 2.5, 3.5, 2.5, 9.5, -0.5, 9.5];
    expect(pointInPolygon(5, 6, poly)).toBe(false);
    expect(pointInPolygon(1, 6, poly)).toBe(true);
    const out = new Uint8Array(n);
    const c = selectLasso(xy, all, poly, out);
    expect(out[6 * 10 + 5]).toBe(0); // in the notch
    expect(out[6 * 10 + 1]).toBe(1); // left arm
    expect(out[6 * 10 + 8]).toBe(1); // right arm
    expect(out[2 * 10 + 5]).toBe(1); // base
    expect(c).toBe(100 - 6 * 4); // notch: x 3..6, y 4..9
  });

  it("degenerate lasso selects nothing", () => {
    expect(selectLasso(xy, all, [0, 0, 1, 1], new Uint8Array(n))).toBe(0);
  });

  it("nearest point within radius", () => {
    expect(nearestPoint(xy, all, 3.2, 4.1, 1)).toBe(43);
    expect(nearestPoint(xy, all, 30, 30, 2)).toBe(-1);
  });
});

describe("tokens not placed in a space", () => {
  it("project to NaN and are never selected", async () => {
    const { projectAll } = await import("../src/scale");
    const q = new Uint8Array([10, 10, 255, 255, 254, 254]);
    const xy = projectAll(q, 2, 3, { m: new Float32Array([1, 0, 0, 0, 1, 0]), b: [0, 0] }, new Float32Array(6));
    expect(Number.isNaN(xy[2]) && Number.isNaN(xy[3])).toBe(true);
    const out = new Uint8Array(3);
    const n = selectBox(xy, { n: 3, stride: 1, chunks: 1 }, { x0: 0, y0: 0, x1: 300, y1: 300 }, out);
    expect(n).toBe(2);
    expect(Array.from(out)).toEqual([1, 0, 1]);
  });
});
