//! Grid and graph bindings: queries return numpy arrays; the Python layer wraps them in
//! QueryResult / PathResult values and DataFrames.

use super::convert::{array_arg, connection_columns, elems, kind_arg, opt_size_arg, space_arg};
use super::errors::{map, run, run_long, ValidationError};
use super::runtime::array1;
use super::runtime::PyRuntime;
use crate::connection::GROUPS;
use crate::graph::Direction;
use crate::space::SPACE_NAMES;
use crate::storage::query::{AllCenter, Center, Weight};
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

/// Connection kinds given as kind names, group names (all 16 kinds of the group) or codes.
fn kinds_arg(v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if v.is_instance_of::<pyo3::types::PyString>() {
        return Err(ValidationError::new_err(format!(
            "kinds must be a list of kind or group names, got the string {}",
            v.repr()?
        )));
    }
    let mut out = Vec::new();
    for item in v.try_iter()? {
        let item = item?;
        let group = item.extract::<String>().ok().and_then(|s| {
            GROUPS
                .iter()
                .position(|g| *g == s.trim().to_ascii_lowercase())
        });
        match group {
            Some(g) => out.extend((0..16u8).map(|i| ((g as u8) << 4) | i)),
            None => out.push(kind_arg(&item).map_err(|_| {
                ValidationError::new_err(format!(
                    "unknown connection kind or group {}: see ng.CONNECTION_KINDS and ng.CONNECTION_GROUPS",
                    item.repr().map(|r| r.to_string()).unwrap_or_default()
                ))
            })?),
        }
    }
    Ok(out)
}

