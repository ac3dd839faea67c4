// Decoding of every GridExplorer kernel -> browser message (PROTOCOL.md), well-formed and not.
import { describe, expect, it } from "vitest";
import { closedNotice, decodeGridMsg, hoverRequest, readyRequest } from "../src/grid-protocol";
import { ProtocolError } from "../src/protocol";

/** Buffers as Jupyter delivers them: DataViews. */
const dv = (bytes: number[]): DataView => new DataView(new Uint8Array(bytes).buffer);
const spaces = (k = 8, bytes = [1, 2, 3, 4]) => Array.from({ length: k }, (_, s) => dv(bytes.map((b) => b + s)));

function err(content: unknown, buffers: unknown[] = []): string {
  try {
    decodeGridMsg(content, buffers);
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return (e as Error).message;
  }
  throw new Error("expected a ProtocolError");
}

describe("decodeGridMsg: well-formed messages", () => {
  it("coords: 8 spaces of interleaved (x, y) bytes", () => {
    const m = decodeGridMsg({ type: "coords", version: 3, chunk: 1, stride: 4 }, spaces());
    expect(m.type).toBe("coords");
    if (m.type !== "coords") return;
    expect([m.version, m.chunk, m.stride]).toEqual([3, 1, 4]);
    expect(m.spaces).toHaveLength(8);
    expect(Array.from(m.spaces[7])).toEqual([8, 9, 10, 11]);
  });

  it("coords: typed arrays and ArrayBuffers (the standalone shims) are accepted too", () => {
    const bufs = [new Uint8Array([1, 2]), new Uint8Array([1, 2]).buffer, ...spaces(6, [0, 0])];
    const m = decodeGridMsg({ type: "coords", version: 0, chunk: 0, stride: 1 }, bufs);
    expect(m.type === "coords" && Array.from(m.spaces[1])).toEqual([1, 2]);
  });

  it("main: space by index or by name, 2 or 3 axes", () => {
    const m = decodeGridMsg({ type: "main", version: 1, chunk: 0, stride: 2, space: 5, axes: [0, 2] }, [dv([1, 2, 3, 4])]);
    expect(m).toMatchObject({ type: "main", space: 5, axes: [0, 2] });
    const m3 = decodeGridMsg({ type: "main", version: 1, chunk: 1, stride: 2, space: "L5", axes: [0, 1, 2] }, [dv([1, 2, 3])]);
    expect(m3).toMatchObject({ type: "main", space: "L5", axes: [0, 1, 2] });
    expect(m3.type === "main" && Array.from(m3.data)).toEqual([1, 2, 3]);
  });

  it("colors: one byte per point", () => {
    const m = decodeGridMsg({ type: "colors", version: 2, chunk: 0, stride: 1 }, [dv([0, 128, 255])]);
    expect(m.type === "colors" && Array.from(m.values)).toEqual([0, 128, 255]);
  });

  it("reset and hover", () => {
    expect(decodeGridMsg({ type: "reset", version: 7 }, [])).toEqual({ type: "reset", version: 7 });
    const coords = [[0.1, 0.2, 0.3], null, null, null, null, null, null, null];
    const h = decodeGridMsg({ type: "hover", index: 4, id: 1004, label: "cat", entity: "concept", coords }, []);
    expect(h).toEqual({ type: "hover", index: 4, id: 1004, label: "cat", entity: "concept", coords, neighbours: [] });
  });
});

