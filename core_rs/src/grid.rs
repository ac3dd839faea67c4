//! Spatial index of one coordinate space: a k-d tree over the tokens' decoded 3-D coordinates
//! with exact k-nearest and radius queries (ties broken by token id).

use crate::error::{NgError, Result};
use crate::progress::Progress;
use rayon::prelude::*;

/// Points per leaf.
const LEAF: usize = 12;
/// Pruning keeps cells whose bound is within rounding of the current k-th distance, so a
/// point at exactly that distance (a tie, decided by id) is never lost to float error.
const SLACK: f32 = 1.0 + 1e-6;
/// Below this many points a subtree is built on one thread.
const PAR_BUILD: usize = 1 << 15;

#[derive(Clone, Copy, Debug)]
struct Node {
    /// Leaf: range [start, end) of `points`; inner: children `left`, `left + 1`... stored explicitly.
    start: u32,
    end: u32,
    /// Split value on `dim`; unused for leaves.
    split: f32,
    dim: u8,
    leaf: bool,
    left: u32,
    right: u32,
}

/// A static k-d tree over one space. Rebuilt (not patched) when tokens change.
#[derive(Clone, Debug, Default)]
pub struct SpaceIndex {
    /// Points with their token ids, in tree order.
    pub entries: Vec<Item>,
    /// Field radius (x100) and strength (x255) bytes of each point, tree order.
    pub field: Vec<[u8; 2]>,
    nodes: Vec<Node>,
    /// Bounding box (min, max) of all points.
    pub bounds: Option<([f32; 3], [f32; 3])>,
    /// Largest field radius of any point (for influence queries).
    pub max_field_radius: f32,
}

/// One neighbour: squared distance in raw coordinates and token id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    pub d2: f32,
    pub id: u32,
}

#[inline]
fn less(a: &Hit, b: &Hit) -> bool {
    a.d2 < b.d2 || (a.d2 == b.d2 && a.id < b.id)
}

#[inline]
fn dist2(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    let dx = a[0] - b[0];
    let dy = a[1] - b[1];
    let dz = a[2] - b[2];
    dx * dx + dy * dy + dz * dz
}

/// A point with its index in the input while building, its token id once built: 16 bytes,
/// so a leaf scan reads one contiguous array.
#[derive(Clone, Copy, Debug)]
pub struct Item {
    pub p: [f32; 3],
    pub i: u32,
}

/// Build the subtree over `items` in place (median split on the widest axis); node indices
/// are relative to the returned Vec (root at 0).
fn build_nodes(items: &mut [Item], offset: usize) -> Vec<Node> {
    let n = items.len();
    if n <= LEAF {
        return vec![Node {
            start: offset as u32,
            end: (offset + n) as u32,
            split: 0.0,
            dim: 0,
            leaf: true,
            left: 0,
            right: 0,
        }];
    }
    let mut lo = [f32::INFINITY; 3];
    let mut hi = [f32::NEG_INFINITY; 3];
    // a sample is enough to pick the axis
    let step = (n / 1024).max(1);
    for it in items.iter().step_by(step) {
        for d in 0..3 {
            lo[d] = lo[d].min(it.p[d]);
            hi[d] = hi[d].max(it.p[d]);
        }
    }
    let dim = (0..3)
        .max_by(|a, b| (hi[*a] - lo[*a]).total_cmp(&(hi[*b] - lo[*b])))
        .unwrap_or(0);
    let mid = n / 2;
    items.select_nth_unstable_by(mid, |a, b| a.p[dim].total_cmp(&b.p[dim]));
    let split = items[mid].p[dim];
    let (l, r) = items.split_at_mut(mid);
    let (left, right) = if n >= PAR_BUILD {
        rayon::join(|| build_nodes(l, offset), || build_nodes(r, offset + mid))
    } else {
        (build_nodes(l, offset), build_nodes(r, offset + mid))
    };
    let mut nodes = Vec::with_capacity(1 + left.len() + right.len());
    let lbase = 1u32;
    let rbase = 1 + left.len() as u32;
    nodes.push(Node {
        start: offset as u32,
        end: (offset + n) as u32,
        split,
        dim: dim as u8,
        leaf: false,
        left: lbase,
        right: rbase,
    });
    for (base, part) in [(lbase, left), (rbase, right)] {
        nodes.extend(part.into_iter().map(|mut nd| {
            if !nd.leaf {
                nd.left += base;
                nd.right += base;
            }
            nd
        }));
    }
    nodes
}

