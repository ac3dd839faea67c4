// GraphExplorer view (anywidget ESM entry): WebGL2 nodes + edges with zoom/pan, hover card,
// click selection and double-click expansion. `GraphView` is the controller: its mutable state is
// one `GraphState` object; the data lives in `GraphData`, messages are decoded by graph-protocol.ts.
import { newCanvas, webgl2OrFallback } from "./gl";
import { Graph2D } from "./graph-2d";
import { GraphData, nodeRadius } from "./graph-data";
import { edgeFade, type GraphFrame, type GraphRenderer, sampledNote } from "./graph-draw";
import { GraphGL } from "./graph-gl";
import { decodeGraphMsg, expandRequest, type GraphMsg, type GraphOut, hoverRequest, readyRequest } from "./graph-protocol";
import { type InputHost, StageInput } from "./input";
import { LabelLayer, projectPositions, visibleBox } from "./label-layer";
import { type Disposer, FrameLoop, type Model, num, setTrait, str } from "./model";
import { drawOverlay, titleBox } from "./overlay";
import { categorical, categoricalLut } from "./palette";
import { type Affine, fitPositions, IDENTITY_ZOOM, projectFloat, type Rect, type Zoom, zoomAt } from "./scale";
import { decodeCompletions, drawFocus, FocusTracker, parseFocus, SearchBox } from "./search";
import { parseRgb, readTheme, type Theme, watchTheme } from "./theme";
import { type Guard, h, labelled, mountView, neighbourList, placeCard, progress, type Shell, selectEl, setOptions, sizeCanvas } from "./ui";

const HEIGHT = 600;
const NODE_COLOR: Array<[string, string]> = [
  ["entity", "entity"],
  ["community", "community"],
];
const WIDTH_BY: Array<[string, string]> = [
  ["strength", "strength"],
  ["confidence", "confidence"],
];

/** Everything the view changes after it is set up. */
interface GraphState {
  theme: Theme;
  lut: Uint8Array;
  lutVer: number;
  zoom: Zoom;
  /** The drawing area in CSS px, and the device pixel ratio. */
  rect: Rect;
  dpr: number;
  renderer: GraphRenderer | null;
  glFailed: boolean;
  /** Node index under the pointer, or -1. */
  hover: number;
  selCount: number;
  /** Moved less than 200 ms ago: the renderer draws its cheap version. */
  active: boolean;
  activeTimer: number;
  /** Screen positions of the nodes (`tag` names the node version and transform). */
  proj: { tag: string; xy: Float32Array };
}

class GraphView {
  private readonly data = new GraphData();
  private readonly st: GraphState;
  private readonly overlay: HTMLCanvasElement;
  private readonly loop: FrameLoop;
  private readonly widthBy: HTMLSelectElement;
  private readonly nodeColor: HTMLSelectElement;
  private readonly search: SearchBox;
  private readonly focus: FocusTracker;
  /** Version of the `nodes` received last (a focus of another version waits for its nodes). */
  private nodesVersion = -1;
  private readonly labels: LabelLayer;

  constructor(
    private readonly model: Model,
    private readonly el: HTMLElement,
    private readonly d: Disposer,
    private readonly sh: Shell,
    private readonly g: Guard,
  ) {
    this.st = {
      theme: readTheme(el),
      lut: categoricalLut(),
      lutVer: 0,
      zoom: { ...IDENTITY_ZOOM },
      rect: { x: 0, y: 0, w: 800, h: HEIGHT },
      dpr: 1,
      renderer: null,
      glFailed: false,
      hover: -1,
      selCount: 0,
      active: false,
      activeTimer: 0,
      proj: { tag: "", xy: new Float32Array(0) },
    };
    this.overlay = h("canvas");
    this.overlay.style.zIndex = "1";
    sh.stage.append(this.overlay);
    this.labels = new LabelLayer(this.overlay, sh.root, (m) => this.send(m), g.wrap);
    d.add(() => {
      this.labels.dispose();
      this.st.renderer?.dispose();
      this.st.renderer = null;
      window.clearTimeout(this.st.activeTimer);
    });
    this.loop = new FrameLoop(
      g.wrap(() => this.draw()),
      d,
    );

    // toolbar
    this.widthBy = selectEl(
      WIDTH_BY,
      str(model.get("width_by"), "strength"),
      g.wrap((v: string) => {
        model.set("width_by", v);
        model.save_changes();
      }),
      d,
    );
    const fit = h("button", { title: "Fit the whole graph (or double-click empty space)" }, ["fit"]);
    d.listen(fit, "click", () => {
      this.st.zoom = { ...IDENTITY_ZOOM };
      this.loop.request();
    });
    this.nodeColor = selectEl(
      NODE_COLOR,
      str(model.get("color"), "entity"),
      g.wrap((v: string) => {
        model.set("color", v);
        model.save_changes();
      }),
      d,
    );
    this.search = new SearchBox((m) => model.send(m), d, g.wrap);
    this.focus = new FocusTracker(model);
    this.search.announce(parseFocus(model.get("focused")));
    sh.bar.append(this.search.el, labelled("colour", this.nodeColor), labelled("edge width", this.widthBy), fit, sh.count);

    new StageInput(sh.stage, this.inputHost(), d, g.wrap);
    this.listen();
  }

