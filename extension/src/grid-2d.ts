// 2-D canvas renderers for the grid: a software point splatter (fallback when WebGL2 is missing)
// and the density view (256x256 histograms, used past the tested point maximum).
import { BINS, densityImage, histogram } from "./density";
import type { GridFrame, GridRenderer, ViewDraw } from "./grid-draw";
import { viridisLut } from "./palette";
import { projectAll } from "./scale";

const VIRIDIS = viridisLut();
const GREY: [number, number, number] = [128, 128, 128];

export class Grid2D implements GridRenderer {
  private ctx: CanvasRenderingContext2D;
  private img: ImageData | null = null;
  private xy = new Float32Array(0);
  private dpr = 1;
  // density caches: per view key, the histogram inputs that produced the image
  private dens = new Map<string, { tag: string; canvas: HTMLCanvasElement }>();

  constructor(
    readonly canvas: HTMLCanvasElement,
    readonly kind: "canvas2d" | "density",
  ) {
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("2-D canvas context unavailable");
    this.ctx = ctx;
  }

  resize(_width: number, _height: number, dpr: number): void {
    this.dpr = dpr;
    this.img = null;
  }

  draw(f: GridFrame): boolean {
    if (f.clear) {
      this.ctx.setTransform(1, 0, 0, 1, 0, 0);
      this.ctx.fillStyle = `rgb(${f.clear.join(",")})`;
      this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    }
    if (this.kind === "density") {
      for (const v of f.views) this.drawDensity(v, f);
      return false;
    }
    const W = this.canvas.width,
      H = this.canvas.height;
    if (!this.img || this.img.width !== W || this.img.height !== H) this.img = this.ctx.createImageData(W, H);
    for (const v of f.views) this.splat(v, f, this.img);
    for (const v of f.views) {
      const r = this.devRect(v);
      this.ctx.putImageData(this.img, 0, 0, r.x, r.y, r.w, r.h);
    }
    return false;
  }

  private devRect(v: ViewDraw) {
    const d = this.dpr;
    return { x: Math.round(v.rect.x * d), y: Math.round(v.rect.y * d), w: Math.round(v.rect.w * d), h: Math.round(v.rect.h * d) };
  }

  /** Software point rendering with "over" blending straight into the ImageData. */
  private splat(v: ViewDraw, f: GridFrame, img: ImageData): void {
    const px = img.data,
      W = img.width;
    const r = this.devRect(v);
    for (let y = r.y; y < r.y + r.h; y++) {
      for (let x = r.x; x < r.x + r.w; x++) {
        const o = 4 * (y * W + x);
        px[o] = v.bg[0];
        px[o + 1] = v.bg[1];
        px[o + 2] = v.bg[2];
        px[o + 3] = 255;
      }
    }
    const n = Math.min(f.n, Math.floor(v.data.length / v.comps));
    if (this.xy.length < 2 * n) this.xy = new Float32Array(2 * n);
    projectAll(v.data, v.comps, n, v.affine, this.xy);
    const s = Math.max(1, Math.round(v.size * this.dpr * 0.8));
    const lut = f.lut,
      d = this.dpr;
    const selA = v.sel ?? f.sel,
      colA = v.colorIdx ?? f.colorIdx;
    const plot = (pass: number) => {
      for (let i = 0; i < n; i++) {
        if (i % v.stride >= v.chunks) continue;
        if (v.data[v.comps * i] === 255 && v.data[v.comps * i + 1] === 255) continue; // not placed
        const sel = selA[i] !== 0;
        if ((pass === 1 && sel) || (pass === 2 && !sel)) continue;
        const cx = Math.round(this.xy[2 * i] * d),
          cy = Math.round(this.xy[2 * i + 1] * d);
        if (cx < r.x || cy < r.y || cx >= r.x + r.w - s || cy >= r.y + r.h - s) continue;
        const k = 4 * colA[i];
        let cr = lut[k],
          cg = lut[k + 1],
          cb = lut[k + 2],
          a = v.alpha;
        if (pass === 1) {
          cr += (f.dim[0] - cr) * 0.7;
          cg += (f.dim[1] - cg) * 0.7;
          cb += (f.dim[2] - cb) * 0.7;
          a *= 0.3;
        }
        if (pass === 2) a = Math.min(1, a * 1.6 + 0.2);
        for (let yy = 0; yy < s; yy++) {
          let o = 4 * ((cy + yy) * W + cx);
          for (let xx = 0; xx < s; xx++, o += 4) {
            px[o] += (cr - px[o]) * a;
            px[o + 1] += (cg - px[o + 1]) * a;
            px[o + 2] += (cb - px[o + 2]) * a;
          }
        }
      }
    };
    if (f.hasSel) {
      plot(1);
      plot(2);
    } else plot(0);
  }

  /** Density: histogram image (cached per data version/selection) stretched over the q box. */
  private drawDensity(v: ViewDraw, f: GridFrame): void {
    const ctx = this.ctx,
      d = this.dpr;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    const r = this.devRect(v);
    ctx.fillStyle = `rgb(${v.bg.join(",")})`;
    ctx.fillRect(r.x, r.y, r.w, r.h);
    const n = Math.min(f.n, Math.floor(v.data.length / v.comps));
    const tag = `${v.ver}|${v.chunks}|${v.stride}|${f.hasSel ? f.selVer : -1}|${f.lutVer}|${f.brand.join(",")}`;
    let c = this.dens.get(v.key);
    if (!c || c.tag !== tag) {
      const cv = c?.canvas ?? document.createElement("canvas");
      cv.width = BINS;
      cv.height = BINS;
      const cctx = cv.getContext("2d");
      if (!cctx) throw new Error("2-D canvas context unavailable");
      const hist = histogram(v.data, v.comps, n, v.stride, v.chunks);
      const base = cctx.createImageData(BINS, BINS);
      // viridis for the plain density; when something is selected the base turns grey and the
      // selected points' density is drawn on top in the brand colour
      densityImage(hist, base.data, f.hasSel ? null : VIRIDIS, GREY);
      cctx.putImageData(base, 0, 0);
      if (f.hasSel) {
        const sh = histogram(v.data, v.comps, n, v.stride, v.chunks, undefined, f.sel);
        const top = cctx.createImageData(BINS, BINS);
        densityImage(sh, top.data, null, f.brand);
        const tmp = document.createElement("canvas");
        tmp.width = BINS;
        tmp.height = BINS;
        tmp.getContext("2d")?.putImageData(top, 0, 0);
        cctx.drawImage(tmp, 0, 0);
      }
      c = { tag, canvas: cv };
      this.dens.set(v.key, c);
    }
    // q -> px is axis aligned for 2-D views: X = m0*q + b0, Y = m4*q + b1 (m4 < 0)
    const m = v.affine.m,
      b = v.affine.b;
    ctx.save();
    ctx.beginPath();
    ctx.rect(r.x, r.y, r.w, r.h);
    ctx.clip();
    ctx.imageSmoothingEnabled = false;
    const x0 = (m[0] * 0 + b[0]) * d,
      x1 = (m[0] * 256 + b[0]) * d;
    const y0 = (m[4] * 256 + b[1]) * d,
      y1 = (m[4] * 0 + b[1]) * d;
    ctx.drawImage(c.canvas, x0, y0, x1 - x0, y1 - y0);
    ctx.restore();
  }

  dispose(): void {
    this.dens.clear();
    this.img = null;
    this.canvas.width = 1;
    this.canvas.height = 1;
    this.canvas.remove();
  }
}
