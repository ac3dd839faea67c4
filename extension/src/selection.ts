// Selection helpers over typed arrays (no per-point objects).
//
// Bit order of the packed mask (PROTOCOL.md): point i lives in byte i >> 3 at bit (i & 7),
// least significant bit first. So points 0 and 9 selected -> bytes [0b0000_0001, 0b0000_0010].

/** Pack a 0/1 flag array (length n) into the protocol bitmask. All zero -> empty array. */
export function packMask(flags: Uint8Array, n: number = flags.length): Uint8Array {
  const out = new Uint8Array((n + 7) >> 3);
  let any = false;
  for (let i = 0; i < n; i++) {
    if (flags[i]) {
      out[i >> 3] |= 1 << (i & 7);
      any = true;
    }
  }
  return any ? out : new Uint8Array(0);
}

/** Unpack a bitmask into `out` (0/1 per point); bits past n are ignored. Returns the count. */
export function unpackMask(mask: Uint8Array, n: number, out: Uint8Array = new Uint8Array(n)): number {
  out.fill(0, 0, n);
  let count = 0;
  const bytes = Math.min(mask.length, (n + 7) >> 3);
  for (let b = 0; b < bytes; b++) {
    const v = mask[b];
    if (v === 0) continue;
    for (let bit = 0; bit < 8; bit++) {
      const i = (b << 3) + bit;
      if (i < n && v & (1 << bit)) {
        out[i] = 1;
        count++;
      }
    }
  }
  return count;
}

/** Coerce whatever a bytes traitlet arrives as (DataView, ArrayBuffer, view, number[]) to bytes. */
export function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return Uint8Array.from(v as number[]);
  return new Uint8Array(0);
}

/** Which points are candidates: loaded (i % stride < chunks) and i < n. */
export interface Loaded {
  n: number;
  stride: number;
  chunks: number;
}

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function normBox(b: Box): Box {
  return {
    x0: Math.min(b.x0, b.x1),
    y0: Math.min(b.y0, b.y1),
    x1: Math.max(b.x0, b.x1),
    y1: Math.max(b.y0, b.y1),
  };
}

/** Select loaded points whose screen position (interleaved xy) lies in the box. Returns count. */
export function selectBox(xy: Float32Array, ld: Loaded, box: Box, out: Uint8Array): number {
  const b = normBox(box);
  out.fill(0, 0, ld.n);
  let count = 0;
  for (let i = 0; i < ld.n; i++) {
    if (i % ld.stride >= ld.chunks) continue;
    const x = xy[2 * i];
    const y = xy[2 * i + 1];
    if (x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1) {
      out[i] = 1;
      count++;
    }
  }
  return count;
}

/** Even-odd rule point-in-polygon; `poly` is interleaved xy of the vertices (closed implicitly). */
export function pointInPolygon(x: number, y: number, poly: ArrayLike<number>): boolean {
  const m = poly.length >> 1;
  let inside = false;
  for (let a = 0, b = m - 1; a < m; b = a++) {
    const xa = poly[2 * a],
      ya = poly[2 * a + 1];
    const xb = poly[2 * b],
      yb = poly[2 * b + 1];
    if (ya > y !== yb > y && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) inside = !inside;
  }
  return inside;
}

/** Lasso selection: bounding-box reject first, then the exact polygon test. Returns count. */
export function selectLasso(xy: Float32Array, ld: Loaded, poly: ArrayLike<number>, out: Uint8Array): number {
  out.fill(0, 0, ld.n);
  if (poly.length < 6) return 0;
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (let k = 0; k < poly.length; k += 2) {
    x0 = Math.min(x0, poly[k]);
    x1 = Math.max(x1, poly[k]);
    y0 = Math.min(y0, poly[k + 1]);
    y1 = Math.max(y1, poly[k + 1]);
  }
  let count = 0;
  for (let i = 0; i < ld.n; i++) {
    if (i % ld.stride >= ld.chunks) continue;
    const x = xy[2 * i];
    const y = xy[2 * i + 1];
    if (x < x0 || x > x1 || y < y0 || y > y1) continue;
    if (pointInPolygon(x, y, poly)) {
      out[i] = 1;
      count++;
    }
  }
  return count;
}

/** Nearest loaded point to (x, y) within `radius` screen px, or -1. Brute force. */
export function nearestPoint(xy: Float32Array, ld: Loaded, x: number, y: number, radius: number): number {
  let best = -1;
  let bestD = radius * radius;
  for (let i = 0; i < ld.n; i++) {
    if (i % ld.stride >= ld.chunks) continue;
    const dx = xy[2 * i] - x;
    const dy = xy[2 * i + 1] - y;
    const d = dx * dx + dy * dy;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}
