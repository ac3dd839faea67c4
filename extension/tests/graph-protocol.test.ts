// Decoding of every GraphExplorer kernel -> browser message (PROTOCOL.md), well-formed and not.
import { describe, expect, it } from "vitest";
import { decodeGraphMsg, expandRequest, hoverRequest, readyRequest } from "../src/graph-protocol";
import { ProtocolError } from "../src/protocol";

const view = (a: ArrayBufferView): DataView => new DataView(a.buffer, a.byteOffset, a.byteLength);

/** A nodes message for n nodes, buffers as DataViews (as Jupyter delivers them). */
function nodes(n: number) {
  const pos = new Float32Array(2 * n).map((_, i) => i * 0.5);
  const ids = new Uint32Array(n).map((_, i) => 100 + i);
  const col = new Uint8Array(n).fill(3);
  const size = new Uint8Array(n).fill(9);
  return { content: { type: "nodes", version: 2, n }, buffers: [view(pos), view(ids), view(col), view(size)] };
}

function edges(count: number, offset = 0) {
  const ends = new Uint32Array(2 * count).map((_, i) => i % 3);
  return {
    content: { type: "edges", version: 2, offset, count },
    buffers: [view(ends), view(new Uint8Array(count).fill(1)), view(new Uint8Array(count).fill(200))],
  };
}

function err(content: unknown, buffers: unknown[] = []): string {
  try {
    decodeGraphMsg(content, buffers);
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return (e as Error).message;
  }
  throw new Error("expected a ProtocolError");
}

describe("decodeGraphMsg: well-formed messages", () => {
  it("nodes: typed views of the four buffers", () => {
    const { content, buffers } = nodes(3);
    const m = decodeGraphMsg(content, buffers);
    if (m.type !== "nodes") throw new Error(m.type);
    expect(m.n).toBe(3);
    expect(Array.from(m.pos)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(Array.from(m.ids)).toEqual([100, 101, 102]);
    expect(Array.from(m.color)).toEqual([3, 3, 3]);
    expect(Array.from(m.size)).toEqual([9, 9, 9]);
  });

  it("nodes: a misaligned float buffer is copied, not refused", () => {
    const raw = new Uint8Array(1 + 8);
    raw.set(new Uint8Array(new Float32Array([1.5, -2]).buffer), 1);
    const { buffers } = nodes(1);
    buffers[0] = new DataView(raw.buffer, 1, 8);
    const m = decodeGraphMsg({ type: "nodes", version: 0, n: 1 }, buffers);
    expect(m.type === "nodes" && Array.from(m.pos)).toEqual([1.5, -2]);
  });

  it("nodes with n = 0 and edges with count = 0", () => {
    expect(decodeGraphMsg(nodes(0).content, nodes(0).buffers)).toMatchObject({ type: "nodes", n: 0 });
    expect(decodeGraphMsg(edges(0).content, edges(0).buffers)).toMatchObject({ type: "edges", count: 0 });
  });

  it("edges: ends, colours and widths", () => {
    const { content, buffers } = edges(2, 5);
    const m = decodeGraphMsg(content, buffers);
    if (m.type !== "edges") throw new Error(m.type);
    expect([m.offset, m.count]).toEqual([5, 2]);
    expect(Array.from(m.ends)).toEqual([0, 1, 2, 0]);
    expect(Array.from(m.width)).toEqual([200, 200]);
  });

  it("reset (sent by every refresh, before the new nodes)", () => {
    expect(decodeGraphMsg({ type: "reset", version: 4 }, [])).toEqual({ type: "reset", version: 4 });
  });

  it("hover", () => {
    const c = { type: "hover", index: 1, id: 101, label: "dog", degree: 4 };
    expect(decodeGraphMsg(c, [])).toEqual({ ...c, neighbours: [] }); // neighbours are optional
  });
});

describe("decodeGraphMsg: malformed messages name the problem", () => {
  it("unknown or missing type", () => {
    expect(err({ type: "coords", version: 1 })).toMatch(
      /GraphExplorer: unknown kernel message type "coords" \(expected nodes, edges, reset, hover, labels\)/,
    );
    expect(err({ type: 3 })).toMatch(/field "type".*must be a string, got number 3/);
    expect(err("nodes")).toMatch(/must be an object, got "nodes"/);
  });

  it("missing or mistyped fields", () => {
    const { buffers } = nodes(2);
    expect(err({ type: "nodes", version: 1 }, buffers)).toMatch(
      /nodes message: field "n" must be an integer >= 0, got nothing \(missing\)/,
    );
    expect(err({ type: "nodes", version: "1", n: 2 }, buffers)).toMatch(/field "version" must be an integer >= 0, got "1"/);
    expect(err({ type: "edges", version: 1, offset: -1, count: 0 }, edges(0).buffers)).toMatch(
      /edges message: field "offset".*got number -1/,
    );
    expect(err({ type: "reset" })).toMatch(/reset message: field "version" must be an integer >= 0, got nothing \(missing\)/);
    expect(err({ type: "hover", index: 0, id: 1, label: "a" })).toMatch(/hover message: field "degree"/);
    expect(err({ type: "hover", index: 0, id: 1, label: 5, degree: 0 })).toMatch(/field "label" must be a string, got number 5/);
  });

  it("wrong buffer count", () => {
    const { content, buffers } = nodes(2);
    expect(err(content, buffers.slice(0, 3))).toMatch(/nodes message: expected 4 buffers, got 3/);
    const e = edges(1);
    expect(err(e.content, [...e.buffers, e.buffers[0]])).toMatch(/edges message: expected 3 buffers, got 4/);
  });

  it("truncated buffers", () => {
    const { content, buffers } = nodes(2);
    expect(err({ ...content, n: 3 }, buffers)).toMatch(/buffer 0 \(positions, float32 x 2n\) has 16 bytes, expected 24/);
    const cut = [...buffers];
    cut[0] = new DataView(buffers[0].buffer, 0, 15);
    expect(err(content, cut)).toMatch(/buffer 0 \(positions, float32 x 2n\): buffer of 15 bytes is not a multiple of 4/);
    cut[0] = buffers[0];
    cut[3] = new DataView(new ArrayBuffer(1));
    expect(err(content, cut)).toMatch(/buffer 3 \(node sizes, uint8 x n\) has 1 bytes, expected 2/);
    const e = edges(2);
    expect(err({ ...e.content, count: 3 }, e.buffers)).toMatch(/buffer 0 \(edge ends, uint32 x 2count\) has 16 bytes, expected 24/);
    expect(err(e.content, [e.buffers[0], e.buffers[1], "xx"])).toMatch(/buffer 2 \(edge widths, uint8 x count\): expected a binary buffer/);
  });
});

describe("browser -> kernel messages", () => {
  it("have the shapes PROTOCOL.md lists", () => {
    expect(readyRequest()).toEqual({ type: "ready" });
    expect(hoverRequest(0)).toEqual({ type: "hover", index: 0 });
    expect(expandRequest(7)).toEqual({ type: "expand", index: 7 });
  });
});
