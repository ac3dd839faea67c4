//! The eight semantic coordinate spaces: names, fixed-point scales and encoding.

use crate::error::{NgError, Result};

/// Number of coordinate spaces (L1..L8).
pub const NUM_SPACES: usize = 8;
/// Axes per space (X, Y, Z).
pub const NUM_AXES: usize = 3;

/// Canonical space names, index 0 = L1.
pub const SPACE_NAMES: [&str; NUM_SPACES] = [
    "physical",
    "sensory",
    "motor",
    "emotional",
    "cognitive",
    "social",
    "temporal",
    "abstract",
];

/// The cognitive space (L5): where a query without a space looks.
pub const COGNITIVE: usize = 4;

/// Fixed-point scale per space: float value = i16 / scale.
pub const SPACE_SCALES: [f32; NUM_SPACES] = [
    100.0, 10000.0, 1000.0, 10000.0, 10000.0, 10000.0, 100.0, 10000.0,
];

/// Axis names used in tables (`cognitive_x` ...).
pub const AXIS_NAMES: [&str; NUM_AXES] = ["x", "y", "z"];

/// Largest representable float in a space (i16::MAX / scale).
#[inline]
pub fn space_max(space: usize) -> f32 {
    i16::MAX as f32 / SPACE_SCALES[space]
}

/// Resolve a space from a name (`"cognitive"`), a level (`"L5"`) or a 1-based number text.
pub fn parse_space(name: &str) -> Result<usize> {
    let n = name.trim().to_ascii_lowercase();
    if let Some(i) = SPACE_NAMES.iter().position(|s| *s == n) {
        return Ok(i);
    }
    let digits = n.strip_prefix('l').unwrap_or(&n);
    if let Ok(k) = digits.parse::<usize>() {
        if (1..=NUM_SPACES).contains(&k) {
            return Ok(k - 1);
        }
    }
    Err(NgError::UnknownSpace(name.to_string()))
}

/// Resolve a 1-based space number (1..=8).
pub fn space_from_number(k: i64) -> Result<usize> {
    if (1..=NUM_SPACES as i64).contains(&k) {
        Ok((k - 1) as usize)
    } else {
        Err(NgError::UnknownSpace(k.to_string()))
    }
}

/// Round to the nearest integer, ties to even, without a libm call (valid for |x| < 2^22;
/// callers check the range first).
#[inline(always)]
pub fn round_even(x: f32) -> f32 {
    (x + MAGIC) - MAGIC
}

/// 1.5 * 2^23: adding it to a float of magnitude under 2^22 rounds it to an integer, which
/// then sits in the low bits of the sum.
const MAGIC: f32 = 12_582_912.0;

/// An integral `x` with |x| < 2^22 as an integer, from the bits of `x + 1.5 * 2^23`: the same
/// as `x as i32` there, without the per-lane range checks of a saturating cast, so that loops
/// over columns compile to vector instructions.
#[inline(always)]
pub fn small_int(x: f32) -> i32 {
    ((x + MAGIC).to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32)
}

/// Largest fixed-point magnitude; -32768 is never produced so ranges stay symmetric.
pub const RAW_MAX: f32 = i16::MAX as f32;
/// Scaled values under this magnitude round into range (float32 noise on the range's edge,
/// e.g. 327.67 * 100 = 32767.0002, is accepted).
pub const RAW_LIMIT: f32 = RAW_MAX + 0.5;

/// Encode one float coordinate into the space's fixed-point i16.
///
/// NaN/inf are always errors; values outside the range are errors unless `clamp`.
#[inline]
pub fn encode(space: usize, axis: usize, value: f32, clamp: bool) -> Result<i16> {
    if !value.is_finite() {
        return Err(NgError::NonFiniteCoordinate {
            space: SPACE_NAMES[space],
            axis: AXIS_NAMES[axis],
            value,
        });
    }
    let scaled = value * SPACE_SCALES[space];
    if scaled.abs() >= RAW_LIMIT {
        if clamp {
            return Ok(if scaled > 0.0 { i16::MAX } else { -i16::MAX });
        }
        let max = i16::MAX as f64 / SPACE_SCALES[space] as f64;
        return Err(NgError::CoordinateOutOfRange {
            space: SPACE_NAMES[space],
            axis: AXIS_NAMES[axis],
            value,
            min: -max,
            max,
        });
    }
    Ok(round_even(scaled.clamp(-RAW_MAX, RAW_MAX)) as i16)
}

