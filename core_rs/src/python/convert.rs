//! Argument parsing and value building shared by the bindings.

use super::errors::{map, ValidationError};
use crate::cdna::{Cdna, BLOCKS, PROFILES, STATES};
use crate::connection::{flags as kflags, group_name, kind_name, Connection};
use crate::space::{parse_space, space_from_number, NUM_SPACES, SPACE_NAMES};
use crate::storage::TokenView;
use crate::token::{entity_name, flags as tflags};
use numpy::ndarray::Dimension;
use numpy::{
    Element, IntoPyArray, PyArray, PyArray1, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray,
    PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyList, PyString};
use rayon::prelude::*;

/// A numpy argument (or anything `numpy.asarray` takes) as a C-contiguous, native-endian
/// array of `T` with the dimensions of `D`, so that `as_slice()` reads it in logical (row-major)
/// order. Any memory layout (Fortran order, strided, negative strides), byte order and
/// read-only flag is accepted; such arrays are copied once. Other dtypes are converted when
/// that keeps every value's meaning: integers or narrower/wider floats to a float type, and
/// integers to another integer type when every value fits. Anything else (floats to
/// integers, bools, strings, objects, a wrong number of dimensions) is a `ValidationError`
/// naming the argument. Every binding that takes a numpy array goes through here.
pub fn array_arg<'py, T: Element, D: Dimension>(
    v: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<PyReadonlyArray<'py, T, D>> {
    if let Ok(a) = v.downcast::<PyArray<T, D>>() {
        if a.is_c_contiguous() {
            return readonly(a, name);
        }
    }
    let py = v.py();
    let np = py.import("numpy")?;
    let arr = np.call_method1("asarray", (v,)).map_err(|e| {
        ValidationError::new_err(format!(
            "{name} must be an array of numbers: {}",
            e.value(py)
        ))
    })?;
    let arr = arr.downcast::<PyUntypedArray>()?;
    let shape = || {
        let dims: Vec<String> = arr.shape().iter().map(|d| d.to_string()).collect();
        format!(
            "({}{})",
            dims.join(", "),
            if dims.len() == 1 { "," } else { "" }
        )
    };
    if let Some(nd) = D::NDIM {
        if arr.ndim() != nd {
            return Err(ValidationError::new_err(format!(
                "{name} must be a {nd}-D array, got shape {}",
                shape()
            )));
        }
    }
    let want = numpy::dtype::<T>(py);
    let src = arr.dtype();
    let (wk, sk) = (want.kind(), src.kind());
    let int = |k: u8| k == b'i' || k == b'u';
    let convertible = match (wk, sk) {
        (b'f', b'f') | (b'b', b'b') => true,
        (b'f', k) => int(k),
        (w, k) if int(w) && int(k) => {
            let safe: bool = np
                .call_method1("can_cast", (&src, &want))?
                .extract()
                .unwrap_or(false);
            if !safe && !arr.is_empty() {
                let bits = 8 * want.itemsize() as u32;
                let (lo, hi): (i128, i128) = if w == b'u' {
                    (0, (1i128 << bits) - 1)
                } else {
                    (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
                };
                let min: i128 = arr.call_method0("min")?.extract()?;
                let max: i128 = arr.call_method0("max")?.extract()?;
                if min < lo || max > hi {
                    let bad = if min < lo { min } else { max };
                    return Err(ValidationError::new_err(format!(
                        "{name} holds {bad}, outside {lo}..={hi} (the range of {want})"
                    )));
                }
            }
            true
        }
        _ => false,
    };
    if !convertible {
        return Err(ValidationError::new_err(format!(
            "{name} must be an array of {} (or of values that convert to it without loss), got dtype {src}",
            match wk {
                b'f' => "numbers",
                b'b' => "bools",
                _ => "integers",
            }
        )));
    }
    let kw = PyDict::new(py);
    kw.set_item("dtype", &want)?;
    let out = np.call_method("ascontiguousarray", (arr,), Some(&kw))?;
    let out = out.downcast::<PyArray<T, D>>()?;
    readonly(out, name)
}

fn readonly<'py, T: Element, D: Dimension>(
    a: &Bound<'py, PyArray<T, D>>,
    name: &str,
) -> PyResult<PyReadonlyArray<'py, T, D>> {
    a.try_readonly().map_err(|_| {
        ValidationError::new_err(format!(
            "{name} is being written to elsewhere and cannot be read now"
        ))
    })
}

