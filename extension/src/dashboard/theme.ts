// Light/dark: follows `prefers-color-scheme` until the user picks one (kept in localStorage).
// Sets `:root[data-theme]` for the dashboard's CSS and `body[data-jp-theme-light]`, which the
// shared WebGL views (extension/src/theme.ts) watch to re-read the --jp-* variables.

export type ThemeName = "light" | "dark";
const KEY = "ng.dashboard.theme";

function stored(): ThemeName | null {
  try {
    const v = localStorage.getItem(KEY);
    return v === "light" || v === "dark" ? v : null;
  } catch {
    return null;
  }
}

function system(): ThemeName {
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export class ThemeCtl {
  private fns = new Set<(t: ThemeName) => void>();
  private cur: ThemeName = stored() ?? system();

  constructor() {
    this.apply();
    if (typeof matchMedia === "function") {
      matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
        if (!stored()) this.set(system(), false);
      });
    }
  }

  current(): ThemeName {
    return this.cur;
  }

  /** Switch theme; `persist` keeps the choice across visits. */
  set(t: ThemeName, persist = true): void {
    if (persist) {
      try {
        localStorage.setItem(KEY, t);
      } catch {
        /* private mode: the choice lasts this visit */
      }
    }
    if (t === this.cur) return;
    this.cur = t;
    this.apply();
    for (const fn of [...this.fns]) fn(t);
  }

  toggle(): void {
    this.set(this.cur === "dark" ? "light" : "dark");
  }

  on(fn: (t: ThemeName) => void): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }

  private apply(): void {
    document.documentElement.dataset.theme = this.cur;
    document.documentElement.style.colorScheme = this.cur;
    document.body?.setAttribute("data-jp-theme-light", String(this.cur === "light"));
  }
}
