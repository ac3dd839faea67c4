//! Files of a dataset: part names, writing one Parquet part (temporary name, fsync, rename),
//! reading one back with its size and CRC-32 checked, and installing a finished temporary
//! directory at the dataset's path atomically.

use super::{err, io};
use crate::error::{NgError, Result};
use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The tables of a dataset, in `meta.json` order.
pub const TABLES: [&str; 3] = ["tokens", "connections", "vectors"];
/// Part numbers have five digits.
pub const MAX_PARTS: usize = 100_000;

/// Where one part lives, relative to the dataset directory.
pub fn part_name(table: &str, part: usize) -> String {
    format!("{table}/part-{part:05}.parquet")
}

/// The part number of a file name `part-NNNNN.parquet`.
pub fn part_number(file: &str) -> Option<usize> {
    let n = file.strip_prefix("part-")?.strip_suffix(".parquet")?;
    (n.len() == 5 && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
}

/// What was written for one part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartInfo {
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    pub crc32: u32,
}

/// Columns written with dictionary encoding: the name columns (a handful of distinct names
/// each). Every other column is written PLAIN: ids, labels, words and coordinates are nearly
/// all distinct, and the small integer and timestamp columns, often one value per part, cost
/// more to dictionary-encode than snappy spends on their runs.
pub const DICTIONARY_COLUMNS: [&str; 3] = ["entity", "kind", "mutability"];

/// Columns written without min/max statistics: the text columns, whose minimum and maximum
/// strings prune nothing (labels and words are not sorted; a name column's range is the
/// name list) and cost a string comparison per row.
pub const UNSTATED_COLUMNS: [&str; 5] = ["label", "word", "entity", "kind", "mutability"];

fn props() -> WriterProperties {
    static P: std::sync::OnceLock<WriterProperties> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let mut b = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            // min/max per column chunk, as pyarrow writes them (no page index)
            .set_statistics_enabled(parquet::file::properties::EnabledStatistics::Chunk)
            .set_created_by(format!("neurograph_lab {}", env!("CARGO_PKG_VERSION")))
            .set_dictionary_enabled(false);
        for c in DICTIONARY_COLUMNS {
            b = b.set_column_dictionary_enabled(parquet::schema::types::ColumnPath::from(c), true);
        }
        for c in UNSTATED_COLUMNS {
            b = b.set_column_statistics_enabled(
                parquet::schema::types::ColumnPath::from(c),
                parquet::file::properties::EnabledStatistics::None,
            );
        }
        b.build()
    })
    .clone()
}

