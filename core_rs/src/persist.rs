//! Saving and loading a whole [`RuntimeStorage`] through the snapshot format.
//!
//! This sits above both `storage` and `snapshot` (which reads into a `storage::State`), so
//! the store never depends on its file format and the module graph stays acyclic.

use crate::error::Result;
use crate::metrics::Op;
use crate::progress::Progress;
use crate::storage::RuntimeStorage;
use std::path::Path;

impl RuntimeStorage {
    /// Save everything to `path` atomically (temporary file, fsync, rename); returns the
    /// bytes written. Writers wait while the snapshot is taken.
    pub fn save(&self, path: &Path) -> Result<u64> {
        self.metrics.time(Op::SnapshotSave, || {
            crate::snapshot::save(&self.read(), path)
        })
    }

    /// Replace everything with the snapshot at `path`, read and verified completely first:
    /// on any error nothing changes. `progress` marks the commit point once the file is read
    /// (a cancellation before it leaves the store as it was).
    pub fn load(&self, path: &Path, progress: Option<&Progress>) -> Result<()> {
        let st = self
            .metrics
            .time(Op::SnapshotLoad, || crate::snapshot::load(path))?;
        if let Some(p) = progress {
            p.start(1);
            p.add(1); // the file is read
        }
        crate::progress::commit(progress)?;
        self.replace(st);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::tokens::TokenBatch;

    #[test]
    fn save_then_load_restores_the_contents_and_a_bad_file_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rt.ngs");
        let a = RuntimeStorage::new();
        let coords = vec![0.5f32; 4 * 24];
        let ids = a
            .create_tokens(&TokenBatch {
                coords: &coords,
                default_weight: 0.5,
                ..Default::default()
            })
            .unwrap();
        assert!(a.save(&path).unwrap() > 0);
        let b = RuntimeStorage::new();
        b.load(&path, None).unwrap();
        assert_eq!(b.token_ids(), ids);
        assert_eq!(b.token_columns(0, None), a.token_columns(0, None));
        std::fs::write(&path, b"not a snapshot").unwrap();
        assert!(b.load(&path, None).is_err());
        assert_eq!(
            b.token_ids(),
            ids,
            "a refused load leaves the store as it was"
        );
        // cancelled before the commit point: nothing changes
        a.save(&path).unwrap();
        let c = RuntimeStorage::new();
        let p = Progress::new();
        p.cancel();
        assert!(c.load(&path, Some(&p)).is_err());
        assert_eq!(c.token_count(), 0);
    }
}
