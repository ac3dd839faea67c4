//! Startup: the snapshot (if its file exists), then every complete, checksum-valid frame after
//! the sequence number the snapshot covers, applied in order. A torn last frame is cut off; a
//! damaged frame anywhere else, or a gap in the sequence, is refused with the file and offset.

use super::{frame, segment, JournalError, JSEQ};
use crate::storage::State;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

/// What the files held.
pub(super) struct Recovered {
    /// The snapshot with the journal applied; `None` when neither a snapshot nor a frame
    /// exists (a fresh start keeps what the store holds).
    pub state: Option<State>,
    /// The last sequence number (applied or covered by the snapshot).
    pub last: u64,
    /// The sequence number the snapshot covers.
    pub covered: u64,
    /// The segments on disk, and how many frames each holds after a torn tail is cut.
    pub segments: Vec<(u64, PathBuf, usize)>,
    pub snapshot_exists: bool,
}

/// The last sequence number a snapshot file covers (0 for a snapshot made without a journal).
pub(super) fn covered_by(snapshot: &Path) -> Result<u64, JournalError> {
    match crate::snapshot::read_section(snapshot, JSEQ).map_err(JournalError::Snapshot)? {
        None => Ok(0),
        Some(b) if b.len() == 8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b);
            Ok(u64::from_le_bytes(a))
        }
        Some(_) => Err(JournalError::Corrupt {
            path: snapshot.to_path_buf(),
            offset: 0,
            reason: "its JSEQ section is not 8 bytes".into(),
        }),
    }
}

/// Read the snapshot and the journal in `dir`; cut a torn tail off the last segment.
pub(super) fn recover(dir: &Path, snapshot: &Path) -> Result<Recovered, JournalError> {
    let segs = segment::list(dir)?;
    let snapshot_exists = fs::symlink_metadata(snapshot).is_ok();
    let (mut state, covered) = if snapshot_exists {
        let st = crate::snapshot::load(snapshot).map_err(JournalError::Snapshot)?;
        (st, covered_by(snapshot)?)
    } else {
        (State::default(), 0)
    };
    let mut last = covered;
    let mut any = false;
    let mut segments = Vec::with_capacity(segs.len());
    for (i, (start, path)) in segs.iter().enumerate() {
        let buf = fs::read(path).map_err(|e| JournalError::io(path, e))?;
        let scan = segment::scan(path, &buf, *start, i + 1 == segs.len())?;
        if let Some((offset, _)) = &scan.torn {
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| JournalError::io(path, e))?;
            f.set_len(*offset as u64)
                .and_then(|_| f.sync_all())
                .map_err(|e| JournalError::io(path, e))?;
        }
        segments.push((*start, path.clone(), scan.frames.len()));
        for (seq, body) in scan.frames {
            any = true;
            if seq <= covered {
                continue;
            }
            let offset = (body.start - frame::HEAD) as u64;
            let corrupt = |reason: String| JournalError::Corrupt {
                path: path.clone(),
                offset,
                reason,
            };
            if seq != last + 1 {
                let why = if snapshot_exists {
                    format!("the snapshot covers up to {covered}")
                } else {
                    "the snapshot file is missing".to_string()
                };
                return Err(corrupt(format!(
                    "frame {seq} follows frame {last}: frames {}..={} are missing ({why})",
                    last + 1,
                    seq - 1
                )));
            }
            let (change, cursors) = frame::decode(&buf[body]).map_err(&corrupt)?;
            state
                .apply_journaled(change, cursors)
                .map_err(|e| corrupt(format!("frame {seq} {e}")))?;
            last = seq;
        }
    }
    Ok(Recovered {
        state: (snapshot_exists || any).then_some(state),
        last,
        covered,
        segments,
        snapshot_exists,
    })
}
