//! Pure block kernels (`neurograph_lab.kernels`): module-level functions over numpy blocks
//! for distributed jobs. No runtime, no hidden state; deterministic; the GIL is released
//! (`util::run`) and `threads=` runs the work in a scoped rayon pool of that size (Dask does
//! not cap Rust's global pool per worker). Ids at the API edge are global u64 row numbers or
//! vertex ids; the tie rule of every top-k is (score descending, id ascending).

use super::args::{array1, array_arg, elems, opt_array_arg, opt_size_arg, size_arg, space_arg};
use super::errors::ValidationError;
use super::util::run;
use crate::bootstrap::{
    moments, normalize_rows as normalize, pca_from_moments, resolve_ids as resolve, topk_cosine,
    topk_cross, wanted_ids, Moments, Pca, TopK,
};
use crate::error::{NgError, Result};
use numpy::{IntoPyArray, Ix1, Ix2, PyArray1, PyArray2, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use rayon::prelude::*;

type Matrix<'py, T> = Bound<'py, PyArray2<T>>;
type Vector<'py, T> = Bound<'py, PyArray1<T>>;
type Hits<'py> = (Matrix<'py, u64>, Matrix<'py, f32>);
type PairHits<'py> = (
    Matrix<'py, u64>,
    Matrix<'py, f32>,
    Matrix<'py, u64>,
    Matrix<'py, f32>,
);
type Edges<'py> = (Vector<'py, u32>, Vector<'py, u32>, Vector<'py, f32>, usize);

/// The id that pads a row with fewer hits than the result is wide (its score is -inf).
pub const NO_ID: u64 = u64::MAX;

/// Run `f` with the GIL released, in a rayon pool of `threads` threads (the global pool when
/// None; `RAYON_NUM_THREADS` sizes that one).
fn with_threads<T: Send>(
    py: Python<'_>,
    threads: Option<&Bound<'_, PyAny>>,
    f: impl FnOnce() -> Result<T> + Send,
) -> PyResult<T> {
    match opt_size_arg(threads, "threads")? {
        None => run(py, f),
        Some(0) => Err(ValidationError::new_err(
            "threads must be at least 1 (or None for the default pool)",
        )),
        Some(t) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .map_err(|e| ValidationError::new_err(format!("cannot start {t} threads: {e}")))?;
            run(py, || pool.install(f))
        }
    }
}

/// Test hook: the size of the pool a kernel called with this `threads` runs in.
#[pyfunction]
#[pyo3(name = "_kernel_pool_size", signature = (threads=None))]
pub fn kernel_pool_size(py: Python<'_>, threads: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
    with_threads(py, threads, || Ok(rayon::current_num_threads()))
}

/// A (rows, dim) float32 block and its shape.
fn block<'py>(
    v: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<(numpy::PyReadonlyArray2<'py, f32>, usize, usize)> {
    let a = array_arg::<f32, Ix2>(v, name)?;
    let (n, d) = (a.shape()[0], a.shape()[1]);
    Ok((a, n, d))
}

fn same_dim(name: &str, d: usize, want: usize) -> PyResult<()> {
    if d != want {
        return Err(ValidationError::new_err(format!(
            "{name} has {d} columns, expected {want} like the other block"
        )));
    }
    Ok(())
}

fn ids_for(ids: &[u64], rows: usize, name: &str) -> PyResult<()> {
    if ids.len() != rows {
        return Err(ValidationError::new_err(format!(
            "{name} holds {} ids for {rows} rows",
            ids.len()
        )));
    }
    Ok(())
}

fn increasing(ids: &[u64], name: &str) -> PyResult<()> {
    if let Some(i) = ids.windows(2).position(|w| w[0] >= w[1]) {
        return Err(ValidationError::new_err(format!(
            "{name} must be strictly increasing (row numbers of a block): {name}[{}] = {} is \
             followed by {}",
            i,
            ids[i],
            ids[i + 1]
        )));
    }
    Ok(())
}

