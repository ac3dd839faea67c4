// The `labels` message and the hover neighbours (PROTOCOL.md "Labels"), in both widgets.
import { describe, expect, it } from "vitest";
import { decodeGraphMsg } from "../src/graph-protocol";
import { decodeGridMsg } from "../src/grid-protocol";
import { checkLabelIndices, type LabelsMsg, ProtocolError } from "../src/protocol";

const view = (a: ArrayBufferView): DataView => new DataView(a.buffer, a.byteOffset, a.byteLength);

/** A labels message for `texts` at point indices `index` (ranks 0.. unless given). */
function labels(texts: string[], index: number[], extra: Record<string, unknown> = {}, rank?: number[]) {
  const enc = texts.map((t) => new TextEncoder().encode(t));
  const offsets = new Uint32Array(texts.length + 1);
  enc.forEach((e, k) => {
    offsets[k + 1] = offsets[k] + e.length;
  });
  const data = new Uint8Array(offsets[texts.length]);
  enc.forEach((e, k) => {
    data.set(e, offsets[k]);
  });
  return {
    content: { type: "labels", version: 3, scope: "global", count: texts.length, ...extra },
    buffers: [
      view(Uint32Array.from(index)),
      view(Uint32Array.from(rank ?? texts.map((_, k) => k))),
      view(offsets),
      view(data),
    ] as unknown[],
  };
}

function err(content: unknown, buffers: unknown[]): string {
  for (const decode of [decodeGridMsg, decodeGraphMsg]) {
    try {
      decode(content, buffers);
    } catch (e) {
      expect(e).toBeInstanceOf(ProtocolError);
      continue;
    }
    throw new Error("expected a ProtocolError");
  }
  try {
    decodeGridMsg(content, buffers);
  } catch (e) {
    return (e as Error).message;
  }
  return "";
}

describe("labels message", () => {
  it("decodes in both widgets: indices, ranks, utf-8 texts", () => {
    const { content, buffers } = labels(["pomme", "café", "", "日本"], [4, 0, 2, 9]);
    for (const decode of [decodeGridMsg, decodeGraphMsg]) {
      const m = decode(content, buffers) as LabelsMsg;
      expect(m.type).toBe("labels");
      expect(m.scope).toBe("global");
      expect(m.request).toBeNull();
      expect(Array.from(m.index)).toEqual([4, 0, 2, 9]);
      const dec = new TextDecoder();
      const texts = Array.from({ length: m.count }, (_, k) => dec.decode(m.data.subarray(m.offsets[k], m.offsets[k + 1])));
      expect(texts).toEqual(["pomme", "café", "", "日本"]);
    }
    const v = labels(["a"], [1], { scope: "view", request: 7 });
    expect((decodeGridMsg(v.content, v.buffers) as LabelsMsg).request).toBe(7);
    const empty = labels([], []);
    expect((decodeGraphMsg(empty.content, empty.buffers) as LabelsMsg).count).toBe(0);
  });

  it("refuses bad fields and buffers, naming them", () => {
    const ok = labels(["ab", "c"], [1, 2]);
    expect(err({ ...ok.content, scope: "all" }, ok.buffers)).toMatch(/"scope"/);
    expect(err({ ...ok.content, count: -1 }, ok.buffers)).toMatch(/"count"/);
    expect(err({ ...ok.content, version: "1" }, ok.buffers)).toMatch(/"version"/);
    expect(err({ ...ok.content, request: 1.5 }, ok.buffers)).toMatch(/"request"/);
    expect(err(ok.content, ok.buffers.slice(0, 3))).toMatch(/expected 4 buffers/);
    expect(err({ ...ok.content, count: 3 }, ok.buffers)).toMatch(/buffer 0 \(point indices/);
    const bad = (k: number, b: ArrayBufferView) => ok.buffers.map((x, i) => (i === k ? view(b) : x));
    expect(err(ok.content, bad(2, Uint32Array.from([1, 2, 3])))).toMatch(/must start at 0/);
    expect(err(ok.content, bad(2, Uint32Array.from([0, 2, 1])))).toMatch(/must not decrease/);
    expect(err(ok.content, bad(2, Uint32Array.from([0, 2, 5])))).toMatch(/ends at 5, but buffer 3 .* has 3 bytes/);
    expect(err(ok.content, bad(1, Uint32Array.from([4, 2])))).toMatch(/ranks\) must not decrease/);
  });

  it("checks point indices against the point count", () => {
    const { content, buffers } = labels(["a", "b"], [0, 5]);
    const m = decodeGridMsg(content, buffers) as LabelsMsg;
    expect(() => checkLabelIndices(m, 6)).not.toThrow();
    expect(() => checkLabelIndices(m, 5)).toThrow(/point index 5 \(label 1\) is not below the point count 5/);
  });
});

describe("hover neighbours", () => {
  const nb = [
    { id: 3, label: "pear", strength: 0.9 },
    { id: 8, label: "", strength: 0.5 },
  ];

  it("are decoded when present and [] when absent", () => {
    const g = decodeGraphMsg({ type: "hover", index: 1, id: 2, label: "apple", degree: 4, neighbours: nb }, []);
    expect(g.type === "hover" && g.neighbours).toEqual(nb);
    const old = decodeGraphMsg({ type: "hover", index: 1, id: 2, label: "apple", degree: 4 }, []);
    expect(old.type === "hover" && old.neighbours).toEqual([]);
    const grid = decodeGridMsg({ type: "hover", index: 0, id: 2, label: "apple", entity: "", coords: [], neighbours: nb }, []);
    expect(grid.type === "hover" && grid.neighbours).toEqual(nb);
  });

  it("are refused when malformed", () => {
    expect(() => decodeGraphMsg({ type: "hover", index: 1, id: 2, label: "a", degree: 4, neighbours: [{ id: "x" }] }, [])).toThrow(
      /"neighbours"/,
    );
    expect(() => decodeGridMsg({ type: "hover", index: 0, id: 2, label: "a", entity: "", coords: [], neighbours: 3 }, [])).toThrow(
      /"neighbours"/,
    );
  });
});
