//! Grid bindings: kNN and radius queries in one space (or across all eight), field
//! influence, density, per-token lookups, and the explorers' one-byte quantiser. Queries
//! return numpy arrays; the Python layer wraps them in QueryResult values and DataFrames.

use super::args::{array1, array_arg, elems, opt_size_arg, query_token_id, space_arg};
use super::errors::ValidationError;
use super::runtime::PyRuntime;
use super::util::{run, run_long};
use crate::space::{COGNITIVE, SPACE_NAMES};
use crate::storage::indexes::{Center, CrossSpaceCenter};
use numpy::{
    IntoPyArray, Ix2, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

type Ids<'py> = Bound<'py, PyArray1<u32>>;
type Dists<'py> = Bound<'py, PyArray1<f32>>;
type Matrix<'py, T> = Bound<'py, PyArray2<T>>;

/// kNN queries asking for more hits than this (k, or Q x k for a batch) run as long work:
/// on a worker thread, interruptible with Ctrl-C.
const LONG_K: usize = 4096;

/// A token id or an (x, y, z) point.
fn center_arg(target: &Bound<'_, PyAny>) -> PyResult<Center> {
    if let Some(id) = query_token_id(target)? {
        return Ok(Center::Token(id));
    }
    let v: Vec<f32> = target.extract().map_err(|_| {
        ValidationError::new_err(format!(
            "query must be a token id or an (x, y, z) point, got {}",
            target.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    })?;
    if v.len() != 3 {
        return Err(ValidationError::new_err(format!(
            "a query point needs 3 values (x, y, z), got {}",
            v.len()
        )));
    }
    Ok(Center::Point([v[0], v[1], v[2]]))
}

/// A token id or 24 values (8 spaces x 3), for a query across all spaces.
fn all_center_arg(target: &Bound<'_, PyAny>) -> PyResult<CrossSpaceCenter> {
    if let Some(id) = query_token_id(target)? {
        return Ok(CrossSpaceCenter::Token(id));
    }
    let v: Vec<f32> = target.extract().map_err(|_| {
        ValidationError::new_err("a cross-space query is a token id or 24 values (8 spaces x 3)")
    })?;
    let arr: [f32; 24] = v.try_into().map_err(|v: Vec<f32>| {
        ValidationError::new_err(format!(
            "a cross-space point needs 24 values, got {}",
            v.len()
        ))
    })?;
    Ok(CrossSpaceCenter::Point(arr))
}

fn points_arg<'py>(points: &Bound<'py, PyAny>) -> PyResult<PyReadonlyArray2<'py, f32>> {
    let points = array_arg::<f32, Ix2>(points, "points")?;
    let shape = points.shape();
    if shape[1] != 3 {
        return Err(ValidationError::new_err(format!(
            "points must have shape (Q, 3), got ({}, {})",
            shape[0], shape[1]
        )));
    }
    Ok(points)
}

fn xyz_rows<'a>(points: &'a PyReadonlyArray2<'_, f32>) -> PyResult<&'a [[f32; 3]]> {
    Ok(bytemuck::cast_slice(elems(points)?))
}

fn pair<'py>(py: Python<'py>, ids: Vec<u32>, d: Vec<f32>) -> (Ids<'py>, Dists<'py>) {
    (ids.into_pyarray(py), d.into_pyarray(py))
}