/// The Parquet bytes of one batch.
pub fn encode(batch: &RecordBatch) -> std::result::Result<Vec<u8>, String> {
    let mut buf = Vec::with_capacity(batch.get_array_memory_size() / 2 + 4096);
    let mut w =
        ArrowWriter::try_new(&mut buf, batch.schema(), Some(props())).map_err(|e| e.to_string())?;
    w.write(batch).map_err(|e| e.to_string())?;
    w.close().map_err(|e| e.to_string())?;
    Ok(buf)
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{}-{}-{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Rows gathered and encoded at a time when writing: the chunk's columns stay in cache and
/// their buffers are reused memory (no fresh zeroed pages), as in [`READ_BATCH`].
pub const WRITE_CHUNK: usize = 16_384;

/// A `Write` that counts and checksums what passes through it to the file.
struct Sink {
    file: std::io::BufWriter<File>,
    crc: crc32fast::Hasher,
    bytes: u64,
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(b)?;
        self.crc.update(&b[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Write `batch` as `dir/<name>` (a part name); see [`write_part_chunks`].
pub fn write_part(dir: &Path, name: &str, batch: &RecordBatch) -> Result<PartInfo> {
    let (schema, rows) = (batch.schema(), batch.num_rows());
    write_part_chunks(dir, name, &schema, rows, Durability::Sync, |r| {
        Ok(batch.slice(r.start, r.len()))
    })
}

/// When a written part reaches the disk.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync before the part gets its name.
    Sync,
    /// Start writing it back and return; the caller fsyncs it later with [`sync_files`]
    /// (before the folder it is in gets its name), so the disk works while the next parts
    /// are encoded.
    Later,
}

/// Ask the kernel to start writing `f`'s dirty pages back now, without waiting (Linux
/// `sync_file_range(SYNC_FILE_RANGE_WRITE)`; elsewhere nothing: the later fsync does it all).
fn start_writeback(f: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: a valid open descriptor; the call only schedules I/O on it.
        unsafe {
            libc::sync_file_range(f.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = f;
}

/// fsync the files at `paths` (on all cores), returning the first error.
pub fn sync_files(paths: &[PathBuf]) -> Result<()> {
    use rayon::prelude::*;
    paths.par_iter().try_for_each(|p| {
        // opened for writing: Windows flushes only a handle with write access
        fs::OpenOptions::new()
            .write(true)
            .open(p)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(p, e))
    })
}

/// Write a part of `rows` rows as `dir/<name>` (a part name), encoding the batches `chunk`
/// makes for consecutive row ranges of at most [`WRITE_CHUNK`] rows straight into the file,
/// checksummed on the way: a temporary name in the same folder, fsync (or with
/// [`Durability::Later`], writeback started), rename, so the part name never holds a partial
/// file.
pub fn write_part_chunks(
    dir: &Path,
    name: &str,
    schema: &arrow_schema::SchemaRef,
    rows: usize,
    durability: Durability,
    mut chunk: impl FnMut(std::ops::Range<usize>) -> std::result::Result<RecordBatch, String>,
) -> Result<PartInfo> {
    let path = dir.join(name);
    let folder = path.parent().unwrap_or(dir);
    fs::create_dir_all(folder).map_err(|e| io(folder, e))?;
    let file_name = path
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let tmp = folder.join(format!(".{file_name}.tmp-{}", unique()));
    enum Fail {
        Io(std::io::Error),
        Encode(String),
    }
    let mut write = || -> std::result::Result<(u64, u32), Fail> {
        let file = File::create(&tmp).map_err(Fail::Io)?;
        let mut sink = Sink {
            file: std::io::BufWriter::with_capacity(1 << 16, file),
            crc: crc32fast::Hasher::new(),
            bytes: 0,
        };
        let enc = |e: parquet::errors::ParquetError| Fail::Encode(e.to_string());
        let mut w = ArrowWriter::try_new(&mut sink, schema.clone(), Some(props())).map_err(enc)?;
        let mut at = 0;
        while at < rows {
            let end = (at + WRITE_CHUNK).min(rows);
            let b = chunk(at..end).map_err(Fail::Encode)?;
            w.write(&b).map_err(enc)?;
            at = end;
        }
        w.close().map_err(enc)?;
        let Sink { file, crc, bytes } = sink;
        let file = file.into_inner().map_err(|e| Fail::Io(e.into_error()))?;
        match durability {
            Durability::Sync => file.sync_all().map_err(Fail::Io)?,
            Durability::Later => start_writeback(&file),
        }
        drop(file);
        fs::rename(&tmp, &path).map_err(Fail::Io)?;
        Ok((bytes, crc.finalize()))
    };
    match write() {
        Ok((bytes, crc32)) => Ok(PartInfo {
            file: name.to_string(),
            rows: rows as u64,
            bytes,
            crc32,
        }),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(match e {
                Fail::Io(e) => io(&path, e),
                Fail::Encode(e) => err(&path, format!("could not encode: {e}")),
            })
        }
    }
}

/// Rows per record batch when reading: small enough that the decoded columns are reused
/// memory (no fresh zeroed pages per part), large enough to amortise the per-batch work.
pub const READ_BATCH: usize = 65_536;

/// Read one part whose size and CRC-32 `meta.json` gives: check them, its schema and row count, then hand its rows to `each(batch, first_row)` in batches
/// of [`READ_BATCH`] rows. Errors from `each` are given the file's name.
pub fn read_part(
    root: &Path,
    info: &PartInfo,
    schema: &arrow_schema::Schema,
    mut each: impl FnMut(&RecordBatch, usize) -> std::result::Result<(), String>,
) -> Result<()> {
    use std::io::Read;
    let path = root.join(&info.file);
    let mut f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(err(&path, "part file is missing (incomplete dataset)"))
        }
        Err(e) => return Err(io(&path, e)),
    };
    let size = f.metadata().map_err(|e| io(&path, e))?.len();
    if size != info.bytes {
        return Err(err(
            &path,
            format!(
                "file is {size} bytes, meta.json says {} (truncated or replaced)",
                info.bytes
            ),
        ));
    }
    // one read into memory (a part is a few MB), checksummed there, then decoded from it
    let mut buf = Vec::with_capacity(size as usize);
    f.read_to_end(&mut buf).map_err(|e| io(&path, e))?;
    if crc32fast::hash(&buf) != info.crc32 {
        return Err(err(
            &path,
            "CRC-32 differs from meta.json: the file is corrupted",
        ));
    }
    let b = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(buf))
        .map_err(|e| err(&path, format!("not a readable Parquet file: {e}")))?;
    if let Some(d) = super::columns::schema_difference(b.schema(), schema) {
        return Err(err(&path, format!("wrong schema: {d}")));
    }
    let rows = b.metadata().file_metadata().num_rows().max(0) as u64;
    if rows != info.rows {
        return Err(err(
            &path,
            format!("holds {rows} rows, meta.json says {}", info.rows),
        ));
    }
    let reader = b
        .with_batch_size(READ_BATCH)
        .build()
        .map_err(|e| err(&path, e.to_string()))?;
    let mut at = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| err(&path, format!("could not decode: {e}")))?;
        if at + batch.num_rows() > rows as usize {
            return Err(err(&path, "holds more rows than its footer says"));
        }
        each(&batch, at).map_err(|e| err(&path, e))?;
        at += batch.num_rows();
    }
    if at as u64 != rows {
        return Err(err(
            &path,
            format!("decoded {at} rows, its footer says {rows}"),
        ));
    }
    Ok(())
}

