//! Graph engine: tokens as nodes, connections as directed edges (both ways when BIDIRECTIONAL),
//! in a compressed adjacency (CSR) with traversals, shortest paths, components and degrees.

use crate::connection::Connection;
use crate::error::{NgError, Result};
use crate::idmap::IdMap;
use rayon::prelude::*;

/// "No node" marker in the dense token-id -> node table.
const NONE: u32 = u32::MAX;
/// CSR build: nodes per radix bucket (2^BUCKET_SHIFT) and connections per parallel chunk.
const BUCKET_SHIFT: usize = 12;
const BUCKET_NODES: usize = 1 << BUCKET_SHIFT;
const CONN_CHUNK: usize = 1 << 18;
/// How far ahead in the BFS queue adjacency lists are touched.
const PREFETCH_NODES: usize = 16;

/// One CSR entry: the node at the other end and the index of its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Edge {
    node: u32,
    conn: u32,
}

/// One direction of the adjacency: node i's edges are `edges[offsets[i]..offsets[i + 1]]`,
/// sorted by the other end's token id (then connection index) so traversals are deterministic.
#[derive(Clone, Debug, Default)]
struct Csr {
    offsets: Vec<usize>,
    edges: Vec<Edge>,
}

impl Csr {
    #[inline]
    fn of(&self, node: u32) -> &[Edge] {
        let i = node as usize;
        &self.edges[self.offsets[i]..self.offsets[i + 1]]
    }

    fn degrees(&self) -> Vec<u32> {
        self.offsets
            .windows(2)
            .map(|w| (w[1] - w[0]) as u32)
            .collect()
    }
}

/// Fixed-size bitset used as a visited/settled/member set on hot paths.
struct BitSet(Vec<u64>);

impl BitSet {
    fn new(n: usize) -> Self {
        BitSet(vec![0; n.div_ceil(64)])
    }
    #[inline]
    fn get(&self, i: u32) -> bool {
        self.0[(i >> 6) as usize] & (1u64 << (i & 63)) != 0
    }
    /// Set bit `i`; true when it was clear before.
    #[inline]
    fn insert(&mut self, i: u32) -> bool {
        let w = &mut self.0[(i >> 6) as usize];
        let m = 1u64 << (i & 63);
        let fresh = *w & m == 0;
        *w |= m;
        fresh
    }
}

/// Result of a BFS/DFS: token ids in visit order, their depth and the parent token id
/// (the start is its own parent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Traversal {
    pub ids: Vec<u32>,
    pub depth: Vec<u32>,
    pub parent: Vec<u32>,
}

/// Which edges a neighbourhood follows: `Out` is token_a -> token_b (and back for
/// BIDIRECTIONAL connections), `In` the reverse, `Both` either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Out,
    In,
    Both,
}

impl Direction {
    /// `"out"`, `"in"` or `"both"` (any case).
    pub fn parse(name: &str) -> Result<Direction> {
        match name.trim().to_ascii_lowercase().as_str() {
            "out" => Ok(Direction::Out),
            "in" => Ok(Direction::In),
            "both" => Ok(Direction::Both),
            _ => Err(NgError::invalid(
                "direction",
                name,
                "expected 'out', 'in' or 'both'",
            )),
        }
    }
}

/// Compressed adjacency (CSR) of tokens (nodes) and connections (edges).
#[derive(Clone, Debug)]
pub struct Graph {
    token_ids: Vec<u32>,
    /// Token id -> node index (sized by the nodes, not by the largest id).
    node_of: IdMap<u32>,
    out: Csr,
    inn: Csr,
    conn_count: usize,
}

/// Monotone radix heap keyed by the bit pattern of non-negative f64 distances (which orders
/// like the numbers). Dijkstra only ever pushes keys >= the last popped one, so pushes are O(1)
/// and each entry is moved down at most 64 times. Entries are (key bits, node).
struct RadixHeap {
    last: u64,
    buckets: Vec<Vec<(u64, u32)>>,
}

impl RadixHeap {
    fn new() -> Self {
        RadixHeap {
            last: 0,
            buckets: (0..65).map(|_| Vec::new()).collect(),
        }
    }
    #[inline]
    fn bucket(last: u64, key: u64) -> usize {
        (64 - (key ^ last).leading_zeros()) as usize
    }
    #[inline]
    fn push(&mut self, dist: f64, node: u32) {
        let key = dist.to_bits();
        debug_assert!(key >= self.last);
        self.buckets[Self::bucket(self.last, key)].push((key, node));
    }
    fn pop(&mut self) -> Option<(f64, u32)> {
        if self.buckets[0].is_empty() {
            let i = self.buckets.iter().position(|b| !b.is_empty())?;
            let moved = std::mem::take(&mut self.buckets[i]);
            self.last = moved.iter().map(|e| e.0).min()?;
            for &e in &moved {
                self.buckets[Self::bucket(self.last, e.0)].push(e);
            }
            // Give the allocation back to the emptied bucket for reuse.
            let mut moved = moved;
            moved.clear();
            self.buckets[i] = moved;
        }
        self.buckets[0].pop().map(|(k, v)| (f64::from_bits(k), v))
    }
}

impl Default for Graph {
    fn default() -> Self {
        Graph::build(&[], &[])
    }
}

