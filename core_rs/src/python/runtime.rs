//! `Runtime`: the compiled runtime class. Bulk methods take and return numpy arrays; the
//! 26 PyRuntime operations keep their earlier names and return plain dicts and lists.

use super::convert::{
    array_arg, bool_arg, cdna_dict, connection_columns, connection_dict, elems, entity_arg,
    int_arg, kind_arg, label_arg, labels_arg, opt_array_arg, opt_int_arg, opt_size_arg, space_arg,
    space_kwargs, token_dict, xyz_arg, TokenColumns,
};
use super::errors::{map, run, run_long, run_write, ValidationError};
use crate::cdna::flags as cflags;
use crate::connection::LearnOutcome;
use crate::metrics::Op;
use crate::space::{NUM_SPACES, SPACE_NAMES};
use crate::storage::connections::{Column, ConnectionBatch};
use crate::storage::tokens::{TokenBatch, TokenUpdate};
use crate::storage::{Policy, RuntimeStorage, TokenSpec};
use numpy::{
    IntoPyArray, Ix1, Ix3, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::path::PathBuf;
use std::sync::Arc;

/// The NeuroGraph runtime: tokens, connections, CDNA, Guardian, snapshots and metrics.
#[pyclass(name = "Runtime", module = "neurograph_lab._core", subclass, frozen)]
pub struct PyRuntime {
    inner: Arc<RuntimeStorage>,
}

fn opt_slice<'a, T: numpy::Element>(
    a: &'a Option<PyReadonlyArray1<'_, T>>,
) -> PyResult<Option<&'a [T]>> {
    a.as_ref().map(elems).transpose()
}

/// A 1-D array argument of any layout, byte order or integer dtype (see `array_arg`).
pub(crate) fn array1<'py, T: numpy::Element>(
    v: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<PyReadonlyArray1<'py, T>> {
    array_arg::<T, Ix1>(v, name)
}

/// Rows `offset .. offset + limit` of a store of `len` rows, clipped.
fn window(len: usize, offset: usize, limit: usize) -> std::ops::Range<usize> {
    let start = offset.min(len);
    start..start.saturating_add(limit).min(len)
}

fn id_arg(id: i64) -> PyResult<u32> {
    if id < 0 || id > u32::MAX as i64 {
        return Err(super::errors::NotFoundError::new_err(format!(
            "no token with id {id}"
        )));
    }
    Ok(id as u32)
}

impl PyRuntime {
    pub(crate) fn store(&self) -> &RuntimeStorage {
        &self.inner
    }
}

#[pymethods]
impl PyRuntime {
    #[new]
    #[pyo3(signature = (*args, **kwargs))]
    fn new(args: &Bound<'_, pyo3::types::PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        let _ = (args, kwargs);
        PyRuntime {
            inner: Arc::new(RuntimeStorage::new()),
        }
    }

    // ---------------- tokens: bulk ----------------

