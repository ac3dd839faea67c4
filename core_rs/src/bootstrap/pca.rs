//! Principal component analysis of an embedding matrix: exact covariance (f32 GEMM per chunk
//! of rows, accumulated in f64) and a symmetric eigendecomposition; projection to 3-D.

use super::eigen::symmetric_eigen;
use crate::error::{NgError, Result};
use rayon::prelude::*;

/// Rows per covariance chunk: the f32 GEMM sums at most this many products per entry before
/// the chunk's result is added into the f64 total.
const COV_ROWS: usize = 2048;
/// Bytes of f64 partial covariance matrices kept at once (one per group of chunks); at least
/// two groups whatever the size, so two threads always share the work.
const COV_PARTIALS_BYTES: usize = 256 << 20;
/// Serialisation tag and version.
const MAGIC: &[u8; 4] = b"NGPC";
const VERSION: u32 = 1;

/// A PCA model: mean (dim), `m` principal axes (m x dim row-major, unit length, mutually
/// orthogonal, sign fixed so the largest-magnitude coordinate of each axis is positive),
/// the variance along each axis, its share of the total variance, and the total.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    pub dim: usize,
    pub mean: Vec<f32>,
    pub components: Vec<f32>,
    pub explained_variance: Vec<f64>,
    pub explained_ratio: Vec<f64>,
    pub total_variance: f64,
}

fn check_shape(data: &[f32], n: usize, dim: usize) -> Result<()> {
    if dim == 0 {
        return Err(NgError::invalid("dim", dim, "must be at least 1"));
    }
    match n.checked_mul(dim) {
        Some(len) if len == data.len() => Ok(()),
        _ => Err(NgError::invalid(
            "data",
            format!("{} values", data.len()),
            format!("expected n x dim = {n} x {dim} values"),
        )),
    }
}

/// Real PCA (not truncation): centre, covariance (sample, divided by n - 1), symmetric
/// eigendecomposition, top `m` axes by variance (ties by axis order). Deterministic for any
/// thread count. Errors: n < 2, dim == 0, m == 0 or m > min(dim, n), non-finite values (the
/// error names the row), data.len() != n * dim.
pub fn pca(data: &[f32], n: usize, dim: usize, m: usize) -> Result<Pca> {
    check_shape(data, n, dim)?;
    if n < 2 {
        return Err(NgError::invalid("n", n, "PCA needs at least 2 rows"));
    }
    if m == 0 || m > dim || m > n {
        return Err(NgError::invalid(
            "m",
            m,
            format!("the number of axes must be in 1..={}", dim.min(n)),
        ));
    }
    let mean = column_mean(data, n, dim)?;
    let cov = covariance(data, n, dim, &mean);
    from_covariance(&cov, dim, m, &mean)
}

/// Sums over a block of rows for a PCA by summation (see [`pca_from_moments`]): the row
/// count, the column sums and X^T X of the rows shifted by `shift` (f64, dim x dim). The same
/// chunked f32 GEMM with f64 accumulation as the single-process covariance.
#[derive(Clone, Debug, PartialEq)]
pub struct Moments {
    pub n: usize,
    pub sum: Vec<f64>,
    pub gram: Vec<f64>,
}

/// The [`Moments`] of `n` rows of `dim` values shifted by `shift` (zeros if None). A shift
/// near the mean (from a first pass of column sums) keeps the f32 products accurate. Errors:
/// dim 0, a length that is not n * dim, a shift of the wrong length, non-finite values (the
/// error names the row).
pub fn moments(data: &[f32], n: usize, dim: usize, shift: Option<&[f32]>) -> Result<Moments> {
    check_shape(data, n, dim)?;
    let zeros = vec![0.0f32; dim];
    let shift = shift.unwrap_or(&zeros);
    if shift.len() != dim {
        return Err(NgError::invalid(
            "shift",
            format!("{} values", shift.len()),
            format!("expected {dim}"),
        ));
    }
    let mut sum = column_sum(data, dim)?;
    sum.iter_mut()
        .zip(shift)
        .for_each(|(s, &c)| *s -= n as f64 * c as f64);
    let gram = centred_gram(data, n, dim, shift);
    Ok(Moments { n, sum, gram })
}

