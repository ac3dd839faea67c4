//! The writer thread: appends frames to the current segment with group commit (everything
//! queued since the last fsync goes out in one write and one fsync), moves the durable
//! sequence number on, starts a new segment when a compaction asks, and asks for a compaction
//! when the segment grows past the configured size.

use super::{segment, Msg, Shared};
use std::fs::File;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

/// Most bytes gathered into one group before it is written.
const GROUP_MAX: usize = 32 << 20;

pub(super) struct Writer {
    pub sh: Arc<Shared>,
    pub file: File,
    /// First sequence number of the current segment.
    pub start: u64,
    /// Bytes in the current segment.
    pub len: u64,
    /// Compact once the segment passes this size.
    pub compact_at: u64,
}

impl Writer {
    /// Serve `rx` until a `Stop` (or until the journal fails).
    pub fn run(mut self, rx: Receiver<Msg>) {
        let mut buf = Vec::new();
        let mut top = 0u64;
        while let Ok(first) = rx.recv() {
            let sh = self.sh.clone();
            let gate = sh.gate.lock();
            let mut stop = false;
            let mut next = Some(first);
            while let Some(m) = next.take() {
                match m {
                    Msg::Frame(seq, bytes) => {
                        if seq > self.sh.covered.load(Ordering::Acquire) {
                            buf.extend_from_slice(&bytes);
                        }
                        top = top.max(seq);
                    }
                    Msg::Rotate(s) => {
                        let r = self.flush(&mut buf, top).and_then(|_| self.rotate(s));
                        if let Err(e) = r {
                            self.sh
                                .fail(format!("cannot start a new journal segment: {e}"));
                        }
                    }
                    Msg::Stop => stop = true,
                }
                if !stop && buf.len() < GROUP_MAX {
                    next = rx.try_recv().ok();
                }
            }
            if let Err(e) = self.flush(&mut buf, top) {
                self.sh.fail(format!("cannot write the journal: {e}"));
            }
            drop(gate);
            if stop || self.sh.failed() {
                break;
            }
            if self.len > self.compact_at {
                self.compact_at = self.len + self.sh.compact_bytes;
                if let Some(store) = self.sh.store.upgrade() {
                    // A failed size compaction loses nothing (the segments stay); it is tried
                    // again once the segment has grown by another `compact_bytes`.
                    let st = store.read();
                    let _ = super::compact_state(&self.sh, &st);
                }
            }
        }
    }

    /// Write and fsync what `buf` holds; everything up to `top` is then durable.
    fn flush(&mut self, buf: &mut Vec<u8>, top: u64) -> Result<(), super::JournalError> {
        if self.sh.failed() {
            buf.clear();
            return Ok(());
        }
        if !buf.is_empty() {
            let path = segment::path(&self.sh.dir, self.start);
            let io = |e| super::JournalError::io(&path, e);
            self.file.write_all(buf).map_err(io)?;
            self.file.sync_data().map_err(io)?;
            self.sh.fsyncs.fetch_add(1, Ordering::Relaxed);
            self.len += buf.len() as u64;
            buf.clear();
        }
        self.sh.mark_durable(top);
        Ok(())
    }

    /// The snapshot covers everything up to `s`: continue in segment `s + 1` and delete the
    /// older segments. A stale request (an earlier compaction's) changes nothing.
    fn rotate(&mut self, s: u64) -> Result<(), super::JournalError> {
        if s < self.start {
            return Ok(());
        }
        self.file = segment::create(&self.sh.dir, s + 1)?;
        self.start = s + 1;
        self.len = segment::HEADER as u64;
        self.compact_at = self.sh.compact_bytes;
        for (start, path) in segment::list(&self.sh.dir)? {
            if start < self.start {
                std::fs::remove_file(&path).map_err(|e| super::JournalError::io(&path, e))?;
            }
        }
        segment::sync_dir(&self.sh.dir)
    }
}
