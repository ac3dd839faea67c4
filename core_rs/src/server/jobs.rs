//! Bootstrap jobs: an embeddings file uploaded over HTTP, parsed and bootstrapped into the
//! store off the request workers, with progress, cancel and a report (`routes/bootstrap.rs`).
//!
//! A job goes `uploading` (the file streams to a private temporary file) -> `parsing` (the
//! file is read block by block) -> `bootstrapping` (the core's all-or-nothing bootstrap with
//! its [`Progress`]) -> `done` | `failed` | `cancelled`. One job is active at a time (a
//! bootstrap rewrites the runtime). A cancel before the bootstrap's commit point leaves the
//! store as it was; after it the cancel is refused and the job finishes. Every change of
//! state is a `bootstrap.state` event and, while running, `bootstrap.progress` events follow
//! the work (at most a few a second, only while someone listens), both on the `events`
//! channel.

use super::problem::Problem;
use crate::progress::Progress;
use crate::storage::bootstrap::BootReport;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use utoipa::ToSchema;

/// Finished jobs kept for `GET /bootstrap` (older ones are forgotten).
pub const KEEP_FINISHED: usize = 8;
/// An `uploading` job whose upload has not begun this long after it was created is
/// abandoned: a new job may replace it.
pub const ABANDONED_SECS: f64 = 120.0;
/// Collisions listed in a report (all are counted).
pub const MAX_COLLISIONS_SHOWN: usize = 20;

/// The steps of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Uploading,
    Parsing,
    Bootstrapping,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    /// The job is over (its report or error is final).
    pub fn finished(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }
}

/// How to read the file and what to bootstrap (the body of `POST /api/v1/bootstrap`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobOptions {
    /// The file's name as the user knows it (shown in the report and in errors).
    #[serde(default)]
    pub name: Option<String>,
    /// `text` (word2vec/GloVe/fastText text, header optional) or `word2vec-bin`; by default
    /// from the name (`.bin` is binary, anything else text).
    #[serde(default)]
    pub format: Option<String>,
    /// The file's size in bytes, if known (for the upload's progress; a body larger than it
    /// is refused).
    #[serde(default)]
    pub size: Option<u64>,
    /// Spaces to place the words in, or `["auto"]` (default): as many as `min(words, dims) / 3`
    /// allows, abstract first.
    #[serde(default)]
    pub spaces: Option<Vec<String>>,
    /// Neighbours woven per word (default 10; 0: none).
    #[serde(default)]
    pub k: Option<usize>,
    #[serde(default)]
    pub seed: Option<u32>,
    /// Replace an earlier bootstrap.
    #[serde(default)]
    pub replace: Option<bool>,
    /// `raise` (default: a bad line fails the job naming it) or `skip` (bad lines counted).
    #[serde(default)]
    pub errors: Option<String>,
    /// Read at most this many words.
    #[serde(default)]
    pub max_words: Option<usize>,
}

/// What a finished bootstrap did.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct JobReport {
    pub words: usize,
    pub dim: usize,
    pub spaces: Vec<String>,
    /// Bad lines skipped (`errors: "skip"`).
    pub skipped: usize,
    /// Words whose wanted token id was taken (they got another).
    pub collisions: usize,
    /// The first few collisions: `[word, wanted id, given id]`.
    pub collision_examples: Vec<(String, u32, u32)>,
    pub explained_variance_ratio: Vec<f64>,
    pub connections: usize,
    pub dropped_for_degree: usize,
    /// Seconds from the end of the upload to the end of the bootstrap.
    pub seconds: f64,
}

impl JobReport {
    /// The report of `r` for a job that read `skipped` bad lines into `spaces`.
    pub fn new(r: BootReport, spaces: Vec<String>, skipped: usize, seconds: f64) -> JobReport {
        JobReport {
            words: r.words,
            dim: r.dim,
            spaces,
            skipped,
            collisions: r.collisions.len(),
            collision_examples: r
                .collisions
                .into_iter()
                .take(MAX_COLLISIONS_SHOWN)
                .collect(),
            explained_variance_ratio: r.explained_ratio,
            connections: r.connections,
            dropped_for_degree: r.dropped_for_degree,
            seconds,
        }
    }
}

