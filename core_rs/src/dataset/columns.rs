//! Records <-> Arrow record batches: the dataset's column schemas (docs/dataset-format.md) and
//! the exact conversions both ways. Every value read back is checked to be one a record can
//! hold, so a written batch converts back to the same bytes and a foreign one is refused.

use crate::connection::{Connection, KINDS};
use crate::space::{
    decode, round_even, small_int, AXIS_NAMES, NUM_AXES, NUM_SPACES, SPACE_NAMES, SPACE_SCALES,
};
use crate::token::{Token, ENTITY_TYPES, MAX_LOCAL_ID};
use arrow_array::types::{Int8Type, UInt8Type};
use arrow_array::{
    Array, ArrayRef, DictionaryArray, FixedSizeListArray, Float32Array, Int8Array, RecordBatch,
    StringArray, TimestampMillisecondArray, UInt16Array, UInt32Array, UInt8Array,
};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// The mutability names, by code.
pub const MUTABILITY: [&str; 3] = ["immutable", "learnable", "hypothesis"];

fn dict(key: DataType) -> DataType {
    DataType::Dictionary(Box::new(key), Box::new(DataType::Utf8))
}

fn millis() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

/// `tokens/` columns, in file order.
pub fn token_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        let mut f = vec![
            Field::new("id", DataType::UInt32, false),
            Field::new("label", DataType::Utf8, true),
            Field::new("entity", dict(DataType::Int8), false),
            Field::new("domain", DataType::UInt8, false),
            Field::new("weight", DataType::Float32, false),
            Field::new("field_radius", DataType::Float32, false),
            Field::new("field_strength", DataType::Float32, false),
            Field::new("timestamp", millis(), false),
            Field::new("flags", DataType::UInt16, false),
            Field::new("defined", DataType::UInt8, false),
        ];
        for s in SPACE_NAMES {
            for a in AXIS_NAMES {
                f.push(Field::new(format!("{s}_{a}"), DataType::Float32, true));
            }
        }
        Arc::new(Schema::new(f))
    })
    .clone()
}

/// `connections/` columns, in file order.
pub fn connection_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        let u32f = |n: &str| Field::new(n, DataType::UInt32, false);
        let f32f = |n: &str| Field::new(n, DataType::Float32, false);
        Arc::new(Schema::new(vec![
            u32f("id"),
            u32f("token_a"),
            u32f("token_b"),
            Field::new("kind", dict(DataType::UInt8), false),
            f32f("strength"),
            f32f("rigidity"),
            f32f("preferred_distance"),
            f32f("confidence"),
            Field::new("evidence_count", DataType::UInt16, false),
            Field::new("mutability", dict(DataType::Int8), false),
            f32f("learning_rate"),
            f32f("decay_rate"),
            Field::new("active_levels", DataType::UInt8, false),
            Field::new("flags", DataType::UInt8, false),
            u32f("activation_count"),
            Field::new("created_at", millis(), false),
            Field::new("last_activation", millis(), false),
            Field::new("last_update", millis(), false),
            u32f("source_id"),
        ]))
    })
    .clone()
}

/// `vectors/` columns for embeddings of `dim` values.
pub fn vector_schema(dim: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("word", DataType::Utf8, false),
        Field::new("token_id", DataType::UInt32, false),
        Field::new("vector", vector_type(dim), false),
    ]))
}

fn vector_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Float32, true))
}

fn vector_type(dim: usize) -> DataType {
    DataType::FixedSizeList(vector_item(), dim as i32)
}

// ---- writing ----

fn col<T: Array + 'static>(a: T) -> ArrayRef {
    Arc::new(a)
}

fn f32s(v: Vec<f32>) -> ArrayRef {
    Arc::new(Float32Array::from(v))
}

fn names(list: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(list.to_vec()))
}

fn batch(schema: SchemaRef, cols: Vec<ArrayRef>) -> std::result::Result<RecordBatch, String> {
    RecordBatch::try_new(schema, cols).map_err(|e| format!("building a record batch: {e}"))
}

