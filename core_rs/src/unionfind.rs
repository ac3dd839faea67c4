//! Union-find (disjoint sets) over dense indices, and the connected components of an edge
//! list over arbitrary u64 vertex ids: the graph's `components` and the distributed
//! per-partition kernel both use it.

/// Disjoint sets of 0..n with path halving; a union links the larger root under the smaller,
/// so every set's root is its smallest member and the result does not depend on edge order.
#[derive(Clone, Debug)]
pub struct DisjointSet {
    parent: Vec<u32>,
}

impl DisjointSet {
    /// n singletons.
    pub fn new(n: usize) -> Self {
        DisjointSet {
            parent: (0..n as u32).collect(),
        }
    }

    /// The root (smallest member) of x's set.
    pub fn find(&mut self, mut x: u32) -> u32 {
        let p = &mut self.parent;
        while p[x as usize] != x {
            let g = p[p[x as usize] as usize];
            p[x as usize] = g; // path halving
            x = g;
        }
        x
    }

    /// Join the sets of a and b.
    pub fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi as usize] = lo;
        }
    }
}

/// Weakly connected components of the edges (src[i], dst[i]) over u64 vertex ids: every
/// vertex an edge touches, ascending, with its component's root, the smallest vertex id of
/// the component. Feeding the (vertex, root) pairs of several edge partitions back in as
/// edges merges them into the components of all the edges together.
pub fn edge_components(src: &[u64], dst: &[u64]) -> crate::Result<(Vec<u64>, Vec<u64>)> {
    if src.len() != dst.len() {
        return Err(crate::NgError::invalid(
            "dst",
            format!("{} values", dst.len()),
            format!("expected as many as src ({})", src.len()),
        ));
    }
    let mut vertices: Vec<u64> = src.iter().chain(dst).copied().collect();
    vertices.sort_unstable();
    vertices.dedup();
    if vertices.len() > u32::MAX as usize {
        return Err(crate::NgError::invalid(
            "edges",
            vertices.len(),
            "at most 2^32 - 1 distinct vertices per call",
        ));
    }
    let index = |v: u64| vertices.partition_point(|&x| x < v) as u32;
    let mut sets = DisjointSet::new(vertices.len());
    for (&a, &b) in src.iter().zip(dst) {
        sets.union(index(a), index(b));
    }
    let roots = (0..vertices.len() as u32)
        .map(|i| vertices[sets.find(i) as usize])
        .collect();
    Ok((vertices, roots))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_of_edges_and_their_merge() {
        let (v, r) = edge_components(&[9, 3, 7], &[3, 5, 8]).unwrap();
        assert_eq!(v, vec![3, 5, 7, 8, 9]);
        assert_eq!(r, vec![3, 3, 7, 7, 3]);
        // a second partition joins 5 and 8: merging both forests gives one component
        let (v2, r2) = edge_components(&[5], &[8]).unwrap();
        let src: Vec<u64> = v.iter().chain(&v2).copied().collect();
        let dst: Vec<u64> = r.iter().chain(&r2).copied().collect();
        let (v3, r3) = edge_components(&src, &dst).unwrap();
        assert_eq!(v3, vec![3, 5, 7, 8, 9]);
        assert_eq!(r3, vec![3; 5]);
        assert!(edge_components(&[1], &[]).is_err());
        assert_eq!(edge_components(&[], &[]).unwrap(), (vec![], vec![]));
    }
}
