//! Pieces of event frames: JSON strings, id runs of a batch, the CDNA checksum.

use std::fmt::Write as _;

/// The CDNA's FNV-1a checksum (the one in its 384-byte record).
pub fn cdna_checksum(c: &crate::cdna::Cdna) -> u64 {
    let b = c.to_bytes();
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&b[40..48]);
    u64::from_le_bytes(sum)
}

/// `s` as a JSON string literal.
pub(super) fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `{"count":n,"ranges":[[a,b],..](,"truncated":true)(,"connections":c)}` for a batch.
pub(super) fn batch(out: &mut String, ids: &[u32], max_ranges: usize, connections: Option<usize>) {
    let _ = write!(out, "{{\"count\":{},\"ranges\":[", ids.len());
    let (runs, truncated) = id_runs(ids, max_ranges);
    for (i, (a, b)) in runs.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(out, "{sep}[{a},{b}]");
    }
    out.push(']');
    if truncated {
        out.push_str(",\"truncated\":true");
    }
    if let Some(c) = connections {
        let _ = write!(out, ",\"connections\":{c}");
    }
    out.push('}');
}

/// Runs of consecutive ids, in the order given, at most `max`; `true` if more were left out.
pub fn id_runs(ids: &[u32], max: usize) -> (Vec<(u32, u32)>, bool) {
    let mut runs = Vec::new();
    let Some(&first) = ids.first() else {
        return (runs, false);
    };
    let (mut a, mut b) = (first, first);
    for &id in &ids[1..] {
        if b != u32::MAX && id == b + 1 {
            b = id;
            continue;
        }
        runs.push((a, b));
        if runs.len() == max {
            return (runs, true);
        }
        (a, b) = (id, id);
    }
    runs.push((a, b));
    (runs, false)
}
