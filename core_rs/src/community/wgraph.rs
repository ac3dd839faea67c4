//! The undirected weighted graph community detection works on: a CSR of neighbour indices
//! (u32) and weights (f64) without self-loops, plus each node's self-loop weight and
//! strength, built from an edge list (parallel edges summed) and aggregated by a partition.

use rayon::prelude::*;

/// Nodes per rayon task when sorting adjacency lists and summing.
const CHUNK: usize = 1 << 14;

/// Undirected weighted graph. Node i's neighbours are `nbrs[offsets[i]..offsets[i + 1]]`
/// (each other node once, weights summed); self-loops are kept apart in `loops`.
#[derive(Clone, Debug, Default)]
pub struct WGraph {
    pub offsets: Vec<usize>,
    pub nbrs: Vec<u32>,
    pub wts: Vec<f64>,
    /// Self-loop weight of each node (an edge's weight, counted once).
    pub loops: Vec<f64>,
    /// Strength k_i: the weights of the node's edges, self-loops counted twice.
    pub k: Vec<f64>,
    /// Total strength (2m).
    pub m2: f64,
}

impl WGraph {
    pub fn n(&self) -> usize {
        self.k.len()
    }

    #[inline]
    pub fn range(&self, v: u32) -> std::ops::Range<usize> {
        self.offsets[v as usize]..self.offsets[v as usize + 1]
    }

