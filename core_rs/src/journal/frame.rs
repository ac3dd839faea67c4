//! The journal's frames: `[u32 payload length][u32 CRC-32 of seq + payload][u64 seq][payload]`,
//! little endian. A payload is one committed change: a kind byte, the two id cursors after
//! the write, then the records the change left (token and connection records are the 64-byte
//! in-memory records a snapshot holds; the CDNA is the snapshot's CDNA section).

use crate::bytes::{Reader, Writer};
use crate::storage::events::Change;
use crate::storage::replay::{Cursors, Journaled, TokenRecord};
use crate::storage::State;

/// Bytes before a frame's payload.
pub const HEAD: usize = 16;
/// Largest payload a reader accepts (a batch write is bounded well below this).
pub const MAX_PAYLOAD: usize = 1 << 30;

const TOKENS_PUT: u8 = 1;
const TOKENS_DELETED: u8 = 2;
const CONNECTIONS_PUT: u8 = 3;
const CONNECTIONS_DELETED: u8 = 4;
const CDNA: u8 = 5;

/// The payload recording `change` made to `state`, or `None` when the change needs no frame
/// (a refusal) or cannot be recorded as one (a reset: the journal compacts instead).
pub fn payload(change: &Change<'_>, state: &State) -> Option<Vec<u8>> {
    let head = |kind: u8, cap: usize| {
        let mut w = Writer::with_capacity(cap + 16);
        w.u8(kind);
        w.u32(state.tokens.next_id);
        w.u32(state.connections.next_id);
        w
    };
    let tokens = |ids: &mut dyn Iterator<Item = u32>, n: usize| {
        let mut w = head(TOKENS_PUT, n * 72);
        let found: Vec<(u32, usize)> = ids
            .filter_map(|id| state.tokens.slot(id).map(|s| (id, s)))
            .collect();
        w.u32(found.len() as u32);
        for (id, slot) in found {
            w.bytes(bytemuck::bytes_of(&state.tokens.records[slot]));
            w.u8(state.tokens.defined[slot]);
            match state.tokens.labels.get(&id) {
                Some(l) => {
                    w.u8(1);
                    w.str(l);
                }
                None => w.u8(0),
            }
        }
        w
    };
    let ids = |kind: u8, ids: &[u32]| {
        let mut w = head(kind, ids.len() * 4);
        w.u32(ids.len() as u32);
        w.bytes(bytemuck::cast_slice(ids));
        w
    };
    let w = match *change {
        Change::TokensCreated(list) => tokens(&mut list.iter().copied(), list.len()),
        Change::TokenUpdated(id) => tokens(&mut std::iter::once(id), 1),
        Change::TokensDeleted { ids: list, .. } => ids(TOKENS_DELETED, list),
        Change::ConnectionsCreated(list) | Change::ConnectionsLearned(list) => {
            let mut w = head(CONNECTIONS_PUT, list.len() * 64);
            let slots: Vec<usize> = list
                .iter()
                .filter_map(|id| state.connections.slot(*id))
                .collect();
            w.u32(slots.len() as u32);
            for s in slots {
                w.bytes(bytemuck::bytes_of(&state.connections.records[s]));
            }
            w
        }
        Change::ConnectionsDeleted(list) => ids(CONNECTIONS_DELETED, list),
        Change::CdnaChanged => {
            let mut w = head(CDNA, 0);
            w.bytes(&crate::snapshot::cdna_bytes(state));
            w
        }
        Change::Reset { .. } | Change::Refused { .. } => return None,
    };
    Some(w.into_inner())
}

/// A whole frame around `payload`.
pub fn frame(seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEAD + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&checksum(seq, payload).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The CRC-32 a frame carries: over its sequence number, then its payload.
pub fn checksum(seq: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Decode a payload written by [`payload`].
pub fn decode(buf: &[u8]) -> std::result::Result<(Journaled, Cursors), String> {
    let mut r = Reader::new(buf, "frame");
    let kind = r.u8()?;
    let cursors = Cursors {
        tokens: r.u32()?,
        connections: r.u32()?,
    };
    let count = |r: &mut Reader<'_>, each: usize| -> std::result::Result<usize, String> {
        let n = r.u32()? as usize;
        // every item takes at least `each` bytes: the frame's size bounds the count
        if n.saturating_mul(each) > buf.len() {
            return Err(format!("frame claims {n} items, more than it holds"));
        }
        Ok(n)
    };
    let change = match kind {
        TOKENS_PUT => {
            let n = count(&mut r, 66)?;
            let mut list = Vec::with_capacity(n);
            for _ in 0..n {
                let token = bytemuck::pod_read_unaligned(r.take(64)?);
                let defined = r.u8()?;
                let label = match r.u8()? {
                    0 => None,
                    1 => Some(r.string()?),
                    x => return Err(format!("frame has label marker {x}")),
                };
                list.push(TokenRecord {
                    token,
                    defined,
                    label,
                });
            }
            Journaled::TokensPut(list)
        }
        TOKENS_DELETED | CONNECTIONS_DELETED => {
            let n = count(&mut r, 4)?;
            let ids: Vec<u32> = bytemuck::pod_collect_to_vec(r.take(n * 4)?);
            if kind == TOKENS_DELETED {
                Journaled::TokensDeleted(ids)
            } else {
                Journaled::ConnectionsDeleted(ids)
            }
        }
        CONNECTIONS_PUT => {
            let n = count(&mut r, 64)?;
            Journaled::ConnectionsPut(bytemuck::pod_collect_to_vec(r.take(n * 64)?))
        }
        CDNA => {
            let rest = r.take(buf.len() - 9)?;
            let (cdna, history) = crate::snapshot::parse_cdna(rest)?;
            Journaled::Cdna {
                cdna: Box::new(cdna),
                history,
            }
        }
        k => return Err(format!("frame has unknown kind {k}")),
    };
    r.done()?;
    Ok((change, cursors))
}