fn matrix<T: numpy::Element>(
    py: Python<'_>,
    v: Vec<T>,
    rows: usize,
    cols: usize,
) -> PyResult<Matrix<'_, T>> {
    v.into_pyarray(py).reshape([rows, cols])
}

/// A top-k over local indices as global ids.
fn global<'py>(py: Python<'py>, t: TopK, rows: usize, ids: &[u64]) -> PyResult<Hits<'py>> {
    let (idx, scores, k) = t;
    let g: Vec<u64> = idx
        .iter()
        .map(|&i| {
            if i == u32::MAX {
                NO_ID
            } else {
                ids[i as usize]
            }
        })
        .collect();
    Ok((matrix(py, g, rows, k)?, matrix(py, scores, rows, k)?))
}

/// L2-normalise the rows of a block: a normalised copy (zero rows stay zero), bitwise what
/// the bootstrap does to its embeddings.
///
/// Parameters
/// ----------
/// x : array_like
///     ``(n, dim)`` float32 rows.
/// threads : int, optional
///     Threads of the call's pool (None: the process-wide pool).
///
/// Returns
/// -------
/// numpy.ndarray
///     ``(n, dim)`` float32, each row of unit length.
#[pyfunction]
#[pyo3(signature = (x, threads=None))]
pub fn normalize_rows<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<Matrix<'py, f32>> {
    let (x, n, d) = block(x, "x")?;
    let data = elems(&x)?;
    let out = with_threads(py, threads, || {
        let mut v = data.to_vec();
        normalize(&mut v, d);
        Ok(v)
    })?;
    matrix(py, out, n, d)
}

/// Top-k of a query block against a corpus block by inner product (cosine for normalised
/// rows), best first, ties by ascending id.
///
/// Parameters
/// ----------
/// q, x : array_like
///     ``(nq, dim)`` queries and ``(nx, dim)`` corpus rows, float32.
/// q_ids, x_ids : array_like
///     uint64 global ids of the rows (``x_ids`` distinct, in any order).
/// k : int
///     Hits per query; the result is ``min(k, nx)`` wide.
/// exclude_same_id : bool
///     Leave out the corpus row whose id is the query's own.
/// threads : int, optional
///     Threads of the call's pool (None: the process-wide pool).
///
/// Returns
/// -------
/// (ids, scores) : (numpy.ndarray, numpy.ndarray)
///     ``(nq, k)`` uint64 ids and float32 scores; a row with fewer hits is padded with
///     ``NO_ID`` and -inf.
#[pyfunction]
#[pyo3(signature = (q, q_ids, x, x_ids, k, exclude_same_id=true, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn topk_block<'py>(
    py: Python<'py>,
    q: &Bound<'py, PyAny>,
    q_ids: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    x_ids: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
    exclude_same_id: bool,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<Hits<'py>> {
    let k = size_arg(k, "k")?;
    let (q, nq, dq) = block(q, "q")?;
    let (x, nx, d) = block(x, "x")?;
    if nq > 0 {
        same_dim("q", dq, d)?;
    }
    let (q_ids, x_ids) = (
        array1::<u64>(q_ids, "q_ids")?,
        array1::<u64>(x_ids, "x_ids")?,
    );
    let (qi, xi) = (elems(&q_ids)?, elems(&x_ids)?);
    ids_for(qi, nq, "q_ids")?;
    ids_for(xi, nx, "x_ids")?;
    let (qs, xs) = (elems(&q)?, elems(&x)?);
    let width = k.min(nx);
    if width == 0 || nq == 0 || d == 0 {
        return Ok((
            matrix(py, vec![], nq, width)?,
            matrix(py, vec![], nq, width)?,
        ));
    }
    let (ids, scores) = with_threads(py, threads, || {
        // the tie rule is by id: rows in id order (a copy only when they are not already)
        let sorted = xi.windows(2).all(|w| w[0] < w[1]);
        let (xs_sorted, xi_sorted): (std::borrow::Cow<[f32]>, std::borrow::Cow<[u64]>) = if sorted {
            (xs.into(), xi.into())
        } else {
            let mut order: Vec<usize> = (0..nx).collect();
            order.sort_unstable_by_key(|&r| xi[r]);
            if let Some(w) = order.windows(2).find(|w| xi[w[0]] == xi[w[1]]) {
                return Err(NgError::invalid(
                    "x_ids",
                    xi[w[0]],
                    format!(
                        "appears twice (rows {} and {})",
                        w[0].min(w[1]),
                        w[0].max(w[1])
                    ),
                ));
            }
            let mut v = Vec::with_capacity(nx * d);
            for &r in &order {
                v.extend_from_slice(&xs[r * d..(r + 1) * d]);
            }
            (
                v.into(),
                order.iter().map(|&r| xi[r]).collect::<Vec<_>>().into(),
            )
        };
        // a query's own id, when excluded, is at most one of its k + 1 best
        let want = if exclude_same_id {
            k.saturating_add(1)
        } else {
            k
        };
        let (idx, sc, got) = topk_cosine(&xs_sorted, nx, d, qs, nq, want, false)?;
        let mut ids = vec![NO_ID; nq * width];
        let mut scores = vec![f32::NEG_INFINITY; nq * width];
        ids.par_chunks_mut(width)
            .zip(scores.par_chunks_mut(width))
            .enumerate()
            .for_each(|(r, (io, so))| {
                let own = qi[r];
                let hits = (r * got..(r + 1) * got)
                    .map(|e| (xi_sorted[idx[e] as usize], sc[e]))
                    .filter(|(id, _)| !exclude_same_id || *id != own);
                for (t, (id, s)) in hits.take(width).enumerate() {
                    io[t] = id;
                    so[t] = s;
                }
            });
        Ok((ids, scores))
    })?;
    Ok((matrix(py, ids, nq, width)?, matrix(py, scores, nq, width)?))
}

