// CDNA: profile, distance scales, flags, bounds and degree limits, history and rollback.
//
// Every change goes through the API (so the Guardian checks it) with `If-Match` set to the
// ETag the change was made against: a refusal shows the Guardian's reason and the control
// snaps back to the stored value; a change the notebook made meanwhile (412) is shown as a
// conflict (the current values stay, the user may re-apply theirs on top). Live: refetched on
// every `cdna` event (and on resync). An edit being typed keeps the ETag it started from, so
// a notebook change arriving meanwhile is a conflict, never silently overwritten.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import { Card, ErrorBox, fmtTime, preactPage } from "../ui";
import type { PageCtx } from "./index";

export interface CdnaOut {
  profile: string;
  profile_state: string;
  revision: number;
  checksum: string;
  created: number;
  modified: number;
  flags: Record<string, boolean>;
  scales: Record<string, number>;
  bucket_sizes: Record<string, number>;
  fields: Record<string, number>;
  forbidden_kinds: string[];
}

export interface HistoryEntry {
  revision: number;
  profile: string;
  changed_at: number;
  change: string;
  checksum: string;
}

/** One write to the CDNA: what the API needs and how to describe it. */
export interface CdnaWrite {
  method: "PUT" | "PATCH" | "POST";
  path: string;
  body: unknown;
  /** Human description, e.g. "max_out_degree = 50". */
  what: string;
}

export const PROFILES = ["default", "explorer", "analyst", "creative"];
/** The space order of the core (L1..L8). */
export const SPACES = ["physical", "sensory", "motor", "emotional", "cognitive", "social", "temporal", "abstract"];

/** The numeric fields in three groups: degree limits, min/max bounds, the rest. */
export function groupFields(fields: Record<string, number>): { degree: string[]; bounds: string[]; other: string[] } {
  const names = Object.keys(fields);
  const degree = names.filter((n) => n.includes("degree"));
  const bounds = names.filter((n) => !n.includes("degree") && /_(min|max)$/.test(n));
  const other = names.filter((n) => !degree.includes(n) && !bounds.includes(n));
  const pairOrder = (a: string, b: string) =>
    a.replace(/_(min|max)$/, "").localeCompare(b.replace(/_(min|max)$/, "")) || (a.endsWith("_min") ? -1 : 1);
  bounds.sort(pairOrder);
  return { degree, bounds, other };
}

/** A number as the inputs show it (float32 noise trimmed). */
export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number.parseFloat(v.toPrecision(6)));
}

