//! One byte per coordinate for drawing: each column is mapped over its finite range to codes
//! 0..=254, and 255 marks a missing (NaN) value. The explorers send these to the browser.

use rayon::prelude::*;

/// The code of a missing value.
pub const MISSING: u8 = 255;

/// Range of one column: code q stands for `lo + q * step` (q in 0..=254).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColumnRange {
    pub lo: f64,
    pub step: f64,
}

/// Quantise the rows `order` of a row-major `(n, cols)` matrix: returns `order.len() * cols`
/// codes (row i of the output is row `order[i]` of the input) and each column's range.
/// Indices in `order` must be `< n` (checked: an out-of-range index is an error).
pub fn quantize_u8(
    data: &[f32],
    cols: usize,
    order: &[u32],
) -> crate::Result<(Vec<u8>, Vec<ColumnRange>)> {
    if cols == 0 || !data.len().is_multiple_of(cols) {
        return Err(crate::NgError::invalid(
            "coords",
            format!("{} values", data.len()),
            format!("a whole number of rows of {cols}"),
        ));
    }
    let n = data.len() / cols;
    if let Some(bad) = order.iter().find(|&&i| i as usize >= n) {
        return Err(crate::NgError::invalid(
            "order",
            bad,
            format!("row indices must be < {n}"),
        ));
    }
    let fold = |mut acc: Vec<(f32, f32)>, row: &[f32]| {
        for (a, &v) in acc.iter_mut().zip(row) {
            if v.is_finite() {
                a.0 = a.0.min(v);
                a.1 = a.1.max(v);
            }
        }
        acc
    };
    let init = || vec![(f32::INFINITY, f32::NEG_INFINITY); cols];
    let bounds = data
        .par_chunks(cols * 4096)
        .map(|block| block.chunks_exact(cols).fold(init(), fold))
        .reduce(init, |a, b| {
            a.into_iter()
                .zip(b)
                .map(|(x, y)| (x.0.min(y.0), x.1.max(y.1)))
                .collect()
        });
    let ranges: Vec<ColumnRange> = bounds
        .iter()
        .map(|&(lo, hi)| {
            let (mut lo, mut hi) = if lo <= hi {
                (lo as f64, hi as f64)
            } else {
                (-1.0, 1.0) // no finite value in the column
            };
            if hi <= lo {
                lo -= 0.5;
                hi += 0.5;
            }
            ColumnRange {
                lo,
                step: (hi - lo) / 254.0,
            }
        })
        .collect();
    let rows_per_block = 4096;
    let mut codes = vec![0u8; order.len() * cols];
    if order.len() * 2 < n {
        // few rows wanted: quantise just those, in the order asked
        codes
            .par_chunks_mut(cols * rows_per_block)
            .zip(order.par_chunks(rows_per_block))
            .for_each(|(out, rows)| {
                for (o, &r) in out.chunks_exact_mut(cols).zip(rows) {
                    let r = r as usize;
                    quantize_row(&data[r * cols..(r + 1) * cols], &ranges, o);
                }
            });
        return Ok((codes, ranges));
    }
    // cache-friendly: quantise every row in its natural order (a sequential read of the
    // floats), then gather the much smaller byte rows in `order`
    let mut natural = vec![0u8; data.len()];
    natural
        .par_chunks_mut(cols * rows_per_block)
        .zip(data.par_chunks(cols * rows_per_block))
        .for_each(|(out, src)| {
            for (o, row) in out.chunks_exact_mut(cols).zip(src.chunks_exact(cols)) {
                quantize_row(row, &ranges, o);
            }
        });
    codes
        .par_chunks_mut(cols * rows_per_block)
        .zip(order.par_chunks(rows_per_block))
        .for_each(|(out, rows)| {
            for (o, &r) in out.chunks_exact_mut(cols).zip(rows) {
                let r = r as usize;
                o.copy_from_slice(&natural[r * cols..(r + 1) * cols]);
            }
        });
    Ok((codes, ranges))
}

/// The codes of one row: `round((v - lo) / step)` clamped to 0..=254 (halves away from zero,
/// as `f64::round`), [`MISSING`] for a non-finite value.
#[inline]
fn quantize_row(src: &[f32], ranges: &[ColumnRange], out: &mut [u8]) {
    for ((c, &v), range) in out.iter_mut().zip(src).zip(ranges) {
        *c = if v.is_finite() {
            round_code((v as f64 - range.lo) / range.step)
        } else {
            MISSING
        };
    }
}

