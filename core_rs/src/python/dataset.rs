//! Parquet datasets: `Runtime.to_parquet` / `load_parquet`, and the module-level part writers
//! the distributed layer calls from Dask workers (`neurograph_lab.kernels`). All work runs
//! with the GIL released.

use super::args::{array_arg, elems, labels_arg, opt_array_arg};
use super::errors::ValidationError;
use super::runtime::PyRuntime;
use super::util::{run, run_write};
use crate::bootstrap::Pca;
use crate::dataset::parts::{self, BootModel, ConnectionPart, FinishOptions, TokenPart};
use crate::dataset::{PartInfo, Summary};
use numpy::{Element, Ix1, Ix2, Ix3, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::path::PathBuf;

fn summary_dict<'py>(
    py: Python<'py>,
    s: &Summary,
    dir: &std::path::Path,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("path", dir.display().to_string())?;
    d.set_item("tokens", s.tokens)?;
    d.set_item("connections", s.connections)?;
    d.set_item("vectors", s.vectors)?;
    d.set_item("files", s.files)?;
    d.set_item("bytes", s.bytes)?;
    Ok(d)
}

fn part_dict<'py>(py: Python<'py>, p: &PartInfo) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("file", &p.file)?;
    d.set_item("rows", p.rows)?;
    d.set_item("bytes", p.bytes)?;
    d.set_item("crc32", p.crc32)?;
    Ok(d)
}

#[pymethods]
impl PyRuntime {
    /// Write everything as a Parquet dataset at `dir` (atomic); returns a summary dict.
    #[pyo3(signature = (dir, partitions=16, overwrite=false))]
    fn to_parquet<'py>(
        &self,
        py: Python<'py>,
        dir: PathBuf,
        partitions: usize,
        overwrite: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let store = self.store();
        let s = run_write(py, || store.save_parquet(&dir, partitions, overwrite))?;
        summary_dict(py, &s, &dir)
    }

    /// Replace this runtime's contents with the dataset at `dir`; on any error nothing changes.
    fn load_parquet(&self, py: Python<'_>, dir: PathBuf) -> PyResult<()> {
        let store = self.store();
        run(py, || store.load_parquet(&dir))
    }
}

/// The columns dict's entry `name` as an optional array.
fn opt<'py, T: Element, D: numpy::ndarray::Dimension>(
    cols: &Bound<'py, PyDict>,
    name: &str,
) -> PyResult<Option<numpy::PyReadonlyArray<'py, T, D>>> {
    opt_array_arg(cols.get_item(name)?.as_ref(), name)
}

fn need<'py, T: Element, D: numpy::ndarray::Dimension>(
    cols: &Bound<'py, PyDict>,
    name: &str,
) -> PyResult<numpy::PyReadonlyArray<'py, T, D>> {
    match cols.get_item(name)? {
        Some(v) if !v.is_none() => array_arg(&v, name),
        _ => Err(ValidationError::new_err(format!(
            "columns has no {name:?}: it is required"
        ))),
    }
}