/// Up to this k the k best hits are kept in a sorted vector (insertion is cheapest);
/// above it in a binary heap, so a large k costs O(log k) per candidate instead of O(k).
const SORTED_K: usize = 64;
/// From k >= len / BRUTE_FRACTION on, the tree prunes too little to pay for its heap: every
/// distance is computed, the k best selected (O(n)) and only those sorted.
const BRUTE_FRACTION: usize = 32;
/// Query points per cancel check in batched kNN: at most 64, fewer for a large k (about
/// 2^16 hits per check).
const KNN_CHUNK: usize = 64;
const KNN_CHUNK_HITS: usize = 1 << 16;

/// The k best hits seen so far.
trait Best {
    /// Squared distance a candidate must beat (inf until k hits are held).
    fn worst(&self) -> f32;
    fn push(&mut self, h: Hit);
    /// The hits, ascending by (distance, id).
    fn into_sorted(self) -> Vec<Hit>;
}

/// Bounded, sorted list of the k best hits (for small k).
struct SortedBest {
    k: usize,
    hits: Vec<Hit>,
}

impl SortedBest {
    fn new(k: usize) -> Self {
        SortedBest {
            k,
            hits: Vec::with_capacity(k + 1),
        }
    }
}

impl Best for SortedBest {
    #[inline]
    fn worst(&self) -> f32 {
        if self.hits.len() < self.k {
            f32::INFINITY
        } else {
            self.hits[self.k - 1].d2
        }
    }
    #[inline]
    fn push(&mut self, h: Hit) {
        if self.hits.len() == self.k {
            let last = &self.hits[self.k - 1];
            if !less(&h, last) {
                return;
            }
            self.hits.pop();
        }
        let pos = self.hits.partition_point(|x| less(x, &h));
        self.hits.insert(pos, h);
    }
    fn into_sorted(self) -> Vec<Hit> {
        self.hits
    }
}

/// A hit ordered by (distance, id): the same strict order as `less` (ids are unique).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Ranked(Hit);

impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        rank(&self.0, &other.0)
    }
}

#[inline]
fn rank(a: &Hit, b: &Hit) -> std::cmp::Ordering {
    a.d2.total_cmp(&b.d2).then(a.id.cmp(&b.id))
}

/// Max-heap of the k best hits (the worst on top), for large k.
struct HeapBest {
    k: usize,
    heap: std::collections::BinaryHeap<Ranked>,
}

impl HeapBest {
    fn new(k: usize) -> Self {
        HeapBest {
            k,
            heap: std::collections::BinaryHeap::with_capacity(k),
        }
    }
}

impl Best for HeapBest {
    #[inline]
    fn worst(&self) -> f32 {
        match self.heap.peek() {
            Some(top) if self.heap.len() == self.k => top.0.d2,
            _ => f32::INFINITY,
        }
    }
    #[inline]
    fn push(&mut self, h: Hit) {
        if self.heap.len() < self.k {
            self.heap.push(Ranked(h));
        } else if let Some(mut top) = self.heap.peek_mut() {
            if less(&h, &top.0) {
                *top = Ranked(h);
            }
        }
    }
    fn into_sorted(self) -> Vec<Hit> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.0)
            .collect()
    }
}