  /** Initial state and renderer, then ask the kernel for the data (drawn by the frame loop). */
  start(): void {
    this.sh.applyTheme(this.st.theme);
    this.legend();
    this.relayout();
    // choose the renderer now, not at the first frame: `renderer` is synced before `ready`
    this.g.wrap(() => this.ensureRenderer())();
    this.status();
    this.send(readyRequest());
  }

  private send(m: GraphOut): void {
    this.model.send(m);
  }

  private listen(): void {
    const { model, d, g, data, st } = this;
    const on = (ev: string, fn: () => void) => d.onModel(model, ev, g.wrap(fn));
    d.onModel(
      model,
      "msg:custom",
      g.wrap((c: unknown, b: unknown) => {
        const bufs = Array.isArray(b) ? b : [];
        const done = decodeCompletions(c, bufs, "GraphExplorer");
        if (done) this.search.onMsg(done);
        else this.onMsg(decodeGraphMsg(c, bufs));
      }),
    );
    on("change:selected", () => {
      st.selCount = data.setSelected(model.get("selected"));
      this.status();
      this.loop.request();
    });
    on("change:legend", () => this.legend());
    on("change:focused", () => {
      this.search.announce(parseFocus(model.get("focused")));
      this.loop.request();
    });
    on("change:width_by", () => setOptions(this.widthBy, WIDTH_BY, str(model.get("width_by"), "strength")));
    on("change:color", () => setOptions(this.nodeColor, NODE_COLOR, str(model.get("color"), "entity")));
    on("change:n_edges", () => this.status());
    on("change:sampled_from", () => this.loop.request());
    watchTheme(
      d,
      g.wrap(() => {
        st.theme = readTheme(this.el);
        this.sh.applyTheme(st.theme);
        st.lut = categoricalLut();
        st.lutVer++;
        this.loop.request();
      }),
    );
    if (typeof ResizeObserver !== "undefined") {
      const ro = new ResizeObserver(
        g.wrap(() => {
          if (Math.floor(this.sh.stage.clientWidth) !== st.rect.w) this.relayout();
        }),
      );
      ro.observe(this.sh.stage);
      d.add(() => ro.disconnect());
    }
  }

  private onMsg(m: GraphMsg): void {
    const { st, data, sh } = this;
    if (m.type === "hover") {
      if (m.index !== st.hover || st.hover < 0) return;
      sh.card.replaceChildren(h("b", {}, [m.label]), h("div", {}, [`id ${m.id} · degree ${m.degree}`]), neighbourList(m.neighbours));
      return;
    }
    if (m.version !== num(this.model.get("version"))) return; // stale
    switch (m.type) {
      case "labels":
        this.labels.onLabels(m, data.n);
        this.loop.request();
        return;
      case "nodes":
        this.labels.reset(); // the labels of this version follow the nodes
        data.setNodes(m);
        this.nodesVersion = m.version;
        data.clearEdges(num(this.model.get("n_edges")));
        st.selCount = data.setSelected(this.model.get("selected"));
        st.hover = -1;
        st.zoom = { ...IDENTITY_ZOOM };
        break;
      case "edges":
        data.addEdges(m);
        break;
      case "reset":
        return; // nothing to drop: the new version's `nodes` replace everything
      default: {
        const never: never = m;
        throw new Error(`unhandled graph message ${JSON.stringify(never)}`);
      }
    }
    this.status();
    this.loop.request();
  }

  private status(): void {
    const data = this.data;
    const total = num(this.model.get("n_edges"));
    const f = (v: number) => v.toLocaleString("en-US");
    this.sh.count.textContent = `${f(data.n)} nodes · ${f(data.received)} edges · ${f(this.st.selCount)} selected`;
    progress(this.sh, data.received, total);
    setTrait(this.model, "loaded", data.received);
  }

  private legend(): void {
    const l = this.model.get("legend");
    const items = Array.isArray(l) ? (l as Array<{ name?: string; color?: number }>) : [];
    this.sh.legend.replaceChildren(
      ...items.slice(0, 60).map((it) => {
        const sw = h("span", { class: "sw" });
        sw.style.background = categorical(num(it.color));
        return h("span", {}, [sw, String(it.name ?? "")]);
      }),
    );
  }

