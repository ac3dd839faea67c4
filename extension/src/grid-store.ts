// Grid data as typed arrays in display order: 8 spaces x (x, y) uint8, an optional main-view
// buffer (other axes or 3-D), numeric colour values, per-point category index and selection.
import { ChunkTracker, loadedCount, placeChunk } from "./chunks";
import { type CategoryRun, fillCategories } from "./palette";
import { unpackMask } from "./selection";

export const N_SPACES = 8;

export class GridStore {
  n = 0;
  stride = 1;
  spaces: Uint8Array[] = [];
  spaceVer = 0;
  /** Generations: bumped when the data is replaced, not when chunks are added (GPU uploads). */
  spaceGen = 0;
  mainGen = 0;
  colorGen = 0;
  coords = new ChunkTracker(1);
  main: Uint8Array = new Uint8Array(0);
  mainKey = "";
  mainComps = 2;
  mainVer = 0;
  mainT = new ChunkTracker(1);
  numeric: Uint8Array = new Uint8Array(0);
  colorsT = new ChunkTracker(1);
  colorIdx: Uint8Array = new Uint8Array(0);
  colorVer = 0;
  categorical = true;
  private runs: CategoryRun[] = [];
  sel: Uint8Array = new Uint8Array(0);
  selCount = 0;
  selVer = 0;

  /** Drop all data (new n / stride / version); selection storage is resized too. */
  reset(n: number, stride: number): void {
    this.n = Math.max(0, Math.floor(n));
    this.stride = Math.max(1, Math.floor(stride));
    this.spaces = [];
    for (let s = 0; s < N_SPACES; s++) this.spaces.push(new Uint8Array(2 * this.n));
    this.coords = new ChunkTracker(this.stride);
    this.spaceVer++;
    this.spaceGen++;
    this.dropMain();
    this.numeric = new Uint8Array(this.n);
    this.colorsT = new ChunkTracker(this.stride);
    this.colorIdx = new Uint8Array(this.n);
    this.refreshColors();
    if (this.sel.length !== this.n) {
      this.sel = new Uint8Array(this.n);
      this.selCount = 0;
    }
    this.selVer++;
  }

  dropMain(): void {
    this.main = new Uint8Array(0);
    this.mainKey = "";
    this.mainT = new ChunkTracker(this.stride);
    this.mainVer++;
    this.mainGen++;
  }

  private ensureStride(stride: number): void {
    if (stride !== this.stride) this.reset(this.n, stride);
  }

  onCoords(r: number, stride: number, spaces: readonly Uint8Array[]): void {
    this.ensureStride(stride);
    if (spaces.length !== N_SPACES) throw new Error(`coords: expected 8 buffers, got ${spaces.length}`);
    for (let s = 0; s < N_SPACES; s++) placeChunk(this.spaces[s], spaces[s], r, stride, this.n, 2);
    this.coords.mark(r);
    this.spaceVer++;
  }

  onMain(r: number, stride: number, key: string, comps: number, buf: Uint8Array): void {
    this.ensureStride(stride);
    if (key !== this.mainKey || comps !== this.mainComps) {
      this.main = new Uint8Array(comps * this.n);
      this.mainKey = key;
      this.mainComps = comps;
      this.mainT = new ChunkTracker(stride);
      this.mainGen++;
    }
    placeChunk(this.main, buf, r, stride, this.n, comps);
    this.mainT.mark(r);
    this.mainVer++;
  }

  onColors(r: number, stride: number, buf: Uint8Array): void {
    this.ensureStride(stride);
    placeChunk(this.numeric, buf, r, stride, this.n, 1);
    this.colorsT.mark(r);
    if (!this.categorical) {
      this.colorIdx.set(this.numeric);
      this.colorVer++;
    }
  }

  /** Legend -> colour source: category runs, or the numeric values from `colors` chunks. */
  setLegend(legend: unknown): void {
    const l = (legend ?? {}) as { kind?: string; items?: Array<Partial<CategoryRun>> };
    this.categorical = l.kind !== "numeric";
    this.runs = (l.items ?? []).map((it) => ({
      start: Number(it.start ?? 0),
      count: Number(it.count ?? 0),
      color: Number(it.color ?? 0),
    }));
    this.refreshColors();
  }

  private refreshColors(): void {
    if (this.colorIdx.length !== this.n) this.colorIdx = new Uint8Array(this.n);
    if (this.categorical) fillCategories(this.runs, this.n, this.colorIdx);
    else this.colorIdx.set(this.numeric.subarray(0, this.n));
    this.colorVer++;
    this.colorGen++;
  }

  /** Chunks whose colours are final: all for categories (from the legend), else the `colors` prefix. */
  colorChunks(): number {
    return this.categorical ? this.stride : this.colorsT.prefix;
  }

  setSelectionMask(mask: Uint8Array): void {
    if (this.sel.length !== this.n) this.sel = new Uint8Array(this.n);
    this.selCount = unpackMask(mask, this.n, this.sel);
    this.selVer++;
  }

  setSelectionFlags(count: number): void {
    this.selCount = count;
    this.selVer++;
  }

  loaded(): number {
    return loadedCount(this.n, this.stride, this.coords.prefix);
  }
}
