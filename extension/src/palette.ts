// 12-colour categorical palette (mid luminance, readable on light and dark backgrounds) and a
// viridis-like sequential map. Both are produced as 256-entry RGBA lookup tables so the GPU and
// the 2-D canvas path share one colour-index -> colour mapping.

export const CATEGORICAL: readonly string[] = [
  "#4e79d8",
  "#f28e2b",
  "#2ca58d",
  "#e15759",
  "#a66bd3",
  "#e0b422",
  "#5fb8c7",
  "#ff8fab",
  "#a0785a",
  "#7bc96f",
  "#3b9fe8",
  "#a8a29e",
];

/** Index used for points that belong to no legend run. */
export const NO_CATEGORY = 255;

export function hexToRgb(hex: string): [number, number, number] {
  const h = hex.replace("#", "");
  const v =
    h.length === 3
      ? h
          .split("")
          .map((c) => c + c)
          .join("")
      : h.slice(0, 6);
  const n = parseInt(v, 16);
  return Number.isNaN(n) ? [128, 128, 128] : [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export function categorical(i: number): string {
  return CATEGORICAL[((i % 12) + 12) % 12];
}

/** Polynomial fit of matplotlib's viridis, t in [0, 1] -> rgb 0..255. */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t));
  const c = [
    [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
    [0.1050930431085774, 1.404613529898575, 1.384590162594685],
    [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
    [-4.634230498983486, -5.799100973351585, -19.33244095627987],
    [6.228269936347081, 14.17993336680509, 56.69055260068105],
    [4.776384997670288, -13.74514537774601, -65.35303263337234],
    [-5.435455855934631, 4.645852612178535, 26.3124352495832],
  ];
  const out: [number, number, number] = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    let v = c[6][k];
    for (let j = 5; j >= 0; j--) v = v * x + c[j][k];
    out[k] = Math.round(Math.min(1, Math.max(0, v)) * 255);
  }
  return out;
}

/** 256x RGBA: entries 0..11 the categorical palette, the rest a neutral grey. */
export function categoricalLut(grey: [number, number, number] = [150, 150, 150]): Uint8Array {
  const lut = new Uint8Array(256 * 4);
  for (let i = 0; i < 256; i++) {
    const rgb = i < 12 ? hexToRgb(CATEGORICAL[i]) : grey;
    lut.set([rgb[0], rgb[1], rgb[2], 255], 4 * i);
  }
  return lut;
}

/** 256x RGBA viridis. */
export function viridisLut(): Uint8Array {
  const lut = new Uint8Array(256 * 4);
  for (let i = 0; i < 256; i++) {
    const rgb = viridis(i / 255);
    lut.set([rgb[0], rgb[1], rgb[2], 255], 4 * i);
  }
  return lut;
}

export function rgbCss(rgb: ArrayLike<number>, alpha = 1): string {
  return `rgba(${rgb[0]},${rgb[1]},${rgb[2]},${alpha})`;
}

export interface CategoryRun {
  start: number;
  count: number;
  color: number;
}

/** Per-point colour index from legend runs (tokens sorted so each category is one run). */
export function fillCategories(runs: readonly CategoryRun[], n: number, out: Uint8Array): Uint8Array {
  out.fill(NO_CATEGORY, 0, n);
  for (const r of runs) {
    const a = Math.max(0, Math.floor(r.start));
    const b = Math.min(n, a + Math.max(0, Math.floor(r.count)));
    if (b > a) out.fill(Math.max(0, Math.min(254, Math.floor(r.color))) % 12, a, b);
  }
  return out;
}