    /// Build from undirected edges (u, v, w) on nodes 0..n; endpoints must be < n and
    /// weights finite (checked by the caller). Edges of weight <= 0 are left out.
    pub fn from_edges(n: usize, edges: &[(u32, u32, f64)]) -> WGraph {
        let mut loops = vec![0.0f64; n];
        let mut offsets = vec![0usize; n + 1];
        for &(u, v, w) in edges {
            if w > 0.0 {
                if u == v {
                    loops[u as usize] += w;
                } else {
                    offsets[u as usize + 1] += 1;
                    offsets[v as usize + 1] += 1;
                }
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut cur = offsets[..n].to_vec();
        let mut pairs = vec![(0u32, 0.0f64); offsets[n]];
        for &(u, v, w) in edges {
            if w > 0.0 && u != v {
                pairs[cur[u as usize]] = (v, w);
                cur[u as usize] += 1;
                pairs[cur[v as usize]] = (u, w);
                cur[v as usize] += 1;
            }
        }
        drop(cur);
        // sort each list by neighbour and merge parallel edges, in parallel (each list on its
        // own, so the result does not depend on the thread count)
        let mut lists: Vec<&mut [(u32, f64)]> = Vec::with_capacity(n);
        let mut rest: &mut [(u32, f64)] = &mut pairs;
        for i in 0..n {
            let (head, tail) = rest.split_at_mut(offsets[i + 1] - offsets[i]);
            lists.push(head);
            rest = tail;
        }
        let lens: Vec<usize> = lists
            .par_iter_mut()
            .with_min_len(CHUNK)
            .map(|l| {
                l.sort_unstable_by_key(|p| p.0);
                let mut out = 0usize;
                for i in 0..l.len() {
                    if out > 0 && l[out - 1].0 == l[i].0 {
                        l[out - 1].1 += l[i].1;
                    } else {
                        l[out] = l[i];
                        out += 1;
                    }
                }
                out
            })
            .collect();
        drop(lists);
        let mut new_off = vec![0usize; n + 1];
        for i in 0..n {
            new_off[i + 1] = new_off[i] + lens[i];
        }
        let mut nbrs = Vec::with_capacity(new_off[n]);
        let mut wts = Vec::with_capacity(new_off[n]);
        for i in 0..n {
            for &(u, w) in &pairs[offsets[i]..offsets[i] + lens[i]] {
                nbrs.push(u);
                wts.push(w);
            }
        }
        drop(pairs);
        let mut g = WGraph {
            offsets: new_off,
            nbrs,
            wts,
            loops,
            k: Vec::new(),
            m2: 0.0,
        };
        g.finish();
        g
    }

    /// Compute strengths and their total from the lists and loops.
    fn finish(&mut self) {
        let n = self.loops.len();
        self.k = (0..n)
            .into_par_iter()
            .with_min_len(CHUNK)
            .map(|i| {
                let r = self.offsets[i]..self.offsets[i + 1];
                self.wts[r].iter().sum::<f64>() + 2.0 * self.loops[i]
            })
            .collect();
        self.m2 = chunked_sum(&self.k);
    }

    /// The graph whose nodes are the parts of `part` (labels 0..count-1): loops hold each
    /// part's internal weight, edges the summed weights between parts.
    pub fn aggregate(&self, part: &[u32], count: usize) -> WGraph {
        let n = self.n();
        // members of each part, in node order (counting sort)
        let mut start = vec![0usize; count + 1];
        for &c in part {
            start[c as usize + 1] += 1;
        }
        for c in 0..count {
            start[c + 1] += start[c];
        }
        let mut cur = start[..count].to_vec();
        let mut members = vec![0u32; n];
        for (v, &c) in part.iter().enumerate() {
            members[cur[c as usize]] = v as u32;
            cur[c as usize] += 1;
        }
        drop(cur);
        let mut acc = vec![0.0f64; count];
        let mut touched: Vec<u32> = Vec::new();
        let mut offsets = Vec::with_capacity(count + 1);
        offsets.push(0usize);
        let mut nbrs = Vec::new();
        let mut wts = Vec::new();
        let mut loops = vec![0.0f64; count];
        for c in 0..count {
            let mut inside = 0.0f64;
            let mut own = 0.0f64;
            for &v in &members[start[c]..start[c + 1]] {
                own += self.loops[v as usize];
                for e in self.range(v) {
                    let d = part[self.nbrs[e] as usize];
                    let w = self.wts[e];
                    if d as usize == c {
                        inside += w;
                    } else {
                        if acc[d as usize] == 0.0 {
                            touched.push(d);
                        }
                        acc[d as usize] += w;
                    }
                }
            }
            loops[c] = own + inside / 2.0;
            for &d in &touched {
                nbrs.push(d);
                wts.push(acc[d as usize]);
                acc[d as usize] = 0.0;
            }
            touched.clear();
            offsets.push(nbrs.len());
        }
        let mut g = WGraph {
            offsets,
            nbrs,
            wts,
            loops,
            k: Vec::new(),
            m2: 0.0,
        };
        g.finish();
        g
    }

    /// Modularity of `part` (labels 0..count-1) with resolution `gamma`:
    /// Q = sum_c (in_c / 2m - gamma (K_c / 2m)^2), where in_c counts the weight of the edges
    /// inside c twice and self-loops twice (the networkx/igraph definition). 0 when the graph
    /// has no edges.
    pub fn modularity(&self, part: &[u32], count: usize, gamma: f64) -> f64 {
        if self.m2 <= 0.0 {
            return 0.0;
        }
        let inside: Vec<f64> = (0..self.n())
            .into_par_iter()
            .with_min_len(CHUNK)
            .map(|i| {
                let c = part[i];
                let mut s = 2.0 * self.loops[i];
                for e in self.offsets[i]..self.offsets[i + 1] {
                    if part[self.nbrs[e] as usize] == c {
                        s += self.wts[e];
                    }
                }
                s
            })
            .collect();
        let mut kc = vec![0.0f64; count];
        for (i, &c) in part.iter().enumerate() {
            kc[c as usize] += self.k[i];
        }
        let sq: Vec<f64> = kc.iter().map(|k| k * k).collect();
        chunked_sum(&inside) / self.m2 - gamma * chunked_sum(&sq) / (self.m2 * self.m2)
    }
}

/// Sum in fixed chunks (so the rounding does not depend on the thread count).
pub fn chunked_sum(x: &[f64]) -> f64 {
    let parts: Vec<f64> = x.par_chunks(CHUNK).map(|c| c.iter().sum()).collect();
    parts.iter().sum()
}