/// The PCA of every row summed into `parts` (each computed with the same `shift`): the mean
/// and the sample covariance follow from the sums exactly as [`pca`] derives them (the shift
/// plays the part of the f32-rounded mean), then the same eigendecomposition, order and
/// signs. Equal to [`pca`] on the concatenated rows up to rounding.
pub fn pca_from_moments(parts: &[Moments], shift: Option<&[f32]>, m: usize) -> Result<Pca> {
    let Some(first) = parts.first() else {
        return Err(NgError::invalid("partials", 0, "need at least one block"));
    };
    let dim = first.sum.len();
    if dim == 0 {
        return Err(NgError::invalid("dim", 0, "must be at least 1"));
    }
    let mut n = 0usize;
    let mut sum = vec![0.0f64; dim];
    let mut gram = vec![0.0f64; dim * dim];
    for (i, p) in parts.iter().enumerate() {
        if p.sum.len() != dim || p.gram.len() != dim * dim {
            return Err(NgError::invalid(
                format!("partials[{i}]"),
                format!("{} sums, {} products", p.sum.len(), p.gram.len()),
                format!("expected {dim} sums and {dim} x {dim} products like partials[0]"),
            ));
        }
        n += p.n;
        sum.iter_mut().zip(&p.sum).for_each(|(a, b)| *a += b);
        gram.iter_mut().zip(&p.gram).for_each(|(a, b)| *a += b);
    }
    let zeros = vec![0.0f32; dim];
    let shift = shift.unwrap_or(&zeros);
    if shift.len() != dim {
        return Err(NgError::invalid(
            "shift",
            format!("{} values", shift.len()),
            format!("expected {dim}"),
        ));
    }
    if n < 2 {
        return Err(NgError::invalid("n", n, "PCA needs at least 2 rows"));
    }
    if m == 0 || m > dim || m > n {
        return Err(NgError::invalid(
            "m",
            m,
            format!("the number of axes must be in 1..={}", dim.min(n)),
        ));
    }
    let delta: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
    let mean: Vec<f64> = delta
        .iter()
        .zip(shift)
        .map(|(d, &c)| c as f64 + d)
        .collect();
    let cov = finish_covariance(gram, n, dim, &delta);
    from_covariance(&cov, dim, m, &mean)
}

/// Eigendecomposition of a covariance into a model: the top `m` axes by variance (ties by
/// axis order), each signed so its largest-magnitude coordinate is positive.
fn from_covariance(cov: &[f64], dim: usize, m: usize, mean: &[f64]) -> Result<Pca> {
    let (vals, vecs) = symmetric_eigen(cov, dim)?;
    let total_variance: f64 = (0..dim).map(|i| cov[i * dim + i]).sum();
    let mut order: Vec<usize> = (0..dim).collect();
    order.sort_by(|&a, &b| vals[b].total_cmp(&vals[a]).then(a.cmp(&b)));
    let mut components = Vec::with_capacity(m * dim);
    let mut explained_variance = Vec::with_capacity(m);
    for &axis in order.iter().take(m) {
        let v = &vecs[axis * dim..(axis + 1) * dim];
        // sign: the largest-magnitude coordinate is positive (first one on ties)
        let mut big = 0;
        for (j, x) in v.iter().enumerate() {
            if x.abs() > v[big].abs() {
                big = j;
            }
        }
        let sign = if v[big] < 0.0 { -1.0 } else { 1.0 };
        components.extend(v.iter().map(|x| (sign * x) as f32));
        explained_variance.push(vals[axis].max(0.0));
    }
    let explained_ratio = explained_variance
        .iter()
        .map(|v| {
            if total_variance > 0.0 {
                v / total_variance
            } else {
                0.0
            }
        })
        .collect();
    Ok(Pca {
        dim,
        mean: mean.iter().map(|&x| x as f32).collect(),
        components,
        explained_variance,
        explained_ratio,
        total_variance,
    })
}

