//! Exact top-k by cosine: blocked f32 GEMM (matrixmultiply) of query blocks against data
//! blocks into a small scratch tile, fused with per-query bounded heaps; parallel with rayon.
//!
//! Results are the unique top-k under the order (score descending, index ascending), so they
//! do not depend on the thread count or the blocking: every score is the same fused
//! multiply-add chain whichever block or orientation computes it.

use crate::error::{NgError, Result};
use crate::progress::{self, Progress};
use rayon::prelude::*;
use std::sync::{Mutex, PoisonError};

/// Block sizes: queries per GEMM call, data rows per call (at most matrixmultiply's column
/// block of 1024, so each operand is packed once per call) and the square tile of the
/// symmetric (weaving) path. 512 keeps a scratch tile at 1 MiB (L2-sized); measured best
/// among 256..1024 here.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Blocking {
    pub qb: usize,
    pub db: usize,
    pub sb: usize,
}

pub(crate) const BLOCKING: Blocking = Blocking {
    qb: 512,
    db: 512,
    sb: 512,
};

/// Is hit (sa, ia) better than (sb, ib)? Higher score first, then lower index.
#[inline]
fn better(sa: f32, ia: u32, sb: f32, ib: u32) -> bool {
    sa > sb || (sa == sb && ia < ib)
}

/// Bounded heaps, one per query of a block, in flat storage. Each heap's root is its worst
/// kept hit, so a candidate is compared with one value.
struct Heaps {
    k: usize,
    s: Vec<f32>,
    id: Vec<u32>,
    len: Vec<usize>,
    /// Per query, the score a candidate must reach to be offered (-inf: any).
    floor: Vec<f32>,
}

impl Heaps {
    fn new(queries: usize, k: usize) -> Self {
        Heaps {
            k,
            s: vec![f32::NEG_INFINITY; queries * k],
            id: vec![0; queries * k],
            len: vec![0; queries],
            floor: vec![f32::NEG_INFINITY; queries],
        }
    }

    /// Heaps whose queries only take candidates scoring at least `floor` (per query).
    fn with_floor(queries: usize, k: usize, floor: Option<&[f32]>) -> Self {
        let mut h = Heaps::new(queries, k);
        if let Some(f) = floor {
            h.floor.copy_from_slice(&f[..queries]);
        }
        h
    }

    /// Threshold for query `q`: a candidate below it cannot enter (the floor while not full).
    #[inline]
    fn threshold(&self, q: usize) -> f32 {
        if self.len[q] < self.k {
            self.floor[q]
        } else {
            self.s[q * self.k]
        }
    }

    /// Offer a hit to query `q`'s heap.
    fn push(&mut self, q: usize, score: f32, id: u32) {
        let k = self.k;
        let s = &mut self.s[q * k..(q + 1) * k];
        let ids = &mut self.id[q * k..(q + 1) * k];
        let len = &mut self.len[q];
        if *len < k {
            // sift up: parents are worse than their children
            let mut c = *len;
            *len += 1;
            while c > 0 {
                let p = (c - 1) / 2;
                if better(s[p], ids[p], score, id) {
                    s[c] = s[p];
                    ids[c] = ids[p];
                    c = p;
                } else {
                    break;
                }
            }
            s[c] = score;
            ids[c] = id;
        } else if better(score, id, s[0], ids[0]) {
            // replace the root, sift down towards the worse child
            let mut p = 0;
            loop {
                let l = 2 * p + 1;
                if l >= k {
                    break;
                }
                let r = l + 1;
                let c = if r < k && better(s[l], ids[l], s[r], ids[r]) {
                    r
                } else {
                    l
                };
                if better(score, id, s[c], ids[c]) {
                    s[p] = s[c];
                    ids[p] = ids[c];
                    p = c;
                } else {
                    break;
                }
            }
            s[p] = score;
            ids[p] = id;
        }
    }

    /// Move every hit of `other` (same queries) into `self`.
    fn merge(&mut self, other: &Heaps) {
        for q in 0..self.len.len() {
            for t in 0..other.len[q] {
                let o = q * other.k + t;
                self.push(q, other.s[o], other.id[o]);
            }
        }
    }

