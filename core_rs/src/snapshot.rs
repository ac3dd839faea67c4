//! Snapshots: one versioned binary file with a checksum per section, written atomically
//! (temporary file, fsync, rename) and verified completely before anything is replaced.
//!
//! Layout (little endian): 8-byte magic `NGSNAP\r\n`, u32 format version, u32 section
//! count, u32 CRC-32 of the header and table, u32 reserved; then one 32-byte table entry per
//! section (tag, flags, offset, length, CRC-32, reserved); then the sections.

use crate::cdna::{Cdna, CdnaVersion, CDNA_SIZE};
use crate::error::{NgError, Result};
use crate::guardian::Event;
use crate::storage::vocabulary::BootState;
use crate::storage::State;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

mod atomic;
mod check;

pub const MAGIC: [u8; 8] = *b"NGSNAP\r\n";
pub const FORMAT_VERSION: u32 = 1;
const HEADER: usize = 24;
const ENTRY: usize = 32;
const MAX_SECTIONS: u32 = 64;

const META: [u8; 4] = *b"META";
const TOKN: [u8; 4] = *b"TOKN";
const DEFS: [u8; 4] = *b"DEFS";
const LABL: [u8; 4] = *b"LABL";
const CONN: [u8; 4] = *b"CONN";
const CDNA: [u8; 4] = *b"CDNA";
const EVNT: [u8; 4] = *b"EVNT";
const BOOT: [u8; 4] = *b"BOOT";

