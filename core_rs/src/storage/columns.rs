//! Reads of whole columns and pages of the store, as plain values: what the bindings turn
//! into numpy arrays, Arrow buffers, dicts and lists. Each takes the read lock once and never
//! hands it out.

use super::{RuntimeStorage, State, TokenView};
use crate::connection::Connection;
use crate::intuition::Experience;
use crate::metrics::Op;
use crate::space::{decode_f64, NUM_SPACES};
use rayon::prelude::*;

/// Every token field as a column, for rows `start..end` of the store.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TokenColumns {
    pub id: Vec<u32>,
    pub entity: Vec<u8>,
    pub weight: Vec<f32>,
    pub field_radius: Vec<f32>,
    pub field_strength: Vec<f32>,
    pub timestamp: Vec<u32>,
    pub flags: Vec<u16>,
    pub defined: Vec<u8>,
    /// (n, 8, 3) row-major, NaN where a space is not defined.
    pub coords: Vec<f32>,
    /// Labels as Arrow string buffers: offsets (n + 1), UTF-8 bytes, and which are set.
    pub label_offsets: Vec<i64>,
    pub label_data: Vec<u8>,
    pub label_valid: Vec<bool>,
}

impl TokenColumns {
    /// The label of row `i` (None where the token has none).
    pub fn label(&self, i: usize) -> Option<&str> {
        if !self.label_valid[i] {
            return None;
        }
        let (a, b) = (self.label_offsets[i], self.label_offsets[i + 1]);
        std::str::from_utf8(&self.label_data[a as usize..b as usize]).ok()
    }

    fn gather(st: &State, start: usize, end: usize) -> TokenColumns {
        let recs = &st.tokens.records[start..end];
        let defs = &st.tokens.defined[start..end];
        let mut coords = vec![0f32; recs.len() * 24];
        coords
            .par_chunks_mut(24 * 4096)
            .enumerate()
            .for_each(|(ci, chunk)| {
                for (j, row) in chunk.chunks_mut(24).enumerate() {
                    let i = ci * 4096 + j;
                    let (t, m) = (&recs[i], defs[i]);
                    for s in 0..NUM_SPACES {
                        let xyz = if m & (1 << s) != 0 {
                            t.space_coords(s)
                        } else {
                            [f32::NAN; 3]
                        };
                        row[s * 3..s * 3 + 3].copy_from_slice(&xyz);
                    }
                }
            });
        let mut label_offsets = Vec::with_capacity(recs.len() + 1);
        let mut label_data = Vec::new();
        let mut label_valid = vec![false; recs.len()];
        label_offsets.push(0i64);
        if st.tokens.labels.is_empty() {
            label_offsets.resize(recs.len() + 1, 0);
        } else {
            for (t, valid) in recs.iter().zip(label_valid.iter_mut()) {
                if let Some(l) = st.tokens.labels.get(&t.local_id()) {
                    label_data.extend_from_slice(l.as_bytes());
                    *valid = true;
                }
                label_offsets.push(label_data.len() as i64);
            }
        }
        TokenColumns {
            id: recs.iter().map(|t| t.local_id()).collect(),
            entity: recs.iter().map(|t| t.entity()).collect(),
            weight: recs.iter().map(|t| t.weight).collect(),
            field_radius: recs.iter().map(|t| t.field_radius_f()).collect(),
            field_strength: recs.iter().map(|t| t.field_strength_f()).collect(),
            timestamp: recs.iter().map(|t| t.timestamp).collect(),
            flags: recs.iter().map(|t| t.flags).collect(),
            defined: defs.to_vec(),
            coords,
            label_offsets,
            label_data,
            label_valid,
        }
    }
}

/// Rows `offset .. offset + limit` of a store of `len` rows, clipped (no limit: to the end).
fn window(len: usize, offset: usize, limit: Option<usize>) -> std::ops::Range<usize> {
    let start = offset.min(len);
    start..limit.map_or(len, |l| start.saturating_add(l).min(len))
}

impl RuntimeStorage {
    /// How many tokens the store holds.
    pub fn token_count(&self) -> usize {
        self.read().tokens.len()
    }

    /// Whether a token exists.
    pub fn has_token(&self, id: u32) -> bool {
        self.read().tokens.contains(id)
    }

