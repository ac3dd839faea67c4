// What both widget protocols share (PROTOCOL.md): field readers that throw a ProtocolError
// naming the message and the bad field, binary buffer conversion, and the browser -> kernel
// messages of both explorers. The per-widget unions live in grid-protocol.ts / graph-protocol.ts.
import { bytesOf, typedOf } from "./model";

/** A kernel message that does not match PROTOCOL.md (shown as the red banner by `makeGuard`). */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/** Buffers as they arrive: DataView[] from Jupyter, DataView or typed arrays from the shims. */
export type Buffers = readonly unknown[];

function describe(v: unknown): string {
  if (v === undefined) return "nothing (missing)";
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "number" || typeof v === "boolean") return `${typeof v} ${String(v)}`;
  return Array.isArray(v) ? `an array of ${v.length}` : typeof v;
}

/** The fields of one message, with readers that name `what` (the message type) in errors. */
export class Fields {
  constructor(
    readonly what: string,
    private readonly m: Record<string, unknown>,
  ) {}

  fail(field: string, want: string, got: unknown): never {
    throw new ProtocolError(`${this.what} message: field "${field}" must be ${want}, got ${describe(got)}`);
  }

  /** An integer >= min. */
  int(field: string, min = 0): number {
    const v = this.m[field];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) this.fail(field, `an integer >= ${min}`, v);
    return v;
  }

  str(field: string): string {
    const v = this.m[field];
    if (typeof v !== "string") this.fail(field, "a string", v);
    return v;
  }

  /** An array of integers in [lo, hi] whose length is one of `lengths`. */
  ints(field: string, lengths: number[], lo: number, hi: number): number[] {
    const v = this.m[field];
    const ok =
      Array.isArray(v) && lengths.includes(v.length) && v.every((x) => typeof x === "number" && Number.isInteger(x) && x >= lo && x <= hi);
    if (!ok) this.fail(field, `a list of ${lengths.join(" or ")} integers in ${lo}..${hi}`, v);
    return v as number[];
  }

  raw(field: string): unknown {
    return this.m[field];
  }
}

/** Check `content` is a message object with a string `type`; returns its fields. */
export function fieldsOf(content: unknown, widget: string): Fields {
  if (typeof content !== "object" || content === null || Array.isArray(content)) {
    throw new ProtocolError(`${widget}: a kernel message must be an object, got ${describe(content)}`);
  }
  const m = content as Record<string, unknown>;
  if (typeof m.type !== "string") {
    throw new ProtocolError(`${widget}: field "type" of a kernel message must be a string, got ${describe(m.type)}`);
  }
  return new Fields(m.type, m);
}

/** Exactly `k` buffers, or a ProtocolError. */
export function expectBuffers(f: Fields, buffers: Buffers, k: number): void {
  if (buffers.length !== k) {
    throw new ProtocolError(`${f.what} message: expected ${k} buffer${k === 1 ? "" : "s"}, got ${buffers.length}`);
  }
}

