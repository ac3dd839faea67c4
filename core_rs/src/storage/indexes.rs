//! The store's indexes (a k-d tree per space, the graph) and the queries that use them.
//! Indexes are built lazily from the current contents and cached with the version they were
//! built from, so a query never sees a stale index: any write changes the version and the
//! next query rebuilds.

use super::{RuntimeStorage, State};
use crate::error::{NgError, Result};
use crate::graph::{Direction, Graph, Traversal};
use crate::grid::{check_point, Hit, SpaceIndex};
use crate::metrics::Op;
use crate::progress::Progress;
use crate::space::{NUM_SPACES, SPACE_NAMES};
use parking_lot::Mutex;
use rayon::prelude::*;
use std::sync::Arc;

pub type GridCache = Mutex<[Option<(u64, Arc<SpaceIndex>)>; NUM_SPACES]>;
pub type GraphCache = Mutex<Option<(u64, u64, Arc<Graph>)>>;

/// What a neighbour or range query starts from.
#[derive(Clone, Copy, Debug)]
pub enum Center {
    Token(u32),
    Point([f32; 3]),
}

/// Hits of one query: token ids and distances (CDNA-scaled units), ascending.
#[derive(Clone, Debug, Default)]
pub struct Hits {
    pub ids: Vec<u32>,
    pub dist: Vec<f32>,
}

/// How path costs are counted.
#[derive(Clone, Copy, Debug)]
pub enum Weight {
    /// Each connection costs 1 / strength.
    Strength,
    /// Each connection costs the scaled distance between its tokens in a space.
    Distance(usize),
    /// Each connection costs 1.
    Hops,
}

/// Summary of one space's index.
#[derive(Clone, Debug)]
pub struct SpaceInfo {
    pub space: usize,
    pub tokens: usize,
    pub bounds: Option<([f32; 3], [f32; 3])>,
    pub memory_bytes: u64,
    pub scale: f32,
}

fn hits(list: Vec<Hit>, scale: f32) -> Hits {
    Hits {
        ids: list.iter().map(|h| h.id).collect(),
        dist: list.iter().map(|h| h.d2.sqrt() * scale).collect(),
    }
}

fn check_scale(scale: f32) -> f32 {
    if scale > 0.0 {
        scale
    } else {
        1.0
    }
}

impl RuntimeStorage {
    /// The index of one space for the current contents (built now if stale).
    fn space_index(&self, st: &State, space: usize) -> Arc<SpaceIndex> {
        let mut cache = self.grids.lock();
        if let Some((v, idx)) = &cache[space] {
            if *v == st.tokens.version {
                return idx.clone();
            }
        }
        let idx = self.metrics.time(Op::GridBuild, || {
            let bit = 1u8 << space;
            let mut ids = Vec::new();
            let mut pts = Vec::new();
            let mut field = Vec::new();
            for (t, m) in st.tokens.records.iter().zip(&st.tokens.defined) {
                if m & bit != 0 {
                    ids.push(t.local_id());
                    pts.push(t.space_coords(space));
                    field.push([t.field_radius, t.field_strength]);
                }
            }
            Arc::new(SpaceIndex::build(ids, pts, field))
        });
        cache[space] = Some((st.tokens.version, idx.clone()));
        idx
    }

    /// The index of one space and the space's CDNA scale, with the lock already given back
    /// (the index is a snapshot: a later write builds a new one).
    fn scaled_index(&self, space: usize) -> (Arc<SpaceIndex>, f32) {
        let st = self.read();
        let scale = check_scale(st.cdna.scales[space]);
        (self.space_index(&st, space), scale)
    }

    /// Where a query starts, in raw coordinates of `space`, and which token to leave out.
    fn resolve(st: &State, space: usize, c: Center) -> Result<([f32; 3], Option<u32>)> {
        match c {
            Center::Point(p) => {
                check_point(&p)?;
                Ok((p, None))
            }
            Center::Token(id) => {
                let slot = st.tokens.slot(id).ok_or(NgError::TokenNotFound(id))?;
                if st.tokens.defined[slot] & (1 << space) == 0 {
                    return Err(NgError::invalid(
                        "token",
                        id,
                        format!(
                            "token {id} is not placed in the {} space",
                            SPACE_NAMES[space]
                        ),
                    ));
                }
                Ok((st.tokens.records[slot].space_coords(space), Some(id)))
            }
        }
    }

