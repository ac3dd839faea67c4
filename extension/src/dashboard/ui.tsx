// Small shared UI pieces for pages (Preact). Pages may use them or render anything else.
import type { ComponentChildren, FunctionComponent } from "preact";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Page, PageCtx } from "./pages/index";

/** A Page whose body is a Preact component (`mount` renders it, the disposer unmounts it). */
export function preactPage(id: string, title: string, Body: FunctionComponent<{ ctx: PageCtx }>, adminOnly = false): Page {
  return {
    id,
    title,
    adminOnly,
    mount(el, ctx) {
      render(<Body ctx={ctx} />, el);
      return () => render(null, el);
    },
  };
}

/** A titled box. */
export function Card(props: { title?: string; children?: ComponentChildren; class?: string; wide?: boolean }) {
  return (
    <section class={`card${props.wide ? " wide" : ""}${props.class ? ` ${props.class}` : ""}`}>
      {props.title && <h2>{props.title}</h2>}
      {props.children}
    </section>
  );
}

/** One figure with a label. */
export function Metric(props: { label: string; value: string; hint?: string; id?: string }) {
  return (
    <div class="metric" data-metric={props.id}>
      <div class="metric-value">{props.value}</div>
      <div class="metric-label">{props.label}</div>
      {props.hint && <div class="metric-hint">{props.hint}</div>}
    </div>
  );
}

/** A problem (from the API or elsewhere), readable. */
export function ErrorBox(props: { error: unknown }) {
  const e = props.error as { title?: string; detail?: string; message?: string } | null;
  if (!e) return null;
  return (
    <div class="error" role="alert">
      {e.detail ?? e.message ?? String(e)}
    </div>
  );
}

/** 1234567 -> "1,234,567"; null -> "—". */
export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? "—" : Math.round(n).toLocaleString("en-US");
}

/** Bytes in B/KB/MB/GB. */
export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}

/** A rate with one decimal below 10. */
export function fmtRate(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  return n < 10 ? n.toFixed(1) : fmtInt(n);
}

/** ISO time -> local "HH:MM:SS" (today) or "YYYY-MM-DD HH:MM". */
export function fmtTime(t: string | number | null | undefined): string {
  if (t === null || t === undefined) return "—";
  const d = typeof t === "number" ? new Date(t * 1000) : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const pad = (x: number) => String(x).padStart(2, "0");
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return d.toDateString() === new Date().toDateString() ? hms : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms}`;
}

/** Load once (and again when `deps` change): `{data, error, loading, reload}`. */
export function useLoad<T>(fn: (signal: AbortSignal) => Promise<T>, deps: unknown[] = []) {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ac = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    fn(ac.signal).then(
      (data) => !ac.signal.aborted && setState({ data, error: null, loading: false }),
      (error) => !ac.signal.aborted && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => ac.abort();
  }, [tick, ...deps]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}