/// Parse Parquet bytes into one batch with exactly `schema`.
pub fn decode(
    buf: bytes::Bytes,
    schema: &arrow_schema::Schema,
) -> std::result::Result<RecordBatch, String> {
    let b = ParquetRecordBatchReaderBuilder::try_new(buf)
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
    if let Some(d) = super::columns::schema_difference(b.schema(), schema) {
        return Err(format!("wrong schema: {d}"));
    }
    let rows = b.metadata().file_metadata().num_rows().max(0) as usize;
    let reader = b
        .with_batch_size(rows.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let batches: Vec<RecordBatch> = reader
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| format!("could not decode: {e}"))?;
    match batches.len() {
        0 => Ok(RecordBatch::new_empty(std::sync::Arc::new(schema.clone()))),
        1 => batches.into_iter().next().ok_or_else(String::new),
        _ => arrow_select::concat::concat_batches(&batches[0].schema(), &batches)
            .map_err(|e| e.to_string()),
    }
}

/// The footer of a part file: its schema difference (if any) and row count, without reading
/// the data.
pub fn footer(path: &Path, schema: &arrow_schema::Schema) -> Result<u64> {
    let f = File::open(path).map_err(|e| io(path, e))?;
    let b = ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(|e| err(path, format!("not a readable Parquet file: {e}")))?;
    if let Some(d) = super::columns::schema_difference(b.schema(), schema) {
        return Err(err(path, format!("wrong schema: {d}")));
    }
    Ok(b.metadata().file_metadata().num_rows().max(0) as u64)
}

/// The sibling temporary directory for a dataset at `dir`
/// (`.<name>.tmp-<host>-<pid>-<n>-<t>`), created; temporary directories of earlier writes
/// of the same dataset by processes of this machine that have since died are removed first.
pub fn temp_dir(dir: &Path) -> Result<PathBuf> {
    let name = dir
        .file_name()
        .ok_or_else(|| err(dir, "the path names no directory"))?
        .to_string_lossy()
        .into_owned();
    let parent = parent_of(dir);
    if !parent.is_dir() {
        return Err(err(
            dir,
            format!("its parent {} is not a directory", parent.display()),
        ));
    }
    remove_dead_temps(&parent, &name);
    let tmp = parent.join(format!(".{name}.tmp-{}-{}", host_tag(), unique()));
    fs::create_dir(&tmp).map_err(|e| io(&tmp, e))?;
    Ok(tmp)
}

/// This machine's tag in temporary names: the CRC-32 of its host name, in hex. A dataset
/// folder may be shared by several machines (Dask workers on a network file system); a
/// process id only means something on the machine that gave it.
pub fn host_tag() -> String {
    format!("{:08x}", crc32fast::hash(host_name().as_bytes()))
}

fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer outlives the call, which writes at most its length.
        if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
    }
    std::env::var("COMPUTERNAME").unwrap_or_default()
}

/// Whether a process with this id runs on this machine (elsewhere than Unix: assumed so).
fn alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: signal 0 sends nothing; it only checks that the process exists.
        if unsafe { libc::kill(pid, 0) } == 0 {
            return true;
        }
        std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Remove `.<name>.tmp-<host>-<pid>-...` folders under `parent` that a process of this
