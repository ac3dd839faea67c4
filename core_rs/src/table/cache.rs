//! The sorted, filtered id lists of recent table queries, keyed by the store, its token
//! version (unique across stores and bumped by every write, so an entry can never be read
//! against other contents), the sort and the filter. A few entries are kept (least recently
//! used out); an entry of an older version of the same store is dropped when a newer one
//! is stored. A store at a reused address has a version of its own, so it never hits an
//! entry of the store that was there before.

use super::{Sorted, TableQuery};
use crate::storage::RuntimeStorage;
use parking_lot::Mutex;
use std::sync::Arc;

/// Entries kept at once (each up to 16 bytes per matching token).
const ENTRIES: usize = 6;

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Key {
    store: usize,
    version: u64,
    query: String,
}

type Entries = Vec<(Key, Arc<Sorted>)>;

fn entries() -> &'static Mutex<Entries> {
    static CACHE: std::sync::OnceLock<Mutex<Entries>> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Vec::new()))
}

/// The key of a query over the whole store.
pub(crate) fn key(store: &RuntimeStorage, version: u64, q: &TableQuery) -> Key {
    Key {
        store: store as *const RuntimeStorage as usize,
        version,
        query: format!("{:?}|{}|{:?}", q.sort, q.desc, q.filter),
    }
}

/// The cached list, or `build` it (outside the cache's lock) and keep it.
pub(crate) fn get_or_build(key: Key, build: impl FnOnce() -> Sorted) -> Arc<Sorted> {
    {
        let mut e = entries().lock();
        if let Some(i) = e.iter().position(|(k, _)| *k == key) {
            let hit = e.remove(i);
            let out = hit.1.clone();
            e.push(hit);
            return out;
        }
    }
    let built = Arc::new(build());
    let mut e = entries().lock();
    e.retain(|(k, _)| k.store != key.store || k.version >= key.version);
    if !e.iter().any(|(k, _)| *k == key) {
        e.push((key, built.clone()));
    }
    while e.len() > ENTRIES {
        e.remove(0);
    }
    built
}
