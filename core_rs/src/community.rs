//! Community detection on the connections: Louvain (Blondel et al. 2008) and Leiden (Traag,
//! Waltman & van Eck 2019) maximising modularity with a resolution gamma, on the undirected
//! weighted graph of the connections (directed connections symmetrised, parallel edges
//! summed, self-loops counted as the modularity definition does).
//!
//! Leiden: fast local moving driven by a queue, a refinement phase that splits every
//! community into well-connected (hence connected) sub-communities, aggregation of the
//! refined partition, with the aggregate's nodes starting in their non-refined community.
//! Everything that decides a result runs on one thread from a seeded generator, so a seed
//! gives one partition whatever the thread count; rayon only builds the adjacency and sums.

mod moves;
mod wgraph;

#[cfg(test)]
mod tests;

use crate::error::{NgError, Result};
use crate::progress::Progress;
pub use wgraph::WGraph;

/// Leiden repeats from its own result until it changes nothing, at most this many times
/// (igraph's default is 2 iterations too; later ones rarely change more than a few nodes).
const LEIDEN_ITERATIONS: usize = 2;
/// Node visits between progress updates and cancellation checks.
const TICK: u32 = 1 << 14;

/// Which algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Leiden,
    Louvain,
}

impl Method {
    /// `"leiden"` or `"louvain"` (any case).
    pub fn parse(name: &str) -> Result<Method> {
        match name.trim().to_ascii_lowercase().as_str() {
            "leiden" => Ok(Method::Leiden),
            "louvain" => Ok(Method::Louvain),
            _ => Err(NgError::invalid(
                "method",
                name,
                "expected 'leiden' or 'louvain'",
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Method::Leiden => "leiden",
            Method::Louvain => "louvain",
        }
    }
}

/// A partition of nodes 0..n: community per node (0..count-1, largest first, ties by the
/// smallest node), and its modularity.
#[derive(Clone, Debug, PartialEq)]
pub struct Partition {
    pub membership: Vec<u32>,
    pub count: usize,
    pub modularity: f64,
}

/// Check a resolution: finite and > 0.
pub fn check_resolution(resolution: f64) -> Result<()> {
    if resolution.is_finite() && resolution > 0.0 {
        Ok(())
    } else {
        Err(NgError::invalid(
            "resolution",
            resolution,
            "must be a finite number > 0",
        ))
    }
}

/// Communities of the undirected graph on nodes 0..n with edges (u, v, weight): edges in
/// both directions and repeated edges add up; weights <= 0 are left out; a node without
/// edges is a community of its own. Errors: an endpoint >= n, a non-finite weight, a bad
/// resolution, or `Interrupted` when `progress` is cancelled.
pub fn detect(
    n: usize,
    edges: &[(u32, u32, f64)],
    method: Method,
    resolution: f64,
    seed: u64,
    progress: Option<&Progress>,
) -> Result<Partition> {
    check_resolution(resolution)?;
    crate::edges::check_edges(n, edges, "the graph")?;
    let g = WGraph::from_edges(n, edges);
    detect_graph(&g, method, resolution, seed, progress)
}

/// [`detect`] on a built graph.
pub fn detect_graph(
    g: &WGraph,
    method: Method,
    resolution: f64,
    seed: u64,
    progress: Option<&Progress>,
) -> Result<Partition> {
    check_resolution(resolution)?;
    let n = g.n();
    let mut rng = Rng::new(seed);
    let mut tick = Ticker::new(progress);
    let mut part: Vec<u32> = (0..n as u32).collect();
    if g.m2 > 0.0 {
        match method {
            Method::Louvain => louvain(g, &mut part, resolution, &mut rng, &mut tick)?,
            Method::Leiden => {
                for _ in 0..LEIDEN_ITERATIONS {
                    let before = part.clone();
                    leiden(g, &mut part, resolution, &mut rng, &mut tick)?;
                    if same_partition(&before, &part) {
                        break;
                    }
                }
            }
        }
    }
    crate::progress::check(progress)?;
    let count = relabel(&mut part);
    let modularity = g.modularity(&part, count, resolution);
    Ok(Partition {
        membership: part,
        count,
        modularity,
    })
}

/// Louvain from singletons: local moving by sweeps, then aggregation, until a level moves
/// nothing.
fn louvain(
    g: &WGraph,
    part: &mut [u32],
    gamma: f64,
    rng: &mut Rng,
    tick: &mut Ticker,
) -> Result<()> {
    let mut level: Option<WGraph> = None;
    // node of the current level holding each original node
    let mut at: Vec<u32> = (0..g.n() as u32).collect();
    loop {
        let cur = level.as_ref().unwrap_or(g);
        tick.phase(cur.n());
        let mut lp: Vec<u32> = (0..cur.n() as u32).collect();
        let moves = moves::move_sweeps(cur, &mut lp, gamma, rng, tick)?;
        let count = dense(&mut lp);
        for a in at.iter_mut() {
            *a = lp[*a as usize];
        }
        if moves == 0 || count == cur.n() {
            break;
        }
        let next = cur.aggregate(&lp, count);
        level = Some(next);
    }
    part.copy_from_slice(&at);
    Ok(())
}

/// One Leiden run starting from `part` (labels < n).
fn leiden(
    g: &WGraph,
    part: &mut [u32],
    gamma: f64,
    rng: &mut Rng,
    tick: &mut Ticker,
) -> Result<()> {
    let mut level: Option<WGraph> = None;
    let mut at: Vec<u32> = (0..g.n() as u32).collect();
    let mut lp: Vec<u32> = part.to_vec();
    loop {
        let cur = level.as_ref().unwrap_or(g);
        tick.phase(cur.n());
        moves::move_queue(cur, &mut lp, gamma, rng, tick)?;
        let count = dense(&mut lp);
        if count == cur.n() {
            break;
        }
        let mut refined = moves::refine(cur, &lp, gamma, rng, tick)?;
        let mut rcount = dense(&mut refined);
        if rcount == cur.n() {
            // the refinement merged nothing: aggregate the partition itself
            refined.copy_from_slice(&lp);
            rcount = count;
        }
        // each aggregate node starts in the (non-refined) community of its members
        let mut np = vec![0u32; rcount];
        for (v, &r) in refined.iter().enumerate() {
            np[r as usize] = lp[v];
        }
        // number the aggregate's nodes community by community, so that the next level's
        // neighbours mostly sit next to each other in memory
        let mut order: Vec<u32> = (0..rcount as u32).collect();
        order.sort_by_key(|&r| (np[r as usize], r));
        let mut renumber = vec![0u32; rcount];
        for (i, &r) in order.iter().enumerate() {
            renumber[r as usize] = i as u32;
        }
        for r in refined.iter_mut() {
            *r = renumber[*r as usize];
        }
        let np: Vec<u32> = order.iter().map(|&r| np[r as usize]).collect();
        let next = cur.aggregate(&refined, rcount);
        for a in at.iter_mut() {
            *a = refined[*a as usize];
        }
        lp = np;
        level = Some(next);
    }
    for (p, &a) in part.iter_mut().zip(&at) {
        *p = lp[a as usize];
    }
    Ok(())
}

/// Renumber labels 0..count-1 by first appearance; returns count.
fn dense(labels: &mut [u32]) -> usize {
    let mut map = vec![u32::MAX; labels.len()];
    let mut count = 0u32;
    for l in labels.iter_mut() {
        let m = &mut map[*l as usize];
        if *m == u32::MAX {
            *m = count;
            count += 1;
        }
        *l = *m;
    }
    count as usize
}

/// Renumber communities by size descending, ties by their smallest node; returns count.
fn relabel(labels: &mut [u32]) -> usize {
    let count = dense(labels); // first appearance = smallest node
    let mut size = vec![0u32; count];
    for &l in labels.iter() {
        size[l as usize] += 1;
    }
    let mut order: Vec<u32> = (0..count as u32).collect();
    order.sort_by_key(|&c| (std::cmp::Reverse(size[c as usize]), c));
    let mut rank = vec![0u32; count];
    for (r, &c) in order.iter().enumerate() {
        rank[c as usize] = r as u32;
    }
    for l in labels.iter_mut() {
        *l = rank[*l as usize];
    }
    count
}

fn same_partition(a: &[u32], b: &[u32]) -> bool {
    let (mut x, mut y) = (a.to_vec(), b.to_vec());
    dense(&mut x);
    dense(&mut y);
    x == y
}

/// Deterministic 64-bit generator (splitmix64).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed ^ 0x6C65_6964_656E_2131)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        ((self.next() as u128 * n as u128) >> 64) as usize
    }