/// Weave one block with itself: each pair scored once, a row never its own neighbour.
///
/// Parameters
/// ----------
/// x : array_like
///     ``(n, dim)`` float32 normalised rows.
/// x_ids : array_like
///     uint64 global row numbers, strictly increasing.
/// k : int
///     Neighbours per row (capped at n - 1).
/// threads : int, optional
///     Threads of the call's pool.
///
/// Returns
/// -------
/// (ids, scores) : (numpy.ndarray, numpy.ndarray)
///     ``(n, k)`` uint64 neighbour ids and float32 scores, best first, ties by id.
#[pyfunction]
#[pyo3(signature = (x, x_ids, k, threads=None))]
pub fn topk_self<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    x_ids: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<Hits<'py>> {
    let k = size_arg(k, "k")?;
    let (x, n, d) = block(x, "x")?;
    let x_ids = array1::<u64>(x_ids, "x_ids")?;
    let xi = elems(&x_ids)?;
    ids_for(xi, n, "x_ids")?;
    increasing(xi, "x_ids")?;
    let xs = elems(&x)?;
    if k == 0 || n < 2 || d == 0 {
        let w = k.min(n.saturating_sub(1));
        return Ok((matrix(py, vec![], n, w)?, matrix(py, vec![], n, w)?));
    }
    let t = with_threads(py, threads, || topk_cosine(xs, n, d, xs, n, k, true))?;
    global(py, t, n, xi)
}

