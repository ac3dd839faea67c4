//! Parquet datasets (docs/dataset-format.md): a directory of partitioned Parquet files
//! (`tokens/`, `connections/`, `vectors/`) plus `meta.json`, written into a sibling temporary
//! directory and renamed into place, read back exactly. Parts are encoded and decoded on all
//! cores (rayon, one task per part). `parts` holds the writers the distributed layer calls
//! from workers and `finish`, which validates their parts and installs the dataset.

use crate::error::{NgError, Result};
use crate::storage::vocabulary::BootState;
use crate::storage::{RuntimeStorage, State};
use crate::{Connection, Token};
use rayon::prelude::*;
use std::borrow::Cow;
use std::fs;
use std::io::Write;
use std::path::Path;

pub mod columns;
pub mod files;
pub mod meta;
pub mod parts;

pub use files::PartInfo;
pub use meta::FORMAT_VERSION;

/// The metadata file's name.
pub const META: &str = "meta.json";

pub(crate) fn err(path: &Path, reason: impl Into<String>) -> NgError {
    NgError::Dataset {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

pub(crate) fn io(path: &Path, e: std::io::Error) -> NgError {
    NgError::Io {
        path: path.display().to_string(),
        source: e,
    }
}

/// What a write produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub tokens: u64,
    pub connections: u64,
    pub vectors: u64,
    pub files: usize,
    pub bytes: u64,
}

/// Rows `k*n/p .. (k+1)*n/p`: part `k` of `p` over `n` rows.
fn range(n: usize, p: usize, k: usize) -> std::ops::Range<usize> {
    let at = |k: usize| ((n as u128 * k as u128) / p as u128) as usize;
    at(k)..at(k + 1)
}

/// Check a partition count.
pub fn check_partitions(partitions: usize) -> Result<()> {
    if (1..=files::MAX_PARTS).contains(&partitions) {
        Ok(())
    } else {
        Err(NgError::invalid(
            "partitions",
            partitions,
            format!("must be in 1..={}", files::MAX_PARTS),
        ))
    }
}

/// Write `meta` as `root/meta.json` and fsync it.
fn write_meta(root: &Path, m: &meta::Meta) -> Result<()> {
    let path = root.join(META);
    let mut f = fs::File::create(&path).map_err(|e| io(&path, e))?;
    f.write_all(meta::to_json(m).as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| io(&path, e))
}

fn summary(m: &meta::Meta) -> Summary {
    let all = m.parts.iter().flatten();
    Summary {
        tokens: m.rows(0),
        connections: m.rows(1),
        vectors: m.rows(2),
        files: all.clone().count() + 1,
        bytes: all.map(|p| p.bytes).sum(),
    }
}

/// Write `state` as a dataset at `dir` with `partitions` parts per table; an existing dataset
/// there is replaced only with `overwrite` (see `files::check_target`).
pub fn save(state: &State, dir: &Path, partitions: usize, overwrite: bool) -> Result<Summary> {
    check_partitions(partitions)?;
    files::check_target(dir, overwrite)?;
    let tmp = files::temp_dir(dir)?;
    let r = save_into(state, &tmp, partitions).and_then(|m| {
        write_meta(&tmp, &m)?;
        files::install(&tmp, dir, overwrite)?;
        Ok(summary(&m))
    });
    if r.is_err() {
        files::discard(&tmp);
    }
    r
}

/// Parts of a whole dataset are fsynced together at the end (`save_into`), before the
/// dataset's folder gets its name.
const LATER: files::Durability = files::Durability::Later;

fn save_into(state: &State, tmp: &Path, p: usize) -> Result<meta::Meta> {
    let boot: Option<Cow<'_, BootState>> = state.boot.as_deref().map(|b| {
        if b.dead > 0 {
            Cow::Owned(b.compacted())
        } else {
            Cow::Borrowed(b)
        }
    });
    let tokens = &state.tokens;
    let labels = columns::labels_by_row(&tokens.labels, |id| tokens.slot(id));
    let conns = &state.connections.records;
    let tables = if boot.is_some() { 3 } else { 2 };
    let jobs: Vec<(usize, usize)> = (0..tables)
        .flat_map(|t| (0..p).map(move |k| (t, k)))
        .collect();
    let infos: Vec<Result<PartInfo>> = jobs
        .par_iter()
        .map(|&(t, k)| {
            let name = files::part_name(files::TABLES[t], k);
            // rows of the part, and the batch of rows `c` within it
            match (t, &boot) {
                (0, _) => {
                    let r = range(tokens.len(), p, k);
                    files::write_part_chunks(
                        tmp,
                        &name,
                        &columns::token_schema(),
                        r.len(),
                        LATER,
                        |c| {
                            let c = r.start + c.start..r.start + c.end;
                            columns::tokens_batch(
                                &tokens.records[c.clone()],
                                &tokens.defined[c.clone()],
                                c.start,
                                &labels,
                            )
                        },
                    )
                }
                (1, _) => {
                    let r = range(conns.len(), p, k);
                    let schema = columns::connection_schema();
                    files::write_part_chunks(tmp, &name, &schema, r.len(), LATER, |c| {
                        columns::connections_batch(&conns[r.start + c.start..r.start + c.end])
                    })
                }
                (_, Some(b)) => {
                    let r = range(b.words.len(), p, k);
                    let schema = columns::vector_schema(b.dim);
                    files::write_part_chunks(tmp, &name, &schema, r.len(), LATER, |c| {
                        let c = r.start + c.start..r.start + c.end;
                        columns::vectors_batch(
                            &b.words[c.clone()],
                            &b.ids[c.clone()],
                            &b.vectors[c.start * b.dim..c.end * b.dim],
                            b.dim,
                        )
                    })
                }
                (_, None) => Err(err(&tmp.join(&name), "no bootstrap")),
            }
        })
        .collect();
    let mut parts: [Vec<PartInfo>; 3] = Default::default();
    for ((t, _), info) in jobs.iter().zip(infos) {
        parts[*t].push(info?);
    }
    // their writeback started as each was written; wait for all of it before meta.json
    let files: Vec<_> = parts.iter().flatten().map(|p| tmp.join(&p.file)).collect();
    files::sync_files(&files)?;
    Ok(meta::Meta {
        parts,
        next_token: tokens.next_id,
        next_connection: state.connections.next_id,
        cdna: crate::snapshot::cdna_bytes(state),
        boot: boot.map(|b| meta::BootMeta {
            seed: b.seed,
            dim: b.dim,
            words: b.words.len() as u64,
            spaces: b.spaces.clone(),
            vocabulary_sha256: meta::vocabulary_hash(&b.words, &b.ids),
            pca: b.pca.to_bytes(),
        }),
    })
}

