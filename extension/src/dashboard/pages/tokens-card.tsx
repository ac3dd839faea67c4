// The tokens page's label search and token card (fields, the 8 spaces, connections; a form
// to create or edit, and delete, for roles that may).
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import { ErrorBox, fmtInt } from "../ui";
import type { PageCtx } from "./index";
import type { Connection, TablePage, Token } from "./tokens-util";
import { ENTITIES, fmtNum, fmtStamp, parseXyz, SPACES } from "./tokens-util";

/** Label prefix search with suggestions; Enter filters the table by the prefix. */
export function LabelSearch(props: { ctx: PageCtx; onPick: (id: number) => void; onPrefix: (p: string) => void }) {
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
export function TokenCard(props: { ctx: PageCtx; id: number | "new"; version: number; onOpen: (id: number) => void; onClose: () => void }) {
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
  // Set while this card deletes its token: a live refresh that lands meanwhile (an earlier
  // edit's event) must not fetch the token being deleted (the server would answer 404).
  const deleting = useRef(false);

  useEffect(() => {
    if (id === "new" || deleting.current) return;
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
    deleting.current = true;
    try {
      await ctx.api("DELETE", `/tokens/${id}`);
      ctx.toast(`Token ${id} deleted`);
      props.onClose();
    } catch (e) {
      deleting.current = false;
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
