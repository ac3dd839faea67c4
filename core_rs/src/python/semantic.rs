//! Bootstrap, semantic query, feedback and IntuitionEngine bindings.

use super::args::{array_arg, bool_arg, elems, opt_size_arg, size_arg, space_arg};
use super::connections::outcome_name;
use super::errors::ValidationError;
use super::runtime::PyRuntime;
use super::util::{run, run_long, run_write};
use super::values::proposal_columns;
use crate::storage::bootstrap::BootOptions;
use crate::storage::semantic::QueryInput;
use numpy::{IntoPyArray, Ix1, Ix2, PyArray1, PyArray2, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

type Ids<'py> = Bound<'py, PyArray1<u32>>;
type Matrix<'py, T> = Bound<'py, PyArray2<T>>;

fn query_input(q: &Bound<'_, PyAny>) -> PyResult<QueryInput> {
    if let Ok(terms) = q.extract::<Vec<(String, f32)>>() {
        if let Some((w, s)) = terms.iter().find(|(_, s)| !s.is_finite()) {
            return Err(ValidationError::new_err(format!(
                "the sign of the term {w:?} must be a finite number, got {s}"
            )));
        }
        return Ok(QueryInput::Terms(terms));
    }
    if q.is_instance_of::<pyo3::types::PyString>() || q.is_none() {
        return Err(ValidationError::new_err(format!(
            "a query here is a list of (word, sign) terms or a vector of numbers, got {}",
            q.repr()?
        )));
    }
    let v = array_arg::<f32, Ix1>(q, "the query vector")?;
    Ok(QueryInput::Vector(elems(&v)?.to_vec()))
}

impl PyRuntime {
    fn learn(
        &self,
        sources: &[u32],
        target: u32,
        good: bool,
    ) -> PyResult<Vec<(u32, &'static str)>> {
        let r = self.store().feedback(sources, target, good)?;
        Ok(r.into_iter().map(|(c, o)| (c, outcome_name(o))).collect())
    }
}

#[pymethods]
impl PyRuntime {
    /// Place words in the spaces from their embeddings (PCA per space), weave k nearest
    /// neighbours by cosine as associated_with connections. All or nothing. Ctrl-C before the
    /// commit point stops the weaving and changes nothing (KeyboardInterrupt); after it the
    /// call finishes and returns its report. `progress(done, total)` is called on this thread
    /// about every 50 ms with the tiles woven.
    #[pyo3(signature = (words, vectors, spaces, k=None, seed=0, replace=false, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn bootstrap_embeddings<'py>(
        &self,
        py: Python<'py>,
        words: Vec<String>,
        vectors: &Bound<'py, PyAny>,
        spaces: Vec<Bound<'py, PyAny>>,
        k: Option<&Bound<'py, PyAny>>,
        seed: u32,
        replace: bool,
        progress: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let vectors = array_arg::<f32, Ix2>(vectors, "vectors")?;
        let dim = vectors.shape()[1];
        let data = elems(&vectors)?.to_vec();
        let spaces: Vec<usize> = spaces.iter().map(space_arg).collect::<PyResult<_>>()?;
        let k = opt_size_arg(k, "k")?.unwrap_or(10);
        let store = self.store();
        let r = run_long(py, progress.as_ref(), |p| {
            let opt = BootOptions {
                spaces,
                k,
                seed,
                replace,
                progress: Some(p),
            };
            store.bootstrap(words, data, dim, &opt)
        })?;
        let d = PyDict::new(py);
        d.set_item("words", r.words)?;
        d.set_item("dim", r.dim)?;
        d.set_item("collisions", r.collisions)?;
        d.set_item("explained_variance_ratio", r.explained_ratio)?;
        d.set_item("connections", r.connections)?;
        d.set_item("dropped_for_degree", r.dropped_for_degree)?;
        Ok(d)
    }

    /// PyRuntime form: bootstrap words from a (n, dim) float32 matrix into one space.
    #[pyo3(signature = (words, vectors, space=None, k=None))]
    fn bootstrap<'py>(
        &self,
        py: Python<'py>,
        words: Vec<String>,
        vectors: &Bound<'py, PyAny>,
        space: Option<Bound<'py, PyAny>>,
        k: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let space = match space {
            Some(s) => s,
            None => pyo3::types::PyString::new(py, "abstract").into_any(),
        };
        self.bootstrap_embeddings(py, words, vectors, vec![space], k, 0, false, None)
    }

    /// PyRuntime form: words nearest to a text query, as [(word, token id, score)].
    #[pyo3(signature = (text, k=None))]
    fn query(
        &self,
        py: Python<'_>,
        text: &str,
        k: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<(String, u32, f32)>> {
        let k = opt_size_arg(k, "k")?.unwrap_or(10);
        let terms: Vec<(String, f32)> = text
            .split_whitespace()
            .map(|w| (w.to_string(), 1.0))
            .collect();
        let input = QueryInput::Terms(terms);
        let store = self.store();
        let h = run(py, || store.semantic_query(&input, k))?;
        Ok(h.words
            .into_iter()
            .zip(h.ids)
            .zip(h.scores)
            .map(|((w, i), s)| (w, i, s))
            .collect())
    }

    /// PyRuntime form: feedback that `target` answered `source` well (or not).
    #[pyo3(signature = (source, target, good=true))]
    fn feedback(&self, source: u32, target: u32, good: bool) -> PyResult<Vec<(u32, &'static str)>> {
        self.learn(&[source], target, good)
    }

    /// Vocabulary, token ids, dimension and placed spaces of the bootstrap (None without one).
    fn bootstrap_info<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(b) = self.store().bootstrap_info() else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("words", b.words)?;
        d.set_item("dim", b.dim)?;
        d.set_item("seed", b.seed)?;
        d.set_item("spaces", b.spaces)?;
        d.set_item("explained_variance_ratio", b.explained_variance_ratio)?;
        Ok(Some(d))
    }

    /// The bootstrap vocabulary and the token id of each word.
    fn bootstrap_vocabulary<'py>(&self, py: Python<'py>) -> PyResult<(Vec<String>, Ids<'py>)> {
        let (words, ids) = self.store().bootstrap_vocabulary()?;
        Ok((words, ids.into_pyarray(py)))
    }

    /// The (normalised) embedding of each word, (n, dim) float32.
    fn bootstrap_vectors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (v, dim) = self.store().bootstrap_vectors()?;
        let n = v.len() / dim.max(1);
        v.into_pyarray(py).reshape([n, dim])
    }

    /// Rank the vocabulary by cosine: (token ids, scores, words).
    fn semantic_query<'py>(
        &self,
        py: Python<'py>,
        query: &Bound<'py, PyAny>,
        k: &Bound<'py, PyAny>,
    ) -> PyResult<(Ids<'py>, Bound<'py, PyArray1<f32>>, Vec<String>)> {
        let k = size_arg(k, "k")?;
        let input = query_input(query)?;
        let store = self.store();
        let h = run(py, || store.semantic_query(&input, k))?;
        Ok((h.ids.into_pyarray(py), h.scores.into_pyarray(py), h.words))
    }

    /// Batched cosine ranking of a (q, dim) float32 matrix: (ids (q, k), scores (q, k)).
    fn semantic_query_many<'py>(
        &self,
        py: Python<'py>,
        queries: &Bound<'py, PyAny>,
        k: &Bound<'py, PyAny>,
    ) -> PyResult<(Matrix<'py, u32>, Matrix<'py, f32>)> {
        let k = size_arg(k, "k")?;
        let queries = array_arg::<f32, Ix2>(queries, "queries")?;
        let q = queries.shape()[0];
        let data = elems(&queries)?;
        let store = self.store();
        let (ids, scores, k) = run_long(py, None, |p| {
            store.semantic_query_many(data, q, k, Some(&*p))
        })?;
        Ok((
            ids.into_pyarray(py).reshape([q, k])?,
            scores.into_pyarray(py).reshape([q, k])?,
        ))
    }

    /// Tokens of the words a query names.
    fn query_token_ids<'py>(
        &self,
        py: Python<'py>,
        query: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let input = query_input(query)?;
        Ok(self.store().query_tokens(&input)?.into_pyarray(py))
    }

    /// Feedback on source tokens -> target: [(connection id, outcome)].
    fn semantic_feedback(
        &self,
        sources: Vec<u32>,
        target: u32,
        good: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<(u32, &'static str)>> {
        self.learn(&sources, target, bool_arg(good, "good")?)
    }

    /// Which of these words the bootstrap vocabulary holds (all False without a bootstrap).
    fn has_words(&self, words: Vec<String>) -> Vec<bool> {
        self.store().has_words(&words)
    }

    /// Record that tokens were used together.
    fn coactivate(&self, tokens: Vec<u32>) -> PyResult<()> {
        Ok(self.store().coactivate(&tokens)?)
    }

    /// Current proposals as columns.
    fn intuition_proposals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let props = self.store().intuition_proposals();
        let rows: Vec<_> = props.into_iter().map(|p| (p, None)).collect();
        proposal_columns(py, rows)
    }

    /// Apply proposals through the Guardian: columns with accepted and reason.
    fn intuition_run<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let store = self.store();
        let out = run_write(py, || Ok(store.intuition_run()))?;
        let rows: Vec<_> = out
            .into_iter()
            .map(|(p, ok, r)| (p, Some((ok, r))))
            .collect();
        proposal_columns(py, rows)
    }

    /// Experiences recorded: (time, kind, tokens).
    fn intuition_experiences(&self) -> Vec<(f64, String, Vec<u32>)> {
        let ex = self.store().experiences();
        ex.into_iter().map(|e| (e.time, e.kind, e.tokens)).collect()
    }
}