#[pymethods]
impl PyRuntime {
    /// Exact k nearest neighbours of a token (itself excluded) or a point in one space:
    /// (ids, distances), nearest first, ties broken by id. `space="all"` uses all 24
    /// coordinates weighted by the CDNA scales (a token id or 24 values).
    #[pyo3(signature = (target, k=None, space=None))]
    fn grid_neighbors<'py>(
        &self,
        py: Python<'py>,
        target: &Bound<'py, PyAny>,
        k: Option<&Bound<'py, PyAny>>,
        space: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Ids<'py>, Dists<'py>)> {
        let k = opt_size_arg(k, "k")?.unwrap_or(10);
        let store = self.store();
        let all = match space {
            Some(s) => s.extract::<String>().map(|v| v == "all").unwrap_or(false),
            None => false,
        };
        if all {
            let c = all_center_arg(target)?;
            let h = run(py, || store.neighbors_all(c, k))?;
            return Ok(pair(py, h.ids, h.dist));
        }
        let s = space.map(space_arg).transpose()?.unwrap_or(COGNITIVE);
        let c = center_arg(target)?;
        let h = if k <= LONG_K {
            run(py, || store.neighbors(s, c, k, None))?
        } else {
            run_long(py, None, |p| store.neighbors(s, c, k, Some(&*p)))?
        };
        Ok(pair(py, h.ids, h.dist))
    }

    /// Batched kNN for a (Q, 3) float32 array, in parallel: (ids (Q, k), distances (Q, k));
    /// rows with fewer than k tokens are padded with id 0 and inf.
    #[pyo3(signature = (points, k=None, space=None))]
    fn grid_neighbors_many<'py>(
        &self,
        py: Python<'py>,
        points: &Bound<'py, PyAny>,
        k: Option<&Bound<'py, PyAny>>,
        space: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Matrix<'py, u32>, Matrix<'py, f32>)> {
        let k = opt_size_arg(k, "k")?.unwrap_or(10);
        let s = space.map(space_arg).transpose()?.unwrap_or(COGNITIVE);
        let points = points_arg(points)?;
        let pts = xyz_rows(&points)?;
        let q = pts.len();
        let store = self.store();
        let (ids, d, k) = if q.saturating_mul(k) <= LONG_K {
            run(py, || store.neighbors_many(s, pts, k, None))?
        } else {
            run_long(py, None, |p| store.neighbors_many(s, pts, k, Some(&*p)))?
        };
        Ok((
            ids.into_pyarray(py).reshape([q, k])?,
            d.into_pyarray(py).reshape([q, k])?,
        ))
    }

    /// Tokens within `radius` (CDNA-scaled) of a token (itself excluded) or a point.
    #[pyo3(signature = (center, radius, space=None))]
    fn grid_range<'py>(
        &self,
        py: Python<'py>,
        center: &Bound<'py, PyAny>,
        radius: f32,
        space: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Ids<'py>, Dists<'py>)> {
        let s = space.map(space_arg).transpose()?.unwrap_or(COGNITIVE);
        let c = center_arg(center)?;
        let store = self.store();
        let h = run(py, || store.range(s, c, radius))?;
        Ok(pair(py, h.ids, h.dist))
    }

    /// Batched radius queries: (offsets (Q+1,), ids, distances) in CSR form.
    #[pyo3(signature = (points, radius, space=None))]
    fn grid_range_many<'py>(
        &self,
        py: Python<'py>,
        points: &Bound<'py, PyAny>,
        radius: f32,
        space: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyArray1<u64>>, Ids<'py>, Dists<'py>)> {
        let s = space.map(space_arg).transpose()?.unwrap_or(COGNITIVE);
        let points = points_arg(points)?;
        let pts = xyz_rows(&points)?;
        let store = self.store();
        let (off, ids, d) = run(py, || store.range_many(s, pts, radius))?;
        Ok((
            off.into_pyarray(py),
            ids.into_pyarray(py),
            d.into_pyarray(py),
        ))
    }

    /// Field influence at a point: sum of field_strength x (1 - d / field_radius).
    fn grid_field_influence(
        &self,
        py: Python<'_>,
        point: [f32; 3],
        space: &Bound<'_, PyAny>,
    ) -> PyResult<f64> {
        let s = space_arg(space)?;
        let store = self.store();
        run(py, || store.field_influence(s, point))
    }

    /// (count, tokens per unit volume) within `radius` of a point.
    fn grid_density(
        &self,
        py: Python<'_>,
        point: [f32; 3],
        radius: f32,
        space: &Bound<'_, PyAny>,
    ) -> PyResult<(usize, f64)> {
        let s = space_arg(space)?;
        let store = self.store();
        run(py, || store.density(s, point, radius))
    }

    /// Per-space index summary: tokens, bounds, memory, scale.
    fn grid_info_list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let store = self.store();
        let info = run(py, || Ok(store.grid_info()))?;
        let out = PyList::empty(py);
        for i in info {
            let d = PyDict::new(py);
            d.set_item("space", SPACE_NAMES[i.space])?;
            d.set_item("tokens", i.tokens)?;
            d.set_item("min", i.bounds.map(|b| b.0.to_vec()))?;
            d.set_item("max", i.bounds.map(|b| b.1.to_vec()))?;
            d.set_item("memory_bytes", i.memory_bytes)?;
            d.set_item("scale", i.scale)?;
            out.append(d)?;
        }
        Ok(out)
    }

    /// Labels of the given tokens (None where a token has no label or does not exist).
    fn labels_of(&self, ids: &Bound<'_, PyAny>) -> PyResult<Vec<Option<String>>> {
        let ids = array1::<u32>(ids, "ids")?;
        Ok(self.store().labels_of(elems(&ids)?))
    }

    /// Coordinates of the given tokens in one space, (N, 3) float64, NaN where not placed.
    fn coords_of<'py>(
        &self,
        py: Python<'py>,
        ids: &Bound<'py, PyAny>,
        space: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let s = space_arg(space)?;
        let ids = array1::<u32>(ids, "ids")?;
        let ids = elems(&ids)?;
        self.store()
            .coords_of(ids, s)
            .into_pyarray(py)
            .reshape([ids.len(), 3])
    }

    // ---- the PyRuntime grid operations ----

    /// Grid summary as a dict {space: {tokens, min, max, memory_bytes, scale}}.
    fn get_grid_info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for item in self.grid_info_list(py)?.iter() {
            let item = item.downcast_into::<PyDict>()?;
            let name = item.get_item("space")?;
            d.set_item(name, item)?;
        }
        Ok(d)
    }

    /// k nearest neighbours as a list of (id, distance).
    #[pyo3(signature = (target, k=None, space=None))]
    fn find_neighbors(
        &self,
        py: Python<'_>,
        target: &Bound<'_, PyAny>,
        k: Option<&Bound<'_, PyAny>>,
        space: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<(u32, f32)>> {
        let (ids, d) = self.grid_neighbors(py, target, k, space)?;
        Ok(ids.to_vec()?.into_iter().zip(d.to_vec()?).collect())
    }

    /// Tokens within a radius as a list of (id, distance).
    #[pyo3(signature = (center, radius, space=None))]
    fn range_query(
        &self,
        py: Python<'_>,
        center: &Bound<'_, PyAny>,
        radius: f32,
        space: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<(u32, f32)>> {
        let (ids, d) = self.grid_range(py, center, radius, space)?;
        Ok(ids.to_vec()?.into_iter().zip(d.to_vec()?).collect())
    }
}

type Codes<'py> = (Bound<'py, PyArray2<u8>>, Vec<(f64, f64)>);

/// One byte per coordinate for the explorers: rows `order` of a float32 `(n, cols)` matrix as
/// uint8 codes `(len(order), cols)` (0..254 over each column's finite range, 255 for NaN), and
/// each column's `(lo, step)` (code q stands for lo + q * step).
#[pyfunction]
pub fn quantize_u8<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    order: &Bound<'py, PyAny>,
) -> PyResult<Codes<'py>> {
    let data = array_arg::<f32, Ix2>(data, "data")?;
    let order = array1::<u32>(order, "order")?;
    let cols = data.shape()[1];
    let flat = elems(&data)?;
    let order = elems(&order)?;
    let rows = order.len();
    let (codes, ranges) = run(py, || crate::quantize::quantize_u8(flat, cols, order))?;
    Ok((
        codes.into_pyarray(py).reshape([rows, cols])?,
        ranges.iter().map(|r| (r.lo, r.step)).collect(),
    ))
}
