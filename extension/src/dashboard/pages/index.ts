// The page registry and the page contract. Each page's owner adds its import and one entry
// to `registered` (the nav order comes from ORDER, so where you add it does not matter).
import type { ApiOptions, ApiResponse } from "../api";
import type { Live } from "../live";
import type { Session } from "../session";
import admin from "./admin";
import bootstrap from "./bootstrap";
import cdna from "./cdna";
import graph from "./graph";
import grid from "./grid";
import logs from "./logs";
import overview from "./overview";
import tokens from "./tokens";

/** What a page gets from the shell. */
export interface PageCtx {
  api: <T = unknown>(method: string, path: string, opts?: ApiOptions) => Promise<ApiResponse<T>>;
  apiBinary: (path: string, init?: RequestInit) => Promise<ArrayBuffer>;
  live: Live;
  session: Session;
  /** The route's parameters (`#/<page>?k=v`). */
  params: URLSearchParams;
  /** Go to a page (replaces this one: its disposer runs). */
  navigate(id: string, params?: Record<string, string>): void;
  theme(): "light" | "dark";
  /** Called when the theme changes; returns an unsubscribe. */
  onTheme(fn: (t: "light" | "dark") => void): () => void;
  toast(msg: string, kind?: "info" | "error"): void;
}

/** A dashboard page: `mount` renders into `el` and returns the disposer (called on leave). */
export interface Page {
  id: string;
  title: string;
  adminOnly?: boolean;
  mount(el: HTMLElement, ctx: PageCtx): () => void;
}

/** Nav order; pages not listed go last. */
export const ORDER = ["overview", "tokens", "graph", "grid", "cdna", "logs", "bootstrap", "admin"];

const registered: Page[] = [overview, logs, admin, cdna, bootstrap, grid, graph, tokens];

const rank = (id: string): number => {
  const i = ORDER.indexOf(id);
  return i < 0 ? ORDER.length : i;
};

/** Every page, in nav order. */
export const pages: readonly Page[] = [...registered].sort((a, b) => rank(a.id) - rank(b.id));