/// One column of `recs`, gathered field by field (callers pass a chunk of [`WRITE_CHUNK`]
/// rows, which stays in cache across its columns).
///
/// [`WRITE_CHUNK`]: super::files::WRITE_CHUNK
fn gather<R, T>(recs: &[R], f: impl Fn(&R) -> T) -> Vec<T> {
    recs.iter().map(f).collect()
}

/// The labels of `recs` as `(row, label)` sorted by row, from a table by local id (one pass
/// over the labels, then a sort, instead of a lookup per token), with `slot` giving a
/// label's row.
pub fn labels_by_row(
    labels: &rustc_hash::FxHashMap<u32, crate::storage::tokens::Label>,
    slot: impl Fn(u32) -> Option<usize> + Sync,
) -> Vec<(u32, &str)> {
    use rayon::prelude::*;
    let mut v: Vec<(u32, &str)> = labels
        .iter()
        .filter_map(|(id, l)| slot(*id).map(|s| (s as u32, l.as_str())))
        .collect();
    v.par_sort_unstable_by_key(|x| x.0);
    v
}

/// Token rows as a record batch. `labels` are `(row, label)` for rows of `recs`, counted from
/// `first` (the rows before `recs`), sorted by row.
pub fn tokens_batch(
    recs: &[Token],
    defined: &[u8],
    first: usize,
    labels: &[(u32, &str)],
) -> std::result::Result<RecordBatch, String> {
    let lo = labels.partition_point(|x| (x.0 as usize) < first);
    let hi = labels.partition_point(|x| (x.0 as usize) < first + recs.len());
    let label: StringArray = if lo == hi {
        StringArray::new_null(recs.len())
    } else {
        let mine = &labels[lo..hi];
        let bytes = mine.iter().map(|x| x.1.len()).sum();
        let mut b = arrow_array::builder::StringBuilder::with_capacity(recs.len(), bytes);
        let mut next = mine.iter().peekable();
        for row in first..first + recs.len() {
            match next.next_if(|x| x.0 as usize == row) {
                Some((_, l)) => b.append_value(l),
                None => b.append_null(),
            }
        }
        b.finish()
    };
    let entity = DictionaryArray::<Int8Type>::try_new(
        Int8Array::from(gather(recs, |t| t.entity() as i8)),
        names(&ENTITY_TYPES),
    )
    .map_err(|e| e.to_string())?;
    let mut cols: Vec<ArrayRef> = vec![
        col(UInt32Array::from(gather(recs, |t| t.local_id()))),
        Arc::new(label),
        Arc::new(entity),
        col(UInt8Array::from(gather(recs, |t| t.domain()))),
        f32s(gather(recs, |t| t.weight)),
        f32s(gather(recs, |t| t.field_radius_f())),
        f32s(gather(recs, |t| t.field_strength_f())),
        Arc::new(TimestampMillisecondArray::from(gather(recs, |t| {
            t.timestamp as i64 * 1000
        }))),
        col(UInt16Array::from(gather(recs, |t| t.flags))),
        col(UInt8Array::from(defined.to_vec())),
    ];
    for s in 0..NUM_SPACES {
        // null where the token is not placed in space s and holds its zeros
        let valid: Vec<bool> = recs
            .iter()
            .zip(defined)
            .map(|(t, m)| m & (1 << s) != 0 || t.coords[s] != [0; 3])
            .collect();
        let nulls = valid.iter().any(|x| !x).then(|| NullBuffer::from(valid));
        for a in 0..NUM_AXES {
            let c = gather(recs, |t| decode(s, t.coords[s][a]));
            cols.push(Arc::new(Float32Array::new(
                ScalarBuffer::from(c),
                nulls.clone(),
            )));
        }
    }
    batch(token_schema(), cols)
}

