//! RuntimeStorage: tokens, labels, connections, CDNA and events behind one read-write lock.
//!
//! Every write is all-or-nothing: a batch is validated and checked by the Guardian while the
//! store is only read, and committed in one step afterwards.

mod busy;
mod cdna_changes;
mod columns;
mod communities;
pub mod connections;
mod dry_run;
pub mod events;
pub mod guard;
pub mod indexes;
mod layout;
mod pages;
pub mod replay;
pub mod semantic;
pub mod slots;
pub mod tokens;

// The bootstrap, its vocabulary and the IntuitionEngine over the store (semantic.rs held
// them all before).
pub mod bootstrap;
pub mod intuition;
pub mod vocabulary;

use crate::cdna::{Cdna, CdnaVersion};
use crate::connection::{Connection, LearnOutcome};
use crate::error::{NgError, Result};
use crate::guardian::{Event, Guardian};
use crate::metrics::{Gauges, Metrics, Op};
use crate::space::{NUM_AXES, NUM_SPACES};
use crate::token::Token;
pub use columns::TokenColumns;
use connections::{ConnectionBatch, ConnectionStore};
pub use guard::Policy;
use parking_lot::{RwLock, RwLockReadGuard, RwLockUpgradableReadGuard};
use tokens::{TokenBatch, TokenStore, TokenUpdate};

static VERSIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A fresh, process-wide unique version number for a store's contents.
pub fn next_version() -> u64 {
    VERSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Everything the runtime holds.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub(crate) tokens: TokenStore,
    pub(crate) connections: ConnectionStore,
    pub(crate) cdna: Cdna,
    pub(crate) history: Vec<CdnaVersion>,
    pub(crate) guardian: Guardian,
    /// Vocabulary, embeddings and PCA of the last bootstrap.
    pub(crate) boot: Option<std::sync::Arc<vocabulary::BootState>>,
    /// The experience stream and its co-activation evidence.
    pub(crate) intuition: crate::intuition::Intuition,
}

/// One token as a value: record, space mask and label.
#[derive(Clone, Debug)]
pub struct TokenView {
    pub token: Token,
    pub defined: u8,
    pub label: Option<String>,
}

/// A single token to create; `None` spaces are left undefined.
#[derive(Clone, Debug, Default)]
pub struct TokenSpec {
    pub coords: [Option<[f32; 3]>; NUM_SPACES],
    pub weight: f32,
    pub entity: u8,
    pub label: Option<String>,
    pub id: Option<u32>,
    pub field_radius: f32,
    pub field_strength: f32,
    pub clamp: bool,
}

/// The shared runtime store.
#[derive(Default)]
pub struct RuntimeStorage {
    state: RwLock<State>,
    pub metrics: Metrics,
    /// Per-space spatial indexes, tagged with the token version they were built from.
    grids: indexes::GridCache,
    /// The graph, tagged with the (token, connection) versions it was built from.
    graph: indexes::GraphCache,
    /// Change listeners (the journal, the server's event bus).
    sinks: events::Sinks,
    /// The last community detection (a side table keyed by token id, not in snapshots).
    communities: communities::Last,
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

impl State {
    /// Drop what refers to deleted tokens (`ids` sorted): their vocabulary words and the
    /// intuition's evidence about them.
    pub(crate) fn forget_tokens(&mut self, ids: &[u32]) {
        if let Some(boot) = self.boot.as_mut() {
            if boot.holds_any(ids) {
                let b = std::sync::Arc::make_mut(boot);
                b.forget_tokens(ids);
                if b.live() == 0 {
                    self.boot = None;
                }
            }
        }
        self.intuition.forget_tokens(ids);
    }
}

impl RuntimeStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `state` (e.g. from a snapshot).
    pub fn from_state(state: State) -> Self {
        RuntimeStorage {
            state: RwLock::new(state),
            metrics: Metrics::default(),
            grids: Default::default(),
            graph: Default::default(),
            sinks: Default::default(),
            communities: Default::default(),
        }
    }

