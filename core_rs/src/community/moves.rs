//! The moving phases: Louvain's sweeps, Leiden's queue-driven fast local moving, and Leiden's
//! refinement (Traag, Waltman & van Eck 2019), all sequential and driven by a seeded
//! generator, so a seed gives one result whatever the thread count.

use super::wgraph::WGraph;
use super::{Rng, Ticker};
use crate::error::Result;

/// Leiden's refinement randomness (theta): how strongly a merge prefers larger gains.
const THETA: f64 = 0.01;
/// Louvain stops sweeping a level when a sweep gains less than this share of 2m.
const SWEEP_MIN_GAIN: f64 = 1e-7;
/// Most sweeps per Louvain level.
const MAX_SWEEPS: usize = 1000;

/// The community state of a moving phase: label per node, total strength and node count
/// per label, empty labels to reuse, and the dense neighbour-weight accumulator.
struct Moving<'a> {
    g: &'a WGraph,
    gamma_m: f64,
    part: &'a mut [u32],
    ktot: Vec<f64>,
    size: Vec<u32>,
    empty: Vec<u32>,
    acc: Vec<f64>,
    touched: Vec<u32>,
}

impl<'a> Moving<'a> {
    fn new(g: &'a WGraph, part: &'a mut [u32], gamma: f64) -> Self {
        let n = g.n();
        let mut ktot = vec![0.0; n];
        let mut size = vec![0u32; n];
        for (v, &c) in part.iter().enumerate() {
            ktot[c as usize] += g.k[v];
            size[c as usize] += 1;
        }
        let empty = (0..n as u32)
            .rev()
            .filter(|&c| size[c as usize] == 0)
            .collect();
        Moving {
            g,
            gamma_m: gamma / g.m2,
            part,
            ktot,
            size,
            empty,
            acc: vec![0.0; n],
            touched: Vec::new(),
        }
    }

    /// Move `v` to the community of best gain (staying on ties; an empty community when every
    /// gain is negative). Returns the gain (weight units) when it moved.
    #[inline]
    fn step(&mut self, v: u32) -> Option<f64> {
        let g = self.g;
        let vi = v as usize;
        let old = self.part[vi];
        for e in g.range(v) {
            let c = self.part[g.nbrs[e] as usize];
            if self.acc[c as usize] == 0.0 {
                self.touched.push(c);
            }
            self.acc[c as usize] += g.wts[e];
        }
        let kv = g.k[vi];
        let gm = self.gamma_m * kv;
        self.ktot[old as usize] -= kv;
        let stay = self.acc[old as usize] - gm * self.ktot[old as usize];
        let (mut best, mut best_gain) = (old, stay);
        for &c in &self.touched {
            let gain = self.acc[c as usize] - gm * self.ktot[c as usize];
            if gain > best_gain {
                (best, best_gain) = (c, gain);
            }
        }
        for &c in &self.touched {
            self.acc[c as usize] = 0.0;
        }
        self.touched.clear();
        if best_gain < 0.0 && self.size[old as usize] > 1 {
            if let Some(&c) = self.empty.last() {
                (best, best_gain) = (c, 0.0);
            }
        }
        // a move must gain more than rounding noise
        if best != old && best_gain - stay <= 1e-12 * kv.max(f64::MIN_POSITIVE) {
            best = old;
        }
        self.ktot[best as usize] += kv;
        if best == old {
            return None;
        }
        if self.empty.last() == Some(&best) {
            self.empty.pop();
        }
        self.size[old as usize] -= 1;
        if self.size[old as usize] == 0 {
            self.empty.push(old);
        }
        self.size[best as usize] += 1;
        self.part[vi] = best;
        Some(best_gain - stay)
    }
}

/// Leiden's fast local moving: visit nodes from a queue (all nodes in random order first);
/// after a move, queue the neighbours outside the new community. Returns the moves made.
pub fn move_queue(
    g: &WGraph,
    part: &mut [u32],
    gamma: f64,
    rng: &mut Rng,
    tick: &mut Ticker,
) -> Result<usize> {
    let n = g.n();
    let mut queue: std::collections::VecDeque<u32> = rng.permutation(n).into();
    let mut queued = vec![true; n];
    let mut mv = Moving::new(g, part, gamma);
    let mut moves = 0usize;
    while let Some(v) = queue.pop_front() {
        queued[v as usize] = false;
        tick.tick()?;
        if mv.step(v).is_some() {
            moves += 1;
            let c = mv.part[v as usize];
            for e in g.range(v) {
                let u = g.nbrs[e];
                if !queued[u as usize] && mv.part[u as usize] != c {
                    queued[u as usize] = true;
                    queue.push_back(u);
                }
            }
        }
    }
    Ok(moves)
}