/** Parse what was typed; null when it is not a finite number. */
export function parseNum(s: string): number | null {
  const t = s.trim();
  if (!t) return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

interface Refusal {
  what: string;
  detail: string;
  reason: string | null;
  field: string | null;
}

interface Conflict {
  mine: CdnaWrite;
  revision: number;
}

/** A number input that keeps what is typed (and the ETag it started from) until committed
 * with Enter or by leaving it; then the stored value shows again (snap back on refusal). */
function NumberField(props: {
  name: string;
  label: string;
  value: number;
  etag: string | null;
  canWrite: boolean;
  integer?: boolean;
  onCommit: (v: number, base: string | null) => void;
}) {
  const [draft, setDraft] = useState<string | null>(null);
  const base = useRef<string | null>(null);
  if (!props.canWrite)
    return (
      <div class="cdna-field">
        <span class="cdna-label">{props.label}</span>
        <output data-field={props.name}>{fmtNum(props.value)}</output>
      </div>
    );
  const commit = () => {
    if (draft === null) return;
    const v = parseNum(draft);
    const from = base.current;
    setDraft(null);
    base.current = null;
    if (v === null || v === props.value) return;
    props.onCommit(v, from);
  };
  return (
    <label class="cdna-field">
      <span class="cdna-label">{props.label}</span>
      <input
        type="number"
        step={props.integer ? 1 : "any"}
        data-write
        data-admin
        data-field={props.name}
        value={draft ?? fmtNum(props.value)}
        onInput={(e) => {
          if (draft === null) base.current = props.etag;
          setDraft(e.currentTarget.value);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit();
          if (e.key === "Escape") {
            setDraft(null);
            base.current = null;
          }
        }}
        onBlur={commit}
      />
    </label>
  );
}

function Cdna({ ctx }: { ctx: PageCtx }) {
  const [cdna, setCdna] = useState<CdnaOut | null>(null);
  const [etag, setEtag] = useState<string | null>(null);
  const [history, setHistory] = useState<HistoryEntry[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [busy, setBusy] = useState(false);
  // bumped to remount the controls from the stored values (a refused change snaps back)
  const [formKey, setFormKey] = useState(0);
  const canWrite = ctx.session.isAdmin;
  const alive = useRef(true);

  const load = useCallback(async (): Promise<CdnaOut | null> => {
    try {
      const [c, h] = await Promise.all([ctx.api<CdnaOut>("GET", "/cdna"), ctx.api<HistoryEntry[]>("GET", "/cdna/history")]);
      if (!alive.current) return null;
      setCdna(c.data);
      setEtag(c.etag);
      setHistory(h.data);
      setError(null);
      return c.data;
    } catch (e) {
      if (alive.current) setError(e);
      return null;
    }
  }, [ctx]);

  useEffect(() => {
    alive.current = true;
    load();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = ctx.live.subscribe(["cdna"], () => {
      if (timer === null)
        timer = setTimeout(() => {
          timer = null;
          load();
        }, 50);
    });
    return () => {
      alive.current = false;
      off();
      if (timer !== null) clearTimeout(timer);
    };
  }, [ctx, load]);

  const write = async (w: CdnaWrite, base: string | null = etag) => {
    setBusy(true);
    try {
      const r = await ctx.api<CdnaOut>(w.method, w.path, { body: w.body, ifMatch: base ?? etag ?? undefined });
      if (!alive.current) return;
      setCdna(r.data);
      setEtag(r.etag);
      setRefusal(null);
      setConflict(null);
      ctx.toast(`CDNA: ${w.what} (revision ${r.data.revision})`);
      await load();
    } catch (e) {
      if (!alive.current) return;
      if (e instanceof ApiError && e.status === 412) {
        const now = await load();
        setRefusal(null);
        setConflict({ mine: w, revision: now?.revision ?? 0 });
      } else if (e instanceof ApiError && e.status === 422) {
        const p = e.problem;
        setConflict(null);
        setRefusal({
          what: w.what,
          detail: e.detail,
          reason: typeof p.reason === "string" ? p.reason : null,
          field: typeof p.field === "string" ? p.field : null,
        });
        await load();
      } else {
        setError(e);
        await load();
      }
    } finally {
      if (alive.current) {
        setBusy(false);
        setFormKey((k) => k + 1);
      }
    }
  };

  if (!cdna) return <div class="cdna">{error ? <ErrorBox error={error} /> : <p class="muted">Loading the CDNA…</p>}</div>;
  const groups = groupFields(cdna.fields);
  const field = (n: string) => (
    <NumberField
      key={`${n}-${formKey}`}
      name={n}
      label={n}
      value={cdna.fields[n]}
      etag={etag}
      canWrite={canWrite}
      integer={n.includes("degree")}
      onCommit={(v, base) => write({ method: "PATCH", path: "/cdna", body: { fields: { [n]: v } }, what: `${n} = ${fmtNum(v)}` }, base)}
    />
  );

  return (
    <div class="cdna" aria-busy={busy}>
      <ErrorBox error={error} />
      {refusal && (
        <div class="error" role="alert" data-refusal>
          <strong>The Guardian refused {refusal.what}.</strong> {refusal.detail}
          {refusal.reason && refusal.reason !== refusal.detail && <div data-reason>{refusal.reason}</div>}
          <div class="muted">The stored value is shown again.</div>
          <button type="button" class="ghost" onClick={() => setRefusal(null)}>
            Dismiss
          </button>
        </div>
      )}
      {conflict && (
        <div class="error conflict" role="alert" data-conflict>
          <strong>The CDNA changed meanwhile</strong> (now revision {conflict.revision}, e.g. from the notebook). Your change{" "}
          <code>{conflict.mine.what}</code> was not applied; the current values are shown.
          <div class="inline-form">
            {canWrite && (
              <button type="button" data-write data-admin onClick={() => write(conflict.mine)}>
                Apply my change on top
              </button>
            )}
            <button type="button" class="ghost" onClick={() => setConflict(null)}>
              Keep theirs
            </button>
          </div>
        </div>
      )}
      <div class="grid2">
        <Card title="Profile">
          <dl class="kv">
            <dt>Revision</dt>
            <dd data-revision>{cdna.revision}</dd>
            <dt>Checksum</dt>
            <dd>
              <code>{cdna.checksum}</code>
            </dd>
            <dt>State</dt>
            <dd>{cdna.profile_state}</dd>
            <dt>Modified</dt>
            <dd>{fmtTime(cdna.modified)}</dd>
          </dl>
          {canWrite ? (
            <label>
              Profile
              <select
                key={`profile-${formKey}`}
                data-write
                data-admin
                data-field="profile"
                value={cdna.profile}
                disabled={busy}
                onChange={(e) => {
                  const p = e.currentTarget.value;
                  write({ method: "PUT", path: "/cdna/profile", body: { profile: p }, what: `profile ${p}` });
                }}
              >
                {(PROFILES.includes(cdna.profile) ? PROFILES : [...PROFILES, cdna.profile]).map((p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <p>
              Profile <strong data-field="profile">{cdna.profile}</strong>
            </p>
          )}
        </Card>
        <Card title="Flags">
          <div class="cdna-flags">
            {Object.entries(cdna.flags).map(([name, on]) =>
              canWrite ? (
                <label class="check" key={`${name}-${formKey}`}>
                  <input
                    type="checkbox"
                    data-write
                    data-admin
                    data-flag={name}
                    checked={on}
                    disabled={busy}
                    onChange={(e) => {
                      const v = e.currentTarget.checked;
                      write({
                        method: "PUT",
                        path: "/cdna/flags",
                        body: { flags: { [name]: v } },
                        what: `flag ${name} ${v ? "on" : "off"}`,
                      });
                    }}
                  />{" "}
                  {name}
                </label>
              ) : (
                <div key={name} data-flag={name}>
                  {on ? "✓" : "✗"} {name}
                </div>
              ),
            )}
          </div>
        </Card>
      </div>
      <Card title="Distance scales (per space)" wide>
        <div class="cdna-fields">
          {SPACES.filter((s) => s in cdna.scales).map((s) => (
            <NumberField
              key={`scale-${s}-${formKey}`}
              name={`scale.${s}`}
              label={s}
              value={cdna.scales[s]}
              etag={etag}
              canWrite={canWrite}
              onCommit={(v, base) =>
                write({ method: "PUT", path: "/cdna/scales", body: { [s]: v }, what: `scale ${s} = ${fmtNum(v)}` }, base)
              }
            />
          ))}
        </div>
      </Card>
      <div class="grid2">
        <Card title="Degree limits">
          <div class="cdna-fields">{groups.degree.map(field)}</div>
        </Card>
        <Card title="Bounds">
          <div class="cdna-fields">{groups.bounds.map(field)}</div>
        </Card>
      </div>
      <Card title="Rates and thresholds" wide>
        <div class="cdna-fields">{groups.other.map(field)}</div>
        {cdna.forbidden_kinds.length > 0 && <p class="muted">Forbidden connection kinds: {cdna.forbidden_kinds.join(", ")}</p>}
      </Card>
      <Card title={`History (${history.length} earlier versions)`} wide>
        <div class="table-wrap">
          <table data-table="cdna-history">
            <thead>
              <tr>
                <th>Revision</th>
                <th>Profile</th>
                <th>Replaced</th>
                <th>By the change</th>
                {canWrite && <th>Roll back</th>}
              </tr>
            </thead>
            <tbody>
              <tr class="current">
                <td>{cdna.revision}</td>
                <td>{cdna.profile}</td>
                <td colSpan={2} class="muted">
                  current
                </td>
                {canWrite && <td />}
              </tr>
              {history
                .map((h, i) => ({ h, steps: history.length - i }))
                .reverse()
                .map(({ h, steps }) => (
                  <tr key={`${h.revision}-${h.checksum}-${steps}`} data-history-revision={h.revision}>
                    <td>{h.revision}</td>
                    <td>{h.profile}</td>
                    <td>{fmtTime(h.changed_at)}</td>
                    <td>{h.change}</td>
                    {canWrite && (
                      <td class="actions">
                        <button
                          type="button"
                          class="ghost"
                          data-write
                          data-admin
                          data-rollback={steps}
                          disabled={busy}
                          onClick={() =>
                            write({ method: "POST", path: "/cdna/rollback", body: { steps }, what: `rollback to revision ${h.revision}` })
                          }
                        >
                          Roll back here
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      </Card>
    </div>
  );
}

export default preactPage("cdna", "CDNA", Cdna);
