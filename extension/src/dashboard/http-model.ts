// The `Model` of the shared explorers (src/model.ts) over the server's HTTP views
// (`/api/v1/views/...`, core_rs/src/server/routes/views*.rs): the dashboard mounts the SAME
// GridView/GraphView modules as the notebook; this adapter plays the kernel. The server answers
// with the widgets' own messages (PROTOCOL.md) in `application/x-ng-msgs` bodies, decoded
// here by `decodeMsgs` and handed to the view as `msg:custom` events.
import type { Handler, Model } from "../model";

/** What the adapters need from the dashboard's API layer (api.ts; injected for tests). */
export interface Transport {
  /** JSON GET/POST relative to /api/v1; rejects with an error carrying `status` on failure. */
  json<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T>;
  /** Binary GET/POST relative to /api/v1 (the body as JSON when given). */
  binary(method: "GET" | "POST", path: string, body?: unknown): Promise<ArrayBuffer>;
}

/** One decoded message: its JSON content and its buffers. */
export interface WireMsg {
  content: Record<string, unknown>;
  buffers: Uint8Array[];
}

const MAGIC = "NGM1";
const pad8 = (n: number) => Math.ceil(n / 8) * 8;

/** Decode an `application/x-ng-msgs` body (layout in views_wire.rs); throws on a malformed one. */
export function decodeMsgs(body: ArrayBuffer): WireMsg[] {
  const bytes = new Uint8Array(body);
  if (bytes.length < 8 || String.fromCharCode(...bytes.subarray(0, 4)) !== MAGIC) {
    throw new Error("views: not an x-ng-msgs body (bad magic)");
  }
  const h = new DataView(body).getUint32(4, true);
  if (8 + h > bytes.length) throw new Error(`views: header of ${h} bytes passes the body's end`);
  const head = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + h))) as unknown;
  if (!Array.isArray(head)) throw new Error("views: the header is not a list of messages");
  let at = pad8(8 + h);
  const out: WireMsg[] = [];
  for (const m of head as Array<{ content?: unknown; buffers?: unknown }>) {
    if (typeof m?.content !== "object" || m.content === null || !Array.isArray(m.buffers)) {
      throw new Error("views: a message lacks content or buffers");
    }
    const buffers: Uint8Array[] = [];
    for (const len of m.buffers as unknown[]) {
      if (typeof len !== "number" || !Number.isInteger(len) || len < 0 || at + len > bytes.length) {
        throw new Error(`views: buffer length ${String(len)} passes the body's end`);
      }
      buffers.push(new Uint8Array(body, at, len));
      at = pad8(at + len);
    }
    out.push({ content: m.content as Record<string, unknown>, buffers });
  }
  if (at !== bytes.length) throw new Error(`views: ${bytes.length - at} trailing bytes after the buffers`);
  return out;
}

/** The HTTP status of an error from the transport (0 when it has none). */
export function statusOf(e: unknown): number {
  const s = (e as { status?: unknown } | null)?.status;
  return typeof s === "number" ? s : 0;
}

/** A traitlet store with anywidget's event surface: `set` fires `change:<name>` at once,
 * `save_changes` hands the names set since the last save to `saved`, `send` to `received`. */
export abstract class TraitModel implements Model {
  protected traits = new Map<string, unknown>();
  private handlers = new Map<string, Set<Handler>>();
  private dirty = new Set<string>();
  /** Errors of background work (shown by the page); the view shows its own. */
  onError: (e: unknown) => void = () => {};

  get(name: string): unknown {
    return this.traits.get(name);
  }

  set(name: string, value: unknown): void {
    this.traits.set(name, value);
    this.dirty.add(name);
    this.emit(`change:${name}`);
  }

  /** Set a trait as the server would (not reported back by `save_changes`). */
  protected put(name: string, value: unknown): void {
    const same = this.traits.get(name) === value;
    this.traits.set(name, value);
    this.dirty.delete(name);
    if (!same) this.emit(`change:${name}`);
  }

  on(event: string, cb: Handler): void {
    const s = this.handlers.get(event) ?? new Set<Handler>();
    this.handlers.set(event, s);
    s.add(cb);
  }