impl Graph {
    /// Build from the token ids in store order (node i = token_ids[i]) and the connection records.
    /// Edges go token_a -> token_b, plus the reverse for BIDIRECTIONAL connections (a
    /// bidirectional self-loop yields one edge). Connections touching a token not in
    /// `token_ids` are left out; a repeated token id maps to its first node.
    pub fn build(token_ids: &[u32], conns: &[Connection]) -> Graph {
        let n = token_ids.len();
        // Later duplicates come first so that the first node of a repeated id wins.
        let pairs = token_ids
            .iter()
            .enumerate()
            .rev()
            .map(|(i, &t)| (t, i as u32));
        let node_of = IdMap::from_pairs(NONE, pairs);
        let lookup = |t: u32| node_of.get(t).unwrap_or(NONE);

        // Resolve endpoints once (in parallel); NONE marks a connection left out.
        let ends: Vec<(u32, u32, bool)> = conns
            .par_iter()
            .map(|c| {
                let (a, b) = (lookup(c.token_a), lookup(c.token_b));
                if a == NONE || b == NONE {
                    (NONE, NONE, false)
                } else {
                    (a, b, c.is_bidirectional() && a != b)
                }
            })
            .collect();
        let ascending = token_ids.windows(2).all(|w| w[0] < w[1]);
        let out = build_csr(n, &ends, false, token_ids, ascending);
        let inn = build_csr(n, &ends, true, token_ids, ascending);
        Graph {
            token_ids: token_ids.to_vec(),
            node_of,
            out,
            inn,
            conn_count: conns.len(),
        }
    }

    pub fn node_count(&self) -> usize {
        self.token_ids.len()
    }

    /// CSR edges (a bidirectional connection counts twice).
    pub fn edge_count(&self) -> usize {
        self.out.edges.len()
    }

    /// Number of connection records the graph was built from.
    pub fn conn_count(&self) -> usize {
        self.conn_count
    }

    /// Token ids in node order.
    pub fn token_ids(&self) -> &[u32] {
        &self.token_ids
    }

    /// Node index of a token id (O(1)).
    #[inline]
    pub fn node_of(&self, token_id: u32) -> Option<u32> {
        self.node_of.get(token_id)
    }

    /// Token id of a node. Panics if `node >= node_count()`.
    #[inline]
    pub fn token_of(&self, node: u32) -> u32 {
        self.token_ids[node as usize]
    }

    /// Out-edges of a node: (target node, connection index into the `conns` given to build),
    /// by ascending target token id. Panics if `node >= node_count()`.
    pub fn out_edges(&self, node: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.out.of(node).iter().map(|e| (e.node, e.conn))
    }

    /// In-edges of a node: (source node, connection index), by ascending source token id.
    /// Panics if `node >= node_count()`.
    pub fn in_edges(&self, node: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.inn.of(node).iter().map(|e| (e.node, e.conn))
    }

    fn require(&self, token_id: u32) -> Result<u32> {
        self.node_of(token_id)
            .ok_or(NgError::TokenNotFound(token_id))
    }

    fn make_traversal(&self, nodes: Vec<u32>, depth: Vec<u32>, parent: Vec<u32>) -> Traversal {
        let ids = nodes.iter().map(|&v| self.token_of(v)).collect();
        let parent = parent.iter().map(|&v| self.token_of(v)).collect();
        Traversal { ids, depth, parent }
    }

    /// Breadth-first from a token along out-edges, up to `max_depth` hops (None = unlimited);
    /// neighbours in ascending token-id order.
    pub fn bfs(&self, start: u32, max_depth: Option<u32>) -> Result<Traversal> {
        let s = self.require(start)?;
        let limit = max_depth.unwrap_or(u32::MAX);
        let mut seen = BitSet::new(self.node_count());
        seen.insert(s);
        let (mut order, mut depth, mut parent) = (vec![s], vec![0u32], vec![s]);
        let mut head = 0;
        while head < order.len() {
            let (u, d) = (order[head], depth[head]);
            // Touch the adjacency of nodes further down the queue so their cache misses
            // overlap with this node's work (a plain load used as a prefetch).
            if let Some(&v) = order.get(head + PREFETCH_NODES) {
                std::hint::black_box(self.out.offsets[v as usize]);
            }
            if let Some(&v) = order.get(head + PREFETCH_NODES / 2) {
                std::hint::black_box(self.out.edges.get(self.out.offsets[v as usize]));
            }
            head += 1;
            if d >= limit {
                continue;
            }
            for e in self.out.of(u) {
                if seen.insert(e.node) {
                    order.push(e.node);
                    depth.push(d + 1);
                    parent.push(u);
                }
            }
        }
        Ok(self.make_traversal(order, depth, parent))
    }

