// GraphExplorer data in typed arrays: nodes (positions, ids, colour, size) and edges as they
// arrive in chunks (PROTOCOL.md), plus per-vertex line arrays for the renderers.
import { bytesOf, typedOf } from "./model";

export class GraphData {
  n = 0;
  pos = new Float32Array(0);
  ids = new Uint32Array(0);
  col: Uint8Array = new Uint8Array(0);
  size: Uint8Array = new Uint8Array(0);
  nodeVer = 0;
  ends = new Uint32Array(0);   // 2 per edge: source, target (node indices)
  ecol = new Uint8Array(0);
  ew = new Uint8Array(0);
  edges = 0;                   // edges placed so far (the received prefix)
  received = 0;                // sum of chunk counts (the `loaded` traitlet)
  edgeVer = 0;
  sel = new Uint8Array(0);
  selVer = 0;
  private index = new Map<number, number>();
  private lineTag = "";
  linePos = new Float32Array(0); // 2 vertices x (x, y) per edge
  lineCol = new Uint8Array(0);   // per vertex
  lineW = new Uint8Array(0);

  setNodes(n: number, bufs: unknown[]): void {
    if (bufs.length < 4) throw new Error(`nodes: expected 4 buffers, got ${bufs.length}`);
    const pos = typedOf(bufs[0], Float32Array), ids = typedOf(bufs[1], Uint32Array);
    const col = bytesOf(bufs[2]), size = bytesOf(bufs[3]);
    if (pos.length !== 2 * n || ids.length !== n || col.length !== n || size.length !== n) {
      throw new Error(`nodes: buffer sizes do not match n=${n}`);
    }
    this.n = n; this.pos = pos; this.ids = ids; this.col = col; this.size = size;
    this.index = new Map();
    for (let i = 0; i < n; i++) this.index.set(ids[i], i);
    this.sel = new Uint8Array(n);
    this.nodeVer++;
    this.selVer++;
    this.clearEdges(0);
  }

  clearEdges(capacity: number): void {
    this.ends = new Uint32Array(2 * capacity);
    this.ecol = new Uint8Array(capacity);
    this.ew = new Uint8Array(capacity);
    this.edges = 0;
    this.received = 0;
    this.edgeVer++;
  }

  addEdges(offset: number, count: number, bufs: unknown[]): void {
    if (bufs.length < 3) throw new Error(`edges: expected 3 buffers, got ${bufs.length}`);
    const ends = typedOf(bufs[0], Uint32Array), c = bytesOf(bufs[1]), w = bytesOf(bufs[2]);
    if (ends.length !== 2 * count || c.length !== count || w.length !== count) throw new Error(`edges: buffer sizes do not match count=${count}`);
    const need = offset + count;
    if (need > this.ecol.length) this.grow(Math.max(need, Math.ceil(this.ecol.length * 1.5)));
    for (let k = 0; k < 2 * count; k++) {
      if (ends[k] >= this.n) throw new Error(`edges: node index ${ends[k]} out of range (n=${this.n})`);
    }
    this.ends.set(ends, 2 * offset);
    this.ecol.set(c, offset);
    this.ew.set(w, offset);
    this.edges = Math.max(this.edges, need);
    this.received += count;
    this.edgeVer++;
  }

  private grow(cap: number): void {
    const e = new Uint32Array(2 * cap), c = new Uint8Array(cap), w = new Uint8Array(cap);
    e.set(this.ends); c.set(this.ecol); w.set(this.ew);
    this.ends = e; this.ecol = c; this.ew = w;
  }

  /** (Re)build the per-vertex line arrays when nodes or edges changed. */
  lines(): void {
    const tag = `${this.nodeVer}|${this.edgeVer}`;
    if (tag === this.lineTag) return;
    this.lineTag = tag;
    const m = this.edges;
    if (this.linePos.length < 4 * m) {
      this.linePos = new Float32Array(4 * m); this.lineCol = new Uint8Array(2 * m); this.lineW = new Uint8Array(2 * m);
    }
    const p = this.pos, lp = this.linePos;
    for (let k = 0; k < m; k++) {
      const a = this.ends[2 * k], b = this.ends[2 * k + 1];
      lp[4 * k] = p[2 * a]; lp[4 * k + 1] = p[2 * a + 1]; lp[4 * k + 2] = p[2 * b]; lp[4 * k + 3] = p[2 * b + 1];
      this.lineCol[2 * k] = this.lineCol[2 * k + 1] = this.ecol[k];
      this.lineW[2 * k] = this.lineW[2 * k + 1] = this.ew[k];
    }
  }

  /** Selected ids -> per-node flags; unknown ids are ignored. Returns the count. */
  setSelected(ids: unknown): number {
    this.sel.fill(0);
    let c = 0;
    if (Array.isArray(ids)) {
      for (const id of ids) {
        const i = this.index.get(Number(id));
        if (i !== undefined && !this.sel[i]) { this.sel[i] = 1; c++; }
      }
    }
    this.selVer++;
    return c;
  }
}

/** Node radius in CSS px from the size byte (1..255, by degree). */
export function nodeRadius(size: number): number {
  return 1.5 + Math.sqrt(size) * 0.45;
}
