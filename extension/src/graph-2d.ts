// 2-D canvas fallback for the graph: edges batched by (colour, opacity bucket), then nodes.

import { nodeRadius } from "./graph-data";
import type { GraphFrame, GraphRenderer } from "./graph-draw";
import { rgbCss } from "./palette";

export class Graph2D implements GraphRenderer {
  readonly kind = "canvas2d";
  private ctx: CanvasRenderingContext2D;

  constructor(readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("2-D canvas context unavailable");
    this.ctx = ctx;
  }

  draw(f: GraphFrame): void {
    const ctx = this.ctx,
      d = f.data;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = rgbCss(f.bg);
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.setTransform(f.dpr, 0, 0, f.dpr, 0, 0);
    const m = f.affine.m,
      b = f.affine.b;
    const X = (x: number) => m[0] * x + b[0],
      Y = (y: number) => m[4] * y + b[1];
    d.lines();
    const edges = d.edges;
    const lp = d.linePos;
    ctx.lineWidth = 1;
    // counting sort of edges by key = colour * 4 + opacity bucket -> one path per key
    const start = new Uint32Array(1025);
    for (let k = 0; k < edges; k++) start[d.ecol[k] * 4 + (d.ew[k] >> 6) + 1]++;
    for (let key = 0; key < 1024; key++) start[key + 1] += start[key];
    const order = new Uint32Array(edges),
      fill = start.slice(0, 1024);
    for (let k = 0; k < edges; k++) order[fill[d.ecol[k] * 4 + (d.ew[k] >> 6)]++] = k;
    for (let key = 0; key < 1024; key++) {
      if (start[key + 1] === start[key]) continue;
      ctx.beginPath();
      for (let j = start[key]; j < start[key + 1]; j++) {
        const k = order[j];
        ctx.moveTo(X(lp[4 * k]), Y(lp[4 * k + 1]));
        ctx.lineTo(X(lp[4 * k + 2]), Y(lp[4 * k + 3]));
      }
      const c = key >> 2,
        bucket = key & 3;
      ctx.strokeStyle = rgbCss(f.lut.subarray(4 * c, 4 * c + 3), (0.05 + (0.55 * (bucket + 0.5)) / 4) * f.edgeFade * (f.hasSel ? 0.5 : 1));
      ctx.stroke();
    }
    for (let i = 0; i < d.n; i++) {
      const sel = d.sel[i] !== 0;
      const r = nodeRadius(d.size[i]);
      ctx.globalAlpha = sel || !f.hasSel ? 1 : 0.35;
      ctx.beginPath();
      ctx.arc(X(d.pos[2 * i]), Y(d.pos[2 * i + 1]), r, 0, 2 * Math.PI);
      ctx.fillStyle = rgbCss(f.lut.subarray(4 * d.col[i], 4 * d.col[i] + 3));
      ctx.fill();
      ctx.strokeStyle = rgbCss(sel ? f.brand : f.ring);
      ctx.lineWidth = sel ? 2 : 0.75;
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
  }

  dispose(): void {
    this.canvas.width = 1;
    this.canvas.height = 1;
    this.canvas.remove();
  }
}