/// Louvain's local moving: sweep all nodes in a random order until a sweep moves nothing
/// (or gains next to nothing). Returns the moves made.
pub fn move_sweeps(
    g: &WGraph,
    part: &mut [u32],
    gamma: f64,
    rng: &mut Rng,
    tick: &mut Ticker,
) -> Result<usize> {
    let n = g.n();
    let order = rng.permutation(n);
    let mut mv = Moving::new(g, part, gamma);
    let mut moves = 0usize;
    for _ in 0..MAX_SWEEPS {
        let (mut moved, mut gained) = (0usize, 0.0f64);
        for &v in &order {
            tick.tick()?;
            if let Some(d) = mv.step(v) {
                moved += 1;
                gained += d;
            }
        }
        moves += moved;
        if moved == 0 || gained < SWEEP_MIN_GAIN * g.m2 {
            break;
        }
    }
    Ok(moves)
}

/// Leiden's refinement of `part`: within each community, start from singletons and merge
/// nodes that are still singletons and well connected to their community into well-connected
/// sub-communities, picked at random with probability growing as exp(gain / theta) among
/// those that do not lose quality. Every refined community is connected and lies inside one
/// community of `part`. Returns labels that are node indices (a refined community is named
/// after its first node).
pub fn refine(
    g: &WGraph,
    part: &[u32],
    gamma: f64,
    rng: &mut Rng,
    tick: &mut Ticker,
) -> Result<Vec<u32>> {
    let n = g.n();
    let gm = gamma / g.m2;
    let mut ktot_s = vec![0.0f64; n];
    for (v, &c) in part.iter().enumerate() {
        ktot_s[c as usize] += g.k[v];
    }
    let mut refined: Vec<u32> = (0..n as u32).collect();
    let mut rk = g.k.clone();
    let mut rsize = vec![1u32; n];
    // weight from each refined community to the rest of its community
    let mut rext: Vec<f64> = (0..n)
        .map(|v| {
            let c = part[v];
            g.range(v as u32)
                .filter(|&e| part[g.nbrs[e] as usize] == c)
                .map(|e| g.wts[e])
                .sum()
        })
        .collect();
    let mut acc = vec![0.0f64; n];
    let mut touched: Vec<u32> = Vec::new();
    let mut cands: Vec<(u32, f64)> = Vec::new();
    for v in rng.permutation(n) {
        tick.tick()?;
        let vi = v as usize;
        if rsize[vi] != 1 || refined[vi] != v {
            continue; // not a singleton any more
        }
        let s = part[vi] as usize;
        let kv = g.k[vi];
        if rext[vi] < gm * kv * (ktot_s[s] - kv) {
            continue; // not well connected to its community
        }
        for e in g.range(v) {
            let u = g.nbrs[e] as usize;
            if part[u] as usize == s {
                let t = refined[u];
                if acc[t as usize] == 0.0 {
                    touched.push(t);
                }
                acc[t as usize] += g.wts[e];
            }
        }
        // candidates: v's own singleton (gain 0) and well-connected neighbours' communities
        // that gain at least 0
        cands.clear();
        cands.push((v, 0.0));
        let mut top = 0.0f64;
        for &t in &touched {
            let ti = t as usize;
            if rext[ti] < gm * rk[ti] * (ktot_s[s] - rk[ti]) {
                continue;
            }
            let gain = acc[ti] - gm * kv * rk[ti];
            if gain >= 0.0 {
                cands.push((t, gain));
                top = top.max(gain);
            }
        }
        let total: f64 = cands.iter().map(|c| ((c.1 - top) / THETA).exp()).sum();
        let mut x = rng.unit() * total;
        let mut pick = cands[cands.len() - 1].0;
        for &(t, gain) in &cands {
            x -= ((gain - top) / THETA).exp();
            if x < 0.0 {
                pick = t;
                break;
            }
        }
        if pick != v {
            let ti = pick as usize;
            refined[vi] = pick;
            rk[ti] += kv;
            rsize[ti] += 1;
            rsize[vi] = 0;
            rext[ti] = rext[ti] + rext[vi] - 2.0 * acc[ti];
        }
        for &t in &touched {
            acc[t as usize] = 0.0;
        }
        touched.clear();
    }
    Ok(refined)
}
