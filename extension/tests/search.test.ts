import { describe, expect, it } from "vitest";
import { ProtocolError } from "../src/protocol";
import {
  COMPLETIONS,
  type CompletionsMsg,
  completeRequest,
  decodeCompletions,
  focusRequest,
  focusZoom,
  MAX_PREFIX,
  parseFocus,
  SearchState,
} from "../src/search";

const answer = (seq: number, labels: string[]): CompletionsMsg => ({
  type: "completions",
  seq,
  prefix: "f",
  items: labels.map((label, id) => ({ label, id: id + 100 })),
});

describe("completion state", () => {
  it("asks the kernel for the trimmed prefix and numbers its requests", () => {
    const s = new SearchState();
    expect(s.input(" fru")).toEqual({ type: "complete", prefix: "fru", seq: 1, limit: COMPLETIONS });
    expect(s.input("frui")?.seq).toBe(2);
    expect(s.input("   ")).toBeNull();
    expect(s.open).toBe(false);
  });

  it("shows only the answer to the last request", () => {
    const s = new SearchState();
    s.input("f");
    s.input("fr");
    expect(s.receive(answer(1, ["fig"]))).toBe(false); // stale: typed on since
    expect(s.items).toEqual([]);
    expect(s.receive(answer(2, ["fruit0", "fruit1"]))).toBe(true);
    expect(s.open).toBe(true);
    expect(s.active).toBe(0);
    expect(s.items.map((i) => i.label)).toEqual(["fruit0", "fruit1"]);
  });

  it("keeps at most COMPLETIONS items and stays closed on an empty answer", () => {
    const s = new SearchState();
    s.input("x");
    s.receive(
      answer(
        1,
        Array.from({ length: 30 }, (_, i) => `x${i}`),
      ),
    );
    expect(s.items.length).toBe(COMPLETIONS);
    s.input("xy");
    s.receive(answer(2, []));
    expect(s.open).toBe(false);
    expect(s.active).toBe(-1);
  });
});

describe("keyboard", () => {
  const ready = () => {
    const s = new SearchState();
    s.input("fruit");
    s.receive(answer(1, ["fruit0", "fruit1", "fruit2"]));
    return s;
  };

  it("arrows move through the list and wrap", () => {
    const s = ready();
    expect(s.key("ArrowDown").kind).toBe("move");
    expect(s.active).toBe(1);
    s.key("ArrowDown");
    s.key("ArrowDown");
    expect(s.active).toBe(0);
    s.key("ArrowUp");
    expect(s.active).toBe(2);
  });

  it("Enter chooses the active item, sets the text and closes", () => {
    const s = ready();
    s.key("ArrowDown");
    const a = s.key("Enter");
    expect(a).toEqual({ kind: "choose", item: { label: "fruit1", id: 101 } });
    expect(s.text).toBe("fruit1");
    expect(s.open).toBe(false);
  });

  it("Enter on a closed list takes the item equal to the text (any case)", () => {
    const s = new SearchState();
    s.input("FRUIT2");
    s.receive(answer(1, ["fruit2", "fruit20"]));
    s.key("Escape"); // closes the list
    expect(s.key("Enter")).toEqual({ kind: "choose", item: { label: "fruit2", id: 100 } });
  });

  it("Enter before the answer arrives chooses from that answer, not from the previous one", () => {
    const s = new SearchState();
    s.input("fruit");
    s.receive(answer(1, ["fruit0", "fruit1"]));
    s.input("fruit3");
    expect(s.key("Enter")).toEqual({ kind: "wait" });
    expect(s.text).toBe("fruit3"); // nothing chosen from the stale list
    expect(s.receive(answer(1, ["fruit0"]))).toBe(false);
    expect(s.answered()).toEqual({ kind: "none" }); // (a stale answer does not choose)
    expect(s.receive(answer(2, ["fruit3", "fruit30"]))).toBe(true);
    expect(s.answered()).toEqual({ kind: "choose", item: { label: "fruit3", id: 100 } });
    expect(s.answered()).toEqual({ kind: "none" }); // once
  });

  it("typing on after Enter cancels the queued choice", () => {
    const s = new SearchState();
    s.input("to");
    s.key("Enter");
    s.input("too");
    s.receive(answer(2, ["tool1"]));
    expect(s.answered()).toEqual({ kind: "none" });
    expect(s.open).toBe(true);
  });

  it("Escape closes the list, a second Escape clears the text and drops late answers", () => {
    const s = ready();
    expect(s.key("Escape").kind).toBe("close");
    expect(s.open).toBe(false);
    expect(s.text).toBe("fruit");
    expect(s.key("Escape").kind).toBe("clear");
    expect(s.text).toBe("");
    expect(s.receive(answer(1, ["fruit0"]))).toBe(false);
  });

  it("arrows reopen a closed list; other keys do nothing", () => {
    const s = ready();
    s.key("Escape");
    expect(s.key("ArrowUp").kind).toBe("move");
    expect(s.open).toBe(true);
    expect(s.active).toBe(2);
    expect(s.key("a").kind).toBe("none");
    expect(new SearchState().key("ArrowDown").kind).toBe("none");
    expect(new SearchState().key("Enter").kind).toBe("none");
  });
});

