//! `serve(rt, ...)`: start the Rust server on the runtime's own store (the same `Arc`), and
//! the `Server` handle Python holds. No request ever takes the GIL.

// The auth store answers with a `Problem` (as the routes do); it is turned into a Python
// exception at once, so boxing it would only add noise.
#![allow(clippy::result_large_err)]

use super::errors::{NotFoundError, ValidationError};
use super::runtime::PyRuntime;
use crate::server::audit::AuditFilter;
use crate::server::auth::{Auth, Role, EPHEMERAL_ADMIN};
use crate::server::problem::Problem;
use crate::server::{self, Config, RateLimits, ServerHandle};
use parking_lot::Mutex;
use pyo3::exceptions::{PyOSError, PyPermissionError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

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

    /// The auth store of the running server (its own `Arc`: no lock held while it works).
    fn auth(&self) -> PyResult<Arc<Auth>> {
        self.with(|h| Ok(Arc::clone(&h.state.auth)))
    }
}

/// A refusal of the auth store as the exception the runtime would raise: 404
/// `NotFoundError`, 401/403 `PermissionError`, 409/422 `ValidationError` (with its `field`),
/// anything else `OSError`.
fn problem_err(p: Problem) -> PyErr {
    let msg = p.detail.clone();
    match p.status {
        404 => NotFoundError::new_err(msg),
        401 | 403 => PyPermissionError::new_err(msg),
        409 | 422 => {
            let err = ValidationError::new_err(msg);
            Python::with_gil(|py| match err.value(py).setattr("field", p.field.clone()) {
                Ok(()) => err,
                Err(e) => e,
            })
        }
        _ => PyOSError::new_err(msg),
    }
}

fn role_arg(role: &str) -> PyResult<Role> {
    Role::parse(role).ok_or_else(|| {
        PyValueError::new_err(format!(
            "role must be readonly, user or admin, got {role:?}"
        ))
    })
}

/// Rows (serialisable records) as columns: `{name: [value per row]}` for a DataFrame.
fn columns<T: serde::Serialize>(
    py: Python<'_>,
    rows: &[T],
    names: &[&str],
) -> PyResult<Py<PyDict>> {
    let values: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .collect();
    let d = PyDict::new(py);
    for name in names {
        let col = PyList::empty(py);
        for v in &values {
            col.append(json_to_py(
                py,
                v.get(*name).unwrap_or(&serde_json::Value::Null),
            )?)?;
        }
        d.set_item(*name, col)?;
    }
    Ok(d.unbind())
}

fn json_to_py(py: Python<'_>, v: &serde_json::Value) -> PyResult<PyObject> {
    use serde_json::Value as V;
    Ok(match v {
        V::Null => py.None(),
        V::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        V::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.into_pyobject(py)?.into_any().unbind(),
            (None, Some(i)) => i.into_pyobject(py)?.into_any().unbind(),
            _ => n
                .as_f64()
                .unwrap_or(f64::NAN)
                .into_pyobject(py)?
                .into_any()
                .unbind(),
        },
        V::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        V::Array(a) => {
            let l = PyList::empty(py);
            for x in a {
                l.append(json_to_py(py, x)?)?;
            }
            l.into_any().unbind()
        }
        V::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any().unbind()
        }
    })
}

/// User, API-key and audit management for `srv.users`, `srv.keys`, `srv.audit()`; the GIL
/// is released while the auth store works (argon2id hashing takes tens of milliseconds).
#[pymethods]
impl PyServer {
    /// The path of a fresh one-time login link (`/login?token=...`) for the ephemeral admin.
    /// `user`: a stored user instead (the standalone CLI, which has no ephemeral admin).
    #[pyo3(signature = (user=None))]
    fn login_path(&self, user: Option<&str>) -> PyResult<String> {
        let auth = self.auth()?;
        let token = match user {
            Some(name) => auth.login_link_for(name),
            None => auth.login_link(),
        }
        .map_err(problem_err)?;
        Ok(format!("/login?token={token}"))
    }

    #[pyo3(signature = (name, role, password=None))]
    fn add_user(
        &self,
        py: Python<'_>,
        name: &str,
        role: &str,
        password: Option<String>,
    ) -> PyResult<()> {
        let (auth, role) = (self.auth()?, role_arg(role)?);
        py.allow_threads(|| auth.add_user(name, role, password.as_deref()))
            .map(|_| ())
            .map_err(problem_err)
    }

    fn remove_user(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        let auth = self.auth()?;
        py.allow_threads(|| auth.remove_user(name))
            .map_err(problem_err)
    }

    fn set_role(&self, py: Python<'_>, name: &str, role: &str) -> PyResult<()> {
        let (auth, role) = (self.auth()?, role_arg(role)?);
        py.allow_threads(|| auth.set_role(name, role))
            .map(|_| ())
            .map_err(problem_err)
    }

