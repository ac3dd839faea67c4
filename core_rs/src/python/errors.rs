//! The one place where core errors become Python exceptions: `neurograph_lab.errors`
//! classes, and `impl From<NgError> for PyErr` so that `?` crosses the boundary.

use crate::error::NgError;
use pyo3::exceptions::{PyFileNotFoundError, PyKeyboardInterrupt, PyMemoryError, PyOSError};
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
        NgError::FileNotFound(_) => PyFileNotFoundError::new_err(msg),
        NgError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(msg)
        }
        NgError::Io { .. } => PyOSError::new_err(msg),
        NgError::Interrupted => PyKeyboardInterrupt::new_err(msg),
        NgError::Internal(_) => NeuroGraphError::new_err(msg),
        NgError::OutOfMemory { .. } => PyMemoryError::new_err(msg),
        _ => ValidationError::new_err(msg),
    }
}

impl From<NgError> for PyErr {
    fn from(e: NgError) -> PyErr {
        to_py(e)
    }
}
