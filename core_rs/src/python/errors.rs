//! The one place where core errors become Python exceptions.

use crate::error::NgError;
use pyo3::exceptions::{PyFileNotFoundError, PyKeyboardInterrupt, PyOSError};
use pyo3::prelude::*;

pyo3::import_exception!(neurograph_lab.errors, NeuroGraphError);
pyo3::import_exception!(neurograph_lab.errors, ValidationError);
pyo3::import_exception!(neurograph_lab.errors, NotFoundError);
pyo3::import_exception!(neurograph_lab.errors, SnapshotError);

/// Map a core error to the matching `neurograph_lab.errors` exception.
pub fn to_py(e: NgError) -> PyErr {
    let msg = e.to_string();
    match e.root() {
        NgError::TokenNotFound(_) | NgError::ConnectionNotFound(_) => NotFoundError::new_err(msg),
        NgError::Snapshot { .. } => SnapshotError::new_err(msg),
        NgError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(msg)
        }
        NgError::Io { .. } => PyOSError::new_err(msg),
        NgError::Interrupted => PyKeyboardInterrupt::new_err(msg),
        NgError::Internal(_) => NeuroGraphError::new_err(msg),
        _ => ValidationError::new_err(msg),
    }
}

/// Run engine work with the GIL released; panics become `NeuroGraphError`, never an abort.
pub fn run<T: Send>(py: Python<'_>, f: impl FnOnce() -> crate::Result<T> + Send) -> PyResult<T> {
    let out = py.allow_threads(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    let out = match out {
        Ok(r) => r.map_err(to_py),
        Err(p) => Err(NeuroGraphError::new_err(format!(
            "internal error in the runtime core: {}",
            crate::error::panic_message(&*p)
        ))),
    };
    py.check_signals()?;
    out
}

/// Map a result without releasing the GIL (for cheap single-record calls).
pub fn map<T>(r: crate::Result<T>) -> PyResult<T> {
    r.map_err(to_py)
}
