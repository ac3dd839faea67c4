// 256x256 density histograms of uint8 coordinates (the renderer past the point maximum).

export const BINS = 256;

/** Add the loaded points of `q` (comps bytes per point, axes 0 and 1) into `hist`. */
export function histogram(
  q: Uint8Array,
  comps: number,
  n: number,
  stride: number,
  chunks: number,
  hist: Uint32Array = new Uint32Array(BINS * BINS),
  only?: Uint8Array,
): Uint32Array {
  hist.fill(0);
  for (let i = 0; i < n; i++) {
    if (i % stride >= chunks) continue;
    if (only && !only[i]) continue;
    if (q[comps * i] === 255 && q[comps * i + 1] === 255) continue; // not placed in this space
    // row = 255 - y so that larger y is drawn higher up
    hist[(255 - q[comps * i + 1]) * BINS + q[comps * i]]++;
  }
  return hist;
}

export function maxCount(hist: Uint32Array): number {
  let m = 0;
  for (let i = 0; i < hist.length; i++) if (hist[i] > m) m = hist[i];
  return m;
}

/**
 * Histogram -> RGBA pixels (256x256) with log scaling: alpha grows with log(1+count), colour
 * from `lut` (256x RGBA, sampled by the same log intensity) or a fixed rgb.
 */
export function densityImage(
  hist: Uint32Array,
  out: Uint8ClampedArray,
  lut: Uint8Array | null,
  rgb: [number, number, number],
): Uint8ClampedArray {
  const m = maxCount(hist);
  const norm = m > 0 ? 1 / Math.log1p(m) : 0;
  for (let p = 0; p < hist.length; p++) {
    const c = hist[p];
    const o = 4 * p;
    if (c === 0) {
      out[o + 3] = 0;
      continue;
    }
    const t = Math.log1p(c) * norm;
    const k = Math.round(t * 255);
    if (lut) {
      out[o] = lut[4 * k];
      out[o + 1] = lut[4 * k + 1];
      out[o + 2] = lut[4 * k + 2];
    } else {
      out[o] = rgb[0];
      out[o + 1] = rgb[1];
      out[o + 2] = rgb[2];
    }
    out[o + 3] = Math.round(80 + 175 * t);
  }
  return out;
}
