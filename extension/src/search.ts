// Search and focus, shared by both explorers (PROTOCOL.md, "Search and focus"): the search box
// (a text input with a completion list, answered by the kernel), the `focused` trait, the
// zoom that centres a focused token and fits its neighbourhood, and the focus rings drawn on
// the overlay. `SearchState` is the DOM-free part (tested in tests/search.test.ts).
import { type Disposer, type Model, num } from "./model";
import { type Fields, fieldsOf, ProtocolError } from "./protocol";
import type { Rect, Zoom } from "./scale";
import type { Theme } from "./theme";
import { h } from "./ui";

/** Completions asked per request, and the longest prefix sent. */
export const COMPLETIONS = 10;
export const MAX_PREFIX = 200;
/** Typing pauses this long before a completion request goes out. */
export const DEBOUNCE_MS = 120;

export interface Completion {
  label: string;
  id: number;
}

// -- messages --

/** Browser -> kernel: complete `prefix` (case-insensitive label prefix); `seq` is echoed back. */
export interface CompleteRequest {
  type: "complete";
  prefix: string;
  seq: number;
  limit: number;
}
/** Browser -> kernel: focus token `id` (null clears the focus). */
export interface FocusRequest {
  type: "focus";
  id: number | null;
}
/** Kernel -> browser: the answer to the complete request `seq`. */
export interface CompletionsMsg {
  type: "completions";
  seq: number;
  prefix: string;
  items: Completion[];
}

export const completeRequest = (prefix: string, seq: number, limit = COMPLETIONS): CompleteRequest => ({
  type: "complete",
  prefix: prefix.slice(0, MAX_PREFIX),
  seq,
  limit,
});
export const focusRequest = (id: number | null): FocusRequest => ({ type: "focus", id });

function items(f: Fields): Completion[] {
  const v = f.raw("items");
  const ok =
    Array.isArray(v) &&
    v.every(
      (it) =>
        typeof it === "object" &&
        it !== null &&
        typeof (it as Completion).label === "string" &&
        Number.isInteger((it as Completion).id) &&
        (it as Completion).id >= 0,
    );
  if (!ok) f.fail("items", "a list of {label: string, id: integer >= 0}", v);
  return (v as Completion[]).map((it) => ({ label: it.label, id: it.id }));
}

/** A `completions` message, decoded; null for any other message type (left to the widget's decoder). */
export function decodeCompletions(content: unknown, buffers: readonly unknown[], widget: string): CompletionsMsg | null {
  if (typeof content !== "object" || content === null || (content as { type?: unknown }).type !== "completions") return null;
  const f = fieldsOf(content, widget);
  if (buffers.length) throw new ProtocolError(`completions message: expected no buffers, got ${buffers.length}`);
  return { type: "completions", seq: f.int("seq"), prefix: f.str("prefix"), items: items(f) };
}

// -- the focused trait --

/** The `focused` trait: display indices of the focused tokens and of their neighbourhood. */
export interface Focus {
  seq: number;
  version: number;
  ids: number[];
  indices: number[];
  near: number[];
  label: string;
}

const intList = (v: unknown): number[] =>
  Array.isArray(v) ? v.filter((x): x is number => typeof x === "number" && Number.isInteger(x) && x >= 0) : [];

/** The `focused` trait as a Focus, or null when nothing is focused (`{}`) or it is malformed. */
export function parseFocus(v: unknown): Focus | null {
  if (typeof v !== "object" || v === null) return null;
  const o = v as Record<string, unknown>;
  if (!Number.isInteger(o.seq) || !Number.isInteger(o.version)) return null;
  return {
    seq: o.seq as number,
    version: o.version as number,
    ids: intList(o.ids),
    indices: intList(o.indices),
    near: intList(o.near),
    label: typeof o.label === "string" ? o.label : "",
  };
}

/**
 * The zoom that puts `focus` (screen px under `z`) at the centre of `rect` and fits `pts`
 * (the neighbourhood, screen px under `z`) into about 60% of it, zooming in at most to `kMax`
 * and never out past the whole view (k >= 1). Valid for any view whose screen position is
 * centre + t + k * u (the grid's 2-D and 3-D views, the graph view).
 */
