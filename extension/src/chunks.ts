// Strided chunks (PROTOCOL.md): chunk r of stride S holds display indices r, r+S, r+2S, ... < n.

/** Number of points in chunk r: ceil((n - r) / S), 0 if r >= n. */
export function chunkCount(n: number, r: number, stride: number): number {
  return r >= n ? 0 : Math.ceil((n - r) / stride);
}

/** Points loaded once chunks 0..k-1 have arrived: k * floor(n/S) + min(k, n % S). */
export function loadedCount(n: number, stride: number, k: number): number {
  const kk = Math.max(0, Math.min(k, stride));
  return kk * Math.floor(n / stride) + Math.min(kk, n % stride);
}

/**
 * Copy chunk r (`comps` interleaved bytes per point) into its display positions in `dst`
 * (`comps` bytes per display index). Throws on a size mismatch so a bad message is visible.
 */
export function placeChunk(dst: Uint8Array, src: Uint8Array, r: number, stride: number, n: number, comps: number): number {
  const count = chunkCount(n, r, stride);
  if (src.length !== count * comps) {
    throw new Error(`chunk ${r}/${stride}: expected ${count * comps} bytes, got ${src.length}`);
  }
  if (comps === 1) {
    for (let k = 0, i = r; k < count; k++, i += stride) dst[i] = src[k];
  } else if (comps === 2) {
    for (let k = 0, i = r; k < count; k++, i += stride) {
      dst[2 * i] = src[2 * k];
      dst[2 * i + 1] = src[2 * k + 1];
    }
  } else {
    for (let k = 0, i = r; k < count; k++, i += stride) {
      for (let c = 0; c < comps; c++) dst[comps * i + c] = src[comps * k + c];
    }
  }
  return count;
}

/** Tracks which chunks of a stream arrived; `prefix` = chunks 0..prefix-1 all present. */
export class ChunkTracker {
  private got: Uint8Array;
  prefix = 0;

  constructor(readonly stride: number) {
    this.got = new Uint8Array(Math.max(1, stride));
  }

  /** Mark chunk r received; returns false if it was already there. */
  mark(r: number): boolean {
    if (r < 0 || r >= this.stride) throw new Error(`chunk ${r} out of range for stride ${this.stride}`);
    if (this.got[r]) return false;
    this.got[r] = 1;
    while (this.prefix < this.stride && this.got[this.prefix]) this.prefix++;
    return true;
  }
}

/**
 * Reorder display-order data (comps bytes per point) into chunk-major order: chunk 0's points,
 * then chunk 1's, ... The GPU keeps this layout so the loaded points are always a prefix
 * [0, loadedCount) and a partially loaded view costs only its loaded points.
 */
export function toChunkMajor(src: Uint8Array, comps: number, n: number, stride: number, out: Uint8Array): Uint8Array {
  let p = 0;
  for (let r = 0; r < stride; r++) {
    if (comps === 1) {
      for (let i = r; i < n; i += stride) out[p++] = src[i];
    } else if (comps === 2) {
      for (let i = r; i < n; i += stride, p += 2) {
        out[p] = src[2 * i];
        out[p + 1] = src[2 * i + 1];
      }
    } else {
      for (let i = r; i < n; i += stride, p += comps) for (let c = 0; c < comps; c++) out[p + c] = src[comps * i + c];
    }
  }
  return out;
}

/**
 * Chunks c0..c1-1 of display-order data in chunk-major order (the part of `toChunkMajor`'s
 * output that starts at point `loadedCount(n, stride, c0)`): what a GPU buffer kept in
 * chunk-major order needs when those chunks arrive, so an upload costs the new chunks only.
 */
export function chunkMajorRange(
  src: Uint8Array,
  comps: number,
  n: number,
  stride: number,
  c0: number,
  c1: number,
  out: Uint8Array,
): Uint8Array {
  const a = Math.max(0, c0),
    b = Math.min(stride, c1);
  const len = (loadedCount(n, stride, b) - loadedCount(n, stride, a)) * comps;
  const dst = out.length >= len ? out.subarray(0, len) : new Uint8Array(len);
  let p = 0;
  for (let r = a; r < b; r++) {
    if (comps === 1) {
      for (let i = r; i < n; i += stride) dst[p++] = src[i];
    } else if (comps === 2) {
      for (let i = r; i < n; i += stride, p += 2) {
        dst[p] = src[2 * i];
        dst[p + 1] = src[2 * i + 1];
      }
    } else {
      for (let i = r; i < n; i += stride, p += comps) for (let c = 0; c < comps; c++) dst[p + c] = src[comps * i + c];
    }
  }
  return dst;
}