/// Read `dir/meta.json` and check that the part files on disk are exactly those it lists.
pub fn open(dir: &Path) -> Result<meta::Meta> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(files::not_found(dir)),
        Err(e) => return Err(io(dir, e)),
        Ok(m) if !m.is_dir() => {
            return Err(err(dir, "is not a directory: a dataset is a directory"))
        }
        Ok(_) => {}
    }
    let mpath = dir.join(META);
    let text = match fs::read_to_string(&mpath) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(err(
                &mpath,
                "is missing: not a dataset, or one whose write did not finish",
            ))
        }
        Err(e) => return Err(io(&mpath, e)),
    };
    let m = meta::parse(&text).map_err(|e| err(&mpath, e))?;
    for (t, listed) in files::TABLES.iter().zip(&m.parts) {
        let on_disk = files::list_parts(dir, t)?.unwrap_or_default();
        if let Some(extra) = on_disk
            .iter()
            .find(|f| !listed.iter().any(|p| &p.file == *f))
        {
            return Err(err(
                &dir.join(extra),
                "is not listed in meta.json (a part of another write?)",
            ));
        }
        if let Some(missing) = listed.iter().find(|p| !on_disk.contains(&p.file)) {
            return Err(err(
                &dir.join(&missing.file),
                "part file is missing (incomplete dataset)",
            ));
        }
    }
    Ok(m)
}