/// An optional array argument: None stays None.
pub fn opt_array_arg<'py, T: Element, D: Dimension>(
    v: Option<&Bound<'py, PyAny>>,
    name: &str,
) -> PyResult<Option<PyReadonlyArray<'py, T, D>>> {
    match v {
        Some(v) if !v.is_none() => array_arg(v, name).map(Some),
        _ => Ok(None),
    }
}

/// The elements of an array from `array_arg` (always C-contiguous, so this cannot fail).
pub fn elems<'a, T: Element, D: Dimension>(a: &'a PyReadonlyArray<'_, T, D>) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| ValidationError::new_err("internal: an array is not C-contiguous"))
}

/// An integer argument (a Python int or a numpy integer; never a bool or a float) within
/// `lo..=hi`; anything else is a `ValidationError` naming the argument and the value given.
pub fn int_arg(v: &Bound<'_, PyAny>, name: &str, lo: i64, hi: i64) -> PyResult<i64> {
    let given = || v.repr().map(|r| r.to_string()).unwrap_or_default();
    if v.is_instance_of::<PyBool>() || v.get_type().name().is_ok_and(|n| n == "bool") {
        return Err(ValidationError::new_err(format!(
            "{name} must be an integer, got the bool {}",
            given()
        )));
    }
    let range = || {
        ValidationError::new_err(format!(
            "{name} must be an integer in {lo}..={hi}, got {}",
            given()
        ))
    };
    match v.extract::<i64>() {
        Ok(i) if (lo..=hi).contains(&i) => Ok(i),
        Ok(_) => Err(range()),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(v.py()) => Err(range()),
        Err(_) => Err(ValidationError::new_err(format!(
            "{name} must be an integer, got {} {}",
            v.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            given()
        ))),
    }
}

/// An optional integer argument (None stays None).
pub fn opt_int_arg(
    v: Option<&Bound<'_, PyAny>>,
    name: &str,
    lo: i64,
    hi: i64,
) -> PyResult<Option<i64>> {
    match v {
        Some(v) if !v.is_none() => int_arg(v, name, lo, hi).map(Some),
        _ => Ok(None),
    }
}

/// A bool argument: True or False (also numpy's bool), never a truthy value such as "no".
pub fn bool_arg(v: &Bound<'_, PyAny>, name: &str) -> PyResult<bool> {
    let is_bool = v.is_instance_of::<PyBool>() || v.get_type().name().is_ok_and(|n| n == "bool");
    if is_bool {
        if let Ok(b) = v.is_truthy() {
            return Ok(b);
        }
    }
    Err(ValidationError::new_err(format!(
        "{name} must be True or False, got {} {}",
        v.get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default(),
        v.repr().map(|r| r.to_string()).unwrap_or_default()
    )))
}