/// Weave two disjoint blocks, each pair scored once (one GEMM feeds both directions); the
/// scores are bitwise those of the single-process weave.
///
/// Parameters
/// ----------
/// a, b : array_like
///     ``(na, dim)`` and ``(nb, dim)`` float32 normalised rows.
/// a_ids, b_ids : array_like
///     uint64 global row numbers of each block, strictly increasing.
/// k : int
///     Neighbours per row (capped at the other block's size).
/// a_floor, b_floor : array_like, optional
///     float32 per row: the score a candidate must reach to be kept (the k-th score of the
///     row's own block, from :func:`topk_self`, skips what cannot make the merged top k;
///     ties at the floor are kept). Rows left with fewer hits are padded with ``NO_ID``.
/// threads : int, optional
///     Threads of the call's pool.
///
/// Returns
/// -------
/// (ids_a, scores_a, ids_b, scores_b) : tuple of numpy.ndarray
///     For each row of ``a`` its top rows of ``b`` (``(na, k)``), and for each row of ``b``
///     its top rows of ``a`` (``(nb, k)``).
#[pyfunction]
#[pyo3(signature = (a, a_ids, b, b_ids, k, a_floor=None, b_floor=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn topk_pair<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    a_ids: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    b_ids: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
    a_floor: Option<&Bound<'py, PyAny>>,
    b_floor: Option<&Bound<'py, PyAny>>,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<PairHits<'py>> {
    let k = size_arg(k, "k")?;
    let (a, na, da) = block(a, "a")?;
    let (b, nb, d) = block(b, "b")?;
    if da != d {
        return Err(ValidationError::new_err(format!(
            "a has {da} columns and b {d}: both blocks need the same dimension"
        )));
    }
    let (a_ids, b_ids) = (
        array1::<u64>(a_ids, "a_ids")?,
        array1::<u64>(b_ids, "b_ids")?,
    );
    let (ai, bi) = (elems(&a_ids)?, elems(&b_ids)?);
    ids_for(ai, na, "a_ids")?;
    ids_for(bi, nb, "b_ids")?;
    increasing(ai, "a_ids")?;
    increasing(bi, "b_ids")?;
    let (xa, xb) = (elems(&a)?, elems(&b)?);
    if k == 0 || d == 0 || na == 0 || nb == 0 {
        let (wa, wb) = (k.min(nb), k.min(na));
        return Ok((
            matrix(py, vec![], na, wa)?,
            matrix(py, vec![], na, wa)?,
            matrix(py, vec![], nb, wb)?,
            matrix(py, vec![], nb, wb)?,
        ));
    }
    let fa = opt_array_arg::<f32, Ix1>(a_floor, "a_floor")?;
    let fb = opt_array_arg::<f32, Ix1>(b_floor, "b_floor")?;
    let zeros_a = vec![f32::NEG_INFINITY; na];
    let zeros_b = vec![f32::NEG_INFINITY; nb];
    let floors = match (fa.as_ref(), fb.as_ref()) {
        (None, None) => None,
        (a, b) => Some((
            a.map(elems).transpose()?.unwrap_or(&zeros_a),
            b.map(elems).transpose()?.unwrap_or(&zeros_b),
        )),
    };
    let (ta, tb) = with_threads(py, threads, || topk_cross(xa, na, xb, nb, d, k, floors))?;
    let (ia, sa) = global(py, ta, na, bi)?;
    let (ib, sb) = global(py, tb, nb, ai)?;
    Ok((ia, sa, ib, sb))
}

