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
import {
  ENTITIES,
  fmtNum,
  fmtStamp,
  OVERSCAN,
  PAGE,
  parseXyz,
  prefixFilter,
  ROW_H,
  readSelection,
  SPACES,
  visibleRange,
} from "./tokens-util";

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

interface TablePage {
  items: Token[];
  next: string | null;
  count: number;
}

interface Connection {
  id: number;
  token_a: number;
  token_b: number;
  kind: string;
  strength: number;
  bidirectional: boolean;
}

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

/** Label prefix search with suggestions; Enter filters the table by the prefix. */
function LabelSearch(props: { ctx: PageCtx; onPick: (id: number) => void; onPrefix: (p: string) => void }) {
  const [text, setText] = useState("");
  const [hits, setHits] = useState<{ id: number; label: string }[]>([]);
  const [count, setCount] = useState(0);
  const [active, setActive] = useState(-1);
  useEffect(() => {
    if (!text) {
      setHits([]);
      return;
    }
    const ac = new AbortController();
    const t = setTimeout(() => {
      props.ctx
        .api<{ items: { id: number; label: string }[]; count: number }>(
          "GET",
          `/tokens/labels?prefix=${encodeURIComponent(text)}&limit=12`,
          {
            signal: ac.signal,
          },
        )
        .then(
          (r) => {
            setHits(r.data.items);
            setCount(r.data.count);
            setActive(-1);
          },
          () => {},
        );
    }, 120);
    return () => {
      clearTimeout(t);
      ac.abort();
    };
  }, [text]);
  const pick = (i: number) => {
    const h = hits[i];
    if (h) {
      props.onPick(h.id);
      setHits([]);
    }
  };
  return (
    <div class="label-search">
      <label>
        <span class="sr-only">Search labels</span>
        <input
          type="search"
          name="label-search"
          placeholder="label starts with…"
          value={text}
          aria-autocomplete="list"
          aria-controls="label-hits"
          autocomplete="off"
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown") {
              setActive((a) => Math.min(hits.length - 1, a + 1));
              e.preventDefault();
            } else if (e.key === "ArrowUp") {
              setActive((a) => Math.max(-1, a - 1));
              e.preventDefault();
            } else if (e.key === "Enter") {
              e.preventDefault();
              if (active >= 0) pick(active);
              else if (text) {
                props.onPrefix(text);
                setHits([]);
              }
            } else if (e.key === "Escape") setHits([]);
          }}
        />
      </label>
      {hits.length > 0 && (
        <ul class="label-hits" id="label-hits">
          {hits.map((h, i) => (
            <li key={h.id} class={i === active ? "active" : ""}>
              <button type="button" class="link" data-hit={h.id} aria-current={i === active ? "true" : undefined} onClick={() => pick(i)}>
                {h.label} <span class="muted">#{h.id}</span>
              </button>
            </li>
          ))}
          {count > hits.length && <li class="muted">{fmtInt(count - hits.length)} more (Enter filters the table)</li>}
        </ul>
      )}
    </div>
  );
}

interface Draft {
  label: string;
  weight: string;
  entity: string;
  coords: Record<string, string>;
}

function draftOf(t: Token | null): Draft {
  const coords: Record<string, string> = {};
  for (const s of SPACES) coords[s] = t?.coords[s] ? t.coords[s].map((v) => fmtNum(v)).join(", ") : "";
  return { label: t?.label ?? "", weight: String(t?.weight ?? 1), entity: t?.entity ?? "undefined", coords };
}

/** One token: fields, its 8 spaces, its connections (a neighbour opens its card); edit,
 * delete, or a form to create one (`id = "new"`). */