    /// Write query `q`'s hits, best first, into `idx` and `scores` (both of length k).
    fn write_sorted(&self, q: usize, idx: &mut [u32], scores: &mut [f32]) {
        let k = self.k;
        let n = self.len[q];
        let mut hits: Vec<(f32, u32)> = self.s[q * k..q * k + n]
            .iter()
            .copied()
            .zip(self.id[q * k..q * k + n].iter().copied())
            .collect();
        hits.sort_unstable_by(|a, b| {
            b.0.partial_cmp(&a.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.1.cmp(&b.1))
        });
        for (t, (s, i)) in hits.into_iter().enumerate() {
            idx[t] = i;
            scores[t] = s;
        }
        // a row with a floor may hold fewer than k hits
        idx[n..k].fill(u32::MAX);
        scores[n..k].fill(f32::NEG_INFINITY);
    }
}

/// Offer the scores of one query against data rows `base..base + row.len()`.
#[inline]
fn scan_row(h: &mut Heaps, q: usize, row: &[f32], base: usize) {
    let mut thr = h.threshold(q);
    let mut chunks = row.chunks_exact(16);
    let mut off = base;
    for chunk in &mut chunks {
        let mut mx = [f32::NEG_INFINITY; 16];
        for (m, &x) in mx.iter_mut().zip(chunk) {
            *m = if x > *m { x } else { *m };
        }
        let top = mx
            .iter()
            .fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
        if top >= thr {
            for (t, &x) in chunk.iter().enumerate() {
                if x >= thr {
                    h.push(q, x, (off + t) as u32);
                    thr = h.threshold(q);
                }
            }
        }
        off += 16;
    }
    for (t, &x) in chunks.remainder().iter().enumerate() {
        if x >= thr {
            h.push(q, x, (off + t) as u32);
            thr = h.threshold(q);
        }
    }
}

/// Offer a tile's columns: column `c` holds the scores of query `c` of `h` against data rows
/// `base..base + rows`; the tile is rows x cols, row-major. The tile is read row by row
/// against a row of thresholds, sixteen at a time, so the pass is sequential and vectorised.
fn scan_cols(h: &mut Heaps, tile: &[f32], rows: usize, cols: usize, base: usize) {
    let mut thr: Vec<f32> = (0..cols).map(|c| h.threshold(c)).collect();
    for (r, row) in tile.chunks_exact(cols).take(rows).enumerate() {
        let id = (base + r) as u32;
        let mut xs = row.chunks_exact(16);
        let mut ts = thr.chunks_exact_mut(16);
        let mut c0 = 0;
        for (x, t) in (&mut xs).zip(&mut ts) {
            let mut any = false;
            for (a, b) in x.iter().zip(t.iter()) {
                any |= *a >= *b;
            }
            if any {
                for (l, (&a, b)) in x.iter().zip(t.iter_mut()).enumerate() {
                    if a >= *b {
                        h.push(c0 + l, a, id);
                        *b = h.threshold(c0 + l);
                    }
                }
            }
            c0 += 16;
        }
        for (l, (&a, b)) in xs
            .remainder()
            .iter()
            .zip(ts.into_remainder().iter_mut())
            .enumerate()
        {
            if a >= *b {
                h.push(c0 + l, a, id);
                *b = h.threshold(c0 + l);
            }
        }
    }
}

/// NaN scores (from NaN inputs) rank as -inf, so the order stays total.
#[inline]
fn sanitize(tile: &mut [f32]) {
    for x in tile.iter_mut() {
        if x.is_nan() {
            *x = f32::NEG_INFINITY;
        }
    }
}

/// tile (ql x dl, row-major) = rows `a` (ql x dim) times rows `b` (dl x dim) transposed.
fn dot_tile(a: &[f32], ql: usize, b: &[f32], dl: usize, dim: usize, tile: &mut [f32]) {
    assert!(a.len() >= ql * dim && b.len() >= dl * dim && tile.len() >= ql * dl);
    if ql == 0 || dl == 0 {
        return;
    }
    // SAFETY: A is ql x dim with element (i, p) at a[i * dim + p] (strides dim, 1): the last
    // offset read is (ql-1)*dim + dim-1 < ql*dim <= a.len(). B is dim x dl with element (p, j)
    // at b[j * dim + p] (strides 1, dim): the last offset is (dl-1)*dim + dim-1 < b.len(). C is
    // ql x dl with element (i, j) at tile[i * dl + j] < ql*dl <= tile.len(), strides (dl, 1)
    // so no two elements alias. `tile` is a unique &mut borrow disjoint from `a` and `b`
    // (which may alias each other: both are only read); beta = 0 so C is only written.
    unsafe {
        matrixmultiply::sgemm(
            ql,
            dim,
            dl,
            1.0,
            a.as_ptr(),
            dim as isize,
            1,
            b.as_ptr(),
            1,
            dim as isize,
            0.0,
            tile.as_mut_ptr(),
            dl as isize,
            1,
        );
    }
}

