// GraphExplorer view (anywidget ESM entry): WebGL2 nodes + edges with zoom/pan, hover card,
// click selection and double-click expansion.
import { getGL2, loseContext } from "./gl";
import { Graph2D } from "./graph-2d";
import { GraphData, nodeRadius } from "./graph-data";
import { GraphFrame, GraphRenderer } from "./graph-draw";
import { GraphGL } from "./graph-gl";
import { InputHost, StageInput } from "./input";
import { Disposer, FrameLoop, Message, Model, num, str } from "./model";
import { drawOverlay } from "./overlay";
import { categorical, categoricalLut } from "./palette";
import { IDENTITY_ZOOM, Rect, Zoom, fitPositions, projectFloat, zoomAt } from "./scale";
import { parseRgb, readTheme, watchTheme } from "./theme";
import { Guard, Shell, h, labelled, mountView, placeCard, progress, selectEl, setOptions, sizeCanvas } from "./ui";

const HEIGHT = 600;

const render = mountView(setup);

function setup(model: Model, el: HTMLElement, d: Disposer, sh: Shell, g: Guard): void {
  const data = new GraphData();
  let theme = readTheme(el);
  let lut = categoricalLut(), lutVer = 0;
  let zoom: Zoom = { ...IDENTITY_ZOOM };
  let rect: Rect = { x: 0, y: 0, w: 800, h: HEIGHT };
  let dpr = 1;
  let renderer: GraphRenderer | null = null;
  let glFailed = false;
  let hover = -1;
  let selCount = 0;
  let active = false, activeTimer = 0;
  let proj = { tag: "", xy: new Float32Array(0) };
  const overlay = h("canvas");
  overlay.style.zIndex = "1";
  sh.stage.append(overlay);
  d.add(() => { renderer?.dispose(); renderer = null; window.clearTimeout(activeTimer); });

  const setTrait = (name: string, v: unknown): void => {
    if (model.get(name) === v) return;
    model.set(name, v);
    model.save_changes();
  };
  const affine = () => fitPositions(data.pos, data.n, rect, zoom);

  function projected(): Float32Array {
    const a = affine();
    const tag = `${data.nodeVer}|${Array.from(a.m).join()}|${a.b.join()}`;
    if (proj.tag !== tag) {
      if (proj.xy.length < 2 * data.n) proj = { tag: "", xy: new Float32Array(2 * data.n) };
      projectFloat(data.pos, data.n, a, proj.xy);
      proj.tag = tag;
    }
    return proj.xy;
  }

  /** Node under (x, y): the nearest whose disc (plus 3 px) contains the point, or -1. */
  function pick(x: number, y: number): number {
    const xy = projected();
    let best = -1, bestD = Infinity;
    for (let i = 0; i < data.n; i++) {
      const dx = xy[2 * i] - x, dy = xy[2 * i + 1] - y, r = nodeRadius(data.size[i]) + 3;
      const dd = dx * dx + dy * dy;
      if (dd <= r * r && dd < bestD) { bestD = dd; best = i; }
    }
    return best;
  }

  function ensureRenderer(): GraphRenderer {
    const want = glFailed ? "canvas2d" : "webgl2";
    if (renderer && renderer.kind === want) return renderer;
    renderer?.dispose();
    renderer = null;
    const canvas = h("canvas");
    sh.stage.insertBefore(canvas, overlay);
    if (want === "webgl2") {
      const gl = getGL2(canvas);
      if (gl) {
        try {
          renderer = new GraphGL(canvas, gl);
          d.listen(canvas, "webglcontextlost", () => { glFailed = true; loop.request(); });
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
        renderer = new Graph2D(c2);
      }
    } else renderer = new Graph2D(canvas);
    sh.note(renderer.kind === "canvas2d" ? "WebGL unavailable: 2-D canvas fallback" : "");
    sizeCanvas(renderer.canvas, rect.w, rect.h, dpr);
    setTrait("renderer", renderer.kind);
    return renderer;
  }

  function draw(): void {
    const t0 = performance.now();
    const r = ensureRenderer();
    const a = affine();
    const frame: GraphFrame = {
      width: rect.w, height: rect.h, dpr, data, affine: a, lut, lutVer, bg: parseRgb(theme.bg),
      ring: parseRgb(theme.bg), brand: parseRgb(theme.brand), lod: active, hasSel: selCount > 0,
    };
    r.draw(frame);
    let hv: [number, number] | null = null;
    if (hover >= 0 && hover < data.n) hv = [a.m[0] * data.pos[2 * hover] + a.b[0], a.m[4] * data.pos[2 * hover + 1] + a.b[1]];
    const note = data.n === 0 ? "loading…" : "";
    drawOverlay(overlay, dpr, theme, [{ rect, title: "", hover: hv }], null, note);
    el.dispatchEvent(new CustomEvent("neurograph-frame", { detail: { ms: performance.now() - t0, loaded: data.received, renderer: r.kind } }));
  }
  const loop = new FrameLoop(g.wrap(draw), d);

  function moved(): void {
    active = true;
    window.clearTimeout(activeTimer);
    activeTimer = window.setTimeout(() => { active = false; loop.request(); }, 200);
    loop.request();
  }

  // toolbar
  const widthBy = selectEl([["strength", "strength"], ["confidence", "confidence"]], str(model.get("width_by"), "strength"),
    g.wrap((v: string) => { model.set("width_by", v); model.save_changes(); }), d);
  const fit = h("button", { title: "Fit the whole graph (or double-click empty space)" }, ["fit"]);
  d.listen(fit, "click", () => { zoom = { ...IDENTITY_ZOOM }; loop.request(); });
  sh.bar.append(labelled("edge width", widthBy), fit, sh.count);

  function status(): void {
    const total = num(model.get("n_edges"));
    const f = (v: number) => v.toLocaleString("en-US");
    sh.count.textContent = `${f(data.n)} nodes · ${f(data.received)} edges · ${f(selCount)} selected`;
    progress(sh, data.received, total);
    setTrait("loaded", data.received);
  }

  function legend(): void {
    const l = model.get("legend");
    const items = Array.isArray(l) ? (l as Array<{ name?: string; color?: number }>) : [];
    sh.legend.replaceChildren(...items.slice(0, 60).map((it) => {
      const sw = h("span", { class: "sw" });
      sw.style.background = categorical(num(it.color));
      return h("span", {}, [sw, String(it.name ?? "")]);
    }));
  }

  function select(ids: number[]): void {
    model.set("selected", ids);
    model.save_changes();
    selCount = data.setSelected(ids);
    status();
    loop.request();
  }

  const host: InputHost = {
    viewAt: (x, y) => (x >= 0 && y >= 0 && x < rect.w && y < rect.h ? 0 : -1),
    dragKind: (_v, e) => (e.button === 0 || e.button === 1 ? "pan" : "none"),
    pan(dx, dy) { zoom = { ...zoom, tx: zoom.tx + dx, ty: zoom.ty + dy }; moved(); },
    rotate() { /* 2-D only */ },
    zoom(f, x, y) { zoom = zoomAt(zoom, f, x, y, rect.w / 2, rect.h / 2); moved(); },
    brushChanged() { /* no brush in the graph view */ },
    brushEnd() { /* no brush */ },
    click(_v, x, y, e) {
      const i = pick(x, y);
      if (i < 0) { if (selCount > 0) select([]); return; }
      const id = data.ids[i];
      const cur = Array.isArray(model.get("selected")) ? (model.get("selected") as unknown[]).map(Number) : [];
      if (e.shiftKey) select(cur.includes(id) ? cur.filter((v) => v !== id) : [...cur, id]);
      else select([id]);
    },
    dblclick(_v, x, y) {
      const i = pick(x, y);
      if (i >= 0) model.send({ type: "expand", index: i });
      else { zoom = { ...IDENTITY_ZOOM }; loop.request(); }
    },
    hover(x, y) {
      const i = pick(x, y);
      if (i !== hover) {
        hover = i;
        loop.request();
        if (i >= 0) {
          model.send({ type: "hover", index: i });
          sh.card.replaceChildren(h("b", {}, [`node ${data.ids[i]}`]));
        }
      }
      if (hover >= 0) placeCard(sh, x, y);
      else sh.card.style.display = "none";
    },
    leave() { hover = -1; sh.card.style.display = "none"; loop.request(); },
    escape() { if (selCount > 0) select([]); },
    interacting() { /* nothing */ },
  };
  new StageInput(sh.stage, host, d, g.wrap);

  function onMsg(m: Message, bufs: unknown[]): void {
    if (m.type === "hover") {
      if (num(m.index, -1) !== hover || hover < 0) return;
      sh.card.replaceChildren(h("b", {}, [str(m.label, `node ${String(m.id ?? "")}`)]),
        h("div", {}, [`id ${String(m.id ?? "")} · degree ${String(m.degree ?? "")}`]));
      return;
    }
    if (m.version !== undefined && num(m.version) !== num(model.get("version"))) return;
    if (m.type === "nodes") {
      data.setNodes(num(m.n), bufs);
      data.clearEdges(num(model.get("n_edges")));
      selCount = data.setSelected(model.get("selected"));
      hover = -1;
      zoom = { ...IDENTITY_ZOOM };
    } else if (m.type === "edges") {
      data.addEdges(num(m.offset), num(m.count), bufs);
    } else return;
    status();
    loop.request();
  }

  function relayout(): void {
    const w = Math.max(240, Math.floor(sh.stage.clientWidth || el.clientWidth || 800));
    dpr = window.devicePixelRatio || 1;
    rect = { x: 0, y: 0, w, h: HEIGHT };
    sh.stage.style.height = `${HEIGHT}px`;
    sizeCanvas(overlay, w, HEIGHT, dpr);
    if (renderer) sizeCanvas(renderer.canvas, w, HEIGHT, dpr);
    loop.request();
  }

  const on = (ev: string, fn: () => void) => d.onModel(model, ev, g.wrap(fn));
  d.onModel(model, "msg:custom", g.wrap((c: unknown, b: unknown) => onMsg((c ?? {}) as Message, Array.isArray(b) ? b : [])));
  on("change:selected", () => { selCount = data.setSelected(model.get("selected")); status(); loop.request(); });
  on("change:legend", legend);
  on("change:width_by", () => setOptions(widthBy, [["strength", "strength"], ["confidence", "confidence"]], str(model.get("width_by"), "strength")));
  on("change:n_edges", status);
  const applyTheme = (): void => { theme = readTheme(el); sh.applyTheme(theme); lut = categoricalLut(); lutVer++; loop.request(); };
  watchTheme(d, g.wrap(applyTheme));
  if (typeof ResizeObserver !== "undefined") {
    const ro = new ResizeObserver(g.wrap(() => { if (Math.floor(sh.stage.clientWidth) !== rect.w) relayout(); }));
    ro.observe(sh.stage);
    d.add(() => ro.disconnect());
  }
  sh.applyTheme(theme);
  legend();
  relayout();
  status();
  model.send({ type: "ready" });
}

export default { render };
