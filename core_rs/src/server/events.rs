//! The event bus: a store sink that numbers changes, serialises each once, keeps a replay
//! ring and fans out to WebSocket clients (`routes/ws.rs`).
//!
//! Every committed store write (from the notebook or from a request) reaches [`Bus`] through
//! the sink registered by [`Bus::attach`]; server-side events (`grid.query`, `metrics`) come in
//! through [`Bus::publish`]. Each event gets the next global `seq`, is serialised once into a
//! shared [`Utf8Bytes`] (cloning it for a client is a reference count), pushed into a bounded
//! ring (for clients that reconnect with `after`) and sent on a `tokio::sync::broadcast`
//! channel (a client that falls behind is told to resync; it never holds up the others).
//!
//! Event frame: `{"v":1,"seq":..,"time":..,"type":"token.created","channel":"tokens",
//! "origin":"kernel|api:<name>","data":{..}}`. Batches are one event: `data` has `count` and
//! `ranges` (inclusive `[first, last]` id runs, at most [`EventsConfig::max_ranges`], then
//! `truncated: true`).

use crate::storage::events::{Change, StoreEvent};
use crate::storage::RuntimeStorage;
use axum::extract::ws::Utf8Bytes;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

mod frame;
mod metrics;

use frame::{batch, json_str};
pub use frame::{cdna_checksum, id_runs};

/// Tunables of the event stream (`Config::events`).
#[derive(Clone, Debug)]
pub struct EventsConfig {
    /// Events kept for clients that reconnect with `after` (older ones need a resync).
    pub ring: usize,
    /// Events a client's queue holds before it is told to resync (`lagged`).
    pub broadcast: usize,
    /// Heartbeat (and WebSocket ping) interval; `hello` announces it.
    pub heartbeat: Duration,
    /// How often `metrics` events are published (only while someone subscribes to them).
    pub metrics_interval: Duration,
    /// Simultaneous WebSocket connections per principal.
    pub max_connections_per_principal: usize,
    /// Largest client frame/message in bytes.
    pub max_frame: usize,
    /// A send that does not complete in this time closes the connection (a dead client).
    pub send_timeout: Duration,
    /// Id runs listed in a batch event before it says `truncated`.
    pub max_ranges: usize,
    /// Server-side events offered through [`Bus::offer`] (e.g. `grid.query`) kept per second;
    /// the rest are dropped (counted in [`BusStats::sampled_out`]).
    pub offered_per_s: u32,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            ring: 10_000,
            broadcast: 4096,
            heartbeat: Duration::from_secs(15),
            metrics_interval: Duration::from_secs(1),
            max_connections_per_principal: 10,
            max_frame: 64 << 10,
            send_timeout: Duration::from_secs(30),
            max_ranges: 64,
            offered_per_s: 100,
        }
    }
}

/// The channels a client can subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Tokens,
    Connections,
    Grid,
    Cdna,
    Metrics,
    Events,
}

impl Channel {
    /// Every channel, in bit order.
    pub const ALL: [Channel; 6] = [
        Channel::Tokens,
        Channel::Connections,
        Channel::Grid,
        Channel::Cdna,
        Channel::Metrics,
        Channel::Events,
    ];

    /// The channel's name in frames and in `subscribe`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Tokens => "tokens",
            Channel::Connections => "connections",
            Channel::Grid => "grid",
            Channel::Cdna => "cdna",
            Channel::Metrics => "metrics",
            Channel::Events => "events",
        }
    }

    /// The channel called `name`, if any.
    pub fn parse(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// This channel's bit in a subscription mask.
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Mask of every channel (what `runtime.reset` is delivered to).
pub const ALL_CHANNELS: u8 = (1 << Channel::ALL.len()) - 1;

/// One numbered, serialised event.
#[derive(Clone, Debug)]
pub struct Event {
    pub seq: u64,
    /// Channels that receive it (one bit, or all for `runtime.reset`).
    pub mask: u8,
    /// The whole JSON frame.
    pub text: Utf8Bytes,
}

/// What a reconnecting client can get back.
pub enum Replay {
    /// The events it missed (already filtered by channel), oldest first.
    Events(Vec<Event>),
    /// The ring no longer holds them (or never had them): the client must resync.
    Gap,
}

/// Counters for `/metrics` and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Last `seq` assigned.
    pub seq: u64,
    /// Events the ring holds.
    pub ring_len: usize,
    /// Open WebSocket connections.
    pub clients: usize,
    /// Times a client fell behind and was told to resync.
    pub lagged: u64,
    /// Replays that could not be served (gap).
    pub gaps: u64,
    /// Events [`Bus::offer`] dropped over the per-second bound.
    pub sampled_out: u64,
}