fn check_names(cols: &Bound<'_, PyDict>, known: &[&str]) -> PyResult<()> {
    for k in cols.keys() {
        let k: String = k.extract()?;
        if !known.contains(&k.as_str()) {
            return Err(ValidationError::new_err(format!(
                "unknown column {k:?}; the columns are {}",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

fn sl<'a, T: Element>(a: &'a Option<PyReadonlyArray1<'_, T>>) -> PyResult<Option<&'a [T]>> {
    a.as_ref().map(elems).transpose()
}

const TOKEN_COLUMNS: [&str; 10] = [
    "id",
    "coords",
    "label",
    "entity",
    "domain",
    "weight",
    "field_radius",
    "field_strength",
    "timestamp",
    "flags",
];

/// Write one tokens part, `dir/tokens/part-<part>.parquet`, of a dataset being built in `dir`.
///
/// Values are checked and quantised as `rt.tokens.create_many` does it (coordinates to the
/// spaces' fixed-point grid), so the dataset holds exactly what a runtime would. The file is
/// written under a temporary name, fsynced and renamed: a killed writer leaves no partial part.
///
/// Parameters
/// ----------
/// dir : str or path
///     The temporary dataset directory (from `dataset_tempdir`).
/// part : int
///     The part number, 0 .. 99999; parts of a table are numbered from 0 without gaps.
/// columns : dict of str to array
///     Required: ``id`` (uint32 local ids) and ``coords`` ((n, 8, 3) float32; a NaN triple
///     means "not placed in this space"). Optional (default as ``create_many``): ``label``
///     (sequence of str or None), ``entity`` (uint8 codes, 0), ``domain`` (uint8, 0),
///     ``weight`` (1.0), ``field_radius`` (0.0), ``field_strength`` (0.0), ``timestamp``
///     (uint32 unix seconds, now), ``flags`` (uint16, ACTIVE|MUTABLE plus the entity bits).
///
/// Returns
/// -------
/// dict
///     ``file`` (relative to `dir`), ``rows``, ``bytes``, ``crc32``.
///
/// Raises
/// ------
/// ValidationError
///     An unknown or missing column, a wrong length, or a value `create_many` would refuse
///     (the message names the row).
#[pyfunction]
pub fn write_tokens_part<'py>(
    py: Python<'py>,
    dir: PathBuf,
    part: usize,
    columns: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    check_names(columns, &TOKEN_COLUMNS)?;
    let id = need::<u32, Ix1>(columns, "id")?;
    let coords = need::<f32, Ix3>(columns, "coords")?;
    let label = match columns.get_item("label")? {
        Some(v) if !v.is_none() => Some(labels_arg(&v)?),
        _ => None,
    };
    let entity = opt::<u8, Ix1>(columns, "entity")?;
    let domain = opt::<u8, Ix1>(columns, "domain")?;
    let weight = opt::<f32, Ix1>(columns, "weight")?;
    let radius = opt::<f32, Ix1>(columns, "field_radius")?;
    let strength = opt::<f32, Ix1>(columns, "field_strength")?;
    let stamp = opt::<u32, Ix1>(columns, "timestamp")?;
    let flags = opt::<u16, Ix1>(columns, "flags")?;
    let p = TokenPart {
        id: elems(&id)?,
        coords: elems(&coords)?,
        label,
        entity: sl(&entity)?,
        domain: sl(&domain)?,
        weight: sl(&weight)?,
        field_radius: sl(&radius)?,
        field_strength: sl(&strength)?,
        timestamp: sl(&stamp)?,
        flags: sl(&flags)?,
    };
    let info = run(py, || parts::write_tokens_part(&dir, part, &p))?;
    part_dict(py, &info)
}

const CONNECTION_COLUMNS: [&str; 19] = [
    "id",
    "token_a",
    "token_b",
    "kind",
    "strength",
    "rigidity",
    "preferred_distance",
    "confidence",
    "evidence_count",
    "mutability",
    "learning_rate",
    "decay_rate",
    "active_levels",
    "flags",
    "activation_count",
    "created_at",
    "last_activation",
    "last_update",
    "source_id",
];

/// Write one connections part, `dir/connections/part-<part>.parquet`.
///
/// Parameters
/// ----------
/// dir : str or path
///     The temporary dataset directory (from `dataset_tempdir`).
/// part : int
///     The part number, 0 .. 99999.
/// columns : dict of str to array
///     Required: ``id``, ``token_a``, ``token_b`` (uint32). Optional (default as
///     ``connections.create_many``): ``kind`` (uint8 codes, associated_with), ``strength``
///     (0.5), ``rigidity`` (0.5), ``preferred_distance`` (1.0), ``confidence`` (0.5),
///     ``evidence_count`` (0), ``mutability`` (uint8 codes, from the kind),
///     ``learning_rate`` (0.1), ``decay_rate`` (the default CDNA's), ``active_levels``
///     (0xFF), ``flags`` (ACTIVE), ``activation_count`` (0), ``created_at``,
///     ``last_activation``, ``last_update`` (uint32 unix seconds, now), ``source_id`` (0).
///
/// Returns
/// -------
/// dict
///     ``file``, ``rows``, ``bytes``, ``crc32``.
///
/// Raises
/// ------
/// ValidationError
///     An unknown or missing column, a wrong length or an out-of-range value (row named).
#[pyfunction]
pub fn write_connections_part<'py>(
    py: Python<'py>,
    dir: PathBuf,
    part: usize,
    columns: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    check_names(columns, &CONNECTION_COLUMNS)?;
    let id = need::<u32, Ix1>(columns, "id")?;
    let a = need::<u32, Ix1>(columns, "token_a")?;
    let b = need::<u32, Ix1>(columns, "token_b")?;
    let u8s = |n| opt::<u8, Ix1>(columns, n);
    let f32s = |n| opt::<f32, Ix1>(columns, n);
    let u32s = |n| opt::<u32, Ix1>(columns, n);
    let (kind, mutability, levels, flags) = (
        u8s("kind")?,
        u8s("mutability")?,
        u8s("active_levels")?,
        u8s("flags")?,
    );
    let (strength, rigidity, dist, conf) = (
        f32s("strength")?,
        f32s("rigidity")?,
        f32s("preferred_distance")?,
        f32s("confidence")?,
    );
    let (lr, dr) = (f32s("learning_rate")?, f32s("decay_rate")?);
    let evidence = opt::<u16, Ix1>(columns, "evidence_count")?;
    let (count, created, last_act, last_upd, source) = (
        u32s("activation_count")?,
        u32s("created_at")?,
        u32s("last_activation")?,
        u32s("last_update")?,
        u32s("source_id")?,
    );
    let p = ConnectionPart {
        id: elems(&id)?,
        token_a: elems(&a)?,
        token_b: elems(&b)?,
        kind: sl(&kind)?,
        strength: sl(&strength)?,
        rigidity: sl(&rigidity)?,
        preferred_distance: sl(&dist)?,
        confidence: sl(&conf)?,
        evidence_count: sl(&evidence)?,
        mutability: sl(&mutability)?,
        learning_rate: sl(&lr)?,
        decay_rate: sl(&dr)?,
        active_levels: sl(&levels)?,
        flags: sl(&flags)?,
        activation_count: sl(&count)?,
        created_at: sl(&created)?,
        last_activation: sl(&last_act)?,
        last_update: sl(&last_upd)?,
        source_id: sl(&source)?,
    };
    let info = run(py, || parts::write_connections_part(&dir, part, &p))?;
    part_dict(py, &info)
}

/// Write one vectors part (bootstrap vocabulary rows), `dir/vectors/part-<part>.parquet`.
///
/// Parameters
/// ----------
/// dir : str or path
///     The temporary dataset directory.
/// part : int
///     The part number, 0 .. 99999; vocabulary order is part 0's rows, then part 1's ...
/// words : list of str
///     The words.
/// token_ids : array of uint32
///     The token placed for each word (must be in the dataset's tokens).
/// vectors : array, shape (n, dim)
///     The original embeddings (finite).
///
/// Returns
/// -------
/// dict
///     ``file``, ``rows``, ``bytes``, ``crc32``.
#[pyfunction]
pub fn write_vectors_part<'py>(
    py: Python<'py>,
    dir: PathBuf,
    part: usize,
    words: Vec<String>,
    token_ids: &Bound<'py, PyAny>,
    vectors: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let ids = array_arg::<u32, Ix1>(token_ids, "token_ids")?;
    let v = array_arg::<f32, Ix2>(vectors, "vectors")?;
    let dim = v.shape()[1];
    let (ids_s, v_s) = (elems(&ids)?, elems(&v)?);
    let info = run(py, || {
        parts::write_vectors_part(&dir, part, &words, ids_s, v_s, dim)
    })?;
    part_dict(py, &info)
}

/// Create the temporary directory a dataset for `dir` is built in: a sibling of `dir`
/// (``.<name>.tmp-<pid>-<n>``), so `finish_dataset` can rename it into place.
///
/// Parameters
/// ----------
/// dir : str or path
///     Where the dataset will be installed; its parent must exist.
///
/// Returns
/// -------
/// str
///     The new, empty directory (workers write parts into it).
#[pyfunction]
pub fn dataset_tempdir(py: Python<'_>, dir: PathBuf) -> PyResult<String> {
    let t = run(py, || crate::dataset::files::temp_dir(&dir))?;
    Ok(t.display().to_string())
}

fn boot_model(b: &Bound<'_, PyDict>) -> PyResult<BootModel> {
    let get = |k: &str| -> PyResult<Bound<'_, PyAny>> {
        b.get_item(k)?
            .ok_or_else(|| ValidationError::new_err(format!("bootstrap has no {k:?}")))
    };
    let pca = get("pca")?;
    let pca = pca
        .downcast::<PyDict>()
        .map_err(|_| ValidationError::new_err("bootstrap['pca'] must be a dict"))?;
    let pget = |k: &str| -> PyResult<Bound<'_, PyAny>> {
        pca.get_item(k)?
            .ok_or_else(|| ValidationError::new_err(format!("bootstrap['pca'] has no {k:?}")))
    };
    let mean = array_arg::<f32, Ix1>(&pget("mean")?, "pca mean")?;
    let comps = array_arg::<f32, Ix2>(&pget("components")?, "pca components")?;
    let ev = array_arg::<f64, Ix1>(&pget("explained_variance")?, "pca explained_variance")?;
    let er = array_arg::<f64, Ix1>(&pget("explained_ratio")?, "pca explained_ratio")?;
    let dim = mean.len();
    let m = comps.shape()[0];
    if comps.shape()[1] != dim || ev.len() != m || er.len() != m || m > dim {
        return Err(ValidationError::new_err(format!(
            "bootstrap['pca']: mean has {dim} values, components {:?}, variances {} and {}: expected (m, dim) components and m variances, m <= dim",
            comps.shape(),
            ev.len(),
            er.len()
        )));
    }
    let mut spaces = Vec::new();
    for item in get("spaces")?.try_iter()? {
        let (s, a): (Bound<'_, PyAny>, usize) = item?.extract()?;
        spaces.push((super::args::space_arg(&s)?, a));
    }
    Ok(BootModel {
        seed: get("seed")?.extract()?,
        spaces,
        pca: Pca {
            dim,
            mean: elems(&mean)?.to_vec(),
            components: elems(&comps)?.to_vec(),
            explained_variance: elems(&ev)?.to_vec(),
            explained_ratio: elems(&er)?.to_vec(),
            total_variance: pget("total_variance")?.extract()?,
        },
    })
}

/// Check the parts written in `tmpdir`, write `meta.json` and install the dataset at `dir`.
///
/// Every table's parts must be numbered from 0 without gaps and have the dataset schema
/// (read from the Parquet footers); their sizes and CRC-32s go into `meta.json`. Then
/// `tmpdir` is fsynced and renamed to `dir` with the same rules as `Runtime.to_parquet`. On
/// an error, `tmpdir` is left as it was (fix it, or remove it).
///
/// Parameters
/// ----------
/// tmpdir : str or path
///     The directory the parts were written into (from `dataset_tempdir`).
/// dir : str or path
///     Where the dataset goes.
/// cdna : bytes, optional
///     A CDNA record (``rt.cdna.to_bytes()``); default: the default CDNA.
/// bootstrap : dict, optional
///     Required with vectors parts: ``seed``, ``spaces`` (list of (space, first PCA axis))
///     and ``pca``, a dict of ``mean`` (dim), ``components`` (m, dim), ``explained_variance``
///     (m), ``explained_ratio`` (m) and ``total_variance``.
/// next_token_id, next_connection_id : int, optional
///     The id allocation cursors; default: the largest id + 1.
/// overwrite : bool, default False
///     Replace a dataset already at `dir`.
///
/// Returns
/// -------
/// dict
///     ``path``, ``tokens``, ``connections``, ``vectors``, ``files``, ``bytes``.
///
/// Raises
/// ------
/// DatasetError
///     A missing part, a wrong schema, or a target that must not be replaced (file named).
#[pyfunction]
#[pyo3(signature = (tmpdir, dir, *, cdna=None, bootstrap=None, next_token_id=None, next_connection_id=None, overwrite=false))]
#[allow(clippy::too_many_arguments)]
pub fn finish_dataset<'py>(
    py: Python<'py>,
    tmpdir: PathBuf,
    dir: PathBuf,
    cdna: Option<&Bound<'py, PyBytes>>,
    bootstrap: Option<&Bound<'py, PyDict>>,
    next_token_id: Option<u32>,
    next_connection_id: Option<u32>,
    overwrite: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let o = FinishOptions {
        cdna: cdna.map(|b| b.as_bytes().to_vec()),
        boot: bootstrap.map(boot_model).transpose()?,
        next_token: next_token_id,
        next_connection: next_connection_id,
        overwrite,
    };
    let s = run_write(py, || parts::finish(&tmpdir, &dir, o))?;
    summary_dict(py, &s, &dir)
}
