// Tokens: the table over any number of tokens. Keyset pages from the server
// (`/tokens/table`: sort by any column, the `%ng_tokens --where` filter evaluated in Rust),
// loaded as the list scrolls and drawn virtualized (only the rows in view are in the DOM);
// label search; a token's card with its 8 spaces and its connections; create, edit and
// delete for roles that may; live: refetched on the `tokens` channel.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import { ErrorBox, fmtInt, preactPage } from "../ui";
import type { PageCtx } from "./index";
import "./tokens.css";
import { LabelSearch, TokenCard } from "./tokens-card";
import type { TablePage, Token } from "./tokens-util";
import { fmtNum, fmtStamp, OVERSCAN, PAGE, prefixFilter, ROW_H, readSelection, visibleRange } from "./tokens-util";

/** The table's columns: key (the API's sort name), header, cell text. */
const COLUMNS: { key: string; title: string; cell: (t: Token) => string; num?: boolean }[] = [
  { key: "id", title: "id", cell: (t) => String(t.id), num: true },
  { key: "label", title: "label", cell: (t) => t.label ?? "" },
  { key: "entity", title: "entity", cell: (t) => t.entity },
  { key: "weight", title: "weight", cell: (t) => fmtNum(t.weight), num: true },
  { key: "field_radius", title: "field radius", cell: (t) => fmtNum(t.field_radius), num: true },
  { key: "field_strength", title: "field strength", cell: (t) => fmtNum(t.field_strength), num: true },
  { key: "timestamp", title: "created", cell: (t) => fmtStamp(t.timestamp), num: true },
  { key: "cognitive_x", title: "cognitive x", cell: (t) => (t.coords.cognitive ? fmtNum(t.coords.cognitive[0]) : "—"), num: true },
];

interface Query {
  where: string;
  sort: string;
  desc: boolean;
  ids: number[] | null;
}

/** Fetch one page of the table (POST when a selection restricts it). */
async function fetchPage(ctx: PageCtx, q: Query, cursor: string | null, limit: number, signal?: AbortSignal): Promise<TablePage> {
  if (q.ids) {
    const body: Record<string, unknown> = { ids: q.ids, sort: q.sort, desc: q.desc, limit };
    if (q.where.trim()) body.where = q.where;
    if (cursor) body.cursor = cursor;
    return (await ctx.api<TablePage>("POST", "/tokens/table", { body, signal })).data;
  }
  const p = new URLSearchParams({ sort: q.sort, desc: String(q.desc), limit: String(limit) });
  if (q.where.trim()) p.set("where", q.where);
  if (cursor) p.set("cursor", cursor);
  return (await ctx.api<TablePage>("GET", `/tokens/table?${p}`, { signal })).data;
}

/** A filter error: the message and the character position the server named. */
function filterError(e: unknown): { msg: string; at: number | null } | null {
  if (!(e instanceof ApiError) || e.problem.field !== "where") return null;
  const at = typeof e.problem.value === "number" ? e.problem.value : null;
  return { msg: e.detail, at };
}

