//! Streaming reader for word2vec / GloVe / fastText text files: the file is read in blocks
//! (never held whole), each block cut at its last line end and parsed in parallel by
//! [`parse_text_block`], the line numbers carried from block to block.
//!
//! The caller drives it one block at a time ([`TextFileReader::next_block`]), so that it can
//! report progress and stop between blocks (the Python binding runs each block with the GIL
//! released and checks for Ctrl-C in between).

use super::parse::{parse_header, parse_text_block};
use crate::error::{NgError, Result};
use std::io::Read;
use std::path::Path;

/// Bytes read per block.
pub const BLOCK: usize = 16 << 20;

/// Words, their row-major `(words.len(), dim)` vectors and how many bad lines were skipped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EmbeddingText {
    pub words: Vec<String>,
    pub data: Vec<f32>,
    pub dim: usize,
    pub skipped: usize,
}

/// An open embedding text file being read block by block.
pub struct TextFileReader {
    file: std::fs::File,
    shown: String,
    block: usize,
    max_words: Option<usize>,
    skip_errors: bool,
    buf: Vec<u8>,
    first: bool,
    done: bool,
    /// 1-based number of the next line to parse.
    line: usize,
    out: EmbeddingText,
    dim: Option<usize>,
}

impl TextFileReader {
    /// Open `path`. A missing file is [`NgError::FileNotFound`], any other failure to open it
    /// [`NgError::Io`], both naming the path. `max_words` stops reading once that many words
    /// are read; `skip_errors` skips (and counts) bad lines instead of failing on the first.
    pub fn open(path: &Path, max_words: Option<usize>, skip_errors: bool) -> Result<Self> {
        Self::with_block_size(path, max_words, skip_errors, BLOCK)
    }

    /// [`open`](Self::open) reading `block` bytes at a time (at least 1).
    pub fn with_block_size(
        path: &Path,
        max_words: Option<usize>,
        skip_errors: bool,
        block: usize,
    ) -> Result<Self> {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| io_error(&shown, e))?;
        let block = block.max(1);
        Ok(TextFileReader {
            file,
            shown,
            block,
            max_words,
            skip_errors,
            buf: Vec::with_capacity(block + block / 16),
            first: true,
            done: false,
            line: 1,
            out: EmbeddingText::default(),
            dim: None,
        })
    }

    /// Read and parse the next block. Returns the bytes of the file it consumed, or `None`
    /// once the file (or `max_words`) is done. A bad line is an error naming the file and
    /// the line (unless skipping errors).
    pub fn next_block(&mut self) -> Result<Option<usize>> {
        while !self.done {
            let start = self.buf.len();
            self.buf.resize(start + self.block, 0);
            let got = self
                .file
                .read(&mut self.buf[start..])
                .map_err(|e| io_error(&self.shown, e))?;
            self.buf.truncate(start + got);
            let eof = got == 0;
            if self.first {
                self.first = false;
                // a header "count dim" gives the dimension and is not a word
                if let Some(end) = self.buf.iter().position(|b| *b == b'\n') {
                    if let Some((_, d)) = parse_header(&self.buf[..end]) {
                        self.dim = Some(d);
                        self.buf.drain(..=end);
                        self.line = 2;
                    }
                }
            }
            // parse whole lines only; the tail waits for the next block
            let cut = if eof {
                self.buf.len()
            } else {
                self.buf
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |p| p + 1)
            };
            self.done = eof;
            if cut == 0 {
                continue;
            }
            let block = &self.buf[..cut];
            let lines = block.iter().filter(|b| **b == b'\n').count();
            let b =
                parse_text_block(block, self.dim, self.line, self.skip_errors).map_err(|p| {
                    NgError::InvalidFile {
                        path: self.shown.clone(),
                        reason: p.to_string(),
                    }
                })?;
            self.dim = Some(b.dim);
            self.out.skipped += b.skipped.len();
            self.line += lines;
            self.out.words.extend(b.words);
            self.out.data.extend_from_slice(&b.data);
            self.buf.drain(..cut);
            if self.max_words.is_some_and(|m| self.out.words.len() >= m) {
                self.done = true;
            }
            return Ok(Some(cut));
        }
        Ok(None)
    }

    /// The words read so far, cut to `max_words`; no word at all is an error.
    pub fn finish(self) -> Result<EmbeddingText> {
        let mut out = self.out;
        out.dim = self.dim.unwrap_or(0);
        if out.words.is_empty() || out.dim == 0 {
            return Err(NgError::InvalidFile {
                path: self.shown,
                reason: "no word vectors found".into(),
            });
        }
        if let Some(m) = self.max_words {
            out.words.truncate(m);
            out.data.truncate(m * out.dim);
        }
        Ok(out)
    }
}

