//! Token bindings: the bulk numpy API and the PyRuntime token operations.

use super::args::{
    array1, array_arg, elems, entity_arg, int_arg, label_arg, labels_arg, opt_array_arg,
    opt_int_arg, opt_size_arg, opt_slice, space_arg, space_kwargs, xyz_arg, NewTokenId, TokenId,
};
use super::errors::ValidationError;
use super::runtime::PyRuntime;
use super::util::{run, run_write};
use super::values::{token_columns_dict, token_dict};
use crate::space::{NUM_SPACES, SPACE_NAMES};
use crate::storage::tokens::{TokenBatch, TokenUpdate};
use crate::storage::TokenSpec;
use numpy::{IntoPyArray, Ix1, Ix3, PyArray1, PyArray2, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

#[pymethods]
impl PyRuntime {
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
        self.store().token_ids().into_pyarray(py)
    }

    /// Decoded coordinates of one space, (N, 3) float32, NaN where a token is not placed in it.
    fn token_coords<'py>(
        &self,
        py: Python<'py>,
        space: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let s = space_arg(space)?;
        let store = self.store();
        let v = run(py, || Ok(store.token_coords(s)))?;
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
        let cols = run(py, || Ok(store.token_columns(offset, limit)))?;
        token_columns_dict(py, cols, label_buffers)
    }

    /// Whether a token exists.
    fn has_token(&self, id: &Bound<'_, PyAny>) -> bool {
        match int_arg(id, "id", i64::MIN, i64::MAX) {
            Ok(id) => u32::try_from(id).is_ok_and(|id| self.store().has_token(id)),
            Err(_) => false,
        }
    }

    /// Ids of the tokens carrying exactly this label.
    fn find_label<'py>(&self, py: Python<'py>, label: &str) -> Bound<'py, PyArray1<u32>> {
        self.store().find_label(label).into_pyarray(py)
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
        id: Option<NewTokenId>,
        field_radius: f32,
        field_strength: f32,
        clamp: bool,
        spaces: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<u32> {
        let mut spec = TokenSpec {
            weight,
            label: label.map(|l| label_arg(&l, "label")).transpose()?.flatten(),
            id: id.map(|i| i.0),
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
        Ok(self.store().create_token(&spec)?)
    }

    /// One token as a dict (id, label, entity, weight, coords per space ...).
    fn get_token<'py>(&self, py: Python<'py>, id: TokenId) -> PyResult<Bound<'py, PyDict>> {
        token_dict(py, &self.store().get_token(id.0)?)
    }

    /// Change a token. `label=""` removes the label; `space=None` removes it from a space.
    #[pyo3(signature = (id, *, weight=None, entity=None, label=None, field_radius=None, field_strength=None, user_flags=None, domain=None, clamp=false, **spaces))]
    #[allow(clippy::too_many_arguments)]
    fn update_token(
        &self,
        id: TokenId,
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
        Ok(self.store().update_token(id.0, u)?)
    }

    /// Delete one token and its connections.
    fn delete_token(&self, id: TokenId) -> PyResult<()> {
        self.store().delete_tokens(&[id.0])?;
        Ok(())
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
        let out = PyList::empty(py);
        for v in &self.store().token_rows(offset, limit) {
            out.append(token_dict(py, v)?)?;
        }
        Ok(out)
    }

    fn count_tokens(&self) -> usize {
        self.store().token_count()
    }

    /// Remove every token and connection (the CDNA and the event log stay).
    fn clear_tokens(&self) {
        self.store().clear()
    }
}
