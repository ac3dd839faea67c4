// GridExplorer toolbar and legend (DOM only; state lives in grid.ts / the model).
import type { GridHoverMsg } from "./grid-protocol";
import { type Disposer, type Model, num, str } from "./model";
import { categorical, rgbCss, viridis } from "./palette";
import { h, labelled, neighbourList, type Shell, selectEl, setOptions } from "./ui";

export type Mode = "box" | "lasso" | "pan";

export interface GridBar {
  sync(): void;
  setMode(m: Mode): void;
  mode(): Mode;
  count(n: number, selected: number, loaded: number): void;
  legend(): void;
}

function spacesOf(model: Model): string[] {
  const s = model.get("spaces");
  return Array.isArray(s) ? s.map(String) : [];
}

export function axesOf(model: Model): number[] {
  const a = model.get("axes");
  return Array.isArray(a) && a.length >= 2 ? a.map((v) => num(v)) : [0, 1];
}

export function gridBar(
  model: Model,
  sh: Shell,
  d: Disposer,
  onChange: () => void,
  guard: <A extends unknown[]>(f: (...a: A) => void) => (...a: A) => void,
): GridBar {
  const save = (name: string, v: unknown) => {
    model.set(name, v);
    model.save_changes();
    onChange();
  };
  const axisOpts: Array<[string, string]> = [
    ["0", "axis 0"],
    ["1", "axis 1"],
    ["2", "axis 2"],
  ];
  const space = selectEl(
    [],
    "",
    guard((v: string) => save("space", v)),
    d,
  );
  const ax = selectEl(
    axisOpts,
    "0",
    guard((v: string) => save("axes", [Number(v), axesOf(model)[1]])),
    d,
  );
  const ay = selectEl(
    axisOpts,
    "1",
    guard((v: string) => save("axes", [axesOf(model)[0], Number(v)])),
    d,
  );
  const b3d = h("button", { title: "3-D view of the space's 3 axes (drag in pan mode to rotate)" }, ["3-D"]);
  d.listen(
    b3d,
    "click",
    guard(() => save("view3d", !model.get("view3d"))),
  );
  const color = selectEl(
    [],
    "",
    guard((v: string) => save("color", v)),
    d,
  );
  let mode: Mode = "box";
  const modeBtns = new Map<Mode, HTMLButtonElement>();
  const modes = h("span", { role: "group" });
  const tips: Record<Mode, string> = {
    box: "Box select (drag)",
    lasso: "Lasso select (or Shift/Alt + drag)",
    pan: "Pan / rotate (or middle button, or hold Space)",
  };
  for (const m of ["box", "lasso", "pan"] as Mode[]) {
    const b = h("button", { title: tips[m] }, [m]);
    d.listen(b, "click", () => bar.setMode(m));
    modeBtns.set(m, b);
    modes.append(b);
  }
  sh.bar.append(labelled("space", space), labelled("x", ax), labelled("y", ay), b3d, labelled("colour", color), modes, sh.count);

  const bar: GridBar = {
    sync() {
      const sp = spacesOf(model);
      setOptions(
        space,
        sp.map((s) => [s, s]),
        str(model.get("space"), sp[0] ?? ""),
      );
      const a = axesOf(model);
      ax.value = String(a[0]);
      ay.value = String(a[1]);
      const is3d = Boolean(model.get("view3d"));
      ax.disabled = is3d;
      ay.disabled = is3d;
      b3d.classList.toggle("on", is3d);
      const opts = model.get("color_options");
      const co = Array.isArray(opts) ? opts.map(String) : [];
      const cur = str(model.get("color"));
      if (cur && !co.includes(cur)) co.unshift(cur);
      setOptions(
        color,
        co.map((c) => [c, c]),
        cur,
      );
    },
    setMode(m: Mode) {
      mode = m;
      for (const [k, b] of modeBtns) b.classList.toggle("on", k === m);
    },
    mode: () => mode,
    count(n: number, selected: number, loaded: number) {
      const f = (v: number) => v.toLocaleString("en-US");
      const progress = loaded < n ? ` · loading ${Math.floor((100 * loaded) / Math.max(1, n))}%` : "";
      sh.count.textContent = `${f(n)} tokens · ${f(selected)} selected${progress}`;
    },
    legend() {
      const l = (model.get("legend") ?? {}) as {
        kind?: string;
        label?: string;
        min?: number;
        max?: number;
        items?: Array<{ name?: string; count?: number; color?: number }>;
      };
      if (l.kind === "numeric") {
        const stops = [0, 0.25, 0.5, 0.75, 1].map((t) => `${rgbCss(viridis(t))} ${t * 100}%`).join(",");
        const grad = h("span", { class: "ngx-grad" });
        grad.style.background = `linear-gradient(to right, ${stops})`;
        const fmt = (v: unknown) => (typeof v === "number" ? Number(v.toPrecision(4)).toString() : "");
        sh.legend.replaceChildren(h("span", {}, [`${l.label ?? str(model.get("color"))}: ${fmt(l.min)}`, grad, fmt(l.max)]));
        return;
      }
      const items = (l.items ?? []).slice(0, 60).map((it) => {
        const sw = h("span", { class: "sw" });
        sw.style.background = categorical(num(it.color));
        const c = typeof it.count === "number" ? ` (${it.count.toLocaleString("en-US")})` : "";
        return h("span", {}, [sw, `${it.name ?? ""}${c}`]);
      });
      sh.legend.replaceChildren(...items);
    },
  };
  bar.setMode("box");
  return bar;
}

/** Hover card from the kernel's reply: label, id, entity and the coordinates in all 8 spaces. */
export function fillCard(sh: Shell, m: GridHoverMsg, spaces: string[], current: number): void {
  const fmt = (v: number) => Number(v.toPrecision(4)).toString();
  const rows = m.coords.map((c, s) =>
    h("tr", {}, [h("td", {}, [(s === current ? "▸ " : "") + (spaces[s] ?? `space ${s}`)]), h("td", {}, [c ? c.map(fmt).join(", ") : ""])]),
  );
  sh.card.replaceChildren(
    h("b", {}, [m.label]),
    h("div", {}, [`id ${m.id}${m.entity ? ` · ${m.entity}` : ""}`]),
    h("table", {}, rows),
    neighbourList(m.neighbours),
  );
}
