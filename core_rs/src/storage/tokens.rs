//! The token store: dense 64-byte records, an id -> slot table, space masks and labels.

use crate::cdna::Cdna;
use crate::error::{Location, NgError, Result};
use crate::guardian::{Guardian, TokenWrite};
use crate::space::{encode, NUM_AXES, NUM_SPACES};
use crate::storage::slots::Slots;
use crate::token::{
    encode_field_radius, encode_field_strength, flags, Token, ENTITY_TYPES, MAX_LOCAL_ID,
};
use rayon::prelude::*;

/// Every space defined.
pub const ALL_SPACES: u8 = 0xFF;

/// A token's label: inline when short, on the heap otherwise.
pub type Label = compact_str::CompactString;

/// Tokens as struct-of-records with side tables.
#[derive(Clone, Debug)]
pub struct TokenStore {
    /// The records, dense (deletes swap the last one into the hole).
    pub(crate) records: Vec<Token>,
    /// Bit per space: which spaces each token is placed in (parallel to `records`).
    pub(crate) defined: Vec<u8>,
    /// Local id -> slot in `records`, sized by the live tokens (not by the largest id).
    pub(crate) id_to_slot: Slots,
    /// Labels by local id. A label of up to 24 bytes (nearly every word) is stored in place,
    /// so a million labels load without a million allocations.
    pub(crate) labels: rustc_hash::FxHashMap<u32, Label>,
    /// Where the next allocation starts looking for a free id. It moves up as ids are
    /// handed out and wraps around to 1 past the 24-bit limit, so freed ids are reused
    /// without a recently deleted id coming back at once. Explicit ids do not move it.
    pub(crate) next_id: u32,
    /// Changes on every write (unique across stores): caches built from an older version are stale.
    pub(crate) version: u64,
}

impl Default for TokenStore {
    fn default() -> Self {
        TokenStore {
            records: Vec::new(),
            defined: Vec::new(),
            id_to_slot: Slots::default(),
            labels: rustc_hash::FxHashMap::default(),
            next_id: 1,
            version: super::next_version(),
        }
    }
}

/// Bulk input for `create_many`; coordinates are row-major `(n, 8, 3)`.
#[derive(Default)]
pub struct TokenBatch<'a> {
    pub coords: &'a [f32],
    pub weights: Option<&'a [f32]>,
    pub entities: Option<&'a [u8]>,
    pub field_radius: Option<&'a [f32]>,
    pub field_strength: Option<&'a [f32]>,
    pub labels: Option<Vec<Option<String>>>,
    pub ids: Option<&'a [u32]>,
    pub clamp: bool,
    /// NaN triples mean "not placed in this space".
    pub undefined_nan: bool,
    pub default_weight: f32,
}

/// A change to one token; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct TokenUpdate {
    pub weight: Option<f32>,
    pub entity: Option<u8>,
    /// `Some(None)` removes the label.
    pub label: Option<Option<String>>,
    /// (space, Some(xyz)) places the token, (space, None) removes it from the space.
    pub coords: Vec<(usize, Option<[f32; 3]>)>,
    pub field_radius: Option<f32>,
    pub field_strength: Option<f32>,
    pub user_flags: Option<u8>,
    pub domain: Option<u8>,
    pub clamp: bool,
}

const CHUNK: usize = 8192;

/// Validated records, space masks and labels, ready for `commit`.
#[derive(Debug)]
pub struct Prepared {
    pub records: Vec<Token>,
    pub masks: Vec<u8>,
    pub labels: Vec<Option<String>>,
    /// The allocation cursor once these records' ids are taken.
    pub next_id: u32,
}

/// Validate a new token id.
pub fn check_id(id: u64) -> Result<u32> {
    if id == 0 || id > MAX_LOCAL_ID as u64 {
        return Err(NgError::InvalidId(id));
    }
    Ok(id as u32)
}

