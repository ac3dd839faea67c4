//! Edge lists given as node indices, as the index-based graph algorithms take them (community
//! detection, force layout): one check of their endpoints and weights.

use crate::error::{NgError, Result};

/// Checks that every edge of `edges` joins two of the `n` nodes and has a finite weight.
///
/// `what` names the graph in the message ("the graph", "the layout"). The first bad edge is
/// reported by its position: `edges[i]` or `edges[i].weight`.
pub fn check_edges<W: Copy + Into<f64>>(
    n: usize,
    edges: &[(u32, u32, W)],
    what: &str,
) -> Result<()> {
    for (i, &(u, v, w)) in edges.iter().enumerate() {
        if u as usize >= n || v as usize >= n {
            return Err(NgError::invalid(
                format!("edges[{i}]"),
                format!("({u}, {v})"),
                format!("node index out of range: {what} has {n} nodes (0..{n})"),
            ));
        }
        let w: f64 = w.into();
        if !w.is_finite() {
            return Err(NgError::invalid(
                format!("edges[{i}].weight"),
                w,
                "edge weights must be finite",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_first_bad_edge() {
        assert!(check_edges(3, &[(0u32, 2u32, 1.0f32)], "the graph").is_ok());
        let e = check_edges(3, &[(0, 1, 1.0f64), (1, 3, 1.0)], "the layout")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("edges[1]") && e.contains("the layout has 3 nodes"),
            "{e}"
        );
        let e = check_edges(3, &[(0, 1, f32::NAN)], "the graph")
            .unwrap_err()
            .to_string();
        assert!(e.contains("edges[0].weight") && e.contains("finite"), "{e}");
    }
}
