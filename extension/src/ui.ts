// Small DOM helpers shared by both views: root layout, controls, error banner, hover card.
import { Disposer, type Model, type RenderProps } from "./model";
import { closedNotice } from "./protocol";
import type { Theme } from "./theme";

const CSS = `
.ngx-root{position:relative;box-sizing:border-box;width:100%;padding:4px 0;}
.ngx-bar{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:0 0 6px 0;}
.ngx-bar select,.ngx-bar button{font:inherit;padding:1px 6px;border-radius:3px;border:1px solid var(--ngx-border);background:var(--ngx-bg1);color:var(--ngx-fg1);cursor:pointer;}
.ngx-bar button.on{background:var(--ngx-brand);color:#fff;border-color:var(--ngx-brand);}
.ngx-bar label{display:inline-flex;gap:3px;align-items:center;color:var(--ngx-fg2);}
.ngx-count{margin-left:auto;color:var(--ngx-fg2);white-space:nowrap;}
.ngx-stage{position:relative;width:100%;overflow:hidden;border:1px solid var(--ngx-border);border-radius:3px;touch-action:none;outline:none;}
.ngx-stage canvas{position:absolute;left:0;top:0;display:block;}
.ngx-prog{height:3px;background:var(--ngx-border);margin:0 0 4px 0;}
.ngx-prog>div{height:100%;width:0;background:var(--ngx-brand);transition:width .2s;}
.ngx-legend{display:flex;flex-wrap:wrap;gap:4px 12px;margin-top:6px;color:var(--ngx-fg1);}
.ngx-legend span.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px;}
.ngx-grad{display:inline-block;width:140px;height:10px;border-radius:2px;vertical-align:-1px;margin:0 6px;}
.ngx-card{position:absolute;pointer-events:none;z-index:3;max-width:320px;padding:6px 8px;border-radius:4px;background:var(--ngx-bg1);color:var(--ngx-fg1);border:1px solid var(--ngx-border);box-shadow:0 2px 6px rgba(0,0,0,.25);display:none;white-space:nowrap;}
.ngx-card b{color:var(--ngx-fg0);}
.ngx-card table{border-collapse:collapse;margin-top:3px;font-size:90%;}
.ngx-card td{padding:0 6px 0 0;color:var(--ngx-fg2);}
.ngx-neigh{margin-top:4px;color:var(--ngx-fg2);}
.ngx-neigh td:first-child{color:var(--ngx-fg1);}
.ngx-note{position:absolute;right:6px;bottom:6px;z-index:2;padding:2px 6px;border-radius:3px;background:var(--ngx-bg1);color:var(--ngx-fg1);border:1px solid var(--ngx-border);}
.ngx-label{position:absolute;z-index:2;pointer-events:none;color:var(--ngx-fg2);font-size:90%;padding:1px 4px;white-space:nowrap;overflow:hidden;}
.ngx-error{display:none;margin-top:6px;padding:6px 8px;border:1px solid #d32f2f;border-radius:3px;background:rgba(211,47,47,.12);color:#d32f2f;white-space:pre-wrap;font-family:monospace;}
`;

type Attrs = Record<string, string>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  children: Array<Node | string> = [],
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

export interface Shell {
  root: HTMLDivElement;
  bar: HTMLDivElement;
  prog: HTMLDivElement;
  stage: HTMLDivElement;
  legend: HTMLDivElement;
  card: HTMLDivElement;
  error: HTMLDivElement;
  count: HTMLSpanElement;
  applyTheme(t: Theme): void;
  note(text: string): void;
}

/** Build the common skeleton inside `el`; removed again by the disposer. */
export function shell(el: HTMLElement, d: Disposer): Shell {
  const style = h("style", {}, [CSS]);
  const count = h("span", { class: "ngx-count" });
  const bar = h("div", { class: "ngx-bar" });
  const prog = h("div", { class: "ngx-prog" }, [h("div")]);
  const stage = h("div", { class: "ngx-stage", tabindex: "0" });
  const card = h("div", { class: "ngx-card" });
  stage.append(card);
  const legend = h("div", { class: "ngx-legend" });
  const error = h("div", { class: "ngx-error", role: "alert" });
  const root = h("div", { class: "ngx-root" }, [style, bar, prog, stage, legend, error]);
  el.append(root);
  d.add(() => root.remove());
  let noteEl: HTMLDivElement | null = null;
  return {
    root,
    bar,
    prog,
    stage,
    legend,
    card,
    error,
    count,
    applyTheme(t: Theme) {
      const s = root.style;
      s.setProperty("--ngx-bg", t.bg);
      s.setProperty("--ngx-bg1", t.bg1);
      s.setProperty("--ngx-fg0", t.fg0);
      s.setProperty("--ngx-fg1", t.fg1);
      s.setProperty("--ngx-fg2", t.fg2);
      s.setProperty("--ngx-border", t.border);
      s.setProperty("--ngx-brand", t.brand);
      s.fontFamily = t.font;
      s.fontSize = t.fontSize;
      s.color = t.fg1;
      stage.style.background = t.bg;
    },
    note(text: string) {
      if (!noteEl) {
        noteEl = h("div", { class: "ngx-note" });
        stage.append(noteEl);
      }
      noteEl.textContent = text;
      noteEl.style.display = text ? "block" : "none";
    },
  };
}

