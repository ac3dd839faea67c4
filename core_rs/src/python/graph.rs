//! Graph bindings: traversals, shortest paths, components, subgraphs, degrees and the
//! force-directed layout. Results are numpy arrays; the Python layer wraps them in
//! PathResult values and DataFrames.

use super::args::{array1, elems, int_arg, kinds_arg, opt_size_arg, space_arg, TokenId};
use super::errors::ValidationError;
use super::runtime::PyRuntime;
use super::util::{run, run_long};
use super::values::connection_columns;
use crate::community::Method;
use crate::graph::Direction;
use crate::space::COGNITIVE;
use crate::storage::indexes::Weight;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, ToPyArray};
use pyo3::prelude::*;
use pyo3::types::PyDict;

type Ids<'py> = Bound<'py, PyArray1<u32>>;

/// How path costs are counted: "strength", "hops", or "distance" in `space` (cognitive if
/// None).
fn weight_arg(weight: &str, space: Option<&Bound<'_, PyAny>>) -> PyResult<Weight> {
    match weight {
        "strength" => Ok(Weight::Strength),
        "hops" => Ok(Weight::Hops),
        "distance" => Ok(Weight::Distance(
            space.map(space_arg).transpose()?.unwrap_or(COGNITIVE),
        )),
        other => Err(ValidationError::new_err(format!(
            "weight must be 'strength', 'distance' or 'hops', got {other:?}"
        ))),
    }
}

#[pymethods]
impl PyRuntime {
    /// Breadth- (or depth-) first traversal along connections: (ids, depth, parent).
    #[pyo3(signature = (start, depth=None, dfs=false))]
    fn graph_traverse<'py>(
        &self,
        py: Python<'py>,
        start: TokenId,
        depth: Option<i64>,
        dfs: bool,
    ) -> PyResult<(Ids<'py>, Ids<'py>, Ids<'py>)> {
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
                store.dfs(start.0, depth)
            } else {
                store.bfs(start.0, depth)
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
        let dir = Direction::parse(direction)?;
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
        a: TokenId,
        b: TokenId,
        weight: &str,
        space: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<(Ids<'py>, f64)>> {
        let w = weight_arg(weight, space)?;
        let store = self.store();
        let r = run(py, || store.shortest_path(a.0, b.0, w))?;
        Ok(r.map(|(ids, cost)| (ids.into_pyarray(py), cost)))
    }

    /// Costs from one token to all it reaches: (ids, costs) by increasing cost.
    #[pyo3(signature = (a, weight="strength", space=None))]
    fn graph_shortest_path_lengths<'py>(
        &self,
        py: Python<'py>,
        a: TokenId,
        weight: &str,
        space: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Ids<'py>, Bound<'py, PyArray1<f64>>)> {
        let w = weight_arg(weight, space)?;
        let store = self.store();
        let (ids, d) = run(py, || store.shortest_path_lengths(a.0, w))?;
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
            store.layout(given, iterations, seed, Some(&*p))
        })?;
        let n = nodes.len();
        let flat: Vec<f32> = pos.into_iter().flatten().collect();
        Ok((
            nodes.into_pyarray(py),
            flat.into_pyarray(py).reshape([n, 2])?,
        ))
    }

    /// Communities of all tokens over the connections (undirected, parallel connections
    /// summed) by `method` ("leiden" or "louvain") with `resolution` (> 0) and `seed`;
    /// `weighted`: connections weigh their strength (negative: 0), else 1. Runs with the GIL
    /// released, `progress(done, total)` called per level. Kept as the runtime's last
    /// communities (not in snapshots): (ids ascending u32, community i32 (0 = largest),
    /// modularity).
    #[pyo3(signature = (method="leiden", resolution=1.0, seed=None, weighted=true, progress=None))]
    fn graph_communities<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        resolution: f64,
        seed: Option<&Bound<'py, PyAny>>,
        weighted: bool,
        progress: Option<Bound<'py, PyAny>>,
    ) -> PyResult<(Ids<'py>, Bound<'py, PyArray1<i32>>, f64)> {
        let method = Method::parse(method)?;
        crate::community::check_resolution(resolution)?;
        let seed = match seed {
            Some(s) if !s.is_none() => int_arg(s, "seed", 0, i64::MAX)? as u64,
            _ => 0,
        };
        let store = self.store();
        let c = run_long(py, progress.as_ref(), |p| {
            store.communities(method, resolution, seed, weighted, Some(&*p))
        })?;
        Ok((
            c.ids.to_pyarray(py),
            c.community.to_pyarray(py),
            c.modularity,
        ))
    }

    /// The last community of each id (-1 where unknown: no detection yet, or a token created
    /// after it).
    fn community_of<'py>(
        &self,
        py: Python<'py>,
        ids: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<i32>>> {
        let ids = array1::<u32>(ids, "ids")?;
        let ids = elems(&ids)?;
        Ok(self.store().community_of(ids).into_pyarray(py))
    }

    /// The last communities: None, or a dict with count, modularity, method, resolution,
    /// seed, weighted and (when `arrays`) the ids and community arrays.
    #[pyo3(signature = (arrays=true))]
    fn graph_last_communities<'py>(
        &self,
        py: Python<'py>,
        arrays: bool,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(c) = self.store().last_communities() else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        if arrays {
            d.set_item("ids", c.ids.to_pyarray(py))?;
            d.set_item("community", c.community.to_pyarray(py))?;
        }
        d.set_item("count", c.count)?;
        d.set_item("modularity", c.modularity)?;
        d.set_item("method", c.method.name())?;
        d.set_item("resolution", c.resolution)?;
        d.set_item("seed", c.seed)?;
        d.set_item("weighted", c.weighted)?;
        Ok(Some(d))
    }
}
