//! Applying journaled changes to a [`State`]: the records a committed write produced are put
//! back exactly (inserted, replaced or deleted by id, in the order the write made them), with
//! no Guardian check (they were accepted when they were made) and the indexes kept in step.
//!
//! The write journal (`crate::journal`) decodes its frames into [`Journaled`] values and
//! replays them over a snapshot with [`State::apply_journaled`]. Replaying the changes of a run
//! in order, over the snapshot they followed, rebuilds the state that run held: the same
//! records in the same slots, the same labels, id cursors, CDNA and history.

use super::connections::{self, MAX_CONNECTION_ID};
use super::tokens;
use super::State;
use crate::cdna::{Cdna, CdnaVersion};
use crate::connection::Connection;
use crate::token::{Token, ENTITY_TYPES, MAX_LOCAL_ID};

/// One token as a write left it: its record, its defined-space mask and its label.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenRecord {
    pub token: Token,
    pub defined: u8,
    pub label: Option<String>,
}

/// One committed change in the form the journal keeps it.
#[derive(Clone, Debug)]
pub enum Journaled {
    /// Tokens created or updated: each is inserted (new id) or replaced (known id), and its
    /// label set or removed.
    TokensPut(Vec<TokenRecord>),
    /// Tokens deleted (sorted), with every connection touching them.
    TokensDeleted(Vec<u32>),
    /// Connections created or changed by learning: inserted or replaced by id.
    ConnectionsPut(Vec<Connection>),
    /// Connections deleted (sorted).
    ConnectionsDeleted(Vec<u32>),
    /// The CDNA and its history after a change.
    Cdna {
        cdna: Box<Cdna>,
        history: Vec<CdnaVersion>,
    },
}

/// The id allocation cursors of both stores right after a write; replay restores them so the
/// ids handed out after a restart are the ids the live run would have handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursors {
    pub tokens: u32,
    pub connections: u32,
}

impl State {
    /// The id cursors now.
    pub fn cursors(&self) -> Cursors {
        Cursors {
            tokens: self.tokens.next_id,
            connections: self.connections.next_id,
        }
    }

    /// Apply one journaled change, then set the id cursors. A change that does not fit the
    /// state (a deleted id that is not there, a connection to a missing token, a record no
    /// write could have made) is an error naming it, and the state may be partly changed:
    /// replay starts over from the snapshot rather than go on.
    pub fn apply_journaled(
        &mut self,
        change: Journaled,
        cursors: Cursors,
    ) -> std::result::Result<(), String> {
        match change {
            Journaled::TokensPut(list) => self.put_tokens(list)?,
            Journaled::TokensDeleted(ids) => {
                if let Some(id) = ids.iter().find(|id| !self.tokens.contains(**id)) {
                    return Err(format!("deletes token {id}, which is not in the store"));
                }
                self.connections.remove_touching(&ids);
                self.tokens.remove(&ids);
                self.forget_tokens(&ids);
            }
            Journaled::ConnectionsPut(list) => self.put_connections(list)?,
            Journaled::ConnectionsDeleted(ids) => {
                if let Some(id) = ids.iter().find(|id| self.connections.slot(**id).is_none()) {
                    return Err(format!(
                        "deletes connection {id}, which is not in the store"
                    ));
                }
                self.connections.remove(&ids);
                self.intuition.forget_connections(&ids);
            }
            Journaled::Cdna { cdna, history } => {
                self.cdna = *cdna;
                self.history = history;
            }
        }
        if cursors.tokens == 0 || cursors.tokens > MAX_LOCAL_ID + 1 {
            return Err(format!("gives {} as the next token id", cursors.tokens));
        }
        self.tokens.next_id = cursors.tokens;
        self.connections.next_id =
            if cursors.connections == 0 || cursors.connections > MAX_CONNECTION_ID {
                1
            } else {
                cursors.connections
            };
        Ok(())
    }