/// `x.round().clamp(0.0, 254.0) as u8` for a finite `x` without a libm call: clamping first
/// gives the same code (round is monotonic and 0, 254 are integers); for `0 <= x <= 254` the
/// truncation `t` is exact and so is `x - t` (both lie on `x`'s grid of representable values),
/// so `t + (x - t >= 0.5)` is exactly round-half-away-from-zero.
#[inline(always)]
fn round_code(x: f64) -> u8 {
    let x = x.clamp(0.0, 254.0);
    let t = x as u32; // truncation toward zero (x >= 0)
    (t + u32::from(x - t as f64 >= 0.5)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_ranges_order_and_missing() {
        // 3 rows x 2 columns; column 1 is constant, row 2 misses column 0
        let data = [0.0, 5.0, 2.0, 5.0, f32::NAN, 5.0];
        let (codes, ranges) = quantize_u8(&data, 2, &[2, 0, 1]).unwrap();
        assert_eq!(codes, vec![MISSING, 127, 0, 127, 254, 127]);
        assert_eq!(
            ranges[0],
            ColumnRange {
                lo: 0.0,
                step: 2.0 / 254.0
            }
        );
        assert!((ranges[1].lo - 4.5).abs() < 1e-9);
        // decoding is within half a step
        for (q, v) in [(codes[2], 0.0), (codes[4], 2.0)] {
            assert!((ranges[0].lo + q as f64 * ranges[0].step - v).abs() <= ranges[0].step / 2.0);
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(quantize_u8(&[1.0, 2.0, 3.0], 2, &[0]).is_err());
        assert!(quantize_u8(&[1.0, 2.0], 2, &[1]).is_err());
        let (codes, ranges) = quantize_u8(&[f32::NAN; 4], 2, &[0, 1]).unwrap();
        assert_eq!(codes, vec![MISSING; 4]);
        assert_eq!(ranges[0].lo, -1.0);
    }
    /// The straightforward implementation the fast one must equal byte for byte.
    fn reference(data: &[f32], cols: usize, order: &[u32]) -> (Vec<u8>, Vec<ColumnRange>) {
        let n = data.len() / cols;
        let mut ranges = Vec::new();
        for c in 0..cols {
            let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
            for r in 0..n {
                let v = data[r * cols + c];
                if v.is_finite() {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
            let (mut lo, mut hi) = if lo <= hi {
                (lo as f64, hi as f64)
            } else {
                (-1.0, 1.0)
            };
            if hi <= lo {
                lo -= 0.5;
                hi += 0.5;
            }
            ranges.push(ColumnRange {
                lo,
                step: (hi - lo) / 254.0,
            });
        }
        let mut codes = Vec::new();
        for &r in order {
            for (c, range) in ranges.iter().enumerate() {
                let v = data[r as usize * cols + c];
                codes.push(if v.is_finite() {
                    ((v as f64 - range.lo) / range.step)
                        .round()
                        .clamp(0.0, 254.0) as u8
                } else {
                    MISSING
                });
            }
        }
        (codes, ranges)
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn equals_the_reference_on_random_data() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut half_steps = 0;
        for (rows, cols, wanted) in [
            (20_000, 24, 20_000),
            (9_000, 3, 1_000),
            (1, 24, 1),
            (0, 5, 0),
        ] {
            let mut data = vec![0f32; rows * cols];
            for (i, v) in data.iter_mut().enumerate() {
                let c = i % cols;
                *v = match (rng.below(10), c % 3) {
                    (0, _) => f32::NAN,
                    (1, 0) => [f32::INFINITY, f32::NEG_INFINITY][rng.below(2)],
                    // exact half steps: integers 0..=508 over exactly 0..=508 (step 2, exact)
                    // hit k + 0.5 for every odd value
                    (_, 0) => rng.below(509) as f32,
                    // half steps of a step that is not a power of two
                    (_, 1) => (rng.below(2541) as f32) * 0.1 - 127.0,
                    _ => (rng.next() as i64 as f64 / 1e17) as f32,
                };
            }
            if cols >= 3 && rows > 1 {
                // pin the ranges of column 0 to exactly 0..=508
                data[0] = 0.0;
                data[cols] = 508.0;
            }
            let mut order: Vec<u32> = (0..rows as u32).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
            order.truncate(wanted);
            let (want_codes, want_ranges) = reference(&data, cols, &order);
            let (codes, ranges) = quantize_u8(&data, cols, &order).unwrap();
            assert_eq!(ranges, want_ranges);
            assert_eq!(codes, want_codes, "rows {rows} cols {cols}");
            half_steps += order
                .iter()
                .filter(|&&r| {
                    let x = (data[r as usize * cols] as f64 - ranges[0].lo) / ranges[0].step;
                    x.fract() == 0.5
                })
                .count();
        }
        assert!(
            half_steps > 100,
            "only {half_steps} values at exact half steps"
        );
    }

    #[test]
    fn rounding_without_libm_equals_round() {
        let mut rng = Rng(7);
        let edge = [
            -1e300,
            -254.5,
            -0.5,
            -0.49999999999999994,
            -0.0,
            0.0,
            0.49999999999999994,
            0.5,
            0.5000000000000001,
            1.5,
            2.5,
            126.5,
            253.49999999999997,
            253.5,
            254.0,
            254.49999999999997,
            254.5,
            255.0,
            1e300,
        ];
        let random = (0..200_000).map(|_| (rng.next() as f64 / u64::MAX as f64) * 300.0 - 20.0);
        for x in edge.into_iter().chain(random) {
            for x in [x, (x * 2.0).round() / 2.0, f64::from_bits(x.to_bits() + 1)] {
                assert_eq!(round_code(x), x.round().clamp(0.0, 254.0) as u8, "{x}");
            }
        }
    }

    /// `cargo test --release --lib quantize::tests::timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn timing() {
        let (rows, cols) = (1_000_000usize, 24usize);
        let mut rng = Rng(3);
        let data: Vec<f32> = (0..rows * cols)
            .map(|_| {
                if rng.below(20) == 0 {
                    f32::NAN
                } else {
                    rng.next() as f32
                }
            })
            .collect();
        let mut order: Vec<u32> = (0..rows as u32).collect();
        for i in (1..rows).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let mut t = Vec::new();
        for _ in 0..7 {
            let start = std::time::Instant::now();
            std::hint::black_box(quantize_u8(&data, cols, &order).unwrap());
            t.push(start.elapsed().as_secs_f64() * 1e3);
        }
        t.sort_by(f64::total_cmp);
        println!(
            "quantize_u8 1M x 24 shuffled: median {:.1} ms, runs {t:.1?}",
            t[t.len() / 2]
        );
    }
}
