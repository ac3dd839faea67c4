// Coordinate maths shared by the GPU path (as uniforms) and the CPU path (selection, hover,
// 2-D canvas): quantised uint8 coords -> data coords, and view transforms to CSS pixels.

export type Range = [number, number];

/** q = 0 -> min, q = 255 -> max (PROTOCOL.md `bounds`). */
export function dequant(q: number, r: Range): number {
  return r[0] + (q / 255) * (r[1] - r[0]);
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Zoom {
  k: number;
  tx: number;
  ty: number;
}

export const IDENTITY_ZOOM: Zoom = { k: 1, tx: 0, ty: 0 };

/**
 * Affine map q (uint8, 2 or 3 comps) -> CSS px: X = m[0]qx + m[1]qy + m[2]qz + b[0],
 * Y = m[3]qx + m[4]qy + m[5]qz + b[1]. For 2-D views the third column is zero.
 */
export interface Affine {
  m: Float32Array;
  b: [number, number];
}

function span(r: Range): number {
  const d = r[1] - r[0];
  return Number.isFinite(d) && d > 0 ? d : 1;
}

export function inRect(r: Rect, x: number, y: number): boolean {
  return x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
}

/** 2-D view: fit the data box into the rect keeping the data aspect ratio, then zoom/pan. */
export function affine2d(rect: Rect, bx: Range, by: Range, z: Zoom, pad = 8): Affine {
  const dx = span(bx),
    dy = span(by);
  const s = Math.max(1e-9, Math.min((rect.w - 2 * pad) / dx, (rect.h - 2 * pad) / dy));
  const ax = (z.k * s * dx) / 255;
  const ay = (-z.k * s * dy) / 255; // screen y grows downwards
  const cx = rect.x + rect.w / 2 + z.tx;
  const cy = rect.y + rect.h / 2 + z.ty;
  return { m: new Float32Array([ax, 0, 0, 0, ay, 0]), b: [cx - 127.5 * ax, cy - 127.5 * ay] };
}

/** Rotation from yaw (around screen y) then pitch (around screen x); row-major 3x3. */
export function rotation(yaw: number, pitch: number): Float32Array {
  const cy = Math.cos(yaw),
    sy = Math.sin(yaw),
    cp = Math.cos(pitch),
    sp = Math.sin(pitch);
  // R = Rx(pitch) * Ry(yaw)
  return new Float32Array([cy, 0, sy, sp * sy, cp, -sp * cy, -cp * sy, sp, cp * cy]);
}

/** 3-D view: centre the unit cube (scaled by data aspect), rotate, orthographic projection. */
export function affine3d(rect: Rect, b: [Range, Range, Range], rot: Float32Array, z: Zoom): Affine {
  const d = b.map(span);
  const dm = Math.max(d[0], d[1], d[2]);
  const e = d.map((v) => v / dm / 127.5); // q - 127.5 -> [-e, e] in model units
  const s = (z.k * Math.min(rect.w, rect.h) * 0.5) / 1.8; // |p| <= sqrt(3) fits
  const m = new Float32Array(6);
  for (let c = 0; c < 3; c++) {
    m[c] = s * rot[c] * e[c];
    m[3 + c] = -s * rot[3 + c] * e[c];
  }
  const cx = rect.x + rect.w / 2 + z.tx;
  const cy = rect.y + rect.h / 2 + z.ty;
  return { m, b: [cx - 127.5 * (m[0] + m[1] + m[2]), cy - 127.5 * (m[3] + m[4] + m[5])] };
}

/** Project n points (comps bytes each) through `a` into interleaved screen xy. */
/** Code 255 on x and y: the token is not placed in this space (projected to NaN, so it is
 * never drawn, hovered or selected). */
export const UNPLACED = 255;

export function projectAll(q: Uint8Array, comps: number, n: number, a: Affine, out: Float32Array): Float32Array {
  const [m0, m1, m2, m3, m4, m5] = a.m;
  const [b0, b1] = a.b;
  if (comps === 2) {
    for (let i = 0; i < n; i++) {
      const x = q[2 * i],
        y = q[2 * i + 1];
      if (x === UNPLACED && y === UNPLACED) {
        out[2 * i] = out[2 * i + 1] = NaN;
        continue;
      }
      out[2 * i] = m0 * x + m1 * y + b0;
      out[2 * i + 1] = m3 * x + m4 * y + b1;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const x = q[comps * i],
        y = q[comps * i + 1],
        zz = q[comps * i + 2];
      if (x === UNPLACED && y === UNPLACED) {
        out[2 * i] = out[2 * i + 1] = NaN;
        continue;
      }
      out[2 * i] = m0 * x + m1 * y + m2 * zz + b0;
      out[2 * i + 1] = m3 * x + m4 * y + m5 * zz + b1;
    }
  }
  return out;
}

/** Zoom by factor f keeping the screen point (px, py) fixed; (cx, cy) is the rect centre. */
export function zoomAt(z: Zoom, f: number, px: number, py: number, cx: number, cy: number): Zoom {
  const k = Math.min(200, Math.max(0.2, z.k * f));
  const ux = (px - cx - z.tx) / z.k;
  const uy = (py - cy - z.ty) / z.k;
  return { k, tx: px - cx - k * ux, ty: py - cy - k * uy };
}

/** 2-D float positions: affine that fits their bounding box into the rect (graph view). */
export function fitPositions(pos: Float32Array, n: number, rect: Rect, z: Zoom, pad = 16): Affine {
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = pos[2 * i],
      y = pos[2 * i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  if (x0 > x1) {
    x0 = 0;
    x1 = 1;
    y0 = 0;
    y1 = 1;
  }
  const dx = Math.max(x1 - x0, 1e-9),
    dy = Math.max(y1 - y0, 1e-9);
  const s = z.k * Math.max(1e-9, Math.min((rect.w - 2 * pad) / dx, (rect.h - 2 * pad) / dy));
  const cx = rect.x + rect.w / 2 + z.tx,
    cy = rect.y + rect.h / 2 + z.ty;
  const mx = (x0 + x1) / 2,
    my = (y0 + y1) / 2;
  return { m: new Float32Array([s, 0, 0, 0, -s, 0]), b: [cx - s * mx, cy + s * my] };
}

/** Same as projectAll for float32 xy positions (third column ignored). */
export function projectFloat(pos: Float32Array, n: number, a: Affine, out: Float32Array): Float32Array {
  const [m0, m1, , m3, m4] = a.m;
  const [b0, b1] = a.b;
  for (let i = 0; i < n; i++) {
    const x = pos[2 * i],
      y = pos[2 * i + 1];
    out[2 * i] = m0 * x + m1 * y + b0;
    out[2 * i + 1] = m3 * x + m4 * y + b1;
  }
  return out;
}