/// Connection rows as a record batch.
pub fn connections_batch(recs: &[Connection]) -> std::result::Result<RecordBatch, String> {
    if let Some(c) = recs
        .iter()
        .find(|c| c.mutability as usize >= MUTABILITY.len())
    {
        return Err(format!(
            "connection {} has mutability code {}",
            c.id, c.mutability
        ));
    }
    let kind = DictionaryArray::<UInt8Type>::try_new(
        UInt8Array::from(gather(recs, |c| c.kind)),
        names(&KINDS),
    )
    .map_err(|e| e.to_string())?;
    let mutability = DictionaryArray::<Int8Type>::try_new(
        Int8Array::from(gather(recs, |c| c.mutability as i8)),
        names(&MUTABILITY),
    )
    .map_err(|e| e.to_string())?;
    let u32s = |f: fn(&Connection) -> u32| col(UInt32Array::from(gather(recs, f)));
    let unit = |f: fn(&Connection) -> u8| f32s(gather(recs, |c| f(c) as f32 / 255.0));
    let ms = |f: fn(&Connection) -> u32| -> ArrayRef {
        Arc::new(TimestampMillisecondArray::from(gather(recs, |c| {
            f(c) as i64 * 1000
        })))
    };
    let cols: Vec<ArrayRef> = vec![
        u32s(|c| c.id),
        u32s(|c| c.token_a),
        u32s(|c| c.token_b),
        Arc::new(kind),
        f32s(gather(recs, |c| c.pull_strength)),
        unit(|c| c.rigidity),
        f32s(gather(recs, |c| c.preferred_distance)),
        unit(|c| c.confidence),
        col(UInt16Array::from(gather(recs, |c| c.evidence_count))),
        Arc::new(mutability),
        unit(|c| c.learning_rate),
        unit(|c| c.decay_rate),
        col(UInt8Array::from(gather(recs, |c| c.active_levels))),
        col(UInt8Array::from(gather(recs, |c| c.flags))),
        u32s(|c| c.activation_count),
        ms(|c| c.created_at),
        ms(|c| c.last_activation),
        ms(|c| c.last_update),
        u32s(|c| c.source_id),
    ];
    batch(connection_schema(), cols)
}

/// Vocabulary rows (`vectors` is `words.len() x dim`) as a record batch.
pub fn vectors_batch(
    words: &[String],
    ids: &[u32],
    vectors: &[f32],
    dim: usize,
) -> std::result::Result<RecordBatch, String> {
    let list = FixedSizeListArray::try_new(
        vector_item(),
        dim as i32,
        Arc::new(Float32Array::from(vectors.to_vec())),
        None,
    )
    .map_err(|e| e.to_string())?;
    batch(
        vector_schema(dim),
        vec![
            Arc::new(StringArray::from_iter_values(words.iter())),
            col(UInt32Array::from(ids.to_vec())),
            Arc::new(list),
        ],
    )
}

// ---- reading ----

/// A column of a batch whose schema was checked, as its concrete type.
fn get<T: 'static>(b: &RecordBatch, i: usize) -> std::result::Result<&T, String> {
    let c = b.column(i);
    let name = b.schema().field(i).name().clone();
    if c.null_count() > 0 && !b.schema().field(i).is_nullable() {
        return Err(format!("column {name} holds nulls"));
    }
    c.as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| format!("column {name} has type {}", c.data_type()))
}

fn values<'a, T: 'static, A: 'static>(
    b: &'a RecordBatch,
    i: usize,
    f: impl Fn(&'a A) -> &'a [T],
) -> std::result::Result<&'a [T], String> {
    get::<A>(b, i).map(f)
}

fn u32c(b: &RecordBatch, i: usize) -> std::result::Result<&[u32], String> {
    values(b, i, |a: &UInt32Array| a.values().as_ref())
}
fn u16c(b: &RecordBatch, i: usize) -> std::result::Result<&[u16], String> {
    values(b, i, |a: &UInt16Array| a.values().as_ref())
}
fn u8c(b: &RecordBatch, i: usize) -> std::result::Result<&[u8], String> {
    values(b, i, |a: &UInt8Array| a.values().as_ref())
}
fn f32c(b: &RecordBatch, i: usize) -> std::result::Result<&[f32], String> {
    values(b, i, |a: &Float32Array| a.values().as_ref())
}

