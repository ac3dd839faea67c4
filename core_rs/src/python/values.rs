//! Values built for Python: records as dicts, columns as numpy arrays (and Arrow buffers),
//! the CDNA as nested dicts, events and proposals as columns.

use crate::cdna::{Cdna, BLOCKS, PROFILES, STATES};
use crate::connection::{flags as kflags, group_name, kind_name, Connection};
use crate::guardian::Event;
use crate::intuition::Proposal;
use crate::space::{NUM_SPACES, SPACE_NAMES};
use crate::storage::{TokenColumns, TokenView};
use crate::token::{entity_name, flags as tflags};
use numpy::{IntoPyArray, PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

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

/// Token columns as numpy arrays; labels as a list of str (`label`), or with
/// `label_buffers` as Arrow buffers (`label_offsets` int64, `label_data` uint8, `label_valid`
/// bool): no Python string per token.
pub fn token_columns_dict(
    py: Python<'_>,
    c: TokenColumns,
    label_buffers: bool,
) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    let n = c.id.len();
    if !label_buffers {
        let labels: Vec<Option<&str>> = (0..n).map(|i| c.label(i)).collect();
        d.set_item("label", PyList::new(py, labels)?)?;
    }
    col(py, &d, "id", c.id)?;
    col(py, &d, "entity", c.entity)?;
    col(py, &d, "weight", c.weight)?;
    col(py, &d, "field_radius", c.field_radius)?;
    col(py, &d, "field_strength", c.field_strength)?;
    col(py, &d, "timestamp", c.timestamp)?;
    col(py, &d, "flags", c.flags)?;
    col(py, &d, "defined", c.defined)?;
    let coords = PyArray1::from_vec(py, c.coords).reshape([n, NUM_SPACES, 3])?;
    d.set_item("coords", coords)?;
    if label_buffers {
        col(py, &d, "label_offsets", c.label_offsets)?;
        col(py, &d, "label_data", c.label_data)?;
        col(py, &d, "label_valid", c.label_valid)?;
    }
    Ok(d)
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
        let v = c.field(name)?;
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

/// Guardian events as columns: time, kind, target, accepted, reason.
pub fn events_dict<'py>(py: Python<'py>, ev: &[Event]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    col(py, &d, "time", ev.iter().map(|e| e.time).collect())?;
    d.set_item(
        "kind",
        ev.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
    )?;
    d.set_item(
        "target",
        ev.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
    )?;
    col(py, &d, "accepted", ev.iter().map(|e| e.accepted).collect())?;
    d.set_item(
        "reason",
        ev.iter().map(|e| e.reason.as_str()).collect::<Vec<_>>(),
    )?;
    Ok(d)
}

/// IntuitionEngine proposals as columns; with outcomes (accepted, reason) once applied.
pub fn proposal_columns(
    py: Python<'_>,
    rows: Vec<(Proposal, Option<(bool, String)>)>,
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
