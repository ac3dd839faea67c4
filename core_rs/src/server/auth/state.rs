//! The auth state directory: created 0700, files 0600, every file written atomically
//! (temporary file, fsync, rename, fsync of the directory).

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The directory holding users, keys, JWT keys, refresh tokens and the audit log. A temporary
/// one (no `state_dir` configured) is removed when the last holder drops it.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    temporary: bool,
}

impl StateDir {
    /// Open (creating it 0700 if needed) `path`, or a fresh temporary directory for `None`.
    /// An existing directory is tightened to 0700.
    pub fn open(path: Option<&Path>) -> io::Result<StateDir> {
        match path {
            Some(p) => {
                create_private_dir(p)?;
                Ok(StateDir {
                    path: p.to_path_buf(),
                    temporary: false,
                })
            }
            None => {
                let base = std::env::temp_dir();
                for _ in 0..16 {
                    let p = base.join(format!("ng-server-{}", super::random_hex(8)));
                    match private_dir_builder().create(&p) {
                        Ok(()) => {
                            return Ok(StateDir {
                                path: p,
                                temporary: true,
                            })
                        }
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                        Err(e) => return Err(e),
                    }
                }
                Err(io::Error::other(
                    "cannot create a temporary state directory",
                ))
            }
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A subdirectory (created 0700).
    pub fn subdir(&self, name: &str) -> io::Result<PathBuf> {
        let p = self.path.join(name);
        create_private_dir(&p)?;
        Ok(p)
    }

    /// Read `name` as JSON; `Ok(None)` when the file does not exist.
    pub fn read_json<T: serde::de::DeserializeOwned>(&self, name: &str) -> io::Result<Option<T>> {
        let p = self.path.join(name);
        match fs::read(&p) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{name}: {e}"))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Write `value` as JSON to `name` atomically, mode 0600.
    pub fn write_json<T: serde::Serialize>(&self, name: &str, value: &T) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
        write_atomic(&self.path, name, &bytes)
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        if self.temporary {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A directory builder that creates with mode 0700 on Unix (elsewhere the platform's default
/// access control applies).
fn private_dir_builder() -> DirBuilder {
    #[allow(unused_mut)]
    let mut builder = DirBuilder::new();
    #[cfg(unix)]
    builder.mode(0o700);
    builder
}

/// Create `p` (and parents) with mode 0700 and make sure `p` itself is 0700.
pub fn create_private_dir(p: &Path) -> io::Result<()> {
    private_dir_builder().recursive(true).create(p)?;
    #[cfg(unix)]
    {
        let perms = fs::metadata(p)?.permissions();
        if perms.mode() & 0o777 != 0o700 {
            fs::set_permissions(p, fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Write `bytes` to `dir/name` through a 0600 temporary file, fsync and rename.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.{}.tmp", super::random_hex(4)));
    let result = (|| {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, dir.join(name))?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
