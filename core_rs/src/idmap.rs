//! `IdMap`: a table keyed by `u32` ids whose memory follows the number of live entries, not
//! the largest id.
//!
//! Ids handed out in sequence (1, 2, 3 ...) sit in a dense array, as fast as a plain `Vec`;
//! ids spread over a wide range (bootstrap ids are hashed into 1..2^24, connection ids keep
//! growing under churn) go to a hash map. The dense part never holds more than about twice
//! as many entries as the map has live ones (plus a small floor), and shrinks when most of
//! its entries are gone, so one id of 16,000,000 costs a hash entry, not 64 MiB.

use rustc_hash::FxHashMap;

/// Entries the dense part may always hold, however few are live.
const DENSE_FLOOR: usize = 1024;

/// A map from `u32` ids to `V`, with `empty` marking an absent entry in the dense part.
#[derive(Clone, Debug)]
pub struct IdMap<V: Copy + PartialEq> {
    /// Values of ids `0..dense.len()` (`empty` where absent).
    dense: Vec<V>,
    /// Values of ids `>= dense.len()`.
    sparse: FxHashMap<u32, V>,
    /// The value that marks an absent entry.
    empty: V,
    /// Live entries (dense and sparse).
    len: usize,
    /// No live id is larger than this (an upper bound, exact after a rebuild).
    max_id: u32,
}

impl<V: Copy + PartialEq> IdMap<V> {
    /// An empty map; `empty` is never stored as a value.
    pub fn new(empty: V) -> Self {
        IdMap {
            dense: Vec::new(),
            sparse: FxHashMap::default(),
            empty,
            len: 0,
            max_id: 0,
        }
    }

    /// Build from (id, value) pairs with distinct ids, sizing the dense part for them.
    pub fn from_pairs(empty: V, pairs: impl Iterator<Item = (u32, V)> + Clone) -> Self {
        let (n, max) = pairs
            .clone()
            .fold((0usize, None::<u32>), |(n, m), (id, _)| {
                (n + 1, Some(m.map_or(id, |m| m.max(id))))
            });
        let dense_len = max.map_or(0, |m| (m as usize + 1).min(Self::dense_cap(n)));
        let mut map = IdMap {
            dense: vec![empty; dense_len],
            sparse: FxHashMap::default(),
            empty,
            len: 0,
            max_id: max.unwrap_or(0),
        };
        for (id, v) in pairs {
            map.put(id, v);
        }
        map
    }

