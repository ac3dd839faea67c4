//! The connection store: dense 64-byte records, an id -> slot table and per-token degrees.

use crate::cdna::{flags as cflags, Cdna};
use crate::connection::{flags, mutability_of_kind, unit_to_u8, Connection, Mutability, KINDS};
use crate::error::{NgError, Result};
use crate::guardian::{ConnectionWrite, Guardian};
use crate::storage::tokens::{TokenStore, EMPTY};
use bytemuck::Zeroable;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};

/// Connections with their degree counters.
#[derive(Clone, Debug)]
pub struct ConnectionStore {
    pub records: Vec<Connection>,
    /// Connection id -> slot (EMPTY where none).
    pub id_to_slot: Vec<u32>,
    /// Out- and in-degree by token local id.
    pub out_deg: Vec<u32>,
    pub in_deg: Vec<u32>,
    pub next_id: u32,
    /// Changes on every write (unique across stores): caches built from an older version are stale.
    pub version: u64,
}

impl Default for ConnectionStore {
    fn default() -> Self {
        ConnectionStore {
            records: Vec::new(),
            id_to_slot: Vec::new(),
            out_deg: Vec::new(),
            in_deg: Vec::new(),
            next_id: 1,
            version: super::next_version(),
        }
    }
}

/// Bulk input for connections; per-row arrays or one value for all rows.
pub struct ConnectionBatch<'a> {
    pub a: &'a [u32],
    pub b: &'a [u32],
    pub kinds: Column<'a, u8>,
    pub strengths: Column<'a, f32>,
    pub rigidity: Column<'a, f32>,
    pub confidence: Column<'a, f32>,
    pub preferred_distance: f32,
    pub learning_rate: f32,
    pub decay_rate: Option<f32>,
    pub bidirectional: bool,
    pub active_levels: u8,
    /// Hypotheses (made by a proposal) rather than by hand.
    pub hypothesis: bool,
    pub source_id: u32,
}

/// A per-row array or one value for every row.
#[derive(Clone, Copy)]
pub enum Column<'a, T: Copy> {
    All(T),
    Each(&'a [T]),
}

impl<T: Copy> Column<'_, T> {
    #[inline]
    pub fn at(&self, i: usize) -> T {
        match self {
            Column::All(v) => *v,
            Column::Each(s) => s[i],
        }
    }
    fn len(&self) -> Option<usize> {
        match self {
            Column::All(_) => None,
            Column::Each(s) => Some(s.len()),
        }
    }
}

fn grow(v: &mut Vec<u32>, id: u32) {
    if v.len() <= id as usize {
        v.resize(id as usize + 1, 0);
    }
}

impl ConnectionStore {
    pub fn len(&self) -> usize {
        self.records.len()
    }
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    #[inline]
    pub fn slot(&self, id: u32) -> Option<usize> {
        match self.id_to_slot.get(id as usize) {
            Some(&s) if s != EMPTY => Some(s as usize),
            _ => None,
        }
    }

    pub fn get(&self, id: u32) -> Result<&Connection> {
        self.slot(id)
            .map(|s| &self.records[s])
            .ok_or(NgError::ConnectionNotFound(id))
    }

    pub fn out_degree(&self, t: u32) -> u32 {
        self.out_deg.get(t as usize).copied().unwrap_or(0)
    }
    pub fn in_degree(&self, t: u32) -> u32 {
        self.in_deg.get(t as usize).copied().unwrap_or(0)
    }

    pub fn memory_bytes(&self) -> u64 {
        (self.records.capacity() * 64
            + self.id_to_slot.capacity() * 4
            + (self.out_deg.capacity() + self.in_deg.capacity()) * 4) as u64
    }

    /// Slots of the connections that touch a token (as source or target), in slot order.
    pub fn slots_for_token(&self, t: u32) -> Vec<usize> {
        if self.out_degree(t) == 0 && self.in_degree(t) == 0 {
            return Vec::new();
        }
        self.records
            .par_iter()
            .enumerate()
            .filter(|(_, c)| c.token_a == t || c.token_b == t)
            .map(|(i, _)| i)
            .collect()
    }

