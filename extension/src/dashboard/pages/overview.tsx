// Overview: metric cards, live charts (uPlot) from the `metrics` channel, recent activity
// (Guardian events, and the audit log for admins), server and CDNA status. No reload needed:
// the cards follow `metrics`, the counts and activity refetch (throttled) on store events.
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import type { LiveEvent } from "../live";
import { Card, ErrorBox, fmtBytes, fmtInt, fmtRate, fmtTime, Metric, preactPage } from "../ui";
import type { PageCtx } from "./index";

/** The y axis' width: its longest tick label plus the ticks and gap, so "16.8 MB" is not clipped. */
function labelWidth(u: uPlot, values: string[] | null, axisIdx: number): number {
  const axis = u.axes[axisIdx];
  const longest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), "");
  if (!longest) return 56;
  u.ctx.font = axis.font?.[0] ?? u.ctx.font;
  const px = u.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
  return Math.max(40, Math.ceil(px + (axis.ticks?.size ?? 10) + (axis.gap ?? 5) + 4));
}

interface Status {
  tokens: number;
  connections: number;
  labels: number;
  cdna_revision: number;
  events_total: number;
  rejections_total: number;
  bootstrap: boolean;
  uptime_seconds: number;
  http: { open_connections: number; in_flight: number; requests_total: number };
}

interface GuardianEvent {
  time: number;
  kind: string;
  target: string;
  accepted: boolean;
  reason: string;
}

interface AuditEntry {
  seq: number;
  time: number;
  principal: string | null;
  method: string;
  route: string;
  status: number;
  reason: string | null;
  origin: string;
}

/** Seconds of history the charts keep. */
export const WINDOW_S = 300;

