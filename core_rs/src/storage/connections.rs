//! The connection store: dense 64-byte records, an id -> slot table and per-token degrees.

use crate::cdna::Cdna;
use crate::connection::{flags, mutability_of_kind, unit_to_u8, Connection, Mutability, KINDS};
use crate::error::{Location, NgError, Result};
use crate::guardian::{ConnectionWrite, Guardian};
use crate::idmap::IdMap;
use crate::storage::slots::Slots;
use crate::storage::tokens::TokenStore;
use bytemuck::Zeroable;
use rayon::prelude::*;

/// The action a refused connection write names.
const CREATE: &str = "connection.create";

/// Largest connection id (`u32::MAX` is kept free as a marker).
pub const MAX_CONNECTION_ID: u32 = u32::MAX - 1;

/// (out-degree, in-degree) of tokens, by token id; tokens without connections are absent.
pub type Degrees = IdMap<[u32; 2]>;

/// Connections with their degree counters.
#[derive(Clone, Debug)]
pub struct ConnectionStore {
    pub(crate) records: Vec<Connection>,
    /// Connection id -> slot, sized by the live connections.
    pub(crate) id_to_slot: Slots,
    /// Out- and in-degree by token local id.
    pub(crate) degrees: Degrees,
    /// Where the next allocation starts looking for a free id (wraps around past
    /// `MAX_CONNECTION_ID`).
    pub(crate) next_id: u32,
    /// Changes on every write (unique across stores): caches built from an older version are stale.
    pub(crate) version: u64,
}