    /// Depth-first preorder (iterative) along out-edges, same conventions as `bfs`. Depth is
    /// the depth in the DFS tree, so with a limit a node first met on a long path is not
    /// revisited from a shorter one (as in networkx `dfs_preorder_nodes(depth_limit=...)`).
    pub fn dfs(&self, start: u32, max_depth: Option<u32>) -> Result<Traversal> {
        let s = self.require(start)?;
        let limit = max_depth.unwrap_or(u32::MAX);
        let mut seen = BitSet::new(self.node_count());
        seen.insert(s);
        let (mut order, mut depth, mut parent) = (vec![s], vec![0u32], vec![s]);
        // (node, next edge position, depth)
        let mut stack: Vec<(u32, usize, u32)> = Vec::new();
        if limit > 0 {
            stack.push((s, self.out.offsets[s as usize], 0));
        }
        while let Some(top) = stack.last_mut() {
            let (u, d) = (top.0, top.2);
            let end = self.out.offsets[u as usize + 1];
            let mut next = None;
            while top.1 < end {
                let v = self.out.edges[top.1].node;
                top.1 += 1;
                if seen.insert(v) {
                    next = Some(v);
                    break;
                }
            }
            match next {
                Some(v) => {
                    order.push(v);
                    depth.push(d + 1);
                    parent.push(u);
                    if d + 1 < limit {
                        stack.push((v, self.out.offsets[v as usize], d + 1));
                    }
                }
                None => {
                    stack.pop();
                }
            }
        }
        Ok(self.make_traversal(order, depth, parent))
    }

    /// Check `edge_weight` has one finite, non-negative weight per connection.
    fn check_weights(&self, edge_weight: &[f32]) -> Result<()> {
        if edge_weight.len() != self.conn_count {
            return Err(NgError::invalid(
                "edge_weight",
                format!("{} weights", edge_weight.len()),
                format!("expected one weight per connection ({})", self.conn_count),
            ));
        }
        match edge_weight
            .par_iter()
            .position_first(|w| !(w.is_finite() && *w >= 0.0))
        {
            Some(i) => Err(NgError::invalid(
                format!("edge_weight[{i}]"),
                edge_weight[i],
                format!("the weight of connection {i} must be finite and >= 0"),
            )),
            None => Ok(()),
        }
    }

    /// Dijkstra core: settles nodes in order of distance until `target` (if any) is settled.
    /// Returns (settled nodes in order, their distances, predecessor table).
    fn dijkstra(
        &self,
        s: u32,
        target: Option<u32>,
        w: &[f32],
        want_pred: bool,
    ) -> (Vec<u32>, Vec<f64>, Vec<u32>) {
        let n = self.node_count();
        let mut dist = vec![f64::INFINITY; n];
        let mut pred = if want_pred { vec![NONE; n] } else { Vec::new() };
        let (mut order, mut dists) = (Vec::new(), Vec::new());
        let mut heap = RadixHeap::new();
        dist[s as usize] = 0.0;
        heap.push(0.0, s);
        while let Some((d, u)) = heap.pop() {
            if d > dist[u as usize] {
                continue; // stale entry (lazy deletion): u was reached more cheaply since
            }
            order.push(u);
            dists.push(d);
            if Some(u) == target {
                break;
            }
            for e in self.out.of(u) {
                // A settled node never improves: its distance is <= d <= nd.
                let nd = d + w[e.conn as usize] as f64;
                let slot = &mut dist[e.node as usize];
                if nd < *slot {
                    *slot = nd;
                    if want_pred {
                        pred[e.node as usize] = u;
                    }
                    heap.push(nd, e.node);
                }
            }
        }
        (order, dists, pred)
    }

    /// Dijkstra from one token over out-edges; `edge_weight[conn_index]` is each connection's
    /// weight. Returns (token ids reached, distances) by increasing distance, start first at 0.
    pub fn shortest_path_lengths(
        &self,
        start: u32,
        edge_weight: &[f32],
    ) -> Result<(Vec<u32>, Vec<f64>)> {
        let s = self.require(start)?;
        self.check_weights(edge_weight)?;
        let (order, dists, _) = self.dijkstra(s, None, edge_weight, false);
        Ok((order.iter().map(|&v| self.token_of(v)).collect(), dists))
    }

    /// Shortest path a -> b: (token ids along the path incl. a and b, total cost), or
    /// None when b is unreachable.
    pub fn shortest_path(
        &self,
        a: u32,
        b: u32,
        edge_weight: &[f32],
    ) -> Result<Option<(Vec<u32>, f64)>> {
        let (s, t) = (self.require(a)?, self.require(b)?);
        self.check_weights(edge_weight)?;
        let (order, dists, pred) = self.dijkstra(s, Some(t), edge_weight, true);
        if order.last() != Some(&t) {
            return Ok(None);
        }
        let cost = dists.last().copied().unwrap_or(0.0);
        let mut path = vec![b];
        let mut v = t;
        while v != s {
            v = pred[v as usize];
            path.push(self.token_of(v));
        }
        path.reverse();
        Ok(Some((path, cost)))
    }