  off(event?: string | null, cb?: Handler | null): void {
    if (!event) this.handlers.clear();
    else if (!cb) this.handlers.delete(event);
    else this.handlers.get(event)?.delete(cb);
  }

  save_changes(): void {
    const names = [...this.dirty];
    this.dirty.clear();
    if (names.length) this.saved(names);
  }

  send(content: unknown): void {
    if (content && typeof content === "object") this.received(content as Record<string, unknown>);
  }

  /** Deliver a kernel -> browser message to the view. */
  protected emit(event: string, ...args: unknown[]): void {
    for (const cb of [...(this.handlers.get(event) ?? [])]) cb(...args);
  }

  protected deliver(m: WireMsg): void {
    this.emit("msg:custom", m.content, m.buffers);
  }

  /** Number of handlers of an event (tests). */
  listeners(event: string): number {
    return this.handlers.get(event)?.size ?? 0;
  }

  protected abstract saved(names: string[]): void;
  protected abstract received(content: Record<string, unknown>): void;

  protected focusSeq = 0;

  /** Answer the search box's `complete` request from `GET /views/complete` (labels of every
   * token; the grid shows them all). */
  protected complete(t: Transport, c: Record<string, unknown>, live: () => boolean): void {
    const prefix = typeof c.prefix === "string" ? c.prefix.trim().slice(0, 200) : "";
    const seq = c.seq;
    if (!Number.isInteger(seq)) return;
    const limit = Math.max(1, Math.min(50, Number(c.limit) || 10));
    if (!prefix) {
      this.deliver({ content: { type: "completions", seq, prefix, items: [] }, buffers: [] });
      return;
    }
    t.json<{ items: unknown[] }>("GET", `/views/complete?prefix=${encodeURIComponent(prefix)}&limit=${limit}`)
      .then((r) => {
        if (live()) this.deliver({ content: { type: "completions", seq, prefix, items: r.items }, buffers: [] });
      })
      .catch((e) => this.onError(e));
  }
}

/** The grid's meta (`GET /views/grid`). */
export interface GridMeta {
  n: number;
  version: number;
  spaces: string[];
  space: string;
  axes: number[];
  view3d: boolean;
  color: string;
  color_options: string[];
  legend: unknown;
  bounds: number[][][];
  stride: number;
  placed: number[];
}

/** `GridExplorer`'s model over `/api/v1/views/grid...`. */
export class GridHttpModel extends TraitModel {
  private gen = 0;
  private ready = false;
  private ids: { version: number; ids: Uint32Array } | null = null;
  private closed = false;

  constructor(private t: Transport) {
    super();
    for (const [k, v] of Object.entries({ selection: new DataView(new ArrayBuffer(0)), focused: {}, loaded: 0, renderer: "", error: "" })) {
      this.traits.set(k, v);
    }
  }

  /** Fetch the meta (before mounting the view: it reads the traits when it starts). */
  async load(): Promise<void> {
    const color = this.traits.has("color") ? String(this.get("color")) : "entity";
    const m = await this.t.json<GridMeta>("GET", `/views/grid?color=${encodeURIComponent(color)}`);
    const first = !this.traits.has("version");
    const keep = !first && m.spaces.includes(String(this.get("space")));
    for (const [k, v] of Object.entries(m)) {
      if (k === "version") continue;
      if (!first && (k === "space" || k === "axes" || k === "view3d") && keep) continue;
      this.put(k, v);
    }
    if (this.get("version") !== m.version) {
      this.put("selection", new DataView(new ArrayBuffer(0)));
      this.put("version", m.version); // the view drops its data (change:version)
    }
  }

  /** Fetch the meta again; when the data changed, stream the new version. Returns whether it did. */
  async refresh(): Promise<boolean> {
    const before = this.get("version");
    await this.load();
    if (this.get("version") === before) return false;
    if (this.ready) this.stream();
    if (this.focusId !== null) this.focusOn(this.focusId, false);
    return true;
  }

  /** Stop background work (the page unmounts). */
  close(): void {
    this.closed = true;
    this.gen++;
  }

  private version(): number {
    return Number(this.get("version"));
  }

  private mainIsSmallMultiple(): boolean {
    const a = this.get("axes") as number[] | undefined;
    return !this.get("view3d") && Array.isArray(a) && a[0] === 0 && a[1] === 1;
  }

