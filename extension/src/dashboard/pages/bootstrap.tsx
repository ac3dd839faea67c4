// Bootstrap: upload an embeddings file (word2vec/GloVe/fastText text or word2vec .bin) and
// bootstrap it into the runtime, with a progress bar, cancel and the report.
//
// The job API (routes/bootstrap.rs): POST /bootstrap (options) -> job; PUT
// /bootstrap/{job}/file streams the file (XMLHttpRequest, for upload progress); the job then
// parses and bootstraps on the server: its progress comes from `bootstrap.*` events on the
// `events` channel and from polling GET /bootstrap/{job}; DELETE cancels.
import { useEffect, useRef, useState } from "preact/hooks";
import { API_BASE, ApiError } from "../api";
import { Card, ErrorBox, fmtBytes, fmtInt, fmtTime, preactPage } from "../ui";
import type { PageCtx } from "./index";

export type JobState = "uploading" | "parsing" | "bootstrapping" | "done" | "failed" | "cancelled";

export interface JobReport {
  words: number;
  dim: number;
  spaces: string[];
  skipped: number;
  collisions: number;
  collision_examples: [string, number, number][];
  explained_variance_ratio: number[];
  connections: number;
  dropped_for_degree: number;
  seconds: number;
}

export interface Job {
  id: string;
  state: JobState;
  owner: string;
  name: string | null;
  format: string;
  size: number | null;
  received: number;
  done: number;
  total: number;
  created: number;
  finished: number | null;
  committed: boolean;
  report: JobReport | null;
  error: { detail?: string; title?: string; status?: number } | null;
}

export const FINISHED: JobState[] = ["done", "failed", "cancelled"];

const POLL_MS = 250;

/** The progress bar of a job: [done, total] of the current step and its label. While the
 * browser uploads, `upload` ([loaded, total]) is the truth. */
export function progressOf(job: Job | null, upload: [number, number] | null): { value: number; max: number; label: string } {
  if (upload && (!job || job.state === "uploading")) {
    const [loaded, total] = upload;
    const pct = total > 0 ? Math.floor((100 * loaded) / total) : 0;
    return { value: loaded, max: Math.max(total, 1), label: `Uploading ${pct}% (${fmtBytes(loaded)} of ${fmtBytes(total)})` };
  }
  if (!job) return { value: 0, max: 1, label: "" };
  const pct = job.total > 0 ? Math.floor((100 * job.done) / job.total) : 0;
  switch (job.state) {
    case "uploading":
      return { value: job.received, max: Math.max(job.size ?? job.received, 1), label: `Uploading (${fmtBytes(job.received)})` };
    case "parsing":
      return { value: job.done, max: Math.max(job.total, 1), label: `Reading the file ${pct}%` };
    case "bootstrapping":
      return {
        value: job.done,
        max: Math.max(job.total, 1),
        label: job.committed ? "Writing into the runtime…" : `Placing words and weaving neighbours ${pct}%`,
      };
    case "done":
      return { value: 1, max: 1, label: `Done: ${fmtInt(job.report?.words)} words` };
    case "failed":
      return { value: 0, max: 1, label: "Failed" };
    default:
      return { value: 0, max: 1, label: "Cancelled: the runtime is unchanged" };
  }
}

/** PUT the file with upload progress (fetch has none); resolves with the job or rejects with
 * an ApiError (a problem) or an AbortError. */
function uploadFile(id: string, file: Blob, onProgress: (loaded: number, total: number) => void, signal: AbortSignal): Promise<Job> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", `${API_BASE}/bootstrap/${encodeURIComponent(id)}/file`);
    xhr.withCredentials = true;
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.upload.onload = () => onProgress(file.size, file.size);
    xhr.onload = () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(xhr.responseText || "{}");
      } catch {
        body = {};
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as unknown as Job);
      else reject(new ApiError(xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(0, { title: "Network error", detail: "the upload did not reach the server" }));
    xhr.onabort = () => reject(new DOMException("upload cancelled", "AbortError"));
    signal.addEventListener("abort", () => xhr.abort());
    xhr.send(file);
  });
}