    /// Create tokens from a float32 array of shape (N, 8, 3); returns their ids (uint32).
    #[pyo3(signature = (coords, weights=None, entities=None, labels=None, ids=None, field_radius=None, field_strength=None, clamp=false, undefined_nan=false, default_weight=1.0))]
    #[allow(clippy::too_many_arguments)]
    fn create_tokens<'py>(
        &self,
        py: Python<'py>,
        coords: &Bound<'py, PyAny>,
        weights: Option<&Bound<'py, PyAny>>,
        entities: Option<&Bound<'py, PyAny>>,
        labels: Option<&Bound<'py, PyAny>>,
        ids: Option<&Bound<'py, PyAny>>,
        field_radius: Option<&Bound<'py, PyAny>>,
        field_strength: Option<&Bound<'py, PyAny>>,
        clamp: bool,
        undefined_nan: bool,
        default_weight: f32,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let coords = array_arg::<f32, Ix3>(coords, "coords")?;
        let weights = opt_array_arg::<f32, Ix1>(weights, "weights")?;
        let entities = opt_array_arg::<u8, Ix1>(entities, "entities")?;
        let ids = opt_array_arg::<u32, Ix1>(ids, "ids")?;
        let field_radius = opt_array_arg::<f32, Ix1>(field_radius, "field_radius")?;
        let field_strength = opt_array_arg::<f32, Ix1>(field_strength, "field_strength")?;
        let labels = match labels {
            Some(l) if !l.is_none() => Some(labels_arg(l)?),
            _ => None,
        };
        let shape = coords.shape();
        if shape[1] != NUM_SPACES || shape[2] != 3 {
            return Err(ValidationError::new_err(format!(
                "coords must have shape (N, 8, 3), got ({}, {}, {})",
                shape[0], shape[1], shape[2]
            )));
        }
        let b = TokenBatch {
            coords: elems(&coords)?,
            weights: opt_slice(&weights)?,
            entities: opt_slice(&entities)?,
            field_radius: opt_slice(&field_radius)?,
            field_strength: opt_slice(&field_strength)?,
            labels,
            ids: opt_slice(&ids)?,
            clamp,
            undefined_nan,
            default_weight,
        };
        let store = self.store();
        let out = run_write(py, || store.create_tokens(&b))?;
        Ok(out.into_pyarray(py))
    }

    /// Delete many tokens (and their connections); all ids must exist. Returns how many.
    fn delete_tokens(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<usize> {
        let ids = array1::<u32>(ids, "ids")?;
        let ids = elems(&ids)?;
        let store = self.store();
        run_write(py, || store.delete_tokens(ids))
    }

    /// Ids of all tokens in store order.
    fn token_ids<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        let store = self.store();
        let v: Vec<u32> = store.metrics.time(Op::TokenScan, || {
            store
                .read()
                .tokens
                .records
                .iter()
                .map(|t| t.local_id())
                .collect()
        });
        v.into_pyarray(py)
    }

    /// Decoded coordinates of one space, (N, 3) float32, NaN where a token is not placed in it.
    fn token_coords<'py>(
        &self,
        py: Python<'py>,
        space: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let s = space_arg(space)?;
        let store = self.store();
        let v = run(py, || {
            let _t = store.metrics.timer(Op::TokenScan);
            let st = store.read();
            let mut v = Vec::with_capacity(st.tokens.len() * 3);
            for (t, m) in st.tokens.records.iter().zip(&st.tokens.defined) {
                if m & (1 << s) != 0 {
                    v.extend_from_slice(&t.space_coords(s));
                } else {
                    v.extend_from_slice(&[f32::NAN; 3]);
                }
            }
            Ok(v)
        })?;
        let n = v.len() / 3;
        PyArray1::from_vec(py, v).reshape([n, 3])
    }

    /// All token fields as numpy columns (rows `offset .. offset+limit` in store order).
    /// With `label_buffers`, labels come as Arrow string buffers instead of a list of str.
    #[pyo3(signature = (limit=None, offset=None, label_buffers=false))]
    fn token_columns<'py>(
        &self,
        py: Python<'py>,
        limit: Option<&Bound<'py, PyAny>>,
        offset: Option<&Bound<'py, PyAny>>,
        label_buffers: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let limit = opt_size_arg(limit, "limit")?;
        let offset = opt_size_arg(offset, "offset")?.unwrap_or(0);
        let store = self.store();
        let cols = run(py, || {
            let _t = store.metrics.timer(Op::TokenScan);
            let st = store.read();
            let start = offset.min(st.tokens.len());
            let end = limit.map_or(st.tokens.len(), |l| {
                start.saturating_add(l).min(st.tokens.len())
            });
            Ok(TokenColumns::gather(&st, start, end))
        })?;
        cols.into_dict(py, label_buffers)
    }

    /// Whether a token exists.
    fn has_token(&self, id: &Bound<'_, PyAny>) -> bool {
        let Ok(id) = int_arg(id, "id", i64::MIN, i64::MAX) else {
            return false;
        };
        id >= 0 && id <= u32::MAX as i64 && self.store().read().tokens.contains(id as u32)
    }

    /// Ids of the tokens carrying exactly this label.
    fn find_label<'py>(&self, py: Python<'py>, label: &str) -> Bound<'py, PyArray1<u32>> {
        let st = self.store().read();
        let mut v: Vec<u32> = st
            .tokens
            .labels
            .iter()
            .filter(|(_, l)| l.as_str() == label)
            .map(|(id, _)| *id)
            .collect();
        drop(st);
        v.sort_unstable();
        v.into_pyarray(py)
    }

    // ---------------- tokens: the PyRuntime operations ----------------

    /// Create one token; spaces as keywords, e.g. `cognitive=(0.1, 0.2, 0.3)`. Returns its id.
    #[pyo3(signature = (coords=None, *, weight=1.0, entity=None, label=None, id=None, field_radius=0.0, field_strength=0.0, clamp=false, **spaces))]
    #[allow(clippy::too_many_arguments)]
    fn create_token(
        &self,
        coords: Option<Vec<Option<Bound<'_, PyAny>>>>,
        weight: f32,
        entity: Option<Bound<'_, PyAny>>,
        label: Option<Bound<'_, PyAny>>,
        id: Option<Bound<'_, PyAny>>,
        field_radius: f32,
        field_strength: f32,
        clamp: bool,
        spaces: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<u32> {
        let mut spec = TokenSpec {
            weight,
            label: label.map(|l| label_arg(&l, "label")).transpose()?.flatten(),
            field_radius,
            field_strength,
            clamp,
            ..Default::default()
        };
        if let Some(rows) = coords {
            if rows.len() != NUM_SPACES {
                return Err(ValidationError::new_err(format!(
                    "coords must have 8 rows (one per space), got {}",
                    rows.len()
                )));
            }
            for (s, row) in rows.iter().enumerate() {
                if let Some(r) = row {
                    spec.coords[s] = xyz_arg(SPACE_NAMES[s], r)?;
                }
            }
        }
        for (s, xyz) in space_kwargs(spaces)? {
            spec.coords[s] = xyz;
        }
        if let Some(e) = entity {
            spec.entity = entity_arg(&e)?;
        }
        if let Some(id) = opt_int_arg(
            id.as_ref(),
            "token id",
            1,
            crate::token::MAX_LOCAL_ID as i64,
        )? {
            spec.id = Some(map(crate::storage::tokens::check_id(id as u64))?);
        }
        map(self.store().create_token(&spec))
    }

    /// One token as a dict (id, label, entity, weight, coords per space ...).
    fn get_token<'py>(&self, py: Python<'py>, id: i64) -> PyResult<Bound<'py, PyDict>> {
        let v = map(self.store().get_token(id_arg(id)?))?;
        token_dict(py, &v)
    }

    /// Change a token. `label=""` removes the label; `space=None` removes it from a space.
    #[pyo3(signature = (id, *, weight=None, entity=None, label=None, field_radius=None, field_strength=None, user_flags=None, domain=None, clamp=false, **spaces))]
    #[allow(clippy::too_many_arguments)]
    fn update_token(
        &self,
        id: i64,
        weight: Option<f32>,
        entity: Option<Bound<'_, PyAny>>,
        label: Option<Bound<'_, PyAny>>,
        field_radius: Option<f32>,
        field_strength: Option<f32>,
        user_flags: Option<Bound<'_, PyAny>>,
        domain: Option<Bound<'_, PyAny>>,
        clamp: bool,
        spaces: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let u = TokenUpdate {
            weight,
            entity: entity.map(|e| entity_arg(&e)).transpose()?,
            label: match label {
                // None leaves the label as it is; "" removes it
                Some(l) if !l.is_none() => Some(label_arg(&l, "label")?.filter(|l| !l.is_empty())),
                _ => None,
            },
            coords: space_kwargs(spaces)?,
            field_radius,
            field_strength,
            user_flags: opt_int_arg(user_flags.as_ref(), "user_flags", 0, 15)?.map(|v| v as u8),
            domain: opt_int_arg(domain.as_ref(), "domain", 0, 15)?.map(|v| v as u8),
            clamp,
        };
        map(self.store().update_token(id_arg(id)?, u))
    }

    /// Delete one token and its connections.
    fn delete_token(&self, id: i64) -> PyResult<()> {
        map(self.store().delete_tokens(&[id_arg(id)?])).map(|_| ())
    }

    /// Tokens as a list of dicts (`limit` rows from `offset`).
    #[pyo3(signature = (limit=None, offset=None))]
    fn list_tokens<'py>(
        &self,
        py: Python<'py>,
        limit: Option<&Bound<'py, PyAny>>,
        offset: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let limit = opt_size_arg(limit, "limit")?.unwrap_or(100);
        let offset = opt_size_arg(offset, "offset")?.unwrap_or(0);
        let views: Vec<_> = {
            let _t = self.store().metrics.timer(Op::TokenScan);
            let st = self.store().read();
            window(st.tokens.len(), offset, limit)
                .map(|i| crate::storage::TokenView {
                    token: st.tokens.records[i],
                    defined: st.tokens.defined[i],
                    label: st
                        .tokens
                        .labels
                        .get(&st.tokens.records[i].local_id())
                        .cloned(),
                })
                .collect()
        };
        let out = PyList::empty(py);
        for v in &views {
            out.append(token_dict(py, v)?)?;
        }
        Ok(out)
    }

    fn count_tokens(&self) -> usize {
        self.store().read().tokens.len()
    }

    /// Remove every token and connection (the CDNA and the event log stay).
    fn clear_tokens(&self) {
        self.store().clear()
    }

    // ---------------- connections ----------------

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
        let kind = match kind {
            Some(k) => kind_arg(&k)?,
            None => 0x50,
        };
        let (a, b) = (array1::<u32>(a, "a")?, array1::<u32>(b, "b")?);
        let kinds = opt_array_arg::<u8, Ix1>(kinds, "kinds")?;
        let strengths = opt_array_arg::<f32, Ix1>(strengths, "strengths")?;
        let default_strength =
            strength.unwrap_or_else(|| self.store().read().cdna.default_pull_strength);
        let batch = ConnectionBatch {
            a: elems(&a)?,
            b: elems(&b)?,
            kinds: match opt_slice(&kinds)? {
                Some(s) => Column::Each(s),
                None => Column::All(kind),
            },
            strengths: match opt_slice(&strengths)? {
                Some(s) => Column::Each(s),
                None => Column::All(default_strength),
            },
            rigidity: Column::All(rigidity),
            confidence: Column::All(confidence),
            preferred_distance,
            learning_rate,
            decay_rate,
            bidirectional,
            active_levels,
            hypothesis,
            source_id,
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
        a: i64,
        b: i64,
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
        let (a, b) = (id_arg(a)?, id_arg(b)?);
        let kind = match kind {
            Some(k) => kind_arg(&k)?,
            None => 0x50,
        };
        let strength = strength.unwrap_or_else(|| self.store().read().cdna.default_pull_strength);
        let (aa, bb) = ([a], [b]);
        let batch = ConnectionBatch {
            a: &aa,
            b: &bb,
            kinds: Column::All(kind),
            strengths: Column::All(strength),
            rigidity: Column::All(rigidity),
            confidence: Column::All(confidence),
            preferred_distance,
            learning_rate,
            decay_rate,
            bidirectional,
            active_levels,
            hypothesis: false,
            source_id: 0,
        };
        Ok(map(self.store().create_connections(&batch))?[0])
    }

    fn get_connection<'py>(&self, py: Python<'py>, id: i64) -> PyResult<Bound<'py, PyDict>> {
        if id < 0 || id > u32::MAX as i64 {
            return Err(super::errors::NotFoundError::new_err(format!(
                "no connection with id {id}"
            )));
        }
        let c = map(self.store().get_connection(id as u32))?;
        connection_dict(py, &c)
    }

    fn delete_connection(&self, id: i64) -> PyResult<()> {
        if id < 0 || id > u32::MAX as i64 {
            return Err(super::errors::NotFoundError::new_err(format!(
                "no connection with id {id}"
            )));
        }
        map(self.store().delete_connections(&[id as u32])).map(|_| ())
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
        let recs: Vec<_> = {
            let _t = self.store().metrics.timer(Op::ConnectionScan);
            let st = self.store().read();
            st.connections.records[window(st.connections.len(), offset, limit)].to_vec()
        };
        let out = PyList::empty(py);
        for c in &recs {
            out.append(connection_dict(py, c)?)?;
        }
        Ok(out)
    }

    fn count_connections(&self) -> usize {
        self.store().read().connections.len()
    }

    /// Connections touching a token, as dicts.
    fn get_connections_for_token<'py>(
        &self,
        py: Python<'py>,
        id: i64,
    ) -> PyResult<Bound<'py, PyList>> {
        let recs = map(self.store().connections_for_token(id_arg(id)?))?;
        let out = PyList::empty(py);
        for c in &recs {
            out.append(connection_dict(py, c)?)?;
        }
        Ok(out)
    }

    /// Connection fields as numpy columns (all, or those touching `token`).
    #[pyo3(signature = (token=None))]
    fn connection_columns<'py>(
        &self,
        py: Python<'py>,
        token: Option<i64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let store = self.store();
        let recs = match token {
            Some(t) => {
                let t = id_arg(t)?;
                run(py, || store.connections_for_token(t))?
            }
            None => run(py, || {
                let _t = store.metrics.timer(Op::ConnectionScan);
                Ok(store.read().connections.records.clone())
            })?,
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
        Ok(match map(self.store().connection_feedback(id, success))? {
            LearnOutcome::Updated => "updated",
            LearnOutcome::Unchanged => "unchanged",
            LearnOutcome::Drop => "dropped",
        })
    }

    /// One decay step over hypothesis connections; returns how many were dropped.
    fn decay_hypotheses(&self) -> usize {
        self.store().decay_hypotheses()
    }

    // ---------------- CDNA ----------------

    /// The CDNA as nested dicts, one per block.
    fn get_cdna_config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        cdna_dict(py, &self.store().cdna())
    }

    /// Per-space distance scales as {space: scale}.
    fn get_cdna_scales<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.store().cdna();
        let d = PyDict::new(py);
        for (i, n) in SPACE_NAMES.iter().enumerate() {
            d.set_item(*n, c.scales[i])?;
        }
        Ok(d)
    }

    /// Change scales: a dict {space: scale} (names, L1..L8 or numbers) or 8 values.
    fn update_cdna_scales(&self, scales: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut changes: Vec<(usize, f64)> = Vec::new();
        if let Ok(d) = scales.downcast::<PyDict>() {
            for (k, v) in d.iter() {
                let val: f64 = v.extract().map_err(|_| {
                    ValidationError::new_err(format!("scale for {k} must be a number"))
                })?;
                changes.push((space_arg(&k)?, val));
            }
        } else {
            let vals: Vec<f64> = scales.extract().map_err(|_| {
                ValidationError::new_err(
                    "scales must be a dict {space: scale} or a sequence of 8 numbers",
                )
            })?;
            if vals.len() != NUM_SPACES {
                return Err(ValidationError::new_err(format!(
                    "scales must have 8 values, got {}",
                    vals.len()
                )));
            }
            changes.extend(vals.into_iter().enumerate());
        }
        for (s, v) in &changes {
            // a finite positive value that float32 cannot hold as a normal number would be
            // stored as 0, a denormal or inf: refuse it here, naming what was given
            let f = *v as f32;
            if *v > 0.0 && f < f32::MIN_POSITIVE {
                return Err(ValidationError::new_err(format!(
                    "scale of {} = {v:e} is too small: the smallest scale is {:e} (a smaller float32 is denormal or 0)",
                    SPACE_NAMES[*s],
                    f32::MIN_POSITIVE,
                )));
            }
        }
        let what = changes
            .iter()
            .map(|(s, v)| format!("{}={v}", SPACE_NAMES[*s]))
            .collect::<Vec<_>>()
            .join(", ");
        map(self
            .store()
            .change_cdna(&format!("scales {what}"), Policy::Refuse, |c| {
                for (s, v) in &changes {
                    c.scales[*s] = *v as f32;
                }
                Ok(())
            }))
        .map(|_| ())
    }

    fn get_cdna_profile(&self) -> &'static str {
        self.store().cdna().profile_name()
    }

    /// Switch profile: default, explorer, analyst or creative. `policy` says what to do
    /// when the data held breaks the profile's rules: "refuse", "clamp" or "force".
    #[pyo3(signature = (name, policy="refuse"))]
    fn set_cdna_profile(&self, name: &str, policy: &str) -> PyResult<()> {
        map(self.store().set_profile(name, policy_arg(policy)?)).map(|_| ())
    }

    fn get_cdna_flags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.store().cdna();
        let d = PyDict::new(py);
        for (i, n) in cflags::NAMES.iter().enumerate() {
            d.set_item(*n, c.flags & (1 << i) != 0)?;
        }
        Ok(d)
    }

    /// Set flags from {name: bool}; unnamed flags keep their value.
    #[pyo3(signature = (flags, policy="refuse"))]
    fn set_cdna_flags(&self, flags: &Bound<'_, PyDict>, policy: &str) -> PyResult<()> {
        let policy = policy_arg(policy)?;
        let mut changes = Vec::new();
        for (k, v) in flags.iter() {
            let name: String = k.extract()?;
            let upper = name.to_ascii_uppercase();
            let bit = cflags::NAMES
                .iter()
                .position(|n| *n == upper)
                .ok_or_else(|| {
                    ValidationError::new_err(format!(
                        "unknown CDNA flag {name:?}: expected one of {}",
                        cflags::NAMES.join(", ")
                    ))
                })?;
            let on: bool = v.extract().map_err(|_| {
                ValidationError::new_err(format!("flag {name} must be True or False"))
            })?;
            changes.push((bit, on, upper));
        }
        let what = changes
            .iter()
            .map(|(_, on, n)| format!("{n}={on}"))
            .collect::<Vec<_>>()
            .join(", ");
        map(self
            .store()
            .change_cdna(&format!("flags {what}"), policy, |c| {
                for (bit, on, _) in &changes {
                    if *on {
                        c.flags |= 1 << bit;
                    } else {
                        c.flags &= !(1 << bit);
                    }
                }
                Ok(())
            }))
        .map(|_| ())
    }

    /// Check the CDNA, and the data held against it: {"valid": bool, "problems": [...]}.
    fn validate_cdna<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = self.store().cdna_problems();
        let d = PyDict::new(py);
        d.set_item("valid", p.is_empty())?;
        d.set_item("problems", p)?;
        Ok(d)
    }

    /// Set numeric CDNA fields by name (bounds, degree limits, rates); validated as one
    /// change. `policy` ("refuse", "clamp" or "force") says what to do when the data held
    /// breaks the new rules.
    #[pyo3(signature = (fields, policy="refuse"))]
    fn update_cdna(&self, fields: &Bound<'_, PyDict>, policy: &str) -> PyResult<()> {
        let policy = policy_arg(policy)?;
        let mut changes = Vec::new();
        for (k, v) in fields.iter() {
            let name: String = k.extract()?;
            let val: f64 = v
                .extract()
                .map_err(|_| ValidationError::new_err(format!("{name} must be a number")))?;
            changes.push((name, val));
        }
        let what = changes
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        map(self.store().change_cdna(&what, policy, |c| {
            for (n, v) in &changes {
                c.set_field(n, *v)?;
            }
            Ok(())
        }))
        .map(|_| ())
    }

    /// Allow or forbid connection kinds.
    #[pyo3(signature = (kinds, allowed, policy="refuse"))]
    fn set_cdna_kinds(
        &self,
        kinds: Vec<Bound<'_, PyAny>>,
        allowed: bool,
        policy: &str,
    ) -> PyResult<()> {
        let policy = policy_arg(policy)?;
        let codes: Vec<u8> = kinds.iter().map(kind_arg).collect::<PyResult<_>>()?;
        let names: Vec<&str> = codes
            .iter()
            .map(|k| crate::connection::kind_name(*k))
            .collect();
        let what = format!(
            "{} kinds {}",
            if allowed { "allow" } else { "forbid" },
            names.join(", ")
        );
        map(self.store().change_cdna(&what, policy, |c| {
            for k in &codes {
                c.set_kind_allowed(*k, allowed);
            }
            Ok(())
        }))
        .map(|_| ())
    }

    /// Read a CDNA field by name (degree limits as int, the rest as float).
    fn cdna_field<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let v = map(self.store().cdna().field(name))?;
        if name.starts_with("max_") {
            Ok((v as u64).into_pyobject(py)?.into_any())
        } else {
            Ok(v.into_pyobject(py)?.into_any())
        }
    }

    /// The 384-byte CDNA V2.1 record.
    fn cdna_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.store().cdna().to_bytes())
    }

    /// Earlier CDNA versions, oldest first: revision, profile, changed_at, reason.
    fn cdna_history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for v in self.store().history() {
            let d = PyDict::new(py);
            d.set_item("revision", v.cdna.revision)?;
            d.set_item("profile", v.cdna.profile_name())?;
            d.set_item("changed_at", v.changed_at)?;
            d.set_item("change", v.reason)?;
            out.append(d)?;
        }
        Ok(out)
    }

    fn cdna_revision(&self) -> u32 {
        self.store().cdna().revision
    }

    /// Return to the version `steps` changes back (the rollback is itself a new revision).
    #[pyo3(signature = (steps=None, policy="refuse"))]
    fn cdna_rollback(&self, steps: Option<&Bound<'_, PyAny>>, policy: &str) -> PyResult<()> {
        let steps = opt_size_arg(steps, "steps")?.unwrap_or(1);
        map(self.store().rollback_cdna(steps, policy_arg(policy)?)).map(|_| ())
    }

    // ---------------- events, metrics, status ----------------

    /// Guardian events as columns: time, kind, target, accepted, reason.
    #[pyo3(signature = (last=None))]
    fn events<'py>(
        &self,
        py: Python<'py>,
        last: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let ev = self.store().events(opt_size_arg(last, "last")?);
        let d = PyDict::new(py);
        d.set_item(
            "time",
            ev.iter()
                .map(|e| e.time)
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        d.set_item(
            "kind",
            ev.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        )?;
        d.set_item(
            "target",
            ev.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
        )?;
        d.set_item(
            "accepted",
            ev.iter()
                .map(|e| e.accepted)
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        d.set_item(
            "reason",
            ev.iter().map(|e| e.reason.as_str()).collect::<Vec<_>>(),
        )?;
        Ok(d)
    }

    /// (token version, connection version, CDNA revision): changes whenever the tokens, the
    /// connections or the CDNA change, so views can tell that they are stale.
    fn data_version(&self) -> (u64, u64, u64) {
        let st = self.store().read();
        (
            st.tokens.version,
            st.connections.version,
            st.cdna.revision as u64,
        )
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

    // ---------------- snapshots ----------------

    /// Save everything to `path` atomically (temporary file, fsync, rename). Returns bytes written.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<u64> {
        let store = self.store();
        run_write(py, || {
            store.metrics.time(crate::metrics::Op::SnapshotSave, || {
                crate::snapshot::save(&store.read(), &path)
            })
        })
    }

    /// Replace this runtime's contents with a snapshot; on any error nothing changes. Ctrl-C
    /// during the read raises KeyboardInterrupt (when the read is done) with nothing changed.
    fn load_from(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let store = self.store();
        run_long(py, None, |p| {
            let st = store.metrics.time(crate::metrics::Op::SnapshotLoad, || {
                crate::snapshot::load(&path)
            })?;
            p.start(1);
            p.add(1); // the file is read
            p.commit()?;
            store.replace(st);
            Ok(())
        })
    }
}

/// A CDNA change policy by name.
fn policy_arg(name: &str) -> PyResult<Policy> {
    Policy::parse(name).ok_or_else(|| {
        ValidationError::new_err(format!(
            "unknown policy {name:?}: expected \"refuse\", \"clamp\" or \"force\""
        ))
    })
}