/// Split `v` into consecutive mutable pieces of the given lengths.
fn pieces<'a, T>(mut v: &'a mut [T], lens: &[u64]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(lens.len());
    for l in lens {
        let (a, b) = v.split_at_mut(*l as usize);
        out.push(a);
        v = b;
    }
    out
}

/// Read the dataset at `dir` completely and check it as a snapshot load does; nothing is
/// returned unless every check passed.
pub fn load(dir: &Path) -> Result<State> {
    let m = open(dir)?;
    let mut state = State::default();
    let (nt, nc) = (m.rows(0) as usize, m.rows(1) as usize);
    let mut records: Vec<Token> = crate::limits::zeroed(nt, "the tokens")?;
    let mut defined: Vec<u8> = crate::limits::zeroed(nt, "the tokens")?;
    let mut tok_ids: Vec<u32> = crate::limits::zeroed(nt, "the tokens")?;
    let mut conns: Vec<Connection> = crate::limits::zeroed(nc, "the connections")?;
    // each token's and connection's id and each connection's tokens beside the records: the
    // id tables, the degrees and the token check read these instead of the 64-byte records
    let mut conn_ids: Vec<u32> = crate::limits::zeroed(nc, "the connections")?;
    let mut conn_ends: Vec<[u32; 2]> = crate::limits::zeroed(nc, "the connections")?;
    crate::mem::advise_huge_pages(&conn_ids);
    crate::mem::advise_huge_pages(&conn_ends);
    crate::mem::advise_huge_pages(&records);
    crate::mem::advise_huge_pages(&conns);
    let tlens: Vec<u64> = m.parts[0].iter().map(|p| p.rows).collect();
    let clens: Vec<u64> = m.parts[1].iter().map(|p| p.rows).collect();
    let tok_schema = columns::token_schema();
    let con_schema = columns::connection_schema();
    let (labels, conn_result) = rayon::join(
        || -> Result<Vec<Vec<(u32, crate::storage::tokens::Label)>>> {
            m.parts[0]
                .par_iter()
                .zip(pieces(&mut records, &tlens))
                .zip(pieces(&mut defined, &tlens))
                .zip(pieces(&mut tok_ids, &tlens))
                .map(|(((info, recs), defs), ids)| {
                    let mut labels = Vec::new();
                    files::read_part(dir, info, &tok_schema, |b, at| {
                        let r = at..at + b.num_rows();
                        columns::tokens_from_batch(
                            b,
                            &mut recs[r.clone()],
                            &mut defs[r.clone()],
                            &mut ids[r],
                            &mut labels,
                        )
                        .map_err(|e| format!("rows from {at}: {e}"))
                    })?;
                    Ok(labels)
                })
                .collect()
        },
        || -> Result<()> {
            m.parts[1]
                .par_iter()
                .zip(pieces(&mut conns, &clens))
                .zip(pieces(&mut conn_ids, &clens))
                .zip(pieces(&mut conn_ends, &clens))
                .try_for_each(|(((info, recs), ids), ends)| {
                    files::read_part(dir, info, &con_schema, |b, at| {
                        let r = at..at + b.num_rows();
                        columns::connections_from_batch(
                            b,
                            &mut recs[r.clone()],
                            &mut ids[r.clone()],
                            &mut ends[r],
                        )
                        .map_err(|e| format!("rows from {at}: {e}"))
                    })
                })
        },
    );
    let labels = labels?;
    conn_result?;
    let bad = |what: &str, e: String| err(&dir.join(what), e);
    state.tokens.records = records;
    state.tokens.defined = defined;
    state.tokens.next_id = m.next_token.max(1);
    state.connections.records = conns;
    state.connections.next_id = m.next_connection.max(1);
    // (each record was checked as it was decoded) the token index, the labels' table and the
    // connection index side by side; then the connections' tokens are looked up
    let checked = {
        let (tokens, connections) = (&mut state.tokens, &mut state.connections);
        let (t, labels) = rayon::join(
            || -> std::result::Result<(), String> {
                tokens
                    .rebuild_index_from(&tok_ids)
                    .map_err(|e| format!("token table is inconsistent: {e}"))
            },
            || {
                rayon::join(
                    || {
                        let mut map = rustc_hash::FxHashMap::default();
                        map.reserve(labels.iter().map(Vec::len).sum());
                        map.extend(labels.into_iter().flatten());
                        map
                    },
                    || connections.rebuild_index_from(&conn_ids, &conn_ends),
                )
                .0
            },
        );
        tokens.labels = labels;
        t
    };
    checked.map_err(|e| bad("tokens", e))?;
    // the first connection at fault is looked for only when there is one
    if crate::snapshot::check::names_a_missing_token(&state) {
        let tokens = &state.tokens;
        let first = conn_ends
            .par_iter()
            .position_first(|[a, b]| !(tokens.contains(*a) && tokens.contains(*b)));
        let e = match first {
            Some(i) => {
                crate::snapshot::check::dangling(conn_ids[i], conn_ends[i][0], conn_ends[i][1])
            }
            None => "a connection links a token that is not in the file".to_string(),
        };
        return Err(bad("connections", e));
    }
    crate::snapshot::check::unique_connection_ids(&state).map_err(|e| bad("connections", e))?;
    let (cdna, history) =
        crate::snapshot::parse_cdna(&m.cdna).map_err(|e| bad(META, format!("cdna: {e}")))?;
    state.cdna = cdna;
    state.history = history;
    if let Some(bm) = &m.boot {
        let b = load_boot(dir, &m, bm, &state)?;
        state.boot = Some(std::sync::Arc::new(b));
    }
    Ok(state)
}

