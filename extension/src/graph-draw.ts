// What a graph renderer draws; shared by the WebGL2 and 2-D canvas renderers.
import type { GraphData } from "./graph-data";
import type { Affine } from "./scale";

export interface GraphFrame {
  width: number;
  height: number;
  dpr: number;
  data: GraphData;
  affine: Affine; // node position -> CSS px
  lut: Uint8Array;
  lutVer: number; // categorical palette
  bg: [number, number, number];
  ring: [number, number, number]; // node outline
  brand: [number, number, number]; // selected outline
  lod: boolean; // while moving: draw an even subsample of nodes and edges
  hasSel: boolean;
}

export interface GraphRenderer {
  readonly kind: "webgl2" | "canvas2d";
  readonly canvas: HTMLCanvasElement;
  draw(f: GraphFrame): void;
  dispose(): void;
}
