//! Embedding file bindings used by the Python loaders: text blocks, the word2vec header, the
//! word2vec binary format, and streaming a whole text file (the reading itself is
//! `bootstrap::TextFileReader`).

use super::args::opt_size_arg;
use super::errors::ValidationError;
use super::util::run;
use crate::bootstrap::{parse_header, parse_text_block, parse_word2vec_binary, TextFileReader};
use numpy::{IntoPyArray, PyArray2, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

type Matrix<'py, T> = Bound<'py, PyArray2<T>>;
type Parsed<'py> = (
    Vec<String>,
    Matrix<'py, f32>,
    usize,
    Vec<(usize, String)>,
    usize,
);

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
    let (b, lines) = run(py, || {
        let lines = bytes.iter().filter(|b| **b == b'\n').count();
        Ok(parse_text_block(bytes, dim, first_line, skip_errors).map(|b| (b, lines)))
    })?
    .map_err(|p| ValidationError::new_err(p.to_string()))?;
    let m = b.words.len();
    let arr = b.data.into_pyarray(py).reshape([m, b.dim])?;
    let skipped = b.skipped.into_iter().map(|p| (p.line, p.problem)).collect();
    Ok((b.words, arr, b.dim, skipped, lines))
}

/// A word2vec "count dim" header line, or None.
#[pyfunction]
pub fn parse_embedding_header(line: &Bound<'_, PyBytes>) -> Option<(usize, usize)> {
    parse_header(line.as_bytes())
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
    let b = run(py, || Ok(parse_word2vec_binary(bytes, max_words)))?
        .map_err(|p| ValidationError::new_err(p.problem))?;
    let m = b.words.len();
    Ok((b.words, b.data.into_pyarray(py).reshape([m, b.dim])?))
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
    let max_words = opt_size_arg(max_words, "max_words")?;
    let mut reader = TextFileReader::open(&path, max_words, skip_errors)?;
    while let Some(bytes) = run(py, || reader.next_block())? {
        if let Some(cb) = &progress {
            cb.call1((bytes,))?;
        }
    }
    let e = reader.finish()?;
    let n = e.words.len();
    Ok((
        e.words,
        e.data.into_pyarray(py).reshape([n, e.dim])?,
        e.skipped,
    ))
}
