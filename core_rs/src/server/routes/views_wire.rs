//! The explorers' protocol (`extension/PROTOCOL.md`) over HTTP: a response carries one or
//! more widget messages, each its JSON `content` and its binary buffers, byte for byte what
//! the notebook's anywidget model sends. Also the labels ranking both views share.
//!
//! Body layout (`application/x-ng-msgs`): the magic `NGM1`, a little-endian u32 `H`, `H`
//! bytes of JSON `[{"content": {...}, "buffers": [len, ...]}, ...]`, zero padding to a
//! multiple of 8, then every buffer in order, each followed by zero padding to a multiple of
//! 8 (so a Float32Array/Uint32Array over it needs no copy).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Content type of a message body.
pub const CONTENT_TYPE: &str = "application/x-ng-msgs";
/// At most this many bytes of buffers in one message (as the widgets).
pub const MAX_MESSAGE: usize = 4 << 20;
/// Labels in the global set.
pub const MAX_LABELS: usize = 20_000;
/// Labels in the answer to a viewport request.
pub const VIEW_LABELS: usize = 2_000;

/// Messages of one response.
#[derive(Default)]
pub struct Msgs {
    items: Vec<(Value, Vec<Vec<u8>>)>,
}

fn pad8(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(8) {
        v.push(0);
    }
}

impl Msgs {
    /// Add one message.
    pub fn push(&mut self, content: Value, buffers: Vec<Vec<u8>>) {
        self.items.push((content, buffers));
    }

    /// The encoded body.
    pub fn encode(&self) -> Vec<u8> {
        let head: Vec<Value> = self
            .items
            .iter()
            .map(|(c, b)| json!({"content": c, "buffers": b.iter().map(Vec::len).collect::<Vec<_>>()}))
            .collect();
        let head = serde_json::to_vec(&head).unwrap_or_default();
        let total: usize = self
            .items
            .iter()
            .flat_map(|(_, b)| b)
            .map(|b| b.len() + 8)
            .sum();
        let mut out = Vec::with_capacity(16 + head.len() + total);
        out.extend_from_slice(b"NGM1");
        out.extend_from_slice(&(head.len() as u32).to_le_bytes());
        out.extend_from_slice(&head);
        pad8(&mut out);
        for (_, bufs) in &self.items {
            for b in bufs {
                out.extend_from_slice(b);
                pad8(&mut out);
            }
        }
        out
    }
}

impl IntoResponse for Msgs {
    fn into_response(self) -> Response {
        (
            [
                (header::CONTENT_TYPE, CONTENT_TYPE),
                (header::CACHE_CONTROL, "no-store"),
            ],
            self.encode(),
        )
            .into_response()
    }
}