/// Merge top-k parts of the same query rows (from disjoint candidates) into the top k, by
/// (score descending, id ascending).
///
/// Parameters
/// ----------
/// parts : list of (ids, scores)
///     ``(q, w)`` uint64 ids and float32 scores per part (widths may differ); ``NO_ID``
///     entries are padding and skipped.
/// k : int
///     Hits per row.
/// threads : int, optional
///     Threads of the call's pool.
///
/// Returns
/// -------
/// (ids, scores) : (numpy.ndarray, numpy.ndarray)
///     ``(q, min(k, sum of widths))``, padded with ``NO_ID`` and -inf where a row has fewer.
#[pyfunction]
#[pyo3(signature = (parts, k, threads=None))]
pub fn topk_merge<'py>(
    py: Python<'py>,
    parts: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    k: &Bound<'py, PyAny>,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<Hits<'py>> {
    let k = size_arg(k, "k")?;
    let mut arrays = Vec::with_capacity(parts.len());
    for (i, (ids, scores)) in parts.iter().enumerate() {
        let ids = array_arg::<u64, Ix2>(ids, &format!("parts[{i}] ids"))?;
        let scores = array_arg::<f32, Ix2>(scores, &format!("parts[{i}] scores"))?;
        if ids.shape() != scores.shape() {
            return Err(ValidationError::new_err(format!(
                "parts[{i}]: ids {:?} and scores {:?} differ in shape",
                ids.shape(),
                scores.shape()
            )));
        }
        arrays.push((ids, scores));
    }
    let q = arrays.first().map_or(0, |(i, _)| i.shape()[0]);
    if let Some(i) = arrays.iter().position(|(a, _)| a.shape()[0] != q) {
        return Err(ValidationError::new_err(format!(
            "parts[{i}] has {} rows, expected {q} like parts[0]",
            arrays[i].0.shape()[0]
        )));
    }
    let mut slices = Vec::with_capacity(arrays.len());
    for (ids, scores) in &arrays {
        slices.push((elems(ids)?, elems(scores)?, ids.shape()[1]));
    }
    let width = k.min(slices.iter().map(|s| s.2).sum());
    let (ids, scores) = with_threads(py, threads, || {
        let mut ids = vec![NO_ID; q * width];
        let mut scores = vec![f32::NEG_INFINITY; q * width];
        if width > 0 {
            ids.par_chunks_mut(width)
                .zip(scores.par_chunks_mut(width))
                .enumerate()
                .for_each(|(r, (io, so))| {
                    let mut hits: Vec<(f32, u64)> = slices
                        .iter()
                        .flat_map(|(i, s, w)| (r * w..(r + 1) * w).map(move |e| (s[e], i[e])))
                        .filter(|h| h.1 != NO_ID)
                        .collect();
                    hits.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                    for (t, (s, i)) in hits.into_iter().take(width).enumerate() {
                        io[t] = i;
                        so[t] = s;
                    }
                });
        }
        Ok((ids, scores))
    })?;
    Ok((matrix(py, ids, q, width)?, matrix(py, scores, q, width)?))
}

/// PCA statistics of a block, to be summed over blocks (:func:`pca_fit`).
///
/// Parameters
/// ----------
/// x : array_like
///     ``(n, dim)`` float32 rows (finite).
/// shift : array_like, optional
///     ``(dim,)`` float32 subtracted from every row first (zeros when None); the mean from a
///     first pass of column sums keeps the products accurate.
/// threads : int, optional
///     Threads of the call's pool.
///
/// Returns
/// -------
/// (n, sums, products) : (int, numpy.ndarray, numpy.ndarray)
///     Row count, ``(dim,)`` float64 column sums and ``(dim, dim)`` float64 X^T X of the
///     shifted rows.
#[pyfunction]
#[pyo3(signature = (x, shift=None, threads=None))]
pub fn gram_partial<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    shift: Option<&Bound<'py, PyAny>>,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<(usize, Vector<'py, f64>, Matrix<'py, f64>)> {
    let (x, n, d) = block(x, "x")?;
    let shift = opt_array_arg::<f32, Ix1>(shift, "shift")?;
    let xs = elems(&x)?;
    let sh = shift.as_ref().map(elems).transpose()?;
    let m = with_threads(py, threads, || moments(xs, n, d, sh))?;
    Ok((m.n, m.sum.into_pyarray(py), matrix(py, m.gram, d, d)?))
}

/// A PCA model from the statistics of every block: the same eigendecomposition, axis order and
/// signs as the single-process bootstrap (equal up to rounding).
///
/// Parameters
/// ----------
/// partials : list of (n, sums, products)
///     What :func:`gram_partial` returned for each block (all with the same ``shift``).
/// n_components : int
///     Axes to keep (3 per space placed).
/// shift : array_like, optional
///     The ``shift`` the partials were computed with.
///
/// Returns
/// -------
/// dict
///     Plain arrays: ``mean`` (dim,), ``components`` (m, dim), ``explained_variance``,
///     ``explained_ratio`` (m,), ``total_variance``.
#[pyfunction]
#[pyo3(signature = (partials, n_components, shift=None))]
pub fn pca_fit<'py>(
    py: Python<'py>,
    partials: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    n_components: &Bound<'py, PyAny>,
    shift: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let m = size_arg(n_components, "n_components")?;
    let mut parts = Vec::with_capacity(partials.len());
    for (i, (n, sum, gram)) in partials.iter().enumerate() {
        let n = size_arg(n, &format!("partials[{i}] n"))?;
        let sum = array_arg::<f64, Ix1>(sum, &format!("partials[{i}] sums"))?;
        let gram = array_arg::<f64, Ix2>(gram, &format!("partials[{i}] products"))?;
        parts.push(Moments {
            n,
            sum: elems(&sum)?.to_vec(),
            gram: elems(&gram)?.to_vec(),
        });
    }
    let shift = opt_array_arg::<f32, Ix1>(shift, "shift")?;
    let sh = shift.as_ref().map(elems).transpose()?;
    let model = run(py, || pca_from_moments(&parts, sh, m))?;
    model_dict(py, &model)
}