struct Ring {
    seq: u64,
    events: VecDeque<Event>,
}

/// Store counts kept current by the sink, so the metrics ticker never takes the store lock.
#[derive(Default)]
struct Counts {
    tokens: AtomicU64,
    connections: AtomicU64,
    cdna_revision: AtomicU64,
}

type RequestCounter = Box<dyn Fn() -> u64 + Send + Sync>;

/// The event bus of one server.
pub struct Bus {
    /// Random id of this server start: a client seeing another epoch must resync.
    pub epoch: String,
    pub config: EventsConfig,
    ring: Mutex<Ring>,
    tx: broadcast::Sender<Event>,
    counts: Counts,
    /// Subscribers per channel (a producer may skip work nobody wants, see [`Bus::wants`]).
    subscribers: [AtomicUsize; 6],
    per_principal: Mutex<HashMap<String, usize>>,
    clients: AtomicUsize,
    lagged: AtomicU64,
    gaps: AtomicU64,
    sink: Mutex<Option<u64>>,
    closing: watch::Sender<bool>,
    requests: Mutex<Option<RequestCounter>>,
    /// (second, events offered in it) for [`Bus::offer`].
    offered: Mutex<(u64, u32)>,
    sampled_out: AtomicU64,
}

impl Bus {
    /// Create the bus with default settings and register its sink on `store`.
    pub fn attach(store: &Arc<RuntimeStorage>) -> Arc<Bus> {
        Bus::attach_with(store, &EventsConfig::default())
    }

