//! Atomic replacement of a file: the new contents go to a temporary file in the same
//! directory, are fsynced, and renamed over the target, so a reader sees the old file or the
//! new one, never a mix. Concurrent writers (threads or processes) each have their own
//! temporary file, so the last rename wins and every writer succeeds; a writer killed with
//! `kill -9` leaves its temporary file behind, and the next write to the same target removes it.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Replace the file at `path` (through symbolic links: the link stays a link and the file it
/// names gets the contents) with what `body` writes.
pub(super) fn replace(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let target = resolve_links(path)?;
    let name = target.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temps = TempNames::new(name);
    let (tmp, file) = temps.create(&dir)?;
    let write = || -> std::io::Result<()> {
        let mut w = BufWriter::with_capacity(8 << 20, &file);
        body(&mut w)?;
        w.flush()?;
        drop(w);
        file.sync_all()?;
        fs::rename(&tmp, &target)?;
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    drop(file);
    temps.remove_orphans(&dir);
    Ok(())
}

/// Follow `path` through symbolic links to the file they name (which may not exist yet).
fn resolve_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = fs::read_link(&p)?;
                p = match p.parent() {
                    Some(parent) if to.is_relative() => parent.join(to),
                    _ => to,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// Saves in this process so far: with the process id, it makes every temporary name unique,
/// so concurrent saves to one path (threads or processes) never share a temporary file.
static SAVES: AtomicU64 = AtomicU64::new(0);

/// Temporary files of a save to `name` are `.{start}.{hash}.ngtmp-{pid}-{n}`: `start` is the
/// first bytes of the name (so a person can tell what it belongs to), `hash` the FNV-1a hash
/// of the whole name (so the temporary name stays short for names near the 255-byte limit,
/// and names only the one target), `pid` the writing process and `n` its save counter.
/// While writing, the writer holds an advisory lock on the file; a later save removes the
/// temporary files of its target whose writer is gone (a save killed with `kill -9`).
pub(super) struct TempNames {
    pub(super) prefix: String,
}

impl TempNames {
    pub(super) fn new(name: &std::ffi::OsStr) -> Self {
        let full = name.to_string_lossy();
        let mut cut = full.len().min(40);
        while !full.is_char_boundary(cut) {
            cut -= 1;
        }
        let hash = name
            .as_encoded_bytes()
            .iter()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3)
            });
        TempNames {
            prefix: format!(".{}.{hash:016x}.ngtmp-", &full[..cut]),
        }
    }

    /// Create (never open an existing) temporary file in `dir`, locked for writing.
    fn create(&self, dir: &Path) -> std::io::Result<(PathBuf, File)> {
        loop {
            let n = SAVES.fetch_add(1, Ordering::Relaxed);
            let tmp = dir.join(format!("{}{}-{n}", self.prefix, std::process::id()));
            let file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            lock::exclusive(&file);
            // Between the create and the lock, a save from another pid namespace could have
            // taken the file for an orphan and removed it: then take a new name.
            if lock::same_file(&file, &tmp) {
                return Ok((tmp, file));
            }
        }
    }

    /// The writer's process id, when `file` is one of this target's temporary files.
    fn writer(&self, file: &str) -> Option<u32> {
        let rest = file.strip_prefix(&self.prefix)?;
        let (pid, n) = rest.split_once('-')?;
        n.parse::<u64>().ok()?;
        pid.parse().ok()
    }

    /// Remove this target's temporary files whose writer is no longer running (its process is
    /// gone and nothing holds the file's lock). Best effort: errors are ignored.
    fn remove_orphans(&self, dir: &Path) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str().and_then(|f| self.writer(f)) else {
                continue;
            };
            if lock::process_alive(pid) {
                continue;
            }
            let p = dir.join(&name);
            if let Ok(f) = File::open(&p) {
                if lock::try_exclusive(&f) {
                    let _ = fs::remove_file(&p);
                }
            }
        }
    }
}