/// A PCA model as a dict of plain arrays.
pub fn model_dict<'py>(py: Python<'py>, p: &Pca) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let m = p.n_axes();
    d.set_item("mean", p.mean.clone().into_pyarray(py))?;
    d.set_item("components", matrix(py, p.components.clone(), m, p.dim)?)?;
    d.set_item(
        "explained_variance",
        p.explained_variance.clone().into_pyarray(py),
    )?;
    d.set_item(
        "explained_ratio",
        p.explained_ratio.clone().into_pyarray(py),
    )?;
    d.set_item("total_variance", p.total_variance)?;
    Ok(d)
}

fn model_arg(model: &Bound<'_, PyDict>) -> PyResult<Pca> {
    let get = |k: &str| -> PyResult<Bound<'_, PyAny>> {
        model.get_item(k)?.ok_or_else(|| {
            ValidationError::new_err(format!(
                "model has no {k:?}: pass the dict pca_fit returned"
            ))
        })
    };
    let mean = array_arg::<f32, Ix1>(&get("mean")?, "model['mean']")?;
    let comp = array_arg::<f32, Ix2>(&get("components")?, "model['components']")?;
    let ev = array_arg::<f64, Ix1>(&get("explained_variance")?, "model['explained_variance']")?;
    let er = array_arg::<f64, Ix1>(&get("explained_ratio")?, "model['explained_ratio']")?;
    let total: f64 = get("total_variance")?.extract()?;
    let (m, dim) = (comp.shape()[0], comp.shape()[1]);
    if mean.len() != dim || ev.len() != m || er.len() != m || dim == 0 {
        return Err(ValidationError::new_err(format!(
            "model: {m} components of {dim} values, {} means, {} variances, {} ratios do not fit \
             together",
            mean.len(),
            ev.len(),
            er.len()
        )));
    }
    Ok(Pca {
        dim,
        mean: elems(&mean)?.to_vec(),
        components: elems(&comp)?.to_vec(),
        explained_variance: elems(&ev)?.to_vec(),
        explained_ratio: elems(&er)?.to_vec(),
        total_variance: total,
    })
}

/// Project a block onto a model's axes, or place it in spaces as the bootstrap does.
///
/// Parameters
/// ----------
/// x : array_like
///     ``(n, dim)`` float32 normalised rows.
/// model : dict
///     A :func:`pca_fit` model.
/// spaces : list, optional
///     Spaces (names or numbers); space j of the list gets axes 3j..3j+3.
/// threads : int, optional
///     Threads of the call's pool.
///
/// Returns
/// -------
/// numpy.ndarray
///     ``(n, m)`` float32 projections, or with ``spaces`` the ``(n, 8, 3)`` token coordinates
///     (NaN in the spaces not placed).
#[pyfunction]
#[pyo3(signature = (x, model, spaces=None, threads=None))]
pub fn pca_project<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    model: &Bound<'py, PyDict>,
    spaces: Option<Vec<Bound<'py, PyAny>>>,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let model = model_arg(model)?;
    let (x, n, d) = block(x, "x")?;
    same_dim("x", d, model.dim)?;
    let xs = elems(&x)?;
    match spaces {
        None => {
            let m = model.n_axes();
            let v = with_threads(py, threads, || model.project_all(xs, n))?;
            Ok(matrix(py, v, n, m)?.into_any())
        }
        Some(sp) => {
            let sp: Vec<usize> = sp.iter().map(space_arg).collect::<PyResult<_>>()?;
            let v = with_threads(py, threads, || {
                crate::storage::bootstrap::place(&model, xs, n, &sp)
            })?;
            Ok(v.into_pyarray(py).reshape([n, 8, 3])?.into_any())
        }
    }
}

