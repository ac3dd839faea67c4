//! Reader for word2vec / GloVe / fastText text embeddings: lines "word v1 ... vd", parsed in
//! parallel over line ranges.

use rayon::prelude::*;

/// Bytes of text per parallel piece.
const PIECE: usize = 1 << 20;
/// Longest value quoted back in a problem message.
const QUOTE_MAX: usize = 40;

/// Words and their row-major (words.len() x dim) vectors, plus the lines skipped in skip mode.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedBlock {
    pub words: Vec<String>,
    pub data: Vec<f32>,
    pub dim: usize,
    pub skipped: Vec<ParseProblem>,
}

/// A bad line (1-based line number) and what is wrong with it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseProblem {
    pub line: usize,
    pub problem: String,
}

impl std::fmt::Display for ParseProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

impl std::error::Error for ParseProblem {}

#[inline]
fn is_sep(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\r'
}

/// Detect a word2vec text header "count dim" (two integers, dim >= 1) on a line.
pub fn parse_header(line: &[u8]) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(line).ok()?;
    let mut parts = text.split_ascii_whitespace();
    let count = parts.next()?.parse::<usize>().ok()?;
    let dim = parts.next()?.parse::<usize>().ok()?;
    if parts.next().is_some() || dim == 0 {
        return None;
    }
    Some((count, dim))
}