/// The per-space scale repeated for each axis, in `(8, 3)` row order.
const SCALE24: [f32; NUM_SPACES * NUM_AXES] = {
    let mut out = [0.0f32; NUM_SPACES * NUM_AXES];
    let mut i = 0;
    while i < NUM_SPACES * NUM_AXES {
        out[i] = SPACE_SCALES[i / NUM_AXES];
        i += 1;
    }
    out
};

/// Encode all 24 coordinates of a row when every value is finite and in range (the common
/// case), in straight-line code the compiler vectorises; `false` sends the caller to the
/// per-value path for the exact error.
#[inline]
#[allow(clippy::neg_cmp_op_on_partial_ord)] // `!(x < limit)` is meant to be true for NaN
pub fn encode_row_fast(row: &[f32], out: &mut [[i16; NUM_AXES]; NUM_SPACES]) -> bool {
    let Ok(row) = <&[f32; 24]>::try_from(row) else {
        return false;
    };
    let out: &mut [i16; 24] = bytemuck::cast_mut(out);
    let mut bad = 0u32;
    for i in 0..24 {
        let r = row[i] * SCALE24[i];
        bad |= !(r.abs() < RAW_LIMIT) as u32; // true for NaN and inf too
        out[i] = round_even(r.clamp(-RAW_MAX, RAW_MAX)) as i16;
    }
    bad == 0
}

/// Decode to f64 (exact decimal steps, for values shown to people).
#[inline]
pub fn decode_f64(space: usize, raw: i16) -> f64 {
    raw as f64 / SPACE_SCALES[space] as f64
}

/// Decode a fixed-point i16 back to float.
#[inline]
pub fn decode(space: usize, raw: i16) -> f32 {
    raw as f32 / SPACE_SCALES[space]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cognitive_is_l5() {
        assert_eq!(SPACE_NAMES[COGNITIVE], "cognitive");
        assert_eq!(parse_space("L5").unwrap(), COGNITIVE);
    }

    #[test]
    fn names_and_levels_resolve() {
        assert_eq!(parse_space("cognitive").unwrap(), 4);
        assert_eq!(parse_space("L5").unwrap(), 4);
        assert_eq!(parse_space("l1").unwrap(), 0);
        assert_eq!(parse_space("8").unwrap(), 7);
        assert!(parse_space("L9").is_err());
        assert!(parse_space("cognitve").is_err());
    }

    #[test]
    fn out_of_range_is_an_error_unless_clamped() {
        assert!(encode(1, 0, 3.3, false).is_err());
        assert_eq!(encode(1, 0, 3.3, true).unwrap(), i16::MAX);
        assert_eq!(encode(1, 0, -3.3, true).unwrap(), -i16::MAX);
        assert!(encode(4, 2, f32::NAN, true).is_err());
        assert!(encode(4, 2, f32::INFINITY, false).is_err());
    }

    proptest! {
        #[test]
        fn roundtrip_within_half_a_step(space in 0usize..8, frac in -1.0f32..1.0) {
            let v = frac * space_max(space);
            let raw = encode(space, 0, v, false).unwrap();
            let back = decode(space, raw);
            prop_assert!((back - v).abs() <= 0.5 / SPACE_SCALES[space] + 4.0 * f32::EPSILON * v.abs().max(1.0));
        }

        #[test]
        fn small_int_is_the_cast_of_an_integral_float(i in -(1i32 << 22) + 1..1 << 22, x in -4.0e6f32..4.0e6) {
            prop_assert_eq!(small_int(i as f32), i);
            prop_assert_eq!(small_int(round_even(x)), round_even(x) as i32);
        }
    }
}