/// The token id each word wants (seeded MurmurHash3 folded to 24 bits): the per-block half of
/// the bootstrap's ids; :func:`resolve_ids` settles collisions globally.
///
/// Parameters
/// ----------
/// words : list of str
/// seed : int
///
/// Returns
/// -------
/// numpy.ndarray
///     uint32 wanted ids, 1 .. 2^24 - 1.
#[pyfunction]
#[pyo3(signature = (words, seed=0))]
pub fn word_hash<'py>(
    py: Python<'py>,
    words: Vec<String>,
    seed: u32,
) -> PyResult<Vector<'py, u32>> {
    let w = run(py, || Ok(wanted_ids(&words, seed)))?;
    Ok(w.into_pyarray(py))
}

/// Settle wanted ids into distinct token ids as the bootstrap does (linear probing in word
/// order).
///
/// Parameters
/// ----------
/// wanted : array_like
///     uint32 wanted ids of every word, all blocks concatenated in word order.
///
/// Returns
/// -------
/// (ids, moved) : (numpy.ndarray, numpy.ndarray)
///     uint32 token ids, and the uint64 rows whose id had to move.
#[pyfunction]
pub fn resolve_ids<'py>(
    py: Python<'py>,
    wanted: &Bound<'py, PyAny>,
) -> PyResult<(Vector<'py, u32>, Vector<'py, u64>)> {
    let wanted = array1::<u32>(wanted, "wanted")?;
    let w = elems(&wanted)?;
    let (ids, moved) = run(py, || resolve(w, 0, |_| false))?;
    let moved: Vec<u64> = moved.into_iter().map(|r| r as u64).collect();
    Ok((ids.into_pyarray(py), moved.into_pyarray(py)))
}

/// Connected components of one partition of edges (union-find).
///
/// Parameters
/// ----------
/// src, dst : array_like
///     uint64 end points of the edges (direction is ignored).
///
/// Returns
/// -------
/// (vertex, root) : (numpy.ndarray, numpy.ndarray)
///     Every vertex the edges touch, ascending, and its component's root (its smallest
///     vertex), uint64.
#[pyfunction]
pub fn union_find_partial<'py>(
    py: Python<'py>,
    src: &Bound<'py, PyAny>,
    dst: &Bound<'py, PyAny>,
) -> PyResult<(Vector<'py, u64>, Vector<'py, u64>)> {
    let (src, dst) = (array1::<u64>(src, "src")?, array1::<u64>(dst, "dst")?);
    let (s, d) = (elems(&src)?, elems(&dst)?);
    let (v, r) = run(py, || crate::unionfind::edge_components(s, d))?;
    Ok((v.into_pyarray(py), r.into_pyarray(py)))
}

/// Merge the forests of several edge partitions into the components of all their edges.
///
/// Parameters
/// ----------
/// parts : list of (vertex, root)
///     What :func:`union_find_partial` returned per partition.
///
/// Returns
/// -------
/// (vertex, root) : (numpy.ndarray, numpy.ndarray)
///     As :func:`union_find_partial` gives for all the edges together.
#[pyfunction]
pub fn union_find_merge<'py>(
    py: Python<'py>,
    parts: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
) -> PyResult<(Vector<'py, u64>, Vector<'py, u64>)> {
    let mut src = Vec::new();
    let mut dst = Vec::new();
    for (i, (v, r)) in parts.iter().enumerate() {
        let v = array1::<u64>(v, &format!("parts[{i}] vertices"))?;
        let r = array1::<u64>(r, &format!("parts[{i}] roots"))?;
        let (v, r) = (elems(&v)?, elems(&r)?);
        if v.len() != r.len() {
            return Err(ValidationError::new_err(format!(
                "parts[{i}]: {} vertices but {} roots",
                v.len(),
                r.len()
            )));
        }
        src.extend_from_slice(v);
        dst.extend_from_slice(r);
    }
    let (v, r) = run(py, || crate::unionfind::edge_components(&src, &dst))?;
    Ok((v.into_pyarray(py), r.into_pyarray(py)))
}

