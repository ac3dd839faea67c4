//! The one place where core errors become Python exceptions: `neurograph_lab.errors`
//! classes, and `impl From<NgError> for PyErr` so that `?` crosses the boundary.

use crate::error::NgError;
use pyo3::exceptions::{PyFileNotFoundError, PyKeyboardInterrupt, PyMemoryError, PyOSError};
use pyo3::prelude::*;

pyo3::import_exception!(neurograph_lab.errors, NeuroGraphError);
pyo3::import_exception!(neurograph_lab.errors, ValidationError);
pyo3::import_exception!(neurograph_lab.errors, NotFoundError);
pyo3::import_exception!(neurograph_lab.errors, SnapshotError);
pyo3::import_exception!(neurograph_lab.errors, DatasetError);

/// Map a core error to the matching `neurograph_lab.errors` exception.
pub fn to_py(e: NgError) -> PyErr {
    /// A `ValidationError` with the batch row and, for a Guardian refusal, its data as
    /// attributes: `row`, `action`, `field`, `value`, `limit`, `reason` (those absent keep
    /// their `None` class defaults).
    fn validation_error(msg: String, row: Option<usize>, root: &NgError) -> PyErr {
        let err = ValidationError::new_err(msg);
        Python::with_gil(|py| {
            let exc = err.value(py);
            let set = || -> PyResult<()> {
                exc.setattr("row", row)?;
                if let NgError::Rejected(r) = root {
                    exc.setattr("action", &r.action)?;
                    exc.setattr("field", r.refusal.field)?;
                    exc.setattr("value", r.refusal.value)?;
                    exc.setattr("limit", r.refusal.limit)?;
                    exc.setattr("reason", &r.refusal.reason)?;
                }
                Ok(())
            };
            match set() {
                Ok(()) => err,
                Err(e) => e,
            }
        })
    }

    let msg = e.to_string();
    match e.root() {
        NgError::TokenNotFound(_) | NgError::ConnectionNotFound(_) => NotFoundError::new_err(msg),
        NgError::Snapshot { .. } => SnapshotError::new_err(msg),
        NgError::Dataset { .. } => DatasetError::new_err(msg),
        NgError::FileNotFound(_) => PyFileNotFoundError::new_err(msg),
        NgError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(msg)
        }
        NgError::Io { .. } => PyOSError::new_err(msg),
        NgError::Interrupted => PyKeyboardInterrupt::new_err(msg),
        NgError::Internal(_) => NeuroGraphError::new_err(msg),
        NgError::OutOfMemory { .. } => PyMemoryError::new_err(msg),
        root => validation_error(msg, e.row(), root),
    }
}

impl From<NgError> for PyErr {
    fn from(e: NgError) -> PyErr {
        to_py(e)
    }
}