fn io_error(shown: &str, e: std::io::Error) -> NgError {
    if e.kind() == std::io::ErrorKind::NotFound {
        NgError::FileNotFound(shown.to_string())
    } else {
        NgError::Io {
            path: shown.to_string(),
            source: e,
        }
    }
}

/// Read a whole embedding text file (header optional), calling `on_block(bytes)` after
/// each block; an error from it stops the reading.
pub fn read_embedding_text(
    path: &Path,
    max_words: Option<usize>,
    skip_errors: bool,
    mut on_block: impl FnMut(usize) -> Result<()>,
) -> Result<EmbeddingText> {
    let mut r = TextFileReader::open(path, max_words, skip_errors)?;
    while let Some(n) = r.next_block()? {
        on_block(n)?;
    }
    r.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text).unwrap();
        f.flush().unwrap();
        f
    }

    fn read_all(
        path: &Path,
        max: Option<usize>,
        skip: bool,
        block: usize,
    ) -> Result<(EmbeddingText, Vec<usize>)> {
        let mut r = TextFileReader::with_block_size(path, max, skip, block)?;
        let mut sizes = Vec::new();
        while let Some(n) = r.next_block()? {
            sizes.push(n);
        }
        Ok((r.finish()?, sizes))
    }

    #[test]
    fn header_is_detected_and_blocks_are_cut_at_line_ends() {
        let text = b"3 2\nalpha 1 2\nbeta 3 4\ngamma 5 6\n";
        let f = file(text);
        for block in [1, 5, 7, 64, BLOCK] {
            let (e, sizes) = read_all(f.path(), None, false, block).unwrap();
            assert_eq!(e.words, ["alpha", "beta", "gamma"], "block {block}");
            assert_eq!(e.data, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
            assert_eq!(e.dim, 2);
            assert_eq!(e.skipped, 0);
            // every byte is reported once, but a header seen in the first read (which
            // holds its line end) is taken off before the parsing
            let header = if block > 4 { 4 } else { 0 };
            assert_eq!(
                sizes.iter().sum::<usize>(),
                text.len() - header,
                "block {block}"
            );
        }
        let (e, _) = read_all(file(b"a 1 2 3\nb 4 5 6").path(), None, false, 3).unwrap();
        assert_eq!(
            (e.words.len(), e.dim),
            (2, 3),
            "no header, no final newline"
        );
    }

    #[test]
    fn line_numbers_carry_over_blocks_and_header() {
        let text = b"2 2\nalpha 1 2\nbeta 3 x\n";
        for block in [4, 11, BLOCK] {
            let e = read_all(file(text).path(), None, false, block).unwrap_err();
            assert!(matches!(e, NgError::InvalidFile { .. }), "{e:?}");
            let msg = e.to_string();
            assert!(msg.contains(": line 3: "), "block {block}: {msg}");
        }
        let (e, _) = read_all(file(text).path(), None, true, 4).unwrap();
        assert_eq!((e.words.len(), e.skipped), (1, 1));
    }

    #[test]
    fn max_words_stops_early_and_truncates() {
        let text: Vec<u8> = (0..100)
            .flat_map(|i| format!("w{i} {i} {i}\n").into_bytes())
            .collect();
        let f = file(&text);
        let (e, sizes) = read_all(f.path(), Some(7), false, 40).unwrap();
        assert_eq!(e.words.len(), 7);
        assert_eq!(e.data.len(), 14);
        assert!(
            sizes.iter().sum::<usize>() < text.len(),
            "stopped before the end"
        );
        let e = read_embedding_text(f.path(), None, false, |_| Ok(())).unwrap();
        assert_eq!(e.words.len(), 100);
    }

    #[test]
    fn missing_empty_and_interrupted_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.vec");
        let e = TextFileReader::open(&missing, None, false).err().unwrap();
        assert!(matches!(e, NgError::FileNotFound(_)));
        assert_eq!(
            e.to_string(),
            format!("{}: no such file", missing.display())
        );
        let e = TextFileReader::open(dir.path(), None, false)
            .and_then(|mut r| r.next_block().map(|_| ()))
            .unwrap_err();
        assert!(matches!(e, NgError::Io { .. }), "a directory: {e:?}");
        let empty = file(b"");
        let e = read_embedding_text(empty.path(), None, false, |_| Ok(())).unwrap_err();
        assert!(e.to_string().ends_with(": no word vectors found"), "{e}");
        let f = file(b"a 1\nb 2\n");
        let e = read_embedding_text(f.path(), None, false, |_| Err(NgError::Interrupted));
        assert!(matches!(e, Err(NgError::Interrupted)));
    }
}
