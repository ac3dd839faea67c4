//! Exact top-k of ONE query by dot product, fast: a first pass over an int8 copy of the rows
//! (a quarter of the memory traffic of f32) gives every row an approximate score and a proven
//! error bound; only rows whose bound reaches the k-th best exact score are scored exactly.
//! The answer is the exact top-k (ties by row index), not an approximation.

use rayon::prelude::*;

/// Rows as int8 codes with one scale per row: `row[d] ~= scale * code[d]`, so each value is
/// off by at most `scale / 2`.
#[derive(Clone, Debug, Default)]
pub struct Q8 {
    codes: Vec<i8>,
    scales: Vec<f32>,
    dim: usize,
}

const CHUNK: usize = 2048;

impl Q8 {
    pub fn new(rows: &[f32], dim: usize) -> Self {
        if dim == 0 {
            return Self::default();
        }
        let n = rows.len() / dim;
        let mut codes = vec![0i8; n * dim];
        let mut scales = vec![0f32; n];
        codes
            .par_chunks_mut(dim)
            .zip(scales.par_iter_mut())
            .zip(rows.par_chunks(dim))
            .for_each(|((c, s), r)| {
                let m = r.iter().fold(0f32, |m, v| m.max(v.abs()));
                if m > 0.0 && m.is_finite() {
                    *s = m / 127.0;
                    for (c, v) in c.iter_mut().zip(r) {
                        *c = (v / *s).round().clamp(-127.0, 127.0) as i8;
                    }
                }
            });
        Q8 { codes, scales, dim }
    }

    pub fn len(&self) -> usize {
        self.scales.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `dot_q8` compiled for AVX2 + FMA: the same code, vectorised 8 floats wide.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_q8_avx2(c: &[i8], q: &[f32]) -> f32 {
    dot_q8(c, q)
}

/// The int8 dot product, on the widest vectors this CPU has.
fn dot_q8_best(c: &[i8], q: &[f32], avx2: bool) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: avx2 is true only when the CPU reports AVX2 and FMA (checked by the caller)
        return unsafe { dot_q8_avx2(c, q) };
    }
    let _ = avx2;
    dot_q8(c, q)
}

#[inline(always)]
fn dot_q8(c: &[i8], q: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (cc, cq) = (c.chunks_exact(8), q.chunks_exact(8));
    let tail: f32 = cc
        .remainder()
        .iter()
        .zip(cq.remainder())
        .map(|(x, y)| *x as f32 * y)
        .sum();
    for (x, y) in cc.zip(cq) {
        for l in 0..8 {
            acc[l] += x[l] as f32 * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Exact top-`k` rows of `rows` (n x dim) by dot product with `query`, best first, ties by
/// row index; `q8` must be `Q8::new(rows, dim)`. NaN scores rank last.
pub fn top_k_one(rows: &[f32], q8: &Q8, query: &[f32], k: usize) -> (Vec<u32>, Vec<f32>) {
    let dim = q8.dim;
    let n = q8.len();
    let k = k.min(n);
    if k == 0 || dim == 0 || query.len() != dim {
        return (Vec::new(), Vec::new());
    }
    let l1: f32 = query.iter().map(|v| v.abs()).sum();
    #[cfg(target_arch = "x86_64")]
    let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
    #[cfg(not(target_arch = "x86_64"))]
    let avx2 = false;
    // pass 1: approximate scores and their upper bounds
    let mut upper = vec![0f32; n];
    upper
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(b, out)| {
            let r0 = b * CHUNK;
            for (i, u) in out.iter_mut().enumerate() {
                let r = r0 + i;
                let s = q8.scales[r];
                let approx = s * dot_q8_best(&q8.codes[r * dim..(r + 1) * dim], query, avx2);
                // values are off by at most s/2; the slack covers float rounding
                let bound = s * 0.5 * l1 + 1e-5 * (1.0 + approx.abs());
                *u = if approx.is_nan() {
                    f32::INFINITY
                } else {
                    approx + bound
                };
            }
        });
    let exact = |r: usize| -> f32 {
        let v = dot(&rows[r * dim..(r + 1) * dim], query);
        if v.is_nan() {
            f32::NEG_INFINITY
        } else {
            v
        }
    };
    // pass 2: exact scores of the ~m rows with the best bounds give a threshold T (the k-th
    // best exact score among them, a lower bound of the true k-th best)
    let m = (4 * k + 16).min(n);
    let cut = if m < n {
        let mut b = upper.clone();
        let (_, nth, _) = b.select_nth_unstable_by(m - 1, |x, y| y.total_cmp(x));
        *nth
    } else {
        f32::NEG_INFINITY
    };
    let first = |r: usize| upper[r] >= cut;
    let mut seen: Vec<(f32, u32)> = (0..n)
        .filter(|&r| first(r))
        .map(|r| (exact(r), r as u32))
        .collect();
    seen.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let t = seen[k - 1].0;
    // pass 3: every other row whose bound reaches T may belong in the top k
    let mut more: Vec<(f32, u32)> = (0..n)
        .into_par_iter()
        .filter(|&r| !first(r) && upper[r] >= t)
        .map(|r| (exact(r), r as u32))
        .collect();
    seen.append(&mut more);
    seen.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    seen.truncate(k);
    seen.into_iter().map(|(s, r)| (r, s)).unzip()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute(rows: &[f32], dim: usize, q: &[f32], k: usize) -> Vec<u32> {
        let mut all: Vec<(f32, u32)> = rows
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, r)| (dot(r, q), i as u32))
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        all.into_iter().take(k).map(|x| x.1).collect()
    }

    proptest! {
        #[test]
        fn equals_brute_force(
            n in 1usize..300,
            dim in 1usize..40,
            k in 0usize..30,
            seed in any::<u64>(),
            dup in any::<bool>(),
        ) {
            let mut s = seed | 1;
            let mut next = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; ((s % 2001) as f32 - 1000.0) / 1000.0 };
            let mut rows: Vec<f32> = (0..n * dim).map(|_| next()).collect();
            if dup && n > 2 {
                // exact duplicates make ties
                let first = rows[..dim].to_vec();
                rows[dim..2 * dim].copy_from_slice(&first);
            }
            let q: Vec<f32> = (0..dim).map(|_| next()).collect();
            let q8 = Q8::new(&rows, dim);
            let (ids, scores) = top_k_one(&rows, &q8, &q, k);
            prop_assert_eq!(&ids, &brute(&rows, dim, &q, k));
            prop_assert!(scores.windows(2).all(|w| w[0] >= w[1]));
        }
    }

    #[test]
    fn zero_rows_and_empty_inputs() {
        let rows = vec![0f32; 12];
        let q8 = Q8::new(&rows, 3);
        let (ids, scores) = top_k_one(&rows, &q8, &[1.0, 0.0, 0.0], 2);
        assert_eq!((ids, scores), (vec![0, 1], vec![0.0, 0.0]));
        assert!(top_k_one(&rows, &q8, &[1.0], 2).0.is_empty());
        assert!(top_k_one(&[], &Q8::new(&[], 3), &[1.0, 0.0, 0.0], 2)
            .0
            .is_empty());
    }
}
