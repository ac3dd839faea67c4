// Hash routing for the dashboard: `#/<page>?k=v`. Pure functions, so they are unit-tested.

/** Where the hash points: a page id and its parameters. */
export interface Route {
  page: string;
  params: URLSearchParams;
}

const PAGE_ID = /^[a-z][a-z0-9-]{0,31}$/;

/** Parse `#/<page>?k=v` (a bad or empty page id gives `fallback`). */
export function parseHash(hash: string, fallback = "overview"): Route {
  let h = hash.startsWith("#") ? hash.slice(1) : hash;
  if (h.startsWith("/")) h = h.slice(1);
  const q = h.indexOf("?");
  const page = (q >= 0 ? h.slice(0, q) : h).trim();
  const params = new URLSearchParams(q >= 0 ? h.slice(q + 1) : "");
  return { page: PAGE_ID.test(page) ? page : fallback, params };
}

/** The hash for a page and its parameters (keys sorted, so equal routes give equal hashes). */
export function formatHash(page: string, params?: Record<string, string> | URLSearchParams): string {
  const entries = params instanceof URLSearchParams ? [...params.entries()] : Object.entries(params ?? {});
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const q = new URLSearchParams(entries).toString();
  return `#/${page}${q ? `?${q}` : ""}`;
}

/** The page to show: `want` when it is registered and allowed, otherwise the first allowed one. */
export function resolvePage<P extends { id: string; adminOnly?: boolean }>(pages: readonly P[], want: string, isAdmin: boolean): P | null {
  const allowed = pages.filter((p) => isAdmin || !p.adminOnly);
  return allowed.find((p) => p.id === want) ?? allowed[0] ?? null;
}
