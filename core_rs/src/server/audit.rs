//! The audit log: every write (who, role, key, IP, route, ids or counts, outcome, Guardian
//! reason, request id, duration) as one JSON line in `state_dir/audit/audit.jsonl`, rotated by
//! size (`audit.1.jsonl` is the newest old file), plus an in-memory ring read by
//! `GET /api/v1/audit`. Lines go to a writer thread through a bounded channel, so a slow disk
//! never stalls a request (when the channel is full the line is kept in the ring only and
//! counted in [`Audit::dropped`]). Bodies and secrets are never logged.

use super::auth::{Principal, StateDir};
use super::clock::Clock;
use super::limit::ClientIp;
use super::problem::Problem;
use super::security::RequestId;
use super::AppState;
use crate::storage::events::{Change, StoreEvent};
use crate::storage::RuntimeStorage;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
#[cfg(unix)]
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Weak};

/// What a write handler tells the audit log about its effect; attach it to the response with
/// `axum::Extension(AuditNote { .. })`.
#[derive(Clone, Debug, Default)]
pub struct AuditNote {
    /// The ids the write created, changed or deleted (a batch: the first few).
    pub ids: Vec<u32>,
    /// How many records the write touched.
    pub count: usize,
}

/// At most this many ids are kept per entry.
pub const MAX_IDS: usize = 32;

/// One audit record.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Position in the log (1, 2, ...); `?after=` pages on it.
    pub seq: u64,
    /// Unix seconds.
    pub time: f64,
    /// Who: a user name, `kernel` for notebook writes, `null` when unauthenticated.
    pub principal: Option<String>,
    /// The principal's role.
    pub role: Option<String>,
    /// API key id, when a key was used.
    pub key_id: Option<String>,
    /// Client address (see trusted proxies).
    pub ip: Option<String>,
    /// HTTP method (`KERNEL` for notebook writes).
    pub method: String,
    /// The route template (e.g. `/api/v1/tokens/{id}`), never the raw path.
    pub route: String,
    /// Ids the write touched (at most 32).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<u32>,
    /// How many records the write touched, when known.
    pub count: Option<usize>,
    /// HTTP status of the answer.
    pub status: u16,
    /// The Guardian's (or validation's) reason for a refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `X-Request-Id` of the request.
    pub request_id: Option<String>,
    /// Time spent handling the request.
    pub duration_ms: f64,
    /// Where the write came from: `api` or `kernel`.
    pub origin: String,
}

/// Which entries [`Audit::read`] returns.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct AuditFilter {
    /// Only this principal.
    pub principal: Option<String>,
    /// Only this route template.
    pub route: Option<String>,
    /// Only entries with status >= 400 (`true`) or < 400 (`false`).
    pub failed: Option<bool>,
}

enum Msg {
    Line(String),
    Flush(mpsc::SyncSender<()>),
}

/// The audit log.
pub struct Audit {
    seq: AtomicU64,
    ring: Mutex<VecDeque<AuditEntry>>,
    ring_cap: usize,
    tx: Mutex<Option<mpsc::SyncSender<Msg>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    dropped: AtomicU64,
    dir: PathBuf,
    clock: Clock,
    /// The store sink auditing notebook writes, removed at the latest when the log is dropped.
    sink: Mutex<Option<(u64, Weak<RuntimeStorage>)>>,
    _state: Arc<StateDir>,
}

impl Audit {
    /// Open the log under `state/audit/` with the sizes from `config`.
    pub fn open(config: &super::Config, state: &Arc<StateDir>) -> Result<Audit, super::StartError> {
        let dir = state.subdir("audit")?;
        let mut w = Writer {
            dir: dir.clone(),
            max_bytes: config.audit_max_bytes.max(1024),
            keep: config.audit_keep.max(1),
            file: None,
            size: 0,
        };
        w.reopen()?;
        let (tx, rx) = mpsc::sync_channel::<Msg>(8192);
        let writer = std::thread::Builder::new()
            .name("ng-audit".into())
            .spawn(move || w.run(rx))?;
        Ok(Audit {
            seq: AtomicU64::new(0),
            ring: Mutex::new(VecDeque::new()),
            ring_cap: config.audit_ring.max(1),
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            dropped: AtomicU64::new(0),
            dir,
            clock: config.clock.clone(),
            sink: Mutex::new(None),
            _state: state.clone(),
        })
    }

