//! `Runtime`: the compiled runtime class. Its methods live beside their concept
//! (`tokens.rs`, `connections.rs`, `cdna.rs`, `status.rs`, `grid.rs`, `graph.rs`,
//! `semantic.rs`); bulk methods take and return numpy arrays, the 26 PyRuntime operations keep
//! their earlier names and return plain dicts and lists.

use crate::storage::RuntimeStorage;
use pyo3::prelude::*;
use std::sync::Arc;

/// The NeuroGraph runtime: tokens, connections, CDNA, Guardian, snapshots and metrics.
/// `neurograph_lab.Runtime` holds one (composition); nothing subclasses it.
#[pyclass(name = "Runtime", module = "neurograph_lab._core", frozen)]
pub struct PyRuntime {
    inner: Arc<RuntimeStorage>,
}

impl PyRuntime {
    pub(crate) fn store(&self) -> &RuntimeStorage {
        &self.inner
    }

    /// Another handle on the same store (the server shares it with the notebook).
    #[cfg(feature = "server")]
    pub(crate) fn store_arc(&self) -> Arc<RuntimeStorage> {
        Arc::clone(&self.inner)
    }
}

#[pymethods]
impl PyRuntime {
    #[new]
    fn new() -> Self {
        PyRuntime {
            inner: Arc::new(RuntimeStorage::new()),
        }
    }

    /// A runtime lives in its process: pickling it (to send it to a Dask or Ray worker) is a
    /// `TypeError` that says what to send instead.
    fn __reduce__(&self) -> PyResult<()> {
        Err(pyo3::exceptions::PyTypeError::new_err(
            "a neurograph_lab runtime cannot be pickled or sent to another process (a Dask or \
             Ray worker): send rt.to_bytes() and rebuild with ng.Runtime.from_bytes(data), or \
             use ng.distributed (sweep, query_many, components, bootstrap)",
        ))
    }
}