/// Column means in f64 (see [`column_sum`]).
fn column_mean(data: &[f32], n: usize, dim: usize) -> Result<Vec<f64>> {
    let mut mean = column_sum(data, dim)?;
    mean.iter_mut().for_each(|m| *m /= n as f64);
    Ok(mean)
}

/// Column sums in f64, summed per fixed chunk of rows and then in chunk order (so the result
/// does not depend on the thread count); fails on the first non-finite value.
fn column_sum(data: &[f32], dim: usize) -> Result<Vec<f64>> {
    let chunk = COV_ROWS * dim;
    let parts: Vec<std::result::Result<Vec<f64>, (usize, usize, f32)>> = data
        .par_chunks(chunk)
        .enumerate()
        .map(|(c, rows)| {
            let mut sum = vec![0.0f64; dim];
            for (r, row) in rows.chunks_exact(dim).enumerate() {
                for (j, (s, &x)) in sum.iter_mut().zip(row).enumerate() {
                    if !x.is_finite() {
                        return Err((c * COV_ROWS + r, j, x));
                    }
                    *s += x as f64;
                }
            }
            Ok(sum)
        })
        .collect();
    let mut mean = vec![0.0f64; dim];
    for part in parts {
        match part {
            Ok(sum) => mean.iter_mut().zip(&sum).for_each(|(m, s)| *m += s),
            Err((row, col, x)) => {
                return Err(NgError::invalid(
                    format!("column {col}"),
                    x,
                    "embedding values must be finite numbers",
                )
                .at_row(row))
            }
        }
    }
    Ok(mean)
}

/// Sample covariance (dim x dim, row-major, f64). Chunks of COV_ROWS centred rows go through
/// an f32 GEMM (X^T X); each chunk's product is added into an f64 partial of its group, and
/// the groups (a count fixed by the sizes, not the threads) are summed in order.
fn covariance(data: &[f32], n: usize, dim: usize, mean: &[f64]) -> Vec<f64> {
    let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    let cov = centred_gram(data, n, dim, &mean32);
    // The mean was rounded to f32 for centring: remove the leftover offset exactly
    // (sum of (x - mu32) = n * (mean - mu32), a rank-one correction).
    let delta: Vec<f64> = mean
        .iter()
        .zip(&mean32)
        .map(|(&m, &m32)| m - m32 as f64)
        .collect();
    finish_covariance(cov, n, dim, &delta)
}

/// Sum of (x - shift)^T (x - shift) over the rows (dim x dim, f64): f32 GEMM per chunk of
/// COV_ROWS rows, added into an f64 partial per group of chunks (a count fixed by the sizes,
/// not the threads), groups summed in order.
fn centred_gram(data: &[f32], n: usize, dim: usize, shift: &[f32]) -> Vec<f64> {
    let nchunks = n.div_ceil(COV_ROWS);
    if nchunks == 0 {
        return vec![0.0f64; dim * dim];
    }
    let max_groups = (COV_PARTIALS_BYTES / (dim * dim * 8)).clamp(2, 16);
    let groups = nchunks.min(max_groups);
    let per_group = nchunks.div_ceil(groups);
    let partials: Vec<Vec<f64>> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let mut acc = vec![0.0f64; dim * dim];
            let mut xc = vec![0.0f32; COV_ROWS * dim];
            let mut prod = vec![0.0f32; dim * dim];
            let first = g * per_group;
            for c in first..(first + per_group).min(nchunks) {
                let r0 = c * COV_ROWS;
                let rows = COV_ROWS.min(n - r0);
                let src = &data[r0 * dim..(r0 + rows) * dim];
                for (dst, row) in xc.chunks_exact_mut(dim).zip(src.chunks_exact(dim)) {
                    for ((d, &x), &mu) in dst.iter_mut().zip(row).zip(shift) {
                        *d = x - mu;
                    }
                }
                gram(&xc[..rows * dim], rows, dim, &mut prod);
                acc.iter_mut().zip(&prod).for_each(|(a, &p)| *a += p as f64);
            }
            acc
        })
        .collect();
    let mut cov = vec![0.0f64; dim * dim];
    for p in &partials {
        cov.iter_mut().zip(p).for_each(|(c, &x)| *c += x);
    }
    cov
}