/// The inverse of 125 modulo 2^64.
const INV_125: u64 = 0x1cac_0831_26e9_78d5;

/// Whole seconds from milliseconds, and whether every value is a whole second in
/// 0 ..= u32::MAX s. Exact division by 1000 = 8 * 125 without dividing: a multiple of 8,
/// shifted, times the inverse of 125 is its quotient when 125 divides it and more than any
/// u32 otherwise; branch-free, so that the loop compiles to vector instructions.
fn seconds_of(ms: &[i64]) -> (Vec<u32>, bool) {
    let mut out = vec![0u32; ms.len()];
    let mut ok = true;
    for (o, m) in out.iter_mut().zip(ms) {
        let q = ((*m as u64) >> 3).wrapping_mul(INV_125);
        ok &= (*m & 7 == 0) & (*m >= 0) & (q <= u32::MAX as u64);
        *o = q as u32;
    }
    (out, ok)
}

/// Whole seconds from a timestamp[ms] column.
fn seconds(b: &RecordBatch, i: usize) -> std::result::Result<Vec<u32>, String> {
    let v = values(b, i, |a: &TimestampMillisecondArray| a.values().as_ref())?;
    let good = |ms: i64| ms % 1000 == 0 && (0..=u32::MAX as i64).contains(&(ms / 1000));
    // one pass; the first bad row is looked for only when there is one
    let (out, ok) = seconds_of(v);
    if ok {
        return Ok(out);
    }
    let (row, ms) = v
        .iter()
        .enumerate()
        .find(|(_, ms)| !good(**ms))
        .unwrap_or((0, &0));
    Err(format!(
        "row {row}: {} = {ms} ms is not a whole second in 0 .. 2^32-1 s",
        b.schema().field(i).name()
    ))
}

/// Codes from a dictionary column whose values are names in `list`.
fn codes<K: arrow_array::types::ArrowDictionaryKeyType>(
    b: &RecordBatch,
    i: usize,
    list: &[&str],
) -> std::result::Result<Vec<u8>, String>
where
    K::Native: TryInto<usize>,
{
    let name = b.schema().field(i).name().clone();
    let d = get::<DictionaryArray<K>>(b, i)?;
    let vals = d
        .values()
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| format!("column {name}: dictionary values are not strings"))?;
    let lookup: HashMap<&str, usize> = list.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let map: Vec<Option<u8>> = (0..vals.len())
        .map(|j| {
            (!vals.is_null(j))
                .then(|| lookup.get(vals.value(j)).map(|c| *c as u8))
                .flatten()
        })
        .collect();
    let index = |k: &K::Native| -> usize { (*k).try_into().unwrap_or(usize::MAX) };
    let keys = d.keys().values();
    // codes by key, u8::MAX for a key that names no known name (codes are < 255)
    let table: Vec<u8> = map.iter().map(|c| c.unwrap_or(u8::MAX)).collect();
    let out: Vec<u8> = keys
        .iter()
        .map(|k| table.get(index(k)).copied().unwrap_or(u8::MAX))
        .collect();
    match out.iter().position(|c| *c == u8::MAX) {
        None => Ok(out),
        Some(row) => {
            let k = index(&keys[row]);
            let v = if k < vals.len() { vals.value(k) } else { "?" };
            Err(format!(
                "row {row}: {name} {v:?} is not one of the known names"
            ))
        }
    }
}

/// The byte whose value `code / scale` is `v`, exactly, and whether there is one. Free of
/// branches, so that a loop over a column compiles to vector instructions.
#[inline(always)]
fn code_and_check(v: f32, scale: f32) -> (u8, bool) {
    // nearest code (ties to even: a value that is a code lies far from any tie)
    let c = round_even(v * scale);
    // in 0..=255 (a NaN code is no number, and then differs from `c`)
    let code = small_int(c.clamp(0.0, 255.0));
    let ok = (code as f32 == c) & (code as f32 / scale == v);
    (code as u8, ok)
}

