//! The event bus: a store sink that numbers changes, serialises each once, keeps a replay
//! ring and fans out to WebSocket clients. (Owner: events/WS work. STUB until it lands.)

use crate::storage::RuntimeStorage;
use std::sync::Arc;

pub struct Bus {}

impl Bus {
    /// Create the bus and register its sink on `store`.
    pub fn attach(_store: &Arc<RuntimeStorage>) -> Arc<Bus> {
        Arc::new(Bus {})
    }
    /// Publish a server-side event (e.g. `grid.query`) on `channel`.
    pub fn publish(&self, _channel: &str, _kind: &str, _origin: &str, _data: serde_json::Value) {}
    /// Unregister the sink (server stop).
    pub fn detach(&self, _store: &RuntimeStorage) {}
}