/// The bootstrap artifacts: seed, dimension, spaces, vocabulary, token ids, embeddings, PCA
/// (live words only: a word whose token was deleted is not written).
fn boot_bytes(b: &BootState) -> Vec<u8> {
    if b.dead > 0 {
        return boot_bytes(&b.compacted());
    }
    let n = b.words.len();
    let mut out = Vec::with_capacity(n * (b.dim * 4 + 16) + 64);
    for v in [b.seed, b.dim as u32, n as u32, b.spaces.len() as u32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (s, f) in &b.spaces {
        out.extend_from_slice(&(*s as u32).to_le_bytes());
        out.extend_from_slice(&(*f as u32).to_le_bytes());
    }
    for w in &b.words {
        put_str(&mut out, w);
    }
    out.extend_from_slice(bytemuck::cast_slice(&b.ids));
    out.extend_from_slice(bytemuck::cast_slice(&b.vectors));
    let pca = b.pca.to_bytes();
    out.extend_from_slice(&(pca.len() as u64).to_le_bytes());
    out.extend_from_slice(&pca);
    out
}

fn parse_boot(buf: &[u8], state: &State) -> std::result::Result<BootState, String> {
    let mut c = Cursor {
        buf,
        pos: 0,
        what: "BOOT",
    };
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

fn err(path: &Path, reason: impl Into<String>) -> NgError {
    NgError::Snapshot {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn io(path: &Path, e: std::io::Error) -> NgError {
    NgError::Io {
        path: path.display().to_string(),
        source: e,
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Write `state` to `path` atomically; returns the bytes written.
pub fn save(state: &State, path: &Path) -> Result<u64> {
    let mut meta = Vec::with_capacity(56);
    meta.extend_from_slice(&(state.tokens.len() as u64).to_le_bytes());
    meta.extend_from_slice(&(state.connections.len() as u64).to_le_bytes());
    meta.extend_from_slice(&state.tokens.next_id.to_le_bytes());
    meta.extend_from_slice(&state.connections.next_id.to_le_bytes());
    meta.extend_from_slice(&state.guardian.total_events.to_le_bytes());
    meta.extend_from_slice(&state.guardian.total_rejections.to_le_bytes());
    meta.extend_from_slice(&crate::guardian::now_f64().to_le_bytes());

    let mut labels = Vec::new();
    let mut ids: Vec<&u32> = state.tokens.labels.keys().collect();
    ids.sort_unstable();
    labels.extend_from_slice(&(ids.len() as u32).to_le_bytes());
    for id in ids {
        labels.extend_from_slice(&id.to_le_bytes());
        put_str(&mut labels, &state.tokens.labels[id]);
    }

    let mut cdna = Vec::with_capacity(CDNA_SIZE * (1 + state.history.len()) + 16);
    cdna.extend_from_slice(&state.cdna.to_bytes());
    cdna.extend_from_slice(&(state.history.len() as u32).to_le_bytes());
    for v in &state.history {
        cdna.extend_from_slice(&v.changed_at.to_le_bytes());
        put_str(&mut cdna, &v.reason);
        cdna.extend_from_slice(&v.cdna.to_bytes());
    }

    let events = state.guardian.events(None);
    let mut ev = Vec::with_capacity(events.len() * 64 + 4);
    ev.extend_from_slice(&(events.len() as u32).to_le_bytes());
    for e in &events {
        ev.extend_from_slice(&e.time.to_le_bytes());
        ev.push(e.accepted as u8);
        put_str(&mut ev, &e.kind);
        put_str(&mut ev, &e.target);
        put_str(&mut ev, &e.reason);
    }

    let boot = state.boot.as_ref().map(|b| boot_bytes(b));
    let mut sections: Vec<([u8; 4], &[u8])> = vec![
        (META, &meta),
        (TOKN, bytemuck::cast_slice(&state.tokens.records)),
        (DEFS, &state.tokens.defined),
        (LABL, &labels),
        (CONN, bytemuck::cast_slice(&state.connections.records)),
        (CDNA, &cdna),
        (EVNT, &ev),
    ];
    if let Some(b) = &boot {
        sections.push((BOOT, b));
    }
    let crcs: Vec<u32> = {
        use rayon::prelude::*;
        sections.par_iter().map(|(_, d)| crc32_par(d)).collect()
    };
    let mut head = Vec::with_capacity(HEADER + ENTRY * sections.len());
    head.extend_from_slice(&MAGIC);
    head.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    head.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    head.extend_from_slice(&[0u8; 8]);
    let mut offset = (HEADER + ENTRY * sections.len()) as u64;
    for ((tag, data), crc) in sections.iter().zip(&crcs) {
        head.extend_from_slice(tag);
        head.extend_from_slice(&0u32.to_le_bytes());
        head.extend_from_slice(&offset.to_le_bytes());
        head.extend_from_slice(&(data.len() as u64).to_le_bytes());
        head.extend_from_slice(&crc.to_le_bytes());
        head.extend_from_slice(&0u32.to_le_bytes());
        offset += data.len() as u64;
    }
    let hcrc = header_crc(&head);
    head[16..20].copy_from_slice(&hcrc.to_le_bytes());

    atomic::replace(path, |w| {
        w.write_all(&head)?;
        for (_, data) in &sections {
            w.write_all(data)?;
        }
        Ok(())
    })
    .map_err(|e| io(path, e))?;
    Ok(offset)
}

/// CRC-32 of a large buffer, computed on all cores in 4 MiB pieces and combined.
fn crc32_par(data: &[u8]) -> u32 {
    use rayon::prelude::*;
    const PIECE: usize = 4 << 20;
    if data.len() < 2 * PIECE {
        return crc32fast::hash(data);
    }
    let parts: Vec<(u32, u64)> = data
        .par_chunks(PIECE)
        .map(|c| (crc32fast::hash(c), c.len() as u64))
        .collect();
    let mut h = crc32fast::Hasher::new_with_initial_len(parts[0].0, parts[0].1);
    for (crc, len) in &parts[1..] {
        h.combine(&crc32fast::Hasher::new_with_initial_len(*crc, *len));
    }
    h.finalize()
}

fn header_crc(head: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&head[..16]);
    h.update(&head[20..]);
    h.finalize()
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        if self
            .pos
            .checked_add(n)
            .is_none_or(|end| end > self.buf.len())
        {
            return Err(format!("section {} ends early", self.what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| "short")?,
        ))
    }
    fn u64(&mut self) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| "short")?,
        ))
    }
    fn f64(&mut self) -> std::result::Result<f64, String> {
        Ok(f64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| "short")?,
        ))
    }
    fn string(&mut self) -> std::result::Result<String, String> {
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec())
            .map_err(|_| format!("section {} holds text that is not UTF-8", self.what))
    }
    fn done(&self) -> std::result::Result<(), String> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(format!(
                "section {} has {} unexpected trailing bytes",
                self.what,
                self.buf.len() - self.pos
            ))
        }
    }
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

struct Entry {
    tag: [u8; 4],
    offset: u64,
    len: u64,
    crc: u32,
}

