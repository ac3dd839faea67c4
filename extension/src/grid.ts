// GridExplorer view (anywidget ESM entry): main view + 8 small multiples on one canvas.
import { GridFrame, GridRenderer, ViewDraw, pointStyle } from "./grid-draw";
import { Grid2D } from "./grid-2d";
import { GridGL } from "./grid-gl";
import { GridStore, N_SPACES } from "./grid-store";
import { axesOf, fillCard, gridBar } from "./grid-ui";
import { getGL2, loseContext } from "./gl";
import { InputHost, StageInput } from "./input";
import { Disposer, FrameLoop, Message, Model, num, str } from "./model";
import { LodCache } from "./lod";
import { drawOverlay } from "./overlay";
import { categoricalLut, viridisLut } from "./palette";
import { Range, Rect, Zoom, IDENTITY_ZOOM, affine2d, affine3d, inRect, projectAll, rotation, zoomAt } from "./scale";
import { nearestPoint, packMask, selectBox, selectLasso, toBytes } from "./selection";
import { parseRgb, readTheme, watchTheme } from "./theme";
import { Guard, Shell, h, mountView, placeCard, progress, sizeCanvas } from "./ui";

const MAX_POINTS = 4_000_000; // past this: density view
const MAIN_H = 520;
const GAP = 6;
const LOD_BUDGET = 30_000;  // start; adapts to the frame time (lod.ts)  // points drawn in the main view while it moves
const LOD_SEL_CAP = 20_000;

const render = mountView(setup);