    /// The directory of the log files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Lines that could not be queued for the file (they are still in the ring).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Append `entry` (its `seq` and, if zero, its `time` are set here). Never blocks on disk.
    pub fn record(&self, mut entry: AuditEntry) -> u64 {
        if entry.time == 0.0 {
            entry.time = self.clock.now();
        }
        entry.ids.truncate(MAX_IDS);
        let mut ring = self.ring.lock();
        // Numbered under the ring's lock so the ring and the file stay in order.
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        entry.seq = seq;
        if let Ok(line) = serde_json::to_string(&entry) {
            let sent = match self.tx.lock().as_ref() {
                Some(tx) => tx.try_send(Msg::Line(line)).is_ok(),
                None => false,
            };
            if !sent {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        if ring.len() >= self.ring_cap {
            ring.pop_front();
        }
        ring.push_back(entry);
        seq
    }

    /// Entries with `seq > after`, oldest first, at most `limit`, matching `filter`.
    pub fn read(&self, after: u64, limit: usize, filter: &AuditFilter) -> Vec<AuditEntry> {
        let ring = self.ring.lock();
        ring.iter()
            .filter(|e| e.seq > after)
            .filter(|e| {
                filter
                    .principal
                    .as_ref()
                    .is_none_or(|p| e.principal.as_ref() == Some(p))
                    && filter.route.as_ref().is_none_or(|r| &e.route == r)
                    && filter.failed.is_none_or(|f| (e.status >= 400) == f)
            })
            .take(limit)
            .cloned()
            .collect()
    }

    /// The newest sequence number given out.
    pub fn last_seq(&self) -> u64 {
        self.seq.load(Ordering::Relaxed)
    }

    /// Also audit writes the notebook makes on `store` (origin `kernel`; API writes are
    /// audited by the middleware with more detail). Learning updates are not audited.
    pub fn attach(self: &Arc<Self>, store: &Arc<RuntimeStorage>) {
        let me: Weak<Audit> = Arc::downgrade(self);
        let id = store.add_sink(Arc::new(move |ev: &StoreEvent<'_>| {
            if ev.origin != "kernel" {
                return;
            }
            let Some(audit) = me.upgrade() else { return };
            if let Some(e) = kernel_entry(&ev.change) {
                audit.record(e);
            }
        }));
        if let Some((old, _)) = self.sink.lock().replace((id, Arc::downgrade(store))) {
            store.remove_sink(old);
        }
    }

    /// Stop auditing notebook writes on `store` (server stop).
    pub fn detach(&self, store: &RuntimeStorage) {
        if let Some((id, _)) = self.sink.lock().take() {
            store.remove_sink(id);
        }
    }

    /// Wait until every line recorded so far is written and flushed.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::sync_channel(1);
        let sent = self
            .tx
            .lock()
            .as_ref()
            .is_some_and(|s| s.send(Msg::Flush(tx)).is_ok());
        if sent {
            let _ = rx.recv();
        }
    }
}

impl Drop for Audit {
    fn drop(&mut self) {
        if let Some((id, store)) = self.sink.lock().take() {
            if let Some(store) = store.upgrade() {
                store.remove_sink(id);
            }
        }
        self.tx.lock().take();
        if let Some(t) = self.writer.lock().take() {
            let _ = t.join();
        }
    }
}

