// A fake anywidget model + fake kernel for the standalone harness (no Jupyter needed).
// The model implements exactly get/set/on/off/save_changes/send, like the export shim.

export class FakeModel {
  constructor(state) {
    this.state = { ...state };
    this.handlers = new Map();
    this.kernel = null;     // receives browser -> kernel traffic
    this.saves = 0;
  }
  get(k) { return this.state[k]; }
  set(k, v) {
    const old = this.state[k];
    this.state[k] = v;
    if (old !== v) this.emit(`change:${k}`, v);
    this.dirty = this.dirty || new Set();
    this.dirty.add(k);
  }
  on(ev, cb) {
    if (!this.handlers.has(ev)) this.handlers.set(ev, new Set());
    this.handlers.get(ev).add(cb);
  }
  off(ev, cb) {
    if (!ev) { this.handlers.clear(); return; }
    if (!cb) { this.handlers.delete(ev); return; }
    this.handlers.get(ev)?.delete(cb);
  }
  save_changes() {
    this.saves++;
    const keys = [...(this.dirty || [])];
    this.dirty = new Set();
    if (this.kernel) setTimeout(() => this.kernel.onBrowserChange(keys), 0);
  }
  send(content) { if (this.kernel) setTimeout(() => this.kernel.onBrowserMsg(content), 0); }
  emit(ev, ...args) { for (const cb of [...(this.handlers.get(ev) || [])]) cb(...args); }
  handlerCount() { let c = 0; for (const s of this.handlers.values()) c += s.size; return c; }
  // kernel side
  pySet(k, v) { this.state[k] = v; this.emit(`change:${k}`, v); }
  pySend(content, buffers) { this.emit("msg:custom", content, buffers); }
}

function mulberry32(a) {
  return () => {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Synthetic tokens: K categories (one run each), 8 spaces x 3 axes of clustered uint8 coords. */
export class GridKernel {
  constructor(n, { stride = 0, seed = 1 } = {}) {
    const rnd = mulberry32(seed);
    this.n = n;
    this.S = stride || Math.max(8, Math.ceil((n * 16) / (4 << 20)));
    const K = 9;
    const w = Array.from({ length: K }, () => 0.3 + rnd());
    const tot = w.reduce((a, b) => a + b, 0);
    this.items = [];
    let start = 0;
    for (let c = 0; c < K; c++) {
      const count = c === K - 1 ? n - start : Math.floor((n * w[c]) / tot);
      this.items.push({ name: `entity_${String.fromCharCode(65 + c)}`, start, count, color: c });
      start += count;
    }
    this.q = [];
    const g = () => { const u = rnd() || 1e-9, v = rnd(); return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v); };
    for (let s = 0; s < 8; s++) {
      const arr = new Uint8Array(3 * n);
      const centres = this.items.map(() => [40 + 175 * rnd(), 40 + 175 * rnd(), 40 + 175 * rnd()]);
      const spread = 8 + 14 * rnd();
      for (const [c, it] of this.items.entries()) {
        for (let i = it.start; i < it.start + it.count; i++) {
          for (let a = 0; a < 3; a++) {
            const v = centres[c][a] + spread * g() * (a === s % 3 ? 1.8 : 1);
            arr[3 * i + a] = v < 0 ? 0 : v > 255 ? 255 : v;
          }
        }
      }
      this.q.push(arr);
    }
    this.weight = new Uint8Array(n);
    for (let i = 0; i < n; i++) this.weight[i] = this.q[0][3 * i] ^ (i & 63);
    this.names = ["embed", "attn_L4", "attn_L8", "mlp_L4", "mlp_L8", "resid_L12", "umap", "pca"];
    this.t0 = 0;
    this.selections = [];
    this.hovers = 0;
  }

  state() {
    const bounds = this.names.map((_, s) => [[-s - 1, s + 1], [-2, 2 + s / 2], [0, 10]]);
    return {
      n: this.n, spaces: this.names, space: this.names[0], axes: [0, 1], view3d: false, color: "entity",
      color_options: ["entity", "weight", "cluster"], legend: { kind: "category", items: this.items },
      bounds, stride: this.S, version: 1, selection: new DataView(new ArrayBuffer(0)), loaded: 0, renderer: "", error: "",
    };
  }

  attach(model) { this.model = model; model.kernel = this; }

  extract(r, comps, pick) {
    const out = new Uint8Array(Math.ceil((this.n - r) / this.S) * comps);
    for (let k = 0, i = r; i < this.n; k++, i += this.S) for (let c = 0; c < comps; c++) out[comps * k + c] = pick(i, c);
    return out;
  }

  async sendAll() {
    const m = this.model, v = m.get("version"), S = this.S;
    const si = Math.max(0, this.names.indexOf(m.get("space")));
    const axes = m.get("axes"), three = m.get("view3d");
    const needMain = three || axes[0] !== 0 || axes[1] !== 1;
    const numeric = m.get("color") === "weight";
    for (let r = 0; r < S; r++) {
      const bufs = this.q.map((arr) => this.extract(r, 2, (i, c) => arr[3 * i + c]));
      if (r === 0) this.t0 = performance.now();
      m.pySend({ type: "coords", version: v, chunk: r, stride: S }, bufs);
      if (needMain) this.sendMain(r, si, three ? [0, 1, 2] : axes);
      if (numeric) m.pySend({ type: "colors", version: v, chunk: r, stride: S }, [this.extract(r, 1, (i) => this.weight[i])]);
      await new Promise((res) => setTimeout(res, 0));
    }
  }

  sendMain(r, si, axes) {
    const arr = this.q[si];
    const buf = this.extract(r, axes.length, (i, c) => arr[3 * i + axes[c]]);
    this.model.pySend({ type: "main", version: this.model.get("version"), chunk: r, stride: this.S, space: si, axes }, [buf]);
  }

  async onBrowserChange(keys) {
    const m = this.model;
    if (keys.includes("selection")) this.selections.push(m.get("selection"));
    if (keys.some((k) => k === "space" || k === "axes" || k === "view3d")) {
      const si = Math.max(0, this.names.indexOf(m.get("space")));
      const axes = m.get("axes"), three = m.get("view3d");
      if (three || axes[0] !== 0 || axes[1] !== 1) {
        for (let r = 0; r < this.S; r++) { this.sendMain(r, si, three ? [0, 1, 2] : axes); await new Promise((res) => setTimeout(res, 0)); }
      }
    }
    if (keys.includes("color")) {
      const numeric = m.get("color") === "weight";
      m.pySet("legend", numeric ? { kind: "numeric", label: "weight", min: 0, max: 1 } : { kind: "category", items: this.items });
      if (numeric) {
        for (let r = 0; r < this.S; r++) m.pySend({ type: "colors", version: m.get("version"), chunk: r, stride: this.S }, [this.extract(r, 1, (i) => this.weight[i])]);
      }
    }
  }

  onBrowserMsg(c) {
    if (c.type === "ready") this.sendAll();
    if (c.type === "hover") {
      this.hovers++;
      const i = c.index;
      const coords = this.names.map((_, s) => [0, 1, 2].map((a) => Number((this.q[s][3 * i + a] / 25.5).toFixed(3))));
      const it = this.items.find((x) => i >= x.start && i < x.start + x.count);
      this.model.pySend({ type: "hover", index: i, id: 100000 + i, label: `token ${i}`, entity: it ? it.name : "", coords }, []);
    }
  }
}
