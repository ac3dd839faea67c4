// GraphExplorer data in typed arrays: nodes (positions, ids, colour, size) and edges as they
// arrive in chunks (PROTOCOL.md), plus per-vertex line arrays for the renderers.
import type { EdgesMsg, NodesMsg } from "./graph-protocol";

export class GraphData {
  n = 0;
  pos: Float32Array = new Float32Array(0);
  ids: Uint32Array = new Uint32Array(0);
  col: Uint8Array = new Uint8Array(0);
  size: Uint8Array = new Uint8Array(0);
  nodeVer = 0;
  ends = new Uint32Array(0); // 2 per edge: source, target (node indices)
  ecol = new Uint8Array(0);
  ew = new Uint8Array(0);
  edges = 0; // edges placed so far (the received prefix)
  received = 0; // sum of chunk counts (the `loaded` traitlet)
  edgeVer = 0;
  sel = new Uint8Array(0);
  selVer = 0;
  private index = new Map<number, number>();
  private lineTag = "";
  linePos = new Float32Array(0); // 2 vertices x (x, y) per edge
  lineCol = new Uint8Array(0); // per vertex
  lineW = new Uint8Array(0);
  /** Summed length of the edges and the nodes' bounding box [x0, y0, x1, y1], in data units (by `lines()`). */
  lineLen = 0;
  extent: [number, number, number, number] = [0, 0, 0, 0];

  /** A new node set (a `nodes` message); drops the edges and the selection. */
  setNodes(m: NodesMsg): void {
    const n = m.n;
    this.n = n;
    this.pos = m.pos;
    this.ids = m.ids;
    this.col = m.color;
    this.size = m.size;
    this.index = new Map();
    for (let i = 0; i < n; i++) this.index.set(m.ids[i], i);
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

  /** Store an `edges` chunk; a node index past the current nodes is an error. */
  addEdges(m: EdgesMsg): void {
    const { offset, count, ends, color: c, width: w } = m;
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
    const e = new Uint32Array(2 * cap),
      c = new Uint8Array(cap),
      w = new Uint8Array(cap);
    e.set(this.ends);
    c.set(this.ecol);
    w.set(this.ew);
    this.ends = e;
    this.ecol = c;
    this.ew = w;
  }

  /** (Re)build the per-vertex line arrays when nodes or edges changed. */
  lines(): void {
    const tag = `${this.nodeVer}|${this.edgeVer}`;
    if (tag === this.lineTag) return;
    this.lineTag = tag;
    const m = this.edges;
    if (this.linePos.length < 4 * m) {
      this.linePos = new Float32Array(4 * m);
      this.lineCol = new Uint8Array(2 * m);
      this.lineW = new Uint8Array(2 * m);
    }
    const p = this.pos,
      lp = this.linePos;
    let len = 0;
    const ext: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
    for (let i = 0; i < this.n; i++) {
      const x = p[2 * i],
        y = p[2 * i + 1];
      if (x < ext[0]) ext[0] = x;
      if (y < ext[1]) ext[1] = y;
      if (x > ext[2]) ext[2] = x;
      if (y > ext[3]) ext[3] = y;
    }
    this.extent = this.n > 0 ? ext : [0, 0, 0, 0];
    for (let k = 0; k < m; k++) {
      const a = this.ends[2 * k],
        b = this.ends[2 * k + 1];
      lp[4 * k] = p[2 * a];
      lp[4 * k + 1] = p[2 * a + 1];
      lp[4 * k + 2] = p[2 * b];
      lp[4 * k + 3] = p[2 * b + 1];
      this.lineCol[2 * k] = this.lineCol[2 * k + 1] = this.ecol[k];
      this.lineW[2 * k] = this.lineW[2 * k + 1] = this.ew[k];
      len += Math.hypot(p[2 * b] - p[2 * a], p[2 * b + 1] - p[2 * a + 1]);
    }
    this.lineLen = len;
  }

  /** Selected ids -> per-node flags; unknown ids are ignored. Returns the count. */
  setSelected(ids: unknown): number {
    this.sel.fill(0);
    let c = 0;
    if (Array.isArray(ids)) {
      for (const id of ids) {
        const i = this.index.get(Number(id));
        if (i !== undefined && !this.sel[i]) {
          this.sel[i] = 1;
          c++;
        }
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