    /// Exact k nearest tokens (the query token itself excluded), ties broken by id; stops
    /// with `Err(Interrupted)` when `progress` is cancelled.
    pub fn neighbors(
        &self,
        space: usize,
        c: Center,
        k: usize,
        progress: Option<&Progress>,
    ) -> Result<Hits> {
        self.metrics.time(Op::GridQuery, || {
            let st = self.read();
            let (q, exclude) = Self::resolve(&st, space, c)?;
            let scale = check_scale(st.cdna.scales[space]);
            let idx = self.space_index(&st, space);
            drop(st);
            let found = idx.knn_progress(&q, k, exclude, progress)?;
            if let Some(p) = progress {
                p.start(1);
                p.add(1);
            }
            crate::progress::check(progress)?;
            Ok(hits(found, scale))
        })
    }

    /// Tokens within `radius` (CDNA-scaled units) of a token or point, nearest first.
    pub fn range(&self, space: usize, c: Center, radius: f32) -> Result<Hits> {
        check_radius(radius)?;
        self.metrics.time(Op::GridQuery, || {
            let st = self.read();
            let (q, exclude) = Self::resolve(&st, space, c)?;
            let scale = check_scale(st.cdna.scales[space]);
            let idx = self.space_index(&st, space);
            Ok(hits(idx.within(&q, radius / scale, exclude), scale))
        })
    }

    /// kNN for many points in parallel: (ids, distances, k used), row-major (Q, k); k is
    /// capped at the number of tokens in the space, and a Q x k result that would not fit in
    /// memory is refused (naming the size) before anything is allocated. Counts points done
    /// on `progress` and stops with `Err(Interrupted)` when it is cancelled.
    pub fn neighbors_many(
        &self,
        space: usize,
        points: &[[f32; 3]],
        k: usize,
        progress: Option<&Progress>,
    ) -> Result<(Vec<u32>, Vec<f32>, usize)> {
        for p in points {
            check_point(p)?;
        }
        self.metrics.time(Op::GridQuery, || {
            let (idx, scale) = self.scaled_index(space);
            let k = k.min(idx.len());
            let q = points.len();
            crate::limits::check("k", k, crate::limits::bytes_of(&[q, k, 8]), || {
                format!("the result of {q} queries x k={k} neighbours (ids + distances)")
            })?;
            let (ids, mut d) = idx.knn_many(points, k, progress)?;
            d.par_iter_mut().for_each(|v| *v = v.sqrt() * scale);
            Ok((ids, d, k))
        })
    }

    /// Radius queries for many points in parallel, as CSR (offsets, ids, distances). Stops
    /// with an error, rather than running out of memory, when the hits would not fit.
    pub fn range_many(
        &self,
        space: usize,
        points: &[[f32; 3]],
        radius: f32,
    ) -> Result<(Vec<u64>, Vec<u32>, Vec<f32>)> {
        check_radius(radius)?;
        for p in points {
            check_point(p)?;
        }
        self.metrics.time(Op::GridQuery, || {
            let (idx, scale) = self.scaled_index(space);
            // a hit takes up to 16 bytes while found (8, and growth slack) and 8 in the
            // result; offsets take 8 a point
            let avail = crate::limits::available();
            let room = avail.saturating_sub(points.len() as u64 * 8);
            let max_hits = usize::try_from(room / 24).unwrap_or(usize::MAX);
            let Some((off, ids, mut d)) = idx.within_many(points, radius / scale, max_hits) else {
                return Err(NgError::invalid(
                    "radius",
                    radius,
                    format!(
                        "the {} points find more than {max_hits} tokens in all: at 24 bytes a \
                         hit while they are gathered, more than the {} of memory this process \
                         can get holds; use a smaller radius or fewer points at a time",
                        points.len(),
                        crate::limits::human(Some(avail))
                    ),
                ));
            };
            d.par_iter_mut().for_each(|v| *v = v.sqrt() * scale);
            Ok((off, ids, d))
        })
    }