    /// Read access for the sibling modules and the snapshot writer; never call into Python
    /// while holding it.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read()
    }

    /// Write access for the sibling modules (query, semantic).
    pub(crate) fn state_write(&self) -> parking_lot::RwLockWriteGuard<'_, State> {
        self.state.write()
    }

    /// Replace everything at once (after a successful snapshot load).
    pub fn replace(&self, new: State) {
        let mut st = self.state.write();
        *st = new;
        self.drop_caches();
        self.emit(&st, events::Change::Reset { reason: "load" });
    }

    /// Forget the spatial and graph indexes (they are rebuilt on the next query).
    fn drop_caches(&self) {
        *self.grids.lock() = Default::default();
        *self.graph.lock() = None;
        *self.communities.lock() = None;
    }

    /// Log a write's outcome with the Guardian; a refusal also goes to the change sinks.
    fn record_outcome<T>(&self, st: &mut State, kind: &str, target: String, r: &Result<T>) {
        match r {
            Ok(_) => st
                .guardian
                .record(&st.cdna, kind, target, true, String::new()),
            Err(e) => {
                let reason = match e.root() {
                    NgError::Rejected(r) => r.located_reason(),
                    _ => e.to_string(),
                };
                st.guardian
                    .record(&st.cdna, kind, target, false, reason.clone());
                self.emit(
                    st,
                    events::Change::Refused {
                        action: kind,
                        reason: &reason,
                    },
                );
            }
        }
    }

    // ---- tokens ----

    /// Create many tokens; all or nothing.
    pub fn create_tokens(&self, b: &TokenBatch<'_>) -> Result<Vec<u32>> {
        self.metrics.time(Op::TokenCreateMany, || {
            let n = b.coords.len() / (NUM_SPACES * NUM_AXES);
            // Validation runs beside readers; writers queue behind it, so ids stay free.
            let st = self.state.upgradable_read();
            let prepared = st.tokens.prepare(b, &st.cdna);
            let mut st = RwLockUpgradableReadGuard::upgrade(st);
            let st = &mut *st;
            self.record_outcome(st, "token.create_many", plural(n, "token"), &prepared);
            let ids = st.tokens.commit(prepared?);
            self.emit(st, events::Change::TokensCreated(&ids));
            Ok(ids)
        })
    }

    /// Create one token.
    pub fn create_token(&self, spec: &TokenSpec) -> Result<u32> {
        self.metrics.time(Op::TokenCreate, || {
            let mut coords = [f32::NAN; NUM_SPACES * NUM_AXES];
            let mut non_finite = None;
            for (s, c) in spec.coords.iter().enumerate() {
                if let Some(xyz) = c {
                    for (a, v) in xyz.iter().enumerate() {
                        if !v.is_finite() && non_finite.is_none() {
                            non_finite = Some(NgError::NonFiniteCoordinate {
                                space: crate::space::SPACE_NAMES[s],
                                axis: crate::space::AXIS_NAMES[a],
                                value: *v,
                            });
                        }
                        coords[s * NUM_AXES + a] = *v;
                    }
                }
            }
            if let Some(e) = non_finite {
                let mut st = self.state.write();
                let st = &mut *st;
                let r: Result<()> = Err(e);
                self.record_outcome(st, "token.create", "new token".into(), &r);
                return r.map(|_| 0);
            }
            let weights = [spec.weight];
            let entities = [spec.entity];
            let fr = [spec.field_radius];
            let fs = [spec.field_strength];
            let ids_arr = spec.id.map(|i| [i]);
            let b = TokenBatch {
                coords: &coords,
                weights: Some(&weights),
                entities: Some(&entities),
                field_radius: Some(&fr),
                field_strength: Some(&fs),
                labels: Some(vec![spec.label.clone()]),
                ids: ids_arr.as_ref().map(|a| &a[..]),
                clamp: spec.clamp,
                undefined_nan: true,
                default_weight: spec.weight,
            };
            let mut st = self.state.write();
            let st = &mut *st;
            let r = st
                .tokens
                .prepare(&b, &st.cdna)
                .map_err(NgError::without_row);
            let target = match (&r, spec.id) {
                (Ok(p), _) => format!("token {}", p.records[0].local_id()),
                (_, Some(id)) => format!("token {id}"),
                _ => "new token".to_string(),
            };
            self.record_outcome(st, "token.create", target, &r);
            let ids = st.tokens.commit(r?);
            self.emit(st, events::Change::TokensCreated(&ids));
            Ok(ids[0])
        })
    }

    /// One token.
    pub fn get_token(&self, id: u32) -> Result<TokenView> {
        self.metrics.time(Op::TokenGet, || {
            let st = self.state.read();
            let slot = st.tokens.slot(id).ok_or(NgError::TokenNotFound(id))?;
            Ok(TokenView {
                token: st.tokens.records[slot],
                defined: st.tokens.defined[slot],
                label: st.tokens.labels.get(&id).map(|l| l.to_string()),
            })
        })
    }

    /// Change one token.
    pub fn update_token(&self, id: u32, u: TokenUpdate) -> Result<()> {
        self.metrics.time(Op::TokenUpdate, || {
            let mut st = self.state.write();
            let st = &mut *st;
            let r = st.tokens.prepare_update(id, &u, &st.cdna);
            self.record_outcome(st, "token.update", format!("token {id}"), &r);
            let (t, mask) = r?;
            st.tokens.commit_update(t, mask, u.label);
            self.emit(st, events::Change::TokenUpdated(id));
            Ok(())
        })
    }

    /// Delete tokens and every connection touching them; all must exist.
    pub fn delete_tokens(&self, ids: &[u32]) -> Result<usize> {
        self.metrics.time(Op::TokenDelete, || {
            let mut st = self.state.write();
            let st = &mut *st;
            if let Some(missing) = ids.iter().find(|id| !st.tokens.contains(**id)) {
                let e = NgError::TokenNotFound(*missing);
                st.guardian.record(
                    &st.cdna,
                    "token.delete",
                    format!("token {missing}"),
                    false,
                    e.to_string(),
                );
                return Err(e);
            }
            let mut sorted = ids.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            let dropped = st.connections.remove_touching(&sorted);
            st.tokens.remove(&sorted);
            st.forget_tokens(&sorted);
            let target = if sorted.len() == 1 {
                format!("token {}", sorted[0])
            } else {
                plural(sorted.len(), "token")
            };
            let note = if dropped > 0 {
                format!("with {}", plural(dropped, "connection"))
            } else {
                String::new()
            };
            st.guardian
                .record(&st.cdna, "token.delete", target, true, note);
            self.emit(
                st,
                events::Change::TokensDeleted {
                    ids: &sorted,
                    connections: dropped,
                },
            );
            Ok(sorted.len())
        })
    }

    /// Remove all tokens and connections, the bootstrap vocabulary and the intuition's
    /// evidence (the CDNA and events stay); the indexes built over them are dropped too.
    pub fn clear(&self) {
        let mut st = self.state.write();
        let st = &mut *st;
        let n = st.tokens.len();
        st.tokens.clear();
        st.connections.clear();
        st.boot = None;
        st.intuition = Default::default();
        self.drop_caches();
        crate::mem::release_free_memory();
        st.guardian.record(
            &st.cdna,
            "token.clear",
            plural(n, "token"),
            true,
            String::new(),
        );
        self.emit(st, events::Change::Reset { reason: "clear" });
    }

    // ---- connections ----

    /// Create many connections; all or nothing.
    pub fn create_connections(&self, b: &ConnectionBatch<'_>) -> Result<Vec<u32>> {
        let single = b.a.len() == 1;
        let op = if single {
            Op::ConnectionCreate
        } else {
            Op::ConnectionCreateMany
        };
        self.metrics.time(op, || {
            let st = self.state.upgradable_read();
            let mut r = st.connections.prepare(b, &st.tokens, &st.cdna);
            let mut st = RwLockUpgradableReadGuard::upgrade(st);
            let st = &mut *st;
            if single {
                r = r.map_err(NgError::without_row);
            }
            let (kind, target) = if single {
                ("connection.create", format!("{} -> {}", b.a[0], b.b[0]))
            } else {
                ("connection.create_many", plural(b.a.len(), "connection"))
            };
            self.record_outcome(st, kind, target, &r);
            let ids = st.connections.commit(r?);
            self.emit(st, events::Change::ConnectionsCreated(&ids));
            Ok(ids)
        })
    }

    pub fn get_connection(&self, id: u32) -> Result<Connection> {
        self.metrics.time(Op::ConnectionGet, || {
            self.state.read().connections.get(id).copied()
        })
    }

    /// Delete connections; all must exist.
    pub fn delete_connections(&self, ids: &[u32]) -> Result<usize> {
        self.metrics.time(Op::ConnectionDelete, || {
            let mut st = self.state.write();
            let st = &mut *st;
            if let Some(missing) = ids.iter().find(|id| st.connections.slot(**id).is_none()) {
                let e = NgError::ConnectionNotFound(*missing);
                st.guardian.record(
                    &st.cdna,
                    "connection.delete",
                    format!("connection {missing}"),
                    false,
                    e.to_string(),
                );
                return Err(e);
            }
            let mut sorted = ids.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            st.connections.remove(&sorted);
            let target = if sorted.len() == 1 {
                format!("connection {}", sorted[0])
            } else {
                plural(sorted.len(), "connection")
            };
            st.guardian
                .record(&st.cdna, "connection.delete", target, true, String::new());
            self.emit(st, events::Change::ConnectionsDeleted(&sorted));
            Ok(sorted.len())
        })
    }

    /// Connections touching a token (source or target).
    pub fn connections_for_token(&self, t: u32) -> Result<Vec<Connection>> {
        self.metrics.time(Op::ConnectionScan, || {
            let st = self.state.read();
            if !st.tokens.contains(t) {
                return Err(NgError::TokenNotFound(t));
            }
            Ok(st
                .connections
                .slots_for_token(t)
                .into_iter()
                .map(|s| st.connections.records[s])
                .collect())
        })
    }

    /// Apply feedback to one connection (Connection V3 rules); returns whether it changed
    /// (false for immutable kinds). A hypothesis that falls under 10% confidence is dropped.
    pub fn connection_feedback(&self, id: u32, success: bool) -> Result<LearnOutcome> {
        let mut st = self.state.write();
        let st = &mut *st;
        let slot = st
            .connections
            .slot(id)
            .ok_or(NgError::ConnectionNotFound(id))?;
        let out =
            st.connections.records[slot].apply_feedback(success, crate::clock::now_secs() as u32);
        if out != LearnOutcome::Unchanged {
            st.connections.touch();
        }
        match out {
            LearnOutcome::Drop => {
                st.connections.remove(&[id]);
                st.intuition.forget_connections(&[id]);
                self.emit(st, events::Change::ConnectionsDeleted(&[id]));
            }
            LearnOutcome::Updated => self.emit(st, events::Change::ConnectionsLearned(&[id])),
            LearnOutcome::Unchanged => {}
        }
        let note = match out {
            LearnOutcome::Unchanged => "immutable kind: unchanged",
            LearnOutcome::Updated => "",
            LearnOutcome::Drop => "hypothesis dropped under 10% confidence",
        };
        let kind = if success {
            "connection.reinforce"
        } else {
            "connection.weaken"
        };
        st.guardian.record(
            &st.cdna,
            kind,
            format!("connection {id}"),
            true,
            note.to_string(),
        );
        Ok(out)
    }

    /// One decay step over all hypotheses; returns how many were dropped.
    pub fn decay_hypotheses(&self) -> usize {
        let mut st = self.state.write();
        let st = &mut *st;
        let now = crate::clock::now_secs() as u32;
        let mut drop = Vec::new();
        let mut learned = Vec::new();
        for c in st.connections.records.iter_mut() {
            match c.decay(now) {
                LearnOutcome::Drop => drop.push(c.id),
                LearnOutcome::Updated => learned.push(c.id),
                LearnOutcome::Unchanged => {}
            }
        }
        if !learned.is_empty() {
            st.connections.touch();
            self.emit(st, events::Change::ConnectionsLearned(&learned));
        }
        st.connections.remove(&drop);
        drop.sort_unstable();
        st.intuition.forget_connections(&drop);
        if !drop.is_empty() {
            st.guardian.record(
                &st.cdna,
                "connection.decay",
                plural(drop.len(), "hypothesis"),
                true,
                "dropped under 10% confidence".into(),
            );
            self.emit(st, events::Change::ConnectionsDeleted(&drop));
        }
        drop.len()
    }

    // ---- events, metrics ----

    pub fn events(&self, last: Option<usize>) -> Vec<Event> {
        self.state.read().guardian.events(last)
    }

    pub fn gauges(&self) -> Gauges {
        let st = self.state.read();
        Gauges {
            tokens: st.tokens.len() as u64,
            connections: st.connections.len() as u64,
            labels: st.tokens.labels.len() as u64,
            events_total: st.guardian.total_events,
            rejections_total: st.guardian.total_rejections,
            cdna_revision: st.cdna.revision as u64,
            memory: vec![
                ("tokens", st.tokens.memory_bytes()),
                ("connections", st.connections.memory_bytes()),
            ],
        }
    }

    pub fn metrics_text(&self) -> String {
        self.metrics.render(&self.gauges())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt_with(n: usize) -> (RuntimeStorage, Vec<u32>) {
        let rt = RuntimeStorage::new();
        let coords = vec![0.25f32; n * 24];
        let ids = rt
            .create_tokens(&TokenBatch {
                coords: &coords,
                default_weight: 0.5,
                ..Default::default()
            })
            .unwrap();
        (rt, ids)
    }

    fn batch<'a>(a: &'a [u32], b: &'a [u32]) -> ConnectionBatch<'a> {
        ConnectionBatch::associated(a, b)
    }

    #[test]
    fn refused_token_leaves_the_store_and_records_an_event() {
        let (rt, _) = rt_with(3);
        let spec = TokenSpec {
            weight: 5.0,
            ..Default::default()
        };
        let e = rt.create_token(&spec).unwrap_err();
        assert!(e.to_string().contains("weight = 5"), "{e}");
        assert_eq!(rt.read().tokens.len(), 3);
        let ev = rt.events(Some(1));
        assert!(!ev[0].accepted);
    }

    #[test]
    fn degree_limit_and_cascade_delete() {
        let (rt, ids) = rt_with(4);
        rt.change_cdna("test", Policy::Refuse, |c| {
            c.max_out_degree = 2;
            Ok(())
        })
        .unwrap();
        let a = [ids[0], ids[0], ids[0]];
        let b = [ids[1], ids[2], ids[3]];
        assert!(rt.create_connections(&batch(&a, &b)).is_err());
        assert_eq!(rt.read().connections.len(), 0);
        let c = rt.create_connections(&batch(&a[..2], &b[..2])).unwrap();
        assert_eq!(c.len(), 2);
        rt.delete_tokens(&[ids[1]]).unwrap();
        assert_eq!(rt.read().connections.len(), 1);
        assert_eq!(rt.read().connections.out_degree(ids[0]), 1);
        assert!(rt.get_connection(c[1]).is_ok());
    }

    #[test]
    fn connection_to_missing_token_is_not_found() {
        let (rt, ids) = rt_with(2);
        let e = rt.create_connections(&batch(&[ids[0]], &[99])).unwrap_err();
        assert!(matches!(e, NgError::TokenNotFound(99)));
    }

    #[test]
    fn cdna_history_and_rollback() {
        let rt = RuntimeStorage::new();
        rt.set_profile("explorer", Policy::Refuse).unwrap();
        assert_eq!(rt.cdna().max_out_degree, 2000);
        assert!(rt.set_profile("nope", Policy::Refuse).is_err());
        let bad = rt.change_cdna("bad scale", Policy::Refuse, |c| {
            c.scales[0] = -1.0;
            Ok(())
        });
        assert!(bad.is_err());
        assert_eq!(rt.cdna().scales[0], 1.0);
        rt.rollback_cdna(1, Policy::Refuse).unwrap();
        assert_eq!(rt.cdna().max_out_degree, 1000);
        assert_eq!(rt.history().len(), 2);
    }
}