    /// Ids of all tokens in store order.
    pub fn token_ids(&self) -> Vec<u32> {
        self.metrics.time(Op::TokenScan, || {
            self.read()
                .tokens
                .records
                .iter()
                .map(|t| t.local_id())
                .collect()
        })
    }

    /// Decoded coordinates of every token in one space, (n, 3) row-major, NaN where a token
    /// is not placed in it.
    pub fn token_coords(&self, space: usize) -> Vec<f32> {
        let _t = self.metrics.timer(Op::TokenScan);
        let st = self.read();
        let mut v = Vec::with_capacity(st.tokens.len() * 3);
        for (t, m) in st.tokens.records.iter().zip(&st.tokens.defined) {
            if m & (1 << space) != 0 {
                v.extend_from_slice(&t.space_coords(space));
            } else {
                v.extend_from_slice(&[f32::NAN; 3]);
            }
        }
        v
    }

    /// Every token field as columns for the rows `offset .. offset + limit` in store order
    /// (no limit: to the end).
    pub fn token_columns(&self, offset: usize, limit: Option<usize>) -> TokenColumns {
        let _t = self.metrics.timer(Op::TokenScan);
        let st = self.read();
        let rows = window(st.tokens.len(), offset, limit);
        TokenColumns::gather(&st, rows.start, rows.end)
    }

    /// The tokens in rows `offset .. offset + limit`, as values.
    pub fn token_rows(&self, offset: usize, limit: usize) -> Vec<TokenView> {
        let _t = self.metrics.timer(Op::TokenScan);
        let st = self.read();
        window(st.tokens.len(), offset, Some(limit))
            .map(|i| {
                let token = st.tokens.records[i];
                TokenView {
                    token,
                    defined: st.tokens.defined[i],
                    label: st
                        .tokens
                        .labels
                        .get(&token.local_id())
                        .map(|l| l.to_string()),
                }
            })
            .collect()
    }

