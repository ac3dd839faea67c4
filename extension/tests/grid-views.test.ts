// The grid explorer's pure view geometry: layout, the main view's data source, point positions.
import { describe, expect, it } from "vitest";
import { GridStore } from "../src/grid-store";
import { emptyNote, gridLayout, MAIN_H, mainSource, pointPos, projectView, type ViewParams, viewDraw } from "../src/grid-views";
import { wrapWords } from "../src/overlay";
import type { Theme } from "../src/theme";

const theme = { bg: "#ffffff", bg1: "#eeeeee" } as Theme;
const params = (width: number): ViewParams => ({
  layout: gridLayout(width),
  zoom: { k: 1, tx: 0, ty: 0 },
  yaw: 0,
  pitch: 0,
  theme,
  bound: () => [0, 255],
  dense: false,
});

describe("gridLayout", () => {
  it("puts the 8 small views in one row from 720 px, two rows below", () => {
    const wide = gridLayout(1000);
    expect(wide.main).toEqual({ x: 0, y: 0, w: 1000, h: MAIN_H });
    expect(new Set(wide.small.map((r) => r.y)).size).toBe(1);
    expect(wide.small[7].x + wide.small[7].w).toBeLessThanOrEqual(1000);
    const narrow = gridLayout(500);
    expect(new Set(narrow.small.map((r) => r.y)).size).toBe(2);
    expect(narrow.height).toBeGreaterThan(MAIN_H + 2 * narrow.small[0].h);
  });
});

describe("mainSource", () => {
  const store = new GridStore();
  store.reset(4, 2);

  it("axes (0, 1) of a space come from the coords chunks", () => {
    store.onCoords(
      0,
      2,
      Array.from({ length: 8 }, () => new Uint8Array([1, 2, 3, 4])),
    );
    const src = mainSource(store, 3, [0, 1], false, [0, 1]);
    expect(src).toMatchObject({ key: "s3", comps: 2, chunks: 1, waiting: false });
    expect(src.data).toBe(store.spaces[3]);
  });

  it("other axes wait for matching main chunks, then use them", () => {
    expect(mainSource(store, 2, [0, 2], false, [0, 1])).toMatchObject({ key: "main", chunks: 0, waiting: true, axes: [0, 2] });
    store.onMain(0, 2, "2|0,2", 2, new Uint8Array([5, 6, 7, 8]));
    const src = mainSource(store, 2, [0, 2], false, [0, 2]);
    expect(src).toMatchObject({ key: "main", chunks: 1, waiting: false, comps: 2 });
    // the same chunks do not serve 3-D or another space
    expect(mainSource(store, 2, [0, 2], true, [0, 2]).waiting).toBe(true);
    expect(mainSource(store, 1, [0, 2], false, [0, 2]).waiting).toBe(true);
  });
});

describe("viewDraw + pointPos", () => {
  it("a loaded point has a screen position inside its view; an unloaded one has none", () => {
    const store = new GridStore();
    store.reset(4, 2);
    store.onCoords(
      0,
      2,
      Array.from({ length: 8 }, () => new Uint8Array([0, 0, 255, 255])),
    );
    const p = params(1000);
    const v = viewDraw(store, 1, p, mainSource(store, 0, [0, 1], false, [0, 1]));
    expect(v.rect).toBe(p.layout.small[0]);
    const xy = pointPos(v, 0, store.n);
    expect(xy).not.toBeNull();
    const [x, y] = xy as [number, number];
    expect(x).toBeGreaterThanOrEqual(v.rect.x);
    expect(x).toBeLessThanOrEqual(v.rect.x + v.rect.w);
    expect(y).toBeGreaterThanOrEqual(v.rect.y);
    expect(pointPos(v, 1, store.n)).toBeNull(); // chunk 1 has not arrived
    expect(pointPos(v, -1, store.n)).toBeNull();
    const cache = projectView(v, store.n, { tag: "", xy: new Float32Array(0) });
    expect([cache.xy[0], cache.xy[1]]).toEqual([x, y]);
    expect(projectView(v, store.n, cache)).toBe(cache);
  });
});

describe("emptyNote", () => {
  it("says a space holds no token only when the kernel counted none there", () => {
    const placed = [0, 5, 0, 0, 0, 0, 0, 12];
    expect(emptyNote(placed, 17, 0, "physical")).toBe("no token placed in physical");
    expect(emptyNote(placed, 17, 1, "sensory")).toBe("");
    expect(emptyNote(placed, 17, 7, "abstract")).toBe("");
  });
  it("says nothing while the counts are unknown or there are no tokens", () => {
    expect(emptyNote(undefined, 17, 0, "physical")).toBe("");
    expect(emptyNote([], 17, 0, "physical")).toBe("");
    expect(emptyNote([0, 0, 0, 0, 0, 0, 0, 0], 0, 0, "physical")).toBe("");
  });
});

describe("wrapWords", () => {
  const measure = (t: string) => t.length * 6;
  it("breaks a note into lines that fit a small multiple", () => {
    const lines = wrapWords("no token placed in emotional", 60, measure);
    expect(lines.join(" ")).toBe("no token placed in emotional");
    for (const l of lines) expect(measure(l) <= 60 || !l.includes(" ")).toBe(true);
    expect(lines.length).toBeGreaterThan(1);
    expect(wrapWords("no token placed in x", 1000, measure)).toEqual(["no token placed in x"]);
  });
});
