// GridExplorer messages (PROTOCOL.md, "GridExplorer"): the kernel -> browser union, its decoder,
// and the browser -> kernel messages. Sizes that depend on the model's `n` (a chunk's point
// count) are checked where the chunk is placed (chunks.ts `placeChunk`), after the version check.
import { N_SPACES } from "./grid-store";
import {
  type Buffers,
  type ClosedNotice,
  decodeLabels,
  expectBuffers,
  type Fields,
  fieldsOf,
  type HoverRequest,
  type LabelsMsg,
  type Neighbour,
  neighboursOf,
  ProtocolError,
  type ReadyRequest,
  u8At,
  unknownType,
  type ViewportRequest,
} from "./protocol";

export { closedNotice, hoverRequest, readyRequest } from "./protocol";

/** One strided chunk r of S (chunk r holds display indices r, r+S, r+2S, ...). */
interface Chunk {
  version: number;
  chunk: number;
  stride: number;
}

/** Axes 0 and 1 of every space: `spaces[s]` is interleaved (x, y) uint8 per point. */
export interface CoordsMsg extends Chunk {
  type: "coords";
  spaces: Uint8Array[];
}

/** The main view's data when it needs other axes or 3-D: `axes.length` bytes per point. */
export interface MainMsg extends Chunk {
  type: "main";
  /** Space index, or space name. */
  space: number | string;
  axes: number[];
  data: Uint8Array;
}

/** Numeric colour values 0..255, one per point (numeric legend). */
export interface ColorsMsg extends Chunk {
  type: "colors";
  values: Uint8Array;
}

/** The data changed: drop everything, new chunks follow. */
export interface ResetMsg {
  type: "reset";
  version: number;
}

/** Reply to a hover request: the token's id, label, entity and coordinates in every space. */
export interface GridHoverMsg {
  type: "hover";
  index: number;
  id: number;
  label: string;
  entity: string;
  coords: Array<number[] | null>;
  /** Top neighbours by connection strength (up to 5). */
  neighbours: Neighbour[];
}

export type GridMsg = CoordsMsg | MainMsg | ColorsMsg | ResetMsg | GridHoverMsg | LabelsMsg;
export type GridOut = ReadyRequest | HoverRequest | ClosedNotice | ViewportRequest;

const KNOWN = ["coords", "main", "colors", "reset", "hover", "labels"];

function chunk(f: Fields): Chunk {
  const version = f.int("version");
  const stride = f.int("stride", 1);
  const c = f.int("chunk");
  if (c >= stride) f.fail("chunk", `below stride ${stride}`, c);
  return { version, chunk: c, stride };
}

function hoverCoords(f: Fields): Array<number[] | null> {
  const v = f.raw("coords");
  const ok = Array.isArray(v) && v.every((c) => c === null || (Array.isArray(c) && c.every((x) => typeof x === "number")));
  if (!ok) f.fail("coords", "a list of coordinate lists (numbers) or nulls", v);
  return v as Array<number[] | null>;
}

/** Validate one kernel -> browser message of the grid explorer; throws a ProtocolError naming the bad field. */
export function decodeGridMsg(content: unknown, buffers: Buffers): GridMsg {
  const f = fieldsOf(content, "GridExplorer");
  switch (f.what) {
    case "coords": {
      const c = chunk(f);
      expectBuffers(f, buffers, N_SPACES);
      const spaces = buffers.map((_, s) => u8At(f, buffers, s, `space ${s}`));
      for (let s = 0; s < N_SPACES; s++) {
        if (spaces[s].length % 2 !== 0 || spaces[s].length !== spaces[0].length) {
          throw new ProtocolError(
            `coords message: buffer ${s} (space ${s}) has ${spaces[s].length} bytes; every space needs the same even count (${spaces[0].length} in space 0)`,
          );
        }
      }
      return { type: "coords", ...c, spaces };
    }
    case "main": {
      const c = chunk(f);
      const space = f.raw("space");
      if (typeof space !== "string" && !(Number.isInteger(space) && (space as number) >= 0 && (space as number) < N_SPACES)) {
        f.fail("space", `a space index 0..${N_SPACES - 1} or a space name`, space);
      }
      const axes = f.ints("axes", [2, 3], 0, 2);
      expectBuffers(f, buffers, 1);
      const data = u8At(f, buffers, 0, "coordinates");
      if (data.length % axes.length !== 0) {
        throw new ProtocolError(
          `main message: buffer 0 (coordinates) has ${data.length} bytes, not a multiple of ${axes.length} (one byte per axis)`,
        );
      }
      return { type: "main", ...c, space: space as number | string, axes, data };
    }
    case "colors": {
      const c = chunk(f);
      expectBuffers(f, buffers, 1);
      return { type: "colors", ...c, values: u8At(f, buffers, 0, "colour values") };
    }
    case "reset":
      return { type: "reset", version: f.int("version") };
    case "hover":
      return {
        type: "hover",
        index: f.int("index"),
        id: f.int("id"),
        label: f.str("label"),
        entity: f.str("entity"),
        coords: hoverCoords(f),
        neighbours: neighboursOf(f),
      };
    case "labels":
      return decodeLabels(f, buffers);
    default:
      return unknownType("GridExplorer", f, KNOWN);
  }
}