/// A job as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct JobOut {
    pub id: String,
    pub state: JobState,
    /// Who started it.
    pub owner: String,
    pub name: Option<String>,
    pub format: String,
    /// Expected size of the upload (bytes), when given.
    pub size: Option<u64>,
    /// Bytes of the file received so far.
    pub received: u64,
    /// Progress of the current step: `done` of `total` units (bytes while uploading and
    /// parsing, tiles of the neighbour search while bootstrapping; `total` 0 when unknown).
    pub done: u64,
    pub total: u64,
    /// Unix seconds.
    pub created: f64,
    pub finished: Option<f64>,
    /// A cancel is no longer possible (the bootstrap passed its commit point).
    pub committed: bool,
    pub report: Option<JobReport>,
    /// Why it failed or was cancelled.
    pub error: Option<Problem>,
}

/// What changes while a job runs.
#[derive(Debug)]
struct Status {
    state: JobState,
    finished: Option<f64>,
    report: Option<JobReport>,
    error: Option<Problem>,
    /// The file, once uploaded (removed when the job ends).
    file: Option<TempFile>,
}

/// One bootstrap job.
#[derive(Debug)]
pub struct Job {
    pub id: String,
    pub owner: String,
    pub options: JobOptions,
    pub format: Format,
    pub created: f64,
    /// Bytes received / parsed.
    pub received: AtomicU64,
    pub parsed: AtomicU64,
    /// Set by a cancel; the upload and the parser check it between blocks.
    pub cancel: AtomicBool,
    /// An upload is streaming (a second one is refused).
    pub uploading: AtomicBool,
    /// The bootstrap's progress and cancel flag.
    pub progress: Arc<Progress>,
    /// Woken by a cancel (a stalled upload notices it at once).
    pub wake: tokio::sync::Notify,
    status: Mutex<Status>,
}

/// The two file formats an upload may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Word2vecBin,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Word2vecBin => "word2vec-bin",
        }
    }

    /// The format `options` ask for, or guess from the name; 422 for an unknown one.
    pub fn of(options: &JobOptions) -> Result<Format, Problem> {
        match options.format.as_deref() {
            Some("text") => Ok(Format::Text),
            Some("word2vec-bin") | Some("bin") => Ok(Format::Word2vecBin),
            Some(other) => Err(Problem::invalid(
                "format",
                format!("format {other:?}: expected text or word2vec-bin"),
            )),
            None => Ok(match &options.name {
                Some(n) if n.to_ascii_lowercase().ends_with(".bin") => Format::Word2vecBin,
                _ => Format::Text,
            }),
        }
    }
}

impl Job {
    pub fn state(&self) -> JobState {
        self.status.lock().state
    }

    /// The job as the API shows it.
    pub fn out(&self) -> JobOut {
        self.out_of(&self.status.lock())
    }

    fn out_of(&self, s: &Status) -> JobOut {
        let (done, total) = match s.state {
            JobState::Uploading => (
                self.received.load(Ordering::Relaxed),
                self.options.size.unwrap_or(0),
            ),
            JobState::Parsing => (
                self.parsed.load(Ordering::Relaxed),
                self.received.load(Ordering::Relaxed),
            ),
            _ => (self.progress.done(), self.progress.total()),
        };
        JobOut {
            id: self.id.clone(),
            state: s.state,
            owner: self.owner.clone(),
            name: self.options.name.clone(),
            format: self.format.as_str().into(),
            size: self.options.size,
            received: self.received.load(Ordering::Relaxed),
            done,
            total,
            created: self.created,
            finished: s.finished,
            committed: self.progress.committed(),
            report: s.report.clone(),
            error: s.error.clone(),
        }
    }

    /// Move to `state` (no-op once finished); returns whether it moved.
    pub fn set_state(&self, state: JobState) -> bool {
        let mut s = self.status.lock();
        if s.state.finished() {
            return false;
        }
        s.state = state;
        true
    }

    /// End the job with its report or its problem; the file is removed. `announce` gets the
    /// finished job while its state is still held, so that whoever reads the finished state
    /// (`GET /bootstrap/{job}`) finds its event already published.
    pub fn finish(
        &self,
        result: Result<JobReport, (JobState, Problem)>,
        announce: impl FnOnce(JobOut),
    ) {
        let mut s = self.status.lock();
        if s.state.finished() {
            return;
        }
        match result {
            Ok(r) => {
                s.state = JobState::Done;
                s.report = Some(r);
            }
            Err((state, p)) => {
                s.state = state;
                s.error = Some(p);
            }
        }
        s.finished = Some(crate::clock::now_f64());
        s.file = None;
        announce(self.out_of(&s));
        drop(s);
        self.progress.finish();
    }

