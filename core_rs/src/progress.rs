//! Progress and cancellation of long work, shared between the threads doing it and a watcher
//! (the Python binding polls it to draw a progress bar and cancels it on Ctrl-C).
//!
//! Work that changes the store marks its commit point with [`Progress::commit`]: before it, a
//! cancel stops the work at its next check with nothing changed (`Err(Interrupted)`); from it
//! on, a cancel is refused and the work finishes, so a caller never sees "interrupted" for a
//! change that was made.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::error::{NgError, Result};

const RUNNING: u8 = 0;
const CANCELLED: u8 = 1;
const COMMITTED: u8 = 2;

/// Where the work stops and waits for its watcher (a test hook: it lets a test interrupt the
/// work at a known point instead of after a guessed delay).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pause {
    /// When the done count of the current phase reaches this many units.
    Units(u64),
    /// At the commit point (after it is marked, so a cancel there is refused).
    Commit,
}

/// What the watcher was woken for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The work returned.
    Finished,
    /// The work stopped at its pause point and waits for [`Progress::resume`] or a cancel.
    Paused,
    /// Nothing happened within the wait.
    Timeout,
}

#[derive(Debug, Default)]
struct Watch {
    pause: Option<Pause>,
    paused: bool,
    finished: bool,
}

/// Units of work done out of a total, a cancel flag checked between units, and the commit
/// point after which the work can no longer be cancelled.
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
    total: AtomicU64,
    state: AtomicU8,
    /// Fast path for `add`: a pause point is set.
    pausing: AtomicBool,
    watch: Mutex<Watch>,
    wake: Condvar,
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

    /// Count `units` more done (waits here if this reaches the pause point).
    pub fn add(&self, units: u64) {
        let done = self.done.fetch_add(units, Ordering::Relaxed) + units;
        if self.pausing.load(Ordering::Relaxed) {
            self.pause_if(|p| matches!(p, Pause::Units(n) if done >= n));
        }
    }

    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Ask the work to stop at its next check. Returns `false` (and changes nothing) when the
    /// work has passed its commit point: it will finish and return its result.
    pub fn cancel(&self) -> bool {
        let r = self
            .state
            .compare_exchange(RUNNING, CANCELLED, Ordering::SeqCst, Ordering::SeqCst);
        let accepted = matches!(r, Ok(_) | Err(CANCELLED));
        if accepted {
            // release work waiting at its pause point
            let mut w = self.watch.lock();
            w.paused = false;
            self.wake.notify_all();
        }
        accepted
    }

    pub fn cancelled(&self) -> bool {
        self.state.load(Ordering::SeqCst) == CANCELLED
    }

    /// The work passed its commit point.
    pub fn committed(&self) -> bool {
        self.state.load(Ordering::SeqCst) == COMMITTED
    }

    /// Mark the commit point: `Err(Interrupted)` if the work was cancelled before it (the
    /// caller must then change nothing); otherwise later cancels are refused.
    pub fn commit(&self) -> Result<()> {
        match self
            .state
            .compare_exchange(RUNNING, COMMITTED, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) | Err(COMMITTED) => {
                if self.pausing.load(Ordering::Relaxed) {
                    self.pause_if(|p| p == Pause::Commit);
                }
                Ok(())
            }
            Err(_) => Err(NgError::Interrupted),
        }
    }

    // ---- the watcher's side ----

    /// Make the work wait at `at` until the watcher resumes or cancels it (see [`Pause`]).
    pub fn pause_at(&self, at: Pause) {
        self.watch.lock().pause = Some(at);
        self.pausing.store(true, Ordering::Relaxed);
    }

    /// Let paused work go on.
    pub fn resume(&self) {
        let mut w = self.watch.lock();
        w.paused = false;
        self.wake.notify_all();
    }

    /// Record that the work returned (wakes the watcher).
    pub fn finish(&self) {
        let mut w = self.watch.lock();
        w.finished = true;
        self.wake.notify_all();
    }

    /// Wait up to `timeout` for the work to finish or pause.
    pub fn wait(&self, timeout: Duration) -> Event {
        let mut w = self.watch.lock();
        for round in 0..2 {
            if w.finished {
                return Event::Finished;
            }
            if w.paused {
                return Event::Paused;
            }
            if round == 0 {
                self.wake.wait_for(&mut w, timeout);
            }
        }
        Event::Timeout
    }

    /// Stop here (once) if the pause point matches, until resumed or cancelled.
    fn pause_if(&self, hit: impl Fn(Pause) -> bool) {
        let mut w = self.watch.lock();
        match w.pause {
            Some(p) if hit(p) => {
                w.pause = None;
                self.pausing.store(false, Ordering::Relaxed);
                w.paused = true;
                self.wake.notify_all();
                while w.paused && !self.cancelled() {
                    self.wake.wait(&mut w);
                }
            }
            _ => {}
        }
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

/// Mark the commit point of the (optional) progress (see [`Progress::commit`]).
pub fn commit(p: Option<&Progress>) -> Result<()> {
    p.map_or(Ok(()), Progress::commit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn counts_and_cancels() {
        let p = Progress::new();
        p.start(10);
        p.add(3);
        assert_eq!((p.done(), p.total()), (3, 10));
        assert!(check(Some(&p)).is_ok() && check(None).is_ok());
        assert!(p.cancel());
        assert!(matches!(check(Some(&p)), Err(NgError::Interrupted)));
        assert!(matches!(p.commit(), Err(NgError::Interrupted)));
        assert!(!p.committed());
    }

    #[test]
    fn cancel_is_refused_after_the_commit_point() {
        let p = Progress::new();
        assert!(p.commit().is_ok() && p.committed());
        assert!(!p.cancel());
        assert!(!p.cancelled() && check(Some(&p)).is_ok() && p.commit().is_ok());
    }

    fn paused_worker(at: Pause) -> (Arc<Progress>, std::thread::JoinHandle<Result<u64>>) {
        let p = Arc::new(Progress::new());
        p.pause_at(at);
        let w = p.clone();
        let h = std::thread::spawn(move || {
            let r = (|| {
                for _ in 0..10 {
                    w.add(1);
                    check(Some(&w))?;
                }
                w.commit()?;
                Ok(w.done())
            })();
            w.finish();
            r
        });
        (p, h)
    }

    #[test]
    fn pause_point_holds_the_work_until_cancel_or_resume() {
        let (p, h) = paused_worker(Pause::Units(4));
        assert_eq!(p.wait(Duration::from_secs(60)), Event::Paused);
        assert_eq!(p.done(), 4);
        assert!(p.cancel());
        assert!(matches!(h.join().unwrap(), Err(NgError::Interrupted)));
        assert_eq!(p.wait(Duration::ZERO), Event::Finished);

        let (p, h) = paused_worker(Pause::Units(4));
        assert_eq!(p.wait(Duration::from_secs(60)), Event::Paused);
        p.resume();
        assert_eq!(h.join().unwrap().unwrap(), 10);

        let (p, h) = paused_worker(Pause::Commit);
        assert_eq!(p.wait(Duration::from_secs(60)), Event::Paused);
        assert!(p.committed() && !p.cancel());
        p.resume();
        assert_eq!(h.join().unwrap().unwrap(), 10);
    }
}