function Report({ r }: { r: JobReport }) {
  const ev = r.explained_variance_ratio;
  const shown = ev.slice(0, 6).map((x) => `${(100 * x).toFixed(1)}%`);
  const rest = ev.slice(6).reduce((a, b) => a + b, 0);
  return (
    <dl class="kv" data-report>
      <dt>Words placed</dt>
      <dd data-report-words>{fmtInt(r.words)}</dd>
      <dt>Dimensions</dt>
      <dd>{r.dim}</dd>
      <dt>Spaces</dt>
      <dd>{r.spaces.join(", ")}</dd>
      <dt>Connections woven</dt>
      <dd data-report-connections>{fmtInt(r.connections)}</dd>
      <dt>Dropped for degree limits</dt>
      <dd>{fmtInt(r.dropped_for_degree)}</dd>
      <dt>Id collisions</dt>
      <dd>
        {fmtInt(r.collisions)}
        {r.collision_examples.length > 0 && (
          <span class="muted">
            {" "}
            (e.g.{" "}
            {r.collision_examples
              .slice(0, 3)
              .map((c) => c[0])
              .join(", ")}
            )
          </span>
        )}
      </dd>
      <dt>Bad lines skipped</dt>
      <dd>{fmtInt(r.skipped)}</dd>
      <dt>Explained variance</dt>
      <dd>
        {shown.join(", ")}
        {ev.length > 6 && ` + ${(100 * rest).toFixed(1)}% in ${ev.length - 6} more axes`}
      </dd>
      <dt>Time</dt>
      <dd>{r.seconds.toFixed(2)} s</dd>
    </dl>
  );
}

