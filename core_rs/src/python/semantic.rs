//! Bootstrap, semantic query, feedback and IntuitionEngine bindings, plus the embedding
//! file parsers used by the Python loaders.

use super::convert::{array_arg, bool_arg, elems, opt_size_arg, space_arg};
use super::errors::{map, run, run_long, run_write, ValidationError};
use super::runtime::PyRuntime;
use crate::bootstrap::{parse_header as header, parse_text_block, parse_word2vec_binary};
use crate::connection::LearnOutcome;
use crate::storage::semantic::{BootOptions, QueryInput};
use numpy::{IntoPyArray, Ix1, Ix2, PyArray1, PyArray2, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

type Ids<'py> = Bound<'py, PyArray1<u32>>;
type Matrix<'py, T> = Bound<'py, PyArray2<T>>;
type Parsed<'py> = (
    Vec<String>,
    Matrix<'py, f32>,
    usize,
    Vec<(usize, String)>,
    usize,
);

fn outcome(o: LearnOutcome) -> &'static str {
    match o {
        LearnOutcome::Updated => "updated",
        LearnOutcome::Unchanged => "unchanged",
        LearnOutcome::Drop => "dropped",
    }
}

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
        let r = map(self.store().feedback(sources, target, good))?;
        Ok(r.into_iter().map(|(c, o)| (c, outcome(o))).collect())
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
        let shape = vectors.shape();
        let (n, dim) = (shape[0], shape[1]);
        if n != words.len() {
            return Err(ValidationError::new_err(format!(
                "{} words but {n} vectors",
                words.len()
            )));
        }
        let data = elems(&vectors)?.to_vec();
        let spaces: Vec<usize> = spaces.iter().map(space_arg).collect::<PyResult<_>>()?;
        for (i, s) in spaces.iter().enumerate() {
            if spaces[..i].contains(s) {
                return Err(ValidationError::new_err(format!(
                    "each space may be named once, got {} twice",
                    crate::space::SPACE_NAMES[*s]
                )));
            }
        }
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
        let Some(b) = self.store().boot() else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("words", b.live())?;
        d.set_item("dim", b.dim)?;
        d.set_item("seed", b.seed)?;
        d.set_item(
            "spaces",
            b.spaces
                .iter()
                .map(|(s, f)| (crate::space::SPACE_NAMES[*s], *f))
                .collect::<Vec<_>>(),
        )?;
        d.set_item("explained_variance_ratio", b.pca.explained_ratio.clone())?;
        Ok(Some(d))
    }

    /// The bootstrap vocabulary and the token id of each word.
    fn bootstrap_vocabulary<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyArray1<u32>>)> {
        let b = self
            .store()
            .boot()
            .ok_or_else(|| ValidationError::new_err("this runtime has no bootstrap"))?;
        let rows: Vec<usize> = b.live_rows().collect();
        Ok((
            PyList::new(py, rows.iter().map(|r| &b.words[*r]))?,
            rows.iter()
                .map(|r| b.ids[*r])
                .collect::<Vec<u32>>()
                .into_pyarray(py),
        ))
    }

    /// The (normalised) embedding of each word, (n, dim) float32.
    fn bootstrap_vectors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let b = self
            .store()
            .boot()
            .ok_or_else(|| ValidationError::new_err("this runtime has no bootstrap"))?;
        let mut out = Vec::with_capacity(b.live() * b.dim);
        for r in b.live_rows() {
            out.extend_from_slice(&b.vectors[r * b.dim..(r + 1) * b.dim]);
        }
        out.into_pyarray(py).reshape([b.live(), b.dim])
    }

    /// Rank the vocabulary by cosine: (token ids, scores, words).
    fn semantic_query<'py>(
        &self,
        py: Python<'py>,
        query: &Bound<'py, PyAny>,
        k: &Bound<'py, PyAny>,
    ) -> PyResult<(Ids<'py>, Bound<'py, PyArray1<f32>>, Vec<String>)> {
        let k = super::convert::size_arg(k, "k")?;
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
        let k = super::convert::size_arg(k, "k")?;
        let queries = array_arg::<f32, Ix2>(queries, "queries")?;
        let (q, dim) = (queries.shape()[0], queries.shape()[1]);
        let data = elems(&queries)?;
        // like a single query: a row with no direction (or NaN/inf) has no nearest words
        if dim > 0 {
            for (r, row) in data.chunks(dim).enumerate() {
                if let Some(x) = row.iter().find(|x| !x.is_finite()) {
                    return Err(ValidationError::new_err(format!(
                        "query row {r} holds {x}: query vectors must be finite"
                    )));
                }
                let norm = row.iter().map(|x| (*x as f64) * (*x as f64)).sum::<f64>();
                if norm.sqrt() <= 1e-12 {
                    return Err(ValidationError::new_err(format!(
                        "query row {r} is a zero vector: it has no direction to rank words by"
                    )));
                }
            }
        }
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
        Ok(map(self.store().query_tokens(&input))?.into_pyarray(py))
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
        match self.store().boot() {
            Some(b) => words.iter().map(|w| b.index.contains_key(w)).collect(),
            None => vec![false; words.len()],
        }
    }

    /// Record that tokens were used together.
    fn coactivate(&self, tokens: Vec<u32>) -> PyResult<()> {
        map(self.store().coactivate(&tokens))
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
        let st = self.store().read();
        st.intuition
            .experiences
            .iter()
            .map(|e| (e.time, e.kind.clone(), e.tokens.clone()))
            .collect()
    }
}