/// Advisory file locks and process checks for temporary files (no-ops where unsupported).
mod lock {
    use std::fs::File;
    use std::path::Path;

    #[cfg(unix)]
    pub fn exclusive(f: &File) {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this File owns; it only sets an advisory lock.
        let _ = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    }

    /// Whether the lock could be taken, or locks are not supported on this filesystem.
    #[cfg(unix)]
    pub fn try_exclusive(f: &File) -> bool {
        use std::os::fd::AsRawFd;
        // SAFETY: as in `exclusive`.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EWOULDBLOCK)
    }

    #[cfg(unix)]
    pub fn same_file(f: &File, p: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (f.metadata(), std::fs::metadata(p)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }

    #[cfg(unix)]
    pub fn process_alive(pid: u32) -> bool {
        if pid == std::process::id() {
            return true;
        }
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }

    #[cfg(not(unix))]
    pub fn exclusive(_: &File) {}
    #[cfg(not(unix))]
    pub fn try_exclusive(_: &File) -> bool {
        false
    }
    #[cfg(not(unix))]
    pub fn same_file(_: &File, _: &Path) -> bool {
        true
    }
    #[cfg(not(unix))]
    pub fn process_alive(_: u32) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::{load, save, tests::sample};
    use super::*;
    use crate::storage::RuntimeStorage;

    /// Names in `dir` other than `keep`.
    fn others(dir: &Path, keep: &str) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != keep)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn concurrent_saves_to_one_path_leave_one_complete_file() {
        // S1-2: each save has its own temporary file; the last rename wins
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("same.ngs");
        let (a, b) = (sample(), RuntimeStorage::new());
        std::thread::scope(|s| {
            for t in 0..4 {
                let (rt, p) = (if t % 2 == 0 { &a } else { &b }, &p);
                s.spawn(move || {
                    for _ in 0..10 {
                        save(&rt.read(), p).unwrap();
                    }
                });
            }
        });
        let n = load(&p).unwrap().tokens.len();
        assert!(n == 5 || n == 0, "{n} tokens");
        assert!(others(dir.path(), "same.ngs").is_empty());
    }

    #[test]
    fn a_name_near_the_length_limit_can_be_saved_to() {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("{}.ngs", "n".repeat(250));
        save(&sample().read(), &dir.path().join(&name)).unwrap();
        assert_eq!(load(&dir.path().join(&name)).unwrap().tokens.len(), 5);
        assert!(others(dir.path(), &name).is_empty());
    }

    #[test]
    #[cfg(unix)]
    fn saving_through_a_symlink_writes_its_target() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("real")).unwrap();
        let link = dir.path().join("link.ngs");
        std::os::unix::fs::symlink("real/lab.ngs", &link).unwrap(); // dangling at first
        save(&RuntimeStorage::new().read(), &link).unwrap();
        save(&sample().read(), &link).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        let target = dir.path().join("real/lab.ngs");
        assert_eq!(load(&target).unwrap().tokens.len(), 5);
        assert_eq!(
            others(&dir.path().join("real"), "lab.ngs"),
            Vec::<String>::new()
        );
    }

    #[test]
    #[cfg(unix)]
    fn a_save_removes_temporary_files_whose_writer_is_gone() {
        // S3-7: a save killed with kill -9 leaves its temporary file; the next save to the
        // same path removes it, but never one a running writer holds, nor another target's
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lab.ngs");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let mine = TempNames::new(std::ffi::OsStr::new("lab.ngs"));
        let theirs = TempNames::new(std::ffi::OsStr::new("other.ngs"));
        let orphan = format!("{}{dead}-0", mine.prefix);
        let running = format!("{}{}-99999", mine.prefix, std::process::id());
        let other = format!("{}{dead}-0", theirs.prefix);
        for f in [&orphan, &running, &other] {
            fs::write(dir.path().join(f), b"partial").unwrap();
        }
        save(&sample().read(), &p).unwrap();
        let mut left = vec![running, other];
        left.sort();
        assert_eq!(others(dir.path(), "lab.ngs"), left);
    }
}
