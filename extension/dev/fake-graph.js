// Fake GraphExplorer kernel: random clustered layout, edges mostly within groups.
function mulberry32(a) {
  return () => {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class GraphKernel {
  constructor(n, e, seed = 7) {
    this.n = n; this.e = e; this.version = 1; this.rnd = mulberry32(seed); this.t0 = 0; this.expands = [];
    this.build();
  }
  build() {
    const { n, e, rnd } = this;
    const G = 8;
    this.pos = new Float32Array(2 * n); this.ids = new Uint32Array(n); this.col = new Uint8Array(n); this.size = new Uint8Array(n);
    const centres = Array.from({ length: G }, (_, k) => [Math.cos((k / G) * 6.283) * 100, Math.sin((k / G) * 6.283) * 100]);
    for (let i = 0; i < n; i++) {
      const gi = i % G, r = 45 * Math.sqrt(rnd()), a = rnd() * 6.283;
      this.pos[2 * i] = centres[gi][0] + r * Math.cos(a); this.pos[2 * i + 1] = centres[gi][1] + r * Math.sin(a);
      this.ids[i] = 5000 + i; this.col[i] = gi;
    }
    this.src = new Uint32Array(2 * e); this.ecol = new Uint8Array(e); this.ew = new Uint8Array(e);
    const deg = new Uint32Array(n);
    for (let k = 0; k < e; k++) {
      const s = Math.floor(rnd() * n);
      let t = rnd() < 0.85 ? (Math.floor(rnd() * (n / G)) * G + (s % G)) % n : Math.floor(rnd() * n);
      if (t === s) t = (s + G) % n;
      this.src[2 * k] = s; this.src[2 * k + 1] = t; this.ecol[k] = s % G === t % G ? s % G : 11; this.ew[k] = Math.floor(rnd() * 256);
      deg[s]++; deg[t]++;
    }
    for (let i = 0; i < n; i++) this.size[i] = Math.min(255, 1 + deg[i] * 4);
  }
  state() {
    return {
      n_nodes: this.n, n_edges: this.e, version: this.version, width_by: "strength", selected: [], loaded: 0, renderer: "", error: "",
      legend: Array.from({ length: 8 }, (_, k) => ({ name: `group ${k}`, color: k })).concat([{ name: "between groups", color: 11 }]),
    };
  }
  attach(model) { this.model = model; model.kernel = this; }
  async sendAll() {
    const m = this.model, v = this.version;
    this.t0 = performance.now();
    m.pySend({ type: "nodes", version: v, n: this.n }, [this.pos.slice(), this.ids.slice(), this.col.slice(), this.size.slice()]);
    const per = Math.floor((4 << 20) / 10);
    for (let o = 0; o < this.e; o += per) {
      const c = Math.min(per, this.e - o);
      m.pySend({ type: "edges", version: v, offset: o, count: c }, [this.src.slice(2 * o, 2 * (o + c)), this.ecol.slice(o, o + c), this.ew.slice(o, o + c)]);
      await new Promise((r) => setTimeout(r, 0));
    }
  }
  onBrowserChange() {}
  onBrowserMsg(c) {
    if (c.type === "ready") this.sendAll();
    if (c.type === "hover") this.model.pySend({ type: "hover", index: c.index, id: this.ids[c.index], label: `node ${this.ids[c.index]}`, degree: this.size[c.index] }, []);
    if (c.type === "expand") {
      this.expands.push(c.index);
      this.version++; this.build();
      this.model.pySet("version", this.version);
      this.sendAll();
    }
  }
}