/// Exact powers of ten in f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Fast path for plain decimals ([sign] digits [. digits] [e [sign] digits]) whose result is
/// exact to compute: at most 2^53 as an integer mantissa and a power of ten up to 1e22
/// (Clinger), so the f64 is correctly rounded. Its rounding to f32 is then correct too unless
/// it sits exactly halfway between two f32 (then None, and the caller uses the full parser).
#[inline]
fn fast_f32(tok: &[u8]) -> Option<f32> {
    let mut i = 0;
    let neg = match tok.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let mut mant: u64 = 0;
    let mut digits = 0usize;
    let mut exp10: i64 = 0;
    let start = i;
    while i < tok.len() && tok[i].is_ascii_digit() {
        if digits < 19 {
            mant = mant * 10 + (tok[i] - b'0') as u64;
            if mant != 0 {
                digits += 1;
            }
        } else {
            return None;
        }
        i += 1;
    }
    let int_digits = i - start;
    let mut frac_digits = 0;
    if i < tok.len() && tok[i] == b'.' {
        i += 1;
        let fs = i;
        while i < tok.len() && tok[i].is_ascii_digit() {
            if digits < 19 {
                mant = mant * 10 + (tok[i] - b'0') as u64;
                if mant != 0 {
                    digits += 1;
                }
            } else {
                return None;
            }
            exp10 -= 1;
            i += 1;
        }
        frac_digits = i - fs;
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if i < tok.len() && (tok[i] == b'e' || tok[i] == b'E') {
        i += 1;
        let eneg = match tok.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let es = i;
        let mut e: i64 = 0;
        while i < tok.len() && tok[i].is_ascii_digit() {
            if e < 100_000 {
                e = e * 10 + (tok[i] - b'0') as i64;
            }
            i += 1;
        }
        if i == es {
            return None;
        }
        exp10 += if eneg { -e } else { e };
    }
    if i != tok.len() {
        return None;
    }
    if mant == 0 {
        return Some(if neg { -0.0 } else { 0.0 });
    }
    if mant > (1u64 << 53) || !(-22..=22).contains(&exp10) {
        return None;
    }
    let m = mant as f64;
    let v = if exp10 < 0 {
        m / POW10[(-exp10) as usize]
    } else {
        m * POW10[exp10 as usize]
    };
    // a halfway f64 could be a double-rounding trap: leave it to the full parser
    if v.to_bits() & ((1 << 29) - 1) == 1 << 28 {
        return None;
    }
    let f = v as f32;
    Some(if neg { -f } else { f })
}

enum Value {
    Ok(f32),
    NotNumber,
    NonFinite(f32),
}

#[inline]
fn parse_value(tok: &[u8]) -> Value {
    let v = match fast_f32(tok) {
        Some(v) => v,
        None => match std::str::from_utf8(tok)
            .ok()
            .and_then(|s| s.parse::<f32>().ok())
        {
            Some(v) => v,
            None => return Value::NotNumber,
        },
    };
    if v.is_finite() {
        Value::Ok(v)
    } else {
        Value::NonFinite(v)
    }
}

pub(super) fn quote(tok: &[u8]) -> String {
    let s = String::from_utf8_lossy(tok);
    if s.chars().count() > QUOTE_MAX {
        let cut: String = s.chars().take(QUOTE_MAX).collect();
        format!("{cut:?}...")
    } else {
        format!("{s:?}")
    }
}

/// Parse one line (without its '\n') into `words` / `data`. Ok(false) for a blank line.
/// `dim` None: any positive number of values is accepted (the caller learns dim from it).
fn parse_line(
    line: &[u8],
    dim: Option<usize>,
    words: &mut Vec<String>,
    data: &mut Vec<f32>,
) -> Result<bool, String> {
    let Some(first) = line.iter().position(|&b| !is_sep(b)) else {
        return Ok(false);
    };
    if first > 0 {
        return Err("empty word: the line starts with a space or tab".into());
    }
    let wend = line.iter().position(|&b| is_sep(b)).unwrap_or(line.len());
    let word = &line[..wend];
    let start = data.len();
    let mut got = 0usize;
    let mut bad: Option<String> = None;
    let mut i = wend;
    loop {
        while i < line.len() && is_sep(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let ts = i;
        while i < line.len() && !is_sep(line[i]) {
            i += 1;
        }
        got += 1;
        if bad.is_some() || dim.is_some_and(|d| got > d) {
            continue;
        }
        let tok = &line[ts..i];
        match parse_value(tok) {
            Value::Ok(v) => data.push(v),
            Value::NotNumber => {
                bad = Some(format!("value {got} {} is not a number", quote(tok)));
            }
            Value::NonFinite(v) => {
                bad = Some(format!(
                    "value {got} ({}) is {v}: values must be finite",
                    quote(tok)
                ));
            }
        }
    }
    let fail = |data: &mut Vec<f32>, msg: String| {
        data.truncate(start);
        Err(msg)
    };
    match dim {
        Some(d) if got != d => {
            return fail(
                data,
                format!("expected {d} values after the word, got {got}"),
            );
        }
        None if got == 0 => return fail(data, "no values after the word".into()),
        _ => {}
    }
    if let Some(msg) = bad {
        return fail(data, msg);
    }
    match std::str::from_utf8(word) {
        Ok(w) => words.push(w.to_owned()),
        Err(e) => {
            return fail(
                data,
                format!(
                    "the word {} is not valid UTF-8 (bad byte at offset {})",
                    quote(word),
                    e.valid_up_to()
                ),
            )
        }
    }
    Ok(true)
}

/// What one piece of the block produced; line numbers are relative to the piece.
struct Piece {
    words: Vec<String>,
    data: Vec<f32>,
    problems: Vec<(usize, String)>,
    lines: usize,
}

fn parse_piece(text: &[u8], dim: usize, skip_errors: bool) -> Piece {
    let mut p = Piece {
        words: Vec::new(),
        data: Vec::with_capacity(text.len() / 8),
        problems: Vec::new(),
        lines: 0,
    };
    for line in lines(text) {
        let at = p.lines;
        p.lines += 1;
        if let Err(msg) = parse_line(line, Some(dim), &mut p.words, &mut p.data) {
            p.problems.push((at, msg));
            if !skip_errors {
                break;
            }
        }
    }
    p
}

/// Lines of `text` without their '\n'; a final line without '\n' counts, an empty tail not.
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let empty = text.is_empty();
    body.split(|&b| b == b'\n').filter(move |_| !empty)
}

/// Split the first line (without its '\n') off `rest`.
fn take_line<'a>(rest: &mut &'a [u8]) -> &'a [u8] {
    let text: &'a [u8] = rest;
    match text.iter().position(|&b| b == b'\n') {
        Some(e) => {
            *rest = &text[e + 1..];
            &text[..e]
        }
        None => {
            *rest = &text[text.len()..];
            text
        }
    }
}

