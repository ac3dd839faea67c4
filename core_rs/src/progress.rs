//! Progress and cancellation of long work, shared between the worker threads doing it and a
//! watcher (the Python side polls it to draw a progress bar and to stop the work on Ctrl-C).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::{NgError, Result};

/// Units of work done out of a total, and a cancel flag checked between units.
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
    total: AtomicU64,
    cancel: AtomicBool,
}

impl Progress {
    pub fn new() -> Self {
        Self::default()
    }

    /// Start a phase of `total` units (the done count restarts at 0).
    pub fn start(&self, total: u64) {
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    pub fn add(&self, units: u64) {
        self.done.fetch_add(units, Ordering::Relaxed);
    }

    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Ask the work to stop at its next check.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// `true` when the (optional) progress was cancelled.
pub fn cancelled(p: Option<&Progress>) -> bool {
    p.is_some_and(Progress::cancelled)
}

/// `Err(Interrupted)` when the (optional) progress was cancelled.
pub fn check(p: Option<&Progress>) -> Result<()> {
    if cancelled(p) {
        Err(NgError::Interrupted)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_cancels() {
        let p = Progress::new();
        p.start(10);
        p.add(3);
        assert_eq!((p.done(), p.total()), (3, 10));
        assert!(check(Some(&p)).is_ok() && check(None).is_ok());
        p.cancel();
        assert!(matches!(check(Some(&p)), Err(NgError::Interrupted)));
    }
}