    /// k nearest over all 24 coordinates, each space weighted by its CDNA scale; only tokens
    /// placed in every space take part.
    pub fn neighbors_all(&self, c: CrossSpaceCenter, k: usize) -> Result<Hits> {
        self.metrics.time(Op::GridQuery, || {
            let st = self.read();
            let (q, exclude) = match c {
                CrossSpaceCenter::Point(p) => {
                    if p.iter().any(|v| !v.is_finite()) {
                        return Err(NgError::invalid(
                            "point",
                            format!("{p:?}"),
                            "query points must be finite numbers",
                        ));
                    }
                    (p, None)
                }
                CrossSpaceCenter::Token(id) => {
                    let slot = st.tokens.slot(id).ok_or(NgError::TokenNotFound(id))?;
                    if st.tokens.defined[slot] != 0xFF {
                        return Err(NgError::invalid(
                            "token",
                            id,
                            "cross-space queries need a token placed in all 8 spaces",
                        ));
                    }
                    let t = &st.tokens.records[slot];
                    let mut p = [0f32; 24];
                    for s in 0..NUM_SPACES {
                        p[s * 3..s * 3 + 3].copy_from_slice(&t.space_coords(s));
                    }
                    (p, Some(id))
                }
            };
            let w: Vec<f32> = st.cdna.scales.iter().map(|s| s * s).collect();
            let mut all: Vec<Hit> = st
                .tokens
                .records
                .par_iter()
                .zip(st.tokens.defined.par_iter())
                .filter(|(t, m)| **m == 0xFF && Some(t.local_id()) != exclude)
                .map(|(t, _)| {
                    let mut d2 = 0f32;
                    for s in 0..NUM_SPACES {
                        let p = t.space_coords(s);
                        let part: f32 = (0..3).map(|a| (p[a] - q[s * 3 + a]).powi(2)).sum();
                        d2 += w[s] * part;
                    }
                    Hit {
                        d2,
                        id: t.local_id(),
                    }
                })
                .collect();
            let k = k.min(all.len());
            let cmp = |a: &Hit, b: &Hit| a.d2.total_cmp(&b.d2).then(a.id.cmp(&b.id));
            if k > 0 && k < all.len() {
                all.select_nth_unstable_by(k - 1, cmp);
            }
            all.truncate(k);
            all.sort_unstable_by(cmp);
            Ok(hits(all, 1.0))
        })
    }

    /// Sum of field_strength x (1 - d / field_radius) over tokens whose field reaches `p`.
    pub fn field_influence(&self, space: usize, p: [f32; 3]) -> Result<f64> {
        check_point(&p)?;
        let st = self.read();
        let idx = self.space_index(&st, space);
        Ok(idx.field_influence(&p))
    }

    /// Tokens per unit volume within `radius` (scaled units) of `p`: count / (4/3 pi r^3).
    pub fn density(&self, space: usize, p: [f32; 3], radius: f32) -> Result<(usize, f64)> {
        check_point(&p)?;
        check_radius(radius)?;
        if radius == 0.0 {
            return Err(NgError::invalid(
                "radius",
                radius,
                "density needs a radius > 0",
            ));
        }
        let (idx, scale) = self.scaled_index(space);
        let n = idx.count_within(&p, radius / scale);
        let vol = 4.0 / 3.0 * std::f64::consts::PI * (radius as f64).powi(3);
        Ok((n, n as f64 / vol))
    }

    /// Sizes, bounds and memory of every space's index (building stale ones).
    pub fn grid_info(&self) -> Vec<SpaceInfo> {
        let st = self.read();
        (0..NUM_SPACES)
            .map(|s| {
                let idx = self.space_index(&st, s);
                SpaceInfo {
                    space: s,
                    tokens: idx.len(),
                    bounds: idx.bounds,
                    memory_bytes: idx.memory_bytes(),
                    scale: st.cdna.scales[s],
                }
            })
            .collect()
    }

    // ---------------- graph ----------------

    fn graph_for(&self, st: &State) -> Arc<Graph> {
        let mut cache = self.graph.lock();
        if let Some((tv, cv, g)) = &*cache {
            if *tv == st.tokens.version && *cv == st.connections.version {
                return g.clone();
            }
        }
        let ids: Vec<u32> = st.tokens.records.iter().map(|t| t.local_id()).collect();
        let g = Arc::new(self.metrics.time(Op::GraphBuild, || {
            Graph::build(&ids, &st.connections.records)
        }));
        *cache = Some((st.tokens.version, st.connections.version, g.clone()));
        g
    }

    /// The current graph (built now if stale) with a read guard of the state it came from.
    pub fn graph(&self) -> Arc<Graph> {
        let st = self.read();
        self.graph_for(&st)
    }

    fn edge_weights(st: &State, w: Weight) -> Result<Vec<f32>> {
        let recs = &st.connections.records;
        Ok(match w {
            Weight::Hops => vec![1.0; recs.len()],
            Weight::Strength => recs
                .par_iter()
                .map(|c| 1.0 / c.pull_strength.abs().max(1e-6))
                .collect(),
            Weight::Distance(space) => {
                let scale = check_scale(st.cdna.scales[space]);
                let coords = |id: u32| -> Option<[f32; 3]> {
                    let slot = st.tokens.slot(id)?;
                    (st.tokens.defined[slot] & (1 << space) != 0)
                        .then(|| st.tokens.records[slot].space_coords(space))
                };
                recs.iter()
                    .map(|c| match (coords(c.token_a), coords(c.token_b)) {
                        (Some(a), Some(b)) => {
                            Ok(((0..3).map(|i| (a[i] - b[i]).powi(2)).sum::<f32>()).sqrt() * scale)
                        }
                        _ => Err(NgError::invalid(
                            "weight",
                            "distance",
                            format!(
                                "connection {} joins a token not placed in the {} space",
                                c.id, SPACE_NAMES[space]
                            ),
                        )),
                    })
                    .collect::<Result<Vec<f32>>>()?
            }
        })
    }

