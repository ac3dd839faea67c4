//! Events, metrics, status and snapshot bindings.

use super::args::opt_size_arg;
use super::runtime::PyRuntime;
use super::util::{run_long, run_write};
use super::values::events_dict;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

#[pymethods]
impl PyRuntime {
    /// Guardian events as columns: time, kind, target, accepted, reason.
    #[pyo3(signature = (last=None))]
    fn events<'py>(
        &self,
        py: Python<'py>,
        last: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        events_dict(py, &self.store().events(opt_size_arg(last, "last")?))
    }

    /// (token version, connection version, CDNA revision): changes whenever the tokens, the
    /// connections or the CDNA change, so views can tell that they are stale.
    fn data_version(&self) -> (u64, u64, u64) {
        self.store().data_version()
    }

    /// Prometheus text exposition of counts, operation latencies and memory.
    fn export_metrics(&self) -> String {
        self.store().metrics_text()
    }

    /// Counts, memory and CDNA summary as a dict.
    fn status_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let g = self.store().gauges();
        let c = self.store().cdna();
        let d = PyDict::new(py);
        d.set_item("tokens", g.tokens)?;
        d.set_item("connections", g.connections)?;
        d.set_item("labels", g.labels)?;
        d.set_item("profile", c.profile_name())?;
        d.set_item("cdna_revision", c.revision)?;
        d.set_item("events", g.events_total)?;
        d.set_item("rejections", g.rejections_total)?;
        let mem = PyDict::new(py);
        for (k, v) in &g.memory {
            mem.set_item(*k, *v)?;
        }
        d.set_item("memory", mem)?;
        d.set_item("resident_bytes", crate::metrics::resident_bytes())?;
        Ok(d)
    }

    /// Save everything to `path` atomically (temporary file, fsync, rename). Returns bytes written.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<u64> {
        let store = self.store();
        run_write(py, || store.save(&path))
    }

    /// Replace this runtime's contents with a snapshot; on any error nothing changes. Ctrl-C
    /// during the read raises KeyboardInterrupt (when the read is done) with nothing changed.
    fn load_from(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let store = self.store();
        run_long(py, None, |p| store.load(&path, Some(&*p)))
    }
}
