// Graph: the neighbourhood of a token, a label or a semantic query, drawn by the notebook's
// GraphExplorer view (extension/src/graph.ts, the same module) with the core's layout, fed by
// GraphHttpModel. Double-click a node (or "Expand selected") adds its neighbours; the selected
// nodes open in the tokens table. Reloads (same nodes, new data) when the store changes.
import { useEffect, useRef, useState } from "preact/hooks";
import graphView from "../../graph";
import { GraphHttpModel, type GraphStart } from "../http-model";
import { ErrorBox, fmtInt, preactPage } from "../ui";
import type { PageCtx } from "./index";
import { coalesce, messageOf, openInTable, transportOf } from "./views-common";

type Mode = "token" | "label" | "text";

/** The start a page's parameters name (`token`, `label` or `q`), or null. */
export function startOf(params: URLSearchParams): GraphStart | null {
  const token = params.get("token");
  if (token !== null && /^\d+$/.test(token.trim())) return { token: Number(token.trim()) };
  const label = params.get("label");
  if (label) return { label };
  const q = params.get("q");
  if (q?.trim()) return { text: q.trim() };
  return null;
}

function paramsOf(s: GraphStart, depth: number): Record<string, string> {
  const p: Record<string, string> = { depth: String(depth) };
  if ("token" in s) p.token = String(s.token);
  else if ("label" in s) p.label = s.label;
  else p.q = s.text;
  return p;
}

const RELOAD_MS = 600;

function GraphPage({ ctx }: { ctx: PageCtx }) {
  const host = useRef<HTMLDivElement>(null);
  const model = useRef<GraphHttpModel | null>(null);
  const given = startOf(ctx.params);
  const depth = Math.min(4, Math.max(1, Number(ctx.params.get("depth") ?? "1") || 1));
  const [start, setStart] = useState<GraphStart | null>(given);
  const [mode, setMode] = useState<Mode>(given && "label" in given ? "label" : given && "text" in given ? "text" : "token");
  const [text, setText] = useState(given ? Object.values(given)[0].toString() : "");
  const [depthSel, setDepthSel] = useState(depth);
  const [error, setError] = useState<unknown>(null);
  const [info, setInfo] = useState("");
  const [selected, setSelected] = useState<number[]>([]);

  // no start given: the first token
  useEffect(() => {
    if (start) return;
    let alive = true;
    ctx
      .api<{ items: Array<{ id: number }> }>("GET", "/tokens?limit=1")
      .then((r) => {
        const first = r.data.items[0];
        if (!alive) return;
        if (first) setStart({ token: first.id });
        else setInfo("no tokens yet");
      })
      .catch((e) => alive && setError(e));
    return () => {
      alive = false;
    };
  }, [ctx, start]);

  useEffect(() => {
    if (!start) return;
    const m = new GraphHttpModel(transportOf(ctx), start, { depth: depthSel });
    model.current = m;
    m.onError = (e) => ctx.toast(`graph: ${messageOf(e)}`, "error");
    let alive = true;
    let unmount: (() => void) | null = null;
    const status = () => {
      const s = m.state;
      const n = Number(s.n_nodes ?? 0);
      setInfo(
        `${fmtInt(n)} nodes · ${fmtInt(Number(s.n_edges ?? 0))} edges` +
          (s.truncated ? ` (the nearest ${fmtInt(n)} of ${fmtInt(Number(s.reached))} reached)` : ""),
      );
    };
    const onSel = () => setSelected(((m.get("selected") as number[]) ?? []).slice());
    m.on("change:selected", onSel);
    m.on("change:version", status);
    // test and diagnostics hooks: what the view has received and how it draws
    const mark = () => {
      const el = host.current;
      if (!el) return;
      el.dataset.nodes = String(m.get("n_nodes"));
      el.dataset.edges = String(m.get("n_edges"));
      el.dataset.loaded = String(m.get("loaded"));
      el.dataset.version = String(m.get("version"));
      el.dataset.renderer = String(m.get("renderer") ?? "");
    };
    for (const ev of ["change:loaded", "change:version", "change:renderer", "change:n_edges"]) m.on(ev, mark);
    setError(null);
    m.load()
      .then(() => {
        if (!alive || !host.current) return;
        status();
        unmount = graphView.render({ model: m, el: host.current });
        mark();
      })
      .catch((e) => alive && setError(e));
    const later = coalesce(() => {
      m.refresh().catch((e) => alive && setError(e));
    }, RELOAD_MS);
    const off = ctx.live.subscribe(["tokens", "connections"], () => later.call());
    return () => {
      alive = false;
      off();
      later.cancel();
      m.close();
      unmount?.();
      model.current = null;
      setSelected([]);
    };
  }, [ctx, start, depthSel]);

  const submit = (e: Event) => {
    e.preventDefault();
    const v = text.trim();
    if (!v) return;
    let s: GraphStart;
    if (mode === "token") {
      if (!/^\d+$/.test(v)) {
        setError(new Error(`a token id is a whole number, got ${JSON.stringify(v)}`));
        return;
      }
      s = { token: Number(v) };
    } else s = mode === "label" ? { label: v } : { text: v };
    setError(null);
    setStart(s);
    history.replaceState(null, "", `#/graph?${new URLSearchParams(paramsOf(s, depthSel))}`);
  };

  const expand = () => {
    const m = model.current;
    if (m && selected.length) m.expand(selected).catch((e) => setError(e));
  };

  return (
    <div class="views-page graph-page">
      <form class="toolbar" onSubmit={submit} aria-label="graph start">
        <select aria-label="start from" value={mode} onChange={(e) => setMode((e.target as HTMLSelectElement).value as Mode)}>
          <option value="token">token id</option>
          <option value="label">label</option>
          {ctx.session.canWrite && <option value="text">query</option>}
        </select>
        <input
          type="search"
          aria-label="token id, label or query"
          data-testid="graph-start"
          value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
        <label>
          depth{" "}
          <select aria-label="depth" value={String(depthSel)} onChange={(e) => setDepthSel(Number((e.target as HTMLSelectElement).value))}>
            {[1, 2, 3, 4].map((d) => (
              <option key={d} value={String(d)}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Show</button>
        <button type="button" data-testid="graph-expand" disabled={!selected.length} onClick={expand}>
          Expand selected
        </button>
        <button type="button" data-testid="graph-open-table" disabled={!selected.length} onClick={() => openInTable(ctx, selected)}>
          Open selected in table
        </button>
        <span class="views-count" data-testid="graph-info">
          {info}
        </span>
      </form>
      <ErrorBox error={error} />
      <div ref={host} class="views-host" data-testid="graph-host" />
    </div>
  );
}

export default preactPage("graph", "Graph", GraphPage);