    pub fn bfs(&self, start: u32, depth: Option<u32>) -> Result<Traversal> {
        self.metrics
            .time(Op::GraphQuery, || self.graph().bfs(start, depth))
    }

    /// Tokens within `depth` hops of `seeds` along connections of `kinds` (None: every kind),
    /// following `dir`; see [`Graph::neighbourhood`] for the order.
    pub fn neighbourhood(
        &self,
        seeds: &[u32],
        depth: Option<u32>,
        dir: Direction,
        kinds: Option<&[u8]>,
        limit: Option<usize>,
    ) -> Result<(Vec<u32>, Vec<u32>)> {
        self.metrics.time(Op::GraphQuery, || {
            let st = self.read();
            let g = self.graph_for(&st);
            let mut allowed = [kinds.is_none(); 256];
            for &k in kinds.unwrap_or(&[]) {
                allowed[k as usize] = true;
            }
            let recs = &st.connections.records;
            g.neighbourhood(
                seeds,
                depth,
                dir,
                |ci| allowed[recs[ci as usize].kind as usize],
                limit,
            )
        })
    }

    pub fn dfs(&self, start: u32, depth: Option<u32>) -> Result<Traversal> {
        self.metrics
            .time(Op::GraphQuery, || self.graph().dfs(start, depth))
    }

    /// Cheapest path a -> b under `w`; None when b cannot be reached.
    pub fn shortest_path(&self, a: u32, b: u32, w: Weight) -> Result<Option<(Vec<u32>, f64)>> {
        self.metrics.time(Op::GraphQuery, || {
            let st = self.read();
            let g = self.graph_for(&st);
            let weights = Self::edge_weights(&st, w)?;
            drop(st);
            g.shortest_path(a, b, &weights)
        })
    }

    /// Costs from one token to every token it reaches under `w`.
    pub fn shortest_path_lengths(&self, a: u32, w: Weight) -> Result<(Vec<u32>, Vec<f64>)> {
        self.metrics.time(Op::GraphQuery, || {
            let st = self.read();
            let g = self.graph_for(&st);
            let weights = Self::edge_weights(&st, w)?;
            drop(st);
            g.shortest_path_lengths(a, &weights)
        })
    }

    /// Weakly connected components: (token ids, component label per token, count).
    pub fn components(&self) -> (Vec<u32>, Vec<u32>, usize) {
        self.metrics.time(Op::GraphQuery, || {
            let st = self.read();
            let g = self.graph_for(&st);
            let ids: Vec<u32> = st.tokens.records.iter().map(|t| t.local_id()).collect();
            drop(st);
            let (labels, n) = g.components();
            (ids, labels, n)
        })
    }

    /// Connection records among a set of tokens.
    pub fn subgraph(&self, ids: &[u32]) -> Result<Vec<crate::connection::Connection>> {
        let st = self.read();
        let g = self.graph_for(&st);
        let idx = g.subgraph_edges(ids)?;
        Ok(idx
            .iter()
            .map(|i| st.connections.records[*i as usize])
            .collect())
    }

    /// (token ids, out-degree, in-degree) in store order, counting graph edges: a
    /// bidirectional connection is an out- and an in-edge of both its tokens.
    pub fn degrees(&self) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
        let st = self.read();
        let g = self.graph_for(&st);
        let ids: Vec<u32> = st.tokens.records.iter().map(|t| t.local_id()).collect();
        drop(st);
        let (out, inn) = g.degrees();
        (ids, out, inn)
    }
}

/// Start of a cross-space query: a token or a 24-value point.
#[derive(Clone, Copy, Debug)]
pub enum CrossSpaceCenter {
    Token(u32),
    Point([f32; 24]),
}

fn check_radius(r: f32) -> Result<()> {
    if r.is_finite() && r >= 0.0 {
        Ok(())
    } else {
        Err(NgError::invalid(
            "radius",
            r,
            "must be a finite number >= 0",
        ))
    }
}
