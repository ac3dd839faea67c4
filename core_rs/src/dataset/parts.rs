//! Writing a dataset in pieces (the distributed layer's workers): one call per part, values
//! checked and quantised as `create_many` does them, then `finish` checks every part, writes
//! `meta.json` and installs the directory.

use super::columns::{self, MUTABILITY};
use super::files::{self, PartInfo, TABLES};
use super::meta::{self, BootMeta, Meta};
use super::{err, Summary};
use crate::bootstrap::Pca;
use crate::cdna::{Cdna, CDNA_SIZE};
use crate::connection::{flags as cflags, mutability_of_kind, Connection, ASSOCIATED_WITH, KINDS};
use crate::error::{NgError, Result};
use crate::space::{encode, NUM_AXES, NUM_SPACES};
use crate::token::{
    encode_field_radius, encode_field_strength, flags, Token, ENTITY_TYPES, MAX_LOCAL_ID,
};
use rayon::prelude::*;
use std::path::Path;

/// Token columns for one part; `None` takes `create_many`'s default.
#[derive(Default)]
pub struct TokenPart<'a> {
    pub id: &'a [u32],
    /// (n, 8, 3) row-major; a NaN triple means "not placed in this space"
    pub coords: &'a [f32],
    pub label: Option<Vec<Option<String>>>,
    pub entity: Option<&'a [u8]>,
    pub domain: Option<&'a [u8]>,
    pub weight: Option<&'a [f32]>,
    pub field_radius: Option<&'a [f32]>,
    pub field_strength: Option<&'a [f32]>,
    pub timestamp: Option<&'a [u32]>,
    pub flags: Option<&'a [u16]>,
}

/// Connection columns for one part; `None` takes `connections.create_many`'s default.
#[derive(Default)]
pub struct ConnectionPart<'a> {
    pub id: &'a [u32],
    pub token_a: &'a [u32],
    pub token_b: &'a [u32],
    pub kind: Option<&'a [u8]>,
    pub strength: Option<&'a [f32]>,
    pub rigidity: Option<&'a [f32]>,
    pub preferred_distance: Option<&'a [f32]>,
    pub confidence: Option<&'a [f32]>,
    pub evidence_count: Option<&'a [u16]>,
    pub mutability: Option<&'a [u8]>,
    pub learning_rate: Option<&'a [f32]>,
    pub decay_rate: Option<&'a [f32]>,
    pub active_levels: Option<&'a [u8]>,
    pub flags: Option<&'a [u8]>,
    pub activation_count: Option<&'a [u32]>,
    pub created_at: Option<&'a [u32]>,
    pub last_activation: Option<&'a [u32]>,
    pub last_update: Option<&'a [u32]>,
    pub source_id: Option<&'a [u32]>,
}

fn check_len<T>(col: Option<&[T]>, n: usize, name: &str) -> Result<()> {
    match col {
        Some(c) if c.len() != n => Err(NgError::invalid(
            name,
            format!("{} values", c.len()),
            format!("expected one per row ({n})"),
        )),
        _ => Ok(()),
    }
}

fn at<T: Copy>(col: Option<&[T]>, i: usize, default: T) -> T {
    col.map_or(default, |c| c[i])
}

fn unit(v: f32, name: &str) -> Result<u8> {
    if (0.0..=1.0).contains(&v) {
        Ok(crate::connection::unit_to_u8(v))
    } else {
        Err(NgError::invalid(name, v, "must be in [0, 1]"))
    }
}

fn now() -> u32 {
    crate::clock::now_secs() as u32
}

/// Records, defined masks and labels (as `(row, label)`, by row) of a token part.
pub type TokenRecords = (Vec<Token>, Vec<u8>, Vec<(u32, String)>);