fn bad_code(v: f32, scale: f32, row: usize, name: &str) -> String {
    format!(
        "row {row}: {name} = {v} is not a value the record can hold (a multiple of 1/{scale} in [0, {}])",
        255.0 / scale
    )
}

fn codes_of(v: &[f32], scale: f32, name: &str) -> std::result::Result<Vec<u8>, String> {
    let mut out = vec![0u8; v.len()];
    let mut ok = true;
    for (o, x) in out.iter_mut().zip(v) {
        let (c, good) = code_and_check(*x, scale);
        *o = c;
        ok &= good;
    }
    if ok {
        return Ok(out);
    }
    let row = v
        .iter()
        .position(|x| !code_and_check(*x, scale).1)
        .unwrap_or(0);
    Err(bad_code(v[row], scale, row, name))
}

/// The raw value for `v` in `space` and whether it is exact (the checks of [`coord_raw`]),
/// free of branches, so that a loop over a column compiles to vector instructions.
#[inline(always)]
fn coord_and_check(space: usize, v: f32) -> (i16, bool) {
    let scale = SPACE_SCALES[space];
    let r = v * scale;
    let raw = round_even(r);
    // in i16's range (a NaN raw value is no number, and then differs from `raw`)
    let q = small_int(raw.clamp(-32768.0, 32767.0));
    let ok = (r.abs() <= 32768.0) & (q as f32 == raw) & (q as f32 / scale == v);
    (q as i16, ok)
}

/// [`coord_and_check`] over a column of values of `space`, into `out`; whether all are exact.
fn coords_of(space: usize, vals: &[f32], out: &mut [i16]) -> bool {
    let mut ok = true;
    for (o, v) in out.iter_mut().zip(vals) {
        let (raw, good) = coord_and_check(space, *v);
        *o = raw;
        ok &= good;
    }
    ok
}

/// The fixed-point value of one coordinate, exactly (`decode(raw) == v`).
pub fn coord_raw(space: usize, v: f32) -> Option<i16> {
    let r = v * SPACE_SCALES[space];
    if r.is_nan() || r.abs() > 32768.0 {
        return None;
    }
    let raw = round_even(r);
    if !(-32768.0..=32767.0).contains(&raw) {
        return None;
    }
    let raw = raw as i16;
    (decode(space, raw) == v).then_some(raw)
}

/// The names of the columns of `schema` that differ from `want` (names, types, nullability).
pub fn schema_difference(got: &Schema, want: &Schema) -> Option<String> {
    if got.fields().len() != want.fields().len() {
        let names: Vec<&str> = got.fields().iter().map(|f| f.name().as_str()).collect();
        return Some(format!(
            "{} columns ({}), expected {}",
            names.len(),
            names.join(", "),
            want.fields().len()
        ));
    }
    for (g, w) in got.fields().iter().zip(want.fields()) {
        if g.name() != w.name()
            || g.data_type() != w.data_type()
            || g.is_nullable() != w.is_nullable()
        {
            return Some(format!(
                "column {:?} is {}{}, expected {:?} {}{}",
                g.name(),
                g.data_type(),
                if g.is_nullable() { " (nullable)" } else { "" },
                w.name(),
                w.data_type(),
                if w.is_nullable() { " (nullable)" } else { "" },
            ));
        }
    }
    None
}

/// Rows of a token batch whose coordinates are converted together (the 24 converted columns,
/// 48 KiB, and the records they go into, 64 KiB, stay in the first cache levels).
const COORD_CHUNK: usize = 1024;

