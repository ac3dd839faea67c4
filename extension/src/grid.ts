// GridExplorer view (anywidget ESM entry): main view + 8 small multiples on one canvas.
// `GridView` is the controller: its mutable state is one `GridState` object; the data lives in
// `GridStore`, messages are decoded by grid-protocol.ts, drawing is done by a `GridRenderer`.

import { newCanvas, webgl2OrFallback } from "./gl";
import { Grid2D } from "./grid-2d";
import type { GridFrame, GridRenderer, ViewDraw } from "./grid-draw";
import { GridGL } from "./grid-gl";
import { decodeGridMsg, type GridHoverMsg, type GridMsg, type GridOut, hoverRequest, readyRequest } from "./grid-protocol";
import { GridStore, N_SPACES } from "./grid-store";
import { axesOf, fillCard, type GridBar, gridBar } from "./grid-ui";
import {
  emptyNote,
  type GridLayout,
  gridLayout,
  MAIN_H,
  type MainSource,
  mainSource,
  pointPos,
  projectView,
  type ViewParams,
  viewDraw,
} from "./grid-views";
import { type InputHost, StageInput } from "./input";
import { LabelLayer, projectQuantised, visibleBox } from "./label-layer";
import { LodCache } from "./lod";
import { type Disposer, FrameLoop, type Model, num, setTrait, str } from "./model";
import { drawOverlay, titleBox } from "./overlay";
import { categoricalLut, viridisLut } from "./palette";
import { nextDrawBudget } from "./progressive";
import { IDENTITY_ZOOM, inRect, type Range, type Zoom, zoomAt } from "./scale";
import { decodeCompletions, drawFocus, FocusTracker, parseFocus, SearchBox } from "./search";
import { nearestPoint, packMask, selectBox, selectLasso, toBytes } from "./selection";
import { parseRgb, readTheme, type Theme, watchTheme } from "./theme";
import { type Guard, h, mountView, placeCard, progress, type Shell, sizeCanvas } from "./ui";

const MAX_POINTS = 4_000_000; // past this: density view
const LOD_BUDGET = 30_000; // points drawn in the main view while it moves (start; adapts to the frame time, lod.ts)
const LOD_SEL_CAP = 20_000;
const DRAW_BUDGET = 100_000; // points drawn per frame at first (then adapts to the frame time: progressive.ts)

/** Everything the view changes after it is set up. */
interface GridState {
  theme: Theme;
  lut: Uint8Array;
  lutVer: number;
  /** Main view camera: 2-D zoom/pan, 3-D rotation (auto-rotating while `spin`). */
  zoom: Zoom;
  yaw: number;
  pitch: number;
  spin: boolean;
  lastSpin: number;
  /** Layout in CSS px: stage width, device pixel ratio, the main view and the 8 small views. */
  width: number;
  dpr: number;
  layout: GridLayout;
  renderer: GridRenderer | null;
  glFailed: boolean;
  dirtyMain: boolean;
  dirtySmall: boolean;
  /** Display index under the pointer, or -1. */
  hover: number;
  lastLoaded: number;
  /** Axes of the `main` chunks received last. */
  mainAxes: number[];
  /** Screen positions of the view projected last (`tag` names view, transform and n). */
  proj: { tag: string; xy: Float32Array };
  /** The main view moved less than 200 ms ago: draw the LOD sample. */
  active: boolean;
  lastMoving: number;
  /** Points the renderer may draw per frame (adapts to the frame time), and the last frame
   * that left points for later (progressive drawing). */
  budget: number;
  lastPending: number;
  timers: { save: number; active: number };
}