    /// Ids of the tokens carrying exactly this label, ascending.
    pub fn find_label(&self, label: &str) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .read()
            .tokens
            .labels
            .iter()
            .filter(|(_, l)| l.as_str() == label)
            .map(|(id, _)| *id)
            .collect();
        v.sort_unstable();
        v
    }

    /// Labels of the given tokens (None where a token has no label or does not exist).
    pub fn labels_of(&self, ids: &[u32]) -> Vec<Option<String>> {
        let st = self.read();
        ids.iter()
            .map(|i| st.tokens.labels.get(i).map(|l| l.to_string()))
            .collect()
    }

    /// Coordinates of the given tokens in one space, (n, 3) row-major float64, NaN where a
    /// token is not placed in it or does not exist.
    pub fn coords_of(&self, ids: &[u32], space: usize) -> Vec<f64> {
        let st = self.read();
        let mut out = Vec::with_capacity(ids.len() * 3);
        for i in ids {
            match st.tokens.slot(*i) {
                Some(slot) if st.tokens.defined[slot] & (1 << space) != 0 => {
                    let raw = st.tokens.records[slot].coords[space];
                    out.extend(raw.iter().map(|r| decode_f64(space, *r)));
                }
                _ => out.extend([f64::NAN; 3]),
            }
        }
        out
    }

    /// How many connections the store holds.
    pub fn connection_count(&self) -> usize {
        self.read().connections.len()
    }

    /// The connections in rows `offset .. offset + limit` (no limit: to the end).
    pub fn connection_rows(&self, offset: usize, limit: Option<usize>) -> Vec<Connection> {
        let _t = self.metrics.timer(Op::ConnectionScan);
        let st = self.read();
        st.connections.records[window(st.connections.len(), offset, limit)].to_vec()
    }

    /// (token version, connection version, CDNA revision): changes whenever the tokens, the
    /// connections or the CDNA change.
    pub fn data_version(&self) -> (u64, u64, u64) {
        let st = self.read();
        (
            st.tokens.version,
            st.connections.version,
            st.cdna.revision as u64,
        )
    }

    /// The CDNA's default strength of a new connection.
    pub fn default_pull_strength(&self) -> f32 {
        self.read().cdna.default_pull_strength
    }

    /// The experiences the intuition engine has recorded, oldest first.
    pub fn experiences(&self) -> Vec<Experience> {
        self.read().intuition.experiences.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::tokens::{TokenBatch, TokenUpdate};

    /// Three tokens: the second with a label and only physical and cognitive placed.
    fn store() -> (RuntimeStorage, Vec<u32>) {
        let rt = RuntimeStorage::new();
        let mut coords = vec![0.25f32; 3 * 24];
        for s in 0..NUM_SPACES {
            if s != 0 && s != crate::space::COGNITIVE {
                coords[24 + s * 3..24 + s * 3 + 3].fill(f32::NAN);
            }
        }
        let ids = rt
            .create_tokens(&TokenBatch {
                coords: &coords,
                undefined_nan: true,
                default_weight: 0.5,
                labels: Some(vec![None, Some("née".into()), None]),
                ..Default::default()
            })
            .unwrap();
        (rt, ids)
    }

    #[test]
    fn token_columns_match_the_records() {
        let (rt, ids) = store();
        let c = rt.token_columns(0, None);
        assert_eq!(c.id, ids);
        assert_eq!(c.weight, vec![0.5; 3]);
        assert_eq!(c.coords.len(), 3 * 24);
        assert_eq!(&c.coords[24..27], &[0.25; 3], "physical of row 1");
        assert!(c.coords[27].is_nan(), "sensory of row 1 is not placed");
        assert_eq!(c.defined[1], 1 | 1 << crate::space::COGNITIVE);
        assert_eq!(c.label_offsets, vec![0, 0, 4, 4]);
        assert_eq!(c.label_valid, vec![false, true, false]);
        assert_eq!((c.label(0), c.label(1)), (None, Some("née")));
        // a window, clipped at the end
        let w = rt.token_columns(1, Some(10));
        assert_eq!(w.id, ids[1..]);
        assert_eq!(w.label(0), Some("née"));
        assert!(rt.token_columns(5, Some(2)).id.is_empty());
        assert_eq!(rt.token_columns(0, Some(0)).label_offsets, vec![0]);
    }

    #[test]
    fn scans_by_id_label_and_space() {
        let (rt, ids) = store();
        assert_eq!(rt.token_ids(), ids);
        assert_eq!(rt.token_count(), 3);
        assert!(rt.has_token(ids[0]) && !rt.has_token(99));
        assert_eq!(rt.find_label("née"), vec![ids[1]]);
        assert!(rt.find_label("nee").is_empty());
        rt.update_token(
            ids[2],
            TokenUpdate {
                label: Some(Some("née".into())),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(rt.find_label("née"), vec![ids[1], ids[2]], "ascending");
        assert_eq!(
            rt.labels_of(&[ids[1], 99, ids[0]]),
            vec![Some("née".to_string()), None, None]
        );
        let xyz = rt.coords_of(&[ids[1], 99], crate::space::COGNITIVE);
        assert_eq!(&xyz[..3], &[0.25; 3]);
        assert!(xyz[3..].iter().all(|v| v.is_nan()), "a missing token");
        assert!(rt.coords_of(&[ids[1]], 1).iter().all(|v| v.is_nan()));
        let flat = rt.token_coords(1);
        assert_eq!(flat.len(), 9);
        assert_eq!(&flat[..3], &[0.25; 3]);
        assert!(flat[3..6].iter().all(|v| v.is_nan()));
        let rows = rt.token_rows(1, 1);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].token.local_id(), ids[1]);
        assert_eq!(rows[0].label.as_deref(), Some("née"));
        assert!(rt.token_rows(3, 10).is_empty());
    }

    #[test]
    fn connection_pages_and_versions() {
        let (rt, ids) = store();
        let v0 = rt.data_version();
        let a = [ids[0], ids[1]];
        let b = [ids[1], ids[2]];
        let cids = rt
            .create_connections(&crate::storage::connections::ConnectionBatch::associated(
                &a, &b,
            ))
            .unwrap();
        let v1 = rt.data_version();
        assert_eq!(v0.0, v1.0, "the tokens did not change");
        assert_ne!(v0.1, v1.1, "the connections did");
        assert_eq!(rt.connection_count(), 2);
        let all: Vec<u32> = rt.connection_rows(0, None).iter().map(|c| c.id).collect();
        assert_eq!(all, cids);
        assert_eq!(rt.connection_rows(1, Some(5))[0].id, cids[1]);
        assert!(rt.connection_rows(9, Some(1)).is_empty());
        assert_eq!(rt.default_pull_strength(), rt.cdna().default_pull_strength);
        rt.coactivate(&ids).unwrap();
        assert_eq!(rt.experiences().last().unwrap().tokens, ids);
    }
}
