//! Communities of the stored graph ([`crate::community`]) and the last result, kept as a
//! side table keyed by token id. The table is not part of the state: snapshots and the
//! journal do not hold it, and loading a snapshot or clearing the store forgets it.

use super::RuntimeStorage;
use crate::community::{self, Method};
use crate::error::Result;
use crate::progress::Progress;
use std::sync::Arc;

/// The last community detection: token ids (ascending) and their community.
#[derive(Clone, Debug)]
pub struct Communities {
    pub ids: Vec<u32>,
    pub community: Vec<i32>,
    pub count: usize,
    pub modularity: f64,
    pub method: Method,
    pub resolution: f64,
    pub seed: u64,
    pub weighted: bool,
}

impl Communities {
    /// Community of each id, -1 for ids the detection did not see.
    pub fn of(&self, ids: &[u32]) -> Vec<i32> {
        ids.iter()
            .map(|id| match self.ids.binary_search(id) {
                Ok(i) => self.community[i],
                Err(_) => -1,
            })
            .collect()
    }
}

pub(super) type Last = parking_lot::Mutex<Option<Arc<Communities>>>;

impl RuntimeStorage {
    /// Communities of all tokens over the connections (undirected: directed connections
    /// symmetrised, parallel ones summed; weight = strength, negative strengths 0, or 1 per
    /// connection when `weighted` is false), by `method` with `resolution` and `seed`.
    /// Tokens without connections are communities of their own. The result is kept as the
    /// store's last communities (replacing the previous one) and returned. `progress` counts
    /// node visits per level; a cancel before the end changes nothing.
    pub fn communities(
        &self,
        method: Method,
        resolution: f64,
        seed: u64,
        weighted: bool,
        progress: Option<&Progress>,
    ) -> Result<Arc<Communities>> {
        community::check_resolution(resolution)?;
        let (ids, edges) = {
            let st = self.read();
            let mut ids: Vec<u32> = st.tokens.records.iter().map(|t| t.local_id()).collect();
            ids.sort_unstable();
            let max = ids.last().copied().unwrap_or(0) as usize;
            let mut index = vec![u32::MAX; max + 1];
            for (i, &id) in ids.iter().enumerate() {
                index[id as usize] = i as u32;
            }
            let edges: Vec<(u32, u32, f64)> = st
                .connections
                .records
                .iter()
                .filter_map(|c| {
                    let a = *index.get(c.token_a as usize)?;
                    let b = *index.get(c.token_b as usize)?;
                    if a == u32::MAX || b == u32::MAX {
                        return None;
                    }
                    let w = if weighted {
                        c.pull_strength.max(0.0) as f64
                    } else {
                        1.0
                    };
                    Some((a, b, w))
                })
                .collect();
            (ids, edges)
        };
        let p = community::detect(ids.len(), &edges, method, resolution, seed, progress)?;
        drop(edges);
        crate::progress::commit(progress)?;
        let out = Arc::new(Communities {
            ids,
            community: p.membership.iter().map(|&c| c as i32).collect(),
            count: p.count,
            modularity: p.modularity,
            method,
            resolution,
            seed,
            weighted,
        });
        *self.communities.lock() = Some(out.clone());
        Ok(out)
    }

    /// The last communities computed on this store, if any (see [`Self::communities`]).
    pub fn last_communities(&self) -> Option<Arc<Communities>> {
        self.communities.lock().clone()
    }

    /// The last community of each id; -1 where unknown (no detection yet, or a token it did
    /// not see).
    pub fn community_of(&self, ids: &[u32]) -> Vec<i32> {
        match self.last_communities() {
            Some(c) => c.of(ids),
            None => vec![-1; ids.len()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::connections::ConnectionBatch;
    use crate::storage::tokens::TokenBatch;

    #[test]
    fn communities_of_the_store_are_kept_and_forgotten_on_clear() {
        let rt = RuntimeStorage::new();
        let coords = vec![0.0f32; 9 * 24];
        let ids = rt
            .create_tokens(&TokenBatch {
                coords: &coords,
                default_weight: 0.5,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(rt.community_of(&ids[..2]), vec![-1, -1]);
        // two triangles joined by one connection, and three tokens alone
        let a = [ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[2]];
        let b = [ids[1], ids[2], ids[0], ids[4], ids[5], ids[3], ids[3]];
        rt.create_connections(&ConnectionBatch::associated(&a, &b))
            .unwrap();
        for weighted in [true, false] {
            let c = rt
                .communities(Method::Leiden, 1.0, 0, weighted, None)
                .unwrap();
            assert_eq!(c.ids, ids);
            assert_eq!(c.count, 5);
            assert_eq!(c.community, vec![0, 0, 0, 1, 1, 1, 2, 3, 4]);
            assert!((c.modularity - (2.0 * (3.0 / 7.0 - 0.25))).abs() < 1e-6);
        }
        assert_eq!(rt.community_of(&[ids[4], 999_999, ids[0]]), vec![1, -1, 0]);
        let e = rt.communities(Method::Louvain, 0.0, 0, true, None);
        assert!(e.is_err());
        assert_eq!(rt.last_communities().unwrap().method, Method::Leiden);
        rt.clear();
        assert!(rt.last_communities().is_none());
    }
}