    /// 0..n in a random order (Fisher-Yates).
    pub(crate) fn permutation(&mut self, n: usize) -> Vec<u32> {
        let mut p: Vec<u32> = (0..n as u32).collect();
        for i in (1..n).rev() {
            p.swap(i, self.below(i + 1));
        }
        p
    }
}

/// Counts node visits on a progress (one phase per level) and checks for cancellation.
pub(crate) struct Ticker<'a> {
    progress: Option<&'a Progress>,
    pending: u32,
    done: u64,
    total: u64,
}

impl<'a> Ticker<'a> {
    fn new(progress: Option<&'a Progress>) -> Self {
        Ticker {
            progress,
            pending: 0,
            done: 0,
            total: 0,
        }
    }

    /// Start a level of `n` nodes.
    fn phase(&mut self, n: usize) {
        self.pending = 0;
        self.done = 0;
        self.total = n as u64;
        if let Some(p) = self.progress {
            p.start(self.total);
        }
    }

    /// One node visited.
    #[inline]
    pub(crate) fn tick(&mut self) -> Result<()> {
        self.pending += 1;
        if self.pending < TICK {
            return Ok(());
        }
        self.flush()
    }

    #[cold]
    fn flush(&mut self) -> Result<()> {
        if let Some(p) = self.progress {
            // a level can visit a node more than once: the count stops at the total
            let add = (self.pending as u64).min(self.total.saturating_sub(self.done));
            self.done += add;
            p.add(add);
        }
        self.pending = 0;
        crate::progress::check(self.progress)
    }
}
