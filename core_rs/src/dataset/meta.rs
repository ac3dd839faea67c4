//! `meta.json`: format, counts, the part files with their sizes and checksums, the id cursors,
//! the CDNA (with history) and the bootstrap model. Written last, read first.

use super::files::{PartInfo, TABLES};
use serde_json::{json, Map, Value};

pub const FORMAT: &str = "neurograph_lab.dataset";
pub const FORMAT_VERSION: u64 = 1;

/// The bootstrap model: everything of a `BootState` but the vocabulary rows.
#[derive(Clone, Debug, PartialEq)]
pub struct BootMeta {
    pub seed: u32,
    pub dim: usize,
    pub words: u64,
    /// (space, first PCA axis)
    pub spaces: Vec<(usize, usize)>,
    pub vocabulary_sha256: String,
    /// `Pca::to_bytes`
    pub pca: Vec<u8>,
}

/// What `meta.json` holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    /// tokens, connections, vectors
    pub parts: [Vec<PartInfo>; 3],
    pub next_token: u32,
    pub next_connection: u32,
    /// The snapshot CDNA section: current record and history.
    pub cdna: Vec<u8>,
    pub boot: Option<BootMeta>,
}

impl Meta {
    pub fn rows(&self, table: usize) -> u64 {
        self.parts[table].iter().map(|p| p.rows).sum()
    }
}

pub fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(D[(x >> 4) as usize] as char);
        s.push(D[(x & 15) as usize] as char);
    }
    s
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let v = |c: u8| (c as char).to_digit(16);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some((v(p[0])? * 16 + v(p[1])?) as u8))
        .collect()
}

/// SHA-256 of the vocabulary: each word's UTF-8 bytes, a 0 byte and its token id (u32 LE).
pub fn vocabulary_hash(words: &[String], ids: &[u32]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for (w, id) in words.iter().zip(ids) {
        h.update(w.as_bytes());
        h.update([0u8]);
        h.update(id.to_le_bytes());
    }
    hex(&h.finalize())
}

/// The JSON text of `m`.
pub fn to_json(m: &Meta) -> String {
    let parts: Map<String, Value> = TABLES
        .iter()
        .zip(&m.parts)
        .map(|(t, ps)| {
            let list: Vec<Value> = ps
                .iter()
                .map(
                    |p| json!({"file": p.file, "rows": p.rows, "bytes": p.bytes, "crc32": p.crc32}),
                )
                .collect();
            (t.to_string(), Value::Array(list))
        })
        .collect();
    let (profile, revision) = match crate::snapshot::parse_cdna(&m.cdna) {
        Ok((c, _)) => (c.profile_name(), c.revision),
        Err(_) => ("?", 0),
    };
    let boot = m.boot.as_ref().map_or(Value::Null, |b| {
        let pca = crate::bootstrap::Pca::from_bytes(&b.pca).ok();
        json!({
            "seed": b.seed,
            "dim": b.dim,
            "words": b.words,
            "spaces": b.spaces.iter().map(|(s, a)| json!({
                "space": crate::space::SPACE_NAMES[*s], "first_axis": a
            })).collect::<Vec<_>>(),
            "vocabulary_sha256": b.vocabulary_sha256,
            "pca": pca.map_or(Value::Null, |p| json!({
                "dim": p.dim,
                "axes": p.explained_ratio.len(),
                "total_variance": p.total_variance,
                "explained_ratio": p.explained_ratio,
            })),
            "pca_bytes_hex": hex(&b.pca),
        })
    });
    let v = json!({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_by": format!("neurograph_lab {}", env!("CARGO_PKG_VERSION")),
        "spaces": crate::space::SPACE_NAMES,
        "space_scales": crate::space::SPACE_SCALES,
        "counts": {"tokens": m.rows(0), "connections": m.rows(1), "vectors": m.rows(2)},
        "next_ids": {"token": m.next_token, "connection": m.next_connection},
        "parts": parts,
        "cdna": {"profile": profile, "revision": revision, "bytes_hex": hex(&m.cdna)},
        "bootstrap": boot,
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

fn field<'a>(v: &'a Value, path: &str) -> Result<&'a Value, String> {
    let mut cur = v;
    for k in path.split('.') {
        cur = cur
            .get(k)
            .ok_or_else(|| format!("meta.json has no {path:?}"))?;
    }
    Ok(cur)
}

fn uint(v: &Value, path: &str, max: u64) -> Result<u64, String> {
    field(v, path)?
        .as_u64()
        .filter(|x| *x <= max)
        .ok_or_else(|| format!("meta.json: {path} must be an integer in 0..={max}"))
}

fn text<'a>(v: &'a Value, path: &str) -> Result<&'a str, String> {
    field(v, path)?
        .as_str()
        .ok_or_else(|| format!("meta.json: {path} must be a string"))
}