/// machine, no longer running, left (a writer killed before it installed its dataset).
/// Best effort: anything else, or any error, is left alone.
fn remove_dead_temps(parent: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let prefix = format!(".{name}.tmp-{}-", host_tag());
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !alive(pid) && e.path().is_dir() {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

fn parent_of(dir: &Path) -> PathBuf {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sync_dir(d: &Path) {
    if let Ok(f) = File::open(d) {
        let _ = f.sync_all();
    }
}

/// What is at the dataset path now.
pub enum Target {
    Absent,
    EmptyDir,
    Dataset,
}

/// Refuse a target that must not be replaced: a file, a directory that is not a dataset, or
/// (without `overwrite`) a dataset.
pub fn check_target(dir: &Path, overwrite: bool) -> Result<Target> {
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Target::Absent),
        Err(e) => Err(io(dir, e)),
        Ok(m) if !m.is_dir() => Err(err(
            dir,
            "exists and is not a directory: a dataset is a directory",
        )),
        Ok(_) => {
            let mut entries = fs::read_dir(dir).map_err(|e| io(dir, e))?;
            if entries.next().is_none() {
                Ok(Target::EmptyDir)
            } else if !dir.join(super::META).is_file() {
                Err(err(
                    dir,
                    "exists, is not empty and holds no meta.json: not a dataset, so it is not replaced",
                ))
            } else if overwrite {
                Ok(Target::Dataset)
            } else {
                Err(err(
                    dir,
                    "already holds a dataset: pass overwrite=True to replace it",
                ))
            }
        }
    }
}

/// Fsync every file and folder under `tmp`, then put `tmp` at `dir`: a rename, or with a
/// dataset there (and `overwrite`), an atomic exchange followed by removing the old one.
pub fn install(tmp: &Path, dir: &Path, overwrite: bool) -> Result<()> {
    for t in TABLES {
        let d = tmp.join(t);
        if d.is_dir() {
            sync_dir(&d);
        }
    }
    sync_dir(tmp);
    match check_target(dir, overwrite)? {
        Target::Absent => fs::rename(tmp, dir).map_err(|e| io(dir, e))?,
        Target::EmptyDir => {
            fs::remove_dir(dir).map_err(|e| io(dir, e))?;
            fs::rename(tmp, dir).map_err(|e| io(dir, e))?;
        }
        Target::Dataset => {
            exchange(tmp, dir).map_err(|e| io(dir, e))?;
            // `tmp` now holds the old dataset
            fs::remove_dir_all(tmp).map_err(|e| io(tmp, e))?;
        }
    }
    sync_dir(&parent_of(dir));
    Ok(())
}

/// Swap two directories in one step (Linux `renameat2(RENAME_EXCHANGE)`); elsewhere, or on a
/// file system without it, the old one is moved aside first.
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let ca = CString::new(a.as_os_str().as_bytes())?;
        let cb = CString::new(b.as_os_str().as_bytes())?;
        // SAFETY: both are valid NUL-terminated paths that live across the call.
        let r = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                ca.as_ptr(),
                libc::AT_FDCWD,
                cb.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
            return Err(e);
        }
    }
    let aside = parent_of(b).join(format!(".old-{}", unique()));
    fs::rename(b, &aside)?;
    if let Err(e) = fs::rename(a, b) {
        let _ = fs::rename(&aside, b);
        return Err(e);
    }
    fs::rename(&aside, a)
}

/// Remove a temporary directory after a failed write (best effort).
pub fn discard(tmp: &Path) {
    let _ = fs::remove_dir_all(tmp);
}

/// The part files of `table` under `root`, by number (None for a table with no folder);
/// temporary files left by killed writers are removed, other files refused.
pub fn list_parts(root: &Path, table: &str) -> Result<Option<Vec<String>>> {
    let d = root.join(table);
    if !d.is_dir() {
        return Ok(None);
    }
    let mut found: Vec<(usize, String)> = Vec::new();
    for e in fs::read_dir(&d).map_err(|e| io(&d, e))? {
        let e = e.map_err(|e| io(&d, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(n) = part_number(&name) {
            found.push((n, part_name(table, n)));
        } else if name.starts_with(".part-") && name.contains(".tmp-") {
            let _ = fs::remove_file(e.path());
        } else {
            return Err(err(&e.path(), "is not a part file (part-NNNNN.parquet)"));
        }
    }
    found.sort();
    for (i, (n, _)) in found.iter().enumerate() {
        if *n != i {
            return Err(err(
                &d.join(format!("part-{i:05}.parquet")),
                "part file is missing: parts are numbered from 0 without gaps",
            ));
        }
    }
    Ok(Some(found.into_iter().map(|(_, f)| f).collect()))
}

/// Size and CRC-32 of a whole file.
pub fn checksum(path: &Path) -> Result<(u64, u32)> {
    let buf = fs::read(path).map_err(|e| io(path, e))?;
    Ok((buf.len() as u64, crc32fast::hash(&buf)))
}

/// An error for a path that is not there.
pub fn not_found(path: &Path) -> NgError {
    NgError::FileNotFound(path.display().to_string())
}