/// Parse a block of word2vec/GloVe/fastText text lines ("word v1 v2 ... vd", separated by
/// spaces or tabs, '\r\n' tolerated; blank lines ignored). `dim`: the expected dimension if
/// known, else taken from the first valid line. `first_line` is the 1-based number of the
/// block's first line; when it is 1, a UTF-8 byte order mark is dropped, and a word2vec
/// header "count dim" on that line is skipped and its dim used (a conflicting `dim` is an
/// error). With `skip_errors` false the first bad line is returned as the error; with true,
/// bad lines are skipped and listed in `skipped`. Lines are parsed in parallel pieces.
pub fn parse_text_block(
    block: &[u8],
    dim: Option<usize>,
    first_line: usize,
    skip_errors: bool,
) -> std::result::Result<ParsedBlock, ParseProblem> {
    let mut out = ParsedBlock::default();
    let mut dim = dim;
    if dim == Some(0) {
        return Err(ParseProblem {
            line: first_line,
            problem: "the expected dimension is 0".into(),
        });
    }
    let mut rest = block;
    let mut line_no = first_line;
    if first_line == 1 {
        // a UTF-8 byte order mark is not part of the first word
        rest = rest.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(rest);
    }
    if first_line == 1 && !rest.is_empty() {
        let mut probe = rest;
        let line = take_line(&mut probe);
        if let Some((_, hdim)) = parse_header(line) {
            if dim.is_some_and(|d| d != hdim) {
                return Err(ParseProblem {
                    line: 1,
                    problem: format!(
                        "the header says dimension {hdim} but {} was expected",
                        dim.unwrap_or(0)
                    ),
                });
            }
            dim = Some(hdim);
            rest = probe;
            line_no += 1;
        }
    }
    // learn the dimension from the first valid line
    let dim = loop {
        if let Some(d) = dim {
            break d;
        }
        if rest.is_empty() {
            return Ok(out);
        }
        let line = take_line(&mut rest);
        let at = line_no;
        line_no += 1;
        match parse_line(line, None, &mut out.words, &mut out.data) {
            Ok(true) => dim = Some(out.data.len()),
            Ok(false) => {}
            Err(problem) => {
                let p = ParseProblem { line: at, problem };
                if !skip_errors {
                    return Err(p);
                }
                out.skipped.push(p);
            }
        }
    };
    out.dim = dim;
    // split the rest at line ends into pieces of about PIECE bytes
    let mut cuts = vec![0usize];
    while let Some(&last) = cuts.last() {
        if last >= rest.len() {
            break;
        }
        let target = (last + PIECE).min(rest.len());
        let cut = match rest[target..].iter().position(|&b| b == b'\n') {
            Some(p) => target + p + 1,
            None => rest.len(),
        };
        cuts.push(cut);
    }
    let pieces: Vec<Piece> = cuts
        .par_windows(2)
        .map(|w| parse_piece(&rest[w[0]..w[1]], dim, skip_errors))
        .collect();
    let mut base = line_no;
    let mut total = out.data.len();
    for p in &pieces {
        if let Some((at, msg)) = p.problems.first() {
            if !skip_errors {
                return Err(ParseProblem {
                    line: base + at,
                    problem: msg.clone(),
                });
            }
        }
        for (at, msg) in &p.problems {
            out.skipped.push(ParseProblem {
                line: base + at,
                problem: msg.clone(),
            });
        }
        base += p.lines;
        total += p.data.len();
    }
    // concatenate the vectors in parallel into disjoint slices
    let head = out.data.len();
    out.data.resize(total, 0.0);
    let mut slots: Vec<&mut [f32]> = Vec::with_capacity(pieces.len());
    let mut tail = &mut out.data[head..];
    for p in &pieces {
        let (a, b) = tail.split_at_mut(p.data.len());
        slots.push(a);
        tail = b;
    }
    slots
        .into_par_iter()
        .zip(pieces.par_iter())
        .for_each(|(dst, p)| dst.copy_from_slice(&p.data));
    for p in pieces {
        out.words.extend(p.words);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str, dim: Option<usize>) -> Result<ParsedBlock, ParseProblem> {
        parse_text_block(text.as_bytes(), dim, 1, false)
    }

    #[test]
    fn bootstrap_parse_good_text() {
        let text = "the 0.1 -0.2 3e-2\ncat\t1  2\t 3  \r\n\n   \r\ndog +4. .5 -0\n";
        let p = parse(text, None).unwrap();
        assert_eq!(p.words, vec!["the", "cat", "dog"]);
        assert_eq!(p.dim, 3);
        assert_eq!(p.data, vec![0.1, -0.2, 0.03, 1.0, 2.0, 3.0, 4.0, 0.5, -0.0]);
        assert!(p.skipped.is_empty());
        // no final newline, known dim, unicode word
        let p = parse("naïve 1 2", Some(2)).unwrap();
        assert_eq!(p.words, vec!["naïve"]);
        assert_eq!(p.data, vec![1.0, 2.0]);
        let p = parse("", None).unwrap();
        assert!(p.words.is_empty() && p.dim == 0);
    }

    #[test]
    fn bootstrap_parse_header() {
        assert_eq!(parse_header(b"400000 300"), Some((400000, 300)));
        assert_eq!(parse_header(b"3 50\r"), Some((3, 50)));
        assert_eq!(parse_header(b"  3\t50  "), Some((3, 50)));
        assert_eq!(parse_header(b"the 0.1 0.2"), None);
        assert_eq!(parse_header(b"3 0.5"), None);
        assert_eq!(parse_header(b"3"), None);
        assert_eq!(parse_header(b"3 4 5"), None);
        assert_eq!(parse_header(b"3 0"), None);
        let p = parse("2 3\na 1 2 3\nb 4 5 6\n", None).unwrap();
        assert_eq!((p.words.len(), p.dim), (2, 3));
        let e = parse("2 3\na 1 2\n", None).unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("2 3\na 1 2 3\n", Some(4)).unwrap_err();
        assert_eq!(e.line, 1);
        let p = parse_text_block(b"\xEF\xBB\xBF1 2\nthe 3 4\n", None, 1, false).unwrap();
        assert_eq!((p.words, p.dim), (vec!["the".to_string()], 2));
        // only line 1 of a file is a header
        let p = parse_text_block(b"2 3\n", None, 5, true).unwrap();
        assert_eq!(p.skipped.len(), 0);
        assert_eq!((p.words, p.dim), (vec!["2".to_string()], 1));
    }

    #[test]
    fn bootstrap_parse_every_error_kind() {
        let cases: [(&[u8], usize, &str); 7] = [
            (
                b"a 1 2\nb 1\n",
                2,
                "expected 2 values after the word, got 1",
            ),
            (
                b"a 1 2\n\nb 1 2 3\n",
                3,
                "expected 2 values after the word, got 3",
            ),
            (b"a 1 2\nb 1 x7\n", 2, "value 2 \"x7\" is not a number"),
            (b"a 1 2\nb 1 inf\n", 2, "value 2 (\"inf\") is inf"),
            (b"a 1 2\nb NaN 1\n", 2, "is NaN"),
            (b"a 1 2\n 1 2\n", 2, "empty word"),
            (b"a 1 2\nb\xff 1 2\n", 2, "not valid UTF-8"),
        ];
        for (text, line, msg) in cases {
            let e = parse_text_block(text, None, 1, false).unwrap_err();
            assert_eq!(e.line, line, "{e}");
            assert!(e.problem.contains(msg), "{e} should say {msg}");
            // the block's first line number shifts the report
            let e = parse_text_block(text, None, 10, false).unwrap_err();
            assert_eq!(e.line, line + 9);
            // skip mode keeps the good line
            let p = parse_text_block(text, None, 1, true).unwrap();
            assert_eq!(p.words, vec!["a"]);
            assert_eq!(p.skipped.len(), 1);
            assert_eq!(p.skipped[0].line, line);
        }
        let e = parse("x 1e39\n", None).unwrap_err();
        assert!(e.problem.contains("finite"), "{e}");
        let e = parse("word\n", None).unwrap_err();
        assert!(e.problem.contains("no values"), "{e}");
        let long = format!("w 1 {}\n", "y".repeat(100));
        let e = parse(&long, Some(2)).unwrap_err();
        assert!(e.problem.contains("...") && e.problem.len() < 120, "{e}");
        // the dimension comes from the first valid line in skip mode
        let p = parse_text_block(b"bad x\ngood 1 2\nok 3 4\n", None, 1, true).unwrap();
        assert_eq!((p.words.len(), p.dim, p.skipped[0].line), (2, 2, 1));
    }

    #[test]
    fn bootstrap_parse_big_block_in_pieces() {
        // several MB, so the block is split into parallel pieces
        let mut text = String::new();
        let rows = 100_000;
        for r in 0..rows {
            if r == 85_678 {
                text.push_str("broken 1 2\n");
            }
            if r % 1000 == 0 {
                text.push('\n');
            }
            text.push_str(&format!(
                "w{r} {} {} {:e} {}\n",
                r as f32 * 0.25,
                -(r as f32) / 7.0,
                r as f32 * 1e-7,
                (r % 13) as f32
            ));
        }
        assert!(text.len() > 3 * PIECE);
        let e = parse_text_block(text.as_bytes(), None, 1, false).unwrap_err();
        // 85_678 data lines and 86 blank lines come before the broken one
        assert_eq!(e.line, 85_678 + 86 + 1);
        let p = parse_text_block(text.as_bytes(), None, 1, true).unwrap();
        assert_eq!(p.words.len(), rows);
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(p.dim, 4);
        for r in [0usize, 1, 85_677, 85_678, rows - 1] {
            assert_eq!(p.words[r], format!("w{r}"));
            assert_eq!(p.data[r * 4], r as f32 * 0.25);
            assert_eq!(p.data[r * 4 + 1], -(r as f32) / 7.0);
            assert_eq!(p.data[r * 4 + 2], r as f32 * 1e-7);
        }
    }

    #[test]
    fn bootstrap_fast_float_matches_std() {
        let cases = [
            "0",
            "-0",
            "1",
            "0.1",
            "-0.2",
            "3.4028235e38",
            "1e-22",
            "123456789012345678",
            "1234567890123456789012",
            "0.000000000000000000000000000001",
            "16777217",
            "16777219",
            "33554435",
            "1.00000005960464477539062",
            "0.30000001192092896",
            "9007199254740993",
            "7.038531e-26",
            "1e22",
            "1e23",
            "5e-324",
            ".5",
            "5.",
            "+1.5e+3",
        ];
        for c in cases {
            let want: f32 = c.parse().unwrap();
            match parse_value(c.as_bytes()) {
                Value::Ok(v) => assert_eq!(v.to_bits(), want.to_bits(), "{c}"),
                _ => assert!(!want.is_finite(), "{c}"),
            }
        }
        for bad in ["", "-", ".", "e5", "1e", "1.2.3", "0x10", "1,5", "--1"] {
            assert!(
                matches!(parse_value(bad.as_bytes()), Value::NotNumber),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn bootstrap_fast_float_agrees_with_std(
            bits in any::<u32>(),
            digits in 1usize..12,
            mant in any::<u64>(),
            exp in -30i32..30,
        ) {
            let x = f32::from_bits(bits);
            if x.is_finite() {
                for s in [format!("{x}"), format!("{x:.digits$}"), format!("{x:e}")] {
                    let want: f32 = s.parse().unwrap();
                    match parse_value(s.as_bytes()) {
                        Value::Ok(v) => prop_assert_eq!(v.to_bits(), want.to_bits(), "{}", s),
                        _ => prop_assert!(!want.is_finite()),
                    }
                }
            }
            let s = format!("{}e{exp}", mant % 100_000_000_000_000_000);
            let want: f32 = s.parse().unwrap();
            match parse_value(s.as_bytes()) {
                Value::Ok(v) => prop_assert_eq!(v.to_bits(), want.to_bits(), "{}", s),
                _ => prop_assert!(!want.is_finite()),
            }
        }
    }
}