/// A token id or an (x, y, z) point.
fn center_arg(target: &Bound<'_, PyAny>) -> PyResult<Center> {
    if let Ok(id) = target.extract::<i64>() {
        if target.is_instance_of::<pyo3::types::PyBool>() || id < 0 || id > u32::MAX as i64 {
            return Err(ValidationError::new_err(format!(
                "a token id must be an integer >= 0, got {}",
                target.repr()?
            )));
        }
        return Ok(Center::Token(id as u32));
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

fn weight_arg(weight: &str, space: &Bound<'_, PyAny>) -> PyResult<Weight> {
    match weight {
        "strength" => Ok(Weight::Strength),
        "hops" => Ok(Weight::Hops),
        "distance" => Ok(Weight::Distance(space_arg(space)?)),
        other => Err(ValidationError::new_err(format!(
            "weight must be 'strength', 'distance' or 'hops', got {other:?}"
        ))),
    }
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
            let c = if let Ok(id) = target.extract::<i64>() {
                if id < 0 || id > u32::MAX as i64 {
                    return Err(ValidationError::new_err(format!(
                        "a token id must be >= 0, got {id}"
                    )));
                }
                AllCenter::Token(id as u32)
            } else {
                let v: Vec<f32> = target.extract().map_err(|_| {
                    ValidationError::new_err(
                        "a cross-space query is a token id or 24 values (8 spaces x 3)",
                    )
                })?;
                let arr: [f32; 24] = v.try_into().map_err(|v: Vec<f32>| {
                    ValidationError::new_err(format!(
                        "a cross-space point needs 24 values, got {}",
                        v.len()
                    ))
                })?;
                AllCenter::Point(arr)
            };
            let h = run(py, || store.neighbors_all(c, k))?;
            return Ok(pair(py, h.ids, h.dist));
        }
        let s = match space {
            Some(s) => space_arg(s)?,
            None => 4,
        };
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
        let s = space.map(space_arg).transpose()?.unwrap_or(4);
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
        let s = space.map(space_arg).transpose()?.unwrap_or(4);
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
        let s = space.map(space_arg).transpose()?.unwrap_or(4);
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
        let ids = elems(&ids)?;
        let st = self.store().read();
        Ok(ids
            .iter()
            .map(|i| st.tokens.labels.get(i).cloned())
            .collect())
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
        let n = ids.len();
        let mut out = Vec::with_capacity(n * 3);
        {
            let st = self.store().read();
            for i in ids {
                match st.tokens.slot(*i) {
                    Some(slot) if st.tokens.defined[slot] & (1 << s) != 0 => {
                        let raw = st.tokens.records[slot].coords[s];
                        out.extend(raw.iter().map(|r| crate::space::decode_f64(s, *r)));
                    }
                    _ => out.extend([f64::NAN; 3]),
                }
            }
        }
        out.into_pyarray(py).reshape([n, 3])
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

    // ---- graph ----

    /// Breadth- (or depth-) first traversal along connections: (ids, depth, parent).
    #[pyo3(signature = (start, depth=None, dfs=false))]
    fn graph_traverse<'py>(
        &self,
        py: Python<'py>,
        start: i64,
        depth: Option<i64>,
        dfs: bool,
    ) -> PyResult<(Ids<'py>, Ids<'py>, Ids<'py>)> {
        if start < 0 || start > u32::MAX as i64 {
            return Err(super::errors::NotFoundError::new_err(format!(
                "no token with id {start}"
            )));
        }
        let depth = match depth {
            Some(d) if d < 0 => {
                return Err(ValidationError::new_err(format!(
                    "depth must be >= 0, got {d}"
                )))
            }
            Some(d) => Some(d.min(u32::MAX as i64) as u32),
            None => None,
        };
        let store = self.store();
        let t = run(py, || {
            if dfs {
                store.dfs(start as u32, depth)
            } else {
                store.bfs(start as u32, depth)
            }
        })?;
        Ok((
            t.ids.into_pyarray(py),
            t.depth.into_pyarray(py),
            t.parent.into_pyarray(py),
        ))
    }

    /// Tokens within `depth` hops of the seed ids (None: unlimited) along connections of
    /// `kinds` (kind names, group names or codes; None: all), following `direction` ("out",
    /// "in" or "both"), at most `limit` tokens: (ids, hop). Seeds first, then each hop's new
    /// tokens in ascending id order.
    #[pyo3(signature = (ids, depth=Some(1), direction="out", kinds=None, limit=None))]
    fn graph_neighbourhood<'py>(
        &self,
        py: Python<'py>,
        ids: &Bound<'py, PyAny>,
        depth: Option<i64>,
        direction: &str,
        kinds: Option<&Bound<'py, PyAny>>,
        limit: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Ids<'py>, Ids<'py>)> {
        let seeds = array1::<u32>(ids, "ids")?;
        let seeds = elems(&seeds)?.to_vec();
        let depth = match depth {
            Some(d) if d < 0 => {
                return Err(ValidationError::new_err(format!(
                    "depth must be >= 0 or None, got {d}"
                )))
            }
            Some(d) => Some(d.min(u32::MAX as i64) as u32),
            None => None,
        };
        let dir = map(Direction::parse(direction))?;
        let kinds = kinds.filter(|k| !k.is_none()).map(kinds_arg).transpose()?;
        let limit = opt_size_arg(limit, "limit")?;
        let store = self.store();
        let (ids, hops) = run(py, || {
            store.neighbourhood(&seeds, depth, dir, kinds.as_deref(), limit)
        })?;
        Ok((ids.into_pyarray(py), hops.into_pyarray(py)))
    }

    /// Cheapest path a -> b: (ids, cost), or None when b is unreachable.
    #[pyo3(signature = (a, b, weight="strength", space=None))]
    fn graph_shortest_path<'py>(
        &self,
        py: Python<'py>,
        a: u32,
        b: u32,
        weight: &str,
        space: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<(Ids<'py>, f64)>> {
        let default_space = pyo3::types::PyString::new(py, "cognitive").into_any();
        let w = weight_arg(weight, space.unwrap_or(&default_space))?;
        let store = self.store();
        let r = run(py, || store.shortest_path(a, b, w))?;
        Ok(r.map(|(ids, cost)| (ids.into_pyarray(py), cost)))
    }

    /// Costs from one token to all it reaches: (ids, costs) by increasing cost.
    #[pyo3(signature = (a, weight="strength", space=None))]
    fn graph_shortest_path_lengths<'py>(
        &self,
        py: Python<'py>,
        a: u32,
        weight: &str,
        space: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Ids<'py>, Bound<'py, PyArray1<f64>>)> {
        let default_space = pyo3::types::PyString::new(py, "cognitive").into_any();
        let w = weight_arg(weight, space.unwrap_or(&default_space))?;
        let store = self.store();
        let (ids, d) = run(py, || store.shortest_path_lengths(a, w))?;
        Ok((ids.into_pyarray(py), d.into_pyarray(py)))
    }

    /// Weakly connected components: (ids, label per id, count).
    fn graph_components<'py>(&self, py: Python<'py>) -> PyResult<(Ids<'py>, Ids<'py>, usize)> {
        let store = self.store();
        let (ids, labels, n) = run(py, || Ok(store.components()))?;
        Ok((ids.into_pyarray(py), labels.into_pyarray(py), n))
    }

    /// Connections among a set of tokens, as columns.
    fn graph_subgraph<'py>(
        &self,
        py: Python<'py>,
        ids: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let ids = array1::<u32>(ids, "ids")?;
        let ids = elems(&ids)?;
        let store = self.store();
        let recs = run(py, || store.subgraph(ids))?;
        connection_columns(py, &recs)
    }

    /// (ids, out-degree, in-degree) in store order.
    fn graph_degrees<'py>(&self, py: Python<'py>) -> PyResult<(Ids<'py>, Ids<'py>, Ids<'py>)> {
        let store = self.store();
        let (ids, o, i) = run(py, || Ok(store.degrees()))?;
        Ok((ids.into_pyarray(py), o.into_pyarray(py), i.into_pyarray(py)))
    }

    /// Barnes-Hut force-directed layout of the subgraph on `ids` (all tokens if None):
    /// (ids, positions (N, 2) float32 in [-1, 1]).
    #[pyo3(signature = (ids=None, iterations=100, seed=0))]
    fn graph_layout<'py>(
        &self,
        py: Python<'py>,
        ids: Option<&Bound<'py, PyAny>>,
        iterations: u32,
        seed: u64,
    ) -> PyResult<(Ids<'py>, Bound<'py, PyArray2<f32>>)> {
        let given: Option<Vec<u32>> = match ids {
            Some(a) if !a.is_none() => Some(elems(&array1::<u32>(a, "ids")?)?.to_vec()),
            _ => None,
        };
        let store = self.store();
        let (nodes, pos) = run_long(py, None, |p| {
            let nodes = match given {
                Some(v) => v,
                None => store
                    .read()
                    .tokens
                    .records
                    .iter()
                    .map(|t| t.local_id())
                    .collect(),
            };
            let edges = store.subgraph(&nodes)?;
            let max = nodes.iter().copied().max().unwrap_or(0) as usize;
            let mut index = vec![u32::MAX; max + 1];
            for (i, id) in nodes.iter().enumerate() {
                if index[*id as usize] != u32::MAX {
                    return Err(crate::NgError::invalid("ids", id, "appears more than once"));
                }
                index[*id as usize] = i as u32;
            }
            let e: Vec<(u32, u32, f32)> = edges
                .iter()
                .map(|c| {
                    (
                        index[c.token_a as usize],
                        index[c.token_b as usize],
                        c.pull_strength.max(0.0),
                    )
                })
                .collect();
            let pos =
                crate::layout::layout_progress(nodes.len(), &e, iterations, seed, None, Some(&*p))?;
            Ok((nodes, pos))
        })?;
        let n = nodes.len();
        let flat: Vec<f32> = pos.into_iter().flatten().collect();
        Ok((
            nodes.into_pyarray(py),
            flat.into_pyarray(py).reshape([n, 2])?,
        ))
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