/// Read and verify a snapshot completely; nothing is returned unless every check passed.
pub fn load(path: &Path) -> Result<State> {
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
    let version = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
    if version != FORMAT_VERSION {
        return Err(err(
            path,
            format!(
                "format version {version} is not supported (this build reads {FORMAT_VERSION})"
            ),
        ));
    }
    let count = u32::from_le_bytes([head[12], head[13], head[14], head[15]]);
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
    let stored = u32::from_le_bytes([head[16], head[17], head[18], head[19]]);
    if header_crc(&head) != stored {
        return Err(err(
            path,
            "header checksum mismatch: the header is corrupted",
        ));
    }
    let mut entries = Vec::with_capacity(count as usize);
    for i in 0..count as usize {
        let e = &head[HEADER + i * ENTRY..HEADER + (i + 1) * ENTRY];
        let le64 = |r: std::ops::Range<usize>| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&e[r]);
            u64::from_le_bytes(a)
        };
        let entry = Entry {
            tag: [e[0], e[1], e[2], e[3]],
            offset: le64(8..16),
            len: le64(16..24),
            crc: u32::from_le_bytes([e[24], e[25], e[26], e[27]]),
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
                    String::from_utf8_lossy(&entry.tag)
                ),
            ));
        }
        entries.push(entry);
    }
    let find = |tag: [u8; 4]| -> Result<&Entry> {
        entries.iter().find(|e| e.tag == tag).ok_or_else(|| {
            err(
                path,
                format!("section {} is missing", String::from_utf8_lossy(&tag)),
            )
        })
    };
    let read_into = |f: &mut File, e: &Entry, buf: &mut [u8]| -> Result<()> {
        f.seek(SeekFrom::Start(e.offset)).map_err(|x| io(path, x))?;
        f.read_exact(buf).map_err(|x| io(path, x))?;
        if crc32_par(buf) != e.crc {
            return Err(err(
                path,
                format!(
                    "section {} checksum mismatch: data is corrupted",
                    String::from_utf8_lossy(&e.tag)
                ),
            ));
        }
        Ok(())
    };
    let read_bytes = |f: &mut File, e: &Entry| -> Result<Vec<u8>> {
        let mut v: Vec<u8> = section_buffer(path, &String::from_utf8_lossy(&e.tag), e.len)?;
        read_into(f, e, &mut v)?;
        Ok(v)
    };
    let bad = |r: String| err(path, r);

    let meta = read_bytes(&mut f, find(META)?)?;
    let mut m = Cursor {
        buf: &meta,
        pos: 0,
        what: "META",
    };
    let n_tokens = m.u64().map_err(bad)?;
    let n_conns = m.u64().map_err(bad)?;
    let token_next = m.u32().map_err(bad)?;
    let conn_next = m.u32().map_err(bad)?;
    let total_events = m.u64().map_err(bad)?;
    let total_rejections = m.u64().map_err(bad)?;
    let _saved_at = m.f64().map_err(bad)?;

    if token_next > crate::token::MAX_LOCAL_ID + 1 {
        return Err(err(
            path,
            format!(
                "META gives {token_next} as the next token id, past the last id {} (24-bit local ids)",
                crate::token::MAX_LOCAL_ID
            ),
        ));
    }
    let te = find(TOKN)?;
    if Some(te.len) != n_tokens.checked_mul(64) {
        return Err(err(
            path,
            format!(
                "section TOKN is {} bytes, expected {} tokens x 64",
                te.len, n_tokens
            ),
        ));
    }
    let mut state = State::default();
    state.tokens.records = section_buffer(path, "TOKN", n_tokens)?;
    crate::mem::advise_huge_pages(&state.tokens.records);
    read_into(
        &mut f,
        te,
        bytemuck::cast_slice_mut(&mut state.tokens.records),
    )?;
    let de = find(DEFS)?;
    if de.len != n_tokens {
        return Err(err(
            path,
            format!(
                "section DEFS is {} bytes, expected one per token ({n_tokens})",
                de.len
            ),
        ));
    }
    state.tokens.defined = read_bytes(&mut f, de)?;
    check::tokens(&state).map_err(|r| err(path, r))?;
    state.tokens.next_id = token_next.max(1);
    state
        .tokens
        .rebuild_index()
        .map_err(|e| err(path, format!("token table is inconsistent: {e}")))?;

    let lb = read_bytes(&mut f, find(LABL)?)?;
    let mut c = Cursor {
        buf: &lb,
        pos: 0,
        what: "LABL",
    };
    let nl = c.u32().map_err(bad)?;
    for _ in 0..nl {
        let id = c.u32().map_err(bad)?;
        let label = c.string().map_err(bad)?;
        if !state.tokens.contains(id) {
            return Err(err(
                path,
                format!("label {label:?} belongs to token {id}, which is not in the file"),
            ));
        }
        if state.tokens.labels.insert(id, label).is_some() {
            return Err(err(path, format!("token {id} has two labels")));
        }
    }
    c.done().map_err(bad)?;

    let ce = find(CONN)?;
    if Some(ce.len) != n_conns.checked_mul(64) {
        return Err(err(
            path,
            format!(
                "section CONN is {} bytes, expected {} connections x 64",
                ce.len, n_conns
            ),
        ));
    }
    state.connections.records = section_buffer(path, "CONN", n_conns)?;
    crate::mem::advise_huge_pages(&state.connections.records);
    read_into(
        &mut f,
        ce,
        bytemuck::cast_slice_mut(&mut state.connections.records),
    )?;
    check::connections(&state).map_err(|r| err(path, r))?;
    state.connections.next_id = conn_next.max(1);
    state.connections.rebuild_index();

    let cb = read_bytes(&mut f, find(CDNA)?)?;
    let mut c = Cursor {
        buf: &cb,
        pos: 0,
        what: "CDNA",
    };
    state.cdna = Cdna::from_bytes(c.take(CDNA_SIZE).map_err(bad)?).map_err(bad)?;
    let nh = c.u32().map_err(bad)?;
    for _ in 0..nh {
        let changed_at = c.f64().map_err(bad)?;
        let reason = c.string().map_err(bad)?;
        let cdna = Cdna::from_bytes(c.take(CDNA_SIZE).map_err(bad)?).map_err(bad)?;
        state.history.push(CdnaVersion {
            cdna,
            changed_at,
            reason,
        });
    }
    c.done().map_err(bad)?;

    let eb = read_bytes(&mut f, find(EVNT)?)?;
    let mut c = Cursor {
        buf: &eb,
        pos: 0,
        what: "EVNT",
    };
    let ne = c.u32().map_err(bad)?;
    let mut events = Vec::with_capacity(ne.min(1 << 16) as usize);
    for _ in 0..ne {
        let time = c.f64().map_err(bad)?;
        let accepted = c.take(1).map_err(bad)?[0] != 0;
        let kind = c.string().map_err(bad)?;
        let target = c.string().map_err(bad)?;
        let reason = c.string().map_err(bad)?;
        events.push(Event {
            time,
            kind,
            target,
            accepted,
            reason,
        });
    }
    c.done().map_err(bad)?;
    state
        .guardian
        .restore_events(events, total_events, total_rejections);
    if let Some(e) = entries.iter().find(|e| e.tag == BOOT) {
        let bb = read_bytes(&mut f, e)?;
        state.boot = Some(std::sync::Arc::new(parse_boot(&bb, &state).map_err(bad)?));
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::tokens::TokenBatch;
    use crate::storage::RuntimeStorage;

    pub(super) fn sample() -> RuntimeStorage {
        let rt = RuntimeStorage::new();
        let coords: Vec<f32> = (0..5 * 24).map(|i| (i % 7) as f32 * 0.1).collect();
        let labels = vec![
            Some("cat".to_string()),
            None,
            Some("dög".to_string()),
            None,
            None,
        ];
        rt.create_tokens(&TokenBatch {
            coords: &coords,
            labels: Some(labels),
            default_weight: 0.5,
            ..Default::default()
        })
        .unwrap();
        rt.set_profile("explorer", crate::storage::Policy::Refuse)
            .unwrap();
        rt
    }

    #[test]
    fn parallel_crc_equals_serial() {
        let data: Vec<u8> = (0..(9u64 << 20) + 123)
            .map(|i| (i * 7919 % 251) as u8)
            .collect();
        assert_eq!(crc32_par(&data), crc32fast::hash(&data));
    }

    #[test]
    fn roundtrip_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.ngs");
        let rt = sample();
        save(&rt.read(), &p).unwrap();
        let st = load(&p).unwrap();
        let orig = rt.read();
        assert_eq!(st.tokens.records, orig.tokens.records);
        assert_eq!(st.tokens.labels, orig.tokens.labels);
        assert_eq!(st.cdna, orig.cdna);
        assert_eq!(st.history.len(), 1);
        assert_eq!(st.guardian.events(None), orig.guardian.events(None));
    }

    #[test]
    fn every_flipped_byte_or_truncation_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.ngs");
        save(&sample().read(), &p).unwrap();
        let good = fs::read(&p).unwrap();
        let q = dir.path().join("b.ngs");
        for i in (0..good.len()).step_by(7) {
            let mut bad = good.clone();
            bad[i] ^= 0x5A;
            fs::write(&q, &bad).unwrap();
            assert!(load(&q).is_err(), "flipped byte {i} was accepted");
        }
        for cut in [0, 10, 30, good.len() / 2, good.len() - 1] {
            fs::write(&q, &good[..cut]).unwrap();
            assert!(load(&q).is_err(), "truncation at {cut} was accepted");
        }
    }
}