/// Token rows from a batch, into `recs`, `defined` and `local_ids` (each the batch's length),
/// with the checks of a snapshot load on each record; labels are appended to `labels` as
/// (local id, label).
pub fn tokens_from_batch(
    b: &RecordBatch,
    recs: &mut [Token],
    defined: &mut [u8],
    local_ids: &mut [u32],
    labels: &mut Vec<(u32, crate::storage::tokens::Label)>,
) -> std::result::Result<(), String> {
    let ids = u32c(b, 0)?;
    let label = get::<StringArray>(b, 1)?;
    let entity = codes::<Int8Type>(b, 2, &ENTITY_TYPES)?;
    let domain = u8c(b, 3)?;
    let weight = f32c(b, 4)?;
    let radius = codes_of(f32c(b, 5)?, 100.0, "field_radius")?;
    let strength = codes_of(f32c(b, 6)?, 255.0, "field_strength")?;
    let stamp = seconds(b, 7)?;
    let flags = u16c(b, 8)?;
    let defs = u8c(b, 9)?;
    let mut valid = true;
    for (row, t) in recs.iter_mut().enumerate() {
        let id = ids[row];
        if id == 0 || id > MAX_LOCAL_ID {
            return Err(format!(
                "row {row}: token id {id} is outside 1..={MAX_LOCAL_ID}"
            ));
        }
        if domain[row] > 15 {
            return Err(format!(
                "row {row}: domain {} is outside 0..=15",
                domain[row]
            ));
        }
        t.id = id | (entity[row] as u32) << 24 | (domain[row] as u32) << 28;
        t.weight = weight[row];
        t.field_radius = radius[row];
        t.field_strength = strength[row];
        t.timestamp = stamp[row];
        t.flags = flags[row];
        valid &= crate::snapshot::check::token_is_valid(t);
    }
    // entity types and weights as a snapshot load checks them, while the records are in cache
    if !valid {
        if let Some(p) = recs.iter().find_map(crate::snapshot::check::token_problem) {
            return Err(p);
        }
    }
    defined.copy_from_slice(defs);
    local_ids.copy_from_slice(ids);
    let cols = (0..NUM_SPACES * NUM_AXES)
        .map(|k| get::<Float32Array>(b, 10 + k))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // the 24 coordinate columns, a thousand rows at a time: each column converted and checked
    // into a small buffer in one branch-free (vectorised) pass, then the buffers' rows written
    // into the records; the first bad row is looked for only when there is one (a null reads
    // as 0 and must be a space the token is not in)
    let mut ok = [true; NUM_SPACES * NUM_AXES];
    let mut buf = [[0i16; COORD_CHUNK]; NUM_SPACES * NUM_AXES];
    for first in (0..recs.len()).step_by(COORD_CHUNK) {
        let rows = first..(first + COORD_CHUNK).min(recs.len());
        let n = rows.len();
        for (k, c) in cols.iter().enumerate() {
            let s = k / NUM_AXES;
            let vals = &c.values()[rows.clone()];
            let out = &mut buf[k][..n];
            ok[k] &= match c.nulls() {
                None => coords_of(s, vals, out),
                Some(nulls) => {
                    let mut fine = true;
                    for (row, (o, v)) in (first..).zip(out.iter_mut().zip(vals)) {
                        let valid = nulls.is_valid(row);
                        let (raw, good) = coord_and_check(s, *v);
                        *o = if valid { raw } else { 0 };
                        fine &= if valid {
                            good
                        } else {
                            defs[row] & (1 << s) == 0
                        };
                    }
                    fine
                }
            };
        }
        for (i, t) in recs[rows].iter_mut().enumerate() {
            for (s, xyz) in t.coords.iter_mut().enumerate() {
                let b = &buf[NUM_AXES * s..];
                *xyz = [b[0][i], b[1][i], b[2][i]];
            }
        }
    }
    for (k, c) in cols.iter().enumerate() {
        if !ok[k] {
            let (s, axis) = (k / NUM_AXES, AXIS_NAMES[k % NUM_AXES]);
            for (row, v) in c.values().iter().enumerate() {
                if c.is_null(row) {
                    if defs[row] & (1 << s) != 0 {
                        return Err(format!(
                            "row {row}: {}_{axis} is null but the token is placed in {} (defined)",
                            SPACE_NAMES[s], SPACE_NAMES[s]
                        ));
                    }
                } else if coord_raw(s, *v).is_none() {
                    return Err(format!(
                        "row {row}: {}_{axis} = {v} is not a fixed-point value of the space (i16 / {})",
                        SPACE_NAMES[s], SPACE_SCALES[s]
                    ));
                }
            }
        }
    }
    if label.null_count() < label.len() {
        for (row, t) in recs.iter().enumerate() {
            if label.is_valid(row) {
                labels.push((t.local_id(), label.value(row).into()));
            }
        }
    }
    Ok(())
}