  private select(ids: number[]): void {
    this.model.set("selected", ids);
    this.model.save_changes();
    this.st.selCount = this.data.setSelected(ids);
    this.status();
    this.loop.request();
  }

  // -- view --

  private affine() {
    return fitPositions(this.data.pos, this.data.n, this.st.rect, this.st.zoom);
  }

  private projected(): Float32Array {
    const data = this.data;
    const a = this.affine();
    const tag = `${data.nodeVer}|${Array.from(a.m).join()}|${a.b.join()}`;
    let proj = this.st.proj;
    if (proj.tag !== tag) {
      if (proj.xy.length < 2 * data.n) proj = this.st.proj = { tag: "", xy: new Float32Array(2 * data.n) };
      projectFloat(data.pos, data.n, a, proj.xy);
      proj.tag = tag;
    }
    return proj.xy;
  }

  /** Node under (x, y): the nearest whose disc (plus 3 px) contains the point, or -1. */
  private pick(x: number, y: number): number {
    const data = this.data;
    const xy = this.projected();
    let best = -1,
      bestD = Infinity;
    for (let i = 0; i < data.n; i++) {
      const dx = xy[2 * i] - x,
        dy = xy[2 * i + 1] - y,
        r = nodeRadius(data.size[i]) + 3;
      const dd = dx * dx + dy * dy;
      if (dd <= r * r && dd < bestD) {
        bestD = dd;
        best = i;
      }
    }
    return best;
  }

  private moved(): void {
    const st = this.st;
    st.active = true;
    window.clearTimeout(st.activeTimer);
    st.activeTimer = window.setTimeout(() => {
      st.active = false;
      this.loop.request();
    }, 200);
    this.loop.request();
    // zoomed in: the best labels inside the view, once moves stop
    this.labels.moved(num(this.model.get("version")), () =>
      st.zoom.k > 1 ? ((b) => b && { box: b })(visibleBox(this.affine(), st.rect, -Infinity, Infinity)) : null,
    );
  }

  private relayout(): void {
    const st = this.st;
    const w = Math.max(240, Math.floor(this.sh.stage.clientWidth || this.el.clientWidth || 800));
    st.dpr = window.devicePixelRatio || 1;
    st.rect = { x: 0, y: 0, w, h: HEIGHT };
    this.sh.stage.style.height = `${HEIGHT}px`;
    sizeCanvas(this.overlay, w, HEIGHT, st.dpr);
    if (st.renderer) sizeCanvas(st.renderer.canvas, w, HEIGHT, st.dpr);
    this.loop.request();
  }

  /** WebGL2, or the canvas2d fallback once WebGL2 failed or its context was lost. */
  private ensureRenderer(): GraphRenderer {
    const { st, sh, d } = this;
    const want = st.glFailed ? "canvas2d" : "webgl2";
    if (st.renderer && st.renderer.kind === want) return st.renderer;
    st.renderer?.dispose();
    st.renderer = null;
    let renderer: GraphRenderer;
    if (want === "webgl2") {
      const onLost = () => {
        st.glFailed = true;
        this.loop.request();
      };
      const r = webgl2OrFallback<GraphRenderer>(
        sh.stage,
        this.overlay,
        d,
        (c, gl) => new GraphGL(c, gl),
        (c) => new Graph2D(c),
        onLost,
      );
      renderer = r.renderer;
      if (r.failed) st.glFailed = true;
    } else renderer = new Graph2D(newCanvas(sh.stage, this.overlay));
    st.renderer = renderer;
    sh.note(renderer.kind === "canvas2d" ? "WebGL unavailable: 2-D canvas fallback" : "");
    sizeCanvas(renderer.canvas, st.rect.w, st.rect.h, st.dpr);
    setTrait(this.model, "renderer", renderer.kind);
    return renderer;
  }