    /// Keep the uploaded file with the job (removed when it ends).
    pub fn keep_file(&self, f: TempFile) {
        let mut s = self.status.lock();
        if !s.state.finished() {
            s.file = Some(f);
        }
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

/// The problem a cancelled job ends with.
pub fn cancelled_problem() -> Problem {
    Problem::new(
        axum::http::StatusCode::CONFLICT,
        "cancelled",
        "the bootstrap was cancelled; the runtime is unchanged",
    )
}

/// The jobs of one server.
#[derive(Debug, Default)]
pub struct Jobs {
    jobs: Mutex<VecDeque<Arc<Job>>>,
}

impl Jobs {
    /// Start a job for `owner`, unless another is active (409 naming it). An `uploading` job
    /// whose upload never began within [`ABANDONED_SECS`] is cancelled to make room.
    pub fn create(&self, owner: &str, options: JobOptions) -> Result<Arc<Job>, Problem> {
        let format = Format::of(&options)?;
        let now = crate::clock::now_f64();
        let mut jobs = self.jobs.lock();
        if let Some(active) = jobs.iter().find(|j| !j.state().finished()) {
            let abandoned = active.state() == JobState::Uploading
                && !active.uploading.load(Ordering::SeqCst)
                && active.received.load(Ordering::Relaxed) == 0
                && now - active.created > ABANDONED_SECS;
            if !abandoned {
                return Err(Problem::new(
                    axum::http::StatusCode::CONFLICT,
                    "bootstrap-running",
                    format!(
                        "bootstrap job {} ({}) is still {}; wait for it or cancel it",
                        active.id,
                        active.owner,
                        serde_json::to_value(active.state())
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default()
                    ),
                ));
            }
            active.cancel.store(true, Ordering::SeqCst);
            active.finish(Err((JobState::Cancelled, cancelled_problem())), |_| {});
        }
        let id = format!(
            "{:016x}",
            u64::from_le_bytes(super::auth::random_bytes::<8>())
        );
        let job = Arc::new(Job {
            id,
            owner: owner.to_string(),
            options,
            format,
            created: now,
            received: AtomicU64::new(0),
            parsed: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
            uploading: AtomicBool::new(false),
            progress: Arc::new(Progress::new()),
            wake: tokio::sync::Notify::new(),
            status: Mutex::new(Status {
                state: JobState::Uploading,
                finished: None,
                report: None,
                error: None,
                file: None,
            }),
        });
        jobs.push_back(job.clone());
        // forget the oldest finished jobs beyond the kept number
        while jobs.iter().filter(|j| j.state().finished()).count() > KEEP_FINISHED {
            let Some(i) = jobs.iter().position(|j| j.state().finished()) else {
                break;
            };
            jobs.remove(i);
        }
        Ok(job)
    }

    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.jobs.lock().iter().find(|j| j.id == id).cloned()
    }

    /// Every kept job, newest first.
    pub fn list(&self) -> Vec<Arc<Job>> {
        self.jobs.lock().iter().rev().cloned().collect()
    }
}

/// A private temporary file (0600, created new), removed on drop.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// Create an empty file for job `id` in the system's temporary directory.
    pub fn create(id: &str) -> std::io::Result<(TempFile, std::fs::File)> {
        #[cfg(unix)]
        use std::os::unix::fs::OpenOptionsExt;
        let nonce = u64::from_le_bytes(super::auth::random_bytes::<8>());
        let path = std::env::temp_dir().join(format!(
            "ng-bootstrap-{}-{id}-{nonce:016x}.upload",
            std::process::id()
        ));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let f = opts.open(&path)?;
        Ok((TempFile { path }, f))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Write the chunks arriving on `rx` to `f` (on a blocking thread); the bytes written.
pub fn write_chunks(
    mut f: std::fs::File,
    mut rx: tokio::sync::mpsc::Receiver<axum::body::Bytes>,
) -> std::io::Result<u64> {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut f);
    let mut n = 0u64;
    while let Some(b) = rx.blocking_recv() {
        w.write_all(&b)?;
        n += b.len() as u64;
    }
    w.flush()?;
    drop(w);
    f.sync_data().ok();
    Ok(n)
}

pub mod run;