/// Connection rows from a batch, into `recs` (the batch's length).
pub fn connections_from_batch(
    b: &RecordBatch,
    recs: &mut [Connection],
    ids: &mut [u32],
    ends: &mut [[u32; 2]],
) -> std::result::Result<(), String> {
    let id = u32c(b, 0)?;
    let ta = u32c(b, 1)?;
    let tb = u32c(b, 2)?;
    let kind = codes::<UInt8Type>(b, 3, &KINDS)?;
    let strength = f32c(b, 4)?;
    let rigidity = codes_of(f32c(b, 5)?, 255.0, "rigidity")?;
    let dist = f32c(b, 6)?;
    let conf = codes_of(f32c(b, 7)?, 255.0, "confidence")?;
    let evidence = u16c(b, 8)?;
    let mutability = codes::<Int8Type>(b, 9, &MUTABILITY)?;
    let lr = codes_of(f32c(b, 10)?, 255.0, "learning_rate")?;
    let dr = codes_of(f32c(b, 11)?, 255.0, "decay_rate")?;
    let levels = u8c(b, 12)?;
    let flags = u8c(b, 13)?;
    let count = u32c(b, 14)?;
    let created = seconds(b, 15)?;
    let last_act = seconds(b, 16)?;
    let last_upd = seconds(b, 17)?;
    let source = u32c(b, 18)?;
    ids.copy_from_slice(id);
    for ((e, a), b) in ends.iter_mut().zip(ta).zip(tb) {
        *e = [*a, *b];
    }
    let mut ok = true;
    for (i, c) in recs.iter_mut().enumerate() {
        *c = Connection {
            token_a: ta[i],
            token_b: tb[i],
            kind: kind[i],
            rigidity: rigidity[i],
            active_levels: levels[i],
            flags: flags[i],
            activation_count: count[i],
            pull_strength: strength[i],
            preferred_distance: dist[i],
            created_at: created[i],
            last_activation: last_act[i],
            mutability: mutability[i],
            confidence: conf[i],
            evidence_count: evidence[i],
            last_update: last_upd[i],
            learning_rate: lr[i],
            decay_rate: dr[i],
            _reserved0: 0,
            source_id: source[i],
            id: id[i],
            _reserved1: [0; 12],
        };
        ok &= crate::snapshot::check::record_is_valid(c);
    }
    // the checks of a snapshot load on the fields of each record, while it is in cache (its
    // tokens are looked up once every part is read)
    if !ok {
        if let Some(p) = recs.iter().find_map(crate::snapshot::check::record_problem) {
            return Err(p);
        }
    }
    Ok(())
}

