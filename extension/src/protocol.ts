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

export const readyRequest = (): ReadyRequest => ({ type: "ready" });
export const hoverRequest = (index: number): HoverRequest => ({ type: "hover", index });
export const closedNotice = (): ClosedNotice => ({ type: "closed" });