describe("decodeGridMsg: malformed messages name the problem", () => {
  it("not an object, no type, unknown type", () => {
    expect(err(null)).toMatch(/must be an object, got null/);
    expect(err([1, 2])).toMatch(/must be an object/);
    expect(err({ version: 1 })).toMatch(/field "type".*must be a string, got nothing \(missing\)/);
    expect(err({ type: "pixels", version: 1 })).toMatch(/unknown kernel message type "pixels"/);
  });

  it("missing or mistyped chunk fields", () => {
    expect(err({ type: "coords", chunk: 0, stride: 1 }, spaces())).toMatch(
      /coords message: field "version" must be an integer >= 0, got nothing \(missing\)/,
    );
    expect(err({ type: "coords", version: 1, chunk: "0", stride: 1 }, spaces())).toMatch(/field "chunk" must be an integer >= 0, got "0"/);
    expect(err({ type: "colors", version: 1, chunk: 0, stride: 0 }, [dv([1])])).toMatch(
      /field "stride" must be an integer >= 1, got number 0/,
    );
    expect(err({ type: "colors", version: 1, chunk: 1.5, stride: 4 }, [dv([1])])).toMatch(/field "chunk"/);
    expect(err({ type: "colors", version: 1, chunk: 4, stride: 4 }, [dv([1])])).toMatch(
      /field "chunk" must be below stride 4, got number 4/,
    );
    expect(err({ type: "reset" })).toMatch(/reset message: field "version"/);
  });

  it("main: bad space or axes", () => {
    const base = { type: "main", version: 1, chunk: 0, stride: 1 };
    expect(err({ ...base, space: 8, axes: [0, 1] }, [dv([1, 2])])).toMatch(
      /field "space" must be a space index 0..7 or a space name, got number 8/,
    );
    expect(err({ ...base, space: null, axes: [0, 1] }, [dv([1, 2])])).toMatch(/field "space".*got null/);
    expect(err({ ...base, space: 0 }, [dv([1, 2])])).toMatch(/field "axes" must be a list of 2 or 3 integers in 0..2, got nothing/);
    expect(err({ ...base, space: 0, axes: [0, 3] }, [dv([1, 2])])).toMatch(/field "axes"/);
    expect(err({ ...base, space: 0, axes: [0] }, [dv([1, 2])])).toMatch(/field "axes".*got an array of 1/);
  });

  it("wrong buffer count", () => {
    const c = { type: "coords", version: 1, chunk: 0, stride: 1 };
    expect(err(c, spaces(7))).toMatch(/coords message: expected 8 buffers, got 7/);
    expect(err({ type: "colors", version: 1, chunk: 0, stride: 1 }, [])).toMatch(/colors message: expected 1 buffer, got 0/);
    expect(err({ type: "main", version: 1, chunk: 0, stride: 1, space: 0, axes: [0, 1] }, [dv([1, 2]), dv([1, 2])])).toMatch(
      /expected 1 buffer, got 2/,
    );
  });

  it("truncated or non-binary buffers", () => {
    const c = { type: "coords", version: 1, chunk: 0, stride: 1 };
    const short = spaces();
    short[3] = dv([1, 2]);
    expect(err(c, short)).toMatch(/buffer 3 \(space 3\) has 2 bytes; every space needs the same even count \(4 in space 0\)/);
    const odd = spaces(8, [1, 2, 3]);
    expect(err(c, odd)).toMatch(/buffer 0 \(space 0\) has 3 bytes/);
    const main = { type: "main", version: 1, chunk: 0, stride: 1, space: 0, axes: [0, 1, 2] };
    expect(err(main, [dv([1, 2, 3, 4])])).toMatch(/main message: buffer 0 \(coordinates\) has 4 bytes, not a multiple of 3/);
    expect(err({ type: "colors", version: 1, chunk: 0, stride: 1 }, [[1, 2, 3]])).toMatch(
      /colors message: buffer 0 \(colour values\): expected a binary buffer/,
    );
  });

  it("hover: missing label, bad coords", () => {
    const base = { type: "hover", index: 0, id: 1, label: "a", entity: "", coords: [] };
    expect(err({ ...base, label: undefined })).toMatch(/hover message: field "label" must be a string, got nothing \(missing\)/);
    expect(err({ ...base, id: -1 })).toMatch(/field "id" must be an integer >= 0, got number -1/);
    expect(err({ ...base, coords: [["x"]] })).toMatch(/field "coords" must be a list of coordinate lists/);
  });
});

describe("browser -> kernel messages", () => {
  it("have the shapes PROTOCOL.md lists", () => {
    expect(readyRequest()).toEqual({ type: "ready" });
    expect(hoverRequest(12)).toEqual({ type: "hover", index: 12 });
    expect(closedNotice()).toEqual({ type: "closed" });
  });
});