/// The records of a token part.
pub fn token_records(p: &TokenPart<'_>) -> Result<TokenRecords> {
    let n = p.id.len();
    if p.coords.len() != n * NUM_SPACES * NUM_AXES {
        return Err(NgError::invalid(
            "coords",
            format!("{} values", p.coords.len()),
            format!("expected (n, 8, 3) = ({n}, 8, 3)"),
        ));
    }
    check_len(p.entity, n, "entity")?;
    check_len(p.domain, n, "domain")?;
    check_len(p.weight, n, "weight")?;
    check_len(p.field_radius, n, "field_radius")?;
    check_len(p.field_strength, n, "field_strength")?;
    check_len(p.timestamp, n, "timestamp")?;
    check_len(p.flags, n, "flags")?;
    if let Some(l) = &p.label {
        check_len(Some(l.as_slice()), n, "label")?;
    }
    let stamp = now();
    let mut recs: Vec<Token> = bytemuck::zeroed_vec(n);
    let mut defined = vec![0u8; n];
    recs.par_iter_mut()
        .zip(defined.par_iter_mut())
        .enumerate()
        .try_for_each(|(i, (t, m))| -> Result<()> {
            let row = || i;
            let id = p.id[i];
            if id == 0 || id > MAX_LOCAL_ID {
                return Err(NgError::InvalidId(id as u64).at_row(row()));
            }
            for s in 0..NUM_SPACES {
                let xyz = &p.coords[(i * NUM_SPACES + s) * 3..(i * NUM_SPACES + s) * 3 + 3];
                if xyz.iter().all(|v| v.is_nan()) {
                    continue;
                }
                for (a, v) in xyz.iter().enumerate() {
                    t.coords[s][a] = encode(s, a, *v, false).map_err(|e| e.at_row(row()))?;
                }
                *m |= 1 << s;
            }
            let entity = at(p.entity, i, 0);
            if entity as usize >= ENTITY_TYPES.len() {
                return Err(NgError::UnknownEntityType(entity.to_string()).at_row(row()));
            }
            let domain = at(p.domain, i, 0);
            if domain > 15 {
                return Err(NgError::invalid("domain", domain, "must be in 0..=15").at_row(row()));
            }
            let weight = at(p.weight, i, 1.0);
            if !weight.is_finite() {
                return Err(NgError::invalid("weight", weight, "must be finite").at_row(row()));
            }
            t.id = id;
            t.set_entity(entity);
            t.set_domain(domain);
            t.weight = weight;
            t.field_radius =
                encode_field_radius(at(p.field_radius, i, 0.0)).map_err(|e| e.at_row(row()))?;
            t.field_strength =
                encode_field_strength(at(p.field_strength, i, 0.0)).map_err(|e| e.at_row(row()))?;
            t.timestamp = at(p.timestamp, i, stamp);
            t.flags = match p.flags {
                Some(f) => f[i],
                None => flags::ACTIVE | flags::MUTABLE | ((entity as u16) << flags::ENTITY_SHIFT),
            };
            Ok(())
        })?;
    let labels = match &p.label {
        Some(l) => l
            .iter()
            .enumerate()
            .filter_map(|(row, l)| Some((row as u32, l.clone()?)))
            .collect(),
        None => Vec::new(),
    };
    Ok((recs, defined, labels))
}

/// The records of a connection part.
pub fn connection_records(p: &ConnectionPart<'_>) -> Result<Vec<Connection>> {
    let n = p.id.len();
    check_len(Some(p.token_a), n, "token_a")?;
    check_len(Some(p.token_b), n, "token_b")?;
    macro_rules! lens {
        ($($f:ident),*) => { $( check_len(p.$f, n, stringify!($f))?; )* };
    }
    lens!(
        kind,
        strength,
        rigidity,
        preferred_distance,
        confidence,
        evidence_count,
        mutability
    );
    lens!(
        learning_rate,
        decay_rate,
        active_levels,
        flags,
        activation_count,
        created_at
    );
    lens!(last_activation, last_update, source_id);
    let stamp = now();
    let decay = Cdna::default().decay_rate;
    (0..n)
        .into_par_iter()
        .map(|i| -> Result<Connection> {
            let fail = |e: NgError| e.at_row(i);
            let id = p.id[i];
            if id == 0 || id > crate::storage::connections::MAX_CONNECTION_ID {
                return Err(fail(NgError::invalid(
                    "id",
                    id,
                    "connection ids start at 1",
                )));
            }
            let kind = at(p.kind, i, ASSOCIATED_WITH);
            if kind as usize >= KINDS.len() {
                return Err(fail(NgError::UnknownConnectionKind(kind.to_string())));
            }
            let mutability = at(p.mutability, i, mutability_of_kind(kind) as u8);
            if mutability as usize >= MUTABILITY.len() {
                return Err(fail(NgError::invalid(
                    "mutability",
                    mutability,
                    "must be 0, 1 or 2",
                )));
            }
            let strength = at(p.strength, i, 0.5);
            let dist = at(p.preferred_distance, i, 1.0);
            if !strength.is_finite() {
                return Err(fail(NgError::invalid(
                    "strength",
                    strength,
                    "must be finite",
                )));
            }
            if !(dist.is_finite() && dist >= 0.0) {
                return Err(fail(NgError::invalid(
                    "preferred_distance",
                    dist,
                    "must be finite and >= 0",
                )));
            }
            let created = at(p.created_at, i, stamp);
            Ok(Connection {
                token_a: p.token_a[i],
                token_b: p.token_b[i],
                kind,
                rigidity: unit(at(p.rigidity, i, 0.5), "rigidity").map_err(fail)?,
                active_levels: at(p.active_levels, i, 0xFF),
                flags: at(p.flags, i, cflags::ACTIVE),
                activation_count: at(p.activation_count, i, 0),
                pull_strength: strength,
                preferred_distance: dist,
                created_at: created,
                last_activation: at(p.last_activation, i, created),
                mutability,
                confidence: unit(at(p.confidence, i, 0.5), "confidence").map_err(fail)?,
                evidence_count: at(p.evidence_count, i, 0),
                last_update: at(p.last_update, i, created),
                learning_rate: unit(at(p.learning_rate, i, 0.1), "learning_rate").map_err(fail)?,
                decay_rate: unit(at(p.decay_rate, i, decay), "decay_rate").map_err(fail)?,
                _reserved0: 0,
                source_id: at(p.source_id, i, 0),
                id,
                _reserved1: [0; 12],
            })
        })
        .collect()
}

