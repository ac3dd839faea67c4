import { describe, expect, it } from "vitest";
import { type Job, progressOf } from "../src/dashboard/pages/bootstrap";
import { fmtNum, groupFields, parseNum } from "../src/dashboard/pages/cdna";

describe("cdna page helpers", () => {
  it("groups degree limits, min/max bounds (paired) and the rest", () => {
    const g = groupFields({
      max_out_degree: 1000,
      token_weight_max: 1,
      strength_min: 0,
      decay_rate: 0.01,
      token_weight_min: 0,
      strength_max: 1,
      max_in_degree: 1000,
    });
    expect(g.degree).toEqual(["max_out_degree", "max_in_degree"]);
    expect(g.bounds).toEqual(["strength_min", "strength_max", "token_weight_min", "token_weight_max"]);
    expect(g.other).toEqual(["decay_rate"]);
  });

  it("shows float32 values without noise and parses only finite numbers", () => {
    expect(fmtNum(0.10000000149011612)).toBe("0.1");
    expect(fmtNum(1000)).toBe("1000");
    expect(parseNum(" 2.5 ")).toBe(2.5);
    expect(parseNum("")).toBeNull();
    expect(parseNum("abc")).toBeNull();
    expect(parseNum("Infinity")).toBeNull();
  });
});

const job = (over: Partial<Job>): Job => ({
  id: "j",
  state: "uploading",
  owner: "admin",
  name: "w.vec",
  format: "text",
  size: 100,
  received: 0,
  done: 0,
  total: 0,
  created: 0,
  finished: null,
  committed: false,
  report: null,
  error: null,
  ...over,
});

describe("bootstrap progress", () => {
  it("follows the browser's upload, then the server's steps", () => {
    expect(progressOf(job({}), [50, 200])).toMatchObject({ value: 50, max: 200 });
    expect(progressOf(job({}), [50, 200]).label).toContain("25%");
    const parsing = progressOf(job({ state: "parsing", done: 30, total: 60 }), null);
    expect(parsing).toMatchObject({ value: 30, max: 60 });
    expect(parsing.label).toContain("50%");
    expect(progressOf(job({ state: "bootstrapping", done: 1, total: 4 }), null).label).toContain("25%");
    expect(progressOf(job({ state: "bootstrapping", committed: true }), null).label).toContain("Writing");
    expect(progressOf(job({ state: "cancelled" }), null).label).toContain("unchanged");
    // an upload's progress no longer counts once the server moved on
    expect(progressOf(job({ state: "parsing", done: 1, total: 2 }), [2, 2]).label).toContain("Reading");
  });

  it("never divides by zero", () => {
    const p = progressOf(job({ state: "parsing", done: 0, total: 0 }), null);
    expect(p.max).toBe(1);
    expect(progressOf(null, null)).toEqual({ value: 0, max: 1, label: "" });
  });
});