    /// Users as columns: name, role, has_password, disabled, created, ephemeral.
    fn users(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        let auth = self.auth()?;
        let rows = py.allow_threads(|| auth.list_users());
        let names = [
            "name",
            "role",
            "has_password",
            "disabled",
            "created",
            "ephemeral",
        ];
        columns(py, &rows, &names)
    }

    /// A new API key: `{id, key, role, owner, expires}`; `key` is the secret, shown only here.
    #[pyo3(signature = (role, expires=None, user=None))]
    fn create_key(
        &self,
        py: Python<'_>,
        role: &str,
        expires: Option<f64>,
        user: Option<String>,
    ) -> PyResult<Py<PyDict>> {
        let (auth, role) = (self.auth()?, role_arg(role)?);
        let expires = match expires {
            Some(s) if s.is_finite() && s > 0.0 => Some(s.ceil().min(u64::MAX as f64) as u64),
            Some(s) => {
                return Err(PyValueError::new_err(format!(
                    "expires must be a positive number of seconds, got {s}"
                )))
            }
            None => None,
        };
        let owner = user.unwrap_or_else(|| EPHEMERAL_ADMIN.to_string());
        let (info, secret) = py
            .allow_threads(|| auth.create_key(&owner, role, expires))
            .map_err(problem_err)?;
        let d = PyDict::new(py);
        d.set_item("id", &info.id)?;
        d.set_item("key", secret)?;
        d.set_item("role", info.role.as_str())?;
        d.set_item("owner", &info.owner)?;
        d.set_item("expires", info.expires)?;
        Ok(d.unbind())
    }

    fn revoke_key(&self, py: Python<'_>, id: &str) -> PyResult<()> {
        let auth = self.auth()?;
        py.allow_threads(|| auth.revoke_key(id))
            .map_err(problem_err)
    }

    /// API keys as columns (no secrets): id, owner, role, created, expires, last_used,
    /// ephemeral.
    fn keys(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        let auth = self.auth()?;
        let rows = py.allow_threads(|| auth.list_keys());
        let names = [
            "id",
            "owner",
            "role",
            "created",
            "expires",
            "last_used",
            "ephemeral",
        ];
        columns(py, &rows, &names)
    }

    /// The audit log's entries held in memory, oldest first (the newest `last` of them), as
    /// columns.
    #[pyo3(signature = (last=None))]
    fn audit(&self, py: Python<'_>, last: Option<usize>) -> PyResult<Py<PyDict>> {
        let audit = self.with(|h| Ok(Arc::clone(&h.state.audit)))?;
        let mut rows = py.allow_threads(|| {
            audit.flush();
            audit.read(0, usize::MAX, &AuditFilter::default())
        });
        if let Some(n) = last {
            rows.drain(..rows.len().saturating_sub(n));
        }
        let names = [
            "seq",
            "time",
            "principal",
            "role",
            "key_id",
            "ip",
            "method",
            "route",
            "ids",
            "count",
            "status",
            "reason",
            "origin",
            "request_id",
            "duration_ms",
        ];
        columns(py, &rows, &names)
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
    snapshot_path=None, heartbeat=None, ephemeral_admin=true,
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
    heartbeat: Option<f64>,
    ephemeral_admin: bool,
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
        ephemeral_admin,
        ..Config::default()
    };
    if let Some(s) = heartbeat {
        if !(s.is_finite() && (0.001..=3600.0).contains(&s)) {
            return Err(PyValueError::new_err(format!(
                "heartbeat must be 0.001..=3600 seconds, got {s}"
            )));
        }
        config.events.heartbeat = std::time::Duration::from_secs_f64(s);
    }
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

/// Test hook: the bootstrap of the next upload job (`/api/v1/bootstrap`) waits at `at` units
/// of progress (or at its commit point, `at="commit"`) until cancelled or resumed;
/// `at=None` clears the pause and lets a paused job go on. Returns whether a paused job was
/// resumed.
#[pyfunction]
#[pyo3(name = "_pause_next_bootstrap_job")]
pub fn pause_next_bootstrap_job(at: &Bound<'_, PyAny>) -> PyResult<bool> {
    use crate::progress::Pause;
    use crate::server::jobs::run::{resume_paused, PAUSE_NEXT};
    if at.is_none() {
        *PAUSE_NEXT.lock() = None;
        return Ok(resume_paused());
    }
    let at = if let Ok(n) = at.extract::<u64>() {
        Pause::Units(n)
    } else if at.extract::<String>().is_ok_and(|s| s == "commit") {
        Pause::Commit
    } else {
        return Err(PyValueError::new_err(format!(
            "at must be a number of units >= 0, \"commit\" or None, got {}",
            at.repr()?
        )));
    };
    *PAUSE_NEXT.lock() = Some(at);
    Ok(false)
}

/// The server's OpenAPI 3.1 document as JSON text: the one `/api/v1/openapi.json` serves,
/// without starting a server (the documentation build renders it).
#[pyfunction]
pub fn openapi_json() -> PyResult<String> {
    crate::server::openapi::document()
        .to_pretty_json()
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
}
