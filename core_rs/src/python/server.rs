//! `serve(rt, ...)`: start the Rust server on the runtime's own store (the same `Arc`), and
//! the `Server` handle Python holds. No request ever takes the GIL.

use super::runtime::PyRuntime;
use crate::server::{self, Config, ServerHandle};
use parking_lot::Mutex;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use std::path::PathBuf;

/// A running server (see `neurograph_lab.serve`).
#[pyclass(name = "Server", module = "neurograph_lab._core", frozen)]
pub struct PyServer {
    handle: Mutex<Option<ServerHandle>>,
    #[pyo3(get)]
    host: String,
    #[pyo3(get)]
    port: u16,
    admin_key: String,
}

impl PyServer {
    fn with<T>(&self, f: impl FnOnce(&ServerHandle) -> PyResult<T>) -> PyResult<T> {
        let h = self.handle.lock();
        match h.as_ref() {
            Some(h) => f(h),
            None => Err(pyo3::exceptions::PyRuntimeError::new_err(
                "the server is stopped",
            )),
        }
    }
}

#[pymethods]
impl PyServer {
    /// Stop the server: no new connections, in-flight requests finish, threads joined, port
    /// released. Calling it twice is harmless.
    fn stop(&self, py: Python<'_>) {
        let h = self.handle.lock().take();
        if let Some(mut h) = h {
            py.allow_threads(move || h.stop());
        }
    }

    /// Whether the server thread is still serving.
    #[getter]
    fn running(&self) -> bool {
        self.handle.lock().as_ref().is_some_and(|h| h.is_running())
    }

    /// The API key of the server's ephemeral admin (kernel-started servers only).
    #[getter]
    fn admin_key(&self) -> String {
        self.admin_key.clone()
    }

    /// Number of registered store listeners (for tests of the lifecycle).
    fn _check(&self) -> PyResult<bool> {
        self.with(|_| Ok(true))
    }
}

/// Start a server on `rt`'s store. See `neurograph_lab.serve` for the arguments.
#[pyfunction]
#[allow(clippy::too_many_arguments)] // the Python keyword arguments, one each
#[pyo3(signature = (rt, host="127.0.0.1", port=0, *, state_dir=None, journal_dir=None, workers=2, snapshot_path=None))]
pub fn serve(
    py: Python<'_>,
    rt: &PyRuntime,
    host: &str,
    port: u16,
    state_dir: Option<PathBuf>,
    journal_dir: Option<PathBuf>,
    workers: usize,
    snapshot_path: Option<PathBuf>,
) -> PyResult<PyServer> {
    if workers == 0 || workers > 64 {
        return Err(PyValueError::new_err(format!(
            "workers must be 1..=64, got {workers}"
        )));
    }
    let config = Config {
        host: host.to_string(),
        port,
        state_dir,
        journal_dir,
        snapshot_path,
        workers,
        ..Config::default()
    };
    let store = rt.store_arc();
    let handle = py
        .allow_threads(move || server::start(store, config))
        .map_err(|e| match e {
            server::StartError::Config(m) => PyValueError::new_err(m),
            other => PyOSError::new_err(other.to_string()),
        })?;
    let admin_key = handle.state.auth.ephemeral_admin_key();
    Ok(PyServer {
        host: handle.addr.ip().to_string(),
        port: handle.addr.port(),
        handle: Mutex::new(Some(handle)),
        admin_key,
    })
}
