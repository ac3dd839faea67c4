//! Reading a snapshot: the header and section table, then one reader per section (mirroring
//! `write.rs`). Each section's checksum is verified before it is parsed, and its contents
//! are checked as the API would check them.

use super::{check, crc32_par, err, header_crc, io, Tag};
use super::{BOOT, CDNA, CONN, DEFS, ENTRY, EVNT, FORMAT_VERSION, HEADER, LABL, MAGIC};
use super::{MAX_SECTIONS, META, TOKN};
use crate::bytes::Reader;
use crate::cdna::{Cdna, CdnaVersion, CDNA_SIZE};
use crate::error::{NgError, Result};
use crate::guardian::Event;
use crate::storage::vocabulary::BootState;
use crate::storage::State;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// One row of the section table.
#[derive(Clone, Copy)]
struct Entry {
    tag: Tag,
    offset: u64,
    len: u64,
    crc: u32,
}

/// What META says.
pub(super) struct Meta {
    tokens: u64,
    connections: u64,
    token_next: u32,
    connection_next: u32,
    total_events: u64,
    total_rejections: u64,
}

/// An open snapshot whose header and section table were read and verified.
pub(super) struct SnapshotFile<'p> {
    f: File,
    path: &'p Path,
    entries: Vec<Entry>,
}

fn tag_name(tag: &Tag) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(tag)
}

/// Open a snapshot for reading, refusing anything but a regular file. The open does not block:
/// a FIFO would otherwise wait forever for a writer (O_NONBLOCK changes nothing for the reads
/// of a regular file).
fn open_regular(path: &Path) -> Result<File> {
    let mut opts = fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let f = opts.open(path).map_err(|e| io(path, e))?;
    let kind = f.metadata().map_err(|e| io(path, e))?.file_type();
    if kind.is_file() {
        return Ok(f);
    }
    let what = if kind.is_dir() {
        "a directory"
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if kind.is_fifo() {
                "a FIFO (named pipe)"
            } else if kind.is_char_device() || kind.is_block_device() {
                "a device"
            } else if kind.is_socket() {
                "a socket"
            } else {
                "not a regular file"
            }
        }
        #[cfg(not(unix))]
        "not a regular file"
    };
    Err(err(
        path,
        format!("is {what}: a snapshot is read from a regular file"),
    ))
}

/// A zeroed buffer of `n` records for a section, refused (not aborted) when the memory is not
/// there.
fn section_buffer<T: bytemuck::Pod>(path: &Path, tag: &str, n: u64) -> Result<Vec<T>> {
    let n = usize::try_from(n).map_err(|_| err(path, format!("section {tag} is too large")))?;
    let bytes = crate::limits::bytes_of(&[n, std::mem::size_of::<T>()]);
    if let Some(why) = crate::limits::refusal(bytes, || format!("section {tag}")) {
        return Err(err(path, why));
    }
    crate::limits::zeroed(n, &format!("section {tag}")).map_err(|e| err(path, e.to_string()))
}