/// Sample covariance from the shifted products: subtract n delta delta^T (delta = mean -
/// shift), divide by n - 1, make exactly symmetric.
fn finish_covariance(mut cov: Vec<f64>, n: usize, dim: usize, delta: &[f64]) -> Vec<f64> {
    let scale = 1.0 / (n as f64 - 1.0);
    for i in 0..dim {
        for j in 0..dim {
            let c = &mut cov[i * dim + j];
            *c = (*c - n as f64 * delta[i] * delta[j]) * scale;
        }
    }
    // exact symmetry
    for i in 0..dim {
        for j in 0..i {
            let s = 0.5 * (cov[i * dim + j] + cov[j * dim + i]);
            cov[i * dim + j] = s;
            cov[j * dim + i] = s;
        }
    }
    cov
}

/// out (dim x dim) = X^T X for X (rows x dim, row-major).
fn gram(x: &[f32], rows: usize, dim: usize, out: &mut [f32]) {
    if rows == 0 {
        out.iter_mut().for_each(|o| *o = 0.0);
        return;
    }
    debug_assert!(x.len() == rows * dim && out.len() == dim * dim);
    // SAFETY: A = X^T is dim x rows with element (i, p) = x[p * dim + i] (row stride 1,
    // column stride dim): the largest offset read is (dim-1) + (rows-1)*dim < rows*dim =
    // x.len(). B = X is rows x dim with element (p, j) = x[p * dim + j] (strides dim, 1), the
    // same bound. C is dim x dim with element (i, j) at out[i * dim + j] < dim*dim = out.len().
    // `out` is a unique &mut borrow that does not alias `x`; beta = 0 so C is only written.
    unsafe {
        matrixmultiply::sgemm(
            dim,
            rows,
            dim,
            1.0,
            x.as_ptr(),
            1,
            dim as isize,
            x.as_ptr(),
            dim as isize,
            1,
            0.0,
            out.as_mut_ptr(),
            dim as isize,
            1,
        );
    }
}

impl Pca {
    /// Number of axes kept.
    pub fn n_axes(&self) -> usize {
        self.explained_variance.len()
    }

    /// Project rows onto every axis of the model in one pass over the data: n x m values,
    /// row-major. Each value is summed exactly as [`Pca::project3`] sums it (f64, in dimension
    /// order), so both give the same bits; the m sums of a row are independent, which lets
    /// them run side by side.
    pub fn project_all(&self, data: &[f32], n: usize) -> Result<Vec<f32>> {
        let dim = self.dim;
        check_shape(data, n, dim)?;
        let m = self.n_axes();
        if m == 0 || n == 0 {
            return Ok(Vec::new());
        }
        // components transposed to dim x m, so the inner loop over axes is contiguous
        let mut comp_t = vec![0.0f32; dim * m];
        for a in 0..m {
            for j in 0..dim {
                comp_t[j * m + a] = self.components[a * dim + j];
            }
        }
        let mean = &self.mean;
        let mut out = vec![0.0f32; n * m];
        out.par_chunks_mut(m)
            .zip(data.par_chunks(dim))
            .for_each_init(
                || vec![0.0f64; m],
                |acc, (o, row)| {
                    acc.iter_mut().for_each(|s| *s = 0.0);
                    for ((&x, &mu), w) in row.iter().zip(mean).zip(comp_t.chunks_exact(m)) {
                        let c = x - mu;
                        for (s, &wa) in acc.iter_mut().zip(w) {
                            *s += (c * wa) as f64;
                        }
                    }
                    for (v, &s) in o.iter_mut().zip(acc.iter()) {
                        *v = s as f32;
                    }
                },
            );
        Ok(out)
    }