  private draw(): void {
    const { st, data } = this;
    const t0 = performance.now();
    const r = this.ensureRenderer();
    const panned = this.focus.pan(st.zoom, st.rect, (i) => this.nodePos(this.affine(), i));
    if (panned) st.zoom = panned;
    const a = this.affine();
    data.lines();
    const fade = edgeFade(data.lineLen, data.extent, a.m[0], a.m[4], a.b[0], a.b[1], st.rect.w, st.rect.h);
    const frame: GraphFrame = {
      width: st.rect.w,
      height: st.rect.h,
      dpr: st.dpr,
      data,
      affine: a,
      lut: st.lut,
      lutVer: st.lutVer,
      bg: parseRgb(st.theme.bg),
      ring: parseRgb(st.theme.bg),
      brand: parseRgb(st.theme.brand),
      lod: st.active,
      hasSel: st.selCount > 0,
      edgeFade: fade,
    };
    r.draw(frame);
    const hv = st.hover;
    const hover: [number, number] | null =
      hv >= 0 && hv < data.n ? [a.m[0] * data.pos[2 * hv] + a.b[0], a.m[4] * data.pos[2 * hv + 1] + a.b[1]] : null;
    const note = data.n === 0 ? "loading…" : "";
    const title = sampledNote(data.n, num(this.model.get("sampled_from")));
    this.el.dataset.note = title;
    this.el.dataset.edgeFade = fade.toFixed(3);
    const labels = this.labels.place(
      st.theme,
      st.rect,
      st.zoom.k,
      (idx, x, y) => projectPositions(data.pos, data.n, a, idx, x, y),
      title ? [titleBox(st.rect, title, st.theme)] : [],
      { linear: `${data.nodeVer}|${a.m.join()}`, moving: st.active },
    );
    drawOverlay(this.overlay, st.dpr, st.theme, [{ rect: st.rect, title, hover }], null, note, (ctx) =>
      this.labels.draw(ctx, st.theme, st.dpr, labels, st.active),
    );
    if (this.labels.pending) this.loop.request(); // labels whose sprites are not made yet
    const f = this.focus.current();
    const at = (idx: number[]) => idx.map((i) => this.nodePos(a, i)).filter((p): p is [number, number] => p !== null);
    const focus = f ? at(f.indices) : [];
    const near = f ? at(f.near) : [];
    if (f) drawFocus(this.overlay, st.dpr, st.theme, focus, near, f.label, st.rect);
    this.focus.publish(this.sh.stage, f, focus[0] ?? null, st.rect, near.length);
    this.el.dispatchEvent(
      new CustomEvent("neurograph-frame", {
        detail: { ms: performance.now() - t0, loaded: data.received, renderer: r.kind, edgeFade: fade, labels: labels.placed.length },
      }),
    );
  }

  /** Screen position of node i under the affine `a`, or null when there is no such node. */
  private nodePos(a: Affine, i: number): [number, number] | null {
    const data = this.data;
    if (i < 0 || i >= data.n || this.nodesVersion !== num(this.model.get("version"))) return null;
    return [a.m[0] * data.pos[2 * i] + a.b[0], a.m[4] * data.pos[2 * i + 1] + a.b[1]];
  }

  // -- input --

  private inputHost(): InputHost {
    const { st, data, sh, model } = this;
    return {
      viewAt: (x, y) => (x >= 0 && y >= 0 && x < st.rect.w && y < st.rect.h ? 0 : -1),
      dragKind: (_v, e) => (e.button === 0 || e.button === 1 ? "pan" : "none"),
      pan: (dx, dy) => {
        st.zoom = { ...st.zoom, tx: st.zoom.tx + dx, ty: st.zoom.ty + dy };
        this.moved();
      },
      rotate: () => {
        /* 2-D only */
      },
      zoom: (f, x, y) => {
        st.zoom = zoomAt(st.zoom, f, x, y, st.rect.w / 2, st.rect.h / 2);
        this.moved();
      },
      brushChanged: () => {
        /* no brush in the graph view */
      },
      brushEnd: () => {
        /* no brush */
      },
      click: (_v, x, y, e) => {
        const i = this.pick(x, y);
        if (i < 0) {
          if (st.selCount > 0) this.select([]);
          return;
        }
        const id = data.ids[i];
        const cur = Array.isArray(model.get("selected")) ? (model.get("selected") as unknown[]).map(Number) : [];
        if (e.shiftKey) this.select(cur.includes(id) ? cur.filter((v) => v !== id) : [...cur, id]);
        else this.select([id]);
      },
      dblclick: (_v, x, y) => {
        const i = this.pick(x, y);
        if (i >= 0) this.send(expandRequest(i));
        else {
          st.zoom = { ...IDENTITY_ZOOM };
          this.loop.request();
        }
      },
      hover: (x, y) => {
        const i = this.pick(x, y);
        if (i !== st.hover) {
          st.hover = i;
          this.loop.request();
          if (i >= 0) {
            this.send(hoverRequest(i));
            sh.card.replaceChildren(h("b", {}, [`node ${data.ids[i]}`]));
          }
        }
        if (st.hover >= 0) placeCard(sh, x, y);
        else sh.card.style.display = "none";
      },
      leave: () => {
        st.hover = -1;
        sh.card.style.display = "none";
        this.loop.request();
      },
      escape: () => {
        if (st.selCount > 0) this.select([]);
      },
      interacting: () => {
        /* nothing */
      },
    };
  }
}

const render = mountView((model, el, d, sh, g) => new GraphView(model, el, d, sh, g).start());

export default { render };
