//! Where engine work meets the GIL and Ctrl-C.
//!
//! Every engine call runs with the GIL released through one of three helpers, under one
//! contract: a Ctrl-C either leaves the runtime unchanged and raises `KeyboardInterrupt`, or
//! (once the work has passed its commit point, see [`Progress::commit`]) lets the call finish
//! and return its result; the interrupt is then dropped. Never both.
//!
//! - [`run`]: short reads. A Ctrl-C during the call raises after it (nothing changed).
//! - [`run_write`]: short writes, committed as a whole: a Ctrl-C during the call is dropped
//!   and the result returned (Python would otherwise raise it right after the call, and the
//!   ids of a `create_many` would be lost).
//! - [`run_long`]: long work. It runs on a worker thread while the calling thread runs
//!   Python's signal handlers every [`POLL`]; a `KeyboardInterrupt` cancels the work's
//!   [`Progress`], which stops at its next check, or is refused after the commit point. The
//!   worker is always joined before the call returns.

use super::errors::{NeuroGraphError, ValidationError};
use crate::progress::{Event, Pause, Progress};
use parking_lot::Mutex;
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

/// How often the calling thread of a long call runs Python's signal handlers and the
/// progress callback.
const POLL: Duration = Duration::from_millis(50);

type Outcome<T> = std::thread::Result<crate::Result<T>>;

fn panic_error(p: Box<dyn std::any::Any + Send>) -> PyErr {
    NeuroGraphError::new_err(format!(
        "internal error in the runtime core: {}",
        crate::error::panic_message(&*p)
    ))
}

/// What the caller sees: the exception a signal handler raised during the work, unless the
/// work passed its commit point; then the work's own outcome (a `KeyboardInterrupt` is
/// dropped, any other exception a handler raised still propagates).
fn settle<T>(
    py: Python<'_>,
    out: Outcome<T>,
    p: &Progress,
    interrupt: Option<PyErr>,
) -> PyResult<T> {
    if let Some(e) = interrupt {
        if !p.committed() || !e.is_instance_of::<PyKeyboardInterrupt>(py) {
            return Err(e);
        }
    }
    match out {
        Ok(r) => r.map_err(PyErr::from),
        Err(panic) => Err(panic_error(panic)),
    }
}

fn inline<T: Send>(
    py: Python<'_>,
    write: bool,
    f: impl FnOnce() -> crate::Result<T> + Send,
) -> PyResult<T> {
    // a Ctrl-C still pending from before the call: raise it before doing anything
    py.check_signals()?;
    let p = Progress::new();
    let mut interrupt = None;
    if write {
        p.commit()?;
        // the test hook's commit pause: a Ctrl-C arriving at the start of the write
        let hook = {
            let mut next = PAUSE_NEXT.lock();
            match next.take() {
                Some((Pause::Commit, h)) => Some(h),
                other => {
                    *next = other;
                    None
                }
            }
        };
        if let Some(h) = hook {
            interrupt = h.call0(py).and_then(|_| py.check_signals()).err();
        }
    }
    let out = py.allow_threads(|| catch_unwind(AssertUnwindSafe(f)));
    let interrupt = interrupt.or_else(|| py.check_signals().err());
    settle(py, out, &p, interrupt)
}

/// Run a short read with the GIL released; panics become `NeuroGraphError`, never an abort.
/// A Ctrl-C during the call raises `KeyboardInterrupt` after it.
pub fn run<T: Send>(py: Python<'_>, f: impl FnOnce() -> crate::Result<T> + Send) -> PyResult<T> {
    inline(py, false, f)
}

/// Run a short write with the GIL released: it is past its commit point from the start, so
/// it returns its result even when a Ctrl-C arrives during it.
pub fn run_write<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> crate::Result<T> + Send,
) -> PyResult<T> {
    inline(py, true, f)
}

/// A pause point and a Python callable for the next [`run_long`] call (a test hook).
static PAUSE_NEXT: Mutex<Option<(Pause, Py<PyAny>)>> = Mutex::new(None);