export function selectEl(options: Array<[string, string]>, value: string, onChange: (v: string) => void, d: Disposer): HTMLSelectElement {
  const s = h("select");
  setOptions(s, options, value);
  d.listen(s, "change", () => onChange(s.value));
  return s;
}

export function setOptions(s: HTMLSelectElement, options: Array<[string, string]>, value: string): void {
  const key = JSON.stringify(options);
  if (s.dataset.key !== key) {
    s.replaceChildren(...options.map(([v, label]) => h("option", { value: v }, [label])));
    s.dataset.key = key;
  }
  s.value = value;
}

export function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  return h("label", {}, [text, control]);
}

export function progress(sh: Shell, loaded: number, total: number): void {
  const done = total <= 0 || loaded >= total;
  sh.prog.style.visibility = done ? "hidden" : "visible";
  (sh.prog.firstChild as HTMLDivElement).style.width = `${total > 0 ? (100 * loaded) / total : 0}%`;
}

/** Run `fn`, turning any exception into a visible red message and the `error` traitlet. */
export function makeGuard(model: Model, sh: Shell) {
  const report = (e: unknown): void => {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    sh.error.textContent = `neurograph_lab widget error: ${msg}`;
    sh.error.style.display = "block";
    try {
      model.set("error", msg);
      model.save_changes();
    } catch {
      /* the model itself may be broken; the red text is still shown */
    }
    console.error("[neurograph_lab]", e);
  };
  return {
    report,
    wrap<A extends unknown[]>(fn: (...a: A) => void): (...a: A) => void {
      return (...a: A) => {
        try {
          fn(...a);
        } catch (e) {
          report(e);
        }
      };
    },
  };
}

/** A hover card's "top neighbours" block: label and connection strength of each (empty when none). */
export function neighbourList(neighbours: ReadonlyArray<{ id: number; label: string; strength: number }>): HTMLElement {
  if (!neighbours.length) return h("div");
  const rows = neighbours.map((nb) =>
    h("tr", {}, [h("td", {}, [nb.label || `#${nb.id}`]), h("td", {}, [Number(nb.strength.toPrecision(3)).toString()])]),
  );
  return h("div", { class: "ngx-neigh" }, [h("div", {}, ["top neighbours"]), h("table", {}, rows)]);
}

/** Place the hover card near (x, y) inside the stage, flipping to stay visible. */
export function placeCard(sh: Shell, x: number, y: number): void {
  const c = sh.card;
  c.style.display = "block";
  const W = sh.stage.clientWidth,
    H = sh.stage.clientHeight;
  const w = c.offsetWidth,
    hh = c.offsetHeight;
  c.style.left = `${x + 14 + w > W ? Math.max(0, x - 14 - w) : x + 14}px`;
  c.style.top = `${y + 14 + hh > H ? Math.max(0, y - 14 - hh) : y + 14}px`;
}

/** Keep a canvas at the stage width (CSS px) x height, sized in device pixels. */
export function sizeCanvas(c: HTMLCanvasElement, w: number, h: number, dpr: number): void {
  c.style.width = `${w}px`;
  c.style.height = `${h}px`;
  const W = Math.max(1, Math.round(w * dpr)),
    H = Math.max(1, Math.round(h * dpr));
  if (c.width !== W) c.width = W;
  if (c.height !== H) c.height = H;
}

export type Guard = ReturnType<typeof makeGuard>;

/**
 * The anywidget `render` of an explorer: the shell, an error guard around `setup`, and a
 * cleanup that undoes everything and tells the kernel the view is gone (it then closes an
 * explorer no variable holds, so re-running a display cell leaks nothing).
 */
export function mountView(
  setup: (model: Model, el: HTMLElement, d: Disposer, sh: Shell, g: Guard) => void,
): (props: RenderProps) => () => void {
  return ({ model, el }) => {
    const d = new Disposer();
    const sh = shell(el, d);
    const g = makeGuard(model, sh);
    try {
      setup(model, el, d, sh, g);
    } catch (e) {
      g.report(e);
    }
    return () => {
      d.dispose();
      try {
        model.send(closedNotice());
      } catch {
        /* the comm may already be closed */
      }
    };
  };
}