export function focusZoom(z: Zoom, rect: Rect, focus: [number, number], pts: Array<[number, number]>, kMax = 40): Zoom {
  const cx = rect.x + rect.w / 2,
    cy = rect.y + rect.h / 2;
  const u = (p: [number, number]): [number, number] => [(p[0] - cx - z.tx) / z.k, (p[1] - cy - z.ty) / z.k];
  const f = u(focus);
  let ex = 0,
    ey = 0;
  for (const p of pts) {
    if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) continue;
    const q = u(p);
    ex = Math.max(ex, Math.abs(q[0] - f[0]));
    ey = Math.max(ey, Math.abs(q[1] - f[1]));
  }
  const fit = Math.min(ex > 0 ? (0.3 * rect.w) / ex : kMax, ey > 0 ? (0.3 * rect.h) / ey : kMax);
  const k = Math.max(1, Math.min(kMax, pts.length ? fit : Math.max(z.k, 4)));
  return { k, tx: -k * f[0], ty: -k * f[1] };
}

/** Focus rings on the overlay: the focused tokens (with the first one's label) and their neighbourhood. */
export function drawFocus(
  c: HTMLCanvasElement,
  dpr: number,
  theme: Theme,
  focus: Array<[number, number]>,
  near: Array<[number, number]>,
  label: string,
  clip: Rect,
): void {
  const ctx = c.getContext("2d");
  if (!ctx || (!focus.length && !near.length)) return;
  ctx.save();
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.beginPath();
  ctx.rect(clip.x, clip.y, clip.w, clip.h);
  ctx.clip();
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = theme.fg0;
  ctx.globalAlpha = 0.8;
  for (const [x, y] of near) {
    ctx.beginPath();
    ctx.arc(x, y, 5, 0, 2 * Math.PI);
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
  ctx.lineWidth = 2.5;
  ctx.strokeStyle = theme.brand;
  for (const [x, y] of focus) {
    ctx.beginPath();
    ctx.arc(x, y, 9, 0, 2 * Math.PI);
    ctx.stroke();
  }
  if (label && focus.length) {
    const [x, y] = focus[0];
    const px = parseFloat(theme.fontSize) || 13;
    ctx.font = `bold ${Math.round(px)}px ${theme.font}`;
    ctx.textBaseline = "middle";
    const w = ctx.measureText(label).width;
    ctx.fillStyle = theme.bg1;
    ctx.globalAlpha = 0.85;
    ctx.fillRect(x + 12, y - px * 0.75, w + 8, px * 1.5);
    ctx.globalAlpha = 1;
    ctx.fillStyle = theme.fg0;
    ctx.fillText(label, x + 16, y);
  }
  ctx.restore();
}

// -- the search box --

export type KeyAction =
  | { kind: "none" }
  | { kind: "move" }
  | { kind: "choose"; item: Completion }
  | { kind: "close" }
  | { kind: "clear" }
  /** Enter before the answer to the text typed: it chooses once the answer is here (`answered`). */
  | { kind: "wait" };

/** What the search box shows and does, without the DOM: text, completions, the active one. */
export class SearchState {
  text = "";
  items: Completion[] = [];
  active = -1;
  open = false;
  /** Number of the last request sent; only its answer is shown. */
  seq = 0;
  /** The answer to request `seq` has not arrived yet. */
  waiting = false;
  private enterQueued = false;

  /** The text changed: the request to send (after the debounce), or null when empty. */
  input(text: string): CompleteRequest | null {
    this.text = text;
    const prefix = text.trim();
    this.seq++;
    this.enterQueued = false;
    this.waiting = prefix.length > 0;
    if (!prefix) {
      this.close();
      this.items = [];
      return null;
    }
    return completeRequest(prefix, this.seq);
  }

  /** A kernel answer; false (ignored) unless it answers the last request. */
  receive(m: CompletionsMsg): boolean {
    if (m.seq !== this.seq) return false;
    this.waiting = false;
    this.items = m.items.slice(0, COMPLETIONS);
    this.open = this.items.length > 0;
    this.active = this.open ? 0 : -1;
    return true;
  }

  /** After an accepted answer: an Enter pressed while waiting for it now chooses. */
  answered(): KeyAction {
    if (!this.enterQueued || this.waiting) return { kind: "none" };
    this.enterQueued = false;
    return this.key("Enter");
  }

  close(): void {
    this.open = false;
    this.active = -1;
  }

  /** Choose completion i: the text becomes its label and the list closes. */
  choose(i: number): Completion | null {
    const it = this.items[i];
    if (!it) return null;
    this.text = it.label;
    this.close();
    return it;
  }

  /** Keyboard: arrows move through the list, Enter chooses, Escape closes (a second clears). */
  key(key: string): KeyAction {
    const n = this.items.length;
    switch (key) {
      case "ArrowDown":
      case "ArrowUp":
        if (!n) return { kind: "none" };
        if (!this.open) {
          this.open = true;
          this.active = key === "ArrowDown" ? 0 : n - 1;
        } else this.active = (this.active + (key === "ArrowDown" ? 1 : n - 1) + n) % n;
        return { kind: "move" };
      case "Enter": {
        if (this.waiting) {
          this.enterQueued = true;
          return { kind: "wait" };
        }
        const exact = this.items.findIndex((it) => it.label.toLowerCase() === this.text.trim().toLowerCase());
        const i = this.open && this.active >= 0 ? this.active : exact >= 0 ? exact : n > 0 && this.open ? 0 : -1;
        const it = this.choose(i);
        return it ? { kind: "choose", item: it } : { kind: "none" };
      }
      case "Escape":
        if (this.open) {
          this.close();
          return { kind: "close" };
        }
        this.text = "";
        this.items = [];
        this.seq++;
        this.waiting = this.enterQueued = false;
        return { kind: "clear" };
      default:
        return { kind: "none" };
    }
  }
}

const CSS = `
.ngx-search{position:relative;display:inline-flex;align-items:center;}
.ngx-search input{font:inherit;width:11em;padding:1px 6px;border-radius:3px;border:1px solid var(--ngx-border);background:var(--ngx-bg1);color:var(--ngx-fg1);}
.ngx-search input:focus{outline:2px solid var(--ngx-brand);outline-offset:-1px;}
.ngx-search input::placeholder{color:var(--ngx-fg2);}
.ngx-search ul{position:absolute;left:0;top:100%;z-index:5;min-width:100%;max-height:260px;overflow:auto;margin:2px 0 0 0;padding:2px 0;list-style:none;background:var(--ngx-bg1);color:var(--ngx-fg1);border:1px solid var(--ngx-border);border-radius:3px;box-shadow:0 2px 6px rgba(0,0,0,.25);}
.ngx-search li{padding:2px 8px;cursor:pointer;white-space:nowrap;}
.ngx-search li[aria-selected="true"]{background:var(--ngx-brand);color:#fff;}
.ngx-search li small{opacity:.7;margin-left:8px;}
.ngx-search .ngx-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;}
`;

let boxes = 0;

/**
 * The search box in an explorer's toolbar: typing sends a debounced `complete` request, the
 * answer fills the list (arrows, Enter, Escape, mouse), choosing sends `focus`.
 */
export class SearchBox {
  readonly el: HTMLSpanElement;
  readonly input: HTMLInputElement;
  private readonly list: HTMLUListElement;
  private readonly status: HTMLSpanElement;
  private readonly st = new SearchState();
  private timer = 0;

  constructor(
    private readonly send: (m: CompleteRequest | FocusRequest) => void,
    d: Disposer,
    wrap: <A extends unknown[]>(f: (...a: A) => void) => (...a: A) => void,
  ) {
    const listId = `ngx-search-list-${++boxes}`;
    this.input = h("input", {
      type: "search",
      placeholder: "search a label…",
      "aria-label": "search token labels",
      role: "combobox",
      "aria-autocomplete": "list",
      "aria-expanded": "false",
      "aria-controls": listId,
      autocomplete: "off",
      spellcheck: "false",
      "data-lm-suppress-shortcuts": "true",
    });
    this.list = h("ul", { id: listId, role: "listbox", "aria-label": "matching labels" });
    this.list.hidden = true;
    // announced to screen readers when the focus changes
    this.status = h("span", { class: "ngx-sr", role: "status", "aria-live": "polite" });
    this.el = h("span", { class: "ngx-search" }, [h("style", {}, [CSS]), this.input, this.list, this.status]);
    d.add(() => window.clearTimeout(this.timer));
    d.listen(
      this.input,
      "input",
      wrap(() => this.typed()),
    );
    d.listen(
      this.input,
      "keydown",
      wrap((e: KeyboardEvent) => this.keydown(e)),
    );
    // the notebook must not take these keys as its shortcuts (a, b, d d, m, y ...)
    for (const ev of ["keypress", "keyup"]) d.listen(this.input, ev, (e: Event) => e.stopPropagation());
    d.listen(
      this.input,
      "blur",
      wrap(() => {
        this.st.close();
        this.paint();
      }),
    );
    // mousedown (not click): it comes before the input's blur closes the list
    d.listen(
      this.list,
      "mousedown",
      wrap((e: MouseEvent) => {
        const li = (e.target as HTMLElement).closest("li");
        if (!li) return;
        e.preventDefault();
        this.chosen(this.st.choose(Number(li.dataset.i)));
      }),
    );
  }

  /** A kernel message: true if it was a completion answer (consumed). */
  onMsg(m: CompletionsMsg): void {
    if (!this.st.receive(m)) return;
    this.act(this.st.answered());
    this.paint();
  }

  /** Say what is focused now (the `focused` trait changed). */
  announce(f: Focus | null): void {
    const text = f?.ids.length
      ? `focused ${f.label || `token ${f.ids[0]}`}${f.ids.length > 1 ? ` and ${f.ids.length - 1} more` : ""}, ${f.near.length} neighbours ringed`
      : "";
    if (this.status.textContent !== text) this.status.textContent = text;
  }

  private typed(): void {
    const req = this.st.input(this.input.value);
    window.clearTimeout(this.timer);
    this.paint();
    if (req) this.timer = window.setTimeout(() => this.send(req), DEBOUNCE_MS);
  }

  private keydown(e: KeyboardEvent): void {
    e.stopPropagation();
    const a = this.st.key(e.key);
    if (a.kind === "none") return;
    e.preventDefault();
    this.act(a);
    this.paint();
  }

  private act(a: KeyAction): void {
    if (a.kind === "choose") this.chosen(a.item);
    else if (a.kind === "clear") {
      window.clearTimeout(this.timer);
      this.input.value = "";
      this.send(focusRequest(null));
    }
  }

  private chosen(it: Completion | null): void {
    if (!it) return;
    this.input.value = it.label;
    this.send(focusRequest(it.id));
    this.paint();
  }

  private paint(): void {
    const st = this.st;
    this.list.replaceChildren(
      ...st.items.map((it, i) =>
        h(
          "li",
          {
            role: "option",
            id: `${this.list.id}-${i}`,
            "data-i": String(i),
            "data-id": String(it.id),
            "aria-selected": String(i === st.active),
          },
          [it.label, h("small", {}, [`#${it.id}`])],
        ),
      ),
    );
    this.list.hidden = !st.open;
    this.input.setAttribute("aria-expanded", String(st.open));
    if (st.open && st.active >= 0) {
      this.input.setAttribute("aria-activedescendant", `${this.list.id}-${st.active}`);
      const li = this.list.children[st.active] as HTMLElement | undefined;
      li?.scrollIntoView?.({ block: "nearest" });
    } else this.input.removeAttribute("aria-activedescendant");
  }
}

/**
 * What a view does with the focus each frame: pan once per new focus (when the focused token's
 * data is there), and publish the focus on the stage for tests and assistive tools
 * (`data-focus-id`, `data-focus-x/y` its screen position, `data-focus-cx/cy` the view centre,
 * `data-focus-near` the highlighted neighbours' count).
 */
export class FocusTracker {
  private appliedSeq = -1;

  constructor(private readonly model: Model) {}

  current(): Focus | null {
    const f = parseFocus(this.model.get("focused"));
    return f && f.version === num(this.model.get("version")) ? f : null;
  }

  /** The new zoom if a focus is waiting to be panned to and its first token is drawn, else null. */
  pan(z: Zoom, rect: Rect, pos: (i: number) => [number, number] | null): Zoom | null {
    const f = this.current();
    if (!f || f.seq === this.appliedSeq || !f.indices.length) return null;
    const first = pos(f.indices[0]);
    if (!first) return null;
    this.appliedSeq = f.seq;
    const pts: Array<[number, number]> = [];
    for (const i of [...f.indices, ...f.near]) {
      const p = pos(i);
      if (p) pts.push(p);
    }
    return focusZoom(z, rect, first, pts);
  }

  publish(stage: HTMLElement, f: Focus | null, first: [number, number] | null, rect: Rect, near: number): void {
    const ds = stage.dataset;
    if (!f || !first) {
      for (const k of ["focusId", "focusX", "focusY", "focusCx", "focusCy", "focusNear"]) delete ds[k];
      return;
    }
    ds.focusId = String(f.ids[0] ?? "");
    ds.focusX = first[0].toFixed(1);
    ds.focusY = first[1].toFixed(1);
    ds.focusCx = (rect.x + rect.w / 2).toFixed(1);
    ds.focusCy = (rect.y + rect.h / 2).toFixed(1);
    ds.focusNear = String(near);
  }
}