/// Little-endian bytes of u32 values (a Uint32Array's buffer).
pub fn u32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Little-endian bytes of f32 values (a Float32Array's buffer).
pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A 64-bit mix of a token id (splitmix64): the tie-break of equal priorities.
pub fn id_hash(id: u32) -> u64 {
    let mut z = (id as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The labelled points of a view in priority order: `order[k]` is the point index of the
/// k-th most important labelled point, `rank[point]` its place (u32::MAX: no label).
pub struct Labels {
    order: Vec<u32>,
    rank: Vec<u32>,
    texts: Vec<String>,
}

impl Labels {
    /// From each point's token id, label (None or empty: never drawn) and priority key
    /// (higher first; ties broken by a hash of the id).
    pub fn new(ids: &[u32], labels: Vec<Option<String>>, key: &[f64]) -> Labels {
        let n = ids.len();
        let mut order: Vec<u32> = (0..n as u32)
            .filter(|&i| labels[i as usize].as_deref().is_some_and(|l| !l.is_empty()))
            .collect();
        order.sort_by(|&a, &b| {
            let (ka, kb) = (key[a as usize], key[b as usize]);
            kb.partial_cmp(&ka)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(id_hash(ids[a as usize]).cmp(&id_hash(ids[b as usize])))
        });
        let mut rank = vec![u32::MAX; n];
        for (k, &i) in order.iter().enumerate() {
            rank[i as usize] = k as u32;
        }
        let texts = labels.into_iter().map(Option::unwrap_or_default).collect();
        Labels { order, rank, texts }
    }

    /// The `labels` message for `points` (labelled, in priority order), cut to fit
    /// [`MAX_MESSAGE`].
    pub fn message(
        &self,
        points: &[u32],
        version: u64,
        scope: &str,
        request: Option<u64>,
    ) -> (Value, Vec<Vec<u8>>) {
        let mut idx = Vec::new();
        let mut ranks = Vec::new();
        let mut offs = vec![0u32];
        let mut data = Vec::new();
        let mut bytes = 4usize;
        for &p in points {
            let t = self.texts[p as usize].as_bytes();
            bytes += t.len() + 12;
            if bytes > MAX_MESSAGE - 64 {
                break;
            }
            idx.push(p);
            ranks.push(self.rank[p as usize]);
            data.extend_from_slice(t);
            offs.push(data.len() as u32);
        }
        let mut c =
            json!({"type": "labels", "version": version, "scope": scope, "count": idx.len()});
        if let Some(r) = request {
            c["request"] = json!(r);
        }
        (
            c,
            vec![u32_bytes(&idx), u32_bytes(&ranks), u32_bytes(&offs), data],
        )
    }

    /// The global set: the [`MAX_LABELS`] best.
    pub fn top(&self, version: u64) -> (Value, Vec<Vec<u8>>) {
        let n = self.order.len().min(MAX_LABELS);
        self.message(&self.order[..n], version, "global", None)
    }

    /// The answer to a viewport request: the [`VIEW_LABELS`] best labelled points for
    /// which `inside(point)` holds.
    pub fn best_of(
        &self,
        inside: impl Fn(usize) -> bool,
        version: u64,
        request: Option<u64>,
    ) -> (Value, Vec<Vec<u8>>) {
        let hits: Vec<u32> = self
            .order
            .iter()
            .copied()
            .filter(|&p| inside(p as usize))
            .take(VIEW_LABELS)
            .collect();
        self.message(&hits, version, "view", request)
    }

    /// The label of a point ("" when it has none).
    pub fn text(&self, i: usize) -> &str {
        self.texts.get(i).map_or("", String::as_str)
    }
}

/// Up to `k` neighbours of token `id` along its connections (either direction), strongest
/// first (a neighbour linked twice counts once, by its strongest), as hover-card entries.
pub fn top_neighbours(store: &crate::storage::RuntimeStorage, id: u32, k: usize) -> Vec<Value> {
    let Ok(conns) = store.connections_for_token(id) else {
        return Vec::new();
    };
    let mut best: std::collections::HashMap<u32, f32> = std::collections::HashMap::new();
    for c in conns {
        let other = if c.token_a == id {
            c.token_b
        } else {
            c.token_a
        };
        if other == id {
            continue;
        }
        let s = c.pull_strength;
        best.entry(other).and_modify(|v| *v = v.max(s)).or_insert(s);
    }
    let mut v: Vec<(u32, f32)> = best.into_iter().collect();
    v.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.0.cmp(&b.0))
    });
    v.truncate(k);
    let ids: Vec<u32> = v.iter().map(|x| x.0).collect();
    let labels = store.labels_of(&ids);
    v.iter()
        .zip(labels)
        .map(|((i, s), l)| {
            json!({"id": i, "label": l.unwrap_or_default(),
                   "strength": ((*s as f64) * 1e4).round() / 1e4})
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(b: &[u8]) -> (Value, Vec<Vec<u8>>) {
        assert_eq!(&b[..4], b"NGM1");
        let h = u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize;
        let head: Value = serde_json::from_slice(&b[8..8 + h]).unwrap();
        let mut at = (8 + h).div_ceil(8) * 8;
        let mut bufs = Vec::new();
        for m in head.as_array().unwrap() {
            for l in m["buffers"].as_array().unwrap() {
                let l = l.as_u64().unwrap() as usize;
                bufs.push(b[at..at + l].to_vec());
                at = (at + l).div_ceil(8) * 8;
            }
        }
        assert_eq!(at, b.len());
        (head, bufs)
    }

    #[test]
    fn envelope_round_trips_and_aligns_buffers() {
        let mut m = Msgs::default();
        m.push(json!({"type": "a"}), vec![vec![1, 2, 3], vec![]]);
        m.push(json!({"type": "b"}), vec![u32_bytes(&[7, 8])]);
        let b = m.encode();
        let (head, bufs) = decode(&b);
        assert_eq!(head[0]["content"]["type"], "a");
        assert_eq!(head[1]["buffers"][0], 8);
        assert_eq!(
            bufs,
            vec![vec![1, 2, 3], vec![], vec![7, 0, 0, 0, 8, 0, 0, 0]]
        );
    }

    #[test]
    fn labels_rank_by_key_then_hash_and_skip_unlabelled() {
        let ids = [10, 11, 12, 13];
        let labels = vec![
            Some("a".into()),
            None,
            Some("ccc".into()),
            Some(String::new()),
        ];
        let l = Labels::new(&ids, labels, &[1.0, 9.0, 5.0, 9.0]);
        let (c, b) = l.top(3);
        assert_eq!(c["count"], 2);
        assert_eq!(c["scope"], "global");
        assert_eq!(b[0], u32_bytes(&[2, 0]));
        assert_eq!(b[1], u32_bytes(&[0, 1]));
        assert_eq!(b[2], u32_bytes(&[0, 3, 4]));
        assert_eq!(b[3], b"ccca".to_vec());
        let (c, b) = l.best_of(|p| p == 0, 3, Some(7));
        assert_eq!(
            (c["count"].as_u64(), c["request"].as_u64()),
            (Some(1), Some(7))
        );
        assert_eq!(b[1], u32_bytes(&[1]));
    }
}
