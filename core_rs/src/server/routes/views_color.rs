//! The grid view's colour modes: entity type, or a numeric token column quantised to 0..255
//! (`colors` chunks). A grid version carries its colour mode in its low bits, so every chunk
//! request names the display order it belongs to.

use crate::quantize::MISSING;
use crate::space::SPACE_NAMES;
use crate::storage::TokenColumns;

/// Bits of a grid version that name its colour mode (the rest is the data version).
pub const COLOR_BITS: u32 = 5;

/// The colour modes: entity type (grouped legend), or a numeric column (colours chunks).
pub fn color_options() -> Vec<String> {
    let mut v: Vec<String> = [
        "entity",
        "weight",
        "field_radius",
        "field_strength",
        "timestamp",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for sp in SPACE_NAMES {
        for a in ["x", "y", "z"] {
            v.push(format!("{sp}_{a}"));
        }
    }
    v
}

/// A grid's version: the data version and the colour mode (the display order depends on both).
pub fn grid_version(data: u64, color: usize) -> u64 {
    ((data & ((1 << 48) - 1)) << COLOR_BITS) | color as u64
}

/// The colour mode a grid version names.
pub fn color_of(version: u64) -> usize {
    (version & ((1 << COLOR_BITS) - 1)) as usize
}

/// Numeric colour values 0..255 of the rows `perm` of column `name`, and its (min, max).
pub fn numeric_values(
    c: &TokenColumns,
    name: &str,
    perm: &[u32],
) -> crate::Result<(Vec<u8>, f64, f64)> {
    let n = c.id.len();
    let raw: Vec<f64> = match name {
        "weight" => c.weight.iter().map(|v| *v as f64).collect(),
        "field_radius" => c.field_radius.iter().map(|v| *v as f64).collect(),
        "field_strength" => c.field_strength.iter().map(|v| *v as f64).collect(),
        "timestamp" => c.timestamp.iter().map(|v| *v as f64).collect(),
        other => {
            let (sp, axis) = other.rsplit_once('_').unwrap_or(("", ""));
            let s = SPACE_NAMES.iter().position(|x| *x == sp).unwrap_or(0);
            let a = "xyz".find(axis).unwrap_or(0);
            (0..n)
                .map(|i| c.coords[i * 24 + s * 3 + a] as f64)
                .collect()
        }
    };
    let fin = raw.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = fin.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (0.0, 0.0) };
    // shifted by lo first, so float32 keeps a timestamp's seconds (as widgets/grid.py)
    let shifted: Vec<f32> = raw.iter().map(|v| (v - lo) as f32).collect();
    let (codes, _) = crate::quantize::quantize_u8(&shifted, 1, perm)?;
    Ok((
        codes
            .into_iter()
            .map(|q| if q == MISSING { 0 } else { q })
            .collect(),
        lo,
        hi,
    ))
}