fn proposal_columns(
    py: Python<'_>,
    rows: Vec<(crate::intuition::Proposal, Option<(bool, String)>)>,
) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", rows.iter().map(|r| r.0.id).collect::<Vec<_>>())?;
    d.set_item(
        "action",
        rows.iter().map(|r| r.0.action.name()).collect::<Vec<_>>(),
    )?;
    d.set_item("token_a", rows.iter().map(|r| r.0.a).collect::<Vec<_>>())?;
    d.set_item("token_b", rows.iter().map(|r| r.0.b).collect::<Vec<_>>())?;
    d.set_item(
        "connection",
        rows.iter().map(|r| r.0.connection).collect::<Vec<_>>(),
    )?;
    d.set_item(
        "confidence",
        rows.iter().map(|r| r.0.confidence).collect::<Vec<_>>(),
    )?;
    d.set_item(
        "evidence",
        rows.iter().map(|r| r.0.evidence).collect::<Vec<_>>(),
    )?;
    if rows.iter().any(|r| r.1.is_some()) || rows.is_empty() {
        d.set_item(
            "accepted",
            rows.iter()
                .map(|r| r.1.as_ref().is_some_and(|v| v.0))
                .collect::<Vec<_>>(),
        )?;
        d.set_item(
            "reason",
            rows.iter()
                .map(|r| r.1.as_ref().map(|v| v.1.clone()).unwrap_or_default())
                .collect::<Vec<_>>(),
        )?;
    }
    Ok(d)
}

/// Parse a block of embedding text: (words, (m, dim) float32, dim, skipped [(line, problem)]).
/// Raises ValueError("line N: problem") on the first bad line unless `skip_errors`.
/// `end` limits parsing to `block[:end]` (no copy); the last value returned is the number of
/// lines the parsed part holds.
#[pyfunction]
#[pyo3(signature = (block, dim=None, first_line=1, skip_errors=false, end=None))]
pub fn parse_embedding_text<'py>(
    py: Python<'py>,
    block: &Bound<'py, PyBytes>,
    dim: Option<usize>,
    first_line: usize,
    skip_errors: bool,
    end: Option<usize>,
) -> PyResult<Parsed<'py>> {
    let all = block.as_bytes();
    let bytes = &all[..end.unwrap_or(all.len()).min(all.len())];
    let r = py.allow_threads(|| {
        let lines = bytes.iter().filter(|b| **b == b'\n').count();
        parse_text_block(bytes, dim, first_line, skip_errors).map(|b| (b, lines))
    });
    match r {
        Ok((b, lines)) => {
            let m = b.words.len();
            let arr = b.data.into_pyarray(py).reshape([m, b.dim])?;
            let skipped = b.skipped.into_iter().map(|p| (p.line, p.problem)).collect();
            Ok((b.words, arr, b.dim, skipped, lines))
        }
        Err(p) => Err(ValidationError::new_err(format!(
            "line {}: {}",
            p.line, p.problem
        ))),
    }
}