/// The weave's connections within the CDNA's degree limits, kept as the bootstrap keeps them
/// (strongest first, ties by position).
///
/// Parameters
/// ----------
/// ids : array_like
///     uint32 token id of each row.
/// neighbours, scores : array_like
///     ``(n, k)`` uint64 neighbour rows and float32 similarities (the merged weave).
/// cdna : bytes, optional
///     The 384-byte CDNA record (``rt.cdna.to_bytes()``); the default CDNA when None.
///
/// Returns
/// -------
/// (a, b, strength, dropped) : tuple
///     uint32 sources and targets, float32 strengths, and the count of edges dropped for
///     degree.
#[pyfunction]
#[pyo3(signature = (ids, neighbours, scores, cdna=None))]
pub fn weave_edges<'py>(
    py: Python<'py>,
    ids: &Bound<'py, PyAny>,
    neighbours: &Bound<'py, PyAny>,
    scores: &Bound<'py, PyAny>,
    cdna: Option<&Bound<'py, PyBytes>>,
) -> PyResult<Edges<'py>> {
    let cdna = match cdna {
        Some(b) => crate::Cdna::from_bytes(b.as_bytes())
            .map_err(|e| ValidationError::new_err(format!("cdna: {e}")))?,
        None => crate::Cdna::default(),
    };
    let ids = array1::<u32>(ids, "ids")?;
    let nb = array_arg::<u64, Ix2>(neighbours, "neighbours")?;
    let sc = array_arg::<f32, Ix2>(scores, "scores")?;
    let (n, k) = (nb.shape()[0], nb.shape()[1]);
    if sc.shape() != nb.shape() || ids.len() != n {
        return Err(ValidationError::new_err(format!(
            "{} ids, neighbours {:?} and scores {:?} must have one row per id",
            ids.len(),
            nb.shape(),
            sc.shape()
        )));
    }
    let (ids, nbs, scs) = (elems(&ids)?, elems(&nb)?, elems(&sc)?);
    if let Some(e) = nbs.iter().position(|&j| j >= n as u64) {
        return Err(ValidationError::new_err(format!(
            "neighbours[{}, {}] = {} is not a row (there are {n})",
            e / k.max(1),
            e % k.max(1),
            nbs[e]
        )));
    }
    let (a, b, s, dropped) = run(py, || {
        let idx: Vec<u32> = nbs.iter().map(|&j| j as u32).collect();
        Ok(crate::storage::bootstrap::degree_limited_edges(
            ids, &idx, scs, k, &cdna,
        ))
    })?;
    Ok((
        a.into_pyarray(py),
        b.into_pyarray(py),
        s.into_pyarray(py),
        dropped,
    ))
}

/// Register the kernels in the `_core` module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(kernel_pool_size, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_rows, m)?)?;
    m.add_function(wrap_pyfunction!(topk_block, m)?)?;
    m.add_function(wrap_pyfunction!(topk_self, m)?)?;
    m.add_function(wrap_pyfunction!(topk_pair, m)?)?;
    m.add_function(wrap_pyfunction!(topk_merge, m)?)?;
    m.add_function(wrap_pyfunction!(gram_partial, m)?)?;
    m.add_function(wrap_pyfunction!(pca_fit, m)?)?;
    m.add_function(wrap_pyfunction!(pca_project, m)?)?;
    m.add_function(wrap_pyfunction!(word_hash, m)?)?;
    m.add_function(wrap_pyfunction!(resolve_ids, m)?)?;
    m.add_function(wrap_pyfunction!(union_find_partial, m)?)?;
    m.add_function(wrap_pyfunction!(union_find_merge, m)?)?;
    m.add_function(wrap_pyfunction!(weave_edges, m)?)?;
    Ok(())
}
