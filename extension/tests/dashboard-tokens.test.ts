import { describe, expect, it } from "vitest";
import { fmtNum, parseXyz, prefixFilter, quote, readSelection, SELECTION_KEY, visibleRange } from "../src/dashboard/pages/tokens-util";

describe("visibleRange", () => {
  it("draws the rows in view plus the overscan, clipped to what is loaded", () => {
    expect(visibleRange(0, 300, 1000, 30, 10)).toEqual([0, 20]);
    expect(visibleRange(3000, 300, 1000, 30, 10)).toEqual([90, 120]);
    expect(visibleRange(29_700, 300, 1000, 30, 10)).toEqual([980, 1000]);
    expect(visibleRange(0, 300, 0, 30, 10)).toEqual([0, 0]);
  });
  it("never draws more than a screenful whatever the row count", () => {
    const [a, b] = visibleRange(15_000_000, 600, 1_000_000, 30, 10);
    expect(b - a).toBeLessThanOrEqual(600 / 30 + 20);
  });
});

describe("readSelection", () => {
  const store = (v: string | null) => ({ getItem: (k: string) => (k === SELECTION_KEY ? v : null) });
  it("reads the ids the grid page stored", () => {
    expect(readSelection(store("[3, 1, 2]"))).toEqual([3, 1, 2]);
  });
  it("drops what is not an id and refuses what is not a list", () => {
    expect(readSelection(store('[1, "x", 2.5, -1, 4]'))).toEqual([1, 4]);
    expect(readSelection(store('{"a": 1}'))).toBeNull();
    expect(readSelection(store("not json"))).toBeNull();
    expect(readSelection(store(null))).toBeNull();
  });
  it("keeps at most 100,000 ids", () => {
    const many = JSON.stringify(Array.from({ length: 100_005 }, (_, i) => i + 1));
    expect(readSelection(store(many))?.length).toBe(100_000);
  });
});

describe("filter text", () => {
  it("quotes strings the way the server's lexer reads them", () => {
    expect(quote("it's")).toBe("'it\\'s'");
    expect(quote("a\\b")).toBe("'a\\\\b'");
    expect(prefixFilter("ab")).toBe("label.str.startswith('ab')");
  });
});

describe("parseXyz and fmtNum", () => {
  it("reads three numbers or nothing", () => {
    expect(parseXyz("cognitive", "0.1, 0.2 ,0.3")).toEqual([0.1, 0.2, 0.3]);
    expect(parseXyz("cognitive", "  ")).toBeNull();
    expect(() => parseXyz("cognitive", "1, 2")).toThrow(/cognitive/);
    expect(() => parseXyz("motor", "1, x, 2")).toThrow(/motor/);
  });
  it("formats numbers compactly", () => {
    expect(fmtNum(0.123456)).toBe("0.1235");
    expect(fmtNum(Number.NaN)).toBe("—");
    expect(fmtNum(1e-5)).toBe("1.000e-5");
  });
});