fn bytes_of(v: &Value, path: &str) -> Result<Vec<u8>, String> {
    unhex(text(v, path)?).ok_or_else(|| format!("meta.json: {path} is not hexadecimal"))
}

/// Parse and check `meta.json` (format, version, part lists, counts, CDNA, bootstrap model).
pub fn parse(text_: &str) -> Result<Meta, String> {
    let v: Value =
        serde_json::from_str(text_).map_err(|e| format!("meta.json is not valid JSON: {e}"))?;
    if field(&v, "format").ok().and_then(Value::as_str) != Some(FORMAT) {
        return Err(format!(
            "meta.json: \"format\" is not {FORMAT:?}: not a neurograph_lab dataset"
        ));
    }
    let version = uint(&v, "format_version", u64::MAX)?;
    if version != FORMAT_VERSION {
        return Err(format!(
            "meta.json: format version {version} is not supported (this build reads {FORMAT_VERSION})"
        ));
    }
    let mut parts: [Vec<PartInfo>; 3] = Default::default();
    for (i, t) in TABLES.iter().enumerate() {
        let list = field(&v, &format!("parts.{t}"))?
            .as_array()
            .ok_or_else(|| format!("meta.json: parts.{t} must be a list"))?;
        for (n, p) in list.iter().enumerate() {
            let at = format!("parts.{t}[{n}]");
            let file = p
                .get("file")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("meta.json: {at}.file must be a string"))?;
            if file != super::files::part_name(t, n) {
                return Err(format!(
                    "meta.json: {at} names {file:?}, expected {:?}",
                    super::files::part_name(t, n)
                ));
            }
            let num = |k: &str, max: u64| {
                p.get(k)
                    .and_then(Value::as_u64)
                    .filter(|x| *x <= max)
                    .ok_or_else(|| format!("meta.json: {at}.{k} must be an integer"))
            };
            parts[i].push(PartInfo {
                file: file.to_string(),
                rows: num("rows", u32::MAX as u64)?,
                bytes: num("bytes", u64::MAX)?,
                crc32: num("crc32", u32::MAX as u64)? as u32,
            });
        }
        let count = uint(&v, &format!("counts.{t}"), u64::MAX)?;
        let sum: u64 = parts[i].iter().map(|p| p.rows).sum();
        if count != sum {
            return Err(format!(
                "meta.json: counts.{t} is {count} but its parts hold {sum} rows"
            ));
        }
    }
    let next_token = uint(&v, "next_ids.token", crate::token::MAX_LOCAL_ID as u64 + 1)? as u32;
    let next_connection = uint(&v, "next_ids.connection", u32::MAX as u64)? as u32;
    let cdna = bytes_of(&v, "cdna.bytes_hex")?;
    crate::snapshot::parse_cdna(&cdna).map_err(|e| format!("meta.json: cdna: {e}"))?;
    let b = field(&v, "bootstrap")?;
    let boot = if b.is_null() {
        if !parts[2].is_empty() {
            return Err("meta.json: vectors parts without a bootstrap model".into());
        }
        None
    } else {
        let dim = uint(b, "dim", 1 << 20)? as usize;
        let words = uint(b, "words", u32::MAX as u64)?;
        if words != sum_rows(&parts[2]) {
            return Err(format!(
                "meta.json: bootstrap.words is {words} but vectors hold {} rows",
                sum_rows(&parts[2])
            ));
        }
        let list = field(b, "spaces")?
            .as_array()
            .ok_or("meta.json: bootstrap.spaces must be a list")?;
        let mut spaces = Vec::new();
        for s in list {
            let name = s.get("space").and_then(Value::as_str).unwrap_or("");
            let sp = crate::space::SPACE_NAMES
                .iter()
                .position(|n| *n == name)
                .ok_or_else(|| format!("meta.json: bootstrap.spaces names space {name:?}"))?;
            let axis = s
                .get("first_axis")
                .and_then(Value::as_u64)
                .ok_or("meta.json: bootstrap.spaces[].first_axis must be an integer")?;
            spaces.push((sp, axis as usize));
        }
        let pca = bytes_of(b, "pca_bytes_hex")?;
        let model =
            crate::bootstrap::Pca::from_bytes(&pca).map_err(|e| format!("meta.json: {e}"))?;
        if model.dim != dim {
            return Err(format!(
                "meta.json: the PCA model is {}-dimensional, bootstrap.dim is {dim}",
                model.dim
            ));
        }
        Some(BootMeta {
            seed: uint(b, "seed", u32::MAX as u64)? as u32,
            dim,
            words,
            spaces,
            vocabulary_sha256: text(b, "vocabulary_sha256")?.to_string(),
            pca,
        })
    };
    Ok(Meta {
        parts,
        next_token,
        next_connection,
        cdna,
        boot,
    })
}

fn sum_rows(p: &[PartInfo]) -> u64 {
    p.iter().map(|x| x.rows).sum()
}