/// Top-k by cosine: `data` is (n, dim) with L2-normalised rows, `queries` is (q, dim) with
/// L2-normalised rows (the score is the plain inner product, so unnormalised rows rank by
/// dot product). Returns (indices into data (q*k row-major), scores (q*k), k_used), each row
/// sorted by descending score, ties by ascending index; NaN scores rank as -inf. With
/// `exclude_self`, query row i never returns data row i. k is capped at n (n-1 with
/// exclude_self). Errors: dim == 0, k == 0, lengths that are not n*dim / q*dim, n > 2^32.
pub fn topk_cosine(
    data: &[f32],
    n: usize,
    dim: usize,
    queries: &[f32],
    q: usize,
    k: usize,
    exclude_self: bool,
) -> Result<(Vec<u32>, Vec<f32>, usize)> {
    topk_with(data, n, dim, queries, q, k, exclude_self, BLOCKING, None)
}

/// [`topk_cosine`] reporting tiles done to `progress` and stopping with `Interrupted` when it
/// is cancelled.
#[allow(clippy::too_many_arguments)]
pub fn topk_cosine_progress(
    data: &[f32],
    n: usize,
    dim: usize,
    queries: &[f32],
    q: usize,
    k: usize,
    exclude_self: bool,
    progress: Option<&Progress>,
) -> Result<(Vec<u32>, Vec<f32>, usize)> {
    topk_with(
        data,
        n,
        dim,
        queries,
        q,
        k,
        exclude_self,
        BLOCKING,
        progress,
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn topk_with(
    data: &[f32],
    n: usize,
    dim: usize,
    queries: &[f32],
    q: usize,
    k: usize,
    exclude_self: bool,
    bl: Blocking,
    progress: Option<&Progress>,
) -> Result<(Vec<u32>, Vec<f32>, usize)> {
    if dim == 0 {
        return Err(NgError::invalid("dim", dim, "must be at least 1"));
    }
    if k == 0 {
        return Err(NgError::invalid("k", k, "must be at least 1"));
    }
    if n.checked_mul(dim) != Some(data.len()) {
        return Err(NgError::invalid(
            "data",
            format!("{} values", data.len()),
            format!("expected n x dim = {n} x {dim} values"),
        ));
    }
    if q.checked_mul(dim) != Some(queries.len()) {
        return Err(NgError::invalid(
            "queries",
            format!("{} values", queries.len()),
            format!("expected q x dim = {q} x {dim} values"),
        ));
    }
    if n > u32::MAX as usize {
        return Err(NgError::invalid("n", n, "at most 2^32 - 1 data rows"));
    }
    let k_used = if exclude_self {
        k.min(n.saturating_sub(1))
    } else {
        k.min(n)
    };
    if k_used == 0 || q == 0 {
        return Ok((Vec::new(), Vec::new(), k_used));
    }
    // heaps (8 bytes a hit) per query block and data segment, then the result (8 a hit)
    let segs = if symmetric_path(exclude_self, n, q, bl) {
        2
    } else {
        segments(q.div_ceil(bl.qb), n.div_ceil(bl.db))
    };
    crate::limits::check(
        "k",
        k_used,
        crate::limits::bytes_of(&[q, k_used, 8 * (segs + 1)]),
        || format!("the top {k_used} of {q} queries (ids + scores)"),
    )?;
    let symmetric = symmetric_path(exclude_self, n, q, bl)
        && (std::ptr::eq(data.as_ptr(), queries.as_ptr())
            || data
                .iter()
                .zip(queries)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
    let (qblock, heaps) = if symmetric {
        (
            bl.sb,
            symmetric_heaps(data, n, dim, k_used, bl.sb, progress),
        )
    } else {
        (
            bl.qb,
            general_heaps(data, n, dim, queries, q, k_used, exclude_self, bl, progress),
        )
    };
    progress::check(progress)?;
    sorted_rows(&heaps, qblock, q, k_used)
}

/// The rows of per-block heaps (`qblock` rows each, the last one shorter), best first:
/// (indices (q*k), scores (q*k), k).
fn sorted_rows(heaps: &[Heaps], qblock: usize, q: usize, k_used: usize) -> Result<TopK> {
    let mut idx: Vec<u32> = crate::limits::zeroed(q * k_used, "the top-k ids")?;
    let mut scores: Vec<f32> = crate::limits::zeroed(q * k_used, "the top-k scores")?;
    if k_used == 0 {
        return Ok((idx, scores, k_used));
    }
    idx.par_chunks_mut(qblock * k_used)
        .zip(scores.par_chunks_mut(qblock * k_used))
        .zip(heaps.par_iter())
        .for_each(|((ib, sb), h)| {
            for (r, (ir, sr)) in ib
                .chunks_exact_mut(k_used)
                .zip(sb.chunks_exact_mut(k_used))
                .enumerate()
            {
                h.write_sorted(r, ir, sr);
            }
        });
    Ok((idx, scores, k_used))
}

/// A top-k result: row indices (rows x k, row-major), scores (rows x k), k.
pub type TopK = (Vec<u32>, Vec<f32>, usize);

/// Whether weaving (queries are the data, self excluded) takes the symmetric path.
fn symmetric_path(exclude_self: bool, n: usize, q: usize, bl: Blocking) -> bool {
    exclude_self && q == n && n > bl.sb
}

/// Data segments per query block: more than one only when there are too few query blocks to
/// keep every thread busy.
fn segments(nqb: usize, ndb: usize) -> usize {
    let want = 4 * rayon::current_num_threads();
    if nqb >= want {
        1
    } else {
        want.div_ceil(nqb.max(1)).min(ndb).max(1)
    }
}

/// Weave two disjoint row sets, each pair scored once: for every row of `a` its top k rows
/// of `b`, and for every row of `b` its top k rows of `a` (both by (score descending, index
/// ascending); indices are local to the other set). The tiles are those of the single-process
/// weave (`sb` square), so every score is bitwise what [`topk_cosine`] computes for the pair.
/// Returns (a's result, b's result); k is capped at the other set's size.
///
/// `floors` (one score per row of `a`, one per row of `b`) skip what cannot matter: a
/// candidate scoring below its row's floor is not kept, so a row may get fewer than k hits
/// (the rest of its result is padded with index u32::MAX and -inf). The k-th score of a row's
/// own block is such a floor: k better candidates are already known. Ties at the floor are
/// kept, so merging with the block's own top k stays exact.
pub fn topk_cross(
    a: &[f32],
    na: usize,
    b: &[f32],
    nb: usize,
    dim: usize,
    k: usize,
    floors: Option<(&[f32], &[f32])>,
) -> Result<(TopK, TopK)> {
    topk_cross_with(a, na, b, nb, dim, k, BLOCKING.sb, floors)
}

#[allow(clippy::too_many_arguments)]
fn topk_cross_with(
    a: &[f32],
    na: usize,
    b: &[f32],
    nb: usize,
    dim: usize,
    k: usize,
    sb: usize,
    floors: Option<(&[f32], &[f32])>,
) -> Result<(TopK, TopK)> {
    if let Some((fa, fb)) = floors {
        if fa.len() != na || fb.len() != nb {
            return Err(NgError::invalid(
                "floors",
                format!("{} and {} values", fa.len(), fb.len()),
                format!("expected one per row: {na} and {nb}"),
            ));
        }
    }
    let (fa, fb) = (floors.map(|f| f.0), floors.map(|f| f.1));
    if dim == 0 {
        return Err(NgError::invalid("dim", dim, "must be at least 1"));
    }
    if k == 0 {
        return Err(NgError::invalid("k", k, "must be at least 1"));
    }
    for (name, data, n) in [("a", a, na), ("b", b, nb)] {
        if n.checked_mul(dim) != Some(data.len()) {
            return Err(NgError::invalid(
                name,
                format!("{} values", data.len()),
                format!("expected {n} x {dim} values"),
            ));
        }
        if n > u32::MAX as usize {
            return Err(NgError::invalid(name, n, "at most 2^32 - 1 rows"));
        }
    }
    let (ka, kb) = (k.min(nb), k.min(na));
    let blocks = |n: usize| n.div_ceil(sb);
    let len = |n: usize, blk: usize| sb.min(n - blk * sb);
    let shared: Vec<Mutex<Heaps>> = (0..blocks(nb))
        .map(|bj| {
            let (j0, jl) = (bj * sb, len(nb, bj));
            Mutex::new(Heaps::with_floor(jl, kb, fb.map(|f| &f[j0..j0 + jl])))
        })
        .collect();
    let own: Vec<Heaps> = (0..blocks(na))
        .into_par_iter()
        .with_max_len(1)
        .map(|bi| {
            let (i0, il) = (bi * sb, len(na, bi));
            let mut h = Heaps::with_floor(il, ka, fa.map(|f| &f[i0..i0 + il]));
            let mut tile = vec![0f32; il * sb.min(nb)];
            if ka == 0 || kb == 0 {
                return h;
            }
            for (bj, slot) in shared.iter().enumerate() {
                let (j0, jl) = (bj * sb, len(nb, bj));
                let pair = TilePair {
                    a: &a[i0 * dim..(i0 + il) * dim],
                    al: il,
                    a0: i0,
                    b: &b[j0 * dim..(j0 + jl) * dim],
                    bl: jl,
                    b0: j0,
                    dim,
                };
                pair.score(&mut tile, &mut h, Some(slot));
            }
            h
        })
        .collect();
    let shared: Vec<Heaps> = shared
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(PoisonError::into_inner))
        .collect();
    Ok((
        sorted_rows(&own, sb, na, ka)?,
        sorted_rows(&shared, sb, nb, kb)?,
    ))
}

/// Refuse a bootstrap whose weaving of `k` neighbours for each of `n` words would not fit in
/// memory: the top-k search (24 bytes a candidate edge), then the edges kept within the
/// out-degree limit as connection records (about 150 bytes each while they are built).
pub fn check_weave(n: usize, k: usize, max_out_degree: usize) -> Result<()> {
    let k_used = k.min(n.saturating_sub(1));
    let kept = k_used.min(max_out_degree);
    let search = crate::limits::bytes_of(&[n, k_used, 24]);
    let build = crate::limits::bytes_of(&[n, kept, 150]);
    let need = search.zip(build).map(|(a, b)| a.max(b));
    crate::limits::check("k", k, need, || {
        format!(
            "weaving k={k_used} neighbours for each of {n} words ({} candidate connections)",
            n.saturating_mul(k_used)
        )
    })
}

/// Tasks are (query block, data segment); segments only when there are too few query blocks
/// to keep every thread busy. Returns one merged heap set per query block.
#[allow(clippy::too_many_arguments)]
fn general_heaps(
    data: &[f32],
    n: usize,
    dim: usize,
    queries: &[f32],
    q: usize,
    k: usize,
    exclude_self: bool,
    bl: Blocking,
    progress: Option<&Progress>,
) -> Vec<Heaps> {
    let (qb, db) = (bl.qb, bl.db);
    let nqb = q.div_ceil(qb);
    let ndb = n.div_ceil(db);
    let segs = segments(nqb, ndb);
    if let Some(p) = progress {
        p.start((nqb * ndb) as u64);
    }
    let parts: Vec<Heaps> = (0..nqb * segs)
        .into_par_iter()
        .with_max_len(1)
        .map(|t| {
            let (b, s) = (t / segs, t % segs);
            let i0 = b * qb;
            let ql = qb.min(q - i0);
            let qrows = &queries[i0 * dim..(i0 + ql) * dim];
            let mut h = Heaps::new(ql, k);
            let mut tile = vec![0f32; ql * db];
            for blk in s * ndb / segs..(s + 1) * ndb / segs {
                if progress::cancelled(progress) {
                    break;
                }
                let j0 = blk * db;
                let dl = db.min(n - j0);
                let tile = &mut tile[..ql * dl];
                dot_tile(qrows, ql, &data[j0 * dim..(j0 + dl) * dim], dl, dim, tile);
                sanitize(tile);
                for (r, row) in tile.chunks_exact(dl).enumerate() {
                    let qi = i0 + r;
                    if exclude_self && (j0..j0 + dl).contains(&qi) {
                        let p = qi - j0;
                        scan_row(&mut h, r, &row[..p], j0);
                        scan_row(&mut h, r, &row[p + 1..], qi + 1);
                    } else {
                        scan_row(&mut h, r, row, j0);
                    }
                }
                if let Some(p) = progress {
                    p.add(1);
                }
            }
            h
        })
        .collect();
    let mut out = Vec::with_capacity(nqb);
    let mut it = parts.into_iter();
    for _ in 0..nqb {
        let mut first = it.next();
        for _ in 1..segs {
            if let (Some(f), Some(other)) = (first.as_mut(), it.next()) {
                f.merge(&other);
            }
        }
        if let Some(f) = first {
            out.push(f);
        }
    }
    out
}

/// One tile of a weave: rows `a` (al rows, numbered from a0) against rows `b` (bl rows,
/// numbered from b0). Every score is computed once and offered to the row's heap in `h` (the
/// rows of `a`) and, with `cols`, to the column's heap (the rows of `b`; the score of (j, i)
/// is bitwise that of (i, j)). Without `cols`, `a` and `b` are the same rows (a diagonal
/// tile) and a row never meets itself.
struct TilePair<'a> {
    a: &'a [f32],
    al: usize,
    a0: usize,
    b: &'a [f32],
    bl: usize,
    b0: usize,
    dim: usize,
}

impl TilePair<'_> {
    fn score(&self, scratch: &mut [f32], h: &mut Heaps, cols: Option<&Mutex<Heaps>>) {
        let (il, jl, j0) = (self.al, self.bl, self.b0);
        let tile = &mut scratch[..il * jl];
        dot_tile(self.a, il, self.b, jl, self.dim, tile);
        sanitize(tile);
        let diagonal = cols.is_none();
        for (r, row) in tile.chunks_exact(jl).enumerate() {
            if diagonal {
                scan_row(h, r, &row[..r], j0);
                scan_row(h, r, &row[r + 1..], j0 + r + 1);
            } else {
                scan_row(h, r, row, j0);
            }
        }
        if let Some(c) = cols {
            let mut c = c.lock().unwrap_or_else(PoisonError::into_inner);
            scan_cols(&mut c, tile, il, jl, self.a0);
        }
    }
}

