//! The write journal: every committed change of a store, as a checksummed frame appended to a
//! file in a directory and fsynced in groups, so a write can be acknowledged once it is on disk
//! and a crash loses nothing acknowledged.
//!
//! - [`Journal::open`] recovers: it loads the snapshot (if the file exists), replays every
//!   complete, checksum-valid frame after the sequence number the snapshot covers
//!   (`storage/replay.rs`), cuts a torn last frame off, and refuses a damaged frame in the middle
//!   naming the file and offset. Then it registers itself as a store sink.
//! - The sink (called under the store's write lock, in commit order) copies what the change
//!   left (token records, masks and labels; ids of deletes; connection records; the CDNA) into
//!   a frame with the next sequence number and hands it to the writer thread
//!   (`journal/writer.rs`), which appends and fsyncs in groups and moves
//!   [`Journal::durable_seq`] on. [`Journal::wait_durable`] and [`Journal::durable`] (a future)
//!   wait for a sequence number.
//! - A reset (clear, load, bootstrap, a CDNA clamp, the intuition) cannot be a frame: the sink
//!   writes a snapshot right there, while the write lock is held, so no later write can be
//!   acknowledged before it. The snapshot (written atomically) records in its `JSEQ` section the
//!   last sequence number it covers; then the writer starts segment `JSEQ + 1` and deletes the
//!   older ones. A crash between any two steps loses nothing: replay skips frames the snapshot
//!   covers. The same compaction runs when a segment passes `compact_bytes`, on
//!   [`Journal::compact`] and on [`Journal::close`].

mod frame;
mod recover;
mod segment;
mod writer;

#[cfg(test)]
mod tests;

use crate::storage::events::{Change, Sink, StoreEvent};
use crate::storage::{RuntimeStorage, State};
use parking_lot::{Condvar, Mutex};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};

/// The snapshot section holding the last journal sequence number the snapshot covers.
pub const JSEQ: crate::snapshot::Tag = *b"JSEQ";

/// Everything that can go wrong with a journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "the journal file {} is damaged at byte offset {offset}: {reason}; refusing to start \
         (nothing was skipped; move the journal directory away to start from the snapshot alone, \
         losing the writes it holds)",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("journal I/O on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Snapshot(crate::error::NgError),
    #[error("the journal directory {} is in use by another process", .0.display())]
    InUse(PathBuf),
    /// The journal stopped (a write or fsync failed, or it was closed): later writes are not
    /// durable.
    #[error("the write is applied but not durable: {0}")]
    Failed(String),
}

impl JournalError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        JournalError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Where the journal lives and when it compacts.
#[derive(Clone, Debug)]
pub struct Options {
    /// The journal directory (created if missing).
    pub dir: PathBuf,
    /// The snapshot the journal follows; compactions write it (atomically).
    pub snapshot: PathBuf,
    /// Compact once the current segment passes this many bytes.
    pub compact_bytes: u64,
}

impl Options {
    /// A journal in `dir` over `snapshot`, compacting every 64 MiB.
    pub fn new(dir: impl Into<PathBuf>, snapshot: impl Into<PathBuf>) -> Self {
        Options {
            dir: dir.into(),
            snapshot: snapshot.into(),
            compact_bytes: 64 << 20,
        }
    }
}

enum Msg {
    /// A frame (its sequence number and bytes).
    Frame(u64, Vec<u8>),
    /// The snapshot on disk covers everything up to this sequence number.
    Rotate(u64),
    Stop,
}

#[derive(Default)]
struct Durability {
    durable: u64,
    failed: Option<String>,
    wakers: Vec<(u64, Waker)>,
}

/// What the sink, the writer thread and the handle share.
struct Shared {
    dir: PathBuf,
    snapshot: PathBuf,
    compact_bytes: u64,
    /// Last sequence number handed out (only the sink moves it, under the store's write lock).
    seq: AtomicU64,
    /// Last sequence number the snapshot on disk covers.
    covered: AtomicU64,
    tx: Sender<Msg>,
    dur: Mutex<Durability>,
    cond: Condvar,
    fsyncs: AtomicU64,
    compactions: AtomicU64,
    /// Held by the writer around each group (tests hold it to queue frames deterministically).
    gate: Mutex<()>,
    store: Weak<RuntimeStorage>,
}

