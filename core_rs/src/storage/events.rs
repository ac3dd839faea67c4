//! Change notifications from the store: every committed write calls the registered sinks once,
//! in commit order, while the write lock is still held (so a sink sees the state the change
//! produced, and two sinks never see two writes in different orders).
//!
//! A sink must be cheap and must never call back into the store (it would deadlock): copy what
//! it needs from `StoreEvent::state` and hand it to its own thread. Batch writes produce one
//! event, never one per token. The journal and the server's event bus are sinks.

use super::{RuntimeStorage, State};
use parking_lot::RwLock;
use std::cell::RefCell;
use std::sync::Arc;

/// What a committed write changed.
#[derive(Clone, Copy, Debug)]
pub enum Change<'a> {
    /// New tokens, in the order they were created.
    TokensCreated(&'a [u32]),
    /// One token's coordinates, weight, entity, field or label changed.
    TokenUpdated(u32),
    /// Tokens removed (sorted), with `connections` connections that touched them.
    TokensDeleted {
        ids: &'a [u32],
        connections: usize,
    },
    ConnectionsCreated(&'a [u32]),
    ConnectionsDeleted(&'a [u32]),
    /// Learning state (confidence, evidence, strength) of these connections changed.
    ConnectionsLearned(&'a [u32]),
    /// The CDNA changed (set, profile, scales, flags, rollback).
    CdnaChanged,
    /// Everything may have changed: clear, load, bootstrap, a bulk rebuild.
    Reset {
        reason: &'static str,
    },
    /// The Guardian refused a write; nothing changed.
    Refused {
        action: &'a str,
        reason: &'a str,
    },
}

/// One change, with the state right after it and who made it.
pub struct StoreEvent<'a> {
    pub change: Change<'a>,
    pub state: &'a State,
    /// `"kernel"` for the notebook, `"api:<name>"` for a server request (see [`with_origin`]).
    pub origin: &'a str,
}

/// A change listener; see the module docs for what it may do.
pub type Sink = Arc<dyn Fn(&StoreEvent<'_>) + Send + Sync>;

#[derive(Default)]
pub(crate) struct Sinks {
    next: std::sync::atomic::AtomicU64,
    list: RwLock<Vec<(u64, Sink)>>,
}

thread_local! {
    static ORIGIN: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Run `f` with writes it makes reported as made by `origin` (e.g. `"api:alice"`).
pub fn with_origin<T>(origin: &str, f: impl FnOnce() -> T) -> T {
    let prev = ORIGIN.with(|o| o.replace(Some(origin.to_string())));
    struct Restore(Option<String>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            ORIGIN.with(|o| *o.borrow_mut() = prev);
        }
    }
    let _restore = Restore(prev);
    f()
}

impl RuntimeStorage {
    /// Register a change listener; returns its id for [`RuntimeStorage::remove_sink`].
    pub fn add_sink(&self, sink: Sink) -> u64 {
        let id = self
            .sinks
            .next
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.sinks.list.write().push((id, sink));
        id
    }

    /// Register a listener and let `init` look at the current state in the same step: no
    /// write can land between what `init` sees and the first change the sink gets.
    pub fn add_sink_observed(&self, sink: Sink, init: impl FnOnce(&State)) -> u64 {
        let st = self.state.read();
        let id = self.add_sink(sink);
        init(&st);
        id
    }

    /// Unregister a listener; unknown ids are ignored.
    pub fn remove_sink(&self, id: u64) {
        self.sinks.list.write().retain(|(i, _)| *i != id);
    }

    /// How many listeners are registered.
    pub fn sink_count(&self) -> usize {
        self.sinks.list.read().len()
    }

    /// Tell every sink about `change`; called by the write paths with the write lock held.
    pub(crate) fn emit(&self, state: &State, change: Change<'_>) {
        let list = self.sinks.list.read();
        if list.is_empty() {
            return;
        }
        ORIGIN.with(|o| {
            let o = o.borrow();
            let ev = StoreEvent {
                change,
                state,
                origin: o.as_deref().unwrap_or("kernel"),
            };
            for (_, sink) in list.iter() {
                sink(&ev);
            }
        });
    }
}