/// A word2vec "count dim" header line, or None.
#[pyfunction]
pub fn parse_embedding_header(line: &Bound<'_, PyBytes>) -> Option<(usize, usize)> {
    header(line.as_bytes())
}

/// Parse a whole word2vec binary file's bytes: (words, (n, dim) float32).
#[pyfunction]
#[pyo3(signature = (data, max_words=None))]
pub fn parse_word2vec_bin<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyBytes>,
    max_words: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Vec<String>, Bound<'py, PyArray2<f32>>)> {
    let max_words = opt_size_arg(max_words, "max_words")?;
    let bytes = data.as_bytes();
    let r = py.allow_threads(|| parse_word2vec_binary(bytes, max_words));
    match r {
        Ok(b) => {
            let m = b.words.len();
            Ok((b.words, b.data.into_pyarray(py).reshape([m, b.dim])?))
        }
        Err(p) => Err(ValidationError::new_err(p.problem)),
    }
}

/// Stream a word2vec/GloVe/fastText text file (header optional) in blocks, parsing each in
/// parallel with the GIL released: (words, (n, dim) float32, skipped lines). `progress` is
/// called with the bytes consumed after each block; Ctrl-C stops between blocks.
#[pyfunction]
#[pyo3(signature = (path, max_words=None, skip_errors=false, progress=None))]
pub fn load_embedding_text<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    max_words: Option<&Bound<'py, PyAny>>,
    skip_errors: bool,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<(Vec<String>, Matrix<'py, f32>, usize)> {
    use std::io::Read;
    let max_words = opt_size_arg(max_words, "max_words")?;
    const BLOCK: usize = 16 << 20;
    let shown = path.display().to_string();
    let io_err = |e: std::io::Error| pyo3::exceptions::PyOSError::new_err(format!("{shown}: {e}"));
    let mut f = std::fs::File::open(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            pyo3::exceptions::PyFileNotFoundError::new_err(format!("{shown}: no such file"))
        } else {
            io_err(e)
        }
    })?;
    let (mut words, mut data): (Vec<String>, Vec<f32>) = (Vec::new(), Vec::new());
    let (mut dim, mut line, mut skipped) = (None, 1usize, 0usize);
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + (1 << 20));
    let mut first = true;
    let mut eof = false;
    while !eof {
        let start = buf.len();
        buf.resize(start + BLOCK, 0);
        let got = py
            .allow_threads(|| f.read(&mut buf[start..]))
            .map_err(io_err)?;
        buf.truncate(start + got);
        eof = got == 0;
        if first {
            first = false;
            if let Some(end) = buf.iter().position(|b| *b == b'\n') {
                if let Some((_, d)) = header(&buf[..end]) {
                    dim = Some(d);
                    buf.drain(..=end);
                    line = 2;
                }
            }
        }
        let cut = if eof {
            buf.len()
        } else {
            buf.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1)
        };
        if cut == 0 {
            continue;
        }
        let block = &buf[..cut];
        let parsed = py.allow_threads(|| {
            let lines = block.iter().filter(|b| **b == b'\n').count();
            parse_text_block(block, dim, line, skip_errors).map(|b| (b, lines))
        });
        let (b, lines) = parsed.map_err(|p| {
            ValidationError::new_err(format!("{shown}: line {}: {}", p.line, p.problem))
        })?;
        dim = Some(b.dim);
        skipped += b.skipped.len();
        line += lines;
        words.extend(b.words);
        data.extend_from_slice(&b.data);
        buf.drain(..cut);
        if let Some(cb) = &progress {
            cb.call1((cut,))?;
        }
        py.check_signals()?;
        if max_words.is_some_and(|m| words.len() >= m) {
            break;
        }
    }
    let d = dim.unwrap_or(0);
    if words.is_empty() || d == 0 {
        return Err(ValidationError::new_err(format!(
            "{shown}: no word vectors found"
        )));
    }
    if let Some(m) = max_words {
        words.truncate(m);
        data.truncate(m * d);
    }
    let n = words.len();
    Ok((words, data.into_pyarray(py).reshape([n, d])?, skipped))
}