class GridView {
  private readonly store = new GridStore();
  private readonly lodCache = new LodCache(LOD_BUDGET, LOD_SEL_CAP);
  private readonly st: GridState;
  private readonly overlay: HTMLCanvasElement;
  private readonly loop: FrameLoop;
  private readonly continueDrawing: () => void;
  private overlayDue = true;
  private lastLabels = 0;
  private themeAttached = false;
  private readonly input: StageInput;
  private readonly bar: GridBar;
  private readonly search: SearchBox;
  private readonly focus: FocusTracker;
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
      yaw: 0.6,
      pitch: -0.35,
      spin: true,
      lastSpin: 0,
      width: 0,
      dpr: 1,
      layout: { main: { x: 0, y: 0, w: 1, h: MAIN_H }, small: [], height: MAIN_H },
      renderer: null,
      glFailed: false,
      dirtyMain: true,
      dirtySmall: true,
      hover: -1,
      lastLoaded: -1,
      mainAxes: [0, 1],
      proj: { tag: "", xy: new Float32Array(0) },
      active: false,
      lastMoving: 0,
      budget: DRAW_BUDGET,
      lastPending: 0,
      timers: { save: 0, active: 0 },
    };
    this.overlay = h("canvas");
    this.overlay.style.zIndex = "1";
    sh.stage.append(this.overlay);
    this.labels = new LabelLayer(this.overlay, sh.root, (m) => this.send(m), g.wrap);
    d.add(() => {
      this.labels.dispose();
      const t = this.st.timers;
      this.st.renderer?.dispose();
      this.st.renderer = null;
      window.clearTimeout(t.save);
      window.clearTimeout(t.active);
    });
    const draw = g.wrap(() => this.draw());
    // every request redraws the overlay too, except the frames that only continue progressive
    // drawing (`continueDrawing`): their overlay (titles, labels, rings) has not changed
    const loop = new FrameLoop(draw, d);
    const wake = loop.request.bind(loop);
    this.continueDrawing = wake;
    loop.request = () => {
      this.overlayDue = true;
      wake();
    };
    this.loop = loop;
    this.input = new StageInput(sh.stage, this.inputHost(), d, g.wrap);
    const resetZoom = () => {
      this.st.zoom = { ...IDENTITY_ZOOM };
      this.dirtyAll();
    };
    this.bar = gridBar(model, sh, d, resetZoom, g.wrap);
    this.search = new SearchBox((m) => model.send(m), d, g.wrap);
    sh.bar.prepend(this.search.el);
    this.focus = new FocusTracker(model);
    this.search.announce(parseFocus(model.get("focused")));
    this.listen();
  }

  /** Initial state and renderer, then ask the kernel for the data (drawn by the frame loop). */
  start(): void {
    this.resetData();
    this.store.setSelectionMask(toBytes(this.model.get("selection")));
    this.sh.applyTheme(this.st.theme);
    this.applyLegend();
    this.bar.sync();
    this.relayout();
    // choose the renderer now, not at the first frame: `renderer` is synced before `ready`
    this.g.wrap(() => this.ensureRenderer())();
    this.afterData();
    this.send(readyRequest());
  }

  private send(m: GridOut): void {
    this.model.send(m);
  }

  private listen(): void {
    const { model, d, g } = this;
    const on = (ev: string, fn: () => void) => d.onModel(model, ev, g.wrap(fn));
    d.onModel(
      model,
      "msg:custom",
      g.wrap((content: unknown, buffers: unknown) => {
        const bufs = Array.isArray(buffers) ? buffers : [];
        const c = decodeCompletions(content, bufs, "GridExplorer");
        if (c) this.search.onMsg(c);
        else this.onMsg(decodeGridMsg(content, bufs));
      }),
    );
    const resetData = () => this.resetData();
    on("change:n", resetData);
    on("change:stride", resetData);
    on("change:version", resetData);
    on("change:legend", () => {
      this.applyLegend();
      this.dirtyAll();
    });
    for (const ev of ["change:space", "change:axes", "change:view3d"]) {
      on(ev, () => {
        this.bar.sync();
        this.st.zoom = { ...IDENTITY_ZOOM };
        if (this.is3d()) this.st.spin = true;
        this.dirtyAll();
      });
    }
    for (const ev of ["change:color", "change:color_options", "change:spaces", "change:bounds", "change:placed"])
      on(ev, () => {
        this.bar.sync();
        this.dirtyAll();
      });
    on("change:focused", () => {
      this.search.announce(parseFocus(model.get("focused")));
      this.dirtyAll();
    });
    on("change:selection", () => {
      this.store.setSelectionMask(toBytes(model.get("selection")));
      this.selectionChanged(false);
    });

    watchTheme(
      d,
      g.wrap(() => {
        this.st.theme = readTheme(this.el);
        this.sh.applyTheme(this.st.theme);
        this.applyLegend();
        this.dirtyAll();
      }),
    );
    if (typeof ResizeObserver !== "undefined") {
      const ro = new ResizeObserver(
        g.wrap(() => {
          if (Math.floor(this.sh.stage.clientWidth) !== this.st.width) this.relayout();
        }),
      );
      ro.observe(this.sh.stage);
      d.add(() => ro.disconnect());
    }
  }

  // -- kernel messages --

  private onMsg(m: GridMsg): void {
    const store = this.store;
    if (m.type === "hover") {
      this.showCard(m);
      return;
    }
    if (m.version !== num(this.model.get("version"))) return; // stale
    switch (m.type) {
      case "reset":
        store.reset(num(this.model.get("n")), num(this.model.get("stride"), 1));
        this.labels.reset();
        this.st.hover = -1;
        break;
      case "labels":
        this.labels.onLabels(m, store.n);
        this.loop.request();
        return;
      case "coords":
        store.onCoords(m.chunk, m.stride, m.spaces);
        break;
      case "main": {
        const s = typeof m.space === "number" ? m.space : this.spaces().indexOf(m.space);
        const key = m.axes.length === 3 ? `${s}|3d` : `${s}|${m.axes[0]},${m.axes[1]}`;
        store.onMain(m.chunk, m.stride, key, m.axes.length, m.data);
        this.st.mainAxes = m.axes;
        break;
      }
      case "colors":
        store.onColors(m.chunk, m.stride, m.values);
        break;
      default: {
        const never: never = m;
        throw new Error(`unhandled grid message ${JSON.stringify(never)}`);
      }
    }
    this.afterData();
    this.dataDirty();
    // test and bench hook: a data message was placed (bench/bench_load_smooth.py times them)
    this.el.dispatchEvent(new CustomEvent("neurograph-data", { detail: { type: m.type, loaded: store.loaded() } }));
  }

  private showCard(m: GridHoverMsg): void {
    const hover = this.st.hover;
    if (m.index === hover && hover >= 0) fillCard(this.sh, m, this.spaces(), this.spaceIdx());
  }

  /** New chunks: drawn in the next frame, on top of what is drawn (the renderer draws only the
   * new points, a bounded number per frame: progressive.ts), so a chunk never costs all n points. */
  private dataDirty(): void {
    this.dirtyAll();
  }

  private afterData(): void {
    const loaded = this.store.loaded();
    if (loaded !== this.st.lastLoaded) {
      this.st.lastLoaded = loaded;
      setTrait(this.model, "loaded", loaded);
    }
    progress(this.sh, loaded, this.store.n);
    this.bar.count(this.store.n, this.store.selCount, loaded);
  }

  private resetData(): void {
    this.store.reset(num(this.model.get("n")), num(this.model.get("stride"), 1));
    this.labels.reset();
    this.applyLegend();
    this.afterData();
    this.dirtyAll();
  }

  private applyLegend(): void {
    const legend = this.model.get("legend");
    this.store.setLegend(legend);
    const numeric = (legend as { kind?: string } | null)?.kind === "numeric";
    this.st.lut = numeric ? viridisLut() : categoricalLut(this.st.theme.dark ? [120, 120, 120] : [160, 160, 160]);
    this.st.lutVer++;
    this.bar.legend();
  }

  // -- model helpers --

  private spaces(): string[] {
    const s = this.model.get("spaces");
    return Array.isArray(s) ? s.map(String) : [];
  }

  private spaceIdx(): number {
    return Math.max(0, this.spaces().indexOf(str(this.model.get("space"))));
  }

  private is3d(): boolean {
    return Boolean(this.model.get("view3d"));
  }

  private bound(s: number, a: number): Range {
    const b = this.model.get("bounds") as number[][][] | undefined;
    const r = b?.[s]?.[a];
    return Array.isArray(r) && r.length === 2 ? [Number(r[0]), Number(r[1])] : [0, 1];
  }

  private density(): boolean {
    return this.store.n > MAX_POINTS;
  }

  // -- views --

  private dirtyAll(): void {
    this.st.dirtyMain = true;
    this.st.dirtySmall = true;
    this.loop.request();
  }

  /** Main view interaction: draw the LOD sample until 200 ms after the last move. */
  private moved(): void {
    const st = this.st;
    st.active = true;
    st.dirtyMain = true;
    window.clearTimeout(st.timers.active);
    st.timers.active = window.setTimeout(() => {
      st.active = false;
      st.dirtyMain = true;
      this.loop.request();
    }, 200);
    this.loop.request();
    // zoomed in: the best labels inside the view, once moves stop (2-D main views only)
    this.labels.moved(num(this.model.get("version")), () => {
      const src = this.mainSource();
      const box = src.three ? null : visibleBox(this.viewDraw(0).affine, st.layout.main, 0, 255);
      return box && { space: src.s, axes: [src.axes[0], src.axes[1]], box };
    });
  }

  private mainSource(): MainSource {
    return mainSource(this.store, this.spaceIdx(), axesOf(this.model), this.is3d(), this.st.mainAxes);
  }

  private viewDraw(view: number): ViewDraw {
    const st = this.st;
    const p: ViewParams = {
      layout: st.layout,
      zoom: st.zoom,
      yaw: st.yaw,
      pitch: st.pitch,
      theme: st.theme,
      bound: (s, a) => this.bound(s, a),
      dense: this.density(),
    };
    return viewDraw(this.store, view, p, this.mainSource());
  }

  /** Screen positions of a view's points (cached for the last view/transform used). */
  private projected(v: ViewDraw): Float32Array {
    this.st.proj = projectView(v, this.store.n, this.st.proj);
    return this.st.proj.xy;
  }

  private hoverPos(v: ViewDraw): [number, number] | null {
    return pointPos(v, this.st.hover, this.store.n);
  }

  private relayout(): void {
    const st = this.st;
    st.width = Math.max(240, Math.floor(this.sh.stage.clientWidth || this.el.clientWidth || 800));
    st.dpr = window.devicePixelRatio || 1;
    st.layout = gridLayout(st.width);
    const height = st.layout.height;
    this.sh.stage.style.height = `${height}px`;
    sizeCanvas(this.overlay, st.width, height, st.dpr);
    if (st.renderer) {
      st.renderer.resize(st.width, height, st.dpr);
      sizeCanvas(st.renderer.canvas, st.width, height, st.dpr);
    }
    this.dirtyAll();
  }

  // -- drawing --

  /** The renderer for the current size and GPU state: WebGL2, else canvas2d; density past MAX_POINTS. */
  private ensureRenderer(): GridRenderer {
    const { st, sh, d } = this;
    const want = this.density() ? "density" : st.glFailed ? "canvas2d" : "webgl2";
    if (st.renderer && st.renderer.kind === want) return st.renderer;
    st.renderer?.dispose();
    st.renderer = null;
    let renderer: GridRenderer;
    if (want === "webgl2") {
      const onLost = () => {
        st.glFailed = true;
        this.dirtyAll();
      };
      const r = webgl2OrFallback<GridRenderer>(
        sh.stage,
        this.overlay,
        d,
        (c, gl) => new GridGL(c, gl),
        (c) => new Grid2D(c, "canvas2d"),
        onLost,
      );
      renderer = r.renderer;
      if (r.failed) st.glFailed = true;
    } else {
      renderer = new Grid2D(newCanvas(sh.stage, this.overlay), want);
    }
    st.renderer = renderer;
    sh.note(
      renderer.kind === "canvas2d"
        ? "WebGL unavailable: 2-D canvas fallback"
        : renderer.kind === "density"
          ? `density view: ${this.store.n.toLocaleString("en-US")} tokens (over 4,000,000)`
          : "",
    );
    renderer.resize(st.width, st.layout.height, st.dpr);
    sizeCanvas(renderer.canvas, st.width, st.layout.height, st.dpr);
    st.dirtyMain = st.dirtySmall = true;
    setTrait(this.model, "renderer", renderer.kind);
    return renderer;
  }

  private draw(): void {
    const { st, store } = this;
    const t0 = performance.now();
    // the theme read in the constructor may predate the element joining the page (the CSS
    // variables are not inherited yet, so the fallbacks were taken): read it again once attached
    if (!this.themeAttached && this.el.isConnected) {
      this.themeAttached = true;
      const t = readTheme(this.el);
      if (JSON.stringify(t) !== JSON.stringify(st.theme)) {
        st.theme = t;
        this.sh.applyTheme(t);
        this.applyLegend();
        st.dirtyMain = st.dirtySmall = true;
        this.overlayDue = true;
      }
    }
    const overlay = this.overlayDue;
    this.overlayDue = false;
    const r = this.ensureRenderer();
    const src = this.mainSource();
    const panned = this.focus.pan(st.zoom, st.layout.main, (i) => pointPos(this.viewDraw(0), i, store.n));
    if (panned) {
      st.zoom = panned;
      st.spin = false;
      st.dirtyMain = true;
    }
    if (src.three && st.spin && r.kind !== "density") {
      st.yaw += Math.min(50, st.lastSpin ? t0 - st.lastSpin : 16) * 0.0003;
      st.lastSpin = t0;
      st.dirtyMain = true;
      this.loop.request();
    } else st.lastSpin = 0;
    const views: ViewDraw[] = [];
    const moving = (st.active || (src.three && st.spin)) && r.kind !== "density";
    // frame-time feedback for the moving sample (consecutive moving frames only)
    if (moving && st.lastMoving > 0 && t0 - st.lastMoving < 250) this.lodCache.frameTime(t0 - st.lastMoving);
    st.lastMoving = moving ? t0 : 0;
    if (st.dirtyMain || st.dirtySmall) views.push(moving ? this.lodCache.view(this.viewDraw(0), store) : this.viewDraw(0));
    if (st.dirtySmall) for (let i = 1; i <= N_SPACES; i++) views.push(this.viewDraw(i));
    const full = st.dirtySmall;
    st.dirtyMain = st.dirtySmall = false;
    const bgRgb = parseRgb(st.theme.bg);
    const clear = full ? parseRgb(st.theme.bg1) : null;
    const frame: GridFrame = {
      clear,
      width: st.width,
      height: st.layout.height,
      dpr: st.dpr,
      n: store.n,
      views,
      colorIdx: store.colorIdx,
      colorVer: store.colorVer,
      colorGen: store.colorGen,
      colorChunks: store.colorChunks(),
      // a moving view (pan, spin) changes every frame: its LOD sample is drawn whole each time
      budget: moving ? Number.POSITIVE_INFINITY : st.budget,
      lut: st.lut,
      lutVer: st.lutVer,
      sel: store.sel,
      selVer: store.selVer,
      hasSel: store.selCount > 0,
      dim: bgRgb,
      brand: parseRgb(st.theme.brand),
    };
    // progressive drawing: points left for later frames keep the views in the next frame's list
    // (the renderer continues where it stopped); the frame interval tunes the budget
    const pending = views.length > 0 && r.draw(frame);
    if (pending) {
      if (st.lastPending > 0 && t0 - st.lastPending < 5000) st.budget = nextDrawBudget(st.budget, t0 - st.lastPending);
      st.lastPending = t0;
      st.dirtyMain = true;
      st.dirtySmall = full;
      this.continueDrawing();
    } else st.lastPending = 0;
    if (overlay) {
      const sp = this.spaces(),
        si = this.spaceIdx();
      const ax = src.three ? "3-D" : `axes ${axesOf(this.model).join(", ")}`;
      const placedCounts = this.model.get("placed");
      const main = this.viewDraw(0);
      const items = [{ rect: st.layout.main, title: `${sp[si] ?? ""} · ${ax}`, hover: this.hoverPos(main), note: "" }];
      // labels of the main view: from the full data (not the moving sample), bounded by the label set
      const labels = this.labels.place(
        st.theme,
        st.layout.main,
        st.zoom.k,
        (idx, x, y) => projectQuantised(main, store.n, idx, x, y),
        [titleBox(st.layout.main, items[0].title, st.theme)],
        { linear: `${main.key}|${main.ver}|${main.chunks}|${main.affine.m.join()}`, moving },
      );
      this.lastLabels = labels.placed.length;
      for (let i = 0; i < N_SPACES; i++) {
        items.push({
          rect: st.layout.small[i],
          title: (i === si ? "▸ " : "") + (sp[i] ?? `space ${i}`),
          hover: this.hoverPos(this.viewDraw(i + 1)),
          note: emptyNote(placedCounts, store.n, i, sp[i] ?? `space ${i}`),
        });
      }
      // the spaces drawn as "no token placed", for tests and assistive tools
      this.el.dataset.emptySpaces = items
        .slice(1)
        .flatMap((it, i) => (it.note ? [sp[i] ?? `space ${i}`] : []))
        .join(",");
      const loading = store.n > 0 && src.chunks === 0 ? (src.waiting ? "waiting for the main view's data…" : "loading…") : "";
      const note = loading || emptyNote(placedCounts, store.n, si, sp[si] ?? "");
      drawOverlay(this.overlay, st.dpr, st.theme, items, this.input.shape, note, (ctx) =>
        this.labels.draw(ctx, st.theme, st.dpr, labels, moving),
      );
      if (this.labels.pending) this.loop.request(); // labels whose sprites are not made yet
      this.drawFocus();
    }
    this.el.dispatchEvent(
      new CustomEvent("neurograph-frame", {
        detail: {
          ms: performance.now() - t0,
          loaded: store.loaded(),
          renderer: r.kind,
          points: views.length,
          pending,
          labels: this.lastLabels,
        },
      }),
    );
  }

  /** Rings around the focused tokens (all views) and their neighbourhood (main view). */
  private drawFocus(): void {
    const { st, store } = this;
    const f = this.focus.current();
    const at = (v: ViewDraw, idx: number[]) =>
      idx.map((i) => pointPos(v, i, store.n)).filter((p): p is [number, number] => p !== null && Number.isFinite(p[0]));
    const main = this.viewDraw(0);
    const focus = f ? at(main, f.indices) : [];
    const near = f ? at(main, f.near) : [];
    if (f) {
      drawFocus(this.overlay, st.dpr, st.theme, focus, near, f.label, st.layout.main);
      for (let s = 0; s < N_SPACES; s++)
        drawFocus(this.overlay, st.dpr, st.theme, at(this.viewDraw(s + 1), f.indices), [], "", st.layout.small[s]);
    }
    this.focus.publish(this.sh.stage, f, focus[0] ?? null, st.layout.main, near.length);
  }

  // -- selection and input --

  private selectionChanged(save: boolean): void {
    const store = this.store,
      t = this.st.timers;
    this.bar.count(store.n, store.selCount, store.loaded());
    this.dirtyAll();
    if (!save) return;
    window.clearTimeout(t.save);
    t.save = window.setTimeout(
      this.g.wrap(() => {
        const m = packMask(store.sel, store.n);
        this.model.set("selection", new DataView(m.buffer, m.byteOffset, m.byteLength));
        this.model.save_changes();
      }),
      150,
    );
  }

  private clearSelection(): void {
    if (this.store.selCount === 0) return;
    this.store.sel.fill(0);
    this.store.setSelectionFlags(0);
    this.selectionChanged(true);
  }

  private viewAt(x: number, y: number): number {
    if (inRect(this.st.layout.main, x, y)) return 0;
    const i = this.st.layout.small.findIndex((r) => inRect(r, x, y));
    return i < 0 ? -1 : i + 1;
  }

  private inputHost(): InputHost {
    const { st, store, sh } = this;
    return {
      viewAt: (x, y) => this.viewAt(x, y),
      dragKind: (view, e, spaceHeld) => {
        const panLike = e.button === 1 || this.bar.mode() === "pan" || spaceHeld;
        if (panLike) return view === 0 ? (this.is3d() && !this.density() ? "rotate" : "pan") : "none";
        if (e.button !== 0) return "none";
        return this.bar.mode() === "lasso" || e.altKey || e.shiftKey ? "lasso" : "brush";
      },
      pan: (dx, dy) => {
        st.zoom = { ...st.zoom, tx: st.zoom.tx + dx, ty: st.zoom.ty + dy };
        this.moved();
      },
      rotate: (dx, dy) => {
        st.spin = false;
        st.yaw += dx * 0.01;
        st.pitch = Math.max(-1.5, Math.min(1.5, st.pitch + dy * 0.01));
        this.moved();
      },
      zoom: (f, x, y) => {
        st.zoom = zoomAt(st.zoom, f, x, y, st.layout.main.x + st.layout.main.w / 2, st.layout.main.y + st.layout.main.h / 2);
        this.moved();
      },
      brushChanged: () => this.loop.request(),
      brushEnd: (view, s) => {
        const v = this.viewDraw(view);
        const xy = this.projected(v);
        const ld = { n: Math.min(store.n, v.data.length / v.comps), stride: v.stride, chunks: v.chunks };
        if (ld.n < store.n) store.sel.fill(0);
        const count = s.kind === "box" ? selectBox(xy, ld, s, store.sel) : selectLasso(xy, ld, s.poly, store.sel);
        store.setSelectionFlags(count);
        this.selectionChanged(true);
      },
      click: () => this.clearSelection(),
      dblclick: (view) => {
        if (view === 0) {
          st.zoom = { ...IDENTITY_ZOOM };
          st.dirtyMain = true;
          this.loop.request();
        }
      },
      hover: (x, y) => {
        const view = this.viewAt(x, y);
        let i = -1;
        if (view >= 0) {
          const v = this.viewDraw(view);
          if (v.chunks > 0 && v.data.length >= v.comps * store.n) {
            i = nearestPoint(this.projected(v), { n: store.n, stride: v.stride, chunks: v.chunks }, x, y, 10);
          }
        }
        if (i !== st.hover) {
          st.hover = i;
          this.loop.request();
          if (i >= 0) {
            this.send(hoverRequest(i));
            sh.card.replaceChildren(h("b", {}, [`#${i}`]));
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
      escape: () => this.clearSelection(),
      interacting: (on) => {
        if (on && this.input.brushView === 0 && st.spin) {
          st.spin = false;
          st.dirtyMain = true;
          this.loop.request();
        }
      },
    };
  }
}

const render = mountView((model, el, d, sh, g) => new GridView(model, el, d, sh, g).start());

export default { render };