impl<'p> SnapshotFile<'p> {
    /// Open `path` and verify its magic, format version, header checksum and section table.
    pub(super) fn open(path: &'p Path) -> Result<Self> {
        let mut f = open_regular(path)?;
        let size = f.metadata().map_err(|e| io(path, e))?.len();
        if size < HEADER as u64 {
            return Err(err(
                path,
                format!("file is {size} bytes, too short to be a snapshot (truncated?)"),
            ));
        }
        let mut head = vec![0u8; HEADER];
        f.read_exact(&mut head).map_err(|e| io(path, e))?;
        if head[..8] != MAGIC {
            return Err(err(path, "not a NeuroGraph snapshot (wrong magic bytes)"));
        }
        let le32 =
            |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let version = le32(&head, 8);
        if version != FORMAT_VERSION {
            return Err(err(
                path,
                format!(
                    "format version {version} is not supported (this build reads {FORMAT_VERSION})"
                ),
            ));
        }
        let count = le32(&head, 12);
        if count > MAX_SECTIONS {
            return Err(err(
                path,
                format!("header claims {count} sections: corrupted header"),
            ));
        }
        let table_len = ENTRY * count as usize;
        if (HEADER + table_len) as u64 > size {
            return Err(err(path, "file ends inside the section table (truncated)"));
        }
        head.resize(HEADER + table_len, 0);
        f.read_exact(&mut head[HEADER..]).map_err(|e| io(path, e))?;
        if header_crc(&head) != le32(&head, 16) {
            return Err(err(
                path,
                "header checksum mismatch: the header is corrupted",
            ));
        }
        let mut entries = Vec::with_capacity(count as usize);
        for e in head[HEADER..].chunks_exact(ENTRY) {
            let le64 = |at: usize| {
                let mut a = [0u8; 8];
                a.copy_from_slice(&e[at..at + 8]);
                u64::from_le_bytes(a)
            };
            let entry = Entry {
                tag: [e[0], e[1], e[2], e[3]],
                offset: le64(8),
                len: le64(16),
                crc: le32(e, 24),
            };
            if entry
                .offset
                .checked_add(entry.len)
                .is_none_or(|end| end > size)
            {
                return Err(err(
                    path,
                    format!(
                        "section {} runs past the end of the file (truncated)",
                        tag_name(&entry.tag)
                    ),
                ));
            }
            entries.push(entry);
        }
        Ok(SnapshotFile { f, path, entries })
    }

    fn bad(&self, reason: impl Into<String>) -> NgError {
        err(self.path, reason)
    }

    fn find(&self, tag: Tag) -> Result<Entry> {
        self.entries
            .iter()
            .find(|e| e.tag == tag)
            .copied()
            .ok_or_else(|| self.bad(format!("section {} is missing", tag_name(&tag))))
    }

    /// Read a section into `buf` (its exact size) and verify its checksum.
    fn read_into(&mut self, e: Entry, buf: &mut [u8]) -> Result<()> {
        let path = self.path;
        self.f
            .seek(SeekFrom::Start(e.offset))
            .map_err(|x| io(path, x))?;
        self.f.read_exact(buf).map_err(|x| io(path, x))?;
        if crc32_par(buf) != e.crc {
            return Err(self.bad(format!(
                "section {} checksum mismatch: data is corrupted",
                tag_name(&e.tag)
            )));
        }
        Ok(())
    }

    fn read_entry(&mut self, e: Entry) -> Result<Vec<u8>> {
        let mut v: Vec<u8> = section_buffer(self.path, &tag_name(&e.tag), e.len)?;
        self.read_into(e, &mut v)?;
        Ok(v)
    }

    fn read_bytes(&mut self, tag: Tag) -> Result<Vec<u8>> {
        let e = self.find(tag)?;
        self.read_entry(e)
    }

    /// The records of a section of `n` 64-byte records (TOKN, CONN).
    fn read_records<T: bytemuck::Pod>(&mut self, tag: Tag, n: u64, what: &str) -> Result<Vec<T>> {
        let e = self.find(tag)?;
        let name = tag_name(&tag).into_owned();
        if Some(e.len) != n.checked_mul(64) {
            return Err(self.bad(format!(
                "section {name} is {} bytes, expected {n} {what} x 64",
                e.len
            )));
        }
        let mut records: Vec<T> = section_buffer(self.path, &name, n)?;
        crate::mem::advise_huge_pages(&records);
        self.read_into(e, bytemuck::cast_slice_mut(&mut records))?;
        Ok(records)
    }