impl Shared {
    fn mark_durable(&self, s: u64) {
        let mut d = self.dur.lock();
        if s > d.durable {
            d.durable = s;
            let durable = d.durable;
            d.wakers.retain(|(seq, w)| {
                let done = *seq <= durable;
                if done {
                    w.wake_by_ref();
                }
                !done
            });
        }
        self.cond.notify_all();
    }

    fn fail(&self, why: String) {
        let mut d = self.dur.lock();
        d.failed.get_or_insert(why);
        for (_, w) in d.wakers.drain(..) {
            w.wake();
        }
        self.cond.notify_all();
    }

    fn failed(&self) -> bool {
        self.dur.lock().failed.is_some()
    }
}

/// Write a snapshot of `st` covering every sequence number handed out so far, then tell the
/// writer to start a new segment. The caller holds the store's lock (read or write), so no
/// frame is handed out meanwhile and the `Rotate` is queued before any later frame.
fn compact_state(sh: &Shared, st: &State) -> Result<u64, JournalError> {
    let s = sh.seq.load(Ordering::Acquire);
    crate::snapshot::save_with(st, &sh.snapshot, &[(JSEQ, &s.to_le_bytes())])
        .map_err(JournalError::Snapshot)?;
    sh.covered.fetch_max(s, Ordering::AcqRel);
    sh.compactions.fetch_add(1, Ordering::Relaxed);
    sh.mark_durable(s);
    let _ = sh.tx.send(Msg::Rotate(s));
    Ok(s)
}

/// The store sink: one frame per journaled change; a reset compacts on the spot.
fn sink(sh: Arc<Shared>) -> Sink {
    Arc::new(move |ev: &StoreEvent<'_>| {
        if let Change::Reset { reason } = ev.change {
            if let Err(e) = compact_state(&sh, ev.state) {
                sh.fail(format!("cannot write the snapshot after a {reason}: {e}"));
            }
            return;
        }
        if let Some(p) = frame::payload(&ev.change, ev.state) {
            let seq = sh.seq.fetch_add(1, Ordering::AcqRel) + 1;
            let _ = sh.tx.send(Msg::Frame(seq, frame::frame(seq, &p)));
        }
    })
}

/// An open journal attached to a store (see the module docs). Dropping it closes it.
pub struct Journal {
    sh: Arc<Shared>,
    sink: u64,
    closed: AtomicBool,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Holds an exclusive lock on `journal.lock` in the directory while open.
    lock: Mutex<Option<std::fs::File>>,
}

fn lock_dir(dir: &Path) -> Result<std::fs::File, JournalError> {
    let p = dir.join("journal.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| JournalError::io(&p, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            return Err(JournalError::InUse(dir.to_path_buf()));
        }
    }
    Ok(f)
}

impl Journal {
    /// Recover `store` from the snapshot and the journal in `opts.dir` (see the module docs),
    /// start the writer and attach the sink. With neither a snapshot file nor a frame on disk
    /// the store keeps what it holds and a first snapshot of it is written.
    pub fn open(store: &Arc<RuntimeStorage>, opts: Options) -> Result<Journal, JournalError> {
        std::fs::create_dir_all(&opts.dir).map_err(|e| JournalError::io(&opts.dir, e))?;
        let lock = lock_dir(&opts.dir)?;
        let rec = recover::recover(&opts.dir, &opts.snapshot)?;
        if let Some(state) = rec.state {
            store.replace(state);
        }
        let (tx, rx) = mpsc::channel();
        let sh = Arc::new(Shared {
            dir: opts.dir.clone(),
            snapshot: opts.snapshot.clone(),
            compact_bytes: opts.compact_bytes.max(1),
            seq: AtomicU64::new(rec.last),
            covered: AtomicU64::new(rec.covered),
            tx,
            dur: Mutex::new(Durability {
                durable: rec.last,
                ..Durability::default()
            }),
            cond: Condvar::new(),
            fsyncs: AtomicU64::new(0),
            compactions: AtomicU64::new(0),
            gate: Mutex::new(()),
            store: Arc::downgrade(store),
        });
        // Under the read lock no write commits: the snapshot, the new segment and the sink
        // all start at the same point.
        let guard = store.read();
        let start = rec.last + 1;
        let header = segment::HEADER as u64;
        let clean = rec.snapshot_exists
            && rec.covered == rec.last
            && matches!(&rec.segments[..], [(s, p, 0)]
                if *s == start && std::fs::metadata(p).is_ok_and(|m| m.len() == header));
        let file = if clean {
            let p = segment::path(&opts.dir, start);
            std::fs::OpenOptions::new()
                .append(true)
                .open(&p)
                .map_err(|e| JournalError::io(&p, e))?
        } else {
            crate::snapshot::save_with(&guard, &opts.snapshot, &[(JSEQ, &rec.last.to_le_bytes())])
                .map_err(JournalError::Snapshot)?;
            sh.covered.store(rec.last, Ordering::Release);
            let f = segment::create(&opts.dir, start)?;
            for (s, p, _) in &rec.segments {
                if *s != start {
                    std::fs::remove_file(p).map_err(|e| JournalError::io(p, e))?;
                }
            }
            segment::sync_dir(&opts.dir)?;
            f
        };
        let sink = store.add_sink(sink(sh.clone()));
        drop(guard);
        let w = writer::Writer {
            sh: sh.clone(),
            file,
            start,
            len: header,
            compact_at: sh.compact_bytes,
        };
        let thread = std::thread::Builder::new()
            .name("ng-journal".into())
            .spawn(move || w.run(rx))
            .map_err(|e| JournalError::io(&opts.dir, e))?;
        Ok(Journal {
            sh,
            sink,
            closed: AtomicBool::new(false),
            thread: Mutex::new(Some(thread)),
            lock: Mutex::new(Some(lock)),
        })
    }