describe("messages", () => {
  it("builds the browser -> kernel messages", () => {
    expect(completeRequest("ab", 7, 5)).toEqual({ type: "complete", prefix: "ab", seq: 7, limit: 5 });
    expect(completeRequest("x".repeat(500), 1).prefix.length).toBe(MAX_PREFIX);
    expect(focusRequest(42)).toEqual({ type: "focus", id: 42 });
    expect(focusRequest(null)).toEqual({ type: "focus", id: null });
  });

  it("decodes a completions answer and leaves other messages alone", () => {
    const m = decodeCompletions({ type: "completions", seq: 3, prefix: "fr", items: [{ label: "fruit0", id: 9 }] }, [], "GridExplorer");
    expect(m).toEqual({ type: "completions", seq: 3, prefix: "fr", items: [{ label: "fruit0", id: 9 }] });
    expect(decodeCompletions({ type: "coords" }, [], "GridExplorer")).toBeNull();
    expect(decodeCompletions(null, [], "GridExplorer")).toBeNull();
  });

  it("names the bad field of a malformed answer", () => {
    const bad =
      (c: unknown, b: unknown[] = []) =>
      () =>
        decodeCompletions(c, b, "GraphExplorer");
    expect(bad({ type: "completions", seq: -1, prefix: "", items: [] })).toThrow(/"seq"/);
    expect(bad({ type: "completions", seq: 1, prefix: 3, items: [] })).toThrow(/"prefix"/);
    expect(bad({ type: "completions", seq: 1, prefix: "", items: [{ label: "a", id: -2 }] })).toThrow(/"items"/);
    expect(bad({ type: "completions", seq: 1, prefix: "", items: "a" })).toThrow(ProtocolError);
    expect(bad({ type: "completions", seq: 1, prefix: "", items: [] }, [new Uint8Array(1)])).toThrow(/buffers/);
  });
});

describe("focus", () => {
  it("parses the focused trait, {} meaning nothing", () => {
    expect(parseFocus({})).toBeNull();
    expect(parseFocus(null)).toBeNull();
    const f = parseFocus({ seq: 2, version: 1, ids: [7], indices: [3], near: [4, 5, -1, "x"], label: "fruit3" });
    expect(f).toEqual({ seq: 2, version: 1, ids: [7], indices: [3], near: [4, 5], label: "fruit3" });
  });

  it("centres the focused point and fits its neighbourhood", () => {
    const rect = { x: 0, y: 0, w: 800, h: 400 };
    const z = { k: 1, tx: 0, ty: 0 };
    const focus: [number, number] = [500, 100];
    const pts: Array<[number, number]> = [focus, [520, 110], [480, 95]];
    const nz = focusZoom(z, rect, focus, pts);
    // screen = centre + t + k * u, with u the offset at the current zoom
    const screen = (p: [number, number]) => [400 + nz.tx + nz.k * (p[0] - 400), 200 + nz.ty + nz.k * (p[1] - 200)];
    expect(screen(focus)[0]).toBeCloseTo(400);
    expect(screen(focus)[1]).toBeCloseTo(200);
    for (const p of pts) {
      const [x, y] = screen(p);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(800);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(y).toBeLessThanOrEqual(400);
    }
    expect(nz.k).toBeGreaterThan(1); // zoomed in on a tight neighbourhood
  });

  it("works from a zoomed view and never zooms out past the whole view", () => {
    const rect = { x: 10, y: 20, w: 400, h: 400 };
    const z = { k: 3, tx: 50, ty: -20 };
    const focus: [number, number] = [100, 300];
    const far: Array<[number, number]> = [focus, [-5000, 5000]];
    const nz = focusZoom(z, rect, focus, far);
    expect(nz.k).toBe(1);
    const cx = 210,
      cy = 220;
    const u = [(focus[0] - cx - z.tx) / z.k, (focus[1] - cy - z.ty) / z.k];
    expect(cx + nz.tx + nz.k * u[0]).toBeCloseTo(cx);
    expect(cy + nz.ty + nz.k * u[1]).toBeCloseTo(cy);
  });
});
