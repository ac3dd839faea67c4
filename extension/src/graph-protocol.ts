// GraphExplorer messages (PROTOCOL.md, "GraphExplorer"): the kernel -> browser union, its
// decoder, and the browser -> kernel messages. Node indices in `edges` are checked against the
// current node count where the edges are stored (graph-data.ts), after the version check.
import {
  type Buffers,
  type ClosedNotice,
  decodeLabels,
  expectBuffers,
  fieldsOf,
  type HoverRequest,
  type LabelsMsg,
  type Neighbour,
  neighboursOf,
  type ReadyRequest,
  typedAt,
  u8At,
  unknownType,
  type ViewportRequest,
} from "./protocol";

export { closedNotice, hoverRequest, readyRequest } from "./protocol";

/** The whole node set (a new layout): positions, ids, colour and size per node. */
export interface NodesMsg {
  type: "nodes";
  version: number;
  n: number;
  /** (x, y) per node, any range (the browser fits the view). */
  pos: Float32Array;
  ids: Uint32Array;
  /** Palette index per node. */
  color: Uint8Array;
  /** 1..255, from the degree. */
  size: Uint8Array;
}

/** Edges [offset, offset + count): (source, target) node indices, colour and width. */
export interface EdgesMsg {
  type: "edges";
  version: number;
  offset: number;
  count: number;
  ends: Uint32Array;
  color: Uint8Array;
  width: Uint8Array;
}

/** Sent by every refresh (the explorers' shared base); the `nodes` of the new version follow. */
export interface GraphResetMsg {
  type: "reset";
  version: number;
}

/** Reply to a hover request. */
export interface GraphHoverMsg {
  type: "hover";
  index: number;
  id: number;
  label: string;
  degree: number;
  /** Top neighbours by connection strength (up to 5). */
  neighbours: Neighbour[];
}

export type GraphMsg = NodesMsg | EdgesMsg | GraphResetMsg | GraphHoverMsg | LabelsMsg;

/** Double click on a node: the kernel adds its neighbours and sends a new layout. */
export interface ExpandRequest {
  type: "expand";
  index: number;
}
export type GraphOut = ReadyRequest | HoverRequest | ExpandRequest | ClosedNotice | ViewportRequest;
export const expandRequest = (index: number): ExpandRequest => ({ type: "expand", index });

const KNOWN = ["nodes", "edges", "reset", "hover", "labels"];

/** Validate one kernel -> browser message of the graph explorer; throws a ProtocolError naming the bad field. */
export function decodeGraphMsg(content: unknown, buffers: Buffers): GraphMsg {
  const f = fieldsOf(content, "GraphExplorer");
  switch (f.what) {
    case "nodes": {
      const version = f.int("version");
      const n = f.int("n");
      expectBuffers(f, buffers, 4);
      return {
        type: "nodes",
        version,
        n,
        pos: typedAt(f, buffers, 0, "positions, float32 x 2n", Float32Array, 2 * n),
        ids: typedAt(f, buffers, 1, "node ids, uint32 x n", Uint32Array, n),
        color: u8At(f, buffers, 2, "node colours, uint8 x n", n),
        size: u8At(f, buffers, 3, "node sizes, uint8 x n", n),
      };
    }
    case "edges": {
      const version = f.int("version");
      const offset = f.int("offset");
      const count = f.int("count");
      expectBuffers(f, buffers, 3);
      return {
        type: "edges",
        version,
        offset,
        count,
        ends: typedAt(f, buffers, 0, "edge ends, uint32 x 2count", Uint32Array, 2 * count),
        color: u8At(f, buffers, 1, "edge colours, uint8 x count", count),
        width: u8At(f, buffers, 2, "edge widths, uint8 x count", count),
      };
    }
    case "reset":
      return { type: "reset", version: f.int("version") };
    case "hover":
      return {
        type: "hover",
        index: f.int("index"),
        id: f.int("id"),
        label: f.str("label"),
        degree: f.int("degree"),
        neighbours: neighboursOf(f),
      };
    case "labels":
      return decodeLabels(f, buffers);
    default:
      return unknownType("GraphExplorer", f, KNOWN);
  }
}