/// A label: a str (None: no label). Bytes and other types are refused, not stringified.
pub fn label_arg(v: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<String>> {
    if v.is_none() {
        return Ok(None);
    }
    match v.downcast::<PyString>() {
        Ok(s) => Ok(Some(s.to_cow()?.into_owned())),
        Err(_) => Err(ValidationError::new_err(format!(
            "{what} must be a str or None, got {} {}",
            v.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            v.repr().map(|r| r.to_string()).unwrap_or_default()
        ))),
    }
}

/// Labels: a sequence (list, tuple, array ...) of str, or None / NaN / pandas.NA for no label,
/// one per row. A single str or bytes is refused: it is one label, not a sequence of them.
pub fn labels_arg(v: &Bound<'_, PyAny>) -> PyResult<Vec<Option<String>>> {
    if v.is_instance_of::<PyString>()
        || v.is_instance_of::<PyBytes>()
        || v.is_instance_of::<PyByteArray>()
    {
        return Err(ValidationError::new_err(format!(
            "labels must be a sequence of str (one per row), got the single {} {}",
            v.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            v.repr().map(|r| r.to_string()).unwrap_or_default()
        )));
    }
    let items = v.try_iter().map_err(|_| {
        ValidationError::new_err(format!(
            "labels must be a sequence of str or None, got {}",
            v.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let mut out = Vec::with_capacity(v.len().unwrap_or(0));
    for (i, item) in items.enumerate() {
        let item = item?;
        if let Ok(s) = item.downcast::<PyString>() {
            out.push(Some(s.to_cow()?.into_owned()));
        } else if is_missing(&item) {
            out.push(None);
        } else {
            // not a str and not missing: label_arg refuses it, naming the row
            out.push(label_arg(&item, &format!("labels[{i}]"))?);
        }
    }
    Ok(out)
}

/// None, a float NaN or pandas' NA: a missing label in a sequence of labels.
fn is_missing(v: &Bound<'_, PyAny>) -> bool {
    v.is_none()
        || v.downcast::<PyFloat>().is_ok_and(|f| f.value().is_nan())
        || v.get_type().name().is_ok_and(|n| n == "NAType")
}

/// A space given as a name (`"cognitive"`, `"L5"`) or a 1-based number.
pub fn space_arg(v: &Bound<'_, PyAny>) -> PyResult<usize> {
    if v.is_instance_of::<PyBool>() {
        return Err(ValidationError::new_err(format!(
            "space must be a name like 'cognitive', 'L5' or a number 1-8, got the bool {}",
            v.repr()?
        )));
    }
    if let Ok(s) = v.downcast::<PyString>() {
        return map(parse_space(&s.to_cow()?));
    }
    match v.extract::<i64>() {
        Ok(k) => map(space_from_number(k)),
        Err(_) => Err(ValidationError::new_err(format!(
            "space must be a name like 'cognitive', 'L5' or a number 1-8, got {}",
            v.repr()?
        ))),
    }
}

/// A size argument (`k`, `limit`, `offset`, `max_words` ...): an [`int_arg`] in
/// `0..=i64::MAX`, so a bool, a float, a negative number or one too large is a
/// `ValidationError` naming the argument, never an `OverflowError` or `TypeError`.
pub fn size_arg(v: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    int_arg(v, name, 0, i64::MAX).map(|i| usize::try_from(i).unwrap_or(usize::MAX))
}

/// [`size_arg`] for an optional argument (None stays None).
pub fn opt_size_arg(v: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<usize>> {
    match v {
        Some(v) if !v.is_none() => size_arg(v, name).map(Some),
        _ => Ok(None),
    }
}

/// An entity type given as a name or a number.
pub fn entity_arg(v: &Bound<'_, PyAny>) -> PyResult<u8> {
    if v.is_instance_of::<PyBool>() {
        return Err(ValidationError::new_err(format!(
            "entity must be a name or a number, got the bool {}",
            v.repr()?
        )));
    }
    if let Ok(s) = v.downcast::<PyString>() {
        return map(crate::token::parse_entity(&s.to_cow()?));
    }
    match v.extract::<i64>() {
        Ok(k) => map(crate::token::parse_entity(&k.to_string())),
        Err(_) => Err(ValidationError::new_err(format!(
            "entity must be a name or a number, got {}",
            v.repr()?
        ))),
    }
}

/// A connection kind given as a name or a code.
pub fn kind_arg(v: &Bound<'_, PyAny>) -> PyResult<u8> {
    if v.is_instance_of::<PyBool>() {
        return Err(ValidationError::new_err(format!(
            "kind must be a name or a code, got the bool {}",
            v.repr()?
        )));
    }
    if let Ok(s) = v.downcast::<PyString>() {
        return map(crate::connection::parse_kind(&s.to_cow()?));
    }
    match v.extract::<i64>() {
        Ok(k) => map(crate::connection::parse_kind(&k.to_string())),
        Err(_) => Err(ValidationError::new_err(format!(
            "kind must be a name or a code, got {}",
            v.repr()?
        ))),
    }
}

/// A 3-vector (x, y, z), or None.
pub fn xyz_arg(name: &str, v: &Bound<'_, PyAny>) -> PyResult<Option<[f32; 3]>> {
    if v.is_none() {
        return Ok(None);
    }
    let vals: Vec<f64> = v.extract().map_err(|_| {
        ValidationError::new_err(format!(
            "{name} must be a sequence of 3 numbers (x, y, z), got {}",
            v.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    })?;
    if vals.len() != 3 {
        return Err(ValidationError::new_err(format!(
            "{name} must have 3 values (x, y, z), got {}",
            vals.len()
        )));
    }
    Ok(Some([vals[0] as f32, vals[1] as f32, vals[2] as f32]))
}

/// Space keyword arguments (`cognitive=(x, y, z)`) as (space, xyz) pairs.
pub fn space_kwargs(kw: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(usize, Option<[f32; 3]>)>> {
    let mut out = Vec::new();
    if let Some(kw) = kw {
        for (k, v) in kw.iter() {
            let name: String = k.extract()?;
            let space = parse_space(&name).map_err(|_| {
                ValidationError::new_err(format!(
                    "unexpected keyword {name:?}: not a space name (physical, sensory, motor, emotional, cognitive, social, temporal, abstract or L1..L8)"
                ))
            })?;
            out.push((space, xyz_arg(&name, &v)?));
        }
    }
    Ok(out)
}

fn names_of(bits: u32, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// One token as a dict.
pub fn token_dict<'py>(py: Python<'py>, v: &TokenView) -> PyResult<Bound<'py, PyDict>> {
    let t = &v.token;
    let d = PyDict::new(py);
    d.set_item("id", t.local_id())?;
    d.set_item("label", v.label.clone())?;
    d.set_item("entity", entity_name(t.entity()))?;
    d.set_item("weight", t.weight)?;
    d.set_item("field_radius", t.field_radius_f())?;
    d.set_item("field_strength", t.field_strength_f())?;
    d.set_item("timestamp", t.timestamp)?;
    d.set_item(
        "flags",
        names_of((t.flags & tflags::SYSTEM_MASK) as u32, &tflags::NAMES),
    )?;
    d.set_item(
        "user_flags",
        (t.flags & tflags::USER_MASK) >> tflags::USER_SHIFT,
    )?;
    d.set_item("domain", t.domain())?;
    let coords = PyDict::new(py);
    for (s, name) in SPACE_NAMES.iter().enumerate() {
        if v.defined & (1 << s) != 0 {
            let raw = t.coords[s];
            let xyz: Vec<f64> = raw
                .iter()
                .map(|r| crate::space::decode_f64(s, *r))
                .collect();
            coords.set_item(*name, xyz)?;
        } else {
            coords.set_item(*name, py.None())?;
        }
    }
    d.set_item("coords", coords)?;
    Ok(d)
}

/// One connection as a dict.
pub fn connection_dict<'py>(py: Python<'py>, c: &Connection) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", c.id)?;
    d.set_item("token_a", c.token_a)?;
    d.set_item("token_b", c.token_b)?;
    d.set_item("kind", kind_name(c.kind))?;
    d.set_item("group", group_name(c.kind))?;
    d.set_item("strength", c.pull_strength)?;
    d.set_item("rigidity", c.rigidity_f())?;
    d.set_item("confidence", c.confidence_f())?;
    d.set_item("preferred_distance", c.preferred_distance)?;
    d.set_item("mutability", c.mutability().name())?;
    d.set_item("evidence_count", c.evidence_count)?;
    d.set_item("activation_count", c.activation_count)?;
    d.set_item(
        "learning_rate",
        crate::connection::u8_to_unit(c.learning_rate),
    )?;
    d.set_item("decay_rate", crate::connection::u8_to_unit(c.decay_rate))?;
    d.set_item("active_levels", c.active_levels)?;
    d.set_item("flags", names_of(c.flags as u32, &kflags::NAMES))?;
    d.set_item("bidirectional", c.is_bidirectional())?;
    d.set_item("created_at", c.created_at)?;
    d.set_item("last_update", c.last_update)?;
    d.set_item("source_id", c.source_id)?;
    Ok(d)
}

fn col<'py, T: numpy::Element>(
    py: Python<'py>,
    d: &Bound<'py, PyDict>,
    name: &str,
    v: Vec<T>,
) -> PyResult<()> {
    d.set_item(name, v.into_pyarray(py))
}

/// Columns of many connections as numpy arrays (kind as code; names via CONNECTION_KINDS).
pub fn connection_columns<'py>(
    py: Python<'py>,
    recs: &[Connection],
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    col(py, &d, "id", recs.iter().map(|c| c.id).collect())?;
    col(py, &d, "token_a", recs.iter().map(|c| c.token_a).collect())?;
    col(py, &d, "token_b", recs.iter().map(|c| c.token_b).collect())?;
    col(py, &d, "kind", recs.iter().map(|c| c.kind).collect())?;
    col(
        py,
        &d,
        "strength",
        recs.iter().map(|c| c.pull_strength).collect(),
    )?;
    col(
        py,
        &d,
        "rigidity",
        recs.iter().map(|c| c.rigidity_f()).collect(),
    )?;
    col(
        py,
        &d,
        "confidence",
        recs.iter().map(|c| c.confidence_f()).collect(),
    )?;
    col(
        py,
        &d,
        "preferred_distance",
        recs.iter().map(|c| c.preferred_distance).collect(),
    )?;
    col(
        py,
        &d,
        "mutability",
        recs.iter().map(|c| c.mutability).collect(),
    )?;
    col(
        py,
        &d,
        "evidence_count",
        recs.iter().map(|c| c.evidence_count).collect(),
    )?;
    col(
        py,
        &d,
        "bidirectional",
        recs.iter().map(|c| c.is_bidirectional()).collect(),
    )?;
    col(
        py,
        &d,
        "created_at",
        recs.iter().map(|c| c.created_at).collect(),
    )?;
    Ok(d)
}

/// Token columns as numpy arrays for rows `[start, end)` of the store.
pub struct TokenColumns {
    pub id: Vec<u32>,
    pub entity: Vec<u8>,
    pub weight: Vec<f32>,
    pub field_radius: Vec<f32>,
    pub field_strength: Vec<f32>,
    pub timestamp: Vec<u32>,
    pub flags: Vec<u16>,
    pub defined: Vec<u8>,
    /// (n, 8, 3) row-major, NaN where a space is not defined.
    pub coords: Vec<f32>,
    /// Labels as Arrow string buffers: offsets (n + 1), UTF-8 bytes, and which are set.
    pub label_offsets: Vec<i64>,
    pub label_data: Vec<u8>,
    pub label_valid: Vec<bool>,
}

impl TokenColumns {
    pub fn gather(st: &crate::storage::State, start: usize, end: usize) -> TokenColumns {
        let recs = &st.tokens.records[start..end];
        let defs = &st.tokens.defined[start..end];
        let mut coords = vec![0f32; recs.len() * 24];
        coords
            .par_chunks_mut(24 * 4096)
            .enumerate()
            .for_each(|(ci, chunk)| {
                for (j, row) in chunk.chunks_mut(24).enumerate() {
                    let i = ci * 4096 + j;
                    let (t, m) = (&recs[i], defs[i]);
                    for s in 0..NUM_SPACES {
                        let xyz = if m & (1 << s) != 0 {
                            t.space_coords(s)
                        } else {
                            [f32::NAN; 3]
                        };
                        row[s * 3..s * 3 + 3].copy_from_slice(&xyz);
                    }
                }
            });
        let mut label_offsets = Vec::with_capacity(recs.len() + 1);
        let mut label_data = Vec::new();
        let mut label_valid = vec![false; recs.len()];
        label_offsets.push(0i64);
        if st.tokens.labels.is_empty() {
            label_offsets.resize(recs.len() + 1, 0);
        } else {
            for (t, valid) in recs.iter().zip(label_valid.iter_mut()) {
                if let Some(l) = st.tokens.labels.get(&t.local_id()) {
                    label_data.extend_from_slice(l.as_bytes());
                    *valid = true;
                }
                label_offsets.push(label_data.len() as i64);
            }
        }
        TokenColumns {
            id: recs.iter().map(|t| t.local_id()).collect(),
            entity: recs.iter().map(|t| t.entity()).collect(),
            weight: recs.iter().map(|t| t.weight).collect(),
            field_radius: recs.iter().map(|t| t.field_radius_f()).collect(),
            field_strength: recs.iter().map(|t| t.field_strength_f()).collect(),
            timestamp: recs.iter().map(|t| t.timestamp).collect(),
            flags: recs.iter().map(|t| t.flags).collect(),
            defined: defs.to_vec(),
            coords,
            label_offsets,
            label_data,
            label_valid,
        }
    }

    /// The labels as Python strings (None where a token has none).
    fn label_list(&self) -> Vec<Option<&str>> {
        self.label_offsets
            .windows(2)
            .zip(&self.label_valid)
            .map(|(w, &v)| {
                v.then(|| {
                    std::str::from_utf8(&self.label_data[w[0] as usize..w[1] as usize])
                        .unwrap_or("")
                })
            })
            .collect()
    }

    /// Numpy columns; labels as a list of str (`label`), or with `label_buffers` as Arrow
    /// buffers (`label_offsets` int64, `label_data` uint8, `label_valid` bool): no Python
    /// string per token.
    pub fn into_dict(self, py: Python<'_>, label_buffers: bool) -> PyResult<Bound<'_, PyDict>> {
        let d = PyDict::new(py);
        let n = self.id.len();
        if !label_buffers {
            d.set_item("label", PyList::new(py, self.label_list())?)?;
        }
        col(py, &d, "id", self.id)?;
        col(py, &d, "entity", self.entity)?;
        col(py, &d, "weight", self.weight)?;
        col(py, &d, "field_radius", self.field_radius)?;
        col(py, &d, "field_strength", self.field_strength)?;
        col(py, &d, "timestamp", self.timestamp)?;
        col(py, &d, "flags", self.flags)?;
        col(py, &d, "defined", self.defined)?;
        let coords = PyArray1::from_vec(py, self.coords).reshape([n, NUM_SPACES, 3])?;
        d.set_item("coords", coords)?;
        if label_buffers {
            col(py, &d, "label_offsets", self.label_offsets)?;
            col(py, &d, "label_data", self.label_data)?;
            col(py, &d, "label_valid", self.label_valid)?;
        }
        Ok(d)
    }
}

/// The CDNA as nested dicts, one per block.
pub fn cdna_dict<'py>(py: Python<'py>, c: &Cdna) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let header = PyDict::new(py);
    header.set_item("magic", "CDNA")?;
    header.set_item("version", "2.1")?;
    header.set_item("created", c.created)?;
    header.set_item("modified", c.modified)?;
    header.set_item(
        "profile",
        PROFILES
            .get(c.profile_id as usize)
            .copied()
            .unwrap_or("custom"),
    )?;
    header.set_item(
        "profile_state",
        STATES
            .get(c.profile_state as usize)
            .copied()
            .unwrap_or("unknown"),
    )?;
    header.set_item("flags", names_of(c.flags, &crate::cdna::flags::NAMES))?;
    header.set_item("revision", c.revision)?;
    header.set_item(
        "checksum",
        format!(
            "{:016x}",
            u64::from_le_bytes(c.to_bytes()[40..48].try_into().unwrap_or([0; 8]))
        ),
    )?;
    d.set_item(BLOCKS[0].0, header)?;
    let grid = PyDict::new(py);
    let scales = PyDict::new(py);
    let buckets = PyDict::new(py);
    for (i, n) in SPACE_NAMES.iter().enumerate() {
        scales.set_item(*n, c.scales[i])?;
        buckets.set_item(*n, c.bucket_sizes[i])?;
    }
    grid.set_item("scales", scales)?;
    grid.set_item("bucket_sizes", buckets)?;
    grid.set_item("field_strength_limit", c.field_strength_limit)?;
    d.set_item(BLOCKS[1].0, grid)?;
    let topo = PyDict::new(py);
    let allowed: Vec<&str> = (0..crate::connection::KINDS.len() as u8)
        .filter(|k| c.kind_allowed(*k))
        .map(kind_name)
        .collect();
    topo.set_item("allowed_kinds", allowed.len())?;
    topo.set_item(
        "forbidden_kinds",
        (0..crate::connection::KINDS.len() as u8)
            .filter(|k| !c.kind_allowed(*k))
            .map(kind_name)
            .collect::<Vec<_>>(),
    )?;
    d.set_item(BLOCKS[2].0, topo.clone())?;
    for (name, block) in crate::cdna::FIELDS {
        let target = match block {
            "grid_physics" => continue,
            b => b,
        };
        let blk = match d.get_item(target)? {
            Some(b) => b.downcast_into::<PyDict>()?,
            None => {
                let b = PyDict::new(py);
                d.set_item(target, &b)?;
                b
            }
        };
        let v = map(c.field(name))?;
        if name.starts_with("max_") {
            blk.set_item(name, v as u64)?;
        } else {
            blk.set_item(name, v as f32)?;
        }
    }
    let evo = PyDict::new(py);
    evo.set_item("mutation_rate", c.mutation_rate)?;
    evo.set_item("crossover_rate", c.crossover_rate)?;
    evo.set_item("selection_pressure", c.selection_pressure)?;
    d.set_item(BLOCKS[5].0, evo)?;
    Ok(d)
}
