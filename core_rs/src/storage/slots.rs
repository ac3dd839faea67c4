//! The id -> slot bookkeeping the token and the connection store share: records live densely
//! in a `Vec` (slot = index), [`Slots`] finds the slot of an id, and a removal moves the last
//! record into the hole so the vector stays dense.

use crate::idmap::IdMap;

/// "No slot" marker in the id table.
const EMPTY: u32 = u32::MAX;

/// Id -> slot of every record a store holds.
#[derive(Clone, Debug)]
pub struct Slots(IdMap<u32>);

impl Default for Slots {
    fn default() -> Self {
        Slots(IdMap::new(EMPTY))
    }
}

impl Slots {
    /// The table of records whose ids are `ids` in slot order; `None` when an id repeats.
    pub fn of(ids: impl Iterator<Item = u32> + Clone) -> Option<Slots> {
        let n = ids.clone().count();
        let map = IdMap::from_pairs(EMPTY, ids.enumerate().map(|(s, id)| (id, s as u32)));
        (map.len() == n).then_some(Slots(map))
    }

    /// Slot of an id, if a record has it.
    #[inline]
    pub fn get(&self, id: u32) -> Option<usize> {
        self.0.get(id).map(|s| s as usize)
    }

    /// Ids of records appended at slots `base..`.
    pub fn append(&mut self, base: usize, ids: impl Iterator<Item = u32>) {
        for (i, id) in ids.enumerate() {
            self.0.insert(id, (base + i) as u32);
        }
    }

    /// Remove the record with `id` from `records` by moving the last record into its slot;
    /// returns the slot it had and the record. The caller applies the same `swap_remove` at
    /// that slot to any column kept beside the records.
    pub fn swap_remove<T>(
        &mut self,
        id: u32,
        records: &mut Vec<T>,
        id_of: impl Fn(&T) -> u32,
    ) -> Option<(usize, T)> {
        let slot = self.get(id)?;
        let gone = records.swap_remove(slot);
        if let Some(moved) = records.get(slot) {
            self.0.insert(id_of(moved), slot as u32);
        }
        self.0.remove(id);
        Some((slot, gone))
    }

    /// `n` ids no record has, from `start` on (wrapping from `max` back to 1), and the
    /// cursor after them; None when fewer than `n` are free.
    pub fn free_ids(&self, start: u32, max: u32, n: usize) -> Option<(Vec<u32>, u32)> {
        self.0.free_ids(start, max, n)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    pub fn memory_bytes(&self) -> usize {
        self.0.memory_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Random appends and removals keep every id pointing at its record.
        #[test]
        fn slots_follow_the_records(ops in prop::collection::vec((any::<bool>(), 1u32..200), 0..300)) {
            let (mut slots, mut records) = (Slots::default(), Vec::<u32>::new());
            for (add, id) in ops {
                if add && slots.get(id).is_none() {
                    slots.append(records.len(), std::iter::once(id));
                    records.push(id);
                } else if !add {
                    let had = records.contains(&id);
                    let gone = slots.swap_remove(id, &mut records, |r| *r);
                    prop_assert_eq!(gone.map(|g| g.1), had.then_some(id));
                }
                prop_assert_eq!(slots.len(), records.len());
                for (s, r) in records.iter().enumerate() {
                    prop_assert_eq!(slots.get(*r), Some(s));
                }
            }
            let rebuilt = Slots::of(records.iter().copied()).unwrap();
            for (s, r) in records.iter().enumerate() {
                prop_assert_eq!(rebuilt.get(*r), Some(s));
            }
        }
    }

    #[test]
    fn a_repeated_id_has_no_table() {
        assert!(Slots::of([3, 5, 3].into_iter()).is_none());
        assert!(Slots::of(std::iter::empty()).unwrap().is_empty());
    }
}
