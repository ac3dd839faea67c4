// The tokens page's pure parts: names, formats, the virtualized window, the selection
// hand-off from the grid page, coordinate parsing (tested in tests/dashboard-tokens.test.ts).

/** A token as the API answers it (`TokenOut`). */
export interface Token {
  id: number;
  weight: number;
  entity: string;
  label: string | null;
  timestamp: number;
  field_radius: number;
  field_strength: number;
  flags: string[];
  user_flags: number;
  domain: number;
  coords: Record<string, [number, number, number]>;
}

export interface TablePage {
  items: Token[];
  next: string | null;
  count: number;
}

export interface Connection {
  id: number;
  token_a: number;
  token_b: number;
  kind: string;
  strength: number;
  bidirectional: boolean;
}

export const SPACES = ["physical", "sensory", "motor", "emotional", "cognitive", "social", "temporal", "abstract"];
export const ENTITIES = [
  "undefined",
  "object",
  "event",
  "state",
  "process",
  "concept",
  "relation",
  "pattern",
  "rule",
  "goal",
  "memory",
  "sensor",
  "actuator",
  "controller",
  "buffer",
];

/** Row height in px (the virtualized list places rows by index). */
export const ROW_H = 30;
/** Rows per page fetched. */
export const PAGE = 200;
/** Rows drawn above and below the visible ones. */
export const OVERSCAN = 10;
/** Key of the selection handed over by the grid page. */
export const SELECTION_KEY = "ng.dashboard.selection";

export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(Math.round(v * 1e4) / 1e4);
}

export function fmtStamp(s: number): string {
  return new Date(s * 1000).toISOString().replace("T", " ").slice(0, 19);
}

/** The window of rows to draw for a scroll position: [first, last) clipped to `n`. */
export function visibleRange(scrollTop: number, height: number, n: number, rowH = ROW_H, overscan = OVERSCAN): [number, number] {
  const first = Math.max(0, Math.floor(scrollTop / rowH) - overscan);
  const last = Math.min(n, Math.ceil((scrollTop + height) / rowH) + overscan);
  return [first, Math.max(first, last)];
}

/** The selection the grid page stored, or null (at most 100,000 ids, integers only). */
export function readSelection(storage: Pick<Storage, "getItem">): number[] | null {
  try {
    const raw = storage.getItem(SELECTION_KEY);
    if (!raw) return null;
    const v: unknown = JSON.parse(raw);
    if (!Array.isArray(v)) return null;
    const ids = v.filter((x): x is number => Number.isInteger(x) && x > 0).slice(0, 100_000);
    return ids;
  } catch {
    return null;
  }
}

/** "x, y, z" -> [x, y, z]; "" -> null; anything else throws naming the space. */
export function parseXyz(space: string, text: string): [number, number, number] | null {
  if (!text.trim()) return null;
  const v = text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
  if (v.length !== 3 || v.some((x) => !Number.isFinite(x))) throw new Error(`${space}: give three numbers, e.g. 0.1, 0.2, 0.3`);
  return [v[0], v[1], v[2]];
}

/** A quoted string of the filter language (`'...'`, backslash and quote escaped). */
export function quote(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** The filter keeping tokens whose label starts with `prefix`. */
export function prefixFilter(prefix: string): string {
  return `label.str.startswith(${quote(prefix)})`;
}
