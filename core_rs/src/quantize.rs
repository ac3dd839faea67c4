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
    let mut codes = vec![0u8; order.len() * cols];
    codes
        .par_chunks_mut(cols * 4096)
        .zip(order.par_chunks(4096))
        .for_each(|(out, rows)| {
            for (o, &r) in out.chunks_exact_mut(cols).zip(rows) {
                let src = &data[r as usize * cols..(r as usize + 1) * cols];
                for ((c, &v), range) in o.iter_mut().zip(src).zip(&ranges) {
                    *c = if v.is_finite() {
                        ((v as f64 - range.lo) / range.step)
                            .round()
                            .clamp(0.0, 254.0) as u8
                    } else {
                        MISSING
                    };
                }
            }
        });
    Ok((codes, ranges))
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
}