    /// Create the bus and register its sink on `store`.
    pub fn attach_with(store: &Arc<RuntimeStorage>, config: &EventsConfig) -> Arc<Bus> {
        let bus = Arc::new(Bus::new(config));
        let weak = Arc::downgrade(&bus);
        let sink: crate::storage::events::Sink = Arc::new(move |ev: &StoreEvent<'_>| {
            if let Some(bus) = weak.upgrade() {
                bus.on_change(ev);
            }
        });
        let id = store.add_sink_observed(sink, |st| bus.count_state(st));
        *bus.sink.lock() = Some(id);
        bus
    }

    fn new(config: &EventsConfig) -> Bus {
        let mut config = config.clone();
        config.ring = config.ring.max(1);
        config.broadcast = config.broadcast.max(1);
        config.max_ranges = config.max_ranges.max(1);
        let (tx, _) = broadcast::channel(config.broadcast);
        Bus {
            epoch: format!("{:016x}", rand::random::<u64>()),
            ring: Mutex::new(Ring {
                seq: 0,
                events: VecDeque::with_capacity(config.ring.min(1 << 16)),
            }),
            tx,
            counts: Counts::default(),
            subscribers: Default::default(),
            per_principal: Mutex::default(),
            clients: AtomicUsize::new(0),
            lagged: AtomicU64::new(0),
            gaps: AtomicU64::new(0),
            sink: Mutex::new(None),
            closing: watch::channel(false).0,
            requests: Mutex::new(None),
            offered: Mutex::new((0, 0)),
            sampled_out: AtomicU64::new(0),
            config,
        }
    }

    /// Unregister the sink and tell open connections to close (server stop). Idempotent.
    pub fn detach(&self, store: &RuntimeStorage) {
        if let Some(id) = self.sink.lock().take() {
            store.remove_sink(id);
        }
        self.closing.send_replace(true);
    }

    /// Resolves when [`Bus::detach`] has been called.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Publish a server-side event (e.g. `grid.query`) on `channel`; returns its `seq`, or
    /// `None` for an unknown channel. Callers producing many events should check
    /// [`Bus::wants`] first and sample.
    pub fn publish(
        &self,
        channel: &str,
        kind: &str,
        origin: &str,
        data: serde_json::Value,
    ) -> Option<u64> {
        let ch = Channel::parse(channel)?;
        Some(self.push(ch.bit(), ch, kind, origin, &data.to_string()))
    }

    /// Publish a frequent server-side event (e.g. `grid.query` for every API query) only when
    /// someone subscribes to `channel` and at most `offered_per_s` a second overall; `data`
    /// is built only then. Returns the `seq` when published.
    pub fn offer(
        &self,
        channel: &str,
        kind: &str,
        origin: &str,
        data: impl FnOnce() -> serde_json::Value,
    ) -> Option<u64> {
        if !self.wants(channel) {
            return None;
        }
        {
            let second = crate::clock::now_secs();
            let mut w = self.offered.lock();
            if w.0 != second {
                *w = (second, 0);
            }
            if w.1 >= self.config.offered_per_s {
                drop(w);
                self.sampled_out.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            w.1 += 1;
        }
        self.publish(channel, kind, origin, data())
    }

    /// Whether any connected client subscribes to `channel`.
    pub fn wants(&self, channel: &str) -> bool {
        Channel::parse(channel)
            .is_some_and(|c| self.subscribers[c as usize].load(Ordering::Relaxed) > 0)
    }

    /// Give the metrics ticker a running total of HTTP requests (for `requests_per_s`).
    pub fn set_request_counter(&self, f: impl Fn() -> u64 + Send + Sync + 'static) {
        *self.requests.lock() = Some(Box::new(f));
    }

    /// The last assigned `seq`.
    pub fn seq(&self) -> u64 {
        self.ring.lock().seq
    }

    /// Counters for `/metrics` and tests.
    pub fn stats(&self) -> BusStats {
        let ring = self.ring.lock();
        BusStats {
            seq: ring.seq,
            ring_len: ring.events.len(),
            clients: self.clients.load(Ordering::Relaxed),
            lagged: self.lagged.load(Ordering::Relaxed),
            gaps: self.gaps.load(Ordering::Relaxed),
            sampled_out: self.sampled_out.load(Ordering::Relaxed),
        }
    }

    /// A live receiver and the `seq` it starts after: it gets exactly the events numbered
    /// above that `seq`, in order (unless it lags).
    pub fn live(&self) -> (broadcast::Receiver<Event>, u64) {
        let ring = self.ring.lock();
        (self.tx.subscribe(), ring.seq)
    }

    /// The events numbered `after+1 ..= upto` on channels in `mask`, if the ring still holds
    /// them all.
    pub fn replay(&self, after: u64, upto: u64, mask: u8) -> Replay {
        if after >= upto {
            return Replay::Events(Vec::new());
        }
        let ring = self.ring.lock();
        let first = ring.events.front().map_or(ring.seq + 1, |e| e.seq);
        if after + 1 < first || upto > ring.seq {
            drop(ring);
            self.gaps.fetch_add(1, Ordering::Relaxed);
            return Replay::Gap;
        }
        let skip = (after + 1 - first) as usize;
        let take = (upto - after) as usize;
        Replay::Events(
            ring.events
                .iter()
                .skip(skip)
                .take(take)
                .filter(|e| e.mask & mask != 0)
                .cloned()
                .collect(),
        )
    }

    /// Count a lagging client (see `routes/ws.rs`).
    pub fn note_lagged(&self) {
        self.lagged.fetch_add(1, Ordering::Relaxed);
    }

    /// Change the per-channel subscriber counts from mask `old` to mask `new`.
    pub fn resubscribe(&self, old: u8, new: u8) {
        for c in Channel::ALL {
            let (was, is) = (old & c.bit() != 0, new & c.bit() != 0);
            if is && !was {
                self.subscribers[c as usize].fetch_add(1, Ordering::Relaxed);
            } else if was && !is {
                self.subscribers[c as usize].fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Admit one more connection for `principal`, or `None` at the limit. The guard gives the
    /// slot back when dropped.
    pub fn connect(self: &Arc<Self>, principal: &str) -> Option<ConnectionGuard> {
        let mut map = self.per_principal.lock();
        let n = map.entry(principal.to_string()).or_insert(0);
        if *n >= self.config.max_connections_per_principal {
            return None;
        }
        *n += 1;
        self.clients.fetch_add(1, Ordering::Relaxed);
        Some(ConnectionGuard {
            bus: self.clone(),
            principal: principal.to_string(),
        })
    }

    // ---- the sink ----

    fn count_state(&self, st: &crate::storage::State) {
        let c = &self.counts;
        c.tokens.store(st.tokens.len() as u64, Ordering::Relaxed);
        c.connections
            .store(st.connections.len() as u64, Ordering::Relaxed);
        c.cdna_revision
            .store(st.cdna.revision as u64, Ordering::Relaxed);
    }

    /// Turn one store change into one event. Runs under the store's write lock: O(1) apart
    /// from the id-run scan of a batch (a pass over the ids, stopped at `max_ranges` runs).
    fn on_change(&self, ev: &StoreEvent<'_>) {
        self.count_state(ev.state);
        let max = self.config.max_ranges;
        let mut data = String::with_capacity(64);
        let (ch, kind) = match ev.change {
            Change::TokensCreated(ids) => {
                batch(&mut data, ids, max, None);
                (Channel::Tokens, "token.created")
            }
            Change::TokenUpdated(id) => {
                let _ = write!(data, "{{\"id\":{id}}}");
                (Channel::Tokens, "token.updated")
            }
            Change::TokensDeleted { ids, connections } => {
                batch(&mut data, ids, max, Some(connections));
                (Channel::Tokens, "token.deleted")
            }
            Change::ConnectionsCreated(ids) => {
                batch(&mut data, ids, max, None);
                (Channel::Connections, "connection.created")
            }
            Change::ConnectionsDeleted(ids) => {
                batch(&mut data, ids, max, None);
                (Channel::Connections, "connection.deleted")
            }
            Change::ConnectionsLearned(ids) => {
                batch(&mut data, ids, max, None);
                (Channel::Connections, "connection.updated")
            }
            Change::CdnaChanged => {
                let c = &ev.state.cdna;
                let _ = write!(
                    data,
                    "{{\"revision\":{},\"checksum\":\"{:016x}\",\"profile_id\":{}}}",
                    c.revision,
                    cdna_checksum(c),
                    c.profile_id
                );
                (Channel::Cdna, "cdna.updated")
            }
            Change::Reset { reason } => {
                let _ = write!(
                    data,
                    "{{\"reason\":{},\"tokens\":{},\"connections\":{}}}",
                    json_str(reason),
                    ev.state.tokens.len(),
                    ev.state.connections.len()
                );
                let seq_mask = ALL_CHANNELS;
                self.push(seq_mask, Channel::Events, "runtime.reset", ev.origin, &data);
                return;
            }
            Change::Refused { action, reason } => {
                let _ = write!(
                    data,
                    "{{\"action\":{},\"reason\":{}}}",
                    json_str(action),
                    json_str(reason)
                );
                (Channel::Events, "guardian.refused")
            }
        };
        self.push(ch.bit(), ch, kind, ev.origin, &data);
    }

    /// Number, serialise, keep and send one event; `data` is a JSON object.
    fn push(&self, mask: u8, ch: Channel, kind: &str, origin: &str, data: &str) -> u64 {
        let time = crate::clock::now_f64();
        let origin = json_str(origin);
        let kind = json_str(kind);
        let mut ring = self.ring.lock();
        ring.seq += 1;
        let seq = ring.seq;
        let mut text = String::with_capacity(96 + origin.len() + data.len());
        let _ = write!(
            text,
            "{{\"v\":1,\"seq\":{seq},\"time\":{time:.6},\"type\":{kind},\"channel\":\"{}\",\
             \"origin\":{origin},\"data\":{data}}}",
            ch.as_str()
        );
        let ev = Event {
            seq,
            mask,
            text: Utf8Bytes::from(text),
        };
        if ring.events.len() >= self.config.ring {
            ring.events.pop_front();
        }
        ring.events.push_back(ev.clone());
        // No receivers is not an error: the ring still serves later reconnects.
        let _ = self.tx.send(ev);
        seq
    }
}

/// One admitted WebSocket connection; dropping it frees the principal's slot.
pub struct ConnectionGuard {
    bus: Arc<Bus>,
    principal: String,
}

impl ConnectionGuard {
    /// The bus this connection belongs to.
    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut map = self.bus.per_principal.lock();
        if let Some(n) = map.get_mut(&self.principal) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.principal);
            }
        }
        self.bus.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests;