impl SpaceIndex {
    /// Build from (id, xyz, field radius, field strength) of every token placed in the space.
    pub fn build(ids: Vec<u32>, points: Vec<[f32; 3]>, field: Vec<[u8; 2]>) -> SpaceIndex {
        let n = points.len();
        if n == 0 {
            return SpaceIndex::default();
        }
        let mut items: Vec<Item> = points
            .iter()
            .enumerate()
            .map(|(i, p)| Item { p: *p, i: i as u32 })
            .collect();
        let nodes = build_nodes(&mut items, 0);
        let field_t: Vec<[u8; 2]> = items.iter().map(|it| field[it.i as usize]).collect();
        for it in items.iter_mut() {
            it.i = ids[it.i as usize];
        }
        let mut lo = [f32::INFINITY; 3];
        let mut hi = [f32::NEG_INFINITY; 3];
        for it in &items {
            for d in 0..3 {
                lo[d] = lo[d].min(it.p[d]);
                hi[d] = hi[d].max(it.p[d]);
            }
        }
        let max_field_radius = field_t.iter().map(|f| f[0]).max().unwrap_or(0) as f32 / 100.0;
        SpaceIndex {
            entries: items,
            field: field_t,
            nodes,
            bounds: Some((lo, hi)),
            max_field_radius,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn memory_bytes(&self) -> u64 {
        (self.entries.capacity() * 16
            + self.field.capacity() * 2
            + self.nodes.capacity() * std::mem::size_of::<Node>()) as u64
    }

    /// Exact k nearest to `q` (squared raw distances), ascending by (distance, id);
    /// `exclude` skips one token (the query token itself).
    pub fn knn(&self, q: &[f32; 3], k: usize, exclude: Option<u32>) -> Vec<Hit> {
        self.knn_progress(q, k, exclude, None).unwrap_or_default()
    }

    /// [`knn`](Self::knn) that stops with `Err(Interrupted)` when `progress` is cancelled
    /// (checked between the phases of a large-k query).
    pub fn knn_progress(
        &self,
        q: &[f32; 3],
        k: usize,
        exclude: Option<u32>,
        progress: Option<&Progress>,
    ) -> Result<Vec<Hit>> {
        let k = k.min(self.len());
        if k == 0 || self.nodes.is_empty() {
            return Ok(Vec::new());
        }
        if k.saturating_mul(BRUTE_FRACTION) >= self.len() {
            return self.knn_all(q, k, exclude, progress);
        }
        Ok(if k <= SORTED_K {
            self.knn_tree(q, SortedBest::new(k), exclude)
        } else {
            self.knn_tree(q, HeapBest::new(k), exclude)
        })
    }

    /// k nearest by the tree: cells farther than the current k-th best are pruned.
    fn knn_tree<B: Best>(&self, q: &[f32; 3], mut best: B, exclude: Option<u32>) -> Vec<Hit> {
        // Each entry carries a lower bound on the squared distance from q to the node's cell,
        // kept exact per axis (incremental distance): rd = sum of off[d]^2.
        // A fixed stack on the call frame: each level pushes at most one deferred far child,
        // so depth + 1 entries suffice (the tree is balanced: depth <= 32 for any u32 count).
        let mut stack = [(0u32, 0f32, [0f32; 3]); 64];
        let mut top = 1usize;
        while top > 0 {
            top -= 1;
            let (ni, rd, off) = stack[top];
            if rd > best.worst() * SLACK {
                continue;
            }
            let node = &self.nodes[ni as usize];
            if node.leaf {
                for i in node.start as usize..node.end as usize {
                    let e = &self.entries[i];
                    if Some(e.i) == exclude {
                        continue;
                    }
                    best.push(Hit {
                        d2: dist2(&e.p, q),
                        id: e.i,
                    });
                }
                continue;
            }
            let d = node.dim as usize;
            let diff = q[d] - node.split;
            let (near, far) = if diff < 0.0 {
                (node.left, node.right)
            } else {
                (node.right, node.left)
            };
            let far_rd = rd - off[d] * off[d] + diff * diff;
            if far_rd <= best.worst() * SLACK {
                let mut far_off = off;
                far_off[d] = diff;
                stack[top] = (far, far_rd, far_off);
                top += 1;
            }
            stack[top] = (near, rd, off);
            top += 1;
        }
        best.into_sorted()
    }

    /// k nearest when k is a large part of the index: every distance, an O(n) selection of
    /// the k best, then a sort of those (the same order as the tree search).
    fn knn_all(
        &self,
        q: &[f32; 3],
        k: usize,
        exclude: Option<u32>,
        progress: Option<&Progress>,
    ) -> Result<Vec<Hit>> {
        let mut all: Vec<Hit> = self
            .entries
            .par_iter()
            .with_min_len(1 << 14)
            .filter(|e| Some(e.i) != exclude)
            .map(|e| Hit {
                d2: dist2(&e.p, q),
                id: e.i,
            })
            .collect();
        crate::progress::check(progress)?;
        let k = k.min(all.len());
        if k < all.len() && k > 0 {
            all.select_nth_unstable_by(k - 1, rank);
        }
        all.truncate(k);
        crate::progress::check(progress)?;
        // ids are unique, so (distance, id) is a strict order and any sort gives one result
        if all.len() > 1 << 15 {
            all.par_sort_unstable_by(rank);
        } else {
            all.sort_unstable_by(rank);
        }
        Ok(all)
    }

    /// Every point within `r` (raw units) of `q`, ascending by (distance, id).
    pub fn within(&self, q: &[f32; 3], r: f32, exclude: Option<u32>) -> Vec<Hit> {
        let mut out = Vec::new();
        if self.nodes.is_empty() {
            return out;
        }
        let r2 = r * r;
        let mut stack: Vec<u32> = vec![0];
        while let Some(ni) = stack.pop() {
            let node = &self.nodes[ni as usize];
            if node.leaf {
                for i in node.start as usize..node.end as usize {
                    let e = &self.entries[i];
                    let d2 = dist2(&e.p, q);
                    if d2 <= r2 && Some(e.i) != exclude {
                        out.push(Hit { d2, id: e.i });
                    }
                }
                continue;
            }
            let diff = q[node.dim as usize] - node.split;
            let (near, far) = if diff < 0.0 {
                (node.left, node.right)
            } else {
                (node.right, node.left)
            };
            stack.push(near);
            if diff * diff <= r2 {
                stack.push(far);
            }
        }
        out.sort_unstable_by(|a, b| a.d2.total_cmp(&b.d2).then(a.id.cmp(&b.id)));
        out
    }

    /// Slot (tree order) of each point within `r`; unsorted (for aggregate queries).
    fn within_slots(&self, q: &[f32; 3], r: f32, mut f: impl FnMut(usize, f32)) {
        if self.nodes.is_empty() {
            return;
        }
        let r2 = r * r;
        let mut stack: Vec<u32> = vec![0];
        while let Some(ni) = stack.pop() {
            let node = &self.nodes[ni as usize];
            if node.leaf {
                for i in node.start as usize..node.end as usize {
                    let d2 = dist2(&self.entries[i].p, q);
                    if d2 <= r2 {
                        f(i, d2);
                    }
                }
                continue;
            }
            let diff = q[node.dim as usize] - node.split;
            let (near, far) = if diff < 0.0 {
                (node.left, node.right)
            } else {
                (node.right, node.left)
            };
            stack.push(near);
            if diff * diff <= r2 {
                stack.push(far);
            }
        }
    }

    /// Sum of field_strength x (1 - d / field_radius) over tokens whose field reaches `q`
    /// (d in raw units of the space).
    pub fn field_influence(&self, q: &[f32; 3]) -> f64 {
        let mut total = 0.0f64;
        self.within_slots(q, self.max_field_radius, |i, d2| {
            let [r, s] = self.field[i];
            let (radius, strength) = (r as f32 / 100.0, s as f32 / 255.0);
            let d = d2.sqrt();
            if radius > 0.0 && d < radius {
                total += (strength * (1.0 - d / radius)) as f64;
            }
        });
        total
    }

    /// Number of points within `r` of `q`.
    pub fn count_within(&self, q: &[f32; 3], r: f32) -> usize {
        let mut n = 0usize;
        self.within_slots(q, r, |_, _| n += 1);
        n
    }

    /// Batched kNN over many query points in parallel: (ids, squared distances), k per row
    /// (callers cap k at `len()` and check that Q x k fits in memory); rows with fewer than k
    /// hits are padded with id 0 and +inf. Counts query points done on `progress` and stops
    /// with `Err(Interrupted)` when it is cancelled. A failed allocation is an error, not an
    /// abort.
    pub fn knn_many(
        &self,
        queries: &[[f32; 3]],
        k: usize,
        progress: Option<&Progress>,
    ) -> Result<(Vec<u32>, Vec<f32>)> {
        let len = queries.len().saturating_mul(k);
        let mut ids: Vec<u32> = crate::limits::zeroed(len, "the neighbour ids")?;
        let mut d: Vec<f32> = crate::limits::zeroed(len, "the neighbour distances")?;
        d.par_iter_mut().for_each(|v| *v = f32::INFINITY);
        if k == 0 {
            return Ok((ids, d));
        }
        if let Some(p) = progress {
            p.start(queries.len() as u64);
        }
        let chunk = (KNN_CHUNK_HITS / k).clamp(1, KNN_CHUNK);
        ids.par_chunks_mut(k * chunk)
            .zip(d.par_chunks_mut(k * chunk))
            .zip(queries.par_chunks(chunk))
            .try_for_each(|((ic, dc), qc)| {
                crate::progress::check(progress)?;
                for ((ir, dr), q) in ic.chunks_mut(k).zip(dc.chunks_mut(k)).zip(qc) {
                    for (j, h) in self
                        .knn_progress(q, k, None, progress)?
                        .into_iter()
                        .enumerate()
                    {
                        ir[j] = h.id;
                        dr[j] = h.d2;
                    }
                }
                if let Some(p) = progress {
                    p.add(qc.len() as u64);
                }
                Ok::<(), NgError>(())
            })?;
        crate::progress::check(progress)?;
        Ok((ids, d))
    }

    /// Batched radius queries in parallel: CSR form (offsets of len Q+1, ids, squared
    /// distances); `None` as soon as the hits found pass `max_hits` (the rest is skipped).
    pub fn within_many(
        &self,
        queries: &[[f32; 3]],
        r: f32,
        max_hits: usize,
    ) -> Option<(Vec<u64>, Vec<u32>, Vec<f32>)> {
        let found = std::sync::atomic::AtomicUsize::new(0);
        let per: Vec<Vec<Hit>> = queries
            .par_iter()
            .map(|q| {
                use std::sync::atomic::Ordering::Relaxed;
                if found.load(Relaxed) > max_hits {
                    return Vec::new();
                }
                let hits = self.within(q, r, None);
                found.fetch_add(hits.len(), Relaxed);
                hits
            })
            .collect();
        if found.into_inner() > max_hits {
            return None;
        }
        let mut offsets = Vec::with_capacity(queries.len() + 1);
        offsets.push(0u64);
        let total: usize = per.iter().map(|v| v.len()).sum();
        let mut ids = Vec::with_capacity(total);
        let mut d = Vec::with_capacity(total);
        for v in per {
            for h in v {
                ids.push(h.id);
                d.push(h.d2);
            }
            offsets.push(ids.len() as u64);
        }
        Some((offsets, ids, d))
    }
}

/// Check a query point: finite numbers.
pub fn check_point(p: &[f32; 3]) -> Result<()> {
    if p.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(NgError::invalid(
            "point",
            format!("{p:?}"),
            "query points must be finite numbers",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute(
        points: &[[f32; 3]],
        ids: &[u32],
        q: &[f32; 3],
        k: usize,
        exclude: Option<u32>,
    ) -> Vec<Hit> {
        let mut all: Vec<Hit> = points
            .iter()
            .zip(ids)
            .filter(|(_, id)| Some(**id) != exclude)
            .map(|(p, id)| Hit {
                d2: dist2(p, q),
                id: *id,
            })
            .collect();
        all.sort_by(|a, b| a.d2.total_cmp(&b.d2).then(a.id.cmp(&b.id)));
        all.truncate(k);
        all
    }

    fn index(points: &[[f32; 3]]) -> (SpaceIndex, Vec<u32>) {
        let ids: Vec<u32> = (1..=points.len() as u32).collect();
        let field = vec![[50u8, 255u8]; points.len()];
        (SpaceIndex::build(ids.clone(), points.to_vec(), field), ids)
    }

    fn pts() -> impl Strategy<Value = Vec<[f32; 3]>> {
        // small integer grid: many duplicates, ties and points on split planes
        prop::collection::vec(
            prop::array::uniform3((-4i32..4).prop_map(|v| v as f32 * 0.25)),
            0..300,
        )
    }

    proptest! {
        #[test]
        fn knn_matches_brute_force(points in pts(), q in prop::array::uniform3(-1.5f32..1.5), k in 0usize..40, ex in 0u32..5) {
            let (idx, ids) = index(&points);
            let exclude = if ex == 0 { None } else { Some(ex) };
            prop_assert_eq!(idx.knn(&q, k, exclude), brute(&points, &ids, &q, k, exclude));
        }

        #[test]
        fn within_matches_brute_force(points in pts(), q in prop::array::uniform3(-1.5f32..1.5), r in 0.0f32..1.5) {
            let (idx, ids) = index(&points);
            let want: Vec<Hit> = brute(&points, &ids, &q, usize::MAX, None).into_iter().filter(|h| h.d2 <= r * r).collect();
            prop_assert_eq!(idx.within(&q, r, None), want.clone());
            prop_assert_eq!(idx.count_within(&q, r), want.len());
        }
    }

    /// S3-5: every kNN path (sorted list, heap, select + sort) gives the brute-force answer,
    /// ties included, for k up to and past the number of points.
    #[test]
    fn large_k_matches_brute_force() {
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % 16) as f32 * 0.25 - 2.0
        };
        let points: Vec<[f32; 3]> = (0..5000).map(|_| [next(), next(), next()]).collect();
        let (idx, ids) = index(&points);
        for q in [[0.0, 0.0, 0.0], [1.1, -0.3, 0.7], [-2.0, -2.0, -2.0]] {
            for k in [1, 64, 65, 100, 156, 157, 300, 2000, 4999, 5000, 6000] {
                for exclude in [None, Some(17)] {
                    let want = brute(&points, &ids, &q, k, exclude);
                    assert_eq!(idx.knn(&q, k, exclude), want, "k={k} q={q:?}");
                }
            }
        }
        let qs = [[0.0, 0.0, 0.0], [1.1, -0.3, 0.7]];
        let (got, _) = idx.knn_many(&qs, 700, None).unwrap();
        for (row, q) in got.chunks(700).zip(&qs) {
            let want: Vec<u32> = brute(&points, &ids, q, 700, None)
                .iter()
                .map(|h| h.id)
                .collect();
            assert_eq!(row, &want[..]);
        }
    }

    #[test]
    fn cancelled_knn_stops() {
        let pts: Vec<[f32; 3]> = (0..1000).map(|i| [i as f32, 0.0, 0.0]).collect();
        let (idx, _) = index(&pts);
        let p = Progress::new();
        p.cancel();
        assert!(matches!(
            idx.knn_many(&[[0.0; 3]; 3], 5, Some(&p)),
            Err(NgError::Interrupted)
        ));
        assert!(matches!(
            idx.knn_progress(&[0.0; 3], 900, None, Some(&p)),
            Err(NgError::Interrupted)
        ));
    }

    #[test]
    fn empty_and_radius_zero() {
        let (idx, _) = index(&[]);
        assert!(idx.knn(&[0.0; 3], 5, None).is_empty());
        let (idx, _) = index(&[[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [1.0, 0.0, 0.0]]);
        let hits = idx.within(&[0.5, 0.5, 0.5], 0.0, None);
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(idx.knn(&[0.5, 0.5, 0.5], 10, Some(1)).len(), 2);
    }

    #[test]
    fn field_influence_sums_reaching_fields() {
        let ids = vec![1, 2];
        let pts = vec![[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]];
        let idx = SpaceIndex::build(ids, pts, vec![[100, 204], [50, 255]]);
        let v = idx.field_influence(&[0.5, 0.0, 0.0]);
        assert!((v - 0.4).abs() < 1e-6, "{v}");
        assert_eq!(idx.field_influence(&[1.2, 0.0, 0.0]), 0.0);
    }
}
