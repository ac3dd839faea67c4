//! The force-directed layout of the stored graph: the subgraph on some tokens, indexed
//! densely, handed to the [`crate::layout`] engine.

use super::RuntimeStorage;
use crate::error::{NgError, Result};
use crate::progress::Progress;

impl RuntimeStorage {
    /// Barnes-Hut force-directed layout of the subgraph on `ids` (all tokens in store order
    /// if None): the node ids and one position per node in [-1, 1] x [-1, 1]. Connections
    /// pull with their strength (negative strengths with 0). A missing token is
    /// `TokenNotFound`, an id given twice `InvalidValue`. `progress` counts iterations and
    /// stops the work when cancelled.
    pub fn layout(
        &self,
        ids: Option<Vec<u32>>,
        iterations: u32,
        seed: u64,
        progress: Option<&Progress>,
    ) -> Result<(Vec<u32>, Vec<[f32; 2]>)> {
        let nodes = match ids {
            Some(v) => v,
            None => self
                .read()
                .tokens
                .records
                .iter()
                .map(|t| t.local_id())
                .collect(),
        };
        let edges = self.subgraph(&nodes)?;
        // every id exists now (subgraph checked), so the table is at most 2^24 entries
        let max = nodes.iter().copied().max().unwrap_or(0) as usize;
        let mut index = vec![u32::MAX; max + 1];
        for (i, id) in nodes.iter().enumerate() {
            if index[*id as usize] != u32::MAX {
                return Err(NgError::invalid("ids", id, "appears more than once"));
            }
            index[*id as usize] = i as u32;
        }
        let e: Vec<(u32, u32, f32)> = edges
            .iter()
            .map(|c| {
                (
                    index[c.token_a as usize],
                    index[c.token_b as usize],
                    c.pull_strength.max(0.0),
                )
            })
            .collect();
        let pos =
            crate::layout::layout_progress(nodes.len(), &e, iterations, seed, None, progress)?;
        Ok((nodes, pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::connections::ConnectionBatch;
    use crate::storage::tokens::TokenBatch;

    fn chain(n: usize) -> (RuntimeStorage, Vec<u32>) {
        let rt = RuntimeStorage::new();
        let coords = vec![0.0f32; n * 24];
        let ids = rt
            .create_tokens(&TokenBatch {
                coords: &coords,
                default_weight: 0.5,
                ..Default::default()
            })
            .unwrap();
        rt.create_connections(&ConnectionBatch::associated(&ids[..n - 1], &ids[1..]))
            .unwrap();
        (rt, ids)
    }

    #[test]
    fn layout_of_all_tokens_and_of_a_subset_matches_the_engine() {
        let (rt, ids) = chain(5);
        let (nodes, pos) = rt.layout(None, 20, 7, None).unwrap();
        assert_eq!(nodes, ids);
        assert_eq!(pos.len(), 5);
        assert!(pos
            .iter()
            .flatten()
            .all(|v| v.is_finite() && v.abs() <= 1.0));
        // the subset [ids[3], ids[1], ids[2]]: edges 1->2 and 2->3 as local (1, 2), (2, 0)
        let sub = vec![ids[3], ids[1], ids[2]];
        let (nodes, pos) = rt.layout(Some(sub.clone()), 20, 7, None).unwrap();
        assert_eq!(nodes, sub);
        let strength = rt.connection_rows(0, None)[0].pull_strength.max(0.0);
        let want =
            crate::layout::layout(3, &[(1, 2, strength), (2, 0, strength)], 20, 7, None).unwrap();
        assert_eq!(pos, want);
    }

    #[test]
    fn layout_refuses_missing_and_repeated_ids() {
        let (rt, ids) = chain(3);
        let e = rt.layout(Some(vec![ids[0], 999]), 5, 0, None).unwrap_err();
        assert!(matches!(e, NgError::TokenNotFound(999)), "{e:?}");
        let e = rt
            .layout(Some(vec![ids[0], ids[1], ids[0]]), 5, 0, None)
            .unwrap_err();
        assert!(e.to_string().contains("appears more than once"), "{e}");
        let (nodes, pos) = rt.layout(Some(Vec::new()), 5, 0, None).unwrap();
        assert!(nodes.is_empty() && pos.is_empty());
    }
}