function Bootstrap({ ctx }: { ctx: PageCtx }) {
  const canWrite = ctx.session.isAdmin;
  const [file, setFile] = useState<File | null>(null);
  const [k, setK] = useState("10");
  const [replace, setReplace] = useState(false);
  const [skip, setSkip] = useState(false);
  const [job, setJob] = useState<Job | null>(null);
  const [upload, setUpload] = useState<[number, number] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [jobs, setJobs] = useState<Job[]>([]);
  // every step the current job was seen in, for the record (and the browser tests)
  const [seen, setSeen] = useState<string[]>([]);
  const abort = useRef<AbortController | null>(null);
  const alive = useRef(true);
  const jobRef = useRef<Job | null>(null);

  const see = (j: Job | null) => {
    jobRef.current = j;
    setJob(j);
    if (j) setSeen((s) => (s.includes(j.state) ? s : [...s, j.state]));
  };

  const loadJobs = async () => {
    try {
      const r = await ctx.api<Job[]>("GET", "/bootstrap");
      if (!alive.current) return r.data;
      setJobs(r.data);
      return r.data;
    } catch (e) {
      if (alive.current) setError(e);
      return [];
    }
  };

  const refresh = async (id: string) => {
    try {
      const r = await ctx.api<Job>("GET", `/bootstrap/${encodeURIComponent(id)}`);
      if (alive.current && jobRef.current?.id === id) see(r.data);
      if (FINISHED.includes(r.data.state)) loadJobs();
    } catch (e) {
      if (alive.current) setError(e);
    }
  };

  useEffect(() => {
    alive.current = true;
    // pick up a job that is still running (e.g. after a reload)
    loadJobs().then((list) => {
      const active = list.find((j) => !FINISHED.includes(j.state));
      if (active && alive.current && !jobRef.current) {
        setSeen([]);
        see(active);
      }
    });
    const off = ctx.live.subscribe(["events"], (ev) => {
      const id = jobRef.current?.id;
      if (ev.type === "resync") {
        if (id) refresh(id);
        loadJobs();
        return;
      }
      if (!ev.type.startsWith("bootstrap.") || !id || ev.data?.id !== id) return;
      refresh(id);
    });
    // polling as well: progress events are sampled, and only come while connected
    const timer = setInterval(() => {
      const j = jobRef.current;
      if (j && !FINISHED.includes(j.state) && !(j.state === "uploading" && abort.current)) refresh(j.id);
    }, POLL_MS);
    return () => {
      alive.current = false;
      off();
      clearInterval(timer);
      abort.current?.abort();
    };
  }, [ctx]);

  const start = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    setError(null);
    setSeen([]);
    setUpload([0, file.size]);
    const kn = Number.parseInt(k, 10);
    try {
      const created = await ctx.api<Job>("POST", "/bootstrap", {
        body: {
          name: file.name,
          size: file.size,
          k: Number.isFinite(kn) ? kn : undefined,
          replace,
          errors: skip ? "skip" : "raise",
        },
      });
      see(created.data);
      const ac = new AbortController();
      abort.current = ac;
      const after = await uploadFile(created.data.id, file, (loaded, total) => alive.current && setUpload([loaded, total]), ac.signal);
      abort.current = null;
      if (!alive.current) return;
      setUpload(null);
      see(after);
    } catch (err) {
      abort.current = null;
      if (!alive.current) return;
      setUpload(null);
      const id = jobRef.current?.id;
      if (id) await refresh(id);
      const cancelled = err instanceof ApiError && err.type === "/problems/cancelled";
      if ((err as { name?: string })?.name !== "AbortError" && !cancelled) setError(err);
    }
  };

  const cancel = async () => {
    const j = jobRef.current;
    if (!j) return;
    try {
      const r = await ctx.api<Job>("DELETE", `/bootstrap/${encodeURIComponent(j.id)}`);
      abort.current?.abort();
      if (alive.current) see(r.data);
    } catch (err) {
      if (alive.current) setError(err);
    }
    await refresh(j.id);
  };

  const running = job !== null && !FINISHED.includes(job.state);
  const bar = progressOf(job, upload);
  return (
    <div class="bootstrap">
      {canWrite ? (
        <form class="card" onSubmit={start} data-bootstrap-form>
          <h2>Upload embeddings</h2>
          <p class="muted">
            A word2vec, GloVe or fastText text file (<code>.vec</code>, <code>.txt</code>; the "count dim" header is optional) or a word2vec
            binary (<code>.bin</code>). Words are placed in the spaces by PCA and linked to their nearest neighbours.
          </p>
          <label>
            File
            <input
              type="file"
              data-write
              data-admin
              data-file
              accept=".vec,.txt,.bin,.glove,text/plain,application/octet-stream"
              disabled={running}
              onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
            />
          </label>
          <div class="inline-form">
            <label>
              Neighbours per word (k)
              <input
                type="number"
                min={0}
                max={1000}
                step={1}
                value={k}
                data-write
                data-admin
                onInput={(e) => setK(e.currentTarget.value)}
                disabled={running}
              />
            </label>
            <label class="check">
              <input
                type="checkbox"
                checked={replace}
                data-write
                data-admin
                onChange={(e) => setReplace(e.currentTarget.checked)}
                disabled={running}
              />{" "}
              replace an earlier bootstrap
            </label>
            <label class="check">
              <input
                type="checkbox"
                checked={skip}
                data-write
                data-admin
                onChange={(e) => setSkip(e.currentTarget.checked)}
                disabled={running}
              />{" "}
              skip bad lines
            </label>
          </div>
          <div class="inline-form">
            <button type="submit" data-write data-admin data-start disabled={!file || running}>
              Upload and bootstrap
            </button>
            {running && (
              <button type="button" class="danger" data-write data-admin data-cancel disabled={job?.committed} onClick={cancel}>
                Cancel
              </button>
            )}
          </div>
        </form>
      ) : (
        <Card title="Upload embeddings">
          <p class="muted">Bootstrapping needs the admin role; you can follow jobs below.</p>
        </Card>
      )}
      <ErrorBox error={error} />
      {job && (
        <Card title={`Job ${job.name ?? job.id}`} wide>
          <div data-job={job.id} data-state={job.state} data-seen={seen.join(" ")}>
            {/* per mille of a fixed max: a max that changes between renders would clamp the old
                value, and Preact then keeps a stale value attribute */}
            <progress
              data-progress
              value={Math.round((1000 * Math.min(bar.value, bar.max)) / bar.max)}
              max={1000}
              aria-label="Bootstrap progress"
            />
            <p data-progress-label aria-live="polite">
              {bar.label}
            </p>
            {job.state === "failed" && job.error && (
              <div class="error" role="alert" data-job-error>
                {job.error.detail ?? job.error.title}
              </div>
            )}
            {job.state === "cancelled" && <p data-job-cancelled>The bootstrap was cancelled; the runtime is unchanged.</p>}
            {job.report && <Report r={job.report} />}
          </div>
        </Card>
      )}
      <Card title="Recent jobs" wide>
        <div class="table-wrap">
          <table data-table="bootstrap-jobs">
            <thead>
              <tr>
                <th>Started</th>
                <th>File</th>
                <th>By</th>
                <th>State</th>
                <th>Words</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.id} class={j.state === "failed" ? "refused" : ""}>
                  <td>{fmtTime(j.created)}</td>
                  <td>
                    {j.name ?? "—"} <span class="muted">{fmtBytes(j.received)}</span>
                  </td>
                  <td>{j.owner}</td>
                  <td>{j.state}</td>
                  <td>{j.report ? fmtInt(j.report.words) : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
    </div>
  );
}

export default preactPage("bootstrap", "Bootstrap", Bootstrap);