function Tokens({ ctx }: { ctx: PageCtx }) {
  const canWrite = ctx.session.canWrite;
  const [selection, setSelection] = useState<number[] | null>(() =>
    ctx.params.get("selection") === "1" ? readSelection(sessionStorage) : null,
  );
  const [draft, setDraft] = useState(ctx.params.get("where") ?? "");
  const [query, setQuery] = useState<Query>({
    where: ctx.params.get("where") ?? "",
    sort: ctx.params.get("sort") ?? "id",
    desc: ctx.params.get("desc") === "1",
    ids: selection,
  });
  const [rows, setRows] = useState<Token[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [count, setCount] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<number | "new" | null>(ctx.params.get("id") ? Number(ctx.params.get("id")) : null);
  const [focusRow, setFocusRow] = useState(0);
  const [scroll, setScroll] = useState({ top: 0, height: 600 });
  const [version, setVersion] = useState(0);
  const listRef = useRef<HTMLDivElement>(null);
  const loadingMore = useRef(false);
  const wantFocus = useRef(false);
  const rowsRef = useRef(rows);
  rowsRef.current = rows;

  // First page (and again when the query changes).
  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    fetchPage(ctx, query, null, PAGE, ac.signal).then(
      (p) => {
        setRows(p.items);
        setNext(p.next);
        setCount(p.count);
        setError(null);
        setLoading(false);
        if (listRef.current) listRef.current.scrollTop = 0;
        setFocusRow(0);
      },
      (e) => {
        if (ac.signal.aborted) return;
        setError(e);
        setRows([]);
        setNext(null);
        setCount(null);
        setLoading(false);
      },
    );
    return () => ac.abort();
  }, [query]);

  // The next page when the list is scrolled near the end of what is loaded.
  const loadMore = useCallback(async () => {
    if (!next || loadingMore.current) return;
    loadingMore.current = true;
    try {
      const p = await fetchPage(ctx, query, next, PAGE);
      setRows((r) => r.concat(p.items));
      setNext(p.next);
      setCount(p.count);
    } catch (e) {
      setError(e);
    } finally {
      loadingMore.current = false;
    }
  }, [next, query]);

  useEffect(() => {
    const [, last] = visibleRange(scroll.top, scroll.height, rows.length);
    if (next && last >= rows.length - OVERSCAN) loadMore();
  }, [scroll, rows.length, next, loadMore]);

  // Live: refetch what is loaded (from the first page, as many rows) when tokens change.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const refresh = () => {
      timer = null;
      const n = Math.min(Math.max(rowsRef.current.length, PAGE), 1000);
      fetchPage(ctx, query, null, n).then(
        (p) => {
          setRows(p.items);
          setNext(p.next);
          setCount(p.count);
          setError(null);
          setVersion((v) => v + 1);
        },
        (e) => setError(e),
      );
    };
    const off = ctx.live.subscribe(["tokens"], () => {
      if (timer === null) timer = setTimeout(refresh, 100);
    });
    return () => {
      off();
      if (timer !== null) clearTimeout(timer);
    };
  }, [query]);

  // Follow the list's size.
  useEffect(() => {
    const el = listRef.current;
    if (!el) return;
    const measure = () => setScroll({ top: el.scrollTop, height: el.clientHeight || 600 });
    measure();
    el.addEventListener("scroll", measure, { passive: true });
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(measure) : null;
    ro?.observe(el);
    return () => {
      el.removeEventListener("scroll", measure);
      ro?.disconnect();
    };
  }, []);

  const sortBy = (key: string) => setQuery((q) => ({ ...q, sort: key, desc: q.sort === key ? !q.desc : false }));
  const applyFilter = (text: string) => setQuery((q) => ({ ...q, where: text }));
  const clearSelection = () => {
    setSelection(null);
    setQuery((q) => ({ ...q, ids: null }));
  };

  const onKey = (e: KeyboardEvent, from: number) => {
    const n = rows.length;
    if (!n) return;
    let r = from;
    if (e.key === "ArrowDown") r = Math.min(n - 1, r + 1);
    else if (e.key === "ArrowUp") r = Math.max(0, r - 1);
    else if (e.key === "PageDown") r = Math.min(n - 1, r + 10);
    else if (e.key === "PageUp") r = Math.max(0, r - 10);
    else if (e.key === "Home") r = 0;
    else if (e.key === "End") r = n - 1;
    else return;
    e.preventDefault();
    setFocusRow(r);
    wantFocus.current = true;
    const el = listRef.current;
    if (el) {
      const top = r * ROW_H;
      if (top < el.scrollTop) el.scrollTop = top;
      else if (top + ROW_H > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_H - el.clientHeight;
      setScroll({ top: el.scrollTop, height: el.clientHeight || 600 });
    }
  };

  // Move the keyboard focus to the focused row once it is drawn.
  useEffect(() => {
    if (!wantFocus.current) return;
    const b = listRef.current?.querySelector<HTMLElement>(`[data-row="${focusRow}"]`);
    if (b) {
      b.focus();
      wantFocus.current = false;
    }
  });

  const [first, last] = visibleRange(scroll.top, scroll.height, rows.length);
  const fe = filterError(error);
  const total = rows.length + (next ? 1 : 0);
  // The one row Tab reaches: the focused one when drawn, else the first drawn.
  const rovingRow = focusRow >= first && focusRow < last ? focusRow : first;

  return (
    <div class="tokens-page">
      <div class="toolbar tokens-toolbar">
        <form
          class="tokens-filter"
          onSubmit={(e) => {
            e.preventDefault();
            applyFilter(draft);
          }}
        >
          <label>
            <span class="sr-only">Filter</span>
            <input
              type="search"
              name="where"
              placeholder="filter, e.g. weight > 0.5 and label.str.startswith('a')"
              value={draft}
              aria-invalid={fe ? "true" : "false"}
              aria-describedby={fe ? "tokens-filter-error" : undefined}
              onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit">Filter</button>
          {query.where && (
            <button
              type="button"
              class="ghost"
              onClick={() => {
                setDraft("");
                applyFilter("");
              }}
            >
              Clear
            </button>
          )}
        </form>
        <LabelSearch
          ctx={ctx}
          onPick={(id) => setOpen(id)}
          onPrefix={(p) => {
            const w = prefixFilter(p);
            setDraft(w);
            applyFilter(w);
          }}
        />
        <span class="tokens-count" data-count={count ?? ""}>
          {count === null ? "" : `${fmtInt(count)} token${count === 1 ? "" : "s"}`}
          {loading ? " …" : ""}
        </span>
        {canWrite && (
          <button type="button" data-write onClick={() => setOpen("new")}>
            New token
          </button>
        )}
      </div>
      {selection && (
        <div class="note tokens-selection" role="status">
          Showing the {fmtInt(selection.length)} tokens selected in the grid.{" "}
          <button type="button" class="ghost" onClick={clearSelection}>
            Show all tokens
          </button>
        </div>
      )}
      {fe ? (
        <FilterError id="tokens-filter-error" text={query.where} msg={fe.msg} at={fe.at} />
      ) : (
        error !== null && <ErrorBox error={error} />
      )}
      <div class="tokens-body">
        <div class="tokens-table">
          <div class="tokens-row tokens-head">
            {COLUMNS.map((c) => {
              const dir = query.sort === c.key ? (query.desc ? "descending" : "ascending") : "none";
              return (
                <div key={c.key} class={c.num ? "num" : ""} data-dir={dir}>
                  <button
                    type="button"
                    class="sort"
                    data-sort={c.key}
                    aria-label={`sort by ${c.title}${dir === "ascending" ? ", now ascending" : dir === "descending" ? ", now descending" : ""}`}
                    onClick={() => sortBy(c.key)}
                  >
                    {c.title}
                    {dir === "ascending" ? " ▲" : dir === "descending" ? " ▼" : ""}
                  </button>
                </div>
              );
            })}
          </div>
          <div class="tokens-list" ref={listRef}>
            <div style={{ height: `${total * ROW_H}px`, position: "relative" }}>
              {rows.slice(first, last).map((t, i) => {
                const r = first + i;
                return (
                  <button
                    type="button"
                    key={t.id}
                    data-id={t.id}
                    data-row={r}
                    tabIndex={r === rovingRow ? 0 : -1}
                    class={`tokens-row${r === focusRow ? " focused" : ""}${open === t.id ? " open" : ""}`}
                    style={{ top: `${r * ROW_H}px` }}
                    onClick={() => {
                      setFocusRow(r);
                      setOpen(t.id);
                    }}
                    onKeyDown={(e) => onKey(e, r)}
                  >
                    {COLUMNS.map((c) => (
                      <span key={c.key} class={c.num ? "num" : ""}>
                        {c.cell(t)}
                      </span>
                    ))}
                  </button>
                );
              })}
              {next && (
                <div class="tokens-row tokens-more muted" style={{ top: `${rows.length * ROW_H}px` }}>
                  loading more…
                </div>
              )}
            </div>
            {!loading && rows.length === 0 && error === null && <p class="muted tokens-empty">No token matches.</p>}
          </div>
        </div>
        {open !== null && (
          <TokenCard
            key={String(open)}
            ctx={ctx}
            id={open}
            version={version}
            onOpen={(id) => setOpen(id)}
            onClose={() => {
              setOpen(null);
              wantFocus.current = true;
            }}
          />
        )}
      </div>
    </div>
  );
}

/** The filter's error, with a caret under the position the server named. */
function FilterError(props: { id: string; text: string; msg: string; at: number | null }) {
  const at = props.at === null ? null : Math.min(props.at, props.text.length);
  return (
    <div class="error tokens-filter-error" role="alert" id={props.id} data-position={at ?? ""}>
      <div>{props.msg}</div>
      {at !== null && (
        <pre class="caret">
          {props.text}
          {"\n"}
          {`${" ".repeat(at)}^`}
        </pre>
      )}
    </div>
  );
}

export default preactPage("tokens", "Tokens", Tokens);