fn check_part(part: usize) -> Result<()> {
    if part < files::MAX_PARTS {
        Ok(())
    } else {
        Err(NgError::invalid(
            "part",
            part,
            format!("must be in 0..{}", files::MAX_PARTS),
        ))
    }
}

fn in_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(err(
            dir,
            "is not a directory (make it with dataset_tempdir)",
        ))
    }
}

/// Write part `part` of `table` from a worker: fsynced before it gets its name.
fn worker_part(
    dir: &Path,
    table: &str,
    part: usize,
    schema: arrow_schema::SchemaRef,
    rows: usize,
    chunk: impl FnMut(std::ops::Range<usize>) -> std::result::Result<arrow_array::RecordBatch, String>,
) -> Result<PartInfo> {
    let name = files::part_name(table, part);
    files::write_part_chunks(dir, &name, &schema, rows, files::Durability::Sync, chunk)
}

/// Write `dir/tokens/part-<part>.parquet`.
pub fn write_tokens_part(dir: &Path, part: usize, p: &TokenPart<'_>) -> Result<PartInfo> {
    check_part(part)?;
    in_dir(dir)?;
    let (recs, defined, labels) = token_records(p)?;
    let labels: Vec<(u32, &str)> = labels.iter().map(|(r, l)| (*r, l.as_str())).collect();
    worker_part(
        dir,
        "tokens",
        part,
        columns::token_schema(),
        recs.len(),
        |c| columns::tokens_batch(&recs[c.clone()], &defined[c.clone()], c.start, &labels),
    )
}

/// Write `dir/connections/part-<part>.parquet`.
pub fn write_connections_part(dir: &Path, part: usize, p: &ConnectionPart<'_>) -> Result<PartInfo> {
    check_part(part)?;
    in_dir(dir)?;
    let recs = connection_records(p)?;
    let schema = columns::connection_schema();
    worker_part(dir, "connections", part, schema, recs.len(), |c| {
        columns::connections_batch(&recs[c])
    })
}

/// Write `dir/vectors/part-<part>.parquet` (`vectors` is `words.len() x dim`, finite).
pub fn write_vectors_part(
    dir: &Path,
    part: usize,
    words: &[String],
    ids: &[u32],
    vectors: &[f32],
    dim: usize,
) -> Result<PartInfo> {
    check_part(part)?;
    in_dir(dir)?;
    if dim == 0 || vectors.len() != words.len() * dim || ids.len() != words.len() {
        return Err(NgError::invalid(
            "vectors",
            format!(
                "{} words, {} ids, {} values, dim {dim}",
                words.len(),
                ids.len(),
                vectors.len()
            ),
            "expected one id and dim values per word (dim >= 1)",
        ));
    }
    if let Some(i) = vectors.iter().position(|v| !v.is_finite()) {
        return Err(NgError::invalid("vectors", vectors[i], "must be finite").at_row(i / dim));
    }
    let name = files::part_name("vectors", part);
    let b =
        columns::vectors_batch(words, ids, vectors, dim).map_err(|e| err(&dir.join(&name), e))?;
    files::write_part(dir, &name, &b)
}

/// The bootstrap model given to `finish`.
pub struct BootModel {
    pub seed: u32,
    pub spaces: Vec<(usize, usize)>,
    pub pca: Pca,
}

/// What `finish` needs besides the parts.
#[derive(Default)]
pub struct FinishOptions {
    /// A CDNA record (`CDNA_SIZE` bytes) or a snapshot CDNA section; default: the default CDNA.
    pub cdna: Option<Vec<u8>>,
    pub boot: Option<BootModel>,
    pub next_token: Option<u32>,
    pub next_connection: Option<u32>,
    pub overwrite: bool,
}

