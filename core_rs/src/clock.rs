//! The wall clock, for time stamps (a leaf: records, the Guardian, the store and snapshots
//! read the time here).

use std::time::{SystemTime, UNIX_EPOCH};

/// Whole seconds since the Unix epoch (0 if the clock is before it).
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Fractional seconds since the Unix epoch (0 if the clock is before it).
pub fn now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_clocks_tell_the_same_time() {
        let (s, f) = (now_secs(), now_f64());
        // after 2020-01-01 and within a second of each other
        assert!(s > 1_577_836_800);
        assert!((f - s as f64).abs() < 2.0);
    }
}