/// The audit entry for a notebook write (`None`: not audited).
fn kernel_entry(c: &Change<'_>) -> Option<AuditEntry> {
    let (route, ids, count, status, reason): (&str, &[u32], usize, u16, Option<String>) = match c {
        Change::TokensCreated(ids) => ("tokens.created", ids, ids.len(), 200, None),
        Change::TokenUpdated(id) => ("token.updated", std::slice::from_ref(id), 1, 200, None),
        Change::TokensDeleted { ids, .. } => ("tokens.deleted", ids, ids.len(), 200, None),
        Change::ConnectionsCreated(ids) => ("connections.created", ids, ids.len(), 200, None),
        Change::ConnectionsDeleted(ids) => ("connections.deleted", ids, ids.len(), 200, None),
        Change::ConnectionsLearned(_) => return None,
        Change::CdnaChanged => ("cdna.updated", &[], 1, 200, None),
        Change::Reset { reason } => ("reset", &[], 0, 200, Some(reason.to_string())),
        Change::Refused { action, reason } => {
            ("refused", &[], 0, 422, Some(format!("{action}: {reason}")))
        }
    };
    Some(AuditEntry {
        principal: Some("kernel".into()),
        method: "KERNEL".into(),
        route: route.into(),
        ids: ids.iter().take(MAX_IDS).copied().collect(),
        count: Some(count),
        status,
        reason,
        origin: "kernel".into(),
        ..AuditEntry::default()
    })
}

struct Writer {
    dir: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: Option<BufWriter<File>>,
    size: u64,
}

impl Writer {
    fn path(&self, n: usize) -> PathBuf {
        if n == 0 {
            self.dir.join("audit.jsonl")
        } else {
            self.dir.join(format!("audit.{n}.jsonl"))
        }
    }

    fn reopen(&mut self) -> std::io::Result<()> {
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let f = opts.open(self.path(0))?;
        self.size = f.metadata()?.len();
        self.file = Some(BufWriter::new(f));
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        if let Some(mut f) = self.file.take() {
            f.flush()?;
        }
        let _ = fs::remove_file(self.path(self.keep));
        for n in (0..self.keep).rev() {
            let from = self.path(n);
            if from.exists() {
                fs::rename(&from, self.path(n + 1))?;
            }
        }
        self.reopen()
    }

    fn write(&mut self, line: &str) {
        if self.size > 0 && self.size + line.len() as u64 + 1 > self.max_bytes {
            let _ = self.rotate();
        }
        if self.file.is_none() {
            let _ = self.reopen();
        }
        if let Some(f) = self.file.as_mut() {
            if f.write_all(line.as_bytes())
                .and_then(|_| f.write_all(b"\n"))
                .is_ok()
            {
                self.size += line.len() as u64 + 1;
            }
        }
    }

    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        while let Ok(first) = rx.recv() {
            let mut next = Some(first);
            // Drain what is queued, then flush once.
            while let Some(m) = next {
                match m {
                    Msg::Line(l) => self.write(&l),
                    Msg::Flush(done) => {
                        if let Some(f) = self.file.as_mut() {
                            let _ = f.flush();
                        }
                        let _ = done.send(());
                    }
                }
                next = rx.try_recv().ok();
            }
            if let Some(f) = self.file.as_mut() {
                let _ = f.flush();
            }
        }
        if let Some(mut f) = self.file.take() {
            let _ = f.flush();
        }
    }
}

async fn audit_mw(State(app): State<AppState>, req: Request, next: Next) -> Response {
    if super::auth::is_safe(req.method()) {
        return next.run(req).await;
    }
    let start = std::time::Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    let who = req.extensions().get::<Principal>().cloned();
    let ip = req.extensions().get::<ClientIp>().map(|c| c.0.to_string());
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let resp = next.run(req).await;
    let who = who.or_else(|| resp.extensions().get::<Principal>().cloned());
    let note = resp.extensions().get::<AuditNote>();
    let problem = resp.extensions().get::<Problem>();
    let entry = AuditEntry {
        seq: 0,
        time: 0.0,
        principal: who.as_ref().map(|p| p.name.clone()),
        role: who.as_ref().map(|p| p.role.as_str().to_string()),
        key_id: who.as_ref().and_then(|p| p.key_id.clone()),
        ip,
        method,
        route,
        ids: note.map(|n| n.ids.clone()).unwrap_or_default(),
        count: note.map(|n| n.count),
        status: resp.status().as_u16(),
        reason: problem.and_then(|p| p.reason.clone().or_else(|| p.field.clone())),
        request_id,
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        origin: "api".into(),
    };
    app.audit.record(entry);
    resp
}

/// The audit middleware (writes only: not GET, HEAD or OPTIONS).
pub fn layer(app: Router<AppState>, state: &AppState) -> Router<AppState> {
    app.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        audit_mw,
    ))
}