    /// Tokens within `max_depth` hops of `seeds` (None = unlimited) along edges whose
    /// connection index passes `keep`, following `dir`. The seeds come first (deduplicated, in
    /// the given order, hop 0), then each hop's new tokens in ascending token-id order, so the
    /// answer does not depend on adjacency order. `limit` stops once that many tokens are in.
    /// Returns (token ids, hop per token).
    pub fn neighbourhood(
        &self,
        seeds: &[u32],
        max_depth: Option<u32>,
        dir: Direction,
        keep: impl Fn(u32) -> bool,
        limit: Option<usize>,
    ) -> Result<(Vec<u32>, Vec<u32>)> {
        let limit = limit.unwrap_or(usize::MAX);
        let mut seen = BitSet::new(self.node_count());
        let (mut ids, mut hops) = (Vec::new(), Vec::new());
        let mut frontier = Vec::new();
        for &t in seeds {
            let v = self.require(t)?;
            if seen.insert(v) && ids.len() < limit {
                ids.push(t);
                hops.push(0);
                frontier.push(v);
            }
        }
        let mut hop = 0u32;
        while !frontier.is_empty() && ids.len() < limit && max_depth.is_none_or(|d| hop < d) {
            hop += 1;
            let mut next: Vec<u32> = Vec::new();
            for &u in &frontier {
                let sides: [&[Edge]; 2] = match dir {
                    Direction::Out => [self.out.of(u), &[]],
                    Direction::In => [self.inn.of(u), &[]],
                    Direction::Both => [self.out.of(u), self.inn.of(u)],
                };
                for e in sides.into_iter().flatten() {
                    if keep(e.conn) && seen.insert(e.node) {
                        next.push(e.node);
                    }
                }
            }
            next.sort_unstable_by_key(|&v| self.token_of(v));
            next.truncate(limit - ids.len());
            ids.extend(next.iter().map(|&v| self.token_of(v)));
            hops.resize(ids.len(), hop);
            frontier = next;
        }
        Ok((ids, hops))
    }

    /// Weakly connected components: a label per node (node order), labels 0..k numbered by
    /// first appearance in node order, and k.
    pub fn components(&self) -> (Vec<u32>, usize) {
        let n = self.node_count();
        let mut sets = crate::unionfind::DisjointSet::new(n);
        for u in 0..n as u32 {
            for e in self.out.of(u) {
                sets.union(u, e.node);
            }
        }
        let mut label = vec![NONE; n];
        let mut k = 0u32;
        for v in 0..n as u32 {
            let r = sets.find(v) as usize;
            if label[r] == NONE {
                label[r] = k;
                k += 1;
            }
            label[v as usize] = label[r];
        }
        (label, k as usize)
    }

    /// Out- and in-degree per node (node order).
    pub fn degrees(&self) -> (Vec<u32>, Vec<u32>) {
        (self.out.degrees(), self.inn.degrees())
    }

    /// Indices (into `conns`, ascending) of connections whose both ends are in `token_ids`.
    pub fn subgraph_edges(&self, token_ids: &[u32]) -> Result<Vec<u32>> {
        let mut member = BitSet::new(self.node_count());
        let mut nodes = Vec::with_capacity(token_ids.len());
        for &t in token_ids {
            let v = self.require(t)?;
            if member.insert(v) {
                nodes.push(v);
            }
        }
        let mut found: Vec<u32> = nodes
            .iter()
            .flat_map(|&v| self.out.of(v).iter())
            .filter(|e| member.get(e.node))
            .map(|e| e.conn)
            .collect();
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }
}

/// Call `f(key node, other node)` for each directed edge of one resolved connection.
#[inline(always)]
fn each_edge(&(a, b, bi): &(u32, u32, bool), reverse: bool, mut f: impl FnMut(u32, u32)) {
    if a != NONE {
        let (k, o) = if reverse { (b, a) } else { (a, b) };
        f(k, o);
        if bi {
            f(o, k);
        }
    }
}