    /// Project rows onto axes [first, first+3): returns n points (x, y, z).
    pub fn project3(&self, data: &[f32], n: usize, first: usize) -> Result<Vec<[f32; 3]>> {
        let dim = self.dim;
        check_shape(data, n, dim)?;
        let m = self.n_axes();
        if first.checked_add(3).is_none_or(|end| end > m) {
            return Err(NgError::invalid(
                "first",
                first,
                format!("axes first..first+3 must lie within the model's {m} axes"),
            ));
        }
        let axes = &self.components[first * dim..(first + 3) * dim];
        let mean = &self.mean;
        Ok(data
            .par_chunks(dim)
            .map(|row| {
                let mut p = [0.0f32; 3];
                for (a, out) in axes.chunks_exact(dim).zip(p.iter_mut()) {
                    let mut s = 0.0f64;
                    for ((&x, &mu), &w) in row.iter().zip(mean).zip(a) {
                        s += ((x - mu) * w) as f64;
                    }
                    *out = s as f32;
                }
                p
            })
            .collect())
    }

    /// Serialise (little endian): "NGPC", version u32, dim u32, m u32, total f64, mean
    /// (dim f32), components (m*dim f32), explained variance (m f64), ratio (m f64).
    pub fn to_bytes(&self) -> Vec<u8> {
        let m = self.n_axes();
        let mut b = Vec::with_capacity(24 + 4 * self.dim * (m + 1) + 16 * m);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.extend_from_slice(&(self.dim as u32).to_le_bytes());
        b.extend_from_slice(&(m as u32).to_le_bytes());
        b.extend_from_slice(&self.total_variance.to_le_bytes());
        self.mean
            .iter()
            .chain(&self.components)
            .for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
        self.explained_variance
            .iter()
            .chain(&self.explained_ratio)
            .for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
        b
    }