  /** All chunks of the current version in order (two requests in flight), then the main view's
   * chunks when needed, then the global labels. A newer stream or a new version stops it. */
  stream(): void {
    const gen = ++this.gen;
    void this.run(gen, async () => {
      const v = this.version();
      const s = Number(this.get("stride"));
      await this.inOrder(gen, s, (r) => `/views/grid/coords?version=${v}&chunk=${r}`);
      if (!this.mainIsSmallMultiple()) await this.streamMain(gen);
      if (gen !== this.gen) return;
      for (const m of decodeMsgs(await this.t.binary("GET", `/views/grid/labels?version=${v}`))) this.deliverIf(gen, m);
    });
  }

  private async streamMain(gen: number): Promise<void> {
    const v = this.version();
    const space = encodeURIComponent(String(this.get("space")));
    const axes = this.get("view3d") ? [0, 1, 2] : (this.get("axes") as number[]);
    await this.inOrder(
      gen,
      Number(this.get("stride")),
      (r) => `/views/grid/main?version=${v}&chunk=${r}&space=${space}&axes=${axes.join(",")}`,
    );
  }

  private async inOrder(gen: number, count: number, path: (r: number) => string): Promise<void> {
    let next: Promise<ArrayBuffer> | null = count > 0 ? this.t.binary("GET", path(0)) : null;
    for (let r = 0; r < count && next; r++) {
      const cur = next;
      next = r + 1 < count ? this.t.binary("GET", path(r + 1)) : null;
      const body = await cur.catch((e) => {
        next?.catch(() => {});
        throw e;
      });
      if (gen !== this.gen) {
        next?.catch(() => {});
        return;
      }
      for (const m of decodeMsgs(body)) this.deliverIf(gen, m);
    }
  }

  private deliverIf(gen: number, m: WireMsg): void {
    if (gen === this.gen && !this.closed) this.deliver(m);
  }

  /** Run background work; a 409 (the data changed under it) refreshes, other errors are reported. */
  private async run(gen: number, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (e) {
      if (this.closed || gen !== this.gen) return;
      if (statusOf(e) === 409) {
        this.refresh().catch((err) => this.onError(err));
      } else this.onError(e);
    }
  }

  protected saved(names: string[]): void {
    if (names.some((n) => n === "space" || n === "axes" || n === "view3d") && this.ready && !this.mainIsSmallMultiple()) {
      const gen = this.gen; // the main view's chunks join the current stream
      void this.run(gen, () => this.streamMain(gen));
    }
    if (names.includes("color")) this.refresh().catch((e) => this.onError(e)); // a new display order
  }

  protected received(c: Record<string, unknown>): void {
    const v = this.version();
    if (c.type === "ready") {
      this.ready = true;
      this.stream();
    } else if (c.type === "closed") {
      this.ready = false;
    } else if (c.type === "hover" && Number.isInteger(c.index)) {
      const gen = this.gen;
      void this.run(gen, async () => {
        const card = await this.t.json<Record<string, unknown>>("GET", `/views/grid/hover?version=${v}&index=${c.index}`);
        this.deliverIf(gen, { content: card, buffers: [] });
      });
    } else if (c.type === "viewport" && Array.isArray(c.box) && Array.isArray(c.axes) && c.version === v) {
      const gen = this.gen;
      const sp = this.spacesList()[Number(c.space)] ?? "";
      const q = `version=${v}&space=${encodeURIComponent(sp)}&axes=${(c.axes as number[]).join(",")}&box=${(c.box as number[]).map((x) => Math.round(x * 1000) / 1000).join(",")}&request=${Number(c.request) || 0}`;
      void this.run(gen, async () => {
        for (const m of decodeMsgs(await this.t.binary("GET", `/views/grid/labels?${q}`))) this.deliverIf(gen, m);
      });
    } else if (c.type === "complete") {
      this.complete(this.t, c, () => !this.closed);
    } else if (c.type === "focus" && (c.id === null || Number.isInteger(c.id))) {
      this.focusOn(c.id as number | null);
    }
  }

  private focusId: number | null = null;