function buffer<T>(f: Fields, i: number, name: string, conv: () => T): T {
  try {
    return conv();
  } catch (e) {
    throw new ProtocolError(`${f.what} message: buffer ${i} (${name}): ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Buffer i as bytes; `len` (if given) is the required byte length. */
export function u8At(f: Fields, buffers: Buffers, i: number, name: string, len?: number): Uint8Array {
  const b = buffer(f, i, name, () => bytesOf(buffers[i]));
  if (len !== undefined && b.length !== len) {
    throw new ProtocolError(`${f.what} message: buffer ${i} (${name}) has ${b.length} bytes, expected ${len}`);
  }
  return b;
}

/** Buffer i as `len` elements of a 4-byte type (copied when misaligned). */
export function typedAt<T extends Float32Array | Uint32Array>(
  f: Fields,
  buffers: Buffers,
  i: number,
  name: string,
  ctor: { new (a: ArrayBuffer, o: number, l: number): T; new (l: number): T; BYTES_PER_ELEMENT: number },
  len: number,
): T {
  const b = buffer(f, i, name, () => typedOf(buffers[i], ctor));
  if (b.length !== len) {
    throw new ProtocolError(
      `${f.what} message: buffer ${i} (${name}) has ${b.length * ctor.BYTES_PER_ELEMENT} bytes, expected ${len * ctor.BYTES_PER_ELEMENT}`,
    );
  }
  return b;
}

// -- labels (both widgets, PROTOCOL.md "Labels") --

/** A priority-ordered set of labels: point `index[k]` has rank `rank[k]` (0 = most important,
 * non-decreasing) and text `data[offsets[k] .. offsets[k + 1])` (utf-8). `scope` "global" is the
 * explorer's top set; "view" answers a viewport request (`request` echoes its number). */
export interface LabelsMsg {
  type: "labels";
  version: number;
  scope: "global" | "view";
  request: number | null;
  count: number;
  index: Uint32Array;
  rank: Uint32Array;
  offsets: Uint32Array;
  data: Uint8Array;
}

/** Decode the fields and the 4 buffers of a `labels` message: sizes, offsets starting at 0,
 * monotone and ending at the text length, ranks non-decreasing. Point indices are checked
 * against the point count by `checkLabelIndices`, after the version check. */
export function decodeLabels(f: Fields, buffers: Buffers): LabelsMsg {
  const version = f.int("version");
  const scope = f.str("scope");
  if (scope !== "global" && scope !== "view") f.fail("scope", `"global" or "view"`, scope);
  const req = f.raw("request");
  const request = req === undefined || req === null ? null : f.int("request");
  const count = f.int("count");
  expectBuffers(f, buffers, 4);
  const index = typedAt(f, buffers, 0, "point indices, uint32 x count", Uint32Array, count);
  const rank = typedAt(f, buffers, 1, "ranks, uint32 x count", Uint32Array, count);
  const offsets = typedAt(f, buffers, 2, "text offsets, uint32 x (count + 1)", Uint32Array, count + 1);
  const data = u8At(f, buffers, 3, "utf-8 text");
  if (offsets[0] !== 0) throw new ProtocolError(`labels message: buffer 2 (text offsets) must start at 0, got ${offsets[0]}`);
  for (let k = 0; k < count; k++) {
    if (offsets[k + 1] < offsets[k]) {
      throw new ProtocolError(
        `labels message: buffer 2 (text offsets) must not decrease, ${offsets[k + 1]} follows ${offsets[k]} at ${k + 1}`,
      );
    }
    if (k > 0 && rank[k] < rank[k - 1]) {
      throw new ProtocolError(
        `labels message: buffer 1 (ranks) must not decrease (priority order), ${rank[k]} follows ${rank[k - 1]} at ${k}`,
      );
    }
  }
  if (offsets[count] !== data.length) {
    throw new ProtocolError(
      `labels message: buffer 2 (text offsets) ends at ${offsets[count]}, but buffer 3 (utf-8 text) has ${data.length} bytes`,
    );
  }
  return { type: "labels", version, scope: scope as "global" | "view", request, count, index, rank, offsets, data };
}

/** Every point index of a labels message is below the point count `n`, or a ProtocolError. */
export function checkLabelIndices(m: LabelsMsg, n: number): void {
  for (let k = 0; k < m.count; k++) {
    if (m.index[k] >= n) {
      throw new ProtocolError(`labels message: point index ${m.index[k]} (label ${k}) is not below the point count ${n}`);
    }
  }
}

/** A hover card's neighbour (PROTOCOL.md: the token's top neighbours by connection strength). */
export interface Neighbour {
  id: number;
  label: string;
  strength: number;
}

/** The optional `neighbours` field of a hover reply ([] when absent). */
export function neighboursOf(f: Fields): Neighbour[] {
  const v = f.raw("neighbours");
  if (v === undefined) return [];
  const ok =
    Array.isArray(v) &&
    v.every(
      (x) =>
        typeof x === "object" &&
        x !== null &&
        Number.isInteger((x as Neighbour).id) &&
        typeof (x as Neighbour).label === "string" &&
        typeof (x as Neighbour).strength === "number",
    );
  if (!ok) f.fail("neighbours", "a list of {id: int, label: str, strength: number}", v);
  return v as Neighbour[];
}

export function unknownType(widget: string, f: Fields, known: string[]): never {
  throw new ProtocolError(`${widget}: unknown kernel message type ${JSON.stringify(f.what)} (expected ${known.join(", ")})`);
}

// -- browser -> kernel --

/** A view is mounted: the kernel (re)sends all data. */
export interface ReadyRequest {
  type: "ready";
}
/** Ask for the hover card of display index `index`. */
export interface HoverRequest {
  type: "hover";
  index: number;
}
/** The view is gone (cell re-run or cleared). */
export interface ClosedNotice {
  type: "closed";
}

/** Visible part of the main view (sent when panning/zooming stops, zoomed in): the kernel
 * answers with a `labels` message of scope "view". Grid: `space` index, `axes` [a, b] and `box`
 * [x0, y0, x1, y1] in quantised units (0..255) of those axes; graph: `box` in layout units. */
export interface ViewportRequest {
  type: "viewport";
  version: number;
  request: number;
  box: [number, number, number, number];
  space?: number;
  axes?: [number, number];
}

export const readyRequest = (): ReadyRequest => ({ type: "ready" });
export const hoverRequest = (index: number): HoverRequest => ({ type: "hover", index });
export const closedNotice = (): ClosedNotice => ({ type: "closed" });