fn encode_row(row: &[f32], undefined_nan: bool, clamp: bool, out: &mut Token) -> Result<u8> {
    if crate::space::encode_row_fast(row, &mut out.coords) {
        return Ok(ALL_SPACES);
    }
    let mut mask = 0u8;
    for s in 0..NUM_SPACES {
        let xyz = &row[s * NUM_AXES..(s + 1) * NUM_AXES];
        if undefined_nan && xyz.iter().all(|v| v.is_nan()) {
            out.coords[s] = [0; 3];
            continue;
        }
        for (a, v) in xyz.iter().enumerate() {
            out.coords[s][a] = encode(s, a, *v, clamp)?;
        }
        mask |= 1 << s;
    }
    Ok(mask)
}

impl TokenStore {
    pub fn len(&self) -> usize {
        self.records.len()
    }
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Slot of a token, if it exists.
    #[inline]
    pub fn slot(&self, id: u32) -> Option<usize> {
        self.id_to_slot.get(id)
    }

    pub fn contains(&self, id: u32) -> bool {
        self.slot(id).is_some()
    }

    /// The record of a token.
    pub fn get(&self, id: u32) -> Result<&Token> {
        self.slot(id)
            .map(|s| &self.records[s])
            .ok_or(NgError::TokenNotFound(id))
    }

    /// Space mask of a token.
    pub fn defined_of(&self, id: u32) -> Result<u8> {
        self.slot(id)
            .map(|s| self.defined[s])
            .ok_or(NgError::TokenNotFound(id))
    }

    /// Bytes held (records, masks, id table, labels), for metrics.
    pub fn memory_bytes(&self) -> u64 {
        // a table entry is 32 bytes; a label longer than the entry's 24 bytes adds its heap copy
        let heap = |l: &Label| {
            if l.is_heap_allocated() {
                l.capacity()
            } else {
                0
            }
        };
        let labels: usize = self.labels.values().map(|l| heap(l) + 32).sum();
        (self.records.capacity() * 64
            + self.defined.capacity()
            + self.id_to_slot.memory_bytes()
            + labels) as u64
    }

    /// `n` free ids from the allocation cursor on (wrapping around), and the cursor after.
    fn allocate_ids(&self, n: usize) -> Result<(Vec<u32>, u32)> {
        self.id_to_slot
            .free_ids(self.next_id, MAX_LOCAL_ID, n)
            .ok_or(NgError::IdSpaceExhausted {
                live: self.len(),
                wanted: n,
            })
    }