/// Build one direction of the CSR from resolved connection ends (`reverse`: key on the
/// target, giving in-edges). Parallel two-pass radix: (1) chunks of connections scatter their
/// edges into buckets of `BUCKET_NODES` consecutive nodes; (2) each bucket, small enough to
/// stay in cache, is counting-sorted by node and each node's list sorted by (other end's
/// token id, connection index). The result does not depend on the thread count.
fn build_csr(
    n: usize,
    ends: &[(u32, u32, bool)],
    reverse: bool,
    token_ids: &[u32],
    ascending: bool,
) -> Csr {
    let nb = n.div_ceil(BUCKET_NODES).max(1);
    // Pass 1: per chunk and bucket counts, then bucket-major positions.
    let chunks: Vec<&[(u32, u32, bool)]> = ends.chunks(CONN_CHUNK).collect();
    let counts: Vec<Vec<usize>> = chunks
        .par_iter()
        .map(|ch| {
            let mut c = vec![0usize; nb];
            for e in ch.iter() {
                each_edge(e, reverse, |k, _| c[k as usize >> BUCKET_SHIFT] += 1);
            }
            c
        })
        .collect();
    let mut bucket_start = vec![0usize; nb + 1];
    for b in 0..nb {
        bucket_start[b + 1] = bucket_start[b] + counts.iter().map(|c| c[b]).sum::<usize>();
    }
    let m = bucket_start[nb];
    let blank = (0u32, Edge { node: 0, conn: 0 });
    let mut tmp = vec![blank; m];
    {
        // Cut `tmp` into one slice per (bucket, chunk), then hand each chunk its slices.
        let mut per_chunk: Vec<Vec<&mut [(u32, Edge)]>> =
            (0..chunks.len()).map(|_| Vec::with_capacity(nb)).collect();
        let mut rest: &mut [(u32, Edge)] = &mut tmp;
        for b in 0..nb {
            for (ci, c) in counts.iter().enumerate() {
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(c[b]);
                per_chunk[ci].push(head);
                rest = tail;
            }
        }
        per_chunk
            .into_par_iter()
            .zip(chunks.par_iter())
            .enumerate()
            .for_each(|(ci, (mut slots, ch))| {
                let mut fill = vec![0usize; nb];
                let base = ci * CONN_CHUNK;
                for (j, e) in ch.iter().enumerate() {
                    let conn = (base + j) as u32;
                    each_edge(e, reverse, |k, o| {
                        let b = k as usize >> BUCKET_SHIFT;
                        slots[b][fill[b]] = (k, Edge { node: o, conn });
                        fill[b] += 1;
                    });
                }
            });
    }
    // Pass 2: counting sort inside each bucket (node ranges and edge ranges are disjoint).
    let mut offsets = vec![0usize; n + 1];
    offsets[n] = m;
    let mut edges = vec![blank.1; m];
    let mut edge_parts: Vec<&mut [Edge]> = Vec::with_capacity(nb);
    let mut rest: &mut [Edge] = &mut edges;
    for b in 0..nb {
        let (head, tail) =
            std::mem::take(&mut rest).split_at_mut(bucket_start[b + 1] - bucket_start[b]);
        edge_parts.push(head);
        rest = tail;
    }
    offsets[..n]
        .par_chunks_mut(BUCKET_NODES)
        .zip(edge_parts.into_par_iter())
        .enumerate()
        .for_each(|(b, (offs, out))| {
            let first = b << BUCKET_SHIFT;
            let src = &tmp[bucket_start[b]..bucket_start[b + 1]];
            let mut cur = vec![0usize; offs.len() + 1];
            for &(k, _) in src {
                cur[k as usize - first + 1] += 1;
            }
            for i in 0..offs.len() {
                cur[i + 1] += cur[i];
                offs[i] = bucket_start[b] + cur[i];
            }
            let bounds = cur.clone();
            for &(k, e) in src {
                let c = &mut cur[k as usize - first];
                out[*c] = e;
                *c += 1;
            }
            for w in bounds.windows(2) {
                let seg = &mut out[w[0]..w[1]];
                if seg.len() < 2 {
                    continue;
                }
                if ascending {
                    // Already in connection order; only the target order may be off.
                    if !seg.windows(2).all(|p| p[0].node <= p[1].node) {
                        seg.sort_by_key(|e| e.node);
                    }
                } else {
                    seg.sort_by_key(|e| token_ids[e.node as usize]);
                }
            }
        });
    Csr { offsets, edges }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::flags::BIDIRECTIONAL;
    use proptest::prelude::*;

    fn conn(a: u32, b: u32, bidir: bool) -> Connection {
        let mut c: Connection = bytemuck::Zeroable::zeroed();
        c.token_a = a;
        c.token_b = b;
        c.kind = 0x50;
        c.pull_strength = 0.5;
        if bidir {
            c.flags |= BIDIRECTIONAL;
        }
        c
    }

    /// A small random graph: distinct token ids in shuffled store order, connections between
    /// them (some to an unknown token 999), and a weight per connection.
    #[derive(Debug, Clone)]
    struct Case {
        ids: Vec<u32>,
        conns: Vec<Connection>,
        weights: Vec<f32>,
    }

    fn case() -> impl Strategy<Value = Case> {
        (1usize..30)
            .prop_flat_map(|n| {
                let ids = Just((1..=n as u32).map(|i| i * 7 % 101 + 1).collect::<Vec<_>>())
                    .prop_shuffle();
                let edges = prop::collection::vec(
                    (0..n + 1, 0..n, any::<bool>(), 0u8..=10),
                    0..(3 * n + 2),
                );
                (ids, edges)
            })
            .prop_map(|(ids, edges)| {
                let n = ids.len();
                let tok = |i: usize| if i == n { 999 } else { ids[i] };
                let conns = edges
                    .iter()
                    .map(|&(a, b, bi, _)| conn(tok(a), tok(b), bi))
                    .collect();
                let weights = edges.iter().map(|e| e.3 as f32 * 0.5).collect();
                Case {
                    ids,
                    conns,
                    weights,
                }
            })
    }

    /// Directed adjacency over node indices, per the brief's rules (reference, no CSR).
    fn reference_edges(c: &Case) -> Vec<(usize, usize, usize)> {
        let pos = |t: u32| c.ids.iter().position(|&x| x == t);
        let mut out = Vec::new();
        for (ci, k) in c.conns.iter().enumerate() {
            if let (Some(a), Some(b)) = (pos(k.token_a), pos(k.token_b)) {
                out.push((a, b, ci));
                if k.is_bidirectional() && a != b {
                    out.push((b, a, ci));
                }
            }
        }
        out
    }

    /// Hop distances by repeated relaxation.
    fn hops(n: usize, edges: &[(usize, usize, usize)], s: usize) -> Vec<Option<u32>> {
        let mut d = vec![None; n];
        d[s] = Some(0);
        for _ in 0..n {
            for &(a, b, _) in edges {
                if let Some(da) = d[a] {
                    if d[b].is_none_or(|db: u32| da + 1 < db) {
                        d[b] = Some(da + 1);
                    }
                }
            }
        }
        d
    }

    fn bellman_ford(n: usize, edges: &[(usize, usize, usize)], w: &[f32], s: usize) -> Vec<f64> {
        let mut d = vec![f64::INFINITY; n];
        d[s] = 0.0;
        for _ in 0..n {
            for &(a, b, ci) in edges {
                let nd = d[a] + w[ci] as f64;
                if nd < d[b] {
                    d[b] = nd;
                }
            }
        }
        d
    }

    /// Reference recursive DFS with neighbours in ascending token-id order.
    fn ref_dfs(
        c: &Case,
        edges: &[(usize, usize, usize)],
        u: usize,
        d: u32,
        lim: u32,
        seen: &mut Vec<bool>,
        out: &mut Vec<(u32, u32)>,
    ) {
        let mut nb: Vec<usize> = edges.iter().filter(|e| e.0 == u).map(|e| e.1).collect();
        nb.sort_by_key(|&v| c.ids[v]);
        for v in nb {
            if d < lim && !seen[v] {
                seen[v] = true;
                out.push((c.ids[v], d + 1));
                ref_dfs(c, edges, v, d + 1, lim, seen, out);
            }
        }
    }

    #[test]
    fn neighbourhood_refuses_unknown_seeds_and_directions() {
        let g = Graph::build(&[1, 2], &[conn(1, 2, false)]);
        assert!(matches!(
            g.neighbourhood(&[1, 9], Some(1), Direction::Out, |_| true, None),
            Err(NgError::TokenNotFound(9))
        ));
        assert_eq!(Direction::parse(" Both ").unwrap(), Direction::Both);
        assert!(Direction::parse("sideways").is_err());
        let (ids, hops) = g
            .neighbourhood(&[2], None, Direction::In, |_| true, None)
            .unwrap();
        assert_eq!((ids, hops), (vec![2, 1], vec![0, 1]));
    }

    proptest! {
        #[test]
        fn bfs_matches_hop_distance(c in case(), s in 0usize..30, lim in prop::option::of(0u32..5)) {
            let g = Graph::build(&c.ids, &c.conns);
            let s = s % c.ids.len();
            let edges = reference_edges(&c);
            let d = hops(c.ids.len(), &edges, s);
            let t = g.bfs(c.ids[s], lim).unwrap();
            let expect: usize = d.iter().filter(|x| x.is_some_and(|x| x <= lim.unwrap_or(u32::MAX))).count();
            prop_assert_eq!(t.ids.len(), expect);
            prop_assert_eq!(t.ids[0], c.ids[s]);
            prop_assert_eq!(t.parent[0], c.ids[s]);
            for i in 0..t.ids.len() {
                let v = c.ids.iter().position(|&x| x == t.ids[i]).unwrap();
                prop_assert_eq!(Some(t.depth[i]), d[v]);
                if i > 0 {
                    prop_assert!(t.depth[i - 1] <= t.depth[i]);
                    let p = c.ids.iter().position(|&x| x == t.parent[i]).unwrap();
                    prop_assert!(edges.iter().any(|e| e.0 == p && e.1 == v));
                    prop_assert_eq!(d[p].map(|x| x + 1), d[v]);
                }
            }
        }

        #[test]
        fn neighbourhood_matches_hop_relaxation(
            c in case(),
            seeds in prop::collection::vec(0usize..30, 1..4),
            lim in prop::option::of(0u32..4),
            dir in 0u8..3,
            skip in 0usize..4,
            cap in prop::option::of(0usize..12),
        ) {
            let g = Graph::build(&c.ids, &c.conns);
            let n = c.ids.len();
            let seeds: Vec<usize> = seeds.into_iter().map(|s| s % n).collect();
            let seed_ids: Vec<u32> = seeds.iter().map(|&s| c.ids[s]).collect();
            let dir = [Direction::Out, Direction::In, Direction::Both][dir as usize];
            // Connections whose index is a multiple of `skip` (when skip > 1) are left out.
            let keep = |ci: usize| skip < 2 || !ci.is_multiple_of(skip);
            let mut edges = Vec::new();
            for &(a, b, ci) in &reference_edges(&c) {
                if keep(ci) {
                    if dir != Direction::In { edges.push((a, b, ci)); }
                    if dir != Direction::Out { edges.push((b, a, ci)); }
                }
            }
            let mut d = vec![None; n];
            for _ in 0..=n {
                for &s in &seeds { d[s] = Some(0u32); }
                for &(a, b, _) in &edges {
                    if let Some(da) = d[a] {
                        if d[b].is_none_or(|db: u32| da + 1 < db) { d[b] = Some(da + 1); }
                    }
                }
            }
            let mut expect: Vec<(u32, u32)> = Vec::new();
            for &s in &seeds {
                if !expect.iter().any(|e| e.0 == c.ids[s]) { expect.push((c.ids[s], 0)); }
            }
            let mut rest: Vec<(u32, u32)> = (0..n)
                .filter_map(|v| d[v].filter(|&h| h > 0 && h <= lim.unwrap_or(u32::MAX)).map(|h| (h, c.ids[v])))
                .map(|(h, t)| (t, h))
                .collect();
            rest.sort_by_key(|&(t, h)| (h, t));
            expect.extend(rest);
            if let Some(cap) = cap { expect.truncate(cap); }
            let (ids, hops) = g
                .neighbourhood(&seed_ids, lim, dir, |ci| keep(ci as usize), cap)
                .unwrap();
            let got: Vec<(u32, u32)> = ids.into_iter().zip(hops).collect();
            prop_assert_eq!(got, expect);
        }

        #[test]
        fn dfs_matches_reference(c in case(), s in 0usize..30, lim in prop::option::of(0u32..5)) {
            let g = Graph::build(&c.ids, &c.conns);
            let s = s % c.ids.len();
            let edges = reference_edges(&c);
            let mut seen = vec![false; c.ids.len()];
            seen[s] = true;
            let mut expect = vec![(c.ids[s], 0)];
            ref_dfs(&c, &edges, s, 0, lim.unwrap_or(u32::MAX), &mut seen, &mut expect);
            let t = g.dfs(c.ids[s], lim).unwrap();
            let got: Vec<(u32, u32)> = t.ids.iter().copied().zip(t.depth.iter().copied()).collect();
            prop_assert_eq!(got, expect);
            for i in 1..t.ids.len() {
                let (p, v) = (g.node_of(t.parent[i]).unwrap(), g.node_of(t.ids[i]).unwrap());
                prop_assert!(g.out_edges(p).any(|(x, _)| x == v));
            }
        }

        #[test]
        fn dijkstra_matches_bellman_ford(c in case(), s in 0usize..30, t in 0usize..30) {
            let g = Graph::build(&c.ids, &c.conns);
            let (s, t) = (s % c.ids.len(), t % c.ids.len());
            let edges = reference_edges(&c);
            let d = bellman_ford(c.ids.len(), &edges, &c.weights, s);
            let (ids, dist) = g.shortest_path_lengths(c.ids[s], &c.weights).unwrap();
            prop_assert_eq!(ids.len(), d.iter().filter(|x| x.is_finite()).count());
            prop_assert_eq!(ids[0], c.ids[s]);
            prop_assert_eq!(dist[0], 0.0);
            for (i, (&id, &dv)) in ids.iter().zip(&dist).enumerate() {
                let v = c.ids.iter().position(|&x| x == id).unwrap();
                prop_assert!((dv - d[v]).abs() < 1e-9);
                if i > 0 { prop_assert!(dist[i - 1] <= dv); }
            }
            match g.shortest_path(c.ids[s], c.ids[t], &c.weights).unwrap() {
                None => prop_assert!(d[t].is_infinite()),
                Some((path, cost)) => {
                    prop_assert!((cost - d[t]).abs() < 1e-9);
                    prop_assert_eq!(path[0], c.ids[s]);
                    prop_assert_eq!(*path.last().unwrap(), c.ids[t]);
                    let mut sum = 0.0;
                    for w in path.windows(2) {
                        let (a, b) = (g.node_of(w[0]).unwrap(), g.node_of(w[1]).unwrap());
                        let best = g.out_edges(a).filter(|e| e.0 == b)
                            .map(|e| c.weights[e.1 as usize] as f64).fold(f64::INFINITY, f64::min);
                        sum += best;
                    }
                    prop_assert!((sum - cost).abs() < 1e-9);
                }
            }
        }

        #[test]
        fn components_match_reachability(c in case()) {
            let g = Graph::build(&c.ids, &c.conns);
            let n = c.ids.len();
            let mut und = reference_edges(&c);
            und.extend(reference_edges(&c).iter().map(|&(a, b, ci)| (b, a, ci)));
            let (label, k) = g.components();
            prop_assert_eq!(label.len(), n);
            let mut next = 0;
            for v in 0..n {
                let reach = hops(n, &und, v);
                for u in 0..n {
                    prop_assert_eq!(label[u] == label[v], reach[u].is_some());
                }
                // labels numbered by first appearance
                if label[..v].iter().all(|&l| l != label[v]) {
                    prop_assert_eq!(label[v], next);
                    next += 1;
                }
            }
            prop_assert_eq!(k as u32, next);
        }

        #[test]
        fn subgraph_and_degrees_match_brute_force(c in case(), pick in prop::collection::vec(any::<bool>(), 30)) {
            let g = Graph::build(&c.ids, &c.conns);
            let chosen: Vec<u32> = c.ids.iter().zip(&pick).filter(|p| *p.1).map(|p| *p.0).collect();
            let expect: Vec<u32> = c.conns.iter().enumerate()
                .filter(|(_, k)| chosen.contains(&k.token_a) && chosen.contains(&k.token_b))
                .map(|(i, _)| i as u32).collect();
            prop_assert_eq!(g.subgraph_edges(&chosen).unwrap(), expect);
            let edges = reference_edges(&c);
            let (outd, ind) = g.degrees();
            for v in 0..c.ids.len() {
                prop_assert_eq!(outd[v] as usize, edges.iter().filter(|e| e.0 == v).count());
                prop_assert_eq!(ind[v] as usize, edges.iter().filter(|e| e.1 == v).count());
                let mut a: Vec<_> = g.in_edges(v as u32).map(|(u, ci)| (u as usize, ci as usize)).collect();
                let mut b: Vec<_> = edges.iter().filter(|e| e.1 == v).map(|e| (e.0, e.2)).collect();
                a.sort_unstable();
                b.sort_unstable();
                prop_assert_eq!(a, b);
            }
            prop_assert_eq!(g.edge_count(), edges.len());
        }
    }

    #[test]
    fn direction_and_bidirectional() {
        let ids = [10, 20, 30];
        let g = Graph::build(&ids, &[conn(10, 20, false), conn(20, 30, true)]);
        assert_eq!(g.edge_count(), 3);
        assert_eq!(g.bfs(10, None).unwrap().ids, vec![10, 20, 30]);
        assert_eq!(g.bfs(20, None).unwrap().ids, vec![20, 30]); // no 20 -> 10
        assert_eq!(g.bfs(30, None).unwrap().ids, vec![30, 20]); // bidirectional reverse
        assert_eq!(g.bfs(10, Some(1)).unwrap().ids, vec![10, 20]);
        assert_eq!(g.dfs(10, Some(0)).unwrap().ids, vec![10]);
        let w = [1.0, 2.0];
        let (path, cost) = g.shortest_path(30, 20, &w).unwrap().unwrap();
        assert_eq!((path, cost), (vec![30, 20], 2.0));
        assert!(g.shortest_path(20, 10, &w).unwrap().is_none());
        assert_eq!(g.shortest_path(10, 10, &w).unwrap(), Some((vec![10], 0.0)));
        assert_eq!(g.components(), (vec![0, 0, 0], 1));
        assert_eq!(g.degrees(), (vec![1, 1, 1], vec![0, 2, 1]));
    }

    #[test]
    fn unknown_ids_and_bad_weights_error() {
        let g = Graph::build(&[1, 2], &[conn(1, 2, false), conn(2, 77, false)]);
        assert_eq!(g.edge_count(), 1);
        assert_eq!(g.node_of(77), None);
        assert_eq!(g.node_of(u32::MAX), None);
        assert!(matches!(g.bfs(5, None), Err(NgError::TokenNotFound(5))));
        assert!(matches!(g.dfs(0, None), Err(NgError::TokenNotFound(0))));
        assert!(matches!(
            g.shortest_path(1, 9, &[1.0, 1.0]),
            Err(NgError::TokenNotFound(9))
        ));
        assert!(matches!(
            g.shortest_path_lengths(9, &[1.0, 1.0]),
            Err(NgError::TokenNotFound(9))
        ));
        assert!(matches!(
            g.subgraph_edges(&[1, 3]),
            Err(NgError::TokenNotFound(3))
        ));
        assert!(g.shortest_path_lengths(1, &[1.0]).is_err());
        for bad in [f32::NAN, -1.0, f32::INFINITY] {
            let e = g.shortest_path_lengths(1, &[1.0, bad]).unwrap_err();
            assert!(e.to_string().contains("edge_weight[1]"), "{e}");
        }
        let empty = Graph::build(&[], &[]);
        assert_eq!((empty.node_count(), empty.components()), (0, (vec![], 0)));
    }

    /// Manual performance check: `cargo test --release graph::tests::perf -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn perf_1m_nodes_4m_edges() {
        use std::time::Instant;
        let n = 1_000_000u32;
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let ids: Vec<u32> = (1..=n).collect();
        let conns: Vec<Connection> = (0..4 * n)
            .map(|_| {
                let r = rnd();
                conn(
                    (r % n as u64) as u32 + 1,
                    ((r >> 32) % n as u64) as u32 + 1,
                    r & (1 << 20) == 0,
                )
            })
            .collect();
        let w: Vec<f32> = (0..conns.len())
            .map(|i| 1.0 / (1.0 + (i % 7) as f32))
            .collect();
        // Best of three runs (the machine may be shared).
        fn best<T>(name: &str, mut f: impl FnMut() -> T, info: impl Fn(&T) -> String) -> T {
            let mut times = Vec::new();
            let mut out = None;
            for _ in 0..3 {
                let t = Instant::now();
                out = Some(f());
                times.push(t.elapsed());
            }
            let out = out.unwrap();
            println!(
                "{name}: {:?} (runs {times:?}) {}",
                times.iter().min().unwrap(),
                info(&out)
            );
            out
        }
        let g = best(
            "build",
            || Graph::build(&ids, &conns),
            |g| format!("{} csr edges", g.edge_count()),
        );
        best(
            "bfs",
            || g.bfs(1, None).unwrap(),
            |t| format!("{} reached", t.ids.len()),
        );
        best(
            "dfs",
            || g.dfs(1, None).unwrap(),
            |t| format!("{} reached", t.ids.len()),
        );
        best(
            "components",
            || g.components(),
            |c| format!("{} components", c.1),
        );
        best(
            "dijkstra",
            || g.shortest_path_lengths(1, &w).unwrap(),
            |r| format!("{} reached", r.0.len()),
        );
        best(
            "shortest_path",
            || g.shortest_path(1, 500_000, &w).unwrap(),
            |p| format!("{:?} hops", p.as_ref().map(|p| p.0.len())),
        );
        let sub: Vec<u32> = (1..=100_000).collect();
        best(
            "subgraph_edges(100k)",
            || g.subgraph_edges(&sub).unwrap(),
            |e| format!("{} conns", e.len()),
        );
    }
}
