//! Snapshots: one versioned binary file with a checksum per section, written atomically
//! (temporary file, fsync, rename) and verified completely before anything is replaced.
//!
//! Layout (little endian): 8-byte magic `NGSNAP\r\n`, u32 format version, u32 section
//! count, u32 CRC-32 of the header and table, u32 reserved; then one 32-byte table entry per
//! section (tag, flags, offset, length, CRC-32, reserved); then the sections.

use crate::error::{NgError, Result};
use crate::storage::State;
use std::path::Path;

mod atomic;
pub(crate) mod check;
mod read;
mod write;

pub const MAGIC: [u8; 8] = *b"NGSNAP\r\n";
pub const FORMAT_VERSION: u32 = 1;
const HEADER: usize = 24;
const ENTRY: usize = 32;
const MAX_SECTIONS: u32 = 64;

/// A section's four-byte name.
pub type Tag = [u8; 4];

const META: Tag = *b"META";
const TOKN: Tag = *b"TOKN";
const DEFS: Tag = *b"DEFS";
const LABL: Tag = *b"LABL";
const CONN: Tag = *b"CONN";
const CDNA: Tag = *b"CDNA";
const EVNT: Tag = *b"EVNT";
const BOOT: Tag = *b"BOOT";

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

/// Write `state` to `path` atomically; returns the bytes written.
pub fn save(state: &State, path: &Path) -> Result<u64> {
    save_with(state, path, &[])
}

/// Write `state` plus `extra` sections (e.g. the journal's `JSEQ`, the last journal sequence
/// number the snapshot covers) to `path` atomically. Readers ignore sections they do not know,
/// so an extra section never makes a file unreadable; see [`read_section`].
pub fn save_with(state: &State, path: &Path, extra: &[(Tag, &[u8])]) -> Result<u64> {
    let (meta, labels) = (write::meta(state), write::labels(state));
    let (cdna, events) = (write::cdna(state), write::events(state));
    let boot = state.boot.as_ref().map(|b| write::boot(b));
    let mut sections: Vec<(Tag, &[u8])> = vec![
        (META, &meta),
        (TOKN, bytemuck::cast_slice(&state.tokens.records)),
        (DEFS, &state.tokens.defined),
        (LABL, &labels),
        (CONN, bytemuck::cast_slice(&state.connections.records)),
        (CDNA, &cdna),
        (EVNT, &events),
    ];
    if let Some(b) = &boot {
        sections.push((BOOT, b));
    }
    sections.extend(extra.iter().copied());
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

/// The bytes of one section of the snapshot at `path` (header and that section's checksum
/// verified), or `None` when the file has no such section.
pub fn read_section(path: &Path, tag: Tag) -> Result<Option<Vec<u8>>> {
    read::SnapshotFile::open(path)?.optional(tag)
}

/// The CDNA section's bytes for `state` (current record and history), as a snapshot holds them.
pub fn cdna_bytes(state: &State) -> Vec<u8> {
    write::cdna(state)
}

/// Parse bytes made by [`cdna_bytes`] into the current CDNA and its history.
pub fn parse_cdna(
    buf: &[u8],
) -> std::result::Result<(crate::Cdna, Vec<crate::cdna::CdnaVersion>), String> {
    read::parse_cdna(buf)
}

/// Read and verify a snapshot completely, section by section (see `read.rs`); nothing is
/// returned unless every check passed.
pub fn load(path: &Path) -> Result<State> {
    let mut file = read::SnapshotFile::open(path)?;
    let meta = file.read_meta()?;
    let mut state = State::default();
    file.read_tokens(&meta, &mut state)?;
    file.read_labels(&mut state)?;
    file.read_connections(&meta, &mut state)?;
    file.read_cdna(&mut state)?;
    file.read_events(&meta, &mut state)?;
    file.read_boot(&mut state)?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::tokens::TokenBatch;
    use crate::storage::RuntimeStorage;
    use std::fs;

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
