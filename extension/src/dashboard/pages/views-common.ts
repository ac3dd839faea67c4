// What the grid and graph pages share: the adapters' transport over the shell's API client,
// the selection hand-off to the tokens table, coalesced reloads.
import type { Transport } from "../http-model";
import type { PageCtx } from "./index";

/** sessionStorage key of the ids the tokens page shows (`#/tokens?selection=1`). */
export const SELECTION_KEY = "ng.dashboard.selection";
/** Most ids the tokens page takes in one selection. */
export const MAX_SELECTION = 100_000;

/** The adapters' transport over `ctx.api` / `ctx.apiBinary` (cookie auth, problem+json errors). */
export function transportOf(ctx: PageCtx): Transport {
  return {
    json: async <T>(method: "GET" | "POST", path: string, body?: unknown) =>
      (await ctx.api<T>(method, path, body === undefined ? {} : { body })).data,
    binary: (method: "GET" | "POST", path: string, body?: unknown) =>
      ctx.apiBinary(
        path,
        body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { "Content-Type": "application/json" } },
      ),
  };
}

/** Store the ids for the tokens page and go there; more than MAX_SELECTION are cut (with a toast). */
export function openInTable(ctx: PageCtx, ids: number[]): void {
  if (!ids.length) return;
  let keep = ids;
  if (ids.length > MAX_SELECTION) {
    keep = ids.slice(0, MAX_SELECTION);
    ctx.toast(`${ids.length.toLocaleString("en-US")} selected: the table opens the first ${MAX_SELECTION.toLocaleString("en-US")}`, "info");
  }
  sessionStorage.setItem(SELECTION_KEY, JSON.stringify(keep));
  ctx.navigate("tokens", { selection: "1" });
}

/** Coalesce a burst of calls: the first schedules `fn` after `ms`, the others join it (so a
 * stream of changes refreshes every `ms`, never starved); `cancel` drops a pending one. */
export function coalesce(fn: () => void, ms: number): { call: () => void; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return {
    call: () => {
      if (timer !== null) return;
      timer = setTimeout(() => {
        timer = null;
        fn();
      }, ms);
    },
    cancel: () => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}

/** A readable message of an error (an ApiError's detail, else its message). */
export function messageOf(e: unknown): string {
  const x = e as { detail?: string; message?: string } | null;
  return x?.detail ?? x?.message ?? String(e);
}