    /// Parse what `to_bytes` wrote; refuses a wrong tag or version, inconsistent sizes and
    /// truncated or overlong input.
    pub fn from_bytes(b: &[u8]) -> std::result::Result<Pca, String> {
        if b.len() < 24 {
            return Err(format!(
                "PCA model: {} bytes is shorter than the 24-byte header",
                b.len()
            ));
        }
        if &b[..4] != MAGIC {
            return Err("PCA model: bad tag (expected \"NGPC\")".into());
        }
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let version = u32_at(4);
        if version != VERSION {
            return Err(format!(
                "PCA model: version {version} is not supported (expected {VERSION})"
            ));
        }
        let dim = u32_at(8) as usize;
        let m = u32_at(12) as usize;
        if dim == 0 || m > dim {
            return Err(format!(
                "PCA model: dim {dim} with {m} axes is inconsistent"
            ));
        }
        let mut total = [0u8; 8];
        total.copy_from_slice(&b[16..24]);
        let total_variance = f64::from_le_bytes(total);
        let floats = dim.checked_mul(m + 1).and_then(|x| x.checked_mul(4));
        let want = floats.and_then(|f| f.checked_add(24 + 16 * m));
        let (Some(floats), Some(want)) = (floats, want) else {
            return Err(format!("PCA model: dim {dim} with {m} axes is too large"));
        };
        if b.len() != want {
            return Err(format!(
                "PCA model: {} bytes, expected {want} for dim {dim} and {m} axes{}",
                b.len(),
                if b.len() < want { " (truncated)" } else { "" }
            ));
        }
        let f32s: Vec<f32> = b[24..24 + floats]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let f64s: Vec<f64> = b[24 + floats..]
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                f64::from_le_bytes(a)
            })
            .collect();
        Ok(Pca {
            dim,
            mean: f32s[..dim].to_vec(),
            components: f32s[dim..].to_vec(),
            explained_variance: f64s[..m].to_vec(),
            explained_ratio: f64s[m..].to_vec(),
            total_variance,
        })
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // index loops mirror the maths
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn unit(v: &[f64]) -> Vec<f64> {
        let n = dot(v, v).sqrt();
        v.iter().map(|x| x / n).collect()
    }

    /// Points mean + 3 s1(r) u1 + s2(r) u2 with +-1 patterns s1, s2 that have zero mean and
    /// zero correlation: the variances along u1, u2 are exactly 9 n/(n-1) and n/(n-1).
    fn plane(n: usize) -> (Vec<f32>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let dim = 6;
        let u1 = unit(&[1.0, 2.0, 0.0, -1.0, 0.0, 3.0]);
        let raw = [0.0, 1.0, 4.0, 2.0, -1.0, 0.0];
        let proj = dot(&raw, &u1);
        let u2 = unit(
            &raw.iter()
                .zip(&u1)
                .map(|(r, u)| r - proj * u)
                .collect::<Vec<_>>(),
        );
        let mean = vec![10.0, -5.0, 0.5, 2.0, 100.0, -3.0];
        let mut data = Vec::with_capacity(n * dim);
        for r in 0..n {
            let s1 = if r % 2 == 0 { 1.0 } else { -1.0 };
            let s2 = if (r / 2) % 2 == 0 { 1.0 } else { -1.0 };
            for j in 0..dim {
                data.push((mean[j] + 3.0 * s1 * u1[j] + s2 * u2[j]) as f32);
            }
        }
        (data, mean, u1, u2)
    }

    /// A deterministic generator of values in [0, 1) (a 64-bit LCG's top 24 bits).
    fn uniform(seed: u64) -> impl FnMut() -> f32 {
        let mut state = seed;
        move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 40) as f32 / (1u64 << 24) as f32
        }
    }

    #[test]
    fn project_all_matches_project3_bit_for_bit() {
        let (n, dim) = (500, 20);
        let mut next = uniform(7);
        let data: Vec<f32> = (0..n * dim).map(|_| next() * 2.0 - 1.0).collect();
        let model = pca(&data, n, dim, 18).unwrap();
        let all = model.project_all(&data, n).unwrap();
        assert_eq!(all.len(), n * 18);
        for j in 0..6 {
            let p = model.project3(&data, n, 3 * j).unwrap();
            for (i, q) in p.iter().enumerate() {
                assert_eq!(
                    q[..],
                    all[i * 18 + 3 * j..i * 18 + 3 * j + 3],
                    "row {i} space {j}"
                );
            }
        }
        assert!(model.project_all(&data[..dim], 2).is_err());
    }

    #[test]
    fn bootstrap_pca_recovers_a_planted_plane() {
        let n = 10_000; // several covariance chunks
        let (data, mean, u1, u2) = plane(n);
        let p = pca(&data, n, 6, 3).unwrap();
        assert_eq!(p.dim, 6);
        assert_eq!(p.components.len(), 18);
        for (m, want) in p.mean.iter().zip(&mean) {
            assert!((*m as f64 - want).abs() < 1e-4, "{m} vs {want}");
        }
        let scale = n as f64 / (n as f64 - 1.0);
        assert!((p.explained_variance[0] - 9.0 * scale).abs() < 1e-3);
        assert!((p.explained_variance[1] - scale).abs() < 1e-3);
        assert!(p.explained_variance[2].abs() < 1e-4);
        assert!((p.total_variance - 10.0 * scale).abs() < 1e-3);
        assert!((p.explained_ratio[0] - 0.9).abs() < 1e-5);
        assert!((p.explained_ratio[1] - 0.1).abs() < 1e-5);
        let axis = |i: usize| -> Vec<f64> {
            p.components[i * 6..(i + 1) * 6]
                .iter()
                .map(|&x| x as f64)
                .collect()
        };
        assert!((dot(&axis(0), &u1).abs() - 1.0).abs() < 1e-5);
        assert!((dot(&axis(1), &u2).abs() - 1.0).abs() < 1e-5);
        for i in 0..3 {
            assert!((dot(&axis(i), &axis(i)) - 1.0).abs() < 1e-6);
            for j in 0..i {
                assert!(dot(&axis(i), &axis(j)).abs() < 1e-6);
            }
            // sign rule: the largest-magnitude coordinate is positive
            let a = axis(i);
            let big = a
                .iter()
                .copied()
                .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            assert!(big > 0.0);
        }
    }

    #[test]
    fn bootstrap_pca_is_thread_count_independent() {
        let n = 9_000;
        let dim = 7;
        let data: Vec<f32> = (0..n * dim)
            .map(|i| ((i * 7919 % 1009) as f32) * 0.01 - 5.0 + (i % dim) as f32)
            .collect();
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| pca(&data, n, dim, 4).unwrap())
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn bootstrap_pca_from_summed_blocks_matches_the_whole() {
        let (n, dim) = (3000, 7);
        let mut next = uniform(11);
        let data: Vec<f32> = (0..n * dim)
            .map(|i| (next() - 0.5) * (1.0 + (i % dim) as f32) + 3.0)
            .collect();
        let whole = pca(&data, n, dim, 4).unwrap();
        // blocks that do not align with COV_ROWS, one of a single row, one empty
        let cuts = [0, 1000, 1001, 1001, 2999, 3000];
        let sums: Vec<Moments> = cuts
            .windows(2)
            .map(|w| moments(&data[w[0] * dim..w[1] * dim], w[1] - w[0], dim, None).unwrap())
            .collect();
        let mut total = vec![0.0f64; dim];
        sums.iter()
            .for_each(|m| total.iter_mut().zip(&m.sum).for_each(|(t, s)| *t += s));
        let shift: Vec<f32> = total.iter().map(|t| (t / n as f64) as f32).collect();
        let parts: Vec<Moments> = cuts
            .windows(2)
            .map(|w| {
                let rows = &data[w[0] * dim..w[1] * dim];
                moments(rows, w[1] - w[0], dim, Some(&shift)).unwrap()
            })
            .collect();
        let got = pca_from_moments(&parts, Some(&shift), 4).unwrap();
        for (a, b) in got.explained_variance.iter().zip(&whole.explained_variance) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{a} vs {b}");
        }
        for (a, b) in got.mean.iter().zip(&whole.mean) {
            assert!((a - b).abs() < 1e-5);
        }
        // same axes, same signs (the sign rule is the same function)
        for (a, b) in got.components.iter().zip(&whole.components) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        assert!(pca_from_moments(&[], None, 2).is_err());
        assert!(pca_from_moments(&parts, Some(&shift[1..]), 2).is_err());
        assert!(
            pca_from_moments(&parts[1..3], None, 2).is_err(),
            "1 row is too few"
        );
        assert!(moments(&data[..dim], 1, dim, Some(&shift[1..])).is_err());
    }

    #[test]
    fn bootstrap_pca_errors() {
        let d = vec![1.0f32; 12];
        assert!(pca(&d, 1, 12, 1).is_err(), "n < 2");
        assert!(pca(&d, 4, 0, 1).is_err(), "dim 0");
        assert!(pca(&d, 4, 3, 0).is_err(), "m 0");
        assert!(pca(&d, 4, 3, 4).is_err(), "m > dim");
        assert!(pca(&d, 2, 6, 3).is_err(), "m > n");
        assert!(pca(&d, 5, 3, 1).is_err(), "len != n*dim");
        let mut bad = d.clone();
        bad[7] = f32::NAN;
        let e = pca(&bad, 4, 3, 1).unwrap_err();
        assert!(matches!(e, NgError::AtRow { row: 2, .. }), "{e}");
        assert!(e.to_string().contains("row 2"), "{e}");
        assert!(e.to_string().contains("column 1"), "{e}");
        // constant data: zero variance, still a model
        let p = pca(&d, 4, 3, 2).unwrap();
        assert_eq!(p.total_variance, 0.0);
        assert_eq!(p.explained_ratio, vec![0.0, 0.0]);
    }

    #[test]
    fn bootstrap_pca_project3_and_bytes() {
        let (data, _, _, _) = plane(64);
        let p = pca(&data, 64, 6, 4).unwrap();
        let pts = p.project3(&data, 64, 0).unwrap();
        assert_eq!(pts.len(), 64);
        for (r, pt) in pts.iter().enumerate() {
            for a in 0..3 {
                let want: f64 = (0..6)
                    .map(|j| (data[r * 6 + j] - p.mean[j]) as f64 * p.components[a * 6 + j] as f64)
                    .sum();
                assert!((pt[a] as f64 - want).abs() < 1e-4);
            }
        }
        // first axis coordinate is +-3, second +-1
        assert!((pts[0][0].abs() - 3.0).abs() < 1e-4);
        assert!((pts[0][1].abs() - 1.0).abs() < 1e-4);
        assert_eq!(p.project3(&data, 64, 1).unwrap().len(), 64);
        assert!(p.project3(&data, 64, 2).is_err(), "axes 2..5 of 4");
        assert!(p.project3(&data, 63, 0).is_err(), "length");
        assert!(p.project3(&[], 0, 0).unwrap().is_empty());

        let b = p.to_bytes();
        assert_eq!(Pca::from_bytes(&b).unwrap(), p);
        for cut in 0..b.len() {
            assert!(Pca::from_bytes(&b[..cut]).is_err(), "truncated at {cut}");
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(Pca::from_bytes(&longer).is_err());
        let mut tag = b.clone();
        tag[0] = b'X';
        assert!(Pca::from_bytes(&tag).unwrap_err().contains("tag"));
        let mut m_big = b.clone();
        m_big[12..16].copy_from_slice(&7u32.to_le_bytes());
        assert!(Pca::from_bytes(&m_big).is_err());
    }

    /// Reference: f64 covariance and power iteration with deflation.
    fn reference(data: &[f32], n: usize, dim: usize, m: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
        let mut mean = vec![0.0; dim];
        for r in 0..n {
            for j in 0..dim {
                mean[j] += data[r * dim + j] as f64 / n as f64;
            }
        }
        let mut c = vec![0.0; dim * dim];
        for r in 0..n {
            for i in 0..dim {
                for j in 0..dim {
                    c[i * dim + j] += (data[r * dim + i] as f64 - mean[i])
                        * (data[r * dim + j] as f64 - mean[j])
                        / (n as f64 - 1.0);
                }
            }
        }
        let mut vals = Vec::new();
        let mut c_def = c.clone();
        for a in 0..m {
            let mut v: Vec<f64> = (0..dim)
                .map(|j| 1.0 + (j * 7 + a * 3) as f64 % 5.0)
                .collect();
            let mut lambda = 0.0;
            for _ in 0..3000 {
                let w: Vec<f64> = (0..dim)
                    .map(|i| dot(&c_def[i * dim..(i + 1) * dim], &v))
                    .collect();
                let norm = dot(&w, &w).sqrt();
                if norm < 1e-300 {
                    break;
                }
                lambda = norm;
                v = w.iter().map(|x| x / norm).collect();
            }
            for i in 0..dim {
                for j in 0..dim {
                    c_def[i * dim + j] -= lambda * v[i] * v[j];
                }
            }
            vals.push(lambda);
        }
        let rows = (0..dim)
            .map(|i| c[i * dim..(i + 1) * dim].to_vec())
            .collect();
        (vals, rows)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn bootstrap_pca_matches_power_iteration(
            n in 3usize..40,
            dim in 1usize..6,
            seed in any::<u64>(),
        ) {
            let mut s = seed | 1;
            let data: Vec<f32> = (0..n * dim).map(|i| {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                ((s % 2001) as f32 / 100.0 - 10.0) * (1.0 + (i % dim) as f32)
            }).collect();
            let m = dim.min(n).min(3);
            let p = pca(&data, n, dim, m).unwrap();
            let (vals, cov) = reference(&data, n, dim, m);
            let top = vals[0].max(1e-9);
            for a in 0..m {
                prop_assert!((p.explained_variance[a] - vals[a]).abs() <= 1e-4 * top,
                    "axis {} variance {} vs {}", a, p.explained_variance[a], vals[a]);
                // the axis is an eigenvector of the exact covariance
                let v: Vec<f64> = p.components[a * dim..(a + 1) * dim].iter().map(|&x| x as f64).collect();
                for (i, row) in cov.iter().enumerate() {
                    let cv = dot(row, &v);
                    prop_assert!((cv - p.explained_variance[a] * v[i]).abs() <= 1e-4 * top);
                }
                for b in 0..a {
                    let w: Vec<f64> = p.components[b * dim..(b + 1) * dim].iter().map(|&x| x as f64).collect();
                    prop_assert!(dot(&v, &w).abs() < 1e-5);
                }
                prop_assert!((dot(&v, &v) - 1.0).abs() < 1e-5);
            }
            let trace: f64 = (0..dim).map(|i| cov[i][i]).sum();
            prop_assert!((p.total_variance - trace).abs() <= 1e-5 * trace.max(1e-9));
        }
    }
}
