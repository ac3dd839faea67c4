//! Argument conversion shared by the bindings: numpy arrays, integers, sizes, bools,
//! labels, spaces, entity types, connection kinds, ids and policies, each refused with a
//! `ValidationError` (or `NotFoundError` for an id that cannot exist) naming the argument.

use super::errors::{NotFoundError, ValidationError};
use crate::connection::group_kinds;
use crate::space::{parse_space, space_from_number};
use crate::storage::Policy;
use numpy::ndarray::Dimension;
use numpy::{
    Element, Ix1, PyArray, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray, PyReadonlyArray1,
    PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyString};

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
        return Ok(parse_space(&s.to_cow()?)?);
    }
    match v.extract::<i64>() {
        Ok(k) => Ok(space_from_number(k)?),
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
        return Ok(crate::token::parse_entity(&s.to_cow()?)?);
    }
    match v.extract::<i64>() {
        Ok(k) => Ok(crate::token::parse_entity(&k.to_string())?),
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
        return Ok(crate::connection::parse_kind(&s.to_cow()?)?);
    }
    match v.extract::<i64>() {
        Ok(k) => Ok(crate::connection::parse_kind(&k.to_string())?),
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

/// A 1-D array argument of any layout, byte order or integer dtype (see [`array_arg`]).
pub fn array1<'py, T: Element>(
    v: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<PyReadonlyArray1<'py, T>> {
    array_arg::<T, Ix1>(v, name)
}

/// The elements of an optional array argument.
pub fn opt_slice<'a, T: Element>(
    a: &'a Option<PyReadonlyArray1<'_, T>>,
) -> PyResult<Option<&'a [T]>> {
    a.as_ref().map(elems).transpose()
}

/// A CDNA change policy by name.
pub fn policy_arg(name: &str) -> PyResult<Policy> {
    Policy::parse(name).ok_or_else(|| {
        ValidationError::new_err(format!(
            "unknown policy {name:?}: expected \"refuse\", \"clamp\" or \"force\""
        ))
    })
}

fn is_bool(v: &Bound<'_, PyAny>) -> bool {
    v.is_instance_of::<PyBool>() || v.get_type().name().is_ok_and(|n| n == "bool")
}

/// An id looked up in the store: a Python or numpy integer, never a bool or a float
/// (`ValidationError`); one that no record can have (negative, or past 32 bits) is not
/// found, the same as an id that is free.
fn lookup_id(v: &Bound<'_, PyAny>, what: &str) -> PyResult<u32> {
    let given = || v.repr().map(|r| r.to_string()).unwrap_or_default();
    if is_bool(v) {
        return Err(ValidationError::new_err(format!(
            "a {what} id must be an integer, got the bool {}",
            given()
        )));
    }
    match v.extract::<i64>() {
        Ok(i) if (0..=u32::MAX as i64).contains(&i) => Ok(i as u32),
        Ok(i) => Err(NotFoundError::new_err(format!("no {what} with id {i}"))),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(v.py()) => Err(
            NotFoundError::new_err(format!("no {what} with id {}", given())),
        ),
        Err(_) => Err(ValidationError::new_err(format!(
            "a {what} id must be an integer, got {} {}",
            v.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            given()
        ))),
    }
}

/// The id of an existing token (see `lookup_id`): out of range is "no token with id ...".
#[derive(Clone, Copy, Debug)]
pub struct TokenId(pub u32);

impl<'py> FromPyObject<'py> for TokenId {
    fn extract_bound(v: &Bound<'py, PyAny>) -> PyResult<Self> {
        lookup_id(v, "token").map(TokenId)
    }
}

/// The id of an existing connection: out of range is "no connection with id ...".
#[derive(Clone, Copy, Debug)]
pub struct ConnectionId(pub u32);

impl<'py> FromPyObject<'py> for ConnectionId {
    fn extract_bound(v: &Bound<'py, PyAny>) -> PyResult<Self> {
        lookup_id(v, "connection").map(ConnectionId)
    }
}

/// The id asked for a new token: an [`int_arg`] in `1..=MAX_LOCAL_ID` (24-bit local ids),
/// so `id=-5` says "token id must be an integer in 1..=16777215, got -5".
#[derive(Clone, Copy, Debug)]
pub struct NewTokenId(pub u32);

impl<'py> FromPyObject<'py> for NewTokenId {
    fn extract_bound(v: &Bound<'py, PyAny>) -> PyResult<Self> {
        let id = int_arg(v, "token id", 1, crate::token::MAX_LOCAL_ID as i64)?;
        Ok(NewTokenId(id as u32))
    }
}

/// The token a grid query starts from, given as an id: never a bool, and `>= 0`.
pub fn query_token_id(v: &Bound<'_, PyAny>) -> PyResult<Option<u32>> {
    let Ok(id) = v.extract::<i64>() else {
        return Ok(None);
    };
    if is_bool(v) || id < 0 || id > u32::MAX as i64 {
        return Err(ValidationError::new_err(format!(
            "a token id must be an integer >= 0, got {}",
            v.repr()?
        )));
    }
    Ok(Some(id as u32))
}

/// Connection kinds given as kind names, group names (all 16 kinds of the group) or codes.
pub fn kinds_arg(v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if v.is_instance_of::<pyo3::types::PyString>() {
        return Err(ValidationError::new_err(format!(
            "kinds must be a list of kind or group names, got the string {}",
            v.repr()?
        )));
    }
    let mut out = Vec::new();
    for item in v.try_iter()? {
        let item = item?;
        let group = item.extract::<String>().ok().and_then(|s| group_kinds(&s));
        match group {
            Some(kinds) => out.extend(kinds),
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