    pub(super) fn read_meta(&mut self) -> Result<Meta> {
        let buf = self.read_bytes(META)?;
        let mut r = Reader::new(&buf, "section META");
        let read = |r: &mut Reader<'_>| -> std::result::Result<Meta, String> {
            let meta = Meta {
                tokens: r.u64()?,
                connections: r.u64()?,
                token_next: r.u32()?,
                connection_next: r.u32()?,
                total_events: r.u64()?,
                total_rejections: r.u64()?,
            };
            let _saved_at = r.f64()?;
            Ok(meta)
        };
        let meta = read(&mut r).map_err(|e| self.bad(e))?;
        if meta.token_next > crate::token::MAX_LOCAL_ID + 1 {
            return Err(self.bad(format!(
                "META gives {} as the next token id, past the last id {} (24-bit local ids)",
                meta.token_next,
                crate::token::MAX_LOCAL_ID
            )));
        }
        Ok(meta)
    }

    /// TOKN and DEFS: the token records and their defined-space masks.
    pub(super) fn read_tokens(&mut self, meta: &Meta, state: &mut State) -> Result<()> {
        let n = meta.tokens;
        state.tokens.records = self.read_records(TOKN, n, "tokens")?;
        let de = self.find(DEFS)?;
        if de.len != n {
            return Err(self.bad(format!(
                "section DEFS is {} bytes, expected one per token ({n})",
                de.len
            )));
        }
        state.tokens.defined = self.read_entry(de)?;
        check::tokens(state).map_err(|r| self.bad(r))?;
        state.tokens.next_id = meta.token_next.max(1);
        state
            .tokens
            .rebuild_index()
            .map_err(|e| self.bad(format!("token table is inconsistent: {e}")))
    }

    /// LABL: labels of tokens the file holds, at most one each.
    pub(super) fn read_labels(&mut self, state: &mut State) -> Result<()> {
        let buf = self.read_bytes(LABL)?;
        let mut r = Reader::new(&buf, "section LABL");
        let n = r.u32().map_err(|e| self.bad(e))?;
        for _ in 0..n {
            let id = r.u32().map_err(|e| self.bad(e))?;
            let label = r.str().map_err(|e| self.bad(e))?;
            if !state.tokens.contains(id) {
                return Err(self.bad(format!(
                    "label {label:?} belongs to token {id}, which is not in the file"
                )));
            }
            if state.tokens.labels.insert(id, label.into()).is_some() {
                return Err(self.bad(format!("token {id} has two labels")));
            }
        }
        r.done().map_err(|e| self.bad(e))
    }

    /// CONN: the connection records (their tokens must be in the file).
    pub(super) fn read_connections(&mut self, meta: &Meta, state: &mut State) -> Result<()> {
        state.connections.records = self.read_records(CONN, meta.connections, "connections")?;
        state.connections.next_id = meta.connection_next.max(1);
        state.connections.rebuild_index();
        check::connections(state).map_err(|r| self.bad(r))
    }

    /// CDNA: the current record and the history.
    pub(super) fn read_cdna(&mut self, state: &mut State) -> Result<()> {
        let buf = self.read_bytes(CDNA)?;
        let (cdna, history) = parse_cdna(&buf).map_err(|e| self.bad(e))?;
        state.cdna = cdna;
        state.history = history;
        Ok(())
    }

    /// A section that may be absent: its verified bytes, or `None`.
    pub(super) fn optional(&mut self, tag: Tag) -> Result<Option<Vec<u8>>> {
        match self.entries.iter().find(|e| e.tag == tag).copied() {
            Some(e) => self.read_entry(e).map(Some),
            None => Ok(None),
        }
    }

    /// EVNT: the events, with the Guardian's totals from META.
    pub(super) fn read_events(&mut self, meta: &Meta, state: &mut State) -> Result<()> {
        let buf = self.read_bytes(EVNT)?;
        let mut r = Reader::new(&buf, "section EVNT");
        let mut read = || -> std::result::Result<Vec<Event>, String> {
            let n = r.u32()?;
            let mut events = Vec::with_capacity(n.min(1 << 16) as usize);
            for _ in 0..n {
                let time = r.f64()?;
                let accepted = r.u8()? != 0;
                events.push(Event {
                    time,
                    kind: r.string()?,
                    target: r.string()?,
                    accepted,
                    reason: r.string()?,
                });
            }
            r.done()?;
            Ok(events)
        };
        let events = read().map_err(|e| self.bad(e))?;
        state
            .guardian
            .restore_events(events, meta.total_events, meta.total_rejections);
        Ok(())
    }

    /// BOOT, if there: the bootstrap's vocabulary (its tokens must be in the file).
    pub(super) fn read_boot(&mut self, state: &mut State) -> Result<()> {
        let Some(e) = self.entries.iter().find(|e| e.tag == BOOT).copied() else {
            return Ok(());
        };
        let buf = self.read_entry(e)?;
        let boot = parse_boot(&buf, state).map_err(|e| self.bad(e))?;
        state.boot = Some(std::sync::Arc::new(boot));
        Ok(())
    }
}

