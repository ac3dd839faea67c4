//! Connection bindings: bulk creation and columns, the PyRuntime connection operations,
//! feedback and decay.

use super::args::{
    array1, bool_arg, elems, int_arg, kind_arg, opt_array_arg, opt_size_arg, opt_slice,
    ConnectionId, TokenId,
};
use super::runtime::PyRuntime;
use super::util::{run, run_write};
use super::values::{connection_columns, connection_dict};
use crate::connection::{LearnOutcome, ASSOCIATED_WITH};
use crate::storage::connections::{Column, ConnectionBatch};
use numpy::{IntoPyArray, Ix1, PyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// The name Python sees for a learning outcome.
pub(crate) fn outcome_name(o: LearnOutcome) -> &'static str {
    match o {
        LearnOutcome::Updated => "updated",
        LearnOutcome::Unchanged => "unchanged",
        LearnOutcome::Drop => "dropped",
    }
}

fn dict_list<'py>(py: Python<'py>, recs: &[crate::Connection]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for c in recs {
        out.append(connection_dict(py, c)?)?;
    }
    Ok(out)
}

#[pymethods]
impl PyRuntime {
    /// Create many connections from arrays of source and target ids; returns their ids.
    #[pyo3(signature = (a, b, kinds=None, strengths=None, *, kind=None, strength=None, rigidity=0.5, confidence=0.5, preferred_distance=1.0, learning_rate=0.1, decay_rate=None, bidirectional=false, active_levels=255, hypothesis=false, source_id=0))]
    #[allow(clippy::too_many_arguments)]
    fn create_connections<'py>(
        &self,
        py: Python<'py>,
        a: &Bound<'py, PyAny>,
        b: &Bound<'py, PyAny>,
        kinds: Option<&Bound<'py, PyAny>>,
        strengths: Option<&Bound<'py, PyAny>>,
        kind: Option<Bound<'py, PyAny>>,
        strength: Option<f32>,
        rigidity: f32,
        confidence: f32,
        preferred_distance: f32,
        learning_rate: f32,
        decay_rate: Option<f32>,
        bidirectional: bool,
        active_levels: u8,
        hypothesis: bool,
        source_id: u32,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let kind = kind.map(|k| kind_arg(&k)).transpose()?;
        let (a, b) = (array1::<u32>(a, "a")?, array1::<u32>(b, "b")?);
        let kinds = opt_array_arg::<u8, Ix1>(kinds, "kinds")?;
        let strengths = opt_array_arg::<f32, Ix1>(strengths, "strengths")?;
        let strength = strength.unwrap_or_else(|| self.store().default_pull_strength());
        let batch = ConnectionBatch {
            kinds: opt_slice(&kinds)?
                .map_or(Column::All(kind.unwrap_or(ASSOCIATED_WITH)), Column::Each),
            strengths: opt_slice(&strengths)?.map_or(Column::All(strength), Column::Each),
            rigidity: Column::All(rigidity),
            confidence: Column::All(confidence),
            preferred_distance,
            learning_rate,
            decay_rate,
            bidirectional,
            active_levels,
            hypothesis,
            source_id,
            ..ConnectionBatch::associated(elems(&a)?, elems(&b)?)
        };
        let store = self.store();
        let ids = run_write(py, || store.create_connections(&batch))?;
        Ok(ids.into_pyarray(py))
    }

    /// Create one connection from token `a` (source) to `b`; returns its id.
    #[pyo3(signature = (a, b, kind=None, *, strength=None, rigidity=0.5, confidence=0.5, preferred_distance=1.0, learning_rate=0.1, decay_rate=None, bidirectional=false, active_levels=255))]
    #[allow(clippy::too_many_arguments)]
    fn create_connection(
        &self,
        a: TokenId,
        b: TokenId,
        kind: Option<Bound<'_, PyAny>>,
        strength: Option<f32>,
        rigidity: f32,
        confidence: f32,
        preferred_distance: f32,
        learning_rate: f32,
        decay_rate: Option<f32>,
        bidirectional: bool,
        active_levels: u8,
    ) -> PyResult<u32> {
        let kind = kind.map(|k| kind_arg(&k)).transpose()?;
        let strength = strength.unwrap_or_else(|| self.store().default_pull_strength());
        let (aa, bb) = ([a.0], [b.0]);
        let batch = ConnectionBatch {
            kinds: Column::All(kind.unwrap_or(ASSOCIATED_WITH)),
            strengths: Column::All(strength),
            rigidity: Column::All(rigidity),
            confidence: Column::All(confidence),
            preferred_distance,
            learning_rate,
            decay_rate,
            bidirectional,
            active_levels,
            ..ConnectionBatch::associated(&aa, &bb)
        };
        Ok(self.store().create_connections(&batch)?[0])
    }

    fn get_connection<'py>(
        &self,
        py: Python<'py>,
        id: ConnectionId,
    ) -> PyResult<Bound<'py, PyDict>> {
        connection_dict(py, &self.store().get_connection(id.0)?)
    }

    fn delete_connection(&self, id: ConnectionId) -> PyResult<()> {
        self.store().delete_connections(&[id.0])?;
        Ok(())
    }

    /// Delete many connections; all ids must exist. Returns how many.
    fn delete_connections(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<usize> {
        let ids = array1::<u32>(ids, "ids")?;
        let ids = elems(&ids)?;
        let store = self.store();
        run_write(py, || store.delete_connections(ids))
    }

    #[pyo3(signature = (limit=None, offset=None))]
    fn list_connections<'py>(
        &self,
        py: Python<'py>,
        limit: Option<&Bound<'py, PyAny>>,
        offset: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let limit = opt_size_arg(limit, "limit")?.unwrap_or(100);
        let offset = opt_size_arg(offset, "offset")?.unwrap_or(0);
        dict_list(py, &self.store().connection_rows(offset, Some(limit)))
    }

    fn count_connections(&self) -> usize {
        self.store().connection_count()
    }

    /// Connections touching a token, as dicts.
    fn get_connections_for_token<'py>(
        &self,
        py: Python<'py>,
        id: TokenId,
    ) -> PyResult<Bound<'py, PyList>> {
        dict_list(py, &self.store().connections_for_token(id.0)?)
    }

    /// Connection fields as numpy columns (all, or those touching `token`).
    #[pyo3(signature = (token=None))]
    fn connection_columns<'py>(
        &self,
        py: Python<'py>,
        token: Option<TokenId>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let store = self.store();
        let recs = match token {
            Some(t) => run(py, || store.connections_for_token(t.0))?,
            None => run(py, || Ok(store.connection_rows(0, None)))?,
        };
        connection_columns(py, &recs)
    }

    /// Feedback on one connection: success raises confidence by its learning rate, failure
    /// lowers it by half that. Returns "updated", "unchanged" (immutable) or "dropped".
    fn connection_feedback(
        &self,
        id: &Bound<'_, PyAny>,
        success: &Bound<'_, PyAny>,
    ) -> PyResult<&'static str> {
        let id = int_arg(id, "connection id", 0, u32::MAX as i64)? as u32;
        let success = bool_arg(success, "good")?;
        Ok(outcome_name(self.store().connection_feedback(id, success)?))
    }

    /// One decay step over hypothesis connections; returns how many were dropped.
    fn decay_hypotheses(&self) -> usize {
        self.store().decay_hypotheses()
    }
}