impl Default for ConnectionStore {
    fn default() -> Self {
        ConnectionStore {
            records: Vec::new(),
            id_to_slot: Slots::default(),
            degrees: IdMap::new([0, 0]),
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

impl<'a> ConnectionBatch<'a> {
    /// `a[i] -> b[i]` as learnable `associated_with` connections with the defaults the
    /// runtime itself weaves with (strength, rigidity and confidence 0.5, learning rate 0.1,
    /// every space active, the CDNA's decay rate); change fields with struct update syntax.
    pub fn associated(a: &'a [u32], b: &'a [u32]) -> Self {
        ConnectionBatch {
            a,
            b,
            kinds: Column::All(crate::connection::ASSOCIATED_WITH),
            strengths: Column::All(0.5),
            rigidity: Column::All(0.5),
            confidence: Column::All(0.5),
            preferred_distance: 1.0,
            learning_rate: 0.1,
            decay_rate: None,
            bidirectional: false,
            active_levels: 0xFF,
            hypothesis: false,
            source_id: 0,
        }
    }
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

/// Validated connection records with their ids, ready for `commit`.
#[derive(Debug, Default)]
pub struct Prepared {
    pub records: Vec<Connection>,
    /// The allocation cursor once these ids are taken.
    pub next_id: u32,
}

/// Give memory back once a buffer is mostly empty (amortised: it halves at most).
pub(crate) fn shrink<T>(v: &mut Vec<T>) {
    if v.capacity() > 4096 && v.len() * 4 < v.capacity() {
        v.shrink_to(v.len() * 2);
    }
}

/// Add `by` (+1 or -1) to a token's out- (`which` 0) or in-degree (1).
#[inline]
fn bump(deg: &mut Degrees, t: u32, which: usize, by: i32) {
    let mut d = deg.get(t).unwrap_or([0, 0]);
    d[which] = d[which].wrapping_add_signed(by);
    if d == [0, 0] {
        deg.remove(t);
    } else {
        deg.insert(t, d);
    }
}

/// Degrees of every token in `records`.
pub fn count_degrees(records: &[Connection]) -> Degrees {
    count_degrees_of(records.iter().map(|c| [c.token_a, c.token_b]))
}

/// Degrees of every token from the `[token_a, token_b]` pairs of the connections.
pub fn count_degrees_of(ends: impl ExactSizeIterator<Item = [u32; 2]> + Clone) -> Degrees {
    let n = ends.len();
    let max = ends.clone().fold(0u32, |m, [a, b]| m.max(a).max(b)) as usize;
    if max <= 4 * n + 1024 {
        // token ids in a range the records' own size bounds: count in a plain array, which
        // becomes the table (or builds one sized for its entries) instead of growing it per record
        let mut dense = vec![[0u32; 2]; max + 1];
        for [a, b] in ends {
            dense[a as usize][0] += 1;
            dense[b as usize][1] += 1;
        }
        return IdMap::from_dense([0, 0], dense);
    }
    let mut deg = IdMap::new([0, 0]);
    for [a, b] in ends {
        bump(&mut deg, a, 0, 1);
        bump(&mut deg, b, 1, 1);
    }
    deg
}

/// The id table and the degrees of connections with `ids` and `ends`, in slot order. A
/// repeated id keeps its last slot (a load refuses repeated ids: the table is shorter than
/// the records then).
fn index(
    ids: impl ExactSizeIterator<Item = u32> + Clone + Send,
    ends: impl ExactSizeIterator<Item = [u32; 2]> + Clone + Send,
) -> (Slots, Degrees) {
    rayon::join(
        || {
            Slots::of(ids.clone()).unwrap_or_else(|| {
                let mut slots = Slots::default();
                slots.append(0, ids);
                slots
            })
        },
        || count_degrees_of(ends),
    )
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
        self.id_to_slot.get(id)
    }

    pub fn get(&self, id: u32) -> Result<&Connection> {
        self.slot(id)
            .map(|s| &self.records[s])
            .ok_or(NgError::ConnectionNotFound(id))
    }

    pub fn out_degree(&self, t: u32) -> u32 {
        self.degrees.get(t).map_or(0, |d| d[0])
    }
    pub fn in_degree(&self, t: u32) -> u32 {
        self.degrees.get(t).map_or(0, |d| d[1])
    }

    pub fn memory_bytes(&self) -> u64 {
        (self.records.capacity() * 64
            + self.id_to_slot.memory_bytes()
            + self.degrees.memory_bytes()) as u64
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
    ) -> Result<Prepared> {
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
        let now = crate::clock::now_secs() as u32;
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
                    Guardian::check_new_connection(cdna, a, bb, &w).map_err(|r| {
                        NgError::rejected(CREATE, r).at(Location::Edge { row: i, a, b: bb })
                    })?;
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
        self.check_policy(&records, cdna)?;
        let (ids, next_id) = self
            .id_to_slot
            .free_ids(self.next_id, MAX_CONNECTION_ID, records.len())
            .ok_or_else(|| {
                NgError::invalid(
                    "connections",
                    records.len(),
                    format!(
                        "the connection id space is full ({} connections)",
                        self.len()
                    ),
                )
            })?;
        for (c, id) in records.iter_mut().zip(ids) {
            c.id = id;
        }
        Ok(Prepared { records, next_id })
    }

    /// The Guardian's rules over the whole batch: degree limits, and no duplicates in
    /// strict mode.
    fn check_policy(&self, new: &[Connection], cdna: &Cdna) -> Result<()> {
        let refused = |(row, r)| NgError::rejected(CREATE, r).at_row(row);
        // Degrees the batch adds, per token (a table sized by the tokens it touches).
        let added = count_degrees(new);
        let pairs = new.iter().map(|c| (c.token_a, c.token_b));
        Guardian::check_degrees(cdna, pairs, |t| {
            let [o, i] = added.get(t).unwrap_or([0, 0]);
            [self.out_degree(t) + o, self.in_degree(t) + i]
        })
        .map_err(refused)?;
        let triple = |c: &Connection| (c.token_a, c.token_b, c.kind);
        Guardian::check_duplicates(
            cdna,
            self.records.iter().map(triple),
            new.iter().map(triple),
        )
        .map_err(refused)
    }

    /// Store prepared records (their ids were chosen by `prepare`).
    pub fn commit(&mut self, p: Prepared) -> Vec<u32> {
        let Prepared { records, next_id } = p;
        self.version = super::next_version();
        let base = self.records.len() as u32;
        let mut ids = Vec::with_capacity(records.len());
        self.id_to_slot
            .append(base as usize, records.iter().map(|c| c.id));
        for c in &records {
            bump(&mut self.degrees, c.token_a, 0, 1);
            bump(&mut self.degrees, c.token_b, 1, 1);
            ids.push(c.id);
        }
        if self.records.is_empty() {
            self.records = records;
        } else {
            self.records.extend_from_slice(&records);
        }
        self.next_id = next_id;
        ids
    }

    /// Remove connections by id (missing ids are skipped).
    pub fn remove(&mut self, ids: &[u32]) {
        self.version = super::next_version();
        for id in ids {
            let gone = self
                .id_to_slot
                .swap_remove(*id, &mut self.records, |c| c.id);
            if let Some((_, c)) = gone {
                bump(&mut self.degrees, c.token_a, 0, -1);
                bump(&mut self.degrees, c.token_b, 1, -1);
            }
        }
        shrink(&mut self.records);
    }

    /// Remove every connection touching any of `tokens` (a sorted, deduplicated list);
    /// returns how many went. Cost follows the connections removed, plus one parallel scan.
    pub fn remove_touching(&mut self, tokens: &[u32]) -> usize {
        let any = tokens
            .iter()
            .any(|t| self.out_degree(*t) > 0 || self.in_degree(*t) > 0);
        if !any {
            return 0;
        }
        self.version = super::next_version();
        let touches = |t: u32| tokens.binary_search(&t).is_ok();
        let gone: Vec<u32> = self
            .records
            .par_iter()
            .filter(|c| touches(c.token_a) || touches(c.token_b))
            .map(|c| c.id)
            .collect();
        if gone.len() * 4 < self.records.len() {
            self.remove(&gone);
        } else {
            self.records
                .retain(|c| !(touches(c.token_a) || touches(c.token_b)));
            shrink(&mut self.records);
            self.rebuild_index();
        }
        gone.len()
    }

    /// Rebuild the id table and the degrees from the records (after a load or a bulk removal).
    pub fn rebuild_index(&mut self) {
        let recs = &self.records;
        let (slots, degrees) = index(
            recs.iter().map(|c| c.id),
            recs.iter().map(|c| [c.token_a, c.token_b]),
        );
        self.set_index(slots, degrees);
    }

    /// [`rebuild_index`](Self::rebuild_index) from the records' ids and `[token_a, token_b]`
    /// pairs kept beside them (a load that decodes columns has them at hand: reading them
    /// costs a sixteenth of reading the records again).
    pub fn rebuild_index_from(&mut self, ids: &[u32], ends: &[[u32; 2]]) {
        assert!(ids.len() == self.records.len() && ends.len() == self.records.len());
        let (slots, degrees) = index(ids.iter().copied(), ends.iter().copied());
        self.set_index(slots, degrees);
    }

    fn set_index(&mut self, slots: Slots, degrees: Degrees) {
        self.id_to_slot = slots;
        self.degrees = degrees;
        if self.next_id == 0 || self.next_id > MAX_CONNECTION_ID {
            self.next_id = 1;
        }
    }

    pub fn clear(&mut self) {
        *self = ConnectionStore::default();
    }

    /// Mark the records as changed in place (views and caches built earlier are stale).
    pub fn touch(&mut self) {
        self.version = super::next_version();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degrees_counted_in_an_array_equal_those_counted_one_by_one() {
        // small ids take the array path, ids far past the record count the table path
        for base in [0u32, 50_000_000] {
            let recs: Vec<Connection> = (0..5_000u32)
                .map(|i| Connection {
                    token_a: base + 1 + (i * 7919) % 1_000,
                    token_b: base + 1 + (i * 104_729) % 3_000,
                    id: i + 1,
                    ..bytemuck::Zeroable::zeroed()
                })
                .collect();
            let fast = count_degrees(&recs);
            let mut slow = IdMap::new([0, 0]);
            for c in &recs {
                bump(&mut slow, c.token_a, 0, 1);
                bump(&mut slow, c.token_b, 1, 1);
            }
            assert_eq!(fast.len(), slow.len());
            for (t, d) in slow.iter() {
                assert_eq!(fast.get(t), Some(d), "token {t}");
            }
        }
    }
}