fn load_boot(dir: &Path, m: &meta::Meta, bm: &meta::BootMeta, state: &State) -> Result<BootState> {
    let schema = columns::vector_schema(bm.dim);
    type Rows = (Vec<String>, Vec<u32>, Vec<f32>);
    let per: Vec<Result<Rows>> = m.parts[2]
        .par_iter()
        .map(|info| {
            let mut rows: Rows = Default::default();
            files::read_part(dir, info, &schema, |b, _| {
                columns::vectors_from_batch(b, &mut rows.0, &mut rows.1, &mut rows.2)
            })?;
            Ok(rows)
        })
        .collect();
    let n = bm.words as usize;
    let (mut words, mut ids, mut vectors) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::new());
    for r in per {
        let (w, i, v) = r?;
        words.extend(w);
        ids.extend(i);
        vectors.extend(v);
    }
    let bad = |e: String| err(&dir.join("vectors"), e);
    if meta::vocabulary_hash(&words, &ids) != bm.vocabulary_sha256 {
        return Err(bad(
            "the vocabulary's SHA-256 differs from meta.json (words or ids changed)".into(),
        ));
    }
    if let Some(i) = vectors.iter().position(|v| !v.is_finite()) {
        return Err(bad(format!(
            "the vector of {:?} holds a non-finite value",
            words[i / bm.dim]
        )));
    }
    if let Some(id) = ids.iter().find(|id| !state.tokens.contains(**id)) {
        return Err(bad(format!("word token {id} is not in tokens/")));
    }
    let mut seen = std::collections::HashSet::with_capacity(n);
    if let Some(w) = words.iter().find(|w| !seen.insert(w.as_str())) {
        return Err(bad(format!("the word {w:?} appears twice")));
    }
    let mut sorted = ids.clone();
    sorted.par_sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(bad(format!("token {} is given to two words", w[0])));
    }
    let pca = crate::bootstrap::Pca::from_bytes(&bm.pca).map_err(|e| err(&dir.join(META), e))?;
    Ok(BootState::new(
        words,
        ids,
        bm.dim,
        vectors,
        pca,
        bm.spaces.clone(),
        bm.seed,
    ))
}

impl RuntimeStorage {
    /// Write everything as a Parquet dataset at `dir` (see [`save`]); writers wait meanwhile.
    pub fn save_parquet(&self, dir: &Path, partitions: usize, overwrite: bool) -> Result<Summary> {
        save(&self.read(), dir, partitions, overwrite)
    }

    /// Replace everything with the dataset at `dir`, read and checked completely first: on any
    /// error nothing changes.
    pub fn load_parquet(&self, dir: &Path) -> Result<()> {
        let st = load(dir)?;
        self.replace(st);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
