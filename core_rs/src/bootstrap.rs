//! Bootstrap maths: embedding readers (word2vec/GloVe/fastText text, word2vec binary), real
//! PCA to 3-D, deterministic word ids (MurmurHash3 with a seed) and exact top-k cosine search
//! for queries and kNN weaving. Plain Rust: std, rayon and matrixmultiply's f32 GEMM.

mod binary;
mod eigen;
mod ids;
mod parse;
mod pca;
mod scan;
pub mod textfile;
mod topk;

pub use binary::parse_word2vec_binary;
pub use ids::{murmur3_32, resolve_ids, wanted_id, wanted_ids, word_ids, Moved, MAX_ID};
pub use parse::{parse_header, parse_text_block, ParseProblem, ParsedBlock};
pub use pca::{moments, pca, pca_from_moments, Moments, Pca};
pub use scan::{top_k_one, Q8};
pub use textfile::{read_embedding_text, EmbeddingText, TextFileReader};
pub use topk::{check_weave, topk_cosine, topk_cosine_progress, topk_cross, TopK};

use rayon::prelude::*;

/// L2-normalise each row of a row-major (n, dim) matrix in place; returns the original norms.
/// Zero rows stay zero (norm 0). A trailing partial row (len not a multiple of dim) and
/// dim == 0 are left alone (no norms for them).
pub fn normalize_rows(data: &mut [f32], dim: usize) -> Vec<f32> {
    if dim == 0 {
        return Vec::new();
    }
    let n = data.len() / dim;
    data[..n * dim]
        .par_chunks_mut(dim)
        .map(|row| {
            let ss: f64 = row.iter().map(|&x| (x as f64) * (x as f64)).sum();
            let norm = ss.sqrt();
            if norm > 0.0 && norm.is_finite() {
                let inv = 1.0 / norm;
                row.iter_mut().for_each(|x| *x = (*x as f64 * inv) as f32);
            }
            norm as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_normalize_rows() {
        let mut d = vec![3.0, 4.0, 0.0, 0.0, -1.0, 0.0, 7.0];
        let norms = normalize_rows(&mut d, 2);
        assert_eq!(norms, vec![5.0, 0.0, 1.0]);
        assert_eq!(&d[..6], &[0.6, 0.8, 0.0, 0.0, -1.0, 0.0]);
        assert_eq!(d[6], 7.0, "the partial row is untouched");
        assert!(normalize_rows(&mut d, 0).is_empty());
        let mut r: Vec<f32> = (0..3000).map(|i| ((i * 37) % 101) as f32 - 50.0).collect();
        normalize_rows(&mut r, 300);
        for row in r.chunks(300) {
            let n: f64 = row.iter().map(|&x| (x as f64).powi(2)).sum();
            assert!((n - 1.0).abs() < 1e-6);
        }
    }

    /// Deterministic pseudo-random floats in [-1, 1).
    fn lcg(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// Timings for the record: `cargo test --release -- --ignored --nocapture bootstrap`.
    #[test]
    #[ignore]
    fn bootstrap_timings() {
        use std::time::Instant;
        println!("rayon threads: {}", rayon::current_num_threads());

        let (n, dim) = (100_000, 300);
        let mut data = lcg(n * dim, 1);
        // give the data some structure so PCA has real axes
        for (r, row) in data.chunks_mut(dim).enumerate() {
            let t = (r % 97) as f32 / 97.0;
            row[0] += 4.0 * t;
            row[1] -= 2.0 * t;
        }
        let mut best = f64::INFINITY;
        let mut model = None;
        for _ in 0..3 {
            let t = Instant::now();
            model = Some(pca(&data, n, dim, 3).unwrap());
            best = best.min(t.elapsed().as_secs_f64());
        }
        let model = model.unwrap();
        println!(
            "pca 100k x 300 -> 3 axes: {best:.3} s (best of 3; ratios {:?})",
            model.explained_ratio
        );
        let t = Instant::now();
        let pts = model.project3(&data, n, 0).unwrap();
        println!("project3 100k x 300: {:.3} s", t.elapsed().as_secs_f64());
        assert_eq!(pts.len(), n);
        // space="auto" fills 8 spaces: PCA to 24 axes (the same eigendecomposition) + 8 projections
        let t = Instant::now();
        let m24 = pca(&data, n, dim, 24).unwrap();
        let t_pca = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let all = m24.project_all(&data, n).unwrap();
        let t_all = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for j in 0..8 {
            let p = m24.project3(&data, n, 3 * j).unwrap();
            assert!(p
                .iter()
                .enumerate()
                .step_by(997)
                .all(|(i, q)| q[..] == all[i * 24 + 3 * j..i * 24 + 3 * j + 3]));
        }
        println!(
            "pca 100k x 300 -> 24 axes: {t_pca:.3} s (3 axes: {best:.3} s); project_all 24 axes {t_all:.3} s, \
             8 x project3 {:.3} s",
            t.elapsed().as_secs_f64()
        );
        assert!(m24.explained_variance.windows(2).all(|w| w[0] >= w[1]));
        assert_eq!(m24.explained_variance[..3], model.explained_variance[..]);

        let t = Instant::now();
        normalize_rows(&mut data, dim);
        println!(
            "normalize_rows 100k x 300: {:.3} s",
            t.elapsed().as_secs_f64()
        );

        let (n2, dim2, q2) = (50_000, 384, 1_000);
        let mut emb = lcg(n2 * dim2, 2);
        normalize_rows(&mut emb, dim2);
        let mut qs = lcg(q2 * dim2, 3);
        normalize_rows(&mut qs, dim2);
        for (label, nq) in [("1", 1), ("16", 16), ("1000", q2)] {
            let mut best = f64::INFINITY;
            for _ in 0..3 {
                let t = Instant::now();
                let (idx, _, k) =
                    topk_cosine(&emb, n2, dim2, &qs[..nq * dim2], nq, 10, false).unwrap();
                best = best.min(t.elapsed().as_secs_f64());
                assert_eq!((idx.len(), k), (nq * 10, 10));
            }
            println!("topk_cosine {label} x 50k x 384, k=10: {best:.3} s (best of 3)");
        }

        let nw = 20_000;
        let weave = &data[..nw * dim];
        let t = Instant::now();
        let (idx, _, _) = topk_cosine(weave, nw, dim, weave, nw, 10, true).unwrap();
        let s = t.elapsed().as_secs_f64();
        assert_eq!(idx.len(), nw * 10);
        println!(
            "weaving 20k x 20k x 300, k=10: {s:.3} s (extrapolated to 100k: {:.1} s)",
            s * 25.0
        );
        for sb in [256, 1024] {
            let bl = topk::Blocking {
                sb,
                ..topk::BLOCKING
            };
            let t = Instant::now();
            let got = topk::topk_with(weave, nw, dim, weave, nw, 10, true, bl, None).unwrap();
            println!("  symmetric tiles {sb}: {:.3} s", t.elapsed().as_secs_f64());
            assert_eq!(got.0, idx);
        }
        let general = topk::Blocking {
            sb: usize::MAX,
            ..topk::BLOCKING
        };
        let t = Instant::now();
        let got = topk::topk_with(weave, nw, dim, weave, nw, 10, true, general, None).unwrap();
        println!(
            "  general (non-symmetric) path: {:.3} s",
            t.elapsed().as_secs_f64()
        );
        assert_eq!(got.0, idx);

        // a 100k x 300 text file like GloVe's
        let mut text = Vec::with_capacity(260 << 20);
        for (r, row) in data.chunks(dim).enumerate() {
            text.extend_from_slice(format!("word{r}").as_bytes());
            for x in row {
                text.extend_from_slice(format!(" {x:.6}").as_bytes());
            }
            text.push(b'\n');
        }
        let mut best = f64::INFINITY;
        let mut parsed = ParsedBlock::default();
        for _ in 0..3 {
            let t = Instant::now();
            parsed = parse_text_block(&text, None, 1, false).unwrap();
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "parse_text_block {:.0} MB, 100k x 300: {best:.3} s (best of 3)",
            text.len() as f64 / 1e6
        );
        assert_eq!(parsed.words.len(), n);
    }
}