  /** Focus token `id` (null clears); `move` pans the view to it (a new `seq`), else (the same
   * focus on new data) the indices follow without moving the view. */
  private focusOn(id: number | null, move = true): void {
    this.focusId = id;
    if (id === null) {
      this.put("focused", {});
      return;
    }
    const v = this.version();
    const gen = this.gen;
    void this.run(gen, async () => {
      const f = await this.t.json<Record<string, unknown>>("GET", `/views/grid/focus?version=${v}&id=${id}`);
      if (gen !== this.gen || this.closed || this.focusId !== id) return;
      this.put("focused", { ...f, seq: move ? ++this.focusSeq : this.focusSeq });
    });
  }

  private spacesList(): string[] {
    const s = this.get("spaces");
    return Array.isArray(s) ? (s as string[]) : [];
  }

  /** Token ids of the selection (the packed bitmask over the display order). */
  async selectedIds(): Promise<number[]> {
    const mask = maskBytes(this.get("selection"));
    if (!mask.length) return [];
    const v = this.version();
    if (!this.ids || this.ids.version !== v) {
      const b = await this.t.binary("GET", `/views/grid/ids?version=${v}`);
      this.ids = { version: v, ids: new Uint32Array(b) };
    }
    return idsOfMask(mask, this.ids.ids);
  }
}

/** The selection trait's bytes (a DataView, typed array or ArrayBuffer). */
export function maskBytes(v: unknown): Uint8Array {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return new Uint8Array(0);
}

/** Ids whose bit is set in a packed LSB-first mask over `ids`. */
export function idsOfMask(mask: Uint8Array, ids: Uint32Array): number[] {
  const out: number[] = [];
  const n = Math.min(ids.length, mask.length * 8);
  for (let i = 0; i < n; i++) if (mask[i >> 3] & (1 << (i & 7))) out.push(ids[i]);
  return out;
}

/** Where a graph view starts. */
export type GraphStart = { token: number } | { label: string } | { text: string };

/** `GraphExplorer`'s model over `POST /api/v1/views/graph`: every load (start, expand,
 * width change, refresh) fetches the nodes/edges/labels of a new version. */
export class GraphHttpModel extends TraitModel {
  private ready = false;
  private pending: WireMsg[] = [];
  private nodeIds = new Uint32Array(0);
  private degree = new Uint32Array(0);
  private ends: Uint32Array[] = [];
  private counter = 0;
  private closed = false;
  /** The `state` message of the last load (`reached`, `truncated`, ...). */
  state: Record<string, unknown> = {};

  constructor(
    private t: Transport,
    private start: GraphStart,
    private opts: { depth?: number; max_nodes?: number } = {},
  ) {
    super();
    for (const [k, v] of Object.entries({
      n_nodes: 0,
      n_edges: 0,
      legend: [],
      width_by: "strength",
      selected: [],
      color: "entity",
      sampled_from: 0,
      focused: {},
      loaded: 0,
      renderer: "",
      error: "",
      version: 0,
    })) {
      this.traits.set(k, v);
    }
  }

  /** Node ids in node order. */
  ids(): Uint32Array {
    return this.nodeIds;
  }

  close(): void {
    this.closed = true;
  }

  /** The first load (from `start`). */
  load(): Promise<void> {
    return this.fetch({ ...this.start, ...this.opts });
  }

  /** Load the nodes shown again (new data, new layout). */
  refresh(): Promise<void> {
    if (!this.nodeIds.length) return this.load();
    return this.fetch({ ids: [...this.nodeIds], expand: [] });
  }

  /** Add the neighbours of these nodes. */
  expand(ids: number[]): Promise<void> {
    return this.fetch({ ids: [...this.nodeIds], expand: ids });
  }