    /// Validate a batch against tokens and the CDNA and build the records; nothing changes.
    pub fn prepare(
        &self,
        b: &ConnectionBatch<'_>,
        tokens: &TokenStore,
        cdna: &Cdna,
    ) -> Result<Vec<Connection>> {
        let n = b.a.len();
        if b.b.len() != n {
            return Err(NgError::invalid(
                "b",
                format!("{} values", b.b.len()),
                format!("expected as many as a ({n})"),
            ));
        }
        for (name, len) in [
            ("kinds", b.kinds.len()),
            ("strengths", b.strengths.len()),
            ("rigidity", b.rigidity.len()),
            ("confidence", b.confidence.len()),
        ] {
            if let Some(l) = len {
                if l != n {
                    return Err(NgError::invalid(
                        name,
                        format!("{l} values"),
                        format!("expected one per connection ({n})"),
                    ));
                }
            }
        }
        if !b.preferred_distance.is_finite() || b.preferred_distance < 0.0 {
            return Err(NgError::invalid(
                "preferred_distance",
                b.preferred_distance,
                "must be a finite number >= 0",
            ));
        }
        if !(0.0..=1.0).contains(&b.learning_rate) {
            return Err(NgError::invalid(
                "learning_rate",
                b.learning_rate,
                "must be in [0, 1]",
            ));
        }
        let decay = b.decay_rate.unwrap_or(cdna.decay_rate);
        if !(0.0..=1.0).contains(&decay) {
            return Err(NgError::invalid("decay_rate", decay, "must be in [0, 1]"));
        }
        let strict = cdna.has_flag(cflags::STRICT_MODE);
        let now = crate::cdna::now_secs() as u32;
        let results: Vec<Result<Vec<Connection>>> = (0..n)
            .into_par_iter()
            .chunks(16384)
            .map(|rows| {
                let mut out = Vec::with_capacity(rows.len());
                for i in rows {
                    let (a, bb) = (b.a[i], b.b[i]);
                    let at = |e: NgError| e.at_row(i);
                    if !tokens.contains(a) {
                        return Err(at(NgError::TokenNotFound(a)));
                    }
                    if !tokens.contains(bb) {
                        return Err(at(NgError::TokenNotFound(bb)));
                    }
                    let kind = b.kinds.at(i);
                    if kind as usize >= KINDS.len() {
                        return Err(at(NgError::UnknownConnectionKind(kind.to_string())));
                    }
                    let conf = b.confidence.at(i);
                    if !(0.0..=1.0).contains(&conf) {
                        return Err(at(NgError::invalid(
                            "confidence",
                            conf,
                            "must be in [0, 1]",
                        )));
                    }
                    let w = ConnectionWrite {
                        kind,
                        strength: b.strengths.at(i),
                        rigidity: b.rigidity.at(i),
                    };
                    let mut check = Guardian::check_connection(cdna, &w);
                    if check.is_ok() && strict && a == bb {
                        check = Err(format!("strict mode: token {a} may not connect to itself"));
                    }
                    if let Err(reason) = check {
                        return Err(NgError::Rejected {
                            action: "connection.create".to_string(),
                            reason: format!("row {i} ({a} -> {bb}): {reason}"),
                        });
                    }
                    let mut c = Connection::zeroed();
                    c.token_a = a;
                    c.token_b = bb;
                    c.kind = kind;
                    c.rigidity = unit_to_u8(w.rigidity);
                    c.active_levels = b.active_levels;
                    c.flags = flags::ACTIVE
                        | if b.bidirectional {
                            flags::BIDIRECTIONAL
                        } else {
                            0
                        };
                    c.pull_strength = w.strength;
                    c.preferred_distance = b.preferred_distance;
                    c.created_at = now;
                    c.last_activation = now;
                    c.mutability = if b.hypothesis {
                        Mutability::Hypothesis
                    } else {
                        mutability_of_kind(kind)
                    } as u8;
                    c.confidence = unit_to_u8(conf);
                    c.last_update = now;
                    c.learning_rate = unit_to_u8(b.learning_rate);
                    c.decay_rate = unit_to_u8(decay);
                    c.source_id = b.source_id;
                    out.push(c);
                }
                Ok(out)
            })
            .collect();
        let mut records = Vec::with_capacity(n);
        for r in results {
            records.extend(r?);
        }
        self.check_degrees(&records, tokens, cdna)?;
        if strict {
            self.check_duplicates(&records)?;
        }
        Ok(records)
    }