/// Weaving (queries are the data, self excluded): only tiles (I, J) with I <= J are computed.
/// Rows of a tile feed block I's own heaps; its columns feed block J's shared heaps (the
/// score of (j, i) is bitwise that of (i, j)). Each data pair is seen exactly once.
fn symmetric_heaps(
    data: &[f32],
    n: usize,
    dim: usize,
    k: usize,
    sb: usize,
    progress: Option<&Progress>,
) -> Vec<Heaps> {
    let nb = n.div_ceil(sb);
    if let Some(p) = progress {
        p.start((nb * (nb + 1) / 2) as u64);
    }
    let block_len = |b: usize| sb.min(n - b * sb);
    let shared: Vec<Mutex<Heaps>> = (0..nb)
        .map(|b| Mutex::new(Heaps::new(block_len(b), k)))
        .collect();
    let mut own: Vec<Heaps> = (0..nb)
        .into_par_iter()
        .with_max_len(1)
        .map(|bi| {
            let i0 = bi * sb;
            let il = block_len(bi);
            let rows_i = &data[i0 * dim..(i0 + il) * dim];
            let mut h = Heaps::new(il, k);
            let mut tile = vec![0f32; il * sb];
            for (bj, slot) in shared.iter().enumerate().skip(bi) {
                if progress::cancelled(progress) {
                    break;
                }
                let j0 = bj * sb;
                let jl = block_len(bj);
                let rows_j = &data[j0 * dim..(j0 + jl) * dim];
                let pair = TilePair {
                    a: rows_i,
                    al: il,
                    a0: i0,
                    b: rows_j,
                    bl: jl,
                    b0: j0,
                    dim,
                };
                pair.score(&mut tile, &mut h, (bi != bj).then_some(slot));
                if let Some(p) = progress {
                    p.add(1);
                }
            }
            h
        })
        .collect();
    for (h, s) in own.iter_mut().zip(shared) {
        let s = s.into_inner().unwrap_or_else(PoisonError::into_inner);
        h.merge(&s);
    }
    own
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn progress_counts_tiles_and_cancel_interrupts() {
        let (n, dim) = (40, 4);
        let data = ints(n * dim, 7);
        let p = Progress::new();
        let got = topk_with(&data, n, dim, &data, n, 3, true, TINY, Some(&p)).unwrap();
        assert_eq!(got, brute(&data, n, dim, &data, n, 3, true));
        assert!(p.total() > 0 && p.done() == p.total());
        p.cancel();
        let r = topk_with(&data, n, dim, &data, n, 3, true, TINY, Some(&p));
        assert!(matches!(r, Err(NgError::Interrupted)));
        let r = topk_with(&data, n, dim, &data[..8], 2, 3, false, TINY, Some(&p));
        assert!(matches!(r, Err(NgError::Interrupted)));
    }

    const TINY: Blocking = Blocking {
        qb: 3,
        db: 5,
        sb: 4,
    };

    /// Scores are exact here (small integers), so any summation order agrees.
    fn brute(
        data: &[f32],
        n: usize,
        dim: usize,
        queries: &[f32],
        q: usize,
        k: usize,
        exclude_self: bool,
    ) -> (Vec<u32>, Vec<f32>, usize) {
        let k_used = if exclude_self {
            k.min(n.saturating_sub(1))
        } else {
            k.min(n)
        };
        let mut idx = Vec::new();
        let mut sc = Vec::new();
        for qi in 0..q {
            let mut all: Vec<(f32, u32)> = (0..n)
                .filter(|&j| !(exclude_self && j == qi))
                .map(|j| {
                    let s: f32 = (0..dim)
                        .map(|p| queries[qi * dim + p] * data[j * dim + p])
                        .sum();
                    (s, j as u32)
                })
                .collect();
            all.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
            for (s, j) in all.into_iter().take(k_used) {
                idx.push(j);
                sc.push(s);
            }
        }
        if k_used == 0 {
            idx.clear();
            sc.clear();
        }
        (idx, sc, k_used)
    }

    fn ints(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 5) as f32 - 2.0
            })
            .collect()
    }

    fn floats(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f32 / (1u64 << 53) as f32 - 0.5
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn bootstrap_topk_equals_brute_force(
            n in 1usize..40,
            dim in 1usize..6,
            q in 1usize..12,
            k in 1usize..45,
            self_mode in 0u8..3,
            seed in any::<u64>(),
        ) {
            let data = ints(n * dim, seed);
            // self_mode 0: other queries; 1: exclude_self with data as queries; 2: same, not excluded
            let (queries, q) = if self_mode == 0 { (ints(q * dim, seed ^ 0x9e37), q) } else { (data.clone(), n) };
            let excl = self_mode == 1;
            let want = brute(&data, n, dim, &queries, q, k, excl);
            for bl in [BLOCKING, TINY] {
                let got = topk_with(&data, n, dim, &queries, q, k, excl, bl, None).unwrap();
                prop_assert_eq!(&got, &want);
            }
            // the same slice as queries takes the symmetric path when it is long enough
            if self_mode == 1 {
                let got = topk_with(&data, n, dim, &data, n, k, true, TINY, None).unwrap();
                prop_assert_eq!(&got, &want);
            }
        }
    }

    #[test]
    fn bootstrap_topk_paths_agree_bitwise() {
        // random floats, dim > 256 so matrixmultiply splits the inner dimension
        let (n, dim) = (300, 300);
        let data = floats(n * dim, 5);
        let copy = data.clone();
        let small = Blocking {
            qb: 7,
            db: 33,
            sb: 37,
        };
        let general = topk_with(&data, n, dim, &copy, n, 9, true, small, None).unwrap();
        let sym = topk_with(&data, n, dim, &data, n, 9, true, small, None).unwrap();
        let default = topk_cosine(&data, n, dim, &data, n, 9, true).unwrap();
        assert_eq!(general, sym);
        assert_eq!(general, default);
        for (q, row) in general.0.chunks(9).enumerate() {
            assert!(!row.contains(&(q as u32)));
        }
        // scores are sorted
        for row in general.1.chunks(9) {
            assert!(row.windows(2).all(|w| w[0] >= w[1]));
        }
    }

    #[test]
    fn bootstrap_topk_is_thread_count_independent() {
        let (n, dim, q) = (3000, 24, 700);
        let data = floats(n * dim, 11);
        let queries = floats(q * dim, 12);
        let run = |threads: usize, same: bool| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    if same {
                        topk_with(&data, n, dim, &data, n, 15, true, TINY, None).unwrap()
                    } else {
                        topk_with(&data, n, dim, &queries, q, 15, false, BLOCKING, None).unwrap()
                    }
                })
        };
        assert_eq!(run(1, false), run(3, false));
        assert_eq!(run(1, true), run(4, true));
    }

    #[test]
    fn cross_weave_of_blocks_merges_to_the_whole_weave() {
        // rows 0..n split at `cut`: each row's top k = its block's own weave merged with the
        // cross weave, ties by global row
        let (n, dim, k, cut) = (61, 3, 5, 23);
        let data = ints(n * dim, 9);
        let want = brute(&data, n, dim, &data, n, k, true);
        let (a, b) = data.split_at(cut * dim);
        let (ta, tb) = topk_cross_with(a, cut, b, n - cut, dim, k, 7, None).unwrap();
        let own_a = topk_with(a, cut, dim, a, cut, k, true, TINY, None).unwrap();
        let own_b = topk_with(b, n - cut, dim, b, n - cut, k, true, TINY, None).unwrap();
        for row in 0..n {
            let mut hits: Vec<(f32, u32)> = Vec::new();
            let (own, cross, base_own, base_cross, r) = if row < cut {
                (&own_a, &ta, 0, cut as u32, row)
            } else {
                (&own_b, &tb, cut as u32, 0, row - cut)
            };
            for t in 0..own.2 {
                hits.push((own.1[r * own.2 + t], own.0[r * own.2 + t] + base_own));
            }
            for t in 0..cross.2 {
                hits.push((
                    cross.1[r * cross.2 + t],
                    cross.0[r * cross.2 + t] + base_cross,
                ));
            }
            hits.sort_by(|x, y| y.0.partial_cmp(&x.0).unwrap().then(x.1.cmp(&y.1)));
            let got: Vec<u32> = hits.iter().take(k).map(|h| h.1).collect();
            assert_eq!(got, want.0[row * k..(row + 1) * k].to_vec(), "row {row}");
        }
        // floors from each block's own k-th score skip candidates and change nothing
        let floor = |own: &TopK, rows: usize| -> Vec<f32> {
            (0..rows)
                .map(|r| {
                    if own.2 == k {
                        own.1[r * k + k - 1]
                    } else {
                        f32::NEG_INFINITY
                    }
                })
                .collect()
        };
        let (fa, fb) = (floor(&own_a, cut), floor(&own_b, n - cut));
        let (ga, gb) = topk_cross_with(a, cut, b, n - cut, dim, k, 7, Some((&fa, &fb))).unwrap();
        for (got, full, own, base_own, base_cross, rows) in [
            (&ga, &ta, &own_a, 0u32, cut as u32, cut),
            (&gb, &tb, &own_b, cut as u32, 0u32, n - cut),
        ] {
            for r in 0..rows {
                let merged = |c: &TopK| {
                    let mut hits: Vec<(f32, u32)> = (0..own.2)
                        .map(|t| (own.1[r * own.2 + t], own.0[r * own.2 + t] + base_own))
                        .chain(
                            (0..c.2)
                                .filter(|t| c.0[r * c.2 + t] != u32::MAX)
                                .map(|t| (c.1[r * c.2 + t], c.0[r * c.2 + t] + base_cross)),
                        )
                        .collect();
                    hits.sort_by(|x, y| y.0.partial_cmp(&x.0).unwrap().then(x.1.cmp(&y.1)));
                    hits.truncate(k);
                    hits
                };
                assert_eq!(merged(got), merged(full), "row {r}");
            }
        }
        assert!(topk_cross(a, cut, b, n - cut, dim, k, Some((&fa[1..], &fb))).is_err());
        assert!(topk_cross(a, cut, b, n - cut, 0, k, None).is_err());
        assert!(topk_cross(a, cut, b, n - cut, dim, 0, None).is_err());
        assert!(topk_cross(a, cut + 1, b, n - cut, dim, k, None).is_err());
        let (e, f) = topk_cross(&[], 0, b, n - cut, dim, k, None).unwrap();
        assert_eq!((e.2, f.2, f.0.len()), (k, 0, 0));
    }

    #[test]
    fn bootstrap_topk_edges_and_errors() {
        let data = vec![1.0, 0.0, 0.0, 1.0];
        assert!(topk_cosine(&data, 2, 0, &data, 2, 1, false).is_err());
        assert!(topk_cosine(&data, 2, 2, &data, 2, 0, false).is_err());
        assert!(topk_cosine(&data, 3, 2, &data, 2, 1, false).is_err());
        assert!(topk_cosine(&data, 2, 2, &data[..3], 2, 1, false).is_err());
        // k capped at n, at n - 1 with exclude_self
        let (i, s, k) = topk_cosine(&data, 2, 2, &data, 2, 10, false).unwrap();
        assert_eq!((i, s, k), (vec![0, 1, 1, 0], vec![1.0, 0.0, 1.0, 0.0], 2));
        let (i, _, k) = topk_cosine(&data, 2, 2, &data, 2, 10, true).unwrap();
        assert_eq!((i, k), (vec![1, 0], 1));
        let (i, s, k) = topk_cosine(&data[..2], 1, 2, &data, 2, 3, true).unwrap();
        assert_eq!((i.len(), s.len(), k), (0, 0, 0));
        let (i, _, k) = topk_cosine(&[], 0, 2, &data, 2, 3, false).unwrap();
        assert_eq!((i.len(), k), (0, 0));
        // NaN rows rank last
        let d = vec![f32::NAN, 0.0, 0.5, 0.5, -1.0, 0.0];
        let (i, _, _) = topk_cosine(&d, 3, 2, &[1.0, 0.0], 1, 3, false).unwrap();
        assert_eq!(i, vec![1, 2, 0]);
    }
}
