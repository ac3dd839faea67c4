//! Force-directed layout for the graph explorer: ForceAtlas2 (repulsion between all node pairs
//! approximated with a Barnes-Hut quadtree, linear attraction along edges, gravity toward the
//! centre, adaptive per-node speed), deterministic for a given input and seed.

use crate::error::{NgError, Result};
use crate::progress::Progress;
use rayon::prelude::*;

/// Barnes-Hut opening angle: a cell of side s at distance d is one body when s < THETA * d.
const THETA: f64 = 1.0;
/// Bodies per quadtree leaf (computed exactly).
const LEAF_SIZE: usize = 8;
/// Quantisation bits per axis for the Morton codes the quadtree is built from.
const MORTON_BITS: u32 = 32;
/// ForceAtlas2 gravity toward the origin.
const GRAVITY: f64 = 1.0;
/// ForceAtlas2 jitter tolerance (how much swinging the adaptive speed accepts).
const JITTER_TOLERANCE: f64 = 1.0;
/// Bodies per rayon task in the attraction pass.
const FORCE_TASK: usize = 1024;
/// Most bodies in a group sharing one Barnes-Hut interaction list.
const GROUP_SIZE: u32 = 32;

/// Barnes-Hut force-directed layout of nodes 0..n with weighted edges (u, v, weight).
///
/// `initial` gives starting positions (len n), else a pseudo-random start from `seed` is used.
/// The result does not depend on the thread count. Returns n positions centred and scaled to
/// fit [-1, 1] x [-1, 1]. Errors: an endpoint >= n, a non-finite weight, or a bad `initial`.
/// Negative weights attract with strength 0; self-loops are ignored.
pub fn layout(
    n: usize,
    edges: &[(u32, u32, f32)],
    iterations: u32,
    seed: u64,
    initial: Option<&[[f32; 2]]>,
) -> Result<Vec<[f32; 2]>> {
    layout_progress(n, edges, iterations, seed, initial, None)
}

/// [`layout`] that counts iterations done on `progress` and stops with `Err(Interrupted)`
/// when it is cancelled.
pub fn layout_progress(
    n: usize,
    edges: &[(u32, u32, f32)],
    iterations: u32,
    seed: u64,
    initial: Option<&[[f32; 2]]>,
    progress: Option<&Progress>,
) -> Result<Vec<[f32; 2]>> {
    crate::edges::check_edges(n, edges, "the layout")?;
    let (mut x, mut y) = match initial {
        Some(p) => start_from(n, p, seed)?,
        None => random_start(n, seed),
    };
    if n > 1 {
        let adj = Adjacency::new(n, edges);
        let mut fa2 = ForceAtlas2::new(&adj, n);
        if let Some(p) = progress {
            p.start(iterations as u64);
        }
        for _ in 0..iterations {
            crate::progress::check(progress)?;
            fa2.step(&adj, &mut x, &mut y);
            if let Some(p) = progress {
                p.add(1);
            }
        }
        crate::progress::check(progress)?;
    }
    Ok(normalise(&x, &y))
}

/// Deterministic 64-bit generator (splitmix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// Uniform random start in a square whose side grows with sqrt(n).
fn random_start(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = SplitMix(seed);
    let r = (n as f64).sqrt().max(1.0);
    (0..n).map(|_| (rng.unit() * r, rng.unit() * r)).unzip()
}

/// Start from given positions, plus a tiny seeded jitter so coincident nodes can separate.
fn start_from(n: usize, p: &[[f32; 2]], seed: u64) -> Result<(Vec<f64>, Vec<f64>)> {
    if p.len() != n {
        return Err(NgError::invalid(
            "initial",
            format!("{} positions", p.len()),
            format!("expected one position per node ({n})"),
        ));
    }
    if let Some(i) = p
        .iter()
        .position(|q| !(q[0].is_finite() && q[1].is_finite()))
    {
        return Err(NgError::invalid(
            format!("initial[{i}]"),
            format!("{:?}", p[i]),
            "positions must be finite",
        ));
    }
    let extent = p.iter().fold(0.0f64, |m, q| {
        m.max(q[0].abs() as f64).max(q[1].abs() as f64)
    });
    let jitter = 1e-4 * extent.max(1e-3);
    let mut rng = SplitMix(seed);
    Ok(p.iter()
        .map(|q| {
            (
                q[0] as f64 + jitter * rng.unit(),
                q[1] as f64 + jitter * rng.unit(),
            )
        })
        .unzip())
}