fn cdna_section(b: Option<Vec<u8>>) -> std::result::Result<Vec<u8>, String> {
    let mut out = match b {
        None => Cdna::default().to_bytes().to_vec(),
        Some(b) if b.len() == CDNA_SIZE => b,
        Some(b) => {
            crate::snapshot::parse_cdna(&b)?;
            return Ok(b);
        }
    };
    Cdna::from_bytes(&out)?;
    out.extend_from_slice(&0u32.to_le_bytes());
    Ok(out)
}

/// Largest value of the first (`id`) column of the parts, by reading that column only.
fn max_id(root: &Path, parts: &[PartInfo]) -> Result<u32> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;
    let maxes: Vec<Result<u32>> = parts
        .par_iter()
        .map(|p| {
            let path = root.join(&p.file);
            let f = std::fs::File::open(&path).map_err(|e| super::io(&path, e))?;
            let bad = |e: String| err(&path, e);
            let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| bad(e.to_string()))?;
            let mask = ProjectionMask::roots(b.parquet_schema(), [0]);
            let mut m = 0u32;
            for batch in b
                .with_projection(mask)
                .build()
                .map_err(|e| bad(e.to_string()))?
            {
                let batch = batch.map_err(|e| bad(e.to_string()))?;
                let ids = batch
                    .column(0)
                    .as_any()
                    .downcast_ref::<arrow_array::UInt32Array>()
                    .ok_or_else(|| bad("id is not uint32".into()))?;
                m = m.max(ids.values().iter().copied().max().unwrap_or(0));
            }
            Ok(m)
        })
        .collect();
    maxes.into_iter().try_fold(0, |a, m| Ok(a.max(m?)))
}

/// Check the parts in `tmp` (numbering, schemas, rows), write `meta.json` and install `tmp` at
/// `dir` as `to_parquet` does. `tmp` is left in place when a check fails.
pub fn finish(tmp: &Path, dir: &Path, o: FinishOptions) -> Result<Summary> {
    in_dir(tmp)?;
    files::check_target(dir, o.overwrite)?;
    let mut parts: [Vec<PartInfo>; 3] = Default::default();
    let dim = o.boot.as_ref().map(|b| b.pca.dim);
    for (t, table) in TABLES.iter().enumerate() {
        let names = files::list_parts(tmp, table)?.unwrap_or_default();
        let schema = match t {
            0 => columns::token_schema(),
            1 => columns::connection_schema(),
            _ => match dim {
                Some(d) => columns::vector_schema(d),
                None if names.is_empty() => continue,
                None => {
                    return Err(err(
                        &tmp.join(table),
                        "vectors parts need the bootstrap model (bootstrap=...)",
                    ))
                }
            },
        };
        let infos: Vec<Result<PartInfo>> = names
            .par_iter()
            .map(|name| {
                let path = tmp.join(name);
                let rows = files::footer(&path, &schema)?;
                let (bytes, crc32) = files::checksum(&path)?;
                Ok(PartInfo {
                    file: name.clone(),
                    rows,
                    bytes,
                    crc32,
                })
            })
            .collect();
        parts[t] = infos.into_iter().collect::<Result<_>>()?;
    }
    let next_token = match o.next_token {
        Some(n) => n,
        None => max_id(tmp, &parts[0])?
            .saturating_add(1)
            .min(MAX_LOCAL_ID + 1),
    };
    let next_connection = match o.next_connection {
        Some(n) => n,
        None => max_id(tmp, &parts[1])?.saturating_add(1),
    };
    let cdna = cdna_section(o.cdna).map_err(|e| NgError::invalid("cdna", "bytes", e))?;
    let boot = match o.boot {
        None => None,
        Some(b) => {
            let schema = columns::vector_schema(b.pca.dim);
            let (mut words, mut ids, mut vecs) = (Vec::new(), Vec::new(), Vec::new());
            for p in &parts[2] {
                let path = tmp.join(&p.file);
                let buf = std::fs::read(&path).map_err(|e| super::io(&path, e))?;
                let batch =
                    files::decode(bytes::Bytes::from(buf), &schema).map_err(|e| err(&path, e))?;
                columns::vectors_from_batch(&batch, &mut words, &mut ids, &mut vecs)
                    .map_err(|e| err(&path, e))?;
            }
            Some(BootMeta {
                seed: b.seed,
                dim: b.pca.dim,
                words: words.len() as u64,
                spaces: b.spaces,
                vocabulary_sha256: meta::vocabulary_hash(&words, &ids),
                pca: b.pca.to_bytes(),
            })
        }
    };
    let m = Meta {
        parts,
        next_token,
        next_connection,
        cdna,
        boot,
    };
    super::write_meta(tmp, &m)?;
    files::install(tmp, dir, o.overwrite)?;
    Ok(super::summary(&m))
}