    fn put_tokens(&mut self, list: Vec<TokenRecord>) -> std::result::Result<(), String> {
        let types = ENTITY_TYPES.len() as u8;
        let mut fresh = tokens::Prepared {
            records: Vec::new(),
            masks: Vec::new(),
            labels: Vec::new(),
            next_id: self.tokens.next_id,
        };
        let mut seen = std::collections::HashSet::new();
        for r in list {
            let id = r.token.local_id();
            if id == 0 || id > MAX_LOCAL_ID {
                return Err(format!("holds token id {id}, outside 1..={MAX_LOCAL_ID}"));
            }
            if r.token.entity() >= types || !r.token.weight.is_finite() {
                return Err(format!(
                    "holds token {id} with an impossible entity or weight"
                ));
            }
            if !seen.insert(id) {
                return Err(format!("holds token {id} twice"));
            }
            match self.tokens.slot(id) {
                Some(slot) => {
                    self.tokens.records[slot] = r.token;
                    self.tokens.defined[slot] = r.defined;
                    self.tokens.touch();
                    match r.label {
                        Some(l) => self.tokens.labels.insert(id, l.into()),
                        None => self.tokens.labels.remove(&id),
                    };
                }
                None => {
                    fresh.records.push(r.token);
                    fresh.masks.push(r.defined);
                    fresh.labels.push(r.label);
                }
            }
        }
        if !fresh.records.is_empty() {
            self.tokens.commit(fresh);
        }
        Ok(())
    }

    fn put_connections(&mut self, list: Vec<Connection>) -> std::result::Result<(), String> {
        let kinds = crate::connection::KINDS.len();
        let mut fresh = connections::Prepared {
            records: Vec::new(),
            next_id: self.connections.next_id,
        };
        let mut moved = false;
        let mut seen = std::collections::HashSet::new();
        for c in list {
            if c.id == 0 || c.id > MAX_CONNECTION_ID || c.kind as usize >= kinds {
                return Err(format!(
                    "holds connection {} of kind {}: not a connection a write makes",
                    c.id, c.kind
                ));
            }
            if !self.tokens.contains(c.token_a) || !self.tokens.contains(c.token_b) {
                return Err(format!(
                    "holds connection {} between tokens {} -> {}, which are not both in the store",
                    c.id, c.token_a, c.token_b
                ));
            }
            if !seen.insert(c.id) {
                return Err(format!("holds connection {} twice", c.id));
            }
            match self.connections.slot(c.id) {
                Some(slot) => {
                    let old = &mut self.connections.records[slot];
                    moved |= old.token_a != c.token_a || old.token_b != c.token_b;
                    *old = c;
                }
                None => fresh.records.push(c),
            }
        }
        self.connections.touch();
        if moved {
            self.connections.rebuild_index();
        }
        if !fresh.records.is_empty() {
            self.connections.commit(fresh);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::tokens::TokenBatch;
    use crate::storage::RuntimeStorage;

    fn record(st: &State, id: u32) -> TokenRecord {
        let slot = st.tokens.slot(id).unwrap();
        TokenRecord {
            token: st.tokens.records[slot],
            defined: st.tokens.defined[slot],
            label: st.tokens.labels.get(&id).map(|l| l.to_string()),
        }
    }

    #[test]
    fn puts_and_deletes_rebuild_the_same_slots_labels_and_cursors() {
        let live = RuntimeStorage::new();
        let coords = vec![0.25f32; 3 * 24];
        let ids = live
            .create_tokens(&TokenBatch {
                coords: &coords,
                labels: Some(vec![Some("a".into()), None, Some("c".into())]),
                default_weight: 0.5,
                ..Default::default()
            })
            .unwrap();
        let mut copy = State::default();
        {
            let st = live.read();
            let list = ids.iter().map(|i| record(&st, *i)).collect();
            copy.apply_journaled(Journaled::TokensPut(list), st.cursors())
                .unwrap();
        }
        live.delete_tokens(&[ids[0]]).unwrap();
        copy.apply_journaled(
            Journaled::TokensDeleted(vec![ids[0]]),
            live.read().cursors(),
        )
        .unwrap();
        let st = live.read();
        assert_eq!(copy.tokens.records, st.tokens.records);
        assert_eq!(copy.tokens.defined, st.tokens.defined);
        assert_eq!(copy.tokens.labels, st.tokens.labels);
        assert_eq!(copy.cursors(), st.cursors());
        let e = copy
            .apply_journaled(Journaled::TokensDeleted(vec![ids[0]]), st.cursors())
            .unwrap_err();
        assert!(e.contains("not in the store"), "{e}");
    }

    #[test]
    fn a_connection_to_a_missing_token_is_refused() {
        let mut st = State::default();
        let c = Connection {
            id: 1,
            token_a: 1,
            token_b: 2,
            ..bytemuck::Zeroable::zeroed()
        };
        let e = st
            .apply_journaled(Journaled::ConnectionsPut(vec![c]), st.cursors())
            .unwrap_err();
        assert!(e.contains("not both in the store"), "{e}");
    }
}
