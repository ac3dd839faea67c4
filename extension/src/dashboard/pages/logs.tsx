// Logs: the Guardian's events (every write it accepted or refused) and, for admins, the audit
// log; filterable, live (refetched on the `events` channel).
import { useEffect, useMemo, useState } from "preact/hooks";
import { Card, ErrorBox, fmtTime, preactPage } from "../ui";
import type { PageCtx } from "./index";

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
  role: string | null;
  method: string;
  route: string;
  status: number;
  reason: string | null;
  origin: string;
  duration_ms: number;
}

/** Rows whose text contains every word of `filter` (case-insensitive). */
export function matches(text: string, filter: string): boolean {
  const t = text.toLowerCase();
  return filter
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => t.includes(w));
}

const LAST = 500;

function Logs({ ctx }: { ctx: PageCtx }) {
  const [events, setEvents] = useState<GuardianEvent[]>([]);
  const [audit, setAudit] = useState<AuditEntry[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [filter, setFilter] = useState(ctx.params.get("q") ?? "");
  const [refusedOnly, setRefusedOnly] = useState(ctx.params.get("refused") === "1");
  const [tab, setTab] = useState<"events" | "audit">(ctx.params.get("tab") === "audit" && ctx.session.isAdmin ? "audit" : "events");

  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const load = async () => {
      try {
        const ev = await ctx.api<GuardianEvent[]>("GET", `/events?last=${LAST}`);
        let au: AuditEntry[] = [];
        if (ctx.session.isAdmin) {
          const head = await ctx.api<{ last_seq: number }>("GET", "/audit?limit=1");
          const after = Math.max(0, head.data.last_seq - LAST);
          const out: AuditEntry[] = [];
          let cur = after;
          for (let i = 0; i < 5; i++) {
            const page = await ctx.api<{ entries: AuditEntry[]; next_after: number }>("GET", `/audit?after=${cur}&limit=1000`);
            out.push(...page.data.entries);
            if (!page.data.entries.length || page.data.next_after <= cur) break;
            cur = page.data.next_after;
          }
          au = out;
        }
        if (!alive) return;
        setEvents(ev.data.slice().reverse());
        setAudit(au.slice().reverse());
        setError(null);
      } catch (e) {
        if (alive) setError(e);
      }
    };
    load();
    const off = ctx.live.subscribe(["events", "tokens", "connections", "cdna"], () => {
      if (timer === null)
        timer = setTimeout(() => {
          timer = null;
          load();
        }, 300);
    });
    return () => {
      alive = false;
      off();
      if (timer !== null) clearTimeout(timer);
    };
  }, [ctx]);

  const shownEvents = useMemo(
    () => events.filter((e) => (!refusedOnly || !e.accepted) && matches(`${e.kind} ${e.target} ${e.reason}`, filter)),
    [events, filter, refusedOnly],
  );
  const shownAudit = useMemo(
    () =>
      audit.filter(
        (a) =>
          (!refusedOnly || a.status >= 400) &&
          matches(`${a.principal ?? ""} ${a.role ?? ""} ${a.method} ${a.route} ${a.status} ${a.reason ?? ""} ${a.origin}`, filter),
      ),
    [audit, filter, refusedOnly],
  );

  return (
    <div class="logs">
      <div class="toolbar">
        {ctx.session.isAdmin && (
          <div class="tabs" role="tablist">
            <button type="button" role="tab" aria-selected={tab === "events"} onClick={() => setTab("events")}>
              Guardian events
            </button>
            <button type="button" role="tab" aria-selected={tab === "audit"} onClick={() => setTab("audit")}>
              Audit log
            </button>
          </div>
        )}
        <input
          type="search"
          aria-label="Filter"
          placeholder="Filter (words)…"
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
          data-filter
        />
        <label class="check">
          <input type="checkbox" checked={refusedOnly} onChange={(e) => setRefusedOnly(e.currentTarget.checked)} /> refused only
        </label>
      </div>
      <ErrorBox error={error} />
      {tab === "events" ? (
        <Card title={`Guardian events (${shownEvents.length} of the last ${events.length})`} wide>
          <div class="table-wrap">
            <table data-table="events">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Kind</th>
                  <th>Target</th>
                  <th>Result</th>
                  <th>Reason</th>
                </tr>
              </thead>
              <tbody>
                {shownEvents.map((e, i) => (
                  <tr key={i} class={e.accepted ? "" : "refused"}>
                    <td>{fmtTime(e.time)}</td>
                    <td>{e.kind}</td>
                    <td>{e.target}</td>
                    <td>{e.accepted ? "accepted" : "refused"}</td>
                    <td>{e.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      ) : (
        <Card title={`Audit log (${shownAudit.length} of the last ${audit.length})`} wide>
          <div class="table-wrap">
            <table data-table="audit">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Who</th>
                  <th>Request</th>
                  <th>Status</th>
                  <th>Reason</th>
                  <th>ms</th>
                </tr>
              </thead>
              <tbody>
                {shownAudit.map((a) => (
                  <tr key={a.seq} class={a.status >= 400 ? "refused" : ""}>
                    <td>{fmtTime(a.time)}</td>
                    <td>
                      {a.principal ?? "—"} <span class="muted">{a.origin}</span>
                    </td>
                    <td>
                      {a.method} {a.route}
                    </td>
                    <td>{a.status}</td>
                    <td>{a.reason ?? ""}</td>
                    <td>{a.duration_ms.toFixed(1)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
    </div>
  );
}

export default preactPage("logs", "Logs", Logs);