/// Centre the bounding box on the origin and scale its longer side to [-1, 1].
fn normalise(x: &[f64], y: &[f64]) -> Vec<[f32; 2]> {
    if x.is_empty() {
        return Vec::new();
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (&a, &b) in x.iter().zip(y) {
        (x0, x1, y0, y1) = (x0.min(a), x1.max(a), y0.min(b), y1.max(b));
    }
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let half = ((x1 - x0).max(y1 - y0) / 2.0).max(f64::MIN_POSITIVE);
    x.iter()
        .zip(y)
        .map(|(&a, &b)| {
            let p = [((a - cx) / half) as f32, ((b - cy) / half) as f32];
            [p[0].clamp(-1.0, 1.0), p[1].clamp(-1.0, 1.0)]
        })
        .collect()
}

/// Undirected weighted adjacency (CSR), so each node's attraction is summed on its own, in a
/// fixed order.
struct Adjacency {
    offsets: Vec<usize>,
    /// (other node, weight)
    nbrs: Vec<(u32, f64)>,
}

impl Adjacency {
    fn new(n: usize, edges: &[(u32, u32, f32)]) -> Self {
        let mut offsets = vec![0usize; n + 1];
        for &(u, v, _) in edges {
            if u != v {
                offsets[u as usize + 1] += 1;
                offsets[v as usize + 1] += 1;
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut cur = offsets[..n].to_vec();
        let mut nbrs = vec![(0u32, 0.0f64); offsets[n]];
        for &(u, v, w) in edges {
            if u != v {
                let w = w.max(0.0) as f64;
                nbrs[cur[u as usize]] = (v, w);
                cur[u as usize] += 1;
                nbrs[cur[v as usize]] = (u, w);
                cur[v as usize] += 1;
            }
        }
        Adjacency { offsets, nbrs }
    }

    #[inline]
    fn of(&self, i: usize) -> &[(u32, f64)] {
        &self.nbrs[self.offsets[i]..self.offsets[i + 1]]
    }
}

/// One quadtree cell: a contiguous range of bodies in Morton order.
#[derive(Clone, Copy, Default)]
struct Cell {
    /// Centre of mass and total mass.
    cx: f64,
    cy: f64,
    mass: f64,
    /// Squared side length of the cell's box.
    size2: f64,
    start: u32,
    end: u32,
    /// Children are cells[first_child..first_child + nchild]; none for a leaf.
    first_child: u32,
    nchild: u32,
}

/// Barnes-Hut quadtree built from sorted Morton codes (so it is the same whatever the
/// insertion order, and coincident points simply share a leaf).
struct QuadTree {
    cells: Vec<Cell>,
    /// Body index at each Morton rank, and the positions/masses in that order.
    order: Vec<u32>,
    px: Vec<f64>,
    py: Vec<f64>,
    pm: Vec<f64>,
    /// Side of the root box.
    side: f64,
}

/// Spread the low 32 bits of `v` to the even bits of a u64.
fn spread(v: u32) -> u64 {
    let mut x = v as u64;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    x = (x | (x << 1)) & 0x5555_5555_5555_5555;
    x
}

impl QuadTree {
    fn build(x: &[f64], y: &[f64], mass: &[f64]) -> Self {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (&a, &b) in x.iter().zip(y) {
            (x0, x1, y0, y1) = (x0.min(a), x1.max(a), y0.min(b), y1.max(b));
        }
        let side = (x1 - x0).max(y1 - y0).max(1e-12) * (1.0 + 1e-9);
        let q = ((1u64 << MORTON_BITS) - 1) as f64 / side;
        let quant = |v: f64, lo: f64| ((v - lo) * q).clamp(0.0, u32::MAX as f64) as u32;
        let mut keys: Vec<(u64, u32)> = (0..x.len())
            .into_par_iter()
            .map(|i| {
                let code = spread(quant(x[i], x0)) | (spread(quant(y[i], y0)) << 1);
                (code, i as u32)
            })
            .collect();
        keys.par_sort_unstable();
        let codes: Vec<u64> = keys.iter().map(|k| k.0).collect();
        let order: Vec<u32> = keys.iter().map(|k| k.1).collect();
        let mut tree = QuadTree {
            cells: vec![Cell::default()],
            px: order.iter().map(|&i| x[i as usize]).collect(),
            py: order.iter().map(|&i| y[i as usize]).collect(),
            pm: order.iter().map(|&i| mass[i as usize]).collect(),
            order,
            side,
        };
        tree.fill(0, &codes, 0, codes.len(), MORTON_BITS);
        tree
    }

    /// Fill cell `idx` with bodies start..end whose codes agree above `level` bit pairs.
    /// Recursion depth is at most MORTON_BITS + 1.
    fn fill(&mut self, idx: usize, codes: &[u64], start: usize, end: usize, mut level: u32) {
        let mut bounds = [start, start, start, start, end];
        let mut leaf = end - start <= LEAF_SIZE || level == 0;
        while !leaf {
            // Quadrant boundaries at this level; descend through levels with one quadrant.
            let shift = 2 * (level - 1);
            for (qd, b) in bounds.iter_mut().enumerate().take(4).skip(1) {
                *b = start + codes[start..end].partition_point(|c| ((c >> shift) & 3) < qd as u64);
            }
            if bounds.windows(2).filter(|w| w[1] > w[0]).count() > 1 {
                break;
            }
            level -= 1;
            leaf = level == 0;
        }
        let size = self.side * (level as f64 - MORTON_BITS as f64).exp2();
        let mut cell = Cell {
            size2: size * size,
            start: start as u32,
            end: end as u32,
            ..Cell::default()
        };
        let (mut sx, mut sy, mut sm) = (0.0, 0.0, 0.0);
        if leaf {
            for k in start..end {
                sx += self.px[k] * self.pm[k];
                sy += self.py[k] * self.pm[k];
                sm += self.pm[k];
            }
        } else {
            let ranges: Vec<(usize, usize)> = bounds
                .windows(2)
                .filter(|w| w[1] > w[0])
                .map(|w| (w[0], w[1]))
                .collect();
            let first = self.cells.len();
            cell.first_child = first as u32;
            cell.nchild = ranges.len() as u32;
            self.cells.resize(first + ranges.len(), Cell::default());
            for (j, &(s, e)) in ranges.iter().enumerate() {
                self.fill(first + j, codes, s, e, level - 1);
                let c = self.cells[first + j];
                sx += c.cx * c.mass;
                sy += c.cy * c.mass;
                sm += c.mass;
            }
        }
        cell.mass = sm;
        (cell.cx, cell.cy) = if sm > 0.0 {
            (sx / sm, sy / sm)
        } else {
            (0.0, 0.0)
        };
        self.cells[idx] = cell;
    }

    /// Groups for the force pass: the largest cells holding at most GROUP_SIZE bodies, in
    /// Morton order (so their ranges tile 0..n in order).
    fn groups(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = vec![0u32];
        while let Some(c) = stack.pop() {
            let cell = &self.cells[c as usize];
            if cell.end - cell.start <= GROUP_SIZE || cell.nchild == 0 {
                out.push(c);
            } else {
                // Reverse so children come off the stack in Morton order.
                stack.extend((0..cell.nchild).rev().map(|j| cell.first_child + j));
            }
        }
        out
    }

    /// Everything that repels the bodies of group cell `g`, as point masses in `list`: far
    /// cells as one body (Barnes-Hut, judged from the group's bounding box, which is stricter
    /// than per body), near leaves and the group itself body by body. Returns the origin the
    /// list's f32 coordinates are relative to (the group's centre, which keeps them precise).
    fn interactions(&self, g: u32, list: &mut PointList) -> (f64, f64) {
        list.clear();
        let gc = &self.cells[g as usize];
        let (gs, ge) = (gc.start as usize, gc.end as usize);
        let bx = bounds(&self.px[gs..ge]);
        let by = bounds(&self.py[gs..ge]);
        let origin = ((bx.0 + bx.1) / 2.0, (by.0 + by.1) / 2.0);
        let theta2 = THETA * THETA;
        // Each level pushes at most 4 cells and pops one: depth <= MORTON_BITS + 1.
        let mut stack = [0u32; 4 * (MORTON_BITS as usize + 2)];
        let mut sp = 1;
        while sp > 0 {
            sp -= 1;
            let c = &self.cells[stack[sp] as usize];
            let (cs, ce) = (c.start as usize, c.end as usize);
            let disjoint = ce <= gs || cs >= ge;
            if disjoint {
                let dx = (bx.0 - c.cx).max(c.cx - bx.1).max(0.0);
                let dy = (by.0 - c.cy).max(c.cy - by.1).max(0.0);
                if c.size2 < theta2 * (dx * dx + dy * dy) {
                    list.push(origin, c.cx, c.cy, c.mass);
                    continue;
                }
            }
            if c.nchild == 0 || (cs >= gs && ce <= ge) {
                // A near leaf, or the group itself: body by body.
                for k in cs..ce {
                    list.push(origin, self.px[k], self.py[k], self.pm[k]);
                }
            } else {
                for j in 0..c.nchild {
                    stack[sp] = c.first_child + j;
                    sp += 1;
                }
            }
        }
        list.pad();
        origin
    }

    /// Repulsion on every body, by Morton rank: sum over the others of
    /// kr * m_i * m_j * (p_i - p_j) / d^2 (ForceAtlas2's kr * m_i * m_j / d).
    fn repulsion(&self, kr: f64) -> Vec<(f64, f64)> {
        let per_group: Vec<Vec<(f64, f64)>> = self
            .groups()
            .par_iter()
            .map_init(PointList::default, |list, &g| {
                let (ox, oy) = self.interactions(g, list);
                let c = &self.cells[g as usize];
                (c.start as usize..c.end as usize)
                    .map(|r| {
                        let (fx, fy) =
                            list.pull((self.px[r] - ox) as f32, (self.py[r] - oy) as f32);
                        let k = kr * self.pm[r];
                        (fx * k, fy * k)
                    })
                    .collect()
            })
            .collect();
        per_group.concat()
    }
}

/// Added to squared distances in the repulsion loop (far below any real spacing).
const D2_FLOOR: f32 = 1e-30;
/// Lanes of the repulsion inner loop (a fixed order, so results are reproducible).
const LANES: usize = 4;

/// Point masses acting on one group, struct-of-arrays in f32 relative to the group's centre,
/// padded with massless points to a multiple of LANES so the inner loop vectorises.
#[derive(Default)]
struct PointList {
    x: Vec<f32>,
    y: Vec<f32>,
    m: Vec<f32>,
}

impl PointList {
    fn clear(&mut self) {
        self.x.clear();
        self.y.clear();
        self.m.clear();
    }
    #[inline]
    fn push(&mut self, origin: (f64, f64), x: f64, y: f64, m: f64) {
        self.x.push((x - origin.0) as f32);
        self.y.push((y - origin.1) as f32);
        self.m.push(m as f32);
    }
    fn pad(&mut self) {
        while !self.m.len().is_multiple_of(LANES) {
            self.push((0.0, 0.0), 0.0, 0.0, 0.0);
        }
    }
    /// Sum of m * (p - q) / |p - q|^2 over the points q. A point at p (the body itself, or
    /// one exactly coincident) adds nothing: its (p - q) is 0 and the tiny D2_FLOOR keeps the
    /// division finite, with no branch in the loop.
    fn pull(&self, px: f32, py: f32) -> (f64, f64) {
        let (mut ax, mut ay) = ([0f32; LANES], [0f32; LANES]);
        let (xc, _) = self.x.as_chunks::<LANES>();
        let (yc, _) = self.y.as_chunks::<LANES>();
        let (mc, _) = self.m.as_chunks::<LANES>();
        for ((xs, ys), ms) in xc.iter().zip(yc).zip(mc) {
            for l in 0..LANES {
                let (dx, dy) = (px - xs[l], py - ys[l]);
                let f = ms[l] / (dx * dx + dy * dy + D2_FLOOR);
                ax[l] += dx * f;
                ay[l] += dy * f;
            }
        }
        // black_box keeps LLVM from folding the lane sums into the loop, which makes it give up
        // on packed SIMD for the loop (measured: divss instead of divps).
        let (ax, ay) = std::hint::black_box((ax, ay));
        let sum = |a: [f32; LANES]| a.iter().map(|&v| v as f64).sum::<f64>();
        (sum(ax), sum(ay))
    }
}

/// Length of (x, y) (plain sqrt: `hypot`'s overflow care is not needed and is slow).
#[inline]
fn norm(x: f64, y: f64) -> f64 {
    (x * x + y * y).sqrt()
}

/// (min, max) of a non-empty slice.
fn bounds(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &a| (lo.min(a), hi.max(a)))
}

/// ForceAtlas2 state: masses (degree + 1), last forces and the adaptive global speed.
struct ForceAtlas2 {
    mass: Vec<f64>,
    old: Vec<(f64, f64)>,
    speed: f64,
    speed_efficiency: f64,
    scaling: f64,
}

impl ForceAtlas2 {
    fn new(adj: &Adjacency, n: usize) -> Self {
        ForceAtlas2 {
            mass: (0..n).map(|i| 1.0 + adj.of(i).len() as f64).collect(),
            old: vec![(0.0, 0.0); n],
            speed: 1.0,
            speed_efficiency: 1.0,
            scaling: if n >= 100 { 2.0 } else { 10.0 },
        }
    }

    fn step(&mut self, adj: &Adjacency, x: &mut [f64], y: &mut [f64]) {
        let n = x.len();
        let tree = QuadTree::build(x, y, &self.mass);
        let repulsion = tree.repulsion(self.scaling);
        let mut force = vec![(0.0, 0.0); n];
        for (r, f) in repulsion.into_iter().enumerate() {
            force[tree.order[r] as usize] = f;
        }
        // Attraction along edges and gravity, each node on its own.
        let (xs, ys, mass): (&[f64], &[f64], &[f64]) = (x, y, &self.mass);
        force
            .par_iter_mut()
            .with_min_len(FORCE_TASK)
            .enumerate()
            .for_each(|(i, f)| {
                let (xi, yi) = (xs[i], ys[i]);
                for &(j, w) in adj.of(i) {
                    f.0 += w * (xs[j as usize] - xi);
                    f.1 += w * (ys[j as usize] - yi);
                }
                let d = (xi * xi + yi * yi).sqrt();
                if d > 0.0 {
                    let g = GRAVITY * mass[i] / d;
                    f.0 -= g * xi;
                    f.1 -= g * yi;
                }
            });

        // Adaptive speed (ForceAtlas2, Jacomy et al. 2014), summed sequentially.
        let (mut swinging, mut traction) = (0.0, 0.0);
        for ((f, o), m) in force.iter().zip(&self.old).zip(&self.mass) {
            swinging += m * norm(f.0 - o.0, f.1 - o.1);
            traction += m * 0.5 * norm(f.0 + o.0, f.1 + o.1);
        }
        let estimated = 0.05 * (n as f64).sqrt();
        let min_jt = estimated.sqrt();
        let mut jt =
            JITTER_TOLERANCE * min_jt.max(10f64.min(estimated * traction / (n as f64 * n as f64)));
        let min_efficiency = 0.05;
        if traction > 0.0 && swinging / traction > 2.0 {
            if self.speed_efficiency > min_efficiency {
                self.speed_efficiency *= 0.5;
            }
            jt = jt.max(JITTER_TOLERANCE);
        }
        if swinging > 0.0 {
            let target = jt * self.speed_efficiency * traction / swinging;
            if swinging > jt * traction {
                if self.speed_efficiency > min_efficiency {
                    self.speed_efficiency *= 0.7;
                }
            } else if self.speed < 1000.0 {
                self.speed_efficiency *= 1.3;
            }
            self.speed += (target - self.speed).min(0.5 * self.speed);
        }

        let speed = self.speed;
        for i in 0..n {
            let (f, o) = (force[i], self.old[i]);
            let swing = self.mass[i] * norm(f.0 - o.0, f.1 - o.1);
            let factor = speed / (1.0 + (speed * swing).sqrt());
            let (nx, ny) = (x[i] + f.0 * factor, y[i] + f.1 * factor);
            // Never let an overflow (absurd weights) poison the layout: such a node stays put.
            if nx.is_finite() && ny.is_finite() {
                (x[i], y[i]) = (nx, ny);
            }
        }
        self.old = force;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(p: &[[f32; 2]], a: usize, b: usize) -> f64 {
        ((p[a][0] - p[b][0]) as f64).hypot((p[a][1] - p[b][1]) as f64)
    }

    /// Two cliques of `k` nodes (0..k and k..2k) joined by the single edge 0 - k.
    fn two_clusters(k: u32) -> Vec<(u32, u32, f32)> {
        let mut e = Vec::new();
        for base in [0, k] {
            for a in 0..k {
                for b in a + 1..k {
                    e.push((base + a, base + b, 1.0));
                }
            }
        }
        e.push((0, k, 1.0));
        e
    }

    #[test]
    fn clusters_end_up_separated() {
        let k = 20;
        let p = layout(2 * k as usize, &two_clusters(k), 200, 7, None).unwrap();
        let k = k as usize;
        let centroid = |r: std::ops::Range<usize>| {
            let m = r.len() as f64;
            r.fold([0.0, 0.0], |c, i| {
                [c[0] + p[i][0] as f64 / m, c[1] + p[i][1] as f64 / m]
            })
        };
        let (c0, c1) = (centroid(0..k), centroid(k..2 * k));
        let between = (c0[0] - c1[0]).hypot(c0[1] - c1[1]);
        let mut intra = 0.0;
        let mut pairs = 0.0;
        for base in [0, k] {
            for a in base..base + k {
                for b in a + 1..base + k {
                    intra += dist(&p, a, b);
                    pairs += 1.0;
                }
            }
        }
        let intra = intra / pairs;
        assert!(intra * 2.0 < between, "intra {intra} vs between {between}");
        assert!(p.iter().all(|q| q[0].abs() <= 1.0 && q[1].abs() <= 1.0));
    }

    #[test]
    fn path_neighbours_are_closer_than_far_nodes() {
        let n = 30;
        let edges: Vec<_> = (0..n as u32 - 1).map(|i| (i, i + 1, 1.0)).collect();
        let p = layout(n, &edges, 300, 3, None).unwrap();
        let near: f64 = (0..n - 1).map(|i| dist(&p, i, i + 1)).sum::<f64>() / (n - 1) as f64;
        let far: f64 = (0..n - 10).map(|i| dist(&p, i, i + 10)).sum::<f64>() / (n - 10) as f64;
        assert!(near * 2.0 < far, "near {near} far {far}");
        assert!(dist(&p, 0, n - 1) > near * 3.0);
    }

    #[test]
    fn deterministic_and_seeded() {
        let e = two_clusters(12);
        let a = layout(24, &e, 50, 1, None).unwrap();
        assert_eq!(a, layout(24, &e, 50, 1, None).unwrap());
        assert_ne!(a, layout(24, &e, 50, 2, None).unwrap());
        // A graph big enough to be split across threads gives the same bits on one thread.
        let mut rng = SplitMix(3);
        let n = 3000u64;
        let e: Vec<(u32, u32, f32)> = (0..6000)
            .map(|_| ((rng.next() % n) as u32, (rng.next() % n) as u32, 0.5))
            .collect();
        let many = layout(n as usize, &e, 20, 1, None).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        assert_eq!(
            many,
            pool.install(|| layout(n as usize, &e, 20, 1, None).unwrap())
        );
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        assert_eq!(
            many,
            pool.install(|| layout(n as usize, &e, 20, 1, None).unwrap())
        );
    }

    #[test]
    fn huge_weights_stay_finite() {
        let e = [(0, 1, f32::MAX), (1, 2, f32::MAX), (2, 0, 1e-30)];
        let p = layout(3, &e, 100, 0, None).unwrap();
        assert!(
            p.iter().all(|q| q[0].is_finite() && q[1].is_finite()),
            "{p:?}"
        );
    }

    #[test]
    fn small_and_degenerate_inputs() {
        assert!(layout(0, &[], 10, 0, None).unwrap().is_empty());
        assert_eq!(layout(1, &[], 10, 0, None).unwrap(), vec![[0.0, 0.0]]);
        assert_eq!(
            layout(1, &[(0, 0, 1.0)], 10, 0, None).unwrap(),
            vec![[0.0, 0.0]]
        );
        let p = layout(2, &[(0, 1, 1.0)], 0, 0, Some(&[[5.0, 5.0], [7.0, 5.0]])).unwrap();
        assert!(
            (p[0][0] + 1.0).abs() < 1e-3 && (p[1][0] - 1.0).abs() < 1e-3,
            "{p:?}"
        );
        // All nodes on one point still spread out (the start gets a tiny jitter).
        let p = layout(50, &[(0, 1, 1.0)], 20, 0, Some(&[[0.0, 0.0]; 50])).unwrap();
        assert!(p.iter().all(|q| q[0].is_finite() && q[1].is_finite()));
        assert!(dist(&p, 0, 1) > 0.0);
        // Negative weights do not blow up.
        let p = layout(3, &[(0, 1, -5.0), (1, 2, 1.0)], 50, 0, None).unwrap();
        assert!(p.iter().all(|q| q[0].is_finite() && q[1].is_finite()));
    }

    #[test]
    fn bad_input_errors() {
        let e = layout(3, &[(0, 3, 1.0)], 10, 0, None).unwrap_err();
        assert!(e.to_string().contains("edges[0]"), "{e}");
        assert!(layout(0, &[(0, 0, 1.0)], 10, 0, None).is_err());
        let e = layout(3, &[(0, 1, 1.0), (1, 2, f32::NAN)], 10, 0, None).unwrap_err();
        assert!(e.to_string().contains("edges[1].weight"), "{e}");
        assert!(layout(2, &[], 10, 0, Some(&[[0.0, 0.0]])).is_err());
        assert!(layout(1, &[], 10, 0, Some(&[[f32::INFINITY, 0.0]])).is_err());
    }

    #[test]
    fn quadtree_mass_and_exact_small_case() {
        // With every body in one leaf the repulsion is exact.
        let (x, y, m) = (
            vec![0.0, 1.0, 0.0],
            vec![0.0, 0.0, 2.0],
            vec![1.0, 2.0, 3.0],
        );
        let t = QuadTree::build(&x, &y, &m);
        assert_eq!(t.cells[0].mass, 6.0);
        let r = t.order.iter().position(|&i| i == 0).unwrap();
        let (fx, fy) = t.repulsion(1.0)[r];
        // from body 1: 1*2/1 along -x; from body 2: 1*3/2 along -y
        assert!(
            (fx + 2.0).abs() < 1e-12 && (fy + 1.5).abs() < 1e-12,
            "{fx} {fy}"
        );
    }

    #[test]
    fn barnes_hut_close_to_exact() {
        let n = 2000;
        let (x, y) = random_start(n, 9);
        let m: Vec<f64> = (0..n).map(|i| 1.0 + (i % 5) as f64).collect();
        let t = QuadTree::build(&x, &y, &m);
        let mut err = 0.0;
        let mut norm = 0.0;
        let rep = t.repulsion(1.0);
        for r in (0..n).step_by(37) {
            let i = t.order[r] as usize;
            let (bx, by) = rep[r];
            let (mut ex, mut ey) = (0.0, 0.0);
            for j in 0..n {
                let (dx, dy) = (x[i] - x[j], y[i] - y[j]);
                let d2 = dx * dx + dy * dy;
                if j != i {
                    ex += dx * m[i] * m[j] / d2;
                    ey += dy * m[i] * m[j] / d2;
                }
            }
            err += (bx - ex).hypot(by - ey);
            norm += ex.hypot(ey);
        }
        assert!(err / norm < 0.1, "relative error {}", err / norm);
    }

    /// Planted clusters like `neurograph_lab.datasets.planted_embeddings()`: `clusters` groups
    /// of `per` unit vectors around random centres (noise 0.15), woven into a kNN graph by
    /// cosine (weight = similarity). Returns (edges, cluster of each node).
    fn planted_knn(
        clusters: usize,
        per: usize,
        dim: usize,
        k: usize,
        noise: f64,
    ) -> (Vec<(u32, u32, f32)>, Vec<usize>) {
        let mut rng = SplitMix(11);
        let mut gauss = || {
            let (u, v) = ((rng.unit() + 1.0) / 2.0, (rng.unit() + 1.0) / 2.0);
            (-2.0 * u.max(1e-300).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let mut rows: Vec<Vec<f64>> = Vec::new();
        let mut label = Vec::new();
        for c in 0..clusters {
            let centre: Vec<f64> = (0..dim).map(|_| gauss()).collect();
            let nc = centre.iter().map(|x| x * x).sum::<f64>().sqrt();
            for _ in 0..per {
                let mut r: Vec<f64> = centre
                    .iter()
                    .map(|x| x / nc + gauss() * noise / (dim as f64).sqrt())
                    .collect();
                let nr = r.iter().map(|x| x * x).sum::<f64>().sqrt();
                r.iter_mut().for_each(|x| *x /= nr);
                rows.push(r);
                label.push(c);
            }
        }
        let n = rows.len();
        let mut edges = Vec::new();
        for i in 0..n {
            let mut sims: Vec<(f64, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| (rows[i].iter().zip(&rows[j]).map(|(a, b)| a * b).sum(), j))
                .collect();
            sims.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(s, j) in sims.iter().take(k) {
                edges.push((i as u32, j as u32, s as f32));
            }
        }
        (edges, label)
    }

    /// Mean pairwise layout distance within clusters over that between clusters.
    fn separation(p: &[[f32; 2]], label: &[usize]) -> f64 {
        let (mut intra, mut ni, mut inter, mut nx) = (0.0, 0.0, 0.0, 0.0);
        for a in 0..p.len() {
            for b in a + 1..p.len() {
                let d = dist(p, a, b);
                if label[a] == label[b] {
                    intra += d;
                    ni += 1.0;
                } else {
                    inter += d;
                    nx += 1.0;
                }
            }
        }
        (intra / ni) / (inter / nx)
    }

    /// How separation degrades as the planted clusters blur (cross-cluster edges grow):
    /// `cargo test --release layout::tests::planted_knn_hard -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn planted_knn_hard() {
        for (c, per) in [(8usize, 40usize), (20, 100)] {
            for noise in [1.6, 2.0, 2.5] {
                let k = 10;
                let (e, label) = planted_knn(c, per, 50, k, noise);
                let cross = e
                    .iter()
                    .filter(|(a, b, _)| label[*a as usize] != label[*b as usize])
                    .count();
                let t = std::time::Instant::now();
                let p = layout(label.len(), &e, 100, 0, None).unwrap();
                let el = t.elapsed();
                let r = separation(&p, &label);
                println!(
                    "planted {c}x{per} noise={noise} k={k}: cross {:.3} ratio {r:.3} ({el:?})",
                    cross as f64 / e.len() as f64
                );
            }
        }
    }

    #[test]
    fn planted_knn_clusters_separate() {
        for noise in [0.15, 1.2] {
            for k in [5, 10] {
                let (e, label) = planted_knn(8, 40, 50, k, noise);
                let cross = e
                    .iter()
                    .filter(|(a, b, _)| label[*a as usize] != label[*b as usize])
                    .count();
                let p = layout(label.len(), &e, 100, 0, None).unwrap();
                let r = separation(&p, &label);
                println!(
                    "planted noise={noise} k={k}: cross edges {:.3} separation ratio {r:.3}",
                    cross as f64 / e.len() as f64
                );
                assert!(r < 0.5, "noise={noise} k={k}: intra/inter {r}");
            }
        }
    }

    /// Manual performance check: `cargo test --release layout::tests::perf -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn perf_50k_nodes_200k_edges() {
        let n = 50_000u64;
        let mut rng = SplitMix(5);
        let edges: Vec<(u32, u32, f32)> = (0..200_000)
            .map(|_| ((rng.next() % n) as u32, (rng.next() % n) as u32, 1.0))
            .collect();
        for _ in 0..2 {
            let t = std::time::Instant::now();
            let p = layout(n as usize, &edges, 100, 1, None).unwrap();
            println!(
                "layout 50k/200k x100: {:?} ({} positions)",
                t.elapsed(),
                p.len()
            );
        }
    }
}