/// Vocabulary rows from a batch: appended to `words`, `ids` and `vectors`.
pub fn vectors_from_batch(
    b: &RecordBatch,
    words: &mut Vec<String>,
    ids: &mut Vec<u32>,
    vectors: &mut Vec<f32>,
) -> std::result::Result<(), String> {
    let w = get::<StringArray>(b, 0)?;
    let t = u32c(b, 1)?;
    let l = get::<FixedSizeListArray>(b, 2)?;
    let v = l
        .values()
        .as_any()
        .downcast_ref::<Float32Array>()
        .ok_or("column vector does not hold float32 values")?;
    if v.null_count() > 0 {
        return Err("column vector holds null values".into());
    }
    let dim = l.value_length() as usize;
    let start = l.offset() * dim;
    words.extend(w.iter().map(|s| s.unwrap_or_default().to_string()));
    ids.extend_from_slice(t);
    vectors.extend_from_slice(&v.values()[start..start + l.len() * dim]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixed_point_value_comes_back_from_its_float() {
        for s in 0..NUM_SPACES {
            for raw in i16::MIN..=i16::MAX {
                assert_eq!(
                    coord_raw(s, decode(s, raw)),
                    Some(raw),
                    "space {s} raw {raw}"
                );
            }
        }
        assert_eq!(coord_raw(4, 0.00005), None);
        assert_eq!(coord_raw(4, f32::NAN), None);
        assert_eq!(coord_raw(0, 400.0), None);
    }

    #[test]
    fn every_byte_comes_back_from_its_fraction() {
        for c in 0..=255u8 {
            assert_eq!(codes_of(&[c as f32 / 255.0], 255.0, "x"), Ok(vec![c]));
            assert_eq!(codes_of(&[c as f32 / 100.0], 100.0, "x"), Ok(vec![c]));
            assert_eq!(
                crate::connection::u8_to_unit(c),
                c as f32 / 255.0,
                "the unit columns are what the API shows"
            );
        }
        assert!(codes_of(&[0.3333], 255.0, "x").is_err());
        assert!(codes_of(&[2.56], 100.0, "x").is_err());
        assert_eq!(codes_of(&[-0.0], 255.0, "x"), Ok(vec![0]));
        for bad in [
            f32::NAN,
            f32::INFINITY,
            -1.0 / 255.0,
            256.0 / 255.0,
            1e30,
            -1e30,
        ] {
            assert!(codes_of(&[0.0, bad], 255.0, "x")
                .unwrap_err()
                .starts_with("row 1:"));
        }
    }

    #[test]
    fn the_column_conversion_of_coordinates_accepts_exactly_what_coord_raw_does() {
        for s in 0..NUM_SPACES {
            let mut vals: Vec<f32> = (i16::MIN..=i16::MAX).map(|raw| decode(s, raw)).collect();
            let max = decode(s, i16::MAX);
            vals.extend([f32::NAN, f32::INFINITY, -f32::INFINITY, 1e30, -1e30, -0.0]);
            vals.extend([max * 1.0001, -max * 1.0001, decode(s, 1) * 0.5, 0.123_456_7]);
            vals.extend([
                f32::from_bits(max.to_bits() + 1),
                decode(s, 7) + decode(s, 1) * 0.25,
            ]);
            for v in vals {
                let mut out = [0i16];
                let ok = coords_of(s, &[v], &mut out);
                assert_eq!(ok.then_some(out[0]), coord_raw(s, v), "space {s} value {v}");
            }
        }
    }

    #[test]
    fn whole_seconds_are_exact_and_anything_else_is_refused() {
        let top = u32::MAX as i64 * 1000;
        let cases: [(i64, Option<u32>); 12] = [
            (0, Some(0)),
            (1000, Some(1)),
            (1_764_000_000_000, Some(1_764_000_000)),
            (top, Some(u32::MAX)),
            (top + 1000, None),
            (1, None),
            (999, None),
            (1008, None),
            (8000 * 125 + 8, None),
            (-1000, None),
            (i64::MIN, None),
            (i64::MAX - 807, None),
        ];
        for (ms, want) in cases {
            let (out, ok) = seconds_of(&[ms]);
            assert_eq!(ok.then_some(out[0]), want, "{ms} ms");
        }
        let all: Vec<i64> = (0..200_000i64).map(|s| s * 1000).collect();
        let (out, ok) = seconds_of(&all);
        assert!(ok && out.iter().enumerate().all(|(i, s)| *s as usize == i));
    }
}
