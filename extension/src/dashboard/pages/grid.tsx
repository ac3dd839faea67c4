// Grid: the 8 semantic spaces drawn by the notebook's GridExplorer view (extension/src/grid.ts,
// the same module), fed over HTTP by GridHttpModel with the same strided binary chunks.
// Box/lasso selection -> "Open in table" (the tokens page shows exactly those ids); the grid
// reloads when tokens or connections change (coalesced).
import { useEffect, useRef, useState } from "preact/hooks";
import gridView from "../../grid";
import { GridHttpModel, maskBytes } from "../http-model";
import { ErrorBox, fmtInt, preactPage } from "../ui";
import type { PageCtx } from "./index";
import { coalesce, messageOf, openInTable, transportOf } from "./views-common";

/** Set bits of a packed mask. */
export function popcount(mask: Uint8Array): number {
  let n = 0;
  for (const b of mask) {
    let x = b;
    while (x) {
      x &= x - 1;
      n++;
    }
  }
  return n;
}

const RELOAD_MS = 400;

function GridPage({ ctx }: { ctx: PageCtx }) {
  const host = useRef<HTMLDivElement>(null);
  const model = useRef<GridHttpModel | null>(null);
  const [selected, setSelected] = useState(0);
  const [n, setN] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [opening, setOpening] = useState(false);

  useEffect(() => {
    const m = new GridHttpModel(transportOf(ctx));
    model.current = m;
    m.onError = (e) => ctx.toast(`grid: ${messageOf(e)}`, "error");
    let unmount: (() => void) | null = null;
    let alive = true;
    const onSel = () => setSelected(popcount(maskBytes(m.get("selection"))));
    const onN = () => setN(Number(m.get("n")));
    m.on("change:selection", onSel);
    m.on("change:n", onN);
    // test and diagnostics hooks: what the view has received and how it draws
    const mark = () => {
      const el = host.current;
      if (!el) return;
      el.dataset.n = String(m.get("n"));
      el.dataset.loaded = String(m.get("loaded"));
      el.dataset.version = String(m.get("version"));
      el.dataset.renderer = String(m.get("renderer") ?? "");
    };
    for (const ev of ["change:loaded", "change:version", "change:renderer", "change:n"]) m.on(ev, mark);
    m.load()
      .then(() => {
        if (!alive || !host.current) return;
        onN();
        unmount = gridView.render({ model: m, el: host.current });
        mark();
      })
      .catch((e) => alive && setError(e));
    let busy = false;
    let again = false;
    const reload = async () => {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        await m.refresh();
        setError(null);
      } catch (e) {
        if (alive) setError(e);
      } finally {
        busy = false;
        if (again && alive) {
          again = false;
          void reload();
        }
      }
    };
    const later = coalesce(() => void reload(), RELOAD_MS);
    const off = ctx.live.subscribe(["tokens", "connections", "grid"], (ev) => {
      if (ev.type === "grid.query") return; // a query changes nothing shown
      later.call();
    });
    return () => {
      alive = false;
      off();
      later.cancel();
      m.close();
      unmount?.();
      model.current = null;
    };
  }, [ctx]);

  const open = async () => {
    const m = model.current;
    if (!m) return;
    setOpening(true);
    try {
      openInTable(ctx, await m.selectedIds());
    } catch (e) {
      ctx.toast(`grid: ${messageOf(e)}`, "error");
    } finally {
      setOpening(false);
    }
  };

  return (
    <div class="views-page grid-page">
      <div class="toolbar">
        <span class="views-count" data-testid="grid-count">
          {n === null ? "loading…" : `${fmtInt(n)} tokens`}
          {selected > 0 && ` · ${fmtInt(selected)} selected`}
        </span>
        <button type="button" data-testid="grid-open-table" disabled={selected === 0 || opening} onClick={open}>
          Open in table
        </button>
        <span class="views-hint">drag: box select · alt/shift-drag: lasso · Esc clears</span>
      </div>
      <ErrorBox error={error} />
      <div ref={host} class="views-host" data-testid="grid-host" />
    </div>
  );
}

export default preactPage("grid", "Grid", GridPage);
