// JupyterLab theme colours (CSS variables) with fallbacks for a page without JupyterLab.
import type { Disposer } from "./model";
import { hexToRgb } from "./palette";

export interface Theme {
  bg: string;
  bg1: string;
  fg0: string;
  fg1: string;
  fg2: string;
  border: string;
  brand: string;
  font: string;
  fontSize: string;
  dark: boolean;
}

function cssColorRgb(c: string): [number, number, number] {
  const m = c.match(/rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = c.trim();
  if (/^#[0-9a-f]{3,8}$/i.test(t)) return hexToRgb(t);
  const named = normalColor(t); // a colour name ("white": JupyterLab Light's --jp-layout-color0), hsl(), ...
  return named && named !== t ? cssColorRgb(named) : hexToRgb(t);
}

let probe: CanvasRenderingContext2D | null | undefined;

/** Any CSS colour as the browser writes it back ("#rrggbb" or "rgba(...)"); "" without a DOM. */
function normalColor(c: string): string {
  if (probe === undefined) {
    try {
      probe = typeof document !== "undefined" ? document.createElement("canvas").getContext("2d") : null;
    } catch {
      probe = null;
    }
  }
  if (!probe || !c) return "";
  probe.fillStyle = "#000000";
  probe.fillStyle = c;
  const out = String(probe.fillStyle);
  return out === "#000000" && !/^(black|#000|#000000)$/i.test(c) ? "" : out;
}

export function luminance(c: string): number {
  const [r, g, b] = cssColorRgb(c);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

export function parseRgb(c: string): [number, number, number] {
  return cssColorRgb(c);
}

export function readTheme(el: HTMLElement): Theme {
  const cs = getComputedStyle(el);
  const v = (name: string): string => cs.getPropertyValue(name).trim();
  const bodyLight = document.body?.getAttribute("data-jp-theme-light");
  const prefersDark =
    !v("--jp-layout-color0") &&
    bodyLight === null &&
    typeof matchMedia === "function" &&
    matchMedia("(prefers-color-scheme: dark)").matches;
  const darkGuess = bodyLight === "false" || prefersDark;
  const bg = v("--jp-layout-color0") || (darkGuess ? "#111111" : "#ffffff");
  const dark = luminance(bg) < 0.5;
  return {
    bg,
    bg1: v("--jp-layout-color1") || (dark ? "#1e1e1e" : "#f5f5f5"),
    fg0: v("--jp-ui-font-color0") || (dark ? "#ffffff" : "#000000"),
    fg1: v("--jp-ui-font-color1") || (dark ? "#e0e0e0" : "#212121"),
    fg2: v("--jp-ui-font-color2") || (dark ? "#a0a0a0" : "#616161"),
    border: v("--jp-border-color1") || (dark ? "#4a4a4a" : "#bdbdbd"),
    brand: v("--jp-brand-color1") || (dark ? "#42a5f5" : "#1976d2"),
    font: v("--jp-ui-font-family") || "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    fontSize: v("--jp-ui-font-size1") || "13px",
    dark,
  };
}

/** Call `cb` when JupyterLab switches theme (attribute change on <body>). */
export function watchTheme(d: Disposer, cb: () => void): void {
  if (typeof MutationObserver === "undefined" || !document.body) return;
  const mo = new MutationObserver(() => cb());
  mo.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });
  d.add(() => mo.disconnect());
}
