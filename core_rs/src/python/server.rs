//! `serve(rt, ...)`: start the Rust server on the runtime's own store (the same `Arc`), and
//! the `Server` handle Python holds. No request ever takes the GIL.

use super::runtime::PyRuntime;
use crate::server::{self, Config, RateLimits, ServerHandle};
use parking_lot::Mutex;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::net::IpAddr;
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

/// Apply `rate_limits={"readonly"|"user"|"admin"|"per_ip": (per_second, burst),
/// "login_per_minute": n}` onto the defaults.
fn rate_limits(d: &Bound<'_, PyDict>) -> PyResult<RateLimits> {
    let mut limits = RateLimits::default();
    for (k, v) in d.iter() {
        let key: String = k.extract()?;
        let bucket = |v: &Bound<'_, PyAny>| -> PyResult<(f64, f64)> {
            let (rate, burst): (f64, f64) = v.extract().map_err(|_| {
                PyValueError::new_err(format!("rate_limits[{key:?}] must be (per_second, burst)"))
            })?;
            if !(rate > 0.0 && rate.is_finite() && burst >= 1.0 && burst.is_finite()) {
                return Err(PyValueError::new_err(format!(
                    "rate_limits[{key:?}]: per_second must be > 0 and burst >= 1, got ({rate}, {burst})"
                )));
            }
            Ok((rate, burst))
        };
        match key.as_str() {
            "readonly" => limits.readonly = bucket(&v)?,
            "user" => limits.user = bucket(&v)?,
            "admin" => limits.admin = bucket(&v)?,
            "per_ip" => limits.per_ip = bucket(&v)?,
            "login_per_minute" => {
                let n: f64 = v.extract()?;
                if !(n > 0.0 && n.is_finite()) {
                    return Err(PyValueError::new_err(format!(
                        "rate_limits['login_per_minute'] must be > 0, got {n}"
                    )));
                }
                limits.login_per_minute = n;
            }
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown rate limit {other:?}; use readonly, user, admin, per_ip or login_per_minute"
                )))
            }
        }
    }
    Ok(limits)
}

/// Start a server on `rt`'s store. See `neurograph_lab.serve` for the arguments.
#[pyfunction]
#[pyo3(signature = (
    rt, host="127.0.0.1", port=0, *, state_dir=None, journal_dir=None, workers=2,
    rate_limits=None, allowed_hosts=None, allowed_origins=None, trusted_proxies=None,
    snapshot_path=None,
))]
#[allow(clippy::too_many_arguments)] // the Python keyword arguments, one each
pub fn serve(
    py: Python<'_>,
    rt: &PyRuntime,
    host: &str,
    port: u16,
    state_dir: Option<PathBuf>,
    journal_dir: Option<PathBuf>,
    workers: usize,
    rate_limits: Option<&Bound<'_, PyDict>>,
    allowed_hosts: Option<Vec<String>>,
    allowed_origins: Option<Vec<String>>,
    trusted_proxies: Option<Vec<String>>,
    snapshot_path: Option<PathBuf>,
) -> PyResult<PyServer> {
    if workers == 0 || workers > 64 {
        return Err(PyValueError::new_err(format!(
            "workers must be 1..=64, got {workers}"
        )));
    }
    let mut config = Config {
        host: host.to_string(),
        port,
        state_dir,
        journal_dir,
        snapshot_path,
        workers,
        ..Config::default()
    };
    if let Some(d) = rate_limits {
        config.rate_limits = self::rate_limits(d)?;
    }
    if let Some(h) = allowed_hosts {
        config.allowed_hosts = h;
    }
    if let Some(o) = allowed_origins {
        config.allowed_origins = o;
    }
    if let Some(p) = trusted_proxies {
        config.trusted_proxies = p
            .iter()
            .map(|s| {
                s.parse::<IpAddr>().map_err(|_| {
                    PyValueError::new_err(format!("trusted_proxies: {s:?} is not an IP address"))
                })
            })
            .collect::<PyResult<_>>()?;
    }
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