/** A ring of (time, value...) samples for uPlot, trimmed to the last `windowS` seconds. */
export class Series {
  readonly t: number[] = [];
  readonly cols: number[][];
  constructor(
    n: number,
    readonly windowS = WINDOW_S,
  ) {
    this.cols = Array.from({ length: n }, () => []);
  }
  push(t: number, values: (number | null)[]): void {
    this.t.push(t);
    values.forEach((v, i) => {
      this.cols[i].push(v ?? Number.NaN);
    });
    let drop = 0;
    while (drop < this.t.length && this.t[drop] < t - this.windowS) drop++;
    if (drop) {
      this.t.splice(0, drop);
      for (const c of this.cols) c.splice(0, drop);
    }
  }
  data(): uPlot.AlignedData {
    return [this.t, ...this.cols.map((c) => c.map((v) => (Number.isNaN(v) ? null : v)))] as uPlot.AlignedData;
  }
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** A small uPlot line chart that follows the page width and theme. */
function Chart(props: {
  title: string;
  series: Series;
  labels: string[];
  colors: string[];
  version: number;
  ctx: PageCtx;
  fmt?: (v: number) => string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { series, labels, colors, ctx, fmt } = props;
  const [themeTick, setThemeTick] = useState(0);
  useEffect(() => ctx.onTheme(() => setThemeTick((x) => x + 1)), [ctx]);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fg = cssVar("--fg2") || "#666";
    const grid = cssVar("--border") || "#ddd";
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 160,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      // Always the last WINDOW_S seconds, also before the first samples arrive.
      scales: {
        x: {
          time: true,
          range: (_u, _min, max) => {
            const hi = Number.isFinite(max) && max > 1e9 ? max : Date.now() / 1000;
            return [hi - WINDOW_S, hi];
          },
        },
      },
      axes: [axis, { ...axis, size: labelWidth, values: (_u, vals) => vals.map((v) => (fmt ? fmt(v) : fmtRate(v))) }],
      series: [{}, ...labels.map((label, i) => ({ label, stroke: colors[i], width: 1.5, points: { show: false } }))],
    };
    const u = new uPlot(opts, series.data(), el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 160 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [themeTick]);
  useEffect(() => {
    plot.current?.setData(series.data());
  }, [props.version, series]);
  return (
    <Card title={props.title} class="chart-card">
      <div ref={box} class="chart" data-chart={props.title} />
    </Card>
  );
}

function Overview({ ctx }: { ctx: PageCtx }) {
  const [status, setStatus] = useState<Status | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [metrics, setMetrics] = useState<Record<string, number>>({});
  const [events, setEvents] = useState<GuardianEvent[]>([]);
  const [audit, setAudit] = useState<AuditEntry[]>([]);
  const [version, setVersion] = useState(0);
  // Tokens and connections from whichever came last: a status answer or a metrics tick.
  const [counts, setCounts] = useState<{ tokens: number; connections: number } | null>(null);
  const rates = useRef(new Series(2));
  const sizes = useRef(new Series(2));
  const memory = useRef(new Series(1));

  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let inflight = false;
    let again = false;
    // Store events counted locally (token.created +count ...) since the page opened.
    let bumps = 0;
    const load = async () => {
      if (inflight) {
        again = true;
        return;
      }
      inflight = true;
      const g = bumps;
      // Each part shows as soon as it arrives (the figures first: they are what one looks at).
      const status = ctx.api<Status>("GET", "/status").then((s) => {
        if (!alive) return;
        setStatus(s.data);
        // An event counted locally after this request left is newer than its answer.
        if (g === bumps) setCounts({ tokens: s.data.tokens, connections: s.data.connections });
      });
      const recent = ctx.api<GuardianEvent[]>("GET", "/events?last=20").then((ev) => alive && setEvents(ev.data.slice().reverse()));
      const audited = ctx.session.isAdmin
        ? ctx.api<{ last_seq: number }>("GET", "/audit?limit=1").then(async (head) => {
            const after = Math.max(0, head.data.last_seq - 20);
            const page = await ctx.api<{ entries: AuditEntry[] }>("GET", `/audit?after=${after}&limit=20`);
            if (alive) setAudit(page.data.entries.slice().reverse());
          })
        : Promise.resolve();
      try {
        await Promise.all([status, recent, audited]);
        if (alive) setError(null);
      } catch (e) {
        if (alive) setError(e);
      } finally {
        inflight = false;
        if (again && alive) {
          again = false;
          schedule(true);
        }
      }
    };
    // Store events come in bursts: refetch at once, then at most every 250 ms.
    let lastLoad = 0;
    const schedule = (now = false) => {
      if (timer !== null) return;
      const wait = now ? 0 : Math.max(0, lastLoad + 250 - performance.now());
      timer = setTimeout(() => {
        timer = null;
        lastLoad = performance.now();
        load();
      }, wait);
    };
    load();
    const off = ctx.live.subscribe(["tokens", "connections", "cdna", "metrics", "events"], (ev: LiveEvent) => {
      if (ev.type === "metrics" && ev.data) {
        const d = ev.data as Record<string, number>;
        const t = Date.now() / 1000;
        setMetrics(d);
        if (typeof d.tokens === "number" && typeof d.connections === "number") setCounts({ tokens: d.tokens, connections: d.connections });
        rates.current.push(t, [d.requests_per_s ?? null, d.events_per_s ?? null]);
        sizes.current.push(t, [d.tokens ?? null, d.connections ?? null]);
        memory.current.push(t, [d.memory_bytes ?? null]);
        setVersion((v) => v + 1);
        return;
      }
      const n = typeof ev.data?.count === "number" ? ev.data.count : 0;
      const dt = ev.type === "token.created" ? n : ev.type === "token.deleted" ? -n : 0;
      const removed = ev.type === "token.deleted" && typeof ev.data?.connections === "number" ? ev.data.connections : 0;
      const dc = ev.type === "connection.created" ? n : ev.type === "connection.deleted" ? -n : -removed;
      if (dt || dc) {
        // Paint the new figures now; the refetch below confirms them.
        bumps++;
        setCounts((c) => c && { tokens: c.tokens + dt, connections: c.connections + dc });
      }
      schedule(ev.type === "resync");
    });
    return () => {
      alive = false;
      off();
      if (timer !== null) clearTimeout(timer);
    };
  }, [ctx]);

  const tokens = counts?.tokens;
  const connections = counts?.connections;
  const palette = [cssVar("--accent") || "#1976d2", cssVar("--accent2") || "#e65100"];
  return (
    <div class="overview">
      <ErrorBox error={error} />
      <div class="metrics">
        <Metric id="tokens" label="Tokens" value={fmtInt(tokens)} />
        <Metric id="connections" label="Connections" value={fmtInt(connections)} />
        <Metric id="memory" label="Memory" value={fmtBytes(metrics.memory_bytes)} />
        <Metric id="requests" label="Requests/s" value={fmtRate(metrics.requests_per_s)} />
        <Metric id="refusals" label="Guardian refusals" value={fmtInt(status?.rejections_total)} />
      </div>
      <div class="grid2">
        <Chart
          title="Requests and events per second"
          series={rates.current}
          labels={["requests/s", "events/s"]}
          colors={palette}
          version={version}
          ctx={ctx}
        />
        <Chart
          title="Tokens and connections"
          series={sizes.current}
          labels={["tokens", "connections"]}
          colors={palette}
          version={version}
          ctx={ctx}
          fmt={(v) => fmtInt(v)}
        />
        <Chart title="Memory" series={memory.current} labels={["resident"]} colors={palette} version={version} ctx={ctx} fmt={fmtBytes} />
        <Card title="Status">
          <dl class="kv" data-status>
            <dt>Server</dt>
            <dd>{status ? `up ${fmtUptime(status.uptime_seconds)}, ${fmtInt(status.http.open_connections)} open connections` : "—"}</dd>
            <dt>Requests</dt>
            <dd>{status ? fmtInt(status.http.requests_total) : "—"}</dd>
            <dt>CDNA</dt>
            <dd>{status ? `revision ${status.cdna_revision}` : "—"}</dd>
            <dt>Labels</dt>
            <dd>{status ? fmtInt(status.labels) : "—"}</dd>
            <dt>Guardian events</dt>
            <dd>{status ? `${fmtInt(status.events_total)} (${fmtInt(status.rejections_total)} refused)` : "—"}</dd>
            <dt>Bootstrap</dt>
            <dd>{status ? (status.bootstrap ? "done" : "not run") : "—"}</dd>
          </dl>
        </Card>
      </div>
      <div class="grid2">
        <Card title="Recent Guardian events">
          <Activity
            rows={events.map((e) => ({ time: e.time, what: `${e.kind} ${e.target}`, ok: e.accepted, note: e.reason }))}
            empty="No events yet."
          />
        </Card>
        {ctx.session.isAdmin && (
          <Card title="Recent audit entries">
            <Activity
              rows={audit.map((a) => ({
                time: a.time,
                what: `${a.principal ?? "?"} ${a.method} ${a.route}`,
                ok: a.status < 400,
                note: a.reason ?? (a.status >= 400 ? String(a.status) : ""),
              }))}
              empty="No audit entries yet."
            />
          </Card>
        )}
      </div>
    </div>
  );
}

function fmtUptime(s: number): string {
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function Activity(props: { rows: { time: number; what: string; ok: boolean; note: string }[]; empty: string }) {
  if (!props.rows.length) return <p class="muted">{props.empty}</p>;
  return (
    <ul class="activity">
      {props.rows.map((r, i) => (
        <li key={i} class={r.ok ? "" : "refused"}>
          <time>{fmtTime(r.time)}</time> <span>{r.what}</span>
          {r.note && <span class="note"> — {r.note}</span>}
        </li>
      ))}
    </ul>
  );
}

export default preactPage("overview", "Overview", Overview);
