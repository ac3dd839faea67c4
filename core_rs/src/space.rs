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

/// Encode one float coordinate into the space's fixed-point i16.
///
/// NaN/inf are always errors; values outside the range are errors unless `clamp`.
#[inline]
pub fn encode(space: usize, axis: usize, value: f32, clamp: bool) -> Result<i16> {
    let scale = SPACE_SCALES[space];
    if !value.is_finite() {
        return Err(NgError::NonFiniteCoordinate {
            space: SPACE_NAMES[space],
            axis: AXIS_NAMES[axis],
            value: value as f64,
        });
    }
    let scaled = (value * scale).round();
    if scaled > i16::MAX as f32 || scaled < -(i16::MAX as f32) {
        if clamp {
            return Ok(if scaled > 0.0 { i16::MAX } else { -i16::MAX });
        }
        let max = space_max(space) as f64;
        return Err(NgError::CoordinateOutOfRange {
            space: SPACE_NAMES[space],
            axis: AXIS_NAMES[axis],
            value: value as f64,
            min: -max,
            max,
        });
    }
    Ok(scaled as i16)
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
    }
}
