//! Journal segments: files `journal-<first seq, 20 digits>.ngj` in the journal directory, each a
//! 24-byte header (magic `NGJRNL\r\n`, u32 format version, u32 reserved, u64 first sequence
//! number) followed by frames. A compaction starts a new segment and deletes the older ones.

use super::frame::{self, HEAD, MAX_PAYLOAD};
use super::JournalError;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const MAGIC: [u8; 8] = *b"NGJRNL\r\n";
pub const VERSION: u32 = 1;
pub const HEADER: usize = 24;

/// The path of the segment whose first frame is `start`.
pub fn path(dir: &Path, start: u64) -> PathBuf {
    dir.join(format!("journal-{start:020}.ngj"))
}

/// The segments in `dir`, by first sequence number.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let io = |e| JournalError::io(dir, e);
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let start = name
            .strip_prefix("journal-")
            .and_then(|n| n.strip_suffix(".ngj"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(start) = start {
            out.push((start, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Create (or empty) the segment starting at `start`, header written and fsynced, the
/// directory entry fsynced too; returns it open for appending.
pub fn create(dir: &Path, start: u64) -> Result<File, JournalError> {
    let p = path(dir, start);
    let io = |e| JournalError::io(&p, e);
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&p)
        .map_err(io)?;
    let mut head = Vec::with_capacity(HEADER);
    head.extend_from_slice(&MAGIC);
    head.extend_from_slice(&VERSION.to_le_bytes());
    head.extend_from_slice(&0u32.to_le_bytes());
    head.extend_from_slice(&start.to_le_bytes());
    f.write_all(&head).map_err(io)?;
    f.sync_all().map_err(io)?;
    sync_dir(dir)?;
    Ok(f)
}

/// Make the directory's entries (created, renamed, deleted files) durable.
pub fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| JournalError::io(dir, e))
}

/// What a segment holds: its frames (sequence number and payload range), where the last good
/// frame ends, and whether a torn frame follows it.
#[derive(Debug, Default)]
pub struct Scan {
    pub frames: Vec<(u64, std::ops::Range<usize>)>,
    /// Bytes up to the end of the last complete, checksum-valid frame.
    pub good: usize,
    /// The offset and reason of an incomplete last frame (a crash while it was written).
    pub torn: Option<(usize, String)>,
}

/// A complete, checksum-valid frame at `pos`: its sequence number and payload range.
fn frame_at(buf: &[u8], pos: usize) -> Result<(u64, std::ops::Range<usize>), String> {
    let rest = buf.len() - pos;
    if rest < HEAD {
        return Err(format!("{rest} bytes left, too few for a frame header"));
    }
    let le32 = |at: usize| {
        let mut a = [0u8; 4];
        a.copy_from_slice(&buf[at..at + 4]);
        u32::from_le_bytes(a)
    };
    let len = le32(pos) as usize;
    let crc = le32(pos + 4);
    let mut s = [0u8; 8];
    s.copy_from_slice(&buf[pos + 8..pos + 16]);
    let seq = u64::from_le_bytes(s);
    if len > MAX_PAYLOAD || len > rest - HEAD {
        return Err(format!(
            "the frame claims {len} bytes but {} are left",
            rest - HEAD
        ));
    }
    let body = pos + HEAD..pos + HEAD + len;
    if frame::checksum(seq, &buf[body.clone()]) != crc {
        return Err("checksum mismatch".to_string());
    }
    Ok((seq, body))
}

/// Read the frames of a segment held in `buf`. In the `last` segment an invalid frame with no
/// valid frame after it is a torn write (nothing after it was ever acknowledged) and is
/// reported in `torn`; anywhere else an invalid frame is corruption, refused with the file and
/// offset.
pub fn scan(path: &Path, buf: &[u8], start: u64, last: bool) -> Result<Scan, JournalError> {
    let corrupt = |offset: usize, reason: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    if buf.len() < HEADER {
        if last {
            return Ok(Scan {
                torn: Some((0, "the segment header is incomplete".into())),
                ..Scan::default()
            });
        }
        return Err(corrupt(0, "the segment header is incomplete".into()));
    }
    if buf[..8] != MAGIC {
        return Err(corrupt(
            0,
            "not a journal segment (wrong magic bytes)".into(),
        ));
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&buf[8..12]);
    let version = u32::from_le_bytes(v);
    if version != VERSION {
        return Err(corrupt(
            8,
            format!("format version {version} is not supported (this build reads {VERSION})"),
        ));
    }
    let mut s = [0u8; 8];
    s.copy_from_slice(&buf[16..24]);
    if u64::from_le_bytes(s) != start {
        return Err(corrupt(
            16,
            "the header's first sequence number does not match the file name".into(),
        ));
    }
    let mut out = Scan {
        good: HEADER,
        ..Scan::default()
    };
    let mut pos = HEADER;
    let mut expect = start;
    while pos < buf.len() {
        match frame_at(buf, pos) {
            Ok((seq, body)) => {
                if seq != expect {
                    return Err(corrupt(
                        pos,
                        format!("frame has sequence number {seq}, expected {expect}"),
                    ));
                }
                pos = body.end;
                out.frames.push((seq, body));
                out.good = pos;
                expect += 1;
            }
            Err(reason) => {
                // A valid frame right after this one means this one was written and synced
                // before it: that is damage, not a torn tail.
                let next = frame_len(buf, pos).map(|n| pos + n);
                let more = next.is_some_and(|n| n < buf.len() && frame_at(buf, n).is_ok());
                if !last || more {
                    return Err(corrupt(pos, reason));
                }
                out.torn = Some((pos, reason));
                break;
            }
        }
    }
    Ok(out)
}

/// The whole length of the frame at `pos` as its header claims, if the header is there.
fn frame_len(buf: &[u8], pos: usize) -> Option<usize> {
    let b = buf.get(pos..pos + 4)?;
    let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    (len <= MAX_PAYLOAD).then_some(HEAD + len)
}