  private async fetch(body: Record<string, unknown>): Promise<void> {
    const version = ++this.counter;
    const msgs = decodeMsgs(await this.t.binary("POST", "/views/graph", { ...body, width_by: this.get("width_by"), version }));
    if (version !== this.counter || this.closed) return; // a newer load won
    const state = msgs.find((m) => m.content.type === "state");
    if (!state) throw new Error("views: the graph answer has no state message");
    this.state = state.content;
    const nodes = msgs.find((m) => m.content.type === "nodes");
    const edges = msgs.filter((m) => m.content.type === "edges");
    this.nodeIds = nodes ? new Uint32Array(nodes.buffers[1].slice().buffer) : new Uint32Array(0);
    this.degree = new Uint32Array(this.nodeIds.length);
    this.ends = edges.map((e) => new Uint32Array(e.buffers[0].slice().buffer));
    for (const ends of this.ends) for (const x of ends) if (x < this.degree.length) this.degree[x]++;
    const keep = new Set(this.nodeIds);
    this.put("n_nodes", Number(state.content.n_nodes));
    this.put("n_edges", Number(state.content.n_edges));
    this.put("legend", state.content.legend);
    const sel = (this.get("selected") as number[]).filter((i) => keep.has(i));
    if (sel.length !== (this.get("selected") as number[]).length) this.put("selected", sel);
    this.put("version", version);
    this.refocus();
    const out = [{ content: { type: "reset", version }, buffers: [] }, ...msgs.filter((m) => m.content.type !== "state")];
    if (this.ready) for (const m of out) this.deliver(m);
    else this.pending = out;
  }

  private focusIds: number[] = [];

  /** Focus token `id` (null clears): added with its neighbours when it is not shown. */
  async focus(id: number | null): Promise<void> {
    this.focusIds = id === null ? [] : [id];
    if (id !== null && !this.nodeIds.includes(id)) await this.expand([id]);
    this.refocus(true);
  }

  /** The `focused` trait for the current nodes: indices, and the nodes joined to them by an edge. */
  private refocus(move = false): void {
    if (!this.focusIds.length) {
      if (move) this.put("focused", {});
      return;
    }
    const at = new Map<number, number>();
    this.nodeIds.forEach((t, i) => {
      at.set(t, i);
    });
    const indices = this.focusIds.map((t) => at.get(t)).filter((i): i is number => i !== undefined);
    const mine = new Set(indices);
    const near = new Set<number>();
    for (const ends of this.ends) {
      for (let k = 0; k + 1 < ends.length; k += 2) {
        if (mine.has(ends[k]) && !mine.has(ends[k + 1])) near.add(ends[k + 1]);
        if (mine.has(ends[k + 1]) && !mine.has(ends[k])) near.add(ends[k]);
      }
    }
    const nearIdx = [...near];
    const prev = this.get("focused") as { seq?: number } | undefined;
    this.put("focused", {
      seq: move || !prev?.seq ? ++this.focusSeq : prev.seq,
      version: this.get("version"),
      ids: indices.map((i) => this.nodeIds[i]),
      indices,
      near_ids: nearIdx.map((i) => this.nodeIds[i]),
      near: nearIdx,
      label: "",
    });
  }

  protected saved(names: string[]): void {
    if (names.includes("color") && this.get("color") !== "entity") this.put("color", "entity");
    if (names.includes("width_by")) this.refresh().catch((e) => this.onError(e));
  }

  protected received(c: Record<string, unknown>): void {
    if (c.type === "ready") {
      this.ready = true;
      const p = this.pending;
      this.pending = [];
      for (const m of p) if (m.content.version === this.get("version")) this.deliver(m);
    } else if (c.type === "closed") {
      this.ready = false;
    } else if (c.type === "expand" && Number.isInteger(c.index)) {
      const id = this.nodeIds[Number(c.index)];
      if (id !== undefined) this.expand([id]).catch((e) => this.onError(e));
    } else if (c.type === "complete") {
      this.complete(this.t, c, () => !this.closed);
    } else if (c.type === "focus" && (c.id === null || Number.isInteger(c.id))) {
      this.focus(c.id as number | null).catch((e) => this.onError(e));
    } else if (c.type === "hover" && Number.isInteger(c.index)) {
      const index = Number(c.index);
      const id = this.nodeIds[index];
      if (id === undefined) return;
      const degree = this.degree[index] ?? 0;
      this.t
        .json<Record<string, unknown>>("GET", `/views/graph/hover?id=${id}`)
        .then((card) => {
          if (!this.closed) this.deliver({ content: { ...card, type: "hover", index, degree }, buffers: [] });
        })
        .catch((e) => this.onError(e));
    }
  }
}