    /// The last sequence number handed out (the newest journaled write).
    pub fn last_seq(&self) -> u64 {
        self.sh.seq.load(Ordering::Acquire)
    }

    /// Everything up to this sequence number is on disk (fsynced, or in the snapshot).
    pub fn durable_seq(&self) -> u64 {
        self.sh.dur.lock().durable
    }

    /// Block until `seq` is durable; an error when the journal failed or closed first.
    pub fn wait_durable(&self, seq: u64) -> Result<(), JournalError> {
        let mut d = self.sh.dur.lock();
        loop {
            if d.durable >= seq {
                return Ok(());
            }
            if let Some(why) = &d.failed {
                return Err(JournalError::Failed(why.clone()));
            }
            self.sh.cond.wait(&mut d);
        }
    }

    /// A future that resolves once `seq` is durable (for async callers: it never blocks a
    /// thread).
    pub fn durable(&self, seq: u64) -> Durable {
        Durable {
            sh: self.sh.clone(),
            seq,
        }
    }

    /// Write a snapshot covering every write so far and start a new segment; returns the
    /// sequence number it covers. Writers wait while the snapshot is written.
    pub fn compact(&self) -> Result<u64, JournalError> {
        let store = self
            .sh
            .store
            .upgrade()
            .ok_or_else(|| JournalError::Failed("the store is gone".into()))?;
        let st = store.read();
        compact_state(&self.sh, &st)
    }

    /// How many fsyncs of the journal file were made (group commit makes this far fewer than
    /// the writes).
    pub fn fsyncs(&self) -> u64 {
        self.sh.fsyncs.load(Ordering::Relaxed)
    }

    /// How many compactions ran since the journal was opened.
    pub fn compactions(&self) -> u64 {
        self.sh.compactions.load(Ordering::Relaxed)
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.sh.dir
    }

    /// Hold the writer between groups: frames queue up and go out in one group once the guard
    /// is dropped (for tests of group commit).
    #[doc(hidden)]
    pub fn hold_writer(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.sh.gate.lock()
    }

    /// Detach from the store, compact (a clean stop leaves the snapshot and one empty
    /// segment), write what is queued and stop the writer. Idempotent; waiting for a later
    /// sequence number then fails instead of blocking.
    pub fn close(&self) -> Result<(), JournalError> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let mut result = Ok(());
        if let Some(store) = self.sh.store.upgrade() {
            store.remove_sink(self.sink);
            let st = store.read();
            result = compact_state(&self.sh, &st).map(|_| ());
        }
        let _ = self.sh.tx.send(Msg::Stop);
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
        self.sh.fail("the journal is closed".into());
        self.lock.lock().take();
        result
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// Resolves once a sequence number is durable (see [`Journal::durable`]).
pub struct Durable {
    sh: Arc<Shared>,
    seq: u64,
}

impl std::future::Future for Durable {
    type Output = Result<(), JournalError>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut d = self.sh.dur.lock();
        if d.durable >= self.seq {
            return Poll::Ready(Ok(()));
        }
        if let Some(why) = &d.failed {
            return Poll::Ready(Err(JournalError::Failed(why.clone())));
        }
        d.wakers.push((self.seq, cx.waker().clone()));
        Poll::Pending
    }
}
