//! Keyset pages: records with ids above a cursor, in id order, a page at a time. Unlike
//! offsets into store order, a page stays right while other clients create and delete
//! records between requests (nothing is skipped or repeated that existed throughout).

use super::{RuntimeStorage, TokenView};
use crate::connection::Connection;
use std::collections::BinaryHeap;

/// How far past the cursor a page first probes id by id, per record wanted: ids handed out
/// in sequence fill a page from this window without a scan of the store.
const PROBE_FACTOR: u64 = 4;

/// The `limit + 1` smallest ids above `after` among `ids` with their slots, ascending:
/// probe the ids right after the cursor, else keep the smallest in a bounded heap.
fn page_slots(
    after: u32,
    limit: usize,
    slot_of: impl Fn(u32) -> Option<usize>,
    all: impl Iterator<Item = (u32, usize)>,
) -> Vec<(u32, usize)> {
    let want = limit.saturating_add(1);
    let window = (want as u64).saturating_mul(PROBE_FACTOR);
    let end = (after as u64).saturating_add(window).min(u32::MAX as u64) as u32;
    let mut found = Vec::with_capacity(want.min(1 << 16));
    let mut id = after;
    while id < end && found.len() < want {
        id += 1;
        if let Some(s) = slot_of(id) {
            found.push((id, s));
        }
    }
    if found.len() == want {
        return found;
    }
    // Sparse ids: one pass over the store, keeping the `want` smallest above the cursor.
    let mut heap: BinaryHeap<(u32, usize)> = BinaryHeap::with_capacity(want.min(1 << 16));
    for (id, s) in all.filter(|(id, _)| *id > after) {
        if heap.len() < want {
            heap.push((id, s));
        } else if heap.peek().is_some_and(|top| id < top.0) {
            heap.pop();
            heap.push((id, s));
        }
    }
    heap.into_sorted_vec()
}

impl RuntimeStorage {
    /// Up to `limit` tokens with ids above `after`, ascending, and whether more follow.
    pub fn token_page(&self, after: u32, limit: usize) -> (Vec<TokenView>, bool) {
        let st = self.read();
        let t = &st.tokens;
        let mut slots = page_slots(
            after,
            limit,
            |id| t.slot(id),
            t.records.iter().enumerate().map(|(s, r)| (r.local_id(), s)),
        );
        let more = slots.len() > limit;
        slots.truncate(limit);
        let rows = slots
            .into_iter()
            .map(|(id, s)| TokenView {
                token: t.records[s],
                defined: t.defined[s],
                label: t.labels.get(&id).map(|l| l.to_string()),
            })
            .collect();
        (rows, more)
    }

    /// Up to `limit` connections with ids above `after`, ascending, and whether more follow.
    pub fn connection_page(&self, after: u32, limit: usize) -> (Vec<Connection>, bool) {
        let st = self.read();
        let c = &st.connections;
        let mut slots = page_slots(
            after,
            limit,
            |id| c.slot(id),
            c.records.iter().enumerate().map(|(s, r)| (r.id, s)),
        );
        let more = slots.len() > limit;
        slots.truncate(limit);
        let rows = slots.into_iter().map(|(_, s)| c.records[s]).collect();
        (rows, more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::tokens::TokenBatch;

    fn store(ids: &[u32]) -> RuntimeStorage {
        let rt = RuntimeStorage::new();
        let coords = vec![0.25f32; ids.len() * 24];
        rt.create_tokens(&TokenBatch {
            coords: &coords,
            ids: Some(ids),
            default_weight: 0.5,
            ..Default::default()
        })
        .unwrap();
        rt
    }

    fn walk(rt: &RuntimeStorage, limit: usize) -> Vec<u32> {
        let (mut after, mut seen) = (0, Vec::new());
        loop {
            let (rows, more) = rt.token_page(after, limit);
            seen.extend(rows.iter().map(|v| v.token.local_id()));
            match (more, seen.last()) {
                (true, Some(last)) => after = *last,
                _ => return seen,
            }
        }
    }

    #[test]
    fn dense_and_sparse_ids_walk_in_order_without_gaps() {
        let dense: Vec<u32> = (1..=1000).collect();
        assert_eq!(walk(&store(&dense), 7), dense);
        let mut sparse: Vec<u32> = (0..500).map(|i| 1 + i * 9973 % 16_000_000).collect();
        let rt = store(&sparse);
        sparse.sort_unstable();
        assert_eq!(walk(&rt, 10), sparse);
        assert_eq!(walk(&rt, 1000), sparse);
        let (rows, more) = rt.token_page(u32::MAX - 1, 10);
        assert!(rows.is_empty() && !more);
    }
}