    fn check_new_ids(&self, ids: &[u32]) -> Result<()> {
        for (row, id) in ids.iter().enumerate() {
            check_id(*id as u64).map_err(|e| e.at_row(row))?;
            if self.contains(*id) {
                return Err(NgError::DuplicateId(*id).at_row(row));
            }
        }
        let mut sorted = ids.to_vec();
        sorted.par_sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            let row = ids.iter().rposition(|x| *x == w[0]).unwrap_or(0);
            return Err(NgError::DuplicateId(w[0]).at_row(row));
        }
        Ok(())
    }

    /// Validate and encode a batch without touching the store: all rows or nothing.
    /// Returns the records and masks ready for `commit`, or the first failing row's error
    /// (`NgError::Rejected` when a CDNA bound refused it).
    pub fn prepare(&self, b: &TokenBatch<'_>, cdna: &Cdna) -> Result<Prepared> {
        let per_row = NUM_SPACES * NUM_AXES;
        if !b.coords.len().is_multiple_of(per_row) {
            return Err(NgError::invalid(
                "coords",
                b.coords.len(),
                "length is not a multiple of 8 x 3",
            ));
        }
        let n = b.coords.len() / per_row;
        let check_len = |name: &str, len: Option<usize>| -> Result<()> {
            match len {
                Some(l) if l != n => Err(NgError::invalid(
                    name,
                    format!("{l} values"),
                    format!("expected one per token ({n})"),
                )),
                _ => Ok(()),
            }
        };
        check_len("weights", b.weights.map(|w| w.len()))?;
        check_len("entities", b.entities.map(|w| w.len()))?;
        check_len("field_radius", b.field_radius.map(|w| w.len()))?;
        check_len("field_strength", b.field_strength.map(|w| w.len()))?;
        check_len("labels", b.labels.as_ref().map(|w| w.len()))?;
        check_len("ids", b.ids.map(|w| w.len()))?;
        let (ids, next_id) = match b.ids {
            Some(ids) => {
                self.check_new_ids(ids)?;
                (ids.to_vec(), self.next_id)
            }
            None => self.allocate_ids(n)?,
        };
        let now = crate::clock::now_secs() as u32;
        // Without per-row weights or fields every row shares the defaults: check them once.
        let per_row_check =
            b.weights.is_some() || b.field_radius.is_some() || b.field_strength.is_some();
        if !per_row_check && n > 0 {
            let w = TokenWrite {
                weight: b.default_weight,
                field_radius: 0.0,
                field_strength: 0.0,
            };
            Guardian::check_token(cdna, &w)
                .map_err(|r| NgError::rejected("token.create", r).at_row(0))?;
        }
        let mut records: Vec<Token> = bytemuck::zeroed_vec(n);
        crate::mem::advise_huge_pages(&records);
        let mut masks = vec![0u8; n];
        // Each chunk reports its first bad row; the lowest row wins.
        let results: Vec<Result<()>> = records
            .par_chunks_mut(CHUNK)
            .zip(masks.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(ci, (recs, ms))| {
                for (j, (t, m)) in recs.iter_mut().zip(ms.iter_mut()).enumerate() {
                    let row = ci * CHUNK + j;
                    let fail = |e: NgError| e.at_row(row);
                    *m = encode_row(
                        &b.coords[row * per_row..(row + 1) * per_row],
                        b.undefined_nan,
                        b.clamp,
                        t,
                    )
                    .map_err(fail)?;
                    let weight = b.weights.map_or(b.default_weight, |w| w[row]);
                    let entity = b.entities.map_or(0, |e| e[row]);
                    if entity as usize >= ENTITY_TYPES.len() {
                        return Err(fail(NgError::UnknownEntityType(entity.to_string())));
                    }
                    let fr = b.field_radius.map_or(0.0, |v| v[row]);
                    let fs = b.field_strength.map_or(0.0, |v| v[row]);
                    t.field_radius = encode_field_radius(fr).map_err(fail)?;
                    t.field_strength = encode_field_strength(fs).map_err(fail)?;
                    let w = TokenWrite {
                        weight,
                        field_radius: fr,
                        field_strength: fs,
                    };
                    let checked = if per_row_check {
                        Guardian::check_token(cdna, &w)
                    } else {
                        Ok(())
                    };
                    checked.map_err(|r| NgError::rejected("token.create", r).at_row(row))?;
                    t.id = ids[row];
                    t.weight = weight;
                    t.timestamp = now;
                    t.flags = flags::ACTIVE | flags::MUTABLE;
                    t.set_entity(entity);
                }
                Ok(())
            })
            .collect();
        results.into_iter().collect::<Result<Vec<()>>>()?;
        let labels = b.labels.clone().unwrap_or_default();
        Ok(Prepared {
            records,
            masks,
            labels,
            next_id,
        })
    }

    /// Append prepared records (ids already checked free).
    pub fn commit(&mut self, p: Prepared) -> Vec<u32> {
        let Prepared {
            records,
            masks,
            labels,
            next_id,
        } = p;
        self.version = super::next_version();
        let ids: Vec<u32> = records.iter().map(|t| t.local_id()).collect();
        self.id_to_slot
            .append(self.records.len(), ids.iter().copied());
        if self.records.is_empty() {
            self.records = records;
            self.defined = masks;
        } else {
            self.records.extend_from_slice(&records);
            self.defined.extend_from_slice(&masks);
        }
        for (id, label) in ids.iter().zip(labels) {
            if let Some(l) = label {
                self.labels.insert(*id, l.into());
            }
        }
        self.next_id = next_id;
        ids
    }

    /// Apply an update to a copy of the record and check it; returns the new record and mask.
    pub fn prepare_update(&self, id: u32, u: &TokenUpdate, cdna: &Cdna) -> Result<(Token, u8)> {
        let slot = self.slot(id).ok_or(NgError::TokenNotFound(id))?;
        let mut t = self.records[slot];
        let mut mask = self.defined[slot];
        if let Some(w) = u.weight {
            t.weight = w;
        }
        if let Some(e) = u.entity {
            if e as usize >= ENTITY_TYPES.len() {
                return Err(NgError::UnknownEntityType(e.to_string()));
            }
            t.set_entity(e);
        }
        if let Some(fr) = u.field_radius {
            t.field_radius = encode_field_radius(fr)?;
        }
        if let Some(fs) = u.field_strength {
            t.field_strength = encode_field_strength(fs)?;
        }
        if let Some(f) = u.user_flags {
            if f > 0x0F {
                return Err(NgError::invalid(
                    "user_flags",
                    f,
                    "must be in 0..=15 (4 bits)",
                ));
            }
            t.flags = (t.flags & !flags::USER_MASK) | ((f as u16) << flags::USER_SHIFT);
        }
        if let Some(d) = u.domain {
            if d > 0x0F {
                return Err(NgError::invalid("domain", d, "must be in 0..=15 (4 bits)"));
            }
            t.set_domain(d);
        }
        for (space, xyz) in &u.coords {
            match xyz {
                Some(v) => {
                    t.set_space_coords(*space, *v, u.clamp)?;
                    mask |= 1 << space;
                }
                None => {
                    t.coords[*space] = [0; 3];
                    mask &= !(1 << space);
                }
            }
        }
        // Only what the update sets is checked: a value the token already held (e.g. under a
        // CDNA accepted with policy="force") does not block a change of something else.
        let old = &self.records[slot];
        let w = TokenWrite {
            weight: t.weight,
            field_radius: t.field_radius_f(),
            field_strength: t.field_strength_f(),
        };
        let was = TokenWrite {
            weight: old.weight,
            field_radius: old.field_radius_f(),
            field_strength: old.field_strength_f(),
        };
        Guardian::check_token_change(cdna, &was, &w)
            .map_err(|r| NgError::rejected("token.update", r).at(Location::Token(id)))?;
        t.timestamp = crate::clock::now_secs() as u32;
        t.flags |= flags::DIRTY;
        Ok((t, mask))
    }

    /// Write a prepared update.
    pub fn commit_update(&mut self, t: Token, mask: u8, label: Option<Option<String>>) {
        self.version = super::next_version();
        let id = t.local_id();
        if let Some(slot) = self.slot(id) {
            self.records[slot] = t;
            self.defined[slot] = mask;
        }
        match label {
            Some(Some(l)) => {
                self.labels.insert(id, l.into());
            }
            Some(None) => {
                self.labels.remove(&id);
            }
            None => {}
        }
    }

    /// Remove tokens by id (all must exist: check first with `contains`).
    pub fn remove(&mut self, ids: &[u32]) {
        self.version = super::next_version();
        for id in ids {
            let gone = self
                .id_to_slot
                .swap_remove(*id, &mut self.records, Token::local_id);
            if let Some((slot, _)) = gone {
                self.defined.swap_remove(slot);
                self.labels.remove(id);
            }
        }
        super::connections::shrink(&mut self.records);
        super::connections::shrink(&mut self.defined);
    }

    /// Mark the records as changed in place (views and caches built earlier are stale).
    pub fn touch(&mut self) {
        self.version = super::next_version();
    }

    /// Drop everything (ids start again at 1).
    pub fn clear(&mut self) {
        *self = TokenStore::default();
    }

    /// Rebuild the id table from the records (after a load).
    pub fn rebuild_index(&mut self) -> Result<()> {
        let ids: Vec<u32> = self.records.iter().map(|t| t.local_id()).collect();
        self.rebuild_index_from(&ids)
    }

    /// [`rebuild_index`](Self::rebuild_index) from the records' local ids, in slot order
    /// (a column kept beside the records, read instead of the 64-byte records).
    pub fn rebuild_index_from(&mut self, local_ids: &[u32]) -> Result<()> {
        assert!(local_ids.len() == self.records.len());
        for id in local_ids {
            check_id(*id as u64)?;
        }
        let slots = Slots::of(local_ids.iter().copied());
        if let Some(slots) = slots {
            self.id_to_slot = slots;
        } else {
            let mut ids = local_ids.to_vec();
            ids.sort_unstable();
            let dup = ids.windows(2).find(|w| w[0] == w[1]).map_or(0, |w| w[0]);
            return Err(NgError::DuplicateId(dup));
        }
        if self.next_id == 0 || self.next_id > MAX_LOCAL_ID {
            self.next_id = 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(coords: &[f32]) -> TokenBatch<'_> {
        TokenBatch {
            coords,
            default_weight: 1.0,
            ..Default::default()
        }
    }

    #[test]
    fn create_get_delete_keeps_the_index_dense() {
        let mut s = TokenStore::default();
        let cdna = Cdna::default();
        let coords = vec![0.1f32; 3 * 24];
        let p = s.prepare(&batch(&coords), &cdna).unwrap();
        let ids = s.commit(p);
        assert_eq!(ids, vec![1, 2, 3]);
        s.remove(&[1]);
        assert_eq!(s.len(), 2);
        assert!(!s.contains(1));
        assert_eq!(s.get(3).unwrap().local_id(), 3);
        assert_eq!(s.get(2).unwrap().local_id(), 2);
    }

    #[test]
    fn one_bad_row_creates_nothing() {
        let s = TokenStore::default();
        let cdna = Cdna::default();
        let mut coords = vec![0.1f32; 4 * 24];
        coords[2 * 24 + 4 * 3 + 1] = f32::NAN;
        let err = s.prepare(&batch(&coords), &cdna).unwrap_err();
        assert!(err.to_string().starts_with("row 2:"), "{err}");
        assert!(s.is_empty());
    }

    #[test]
    fn nan_rows_mean_undefined_when_asked() {
        let mut s = TokenStore::default();
        let cdna = Cdna::default();
        let mut coords = vec![0.1f32; 24];
        coords[0..3].fill(f32::NAN);
        let mut b = batch(&coords);
        b.undefined_nan = true;
        let p = s.prepare(&b, &cdna).unwrap();
        s.commit(p);
        assert_eq!(s.defined_of(1).unwrap(), 0xFE);
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let s = TokenStore::default();
        let cdna = Cdna::default();
        let coords = vec![0.1f32; 2 * 24];
        let ids = [7u32, 7];
        let mut b = batch(&coords);
        b.ids = Some(&ids);
        let e = s.prepare(&b, &cdna).unwrap_err();
        assert!(matches!(e.root(), NgError::DuplicateId(7)));
    }

    fn create(s: &mut TokenStore, n: usize) -> Vec<u32> {
        let coords = vec![0.1f32; n * 24];
        let p = s.prepare(&batch(&coords), &Cdna::default()).unwrap();
        s.commit(p)
    }

    #[test]
    fn freed_ids_are_reused_after_the_cursor_wraps() {
        let mut s = TokenStore {
            next_id: MAX_LOCAL_ID - 1,
            ..Default::default()
        };
        let a = create(&mut s, 2);
        assert_eq!(a, vec![MAX_LOCAL_ID - 1, MAX_LOCAL_ID]);
        let b = create(&mut s, 2);
        assert_eq!(b, vec![1, 2]);
        s.remove(&a);
        s.next_id = MAX_LOCAL_ID - 5;
        let c = create(&mut s, 7);
        assert_eq!(
            c[..6],
            [
                MAX_LOCAL_ID - 5,
                MAX_LOCAL_ID - 4,
                MAX_LOCAL_ID - 3,
                MAX_LOCAL_ID - 2,
                MAX_LOCAL_ID - 1,
                MAX_LOCAL_ID
            ]
        );
        assert_eq!(c[6], 3, "1 and 2 are live, so the wrap goes on to 3");
    }

    #[test]
    fn explicit_high_ids_neither_move_the_cursor_nor_cost_a_table() {
        let mut s = TokenStore::default();
        let coords = vec![0.1f32; 24];
        let ids = [16_000_000u32];
        let mut b = batch(&coords);
        b.ids = Some(&ids);
        let p = s.prepare(&b, &Cdna::default()).unwrap();
        s.commit(p);
        assert!(s.memory_bytes() < 1 << 20, "{}", s.memory_bytes());
        assert_eq!(create(&mut s, 1), vec![1]);
    }

    #[test]
    fn a_full_id_space_names_the_limit() {
        let s = TokenStore::default();
        let e = s.allocate_ids(MAX_LOCAL_ID as usize + 1).unwrap_err();
        assert!(e.to_string().contains("16,777,215"), "{e}");
    }
}