/// Test hook: the next long core call (bootstrap, layout, batched queries, large kNN, load)
/// stops when its progress reaches `at` units (or at its commit point, `at="commit"`, which
/// is also the start of any bulk write), calls `hook()` on the calling thread, runs Python's
/// signal handlers, then goes on (or stops, if that raised `KeyboardInterrupt` before the
/// commit point). Lets a test interrupt work at a known point, e.g. with
/// `hook = lambda: signal.raise_signal(signal.SIGINT)`. Without `hook`, clears the pause.
#[pyfunction]
#[pyo3(name = "_pause_next_long_call")]
#[pyo3(signature = (at, hook=None))]
pub fn pause_next_long_call(at: &Bound<'_, PyAny>, hook: Option<Py<PyAny>>) -> PyResult<()> {
    let Some(hook) = hook else {
        *PAUSE_NEXT.lock() = None;
        return Ok(());
    };
    let at = if let Ok(n) = at.extract::<u64>() {
        Pause::Units(n)
    } else if at.extract::<String>().is_ok_and(|s| s == "commit") {
        Pause::Commit
    } else {
        return Err(ValidationError::new_err(format!(
            "at must be a number of units >= 0 or \"commit\", got {}",
            at.repr()?
        )));
    };
    *PAUSE_NEXT.lock() = Some((at, hook));
    Ok(())
}

/// Run long work `f(progress)` on a worker thread while this thread, with the GIL released,
/// waits for it and every [`POLL`] runs Python's signal handlers and `on_progress(done,
/// total)`. A `KeyboardInterrupt` (from a handler or the callback) cancels the progress: the
/// work stops at its next check and the interrupt is raised, or, past the commit point, the
/// work finishes and its result is returned. `f` must mark its commit point with
/// [`Progress::commit`] before it changes anything, and check [`Progress::cancelled`] in
/// its loops.
pub fn run_long<T: Send>(
    py: Python<'_>,
    on_progress: Option<&Bound<'_, PyAny>>,
    f: impl FnOnce(Arc<Progress>) -> crate::Result<T> + Send,
) -> PyResult<T> {
    py.check_signals()?;
    let p = Arc::new(Progress::new());
    let hook = PAUSE_NEXT.lock().take().map(|(at, h)| {
        p.pause_at(at);
        h
    });
    let callback: Option<Py<PyAny>> = on_progress.map(|c| c.clone().unbind());
    let mut interrupt: Option<PyErr> = None;
    let joined = py.allow_threads(|| {
        std::thread::scope(|s| {
            let worker = std::thread::Builder::new()
                .name("neurograph-work".into())
                .spawn_scoped(s, || {
                    let out = catch_unwind(AssertUnwindSafe(|| f(p.clone())));
                    p.finish();
                    out
                })?;
            loop {
                let event = p.wait(POLL);
                if event == Event::Finished {
                    break;
                }
                Python::with_gil(|py| {
                    let calm = interrupt.is_none();
                    let mut note = |r: PyResult<()>| {
                        if let (Err(e), None) = (r, &interrupt) {
                            p.cancel();
                            interrupt = Some(e);
                        }
                    };
                    if let (Some(cb), true) = (&callback, calm) {
                        note(cb.call1(py, (p.done(), p.total())).map(|_| ()));
                    }
                    if event == Event::Paused {
                        if let Some(h) = &hook {
                            note(h.call0(py).map(|_| ()));
                        }
                    }
                    note(py.check_signals());
                });
                if event == Event::Paused && !p.cancelled() {
                    p.resume();
                }
            }
            Ok::<_, std::io::Error>(worker.join())
        })
    });
    let out = match joined {
        Ok(Ok(out)) => out,
        Ok(Err(panic)) => Err(panic),
        Err(e) => {
            return Err(NeuroGraphError::new_err(format!(
                "cannot start a worker thread: {e}"
            )))
        }
    };
    settle(py, out, &p, interrupt)
}
