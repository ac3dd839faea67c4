//! Symmetric eigendecomposition in f64: Householder reduction to tridiagonal form, then the
//! implicit QL method (the EISPACK `tred2` / `tql2` pair, as in JAMA). O(n^3): about 0.05 s
//! for n = 300, seconds beyond n ~ 1500.

use crate::error::{NgError, Result};

/// Eigenvalues (unsorted) and eigenvectors (row `i` of the n x n row-major result is the unit
/// eigenvector of value `i`) of the symmetric row-major matrix `a` (only read, never changed).
pub(crate) fn symmetric_eigen(a: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    if n == 0 || a.len() != n * n {
        return Err(NgError::invalid(
            "matrix",
            format!("{} values", a.len()),
            format!("expected a {n} x {n} matrix"),
        ));
    }
    let mut v = a.to_vec();
    let mut d = vec![0.0f64; n];
    let mut e = vec![0.0f64; n];
    tred2(&mut v, &mut d, &mut e, n);
    // tql2 rotates columns of V; work on its transpose so every rotation touches two rows.
    let mut w = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..n {
            w[j * n + i] = v[i * n + j];
        }
    }
    tql2(&mut w, &mut d, &mut e, n)?;
    Ok((d, w))
}

/// Householder reduction of the symmetric matrix in `v` to tridiagonal form: on return `d` is
/// the diagonal, `e[1..]` the subdiagonal and `v` the accumulated orthogonal transform.
fn tred2(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    let ix = |r: usize, c: usize| r * n + c;
    for j in 0..n {
        d[j] = v[ix(n - 1, j)];
    }
    for i in (1..n).rev() {
        let mut scale = 0.0;
        let mut h = 0.0;
        for dk in d.iter().take(i) {
            scale += dk.abs();
        }
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[ix(i - 1, j)];
                v[ix(i, j)] = 0.0;
                v[ix(j, i)] = 0.0;
            }
        } else {
            for dk in d.iter_mut().take(i) {
                *dk /= scale;
                h += *dk * *dk;
            }
            let mut f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for ej in e.iter_mut().take(i) {
                *ej = 0.0;
            }
            for j in 0..i {
                f = d[j];
                v[ix(j, i)] = f;
                g = e[j] + v[ix(j, j)] * f;
                for k in j + 1..i {
                    g += v[ix(k, j)] * d[k];
                    e[k] += v[ix(k, j)] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[ix(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[ix(i - 1, j)];
                v[ix(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    // Accumulate the transformations.
    for i in 0..n.saturating_sub(1) {
        v[ix(n - 1, i)] = v[ix(i, i)];
        v[ix(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[ix(k, i + 1)] / h;
            }
            for j in 0..=i {
                let mut g = 0.0;
                for k in 0..=i {
                    g += v[ix(k, i + 1)] * v[ix(k, j)];
                }
                for k in 0..=i {
                    v[ix(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[ix(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[ix(n - 1, j)];
        v[ix(n - 1, j)] = 0.0;
    }
    v[ix(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;
}

/// Implicit QL iterations on the tridiagonal (d, e); `w` holds the transform transposed (row
/// i = column i of V) and ends as the eigenvectors, one per row.
fn tql2(w: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) -> Result<()> {
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0f64;
    let mut tst1 = 0.0f64;
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n {
            if e[m].abs() <= eps * tst1 {
                break;
            }
            m += 1;
        }
        // e[n-1] is 0, so m < n always; keep the guard for safety.
        let m = m.min(n - 1);
        if m > l {
            let mut iter = 0;
            loop {
                iter += 1;
                if iter > 100 {
                    return Err(NgError::invalid(
                        "covariance",
                        format!("eigenvalue {l}"),
                        "the eigen solver did not converge",
                    ));
                }
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for di in d.iter_mut().skip(l + 2) {
                    *di -= h;
                }
                f += h;
                p = d[m];
                let mut c = 1.0;
                let mut c2 = c;
                let mut c3 = c;
                let el1 = e[l + 1];
                let mut s = 0.0;
                let mut s2 = 0.0;
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    // Rotate rows i and i+1 of W (columns of V).
                    let (lo, hi) = w.split_at_mut((i + 1) * n);
                    let wi = &mut lo[i * n..];
                    let wi1 = &mut hi[..n];
                    for (a, b) in wi.iter_mut().zip(wi1.iter_mut()) {
                        let hb = *b;
                        *b = s * *a + c * hb;
                        *a = c * *a - s * hb;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &[f64], n: usize) {
        let (vals, vecs) = symmetric_eigen(a, n).unwrap();
        for i in 0..n {
            let v = &vecs[i * n..(i + 1) * n];
            let norm: f64 = v.iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-10);
            for r in 0..n {
                let av: f64 = (0..n).map(|c| a[r * n + c] * v[c]).sum();
                assert!((av - vals[i] * v[r]).abs() < 1e-9, "A v != lambda v");
            }
            for j in 0..i {
                let dot: f64 = (0..n).map(|c| v[c] * vecs[j * n + c]).sum();
                assert!(dot.abs() < 1e-10);
            }
        }
    }

    #[test]
    fn bootstrap_eigen_small_matrices() {
        check(&[2.0], 1);
        check(&[2.0, 1.0, 1.0, 2.0], 2);
        check(&[0.0; 9], 3);
        check(&[4.0, 1.0, -2.0, 1.0, 3.0, 0.5, -2.0, 0.5, 1.0], 3);
        let n = 12;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let x = ((i * 7 + j * 13) % 11) as f64 - 5.0;
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        check(&a, n);
        // repeated eigenvalues
        let mut id = vec![0.0; 16];
        for i in 0..4 {
            id[i * 4 + i] = 3.0;
        }
        check(&id, 4);
    }
}