/// The CDNA section's contents: the current record, then the history, oldest first.
pub(super) fn parse_cdna(buf: &[u8]) -> std::result::Result<(Cdna, Vec<CdnaVersion>), String> {
    let mut r = Reader::new(buf, "section CDNA");
    let cdna = Cdna::from_bytes(r.take(CDNA_SIZE)?)?;
    let n = r.u32()?;
    let mut history = Vec::with_capacity((n as usize).min(crate::cdna::HISTORY_LIMIT));
    for _ in 0..n {
        let changed_at = r.f64()?;
        let reason = r.string()?;
        let cdna = Cdna::from_bytes(r.take(CDNA_SIZE)?)?;
        history.push(CdnaVersion {
            cdna,
            changed_at,
            reason,
        });
    }
    r.done()?;
    Ok((cdna, history))
}

fn parse_boot(buf: &[u8], state: &State) -> std::result::Result<BootState, String> {
    let mut c = Reader::new(buf, "section BOOT");
    let seed = c.u32()?;
    let dim = c.u32()? as usize;
    let n = c.u32()? as usize;
    let ns = c.u32()? as usize;
    if dim == 0 || ns > crate::space::NUM_SPACES {
        return Err("section BOOT has an impossible dimension or space count".to_string());
    }
    let mut spaces = Vec::with_capacity(ns);
    for _ in 0..ns {
        let s = c.u32()? as usize;
        let f = c.u32()? as usize;
        if s >= crate::space::NUM_SPACES {
            return Err(format!("section BOOT names space {s}"));
        }
        spaces.push((s, f));
    }
    // every word takes at least its 4-byte length: the section's size bounds the count
    let mut words = Vec::with_capacity(n.min(buf.len() / 4));
    for _ in 0..n {
        words.push(c.string()?);
    }
    let ids: Vec<u32> = bytemuck::pod_collect_to_vec(c.take(n * 4)?);
    let vbytes = n.checked_mul(dim * 4).ok_or("section BOOT is too large")?;
    let vectors: Vec<f32> = bytemuck::pod_collect_to_vec(c.take(vbytes)?);
    if let Some(i) = vectors.iter().position(|v| !v.is_finite()) {
        return Err(format!(
            "section BOOT: the embedding of {:?} holds a non-finite value",
            words[i / dim]
        ));
    }
    let plen = c.u64()? as usize;
    let pca = crate::bootstrap::Pca::from_bytes(c.take(plen)?)?;
    c.done()?;
    if let Some(id) = ids.iter().find(|id| !state.tokens.contains(**id)) {
        return Err(format!("bootstrap word token {id} is not in the file"));
    }
    let mut seen = std::collections::HashMap::with_capacity(n);
    for (w, id) in words.iter().zip(&ids) {
        if seen.insert(w.as_str(), *id).is_some() {
            return Err(format!("section BOOT holds the word {w:?} twice"));
        }
    }
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("section BOOT gives token {} to two words", w[0]));
    }
    Ok(BootState::new(words, ids, dim, vectors, pca, spaces, seed))
}
