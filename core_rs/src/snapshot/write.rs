//! The bytes of each snapshot section, one function per section (`read.rs` mirrors them).
//! TOKN, DEFS and CONN are the store's records as they are in memory.

use crate::bytes::Writer;
use crate::cdna::CDNA_SIZE;
use crate::storage::vocabulary::BootState;
use crate::storage::State;

/// META: token and connection counts, the two id cursors, the Guardian's totals and the time
/// of the save.
pub(super) fn meta(state: &State) -> Vec<u8> {
    let mut w = Writer::with_capacity(56);
    w.u64(state.tokens.len() as u64);
    w.u64(state.connections.len() as u64);
    w.u32(state.tokens.next_id);
    w.u32(state.connections.next_id);
    w.u64(state.guardian.total_events);
    w.u64(state.guardian.total_rejections);
    w.f64(crate::clock::now_f64());
    w.into_inner()
}

/// LABL: the count, then (token id, label) in id order.
pub(super) fn labels(state: &State) -> Vec<u8> {
    let mut w = Writer::default();
    let mut ids: Vec<&u32> = state.tokens.labels.keys().collect();
    ids.sort_unstable();
    w.u32(ids.len() as u32);
    for id in ids {
        w.u32(*id);
        w.str(&state.tokens.labels[id]);
    }
    w.into_inner()
}

/// CDNA: the current record, then the history (time, reason, record), oldest first.
pub(super) fn cdna(state: &State) -> Vec<u8> {
    let mut w = Writer::with_capacity(CDNA_SIZE * (1 + state.history.len()) + 16);
    w.bytes(&state.cdna.to_bytes());
    w.u32(state.history.len() as u32);
    for v in &state.history {
        w.f64(v.changed_at);
        w.str(&v.reason);
        w.bytes(&v.cdna.to_bytes());
    }
    w.into_inner()
}

/// EVNT: the events kept in memory (time, accepted, kind, target, reason), oldest first.
pub(super) fn events(state: &State) -> Vec<u8> {
    let events = state.guardian.events(None);
    let mut w = Writer::with_capacity(events.len() * 64 + 4);
    w.u32(events.len() as u32);
    for e in &events {
        w.f64(e.time);
        w.u8(e.accepted as u8);
        w.str(&e.kind);
        w.str(&e.target);
        w.str(&e.reason);
    }
    w.into_inner()
}

/// BOOT: seed, dimension, word and space counts, the spaces, the vocabulary, token ids,
/// embeddings and PCA (live words only: a word whose token was deleted is not written).
pub(super) fn boot(b: &BootState) -> Vec<u8> {
    if b.dead > 0 {
        return boot(&b.compacted());
    }
    let n = b.words.len();
    let mut w = Writer::with_capacity(n * (b.dim * 4 + 16) + 64);
    for v in [b.seed, b.dim as u32, n as u32, b.spaces.len() as u32] {
        w.u32(v);
    }
    for (s, f) in &b.spaces {
        w.u32(*s as u32);
        w.u32(*f as u32);
    }
    for word in &b.words {
        w.str(word);
    }
    w.bytes(bytemuck::cast_slice(&b.ids));
    w.bytes(bytemuck::cast_slice(&b.vectors));
    let pca = b.pca.to_bytes();
    w.u64(pca.len() as u64);
    w.bytes(&pca);
    w.into_inner()
}