function TokenCard(props: { ctx: PageCtx; id: number | "new"; version: number; onOpen: (id: number) => void; onClose: () => void }) {
  const { ctx, id } = props;
  const canWrite = ctx.session.canWrite;
  const [token, setToken] = useState<Token | null>(null);
  const [conns, setConns] = useState<Connection[] | null>(null);
  const [names, setNames] = useState<Map<number, string | null>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const [gone, setGone] = useState(false);
  const [editing, setEditing] = useState(id === "new");
  const [draft, setDraft] = useState<Draft>(draftOf(null));
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLElement>(null);

  useEffect(() => {
    if (id === "new") return;
    const ac = new AbortController();
    (async () => {
      try {
        const t = (await ctx.api<Token>("GET", `/tokens/${id}`, { signal: ac.signal })).data;
        setToken(t);
        setGone(false);
        if (!editing) setDraft(draftOf(t));
        const c = (await ctx.api<Connection[]>("GET", `/tokens/${id}/connections`, { signal: ac.signal })).data;
        setConns(c);
        const others = [...new Set(c.slice(0, 200).map((x) => (x.token_a === id ? x.token_b : x.token_a)))];
        if (others.length) {
          const p = await ctx.api<TablePage>("POST", "/tokens/table", { body: { ids: others, limit: 1000 }, signal: ac.signal });
          setNames(new Map(p.data.items.map((x) => [x.id, x.label])));
        }
        setError(null);
      } catch (e) {
        if (ac.signal.aborted) return;
        if (e instanceof ApiError && e.status === 404) setGone(true);
        else setError(e);
      }
    })();
    return () => ac.abort();
  }, [id, props.version]);

  useEffect(() => {
    ref.current?.focus();
  }, [id]);

  const save = async () => {
    setBusy(true);
    try {
      const coords: Record<string, [number, number, number] | null> = {};
      for (const s of SPACES) {
        const v = parseXyz(s, draft.coords[s]);
        if (v || (token?.coords[s] && id !== "new")) coords[s] = v;
      }
      const weight = Number(draft.weight);
      if (!Number.isFinite(weight)) throw new Error("weight: give a number");
      if (id === "new") {
        const body: Record<string, unknown> = {
          weight,
          entity: draft.entity,
          coords: Object.fromEntries(Object.entries(coords).filter(([, v]) => v)),
        };
        if (draft.label) body.label = draft.label;
        const t = (await ctx.api<Token>("POST", "/tokens", { body })).data;
        ctx.toast(`Token ${t.id} created`);
        props.onOpen(t.id);
      } else {
        const body = { weight, entity: draft.entity, label: draft.label ? draft.label : null, coords };
        const t = (await ctx.api<Token>("PATCH", `/tokens/${id}`, { body })).data;
        setToken(t);
        setDraft(draftOf(t));
        setEditing(false);
        ctx.toast(`Token ${t.id} saved`);
      }
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (id === "new" || !confirm(`Delete token ${id} and its connections?`)) return;
    setBusy(true);
    try {
      await ctx.api("DELETE", `/tokens/${id}`);
      ctx.toast(`Token ${id} deleted`);
      props.onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  const title = id === "new" ? "New token" : `Token ${id}${token?.label ? ` · ${token.label}` : ""}`;
  return (
    <aside class="card token-card" aria-label={title} tabIndex={-1} ref={ref} onKeyDown={(e) => e.key === "Escape" && props.onClose()}>
      <header class="token-card-head">
        <h2>{title}</h2>
        <button type="button" class="ghost" aria-label="Close" onClick={props.onClose}>
          ✕
        </button>
      </header>
      {gone && <p class="muted">This token no longer exists.</p>}
      {error !== null && <ErrorBox error={error} />}
      {editing && canWrite ? (
        <form
          class="token-form"
          onSubmit={(e) => {
            e.preventDefault();
            save();
          }}
        >
          <label>
            label{" "}
            <input
              data-write
              name="label"
              value={draft.label}
              onInput={(e) => setDraft({ ...draft, label: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            weight{" "}
            <input
              data-write
              name="weight"
              inputMode="decimal"
              value={draft.weight}
              onInput={(e) => setDraft({ ...draft, weight: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            entity{" "}
            <select
              data-write
              name="entity"
              value={draft.entity}
              onChange={(e) => setDraft({ ...draft, entity: (e.target as HTMLSelectElement).value })}
            >
              {ENTITIES.map((x) => (
                <option key={x} value={x}>
                  {x}
                </option>
              ))}
            </select>
          </label>
          <fieldset>
            <legend>spaces (x, y, z; empty: not placed)</legend>
            {SPACES.map((s) => (
              <label key={s} class="space-input">
                {s}{" "}
                <input
                  data-write
                  name={`space-${s}`}
                  value={draft.coords[s]}
                  placeholder="not placed"
                  onInput={(e) => setDraft({ ...draft, coords: { ...draft.coords, [s]: (e.target as HTMLInputElement).value } })}
                />
              </label>
            ))}
          </fieldset>
          <div class="row-actions">
            <button type="submit" data-write disabled={busy}>
              {id === "new" ? "Create" : "Save"}
            </button>
            {id !== "new" && (
              <button
                type="button"
                class="ghost"
                onClick={() => {
                  setEditing(false);
                  setDraft(draftOf(token));
                }}
              >
                Cancel
              </button>
            )}
          </div>
        </form>
      ) : (
        token && (
          <>
            <dl class="token-fields">
              <dt>entity</dt>
              <dd>{token.entity}</dd>
              <dt>weight</dt>
              <dd>{fmtNum(token.weight)}</dd>
              <dt>field</dt>
              <dd>
                radius {fmtNum(token.field_radius)}, strength {fmtNum(token.field_strength)}
              </dd>
              <dt>created</dt>
              <dd>{fmtStamp(token.timestamp)}</dd>
              <dt>flags</dt>
              <dd>{token.flags.join(", ") || "—"}</dd>
            </dl>
            <table class="token-spaces">
              <caption>8 spaces</caption>
              <thead>
                <tr>
                  <th scope="col">space</th>
                  <th scope="col">x</th>
                  <th scope="col">y</th>
                  <th scope="col">z</th>
                </tr>
              </thead>
              <tbody>
                {SPACES.map((s) => {
                  const c = token.coords[s];
                  return (
                    <tr key={s} data-space={s}>
                      <th scope="row">{s}</th>
                      {c ? (
                        c.map((v, i) => <td key={i}>{fmtNum(v)}</td>)
                      ) : (
                        <td colSpan={3} class="muted">
                          not placed
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {canWrite && (
              <div class="row-actions">
                <button type="button" data-write onClick={() => setEditing(true)}>
                  Edit
                </button>
                <button type="button" data-write class="danger" disabled={busy} onClick={remove}>
                  Delete
                </button>
              </div>
            )}
          </>
        )
      )}
      {id !== "new" && conns && (
        <section class="token-conns">
          <h3>
            {fmtInt(conns.length)} connection{conns.length === 1 ? "" : "s"}
          </h3>
          <ul>
            {conns.slice(0, 200).map((c) => {
              const other = c.token_a === id ? c.token_b : c.token_a;
              const arrow = c.bidirectional ? "↔" : c.token_a === id ? "→" : "←";
              return (
                <li key={c.id}>
                  <span class="muted">
                    {arrow} {c.kind} {fmtNum(c.strength)}
                  </span>{" "}
                  <button type="button" class="link" data-neighbor={other} onClick={() => props.onOpen(other)}>
                    {names.get(other) ?? `#${other}`}
                  </button>
                </li>
              );
            })}
          </ul>
          {conns.length > 200 && <p class="muted">first 200 shown</p>}
        </section>
      )}
    </aside>
  );
}

export default preactPage("tokens", "Tokens", Tokens);