    fn check_degrees(&self, new: &[Connection], tokens: &TokenStore, cdna: &Cdna) -> Result<()> {
        // Counts of the batch per token: dense arrays for big batches, a map for small ones
        // (hashed bootstrap ids reach 2^24, and zeroing two such arrays per single create
        // would dominate it).
        let size = tokens.id_to_slot.len();
        let dense = new.len() * 16 >= size;
        let (mut add_out, mut add_in) = if dense {
            (vec![0u32; size], vec![0u32; size])
        } else {
            (Vec::new(), Vec::new())
        };
        let mut sparse: HashMap<u32, (u32, u32)> = HashMap::new();
        for c in new {
            if dense {
                add_out[c.token_a as usize] += 1;
                add_in[c.token_b as usize] += 1;
            } else {
                sparse.entry(c.token_a).or_default().0 += 1;
                sparse.entry(c.token_b).or_default().1 += 1;
            }
        }
        let added = |t: u32| -> (u32, u32) {
            if dense {
                (add_out[t as usize], add_in[t as usize])
            } else {
                sparse.get(&t).copied().unwrap_or((0, 0))
            }
        };
        for (i, c) in new.iter().enumerate() {
            for t in [c.token_a, c.token_b] {
                let (ao, ai) = added(t);
                let out = self.out_degree(t) + ao;
                let inn = self.in_degree(t) + ai;
                let reason = if out > cdna.max_out_degree {
                    Some(format!(
                        "token {t} would have out-degree {out} > max_out_degree {}",
                        cdna.max_out_degree
                    ))
                } else if inn > cdna.max_in_degree {
                    Some(format!(
                        "token {t} would have in-degree {inn} > max_in_degree {}",
                        cdna.max_in_degree
                    ))
                } else if out + inn > cdna.max_total_degree {
                    Some(format!(
                        "token {t} would have degree {} > max_total_degree {}",
                        out + inn,
                        cdna.max_total_degree
                    ))
                } else {
                    None
                };
                if let Some(reason) = reason {
                    return Err(NgError::Rejected {
                        action: "connection.create".to_string(),
                        reason: format!("row {i}: {reason}"),
                    });
                }
            }
        }
        Ok(())
    }

    fn check_duplicates(&self, new: &[Connection]) -> Result<()> {
        let mut seen: HashSet<(u32, u32, u8)> = self
            .records
            .iter()
            .map(|c| (c.token_a, c.token_b, c.kind))
            .collect();
        for (i, c) in new.iter().enumerate() {
            if !seen.insert((c.token_a, c.token_b, c.kind)) {
                return Err(NgError::Rejected {
                    action: "connection.create".to_string(),
                    reason: format!(
                        "row {i}: strict mode: {} -> {} ({}) already exists",
                        c.token_a,
                        c.token_b,
                        crate::connection::kind_name(c.kind)
                    ),
                });
            }
        }
        Ok(())
    }

