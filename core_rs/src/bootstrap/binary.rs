//! Reader for the word2vec binary format.

use super::parse::{parse_header, quote, ParseProblem, ParsedBlock};
use rayon::prelude::*;

/// Parse word2vec binary format from a complete buffer: header "count dim\n", then per word
/// the word's bytes up to a space, dim little-endian f32, and an optional '\n' (skipped before
/// the next word). At most `max_words` words are read. A problem's `line` is the 1-based
/// number of the word it is about (0 for the header) and its text names that word number and
/// the byte offset. Errors: bad header, truncated data, empty or non-UTF-8 word, non-finite
/// value.
pub fn parse_word2vec_binary(
    buf: &[u8],
    max_words: Option<usize>,
) -> std::result::Result<ParsedBlock, ParseProblem> {
    let hend = buf.iter().take(256).position(|&b| b == b'\n');
    let header = hend.and_then(|e| parse_header(&buf[..e]));
    let (Some(hend), Some((count, dim))) = (hend, header) else {
        let shown = &buf[..buf.len().min(40)];
        return Err(ParseProblem {
            line: 0,
            problem: format!(
                "bad word2vec binary header {}: expected \"count dim\" and a newline",
                quote(shown.split(|&b| b == b'\n').next().unwrap_or(shown))
            ),
        });
    };
    let want = max_words.map_or(count, |m| m.min(count));
    let vec_bytes = dim.checked_mul(4).ok_or_else(|| ParseProblem {
        line: 0,
        problem: format!("the header's dimension {dim} is too large"),
    })?;
    let mut words = Vec::with_capacity(want.min(buf.len() / (vec_bytes + 1)));
    let mut offsets = Vec::with_capacity(words.capacity());
    let mut pos = hend + 1;
    for i in 0..want {
        let problem = |offset: usize, what: String| ParseProblem {
            line: i + 1,
            problem: format!("word {} of {count}, byte {offset}: {what}", i + 1),
        };
        while pos < buf.len() && buf[pos] == b'\n' {
            pos += 1;
        }
        let start = pos;
        let Some(len) = buf[start..].iter().position(|&b| b == b' ') else {
            return Err(problem(
                start,
                format!(
                    "truncated file: no space ends the word (the header promised {count} words)"
                ),
            ));
        };
        let word = &buf[start..start + len];
        if word.is_empty() {
            return Err(problem(start, "empty word".into()));
        }
        let Ok(w) = std::str::from_utf8(word) else {
            return Err(problem(
                start,
                format!("the word {} is not valid UTF-8", quote(word)),
            ));
        };
        let vstart = start + len + 1;
        if buf.len() - vstart < vec_bytes {
            return Err(problem(
                start,
                format!(
                    "truncated file: {w:?} needs {vec_bytes} bytes of vector, {} left",
                    buf.len() - vstart
                ),
            ));
        }
        words.push(w.to_owned());
        offsets.push(vstart);
        pos = vstart + vec_bytes;
    }
    let mut data = vec![0f32; words.len() * dim];
    let first_bad = data
        .par_chunks_mut(dim)
        .zip(offsets.par_iter())
        .enumerate()
        .filter_map(|(i, (row, &o))| {
            let mut bad = None;
            for (j, (x, b)) in row
                .iter_mut()
                .zip(buf[o..o + vec_bytes].chunks_exact(4))
                .enumerate()
            {
                *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                if !x.is_finite() && bad.is_none() {
                    bad = Some((i, j, *x));
                }
            }
            bad
        })
        .min_by_key(|b| (b.0, b.1));
    if let Some((i, j, v)) = first_bad {
        return Err(ParseProblem {
            line: i + 1,
            problem: format!(
                "word {} of {count} ({:?}), byte {}: value {} is {v}: values must be finite",
                i + 1,
                words[i],
                offsets[i] + 4 * j,
                j + 1
            ),
        });
    }
    Ok(ParsedBlock {
        words,
        data,
        dim,
        skipped: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w2v_binary(words: &[(&str, Vec<f32>)], dim: usize, newline: bool) -> Vec<u8> {
        let mut b = format!("{} {dim}\n", words.len()).into_bytes();
        for (w, v) in words {
            b.extend_from_slice(w.as_bytes());
            b.push(b' ');
            for x in v {
                b.extend_from_slice(&x.to_le_bytes());
            }
            if newline {
                b.push(b'\n');
            }
        }
        b
    }

    #[test]
    fn bootstrap_word2vec_binary_round_trip() {
        let words = vec![
            ("alpha", vec![1.0, -2.5, 3.25]),
            ("βeta", vec![0.0, 1e-30, -7.0]),
            ("gamma", vec![4.0, 5.0, 6.0]),
        ];
        for newline in [true, false] {
            let b = w2v_binary(&words, 3, newline);
            let p = parse_word2vec_binary(&b, None).unwrap();
            assert_eq!(p.words, vec!["alpha", "βeta", "gamma"]);
            assert_eq!(p.dim, 3);
            let flat: Vec<f32> = words.iter().flat_map(|(_, v)| v.clone()).collect();
            assert_eq!(p.data, flat);
            let p = parse_word2vec_binary(&b, Some(2)).unwrap();
            assert_eq!(p.words.len(), 2);
            assert_eq!(p.data.len(), 6);
            // every truncation that cuts into a record the header promised is refused
            let last_record_end = b.len() - usize::from(newline);
            for cut in 0..last_record_end {
                assert!(parse_word2vec_binary(&b[..cut], None).is_err(), "cut {cut}");
            }
        }
        let b = w2v_binary(&words, 3, true);
        let e = parse_word2vec_binary(&b[..b.len() - 5], None).unwrap_err();
        assert!(
            e.problem.contains("word 3 of 3") && e.problem.contains("truncated"),
            "{e}"
        );
        assert_eq!(e.line, 3);
        let e = parse_word2vec_binary(b"hello world\n", None).unwrap_err();
        assert!(e.problem.contains("header"), "{e}");
        assert_eq!(e.line, 0);
        let mut bad = w2v_binary(&words, 3, true);
        let at = bad.iter().position(|&c| c == b'g').unwrap();
        bad[at] = 0xff;
        let e = parse_word2vec_binary(&bad, None).unwrap_err();
        assert!(
            e.problem.contains("UTF-8") && e.problem.contains("word 3"),
            "{e}"
        );
        assert_eq!(e.line, 3);
        let nan = w2v_binary(&[("x", vec![1.0, f32::NAN])], 2, false);
        let e = parse_word2vec_binary(&nan, None).unwrap_err();
        assert!(
            e.problem.contains("value 2") && e.problem.contains("word 1"),
            "{e}"
        );
        assert_eq!(e.line, 1);
    }
}