    /// Build from a table of values by id (`empty` where absent), keeping it as the dense
    /// part when it is not too sparse for that.
    pub fn from_dense(empty: V, dense: Vec<V>) -> Self {
        let len = dense.iter().filter(|v| **v != empty).count();
        if dense.len() > Self::dense_cap(len) {
            return Self::from_pairs(
                empty,
                dense
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v != empty)
                    .map(|(id, v)| (id as u32, *v)),
            );
        }
        let max_id = dense.iter().rposition(|v| *v != empty).unwrap_or(0) as u32;
        IdMap {
            dense,
            sparse: FxHashMap::default(),
            empty,
            len,
            max_id,
        }
    }

    /// The most entries the dense part may hold for `live` live ids.
    #[inline]
    fn dense_cap(live: usize) -> usize {
        live.saturating_mul(2).saturating_add(DENSE_FLOOR)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// No live id is larger than this.
    pub fn max_id(&self) -> u32 {
        self.max_id
    }

    #[inline]
    pub fn get(&self, id: u32) -> Option<V> {
        let v = match self.dense.get(id as usize) {
            Some(v) => *v,
            None if self.sparse.is_empty() => return None,
            None => return self.sparse.get(&id).copied(),
        };
        (v != self.empty).then_some(v)
    }

    #[inline]
    pub fn contains(&self, id: u32) -> bool {
        self.get(id).is_some()
    }

    /// Set the value of an id (`v` must not be the empty marker).
    pub fn insert(&mut self, id: u32, v: V) {
        debug_assert!(v != self.empty);
        let i = id as usize;
        if i >= self.dense.len() {
            let cap = Self::dense_cap(self.len + 1);
            if i < cap {
                // Grow geometrically (within the cap) and move the ids now covered.
                let want = (self.dense.len() * 2).max(i + 1).min(cap);
                self.grow_dense(want);
            }
        }
        self.put(id, v);
    }

    /// Write an entry where it belongs, without resizing the dense part.
    #[inline]
    fn put(&mut self, id: u32, v: V) {
        self.max_id = self.max_id.max(id);
        let fresh = match self.dense.get_mut(id as usize) {
            Some(slot) => {
                let fresh = *slot == self.empty;
                *slot = v;
                fresh
            }
            None => self.sparse.insert(id, v).is_none(),
        };
        self.len += fresh as usize;
    }

    fn grow_dense(&mut self, new_len: usize) {
        let old = self.dense.len();
        self.dense.resize(new_len, self.empty);
        if !self.sparse.is_empty() {
            let moved: Vec<(u32, V)> = self
                .sparse
                .iter()
                .filter(|(id, _)| (**id as usize) < new_len && (**id as usize) >= old)
                .map(|(id, v)| (*id, *v))
                .collect();
            for (id, v) in moved {
                self.sparse.remove(&id);
                self.dense[id as usize] = v;
            }
        }
    }

    /// Remove an id; returns its value.
    pub fn remove(&mut self, id: u32) -> Option<V> {
        let old = match self.dense.get_mut(id as usize) {
            Some(slot) if *slot != self.empty => Some(std::mem::replace(slot, self.empty)),
            Some(_) => None,
            None => self.sparse.remove(&id),
        };
        if old.is_some() {
            self.len -= 1;
            self.maybe_shrink();
        }
        old
    }

    /// Rebuild smaller when most of the table is empty (amortised O(1) per removal).
    fn maybe_shrink(&mut self) {
        let held = self.dense.len() + self.sparse.capacity();
        if held > DENSE_FLOOR * 4 && self.len.saturating_mul(8) < held {
            *self = Self::from_pairs(self.empty, self.iter());
        }
    }

    /// Live (id, value) pairs, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, V)> + Clone + '_ {
        let empty = self.empty;
        self.dense
            .iter()
            .enumerate()
            .filter(move |(_, v)| **v != empty)
            .map(|(i, v)| (i as u32, *v))
            .chain(self.sparse.iter().map(|(id, v)| (*id, *v)))
    }

    /// Drop everything (the allocation too).
    pub fn clear(&mut self) {
        *self = Self::new(self.empty);
    }

    /// Bytes held by the table.
    pub fn memory_bytes(&self) -> usize {
        let entry = std::mem::size_of::<V>();
        self.dense.capacity() * entry + self.sparse.capacity() * (entry + 4 + 1)
    }

    /// Up to `n` ids not in the map, searched from `start` upwards within `1..=max`,
    /// wrapping around to 1 after `max`. Returns the ids and the id after the last one, or
    /// `None` when fewer than `n` ids are free.
    pub fn free_ids(&self, start: u32, max: u32, n: usize) -> Option<(Vec<u32>, u32)> {
        if (max as usize).saturating_sub(self.len) < n {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        let mut id = if start == 0 || start > max { 1 } else { start };
        // Above the largest live id every id is free: no look-ups needed there.
        let fast_from = if self.is_empty() { 0 } else { self.max_id };
        while out.len() < n {
            if id > fast_from {
                let room = (max - id) as usize + 1;
                let take = room.min(n - out.len());
                out.extend(id..id + take as u32);
                id = if take == room { 1 } else { id + take as u32 };
                continue;
            }
            if !self.contains(id) {
                out.push(id);
            }
            id = if id == max { 1 } else { id + 1 };
        }
        Some((out, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[test]
    fn one_large_id_costs_a_hash_entry_not_a_table() {
        let mut m = IdMap::new(u32::MAX);
        m.insert(16_000_000, 7);
        assert_eq!(m.get(16_000_000), Some(7));
        assert!(m.memory_bytes() < 64 * 1024, "{}", m.memory_bytes());
    }

    #[test]
    fn sequential_ids_are_dense() {
        let mut m = IdMap::new(u32::MAX);
        for i in 1..100_000u32 {
            m.insert(i, i * 2);
        }
        assert!(m.sparse.is_empty());
        assert_eq!(m.len(), 99_999);
        assert_eq!(m.get(500), Some(1000));
    }

    #[test]
    fn churn_leaves_an_empty_map_small() {
        let mut m = IdMap::new(u32::MAX);
        let mut next = 1u32;
        for _ in 0..20 {
            let ids: Vec<u32> = (next..next + 50_000).collect();
            for id in &ids {
                m.insert(*id, 1);
            }
            for id in &ids {
                m.remove(*id);
            }
            next += 50_000;
        }
        assert!(m.is_empty());
        assert!(m.memory_bytes() < 256 * 1024, "{}", m.memory_bytes());
    }

    #[test]
    fn a_dense_table_is_kept_unless_too_sparse() {
        let mut t = vec![0u32; 10_000];
        for id in (1..10_000).step_by(2) {
            t[id] = id as u32;
        }
        let m = IdMap::from_dense(0, t);
        assert_eq!((m.len(), m.max_id()), (5000, 9999));
        assert_eq!(
            (m.get(9999), m.get(9998), m.get(0)),
            (Some(9999), None, None)
        );
        assert!(m.sparse.is_empty() && m.dense.len() == 10_000);
        // two entries in a table of a million: a table sized for two (and a hash entry)
        let mut t = vec![0u32; 1_000_000];
        (t[5], t[999_999]) = (1, 2);
        let m = IdMap::from_dense(0, t);
        assert_eq!(
            (m.len(), m.max_id(), m.get(5), m.get(999_999)),
            (2, 999_999, Some(1), Some(2))
        );
        assert!(m.memory_bytes() < 64 * 1024, "{}", m.memory_bytes());
        let m = IdMap::from_dense(0u32, vec![0; 3]);
        assert!(m.is_empty() && m.get(1).is_none());
    }

    #[test]
    fn free_ids_skip_used_ones_and_wrap() {
        let mut m = IdMap::new(u32::MAX);
        for id in [2u32, 3, 9, 10] {
            m.insert(id, 0);
        }
        let (ids, next) = m.free_ids(8, 10, 3).unwrap();
        assert_eq!(ids, vec![8, 1, 4]);
        assert_eq!(next, 5);
        assert!(m.free_ids(1, 10, 7).is_none());
        assert_eq!(m.free_ids(1, 10, 6).unwrap().0, vec![1, 4, 5, 6, 7, 8]);
    }

    proptest! {
        #[test]
        fn behaves_like_a_hash_map(ops in prop::collection::vec((0u8..3, 0u32..5000), 1..600)) {
            let mut m = IdMap::new(u32::MAX);
            let mut model: HashMap<u32, u32> = HashMap::new();
            for (i, (op, raw)) in ops.into_iter().enumerate() {
                // Mix small, clustered ids with a few huge ones.
                let id = if raw % 7 == 0 { raw * 3000 } else { raw };
                match op {
                    0 | 1 => {
                        m.insert(id, i as u32);
                        model.insert(id, i as u32);
                    }
                    _ => {
                        prop_assert_eq!(m.remove(id), model.remove(&id));
                    }
                }
                prop_assert_eq!(m.len(), model.len());
            }
            for (id, v) in &model {
                prop_assert_eq!(m.get(*id), Some(*v));
            }
            let mut all: Vec<(u32, u32)> = m.iter().collect();
            all.sort_unstable();
            let mut want: Vec<(u32, u32)> = model.into_iter().collect();
            want.sort_unstable();
            prop_assert_eq!(all, want);
        }
    }
}