    /// Store prepared records, giving them ids.
    pub fn commit(&mut self, mut records: Vec<Connection>) -> Vec<u32> {
        self.version = super::next_version();
        let first = self.next_id;
        let n = records.len() as u32;
        let last = first + n;
        if self.id_to_slot.len() < last as usize {
            self.id_to_slot.resize(last as usize, EMPTY);
        }
        let base = self.records.len() as u32;
        let mut ids = Vec::with_capacity(records.len());
        for (i, c) in records.iter_mut().enumerate() {
            let id = first + i as u32;
            c.id = id;
            self.id_to_slot[id as usize] = base + i as u32;
            grow(&mut self.out_deg, c.token_a);
            grow(&mut self.in_deg, c.token_b);
            self.out_deg[c.token_a as usize] += 1;
            self.in_deg[c.token_b as usize] += 1;
            ids.push(id);
        }
        if self.records.is_empty() {
            self.records = records;
        } else {
            self.records.extend_from_slice(&records);
        }
        self.next_id = last;
        ids
    }

    /// Remove connections by id (missing ids are skipped).
    pub fn remove(&mut self, ids: &[u32]) {
        self.version = super::next_version();
        for id in ids {
            let Some(slot) = self.slot(*id) else { continue };
            let c = self.records.swap_remove(slot);
            self.out_deg[c.token_a as usize] -= 1;
            self.in_deg[c.token_b as usize] -= 1;
            if slot < self.records.len() {
                let moved = self.records[slot].id;
                self.id_to_slot[moved as usize] = slot as u32;
            }
            self.id_to_slot[*id as usize] = EMPTY;
        }
    }

    /// Remove every connection touching any of `tokens` (a sorted, deduplicated list);
    /// returns how many went.
    pub fn remove_touching(&mut self, tokens: &[u32]) -> usize {
        self.version = super::next_version();
        let touches = |t: u32| tokens.binary_search(&t).is_ok();
        let any = tokens
            .iter()
            .any(|t| self.out_degree(*t) > 0 || self.in_degree(*t) > 0);
        if !any {
            return 0;
        }
        let before = self.records.len();
        self.records
            .retain(|c| !(touches(c.token_a) || touches(c.token_b)));
        self.rebuild_index();
        before - self.records.len()
    }

    /// Rebuild id table and degrees from the records (degrees counted in parallel).
    pub fn rebuild_index(&mut self) {
        let max_id = self.records.iter().map(|c| c.id).max().unwrap_or(0);
        self.id_to_slot = vec![EMPTY; max_id as usize + 1];
        for (slot, c) in self.records.iter().enumerate() {
            self.id_to_slot[c.id as usize] = slot as u32;
        }
        let size = self
            .records
            .iter()
            .map(|c| c.token_a.max(c.token_b) as usize + 1)
            .max()
            .unwrap_or(0)
            .max(self.out_deg.len());
        // One pair of count arrays per thread (not per rayon task: each pair is 8 bytes per
        // token, and zeroing many of them would cost more than the counting).
        let parts = rayon::current_num_threads().max(1);
        let per = self.records.len().div_ceil(parts).max(1);
        let counts: Vec<(Vec<u32>, Vec<u32>)> = self
            .records
            .par_chunks(per)
            .map(|chunk| {
                let (mut o, mut i) = (vec![0u32; size], vec![0u32; size]);
                for c in chunk {
                    o[c.token_a as usize] += 1;
                    i[c.token_b as usize] += 1;
                }
                (o, i)
            })
            .collect();
        let mut it = counts.into_iter();
        let (mut out_deg, mut in_deg) = it
            .next()
            .unwrap_or_else(|| (vec![0u32; size], vec![0u32; size]));
        for (o, i) in it {
            out_deg.iter_mut().zip(&o).for_each(|(a, b)| *a += b);
            in_deg.iter_mut().zip(&i).for_each(|(a, b)| *a += b);
        }
        self.out_deg = out_deg;
        self.in_deg = in_deg;
        self.next_id = self.next_id.max(max_id + 1);
    }

    pub fn clear(&mut self) {
        *self = ConnectionStore::default();
    }
}
