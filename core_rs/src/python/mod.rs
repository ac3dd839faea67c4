//! Python bindings: thin wrappers that convert arguments, delegate to the core with the GIL
//! released (`util`), and convert the results back (`values`); core errors cross the
//! boundary through `errors` (`?` on an `NgError`).

mod args;
mod cdna;
mod connections;
mod dataset;
mod embeddings;
mod errors;
mod graph;
mod grid;
mod kernels;
mod runtime;
mod semantic;
#[cfg(feature = "server")]
mod server;
mod status;
mod tokens;
mod util;
mod values;

use crate::connection::Mutability;
use pyo3::prelude::*;

/// The index (0..=7) of a space given as a name (`"cognitive"`), a level (`"L5"`) or a
/// number 1..8: the one parser every API, magic and widget uses.
#[pyfunction]
fn parse_space(space: &Bound<'_, PyAny>) -> PyResult<usize> {
    args::space_arg(space)
}

/// The compiled core of neurograph_lab.
#[pymodule]
#[pyo3(name = "_core")]
fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<runtime::PyRuntime>()?;
    #[cfg(feature = "server")]
    {
        m.add_class::<server::PyServer>()?;
        m.add_function(wrap_pyfunction!(server::serve, m)?)?;
        m.add_function(wrap_pyfunction!(server::pause_next_bootstrap_job, m)?)?;
        m.add_function(wrap_pyfunction!(server::openapi_json, m)?)?;
    }
    m.add_function(wrap_pyfunction!(util::pause_next_long_call, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::write_tokens_part, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::write_connections_part, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::write_vectors_part, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::dataset_tempdir, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::finish_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(grid::quantize_u8, m)?)?;
    m.add_function(wrap_pyfunction!(parse_space, m)?)?;
    m.add_function(wrap_pyfunction!(embeddings::parse_embedding_text, m)?)?;
    m.add_function(wrap_pyfunction!(embeddings::parse_embedding_header, m)?)?;
    m.add_function(wrap_pyfunction!(embeddings::parse_word2vec_bin, m)?)?;
    m.add_function(wrap_pyfunction!(embeddings::load_embedding_text, m)?)?;
    kernels::register(m)?;
    m.add("SPACES", crate::space::SPACE_NAMES.to_vec())?;
    m.add("SPACE_SCALES", crate::space::SPACE_SCALES.to_vec())?;
    m.add("ENTITY_TYPES", crate::token::ENTITY_TYPES.to_vec())?;
    m.add("CONNECTION_KINDS", crate::connection::KINDS.to_vec())?;
    m.add("CONNECTION_GROUPS", crate::connection::GROUPS.to_vec())?;
    m.add(
        "MUTABILITY_NAMES",
        [
            Mutability::Immutable,
            Mutability::Learnable,
            Mutability::Hypothesis,
        ]
        .map(Mutability::name)
        .to_vec(),
    )?;
    m.add("CDNA_PROFILES", crate::cdna::PROFILES.to_vec())?;
    m.add("CDNA_FLAGS", crate::cdna::flags::NAMES.to_vec())?;
    m.add(
        "CDNA_FIELDS",
        crate::cdna::FIELDS.iter().map(|f| f.0).collect::<Vec<_>>(),
    )?;
    m.add("TOKEN_SIZE", std::mem::size_of::<crate::Token>())?;
    m.add("CONNECTION_SIZE", std::mem::size_of::<crate::Connection>())?;
    m.add("CDNA_SIZE", crate::cdna::CDNA_SIZE)?;
    m.add("SNAPSHOT_FORMAT_VERSION", crate::snapshot::FORMAT_VERSION)?;
    m.add("DATASET_FORMAT_VERSION", crate::dataset::FORMAT_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