function setup(model: Model, el: HTMLElement, d: Disposer, sh: Shell, g: Guard): void {
  const store = new GridStore();
  let theme = readTheme(el);
  let lut = categoricalLut();
  let lutVer = 0;
  let zoom: Zoom = { ...IDENTITY_ZOOM };
  let yaw = 0.6, pitch = -0.35, spin = true, lastSpin = 0;
  let width = 0, dpr = 1;
  let main: Rect = { x: 0, y: 0, w: 1, h: MAIN_H };
  let small: Rect[] = [];
  let renderer: GridRenderer | null = null;
  let glFailed = false;
  let dirtyMain = true, dirtySmall = true;
  let hover = -1;
  let lastLoaded = -1;
  let saveTimer = 0;
  let proj = { tag: "", xy: new Float32Array(0) };
  let active = false, activeTimer = 0;
  let lastDataDraw = 0, dataTimer = 0, lastMoving = 0;
  const lodCache = new LodCache(LOD_BUDGET, LOD_SEL_CAP);
  const overlay = h("canvas");
  overlay.style.zIndex = "1";
  sh.stage.append(overlay);
  d.add(() => { renderer?.dispose(); renderer = null; window.clearTimeout(saveTimer); window.clearTimeout(activeTimer); window.clearTimeout(dataTimer); });

  /** Main view interaction: draw the LOD sample until 200 ms after the last move. */
  function moved(): void {
    active = true;
    dirtyMain = true;
    window.clearTimeout(activeTimer);
    activeTimer = window.setTimeout(() => { active = false; dirtyMain = true; loop.request(); }, 200);
    loop.request();
  }

  const lodView = (full: ViewDraw): ViewDraw => lodCache.view(full, store);

  const spaces = (): string[] => { const s = model.get("spaces"); return Array.isArray(s) ? s.map(String) : []; };
  const spaceIdx = (): number => Math.max(0, spaces().indexOf(str(model.get("space"))));
  const is3d = (): boolean => Boolean(model.get("view3d"));
  const bound = (s: number, a: number): Range => {
    const b = model.get("bounds") as number[][][] | undefined;
    const r = b?.[s]?.[a];
    return Array.isArray(r) && r.length === 2 ? [Number(r[0]), Number(r[1])] : [0, 1];
  };
  const density = (): boolean => store.n > MAX_POINTS;
  const dirtyAll = (): void => { dirtyMain = true; dirtySmall = true; loop.request(); };

  /** The main view's data: axes (0,1) of a space come from `coords`, anything else from `main`. */
  function mainSource() {
    const s = spaceIdx(), ax = axesOf(model), three = is3d();
    if (!three && ax[0] === 0 && ax[1] === 1) {
      return { data: store.spaces[s], comps: 2, chunks: store.coords.prefix, ver: store.spaceVer, key: `s${s}`, axes: [0, 1], s, three, waiting: false };
    }
    const want = three ? `${s}|3d` : `${s}|${ax[0]},${ax[1]}`;
    const ok = store.mainKey === want;
    return {
      data: ok ? store.main : new Uint8Array(0), comps: ok ? store.mainComps : 2, chunks: ok ? store.mainT.prefix : 0,
      ver: store.mainVer, key: "main", axes: ok ? mainAxes : ax, s, three, waiting: !ok,
    };
  }
  let mainAxes: number[] = [0, 1];

  function viewDraw(view: number): ViewDraw {
    const dense = density();
    if (view === 0) {
      const src = mainSource();
      const st = pointStyle(store.n, false);
      const a = src.axes;
      const affine = src.three && !dense && src.comps === 3
        ? affine3d(main, [bound(src.s, a[0]), bound(src.s, a[1]), bound(src.s, a[2])], rotation(yaw, pitch), zoom)
        : affine2d(main, bound(src.s, a[0]), bound(src.s, a[1]), zoom);
      return { rect: main, key: src.key, ver: src.ver, data: src.data, comps: src.comps, stride: store.stride, chunks: src.chunks, affine, size: st.size, alpha: st.alpha, bg: parseRgb(theme.bg) };
    }
    const s = view - 1;
    const st = pointStyle(store.n, true);
    return {
      rect: small[s], key: `s${s}`, ver: store.spaceVer, data: store.spaces[s], comps: 2, stride: store.stride,
      chunks: store.coords.prefix, affine: affine2d(small[s], bound(s, 0), bound(s, 1), IDENTITY_ZOOM, 4),
      size: st.size, alpha: st.alpha, bg: parseRgb(theme.bg1),
    };
  }

  /** Screen positions of a view's points (cached for the last view/transform used). */
  function projected(v: ViewDraw): Float32Array {
    const tag = `${v.key}|${v.ver}|${Array.from(v.affine.m).join()}|${v.affine.b.join()}|${store.n}`;
    if (proj.tag !== tag) {
      if (proj.xy.length < 2 * store.n) proj = { tag: "", xy: new Float32Array(2 * store.n) };
      projectAll(v.data, v.comps, Math.min(store.n, v.data.length / v.comps), v.affine, proj.xy);
      proj.tag = tag;
    }
    return proj.xy;
  }

  function setTrait(name: string, v: unknown): void {
    if (model.get(name) === v) return;
    model.set(name, v);
    model.save_changes();
  }

  function ensureRenderer(): GridRenderer {
    const want = density() ? "density" : glFailed ? "canvas2d" : "webgl2";
    if (renderer && renderer.kind === want) return renderer;
    renderer?.dispose();
    renderer = null;
    const canvas = h("canvas");
    sh.stage.insertBefore(canvas, overlay);
    if (want === "webgl2") {
      const gl = getGL2(canvas);
      if (gl) {
        try {
          renderer = new GridGL(canvas, gl);
          d.listen(canvas, "webglcontextlost", () => { glFailed = true; dirtyAll(); });
        } catch (e) {
          console.warn("[neurograph_lab] WebGL2 init failed", e);
          loseContext(gl);
        }
      }
      if (!renderer) {
        glFailed = true;
        canvas.remove();
        const c2 = h("canvas");
        sh.stage.insertBefore(c2, overlay);
        renderer = new Grid2D(c2, "canvas2d");
      }
    } else {
      renderer = new Grid2D(canvas, want);
    }
    sh.note(renderer.kind === "canvas2d" ? "WebGL unavailable: 2-D canvas fallback"
      : renderer.kind === "density" ? `density view: ${store.n.toLocaleString("en-US")} tokens (over 4,000,000)` : "");
    renderer.resize(width, layoutHeight(), dpr);
    sizeCanvas(renderer.canvas, width, layoutHeight(), dpr);
    dirtyMain = dirtySmall = true;
    setTrait("renderer", renderer.kind);
    return renderer;
  }

  let height = MAIN_H;
  const layoutHeight = () => height;
  function relayout(): void {
    width = Math.max(240, Math.floor(sh.stage.clientWidth || el.clientWidth || 800));
    dpr = window.devicePixelRatio || 1;
    const cols = width >= 720 ? 8 : 4;
    const size = Math.floor((width - GAP * (cols + 1)) / cols);
    main = { x: 0, y: 0, w: width, h: MAIN_H };
    small = [];
    for (let i = 0; i < N_SPACES; i++) {
      small.push({ x: GAP + (i % cols) * (size + GAP), y: MAIN_H + GAP + Math.floor(i / cols) * (size + GAP), w: size, h: size });
    }
    height = MAIN_H + GAP + (N_SPACES / cols) * (size + GAP);
    sh.stage.style.height = `${height}px`;
    sizeCanvas(overlay, width, height, dpr);
    if (renderer) { renderer.resize(width, height, dpr); sizeCanvas(renderer.canvas, width, height, dpr); }
    dirtyAll();
  }

  function hoverPos(v: ViewDraw): [number, number] | null {
    if (hover < 0 || hover >= store.n || hover % store.stride >= v.chunks || v.data.length < v.comps * store.n) return null;
    const out = projectAll(v.data.subarray(v.comps * hover, v.comps * hover + v.comps), v.comps, 1, v.affine, new Float32Array(2));
    return [out[0], out[1]];
  }

  function draw(): void {
    const t0 = performance.now();
    const r = ensureRenderer();
    const src = mainSource();
    if (src.three && spin && r.kind !== "density") {
      yaw += Math.min(50, lastSpin ? t0 - lastSpin : 16) * 0.0003;
      lastSpin = t0;
      dirtyMain = true;
      loop.request();
    } else lastSpin = 0;
    const views: ViewDraw[] = [];
    const moving = (active || (src.three && spin)) && r.kind !== "density";
    // frame-time feedback for the moving sample (consecutive moving frames only)
    if (moving && lastMoving > 0 && t0 - lastMoving < 250) lodCache.frameTime(t0 - lastMoving);
    lastMoving = moving ? t0 : 0;
    if (dirtyMain || dirtySmall) views.push(moving ? lodView(viewDraw(0)) : viewDraw(0));
    if (dirtySmall) for (let i = 1; i <= N_SPACES; i++) views.push(viewDraw(i));
    const full = dirtySmall;
    dirtyMain = dirtySmall = false;
    const bgRgb = parseRgb(theme.bg);
    const clear = full ? parseRgb(theme.bg1) : null;
    const frame: GridFrame = {
      clear,
      width, height, dpr, n: store.n, views, colorIdx: store.colorIdx, colorVer: store.colorVer, lut, lutVer,
      sel: store.sel, selVer: store.selVer, hasSel: store.selCount > 0, dim: bgRgb, brand: parseRgb(theme.brand),
    };
    if (views.length) r.draw(frame);
    const sp = spaces(), si = spaceIdx();
    const ax = src.three ? "3-D" : `axes ${axesOf(model).join(", ")}`;
    const items = [{ rect: main, title: `${sp[si] ?? ""} · ${ax}`, hover: hoverPos(viewDraw(0)) }];
    for (let i = 0; i < N_SPACES; i++) items.push({ rect: small[i], title: (i === si ? "▸ " : "") + (sp[i] ?? `space ${i}`), hover: hoverPos(viewDraw(i + 1)) });
    const note = store.n > 0 && src.chunks === 0 ? (src.waiting ? "waiting for the main view's data…" : "loading…") : "";
    drawOverlay(overlay, dpr, theme, items, input.shape, note);
    el.dispatchEvent(new CustomEvent("neurograph-frame", { detail: { ms: performance.now() - t0, loaded: store.loaded(), renderer: r.kind, points: views.length } }));
  }
  const loop = new FrameLoop(g.wrap(draw), d);

  function afterData(): void {
    const loaded = store.loaded();
    if (loaded !== lastLoaded) {
      lastLoaded = loaded;
      setTrait("loaded", loaded);
    }
    progress(sh, loaded, store.n);
    bar.count(store.n, store.selCount, loaded);
  }

  function selectionChanged(save: boolean): void {
    bar.count(store.n, store.selCount, store.loaded());
    dirtyAll();
    if (!save) return;
    window.clearTimeout(saveTimer);
    saveTimer = window.setTimeout(g.wrap(() => {
      const m = packMask(store.sel, store.n);
      model.set("selection", new DataView(m.buffer, m.byteOffset, m.byteLength));
      model.save_changes();
    }), 150);
  }

  function clearSelection(): void {
    if (store.selCount === 0) return;
    store.sel.fill(0);
    store.setSelectionFlags(0);
    selectionChanged(true);
  }

  const showCard = (m: Message): void => {
    if (num(m.index, -1) === hover && hover >= 0) fillCard(sh, m, spaces(), spaceIdx(), hover);
  };

  const host: InputHost = {
    viewAt(x, y) {
      if (inRect(main, x, y)) return 0;
      const i = small.findIndex((r) => inRect(r, x, y));
      return i < 0 ? -1 : i + 1;
    },
    dragKind(view, e, spaceHeld) {
      const panLike = e.button === 1 || bar.mode() === "pan" || spaceHeld;
      if (panLike) return view === 0 ? (is3d() && !density() ? "rotate" : "pan") : "none";
      if (e.button !== 0) return "none";
      return bar.mode() === "lasso" || e.altKey || e.shiftKey ? "lasso" : "brush";
    },
    pan(dx, dy) { zoom = { ...zoom, tx: zoom.tx + dx, ty: zoom.ty + dy }; moved(); },
    rotate(dx, dy) { spin = false; yaw += dx * 0.01; pitch = Math.max(-1.5, Math.min(1.5, pitch + dy * 0.01)); moved(); },
    zoom(f, x, y) { zoom = zoomAt(zoom, f, x, y, main.x + main.w / 2, main.y + main.h / 2); moved(); },
    brushChanged: () => loop.request(),
    brushEnd(view, s) {
      const v = viewDraw(view);
      const xy = projected(v);
      const ld = { n: Math.min(store.n, v.data.length / v.comps), stride: v.stride, chunks: v.chunks };
      if (ld.n < store.n) store.sel.fill(0);
      const count = s.kind === "box" ? selectBox(xy, ld, s, store.sel) : selectLasso(xy, ld, s.poly, store.sel);
      store.setSelectionFlags(count);
      selectionChanged(true);
    },
    click: () => clearSelection(),
    dblclick(view) { if (view === 0) { zoom = { ...IDENTITY_ZOOM }; dirtyMain = true; loop.request(); } },
    hover(x, y) {
      const view = host.viewAt(x, y);
      let i = -1;
      if (view >= 0) {
        const v = viewDraw(view);
        if (v.chunks > 0 && v.data.length >= v.comps * store.n) {
          i = nearestPoint(projected(v), { n: store.n, stride: v.stride, chunks: v.chunks }, x, y, 10);
        }
      }
      if (i !== hover) {
        hover = i;
        loop.request();
        if (i >= 0) {
          model.send({ type: "hover", index: i });
          sh.card.replaceChildren(h("b", {}, [`#${i}`]));
        }
      }
      if (hover >= 0) placeCard(sh, x, y);
      else sh.card.style.display = "none";
    },
    leave() { hover = -1; sh.card.style.display = "none"; loop.request(); },
    escape: () => clearSelection(),
    interacting(on) { if (on && input.brushView === 0 && spin) { spin = false; dirtyMain = true; loop.request(); } },
  };
  const input = new StageInput(sh.stage, host, d, g.wrap);

  function onMsg(m: Message, bufs: unknown[]): void {
    if (m.type === "hover") { showCard(m); return; }
    if (m.version !== undefined && num(m.version) !== num(model.get("version"))) return; // stale
    switch (m.type) {
      case "reset":
        store.reset(num(model.get("n")), num(model.get("stride"), 1));
        hover = -1;
        break;
      case "coords":
        store.onCoords(num(m.chunk), num(m.stride, store.stride), bufs);
        break;
      case "main": {
        const s = typeof m.space === "number" ? m.space : spaces().indexOf(str(m.space));
        const axes = Array.isArray(m.axes) ? m.axes.map((v) => num(v)) : [0, 1];
        if (bufs.length !== 1) throw new Error(`main: expected 1 buffer, got ${bufs.length}`);
        store.onMain(num(m.chunk), num(m.stride, store.stride), axes.length === 3 ? `${s}|3d` : `${s}|${axes[0]},${axes[1]}`, axes.length, bufs[0]);
        mainAxes = axes;
        break;
      }
      case "colors":
        if (bufs.length !== 1) throw new Error(`colors: expected 1 buffer, got ${bufs.length}`);
        store.onColors(num(m.chunk), num(m.stride, store.stride), bufs[0]);
        break;
      default:
        return;
    }
    afterData();
    dataDirty();
  }

  /** Redraw for new data at most every 250 ms while loading (the first chunk draws at once). */
  function dataDirty(): void {
    const now = performance.now();
    const wait = 250 - (now - lastDataDraw);
    if (wait <= 0 || store.loaded() >= store.n) {
      window.clearTimeout(dataTimer);
      dataTimer = 0;
      lastDataDraw = now;
      dirtyAll();
    } else if (!dataTimer) {
      dataTimer = window.setTimeout(() => { dataTimer = 0; lastDataDraw = performance.now(); dirtyAll(); }, wait);
    }
  }

  const bar = gridBar(model, sh, d, () => { zoom = { ...IDENTITY_ZOOM }; dirtyAll(); }, g.wrap);
  const applyLegend = (): void => {
    store.setLegend(model.get("legend"));
    const numeric = (model.get("legend") as { kind?: string } | null)?.kind === "numeric";
    lut = numeric ? viridisLut() : categoricalLut(theme.dark ? [120, 120, 120] : [160, 160, 160]);
    lutVer++;
    bar.legend();
  };
  const resetData = (): void => { store.reset(num(model.get("n")), num(model.get("stride"), 1)); applyLegend(); afterData(); dirtyAll(); };
  const on = (ev: string, fn: () => void) => d.onModel(model, ev, g.wrap(fn));
  d.onModel(model, "msg:custom", g.wrap((content: unknown, buffers: unknown) => onMsg((content ?? {}) as Message, Array.isArray(buffers) ? buffers : [])));
  on("change:n", resetData);
  on("change:stride", resetData);
  on("change:version", resetData);
  on("change:legend", () => { applyLegend(); dirtyAll(); });
  for (const ev of ["change:space", "change:axes", "change:view3d"]) {
    on(ev, () => { bar.sync(); zoom = { ...IDENTITY_ZOOM }; if (is3d()) spin = true; dirtyAll(); });
  }
  for (const ev of ["change:color", "change:color_options", "change:spaces", "change:bounds"]) on(ev, () => { bar.sync(); dirtyAll(); });
  on("change:selection", () => { store.setSelectionMask(toBytes(model.get("selection"))); selectionChanged(false); });

  const applyTheme = (): void => { theme = readTheme(el); sh.applyTheme(theme); applyLegend(); dirtyAll(); };
  watchTheme(d, g.wrap(applyTheme));
  if (typeof ResizeObserver !== "undefined") {
    const ro = new ResizeObserver(g.wrap(() => { if (Math.floor(sh.stage.clientWidth) !== width) relayout(); }));
    ro.observe(sh.stage);
    d.add(() => ro.disconnect());
  }

  resetData();
  store.setSelectionMask(toBytes(model.get("selection")));
  sh.applyTheme(theme);
  applyLegend();
  bar.sync();
  relayout();
  afterData();
  model.send({ type: "ready" });
}

export default { render };
