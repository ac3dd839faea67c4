//! `GET /api/v1/ws`: the live event stream (see `server/events.rs` for the events).
//!
//! Protocol (JSON text frames):
//! - server, on connect: `{"type":"hello","epoch":E,"seq":N,"heartbeat_s":H,"channels":[..]}`;
//! - client: `{"op":"subscribe","channels":["tokens",..],"after":M}` (`after` optional): the
//!   server replays the events `M+1..` it still holds on those channels, or sends
//!   `{"type":"resync","reason":"gap"}`, then `{"type":"subscribed","channels":[..],"seq":S}`
//!   and from then on every new event on the subscribed channels;
//! - client: `{"op":"unsubscribe","channels":[..]}`, `{"op":"ping"}` (answered by `pong`);
//! - server: `{"type":"heartbeat","seq":S}` every `heartbeat_s` (with a WebSocket ping), where
//!   `S` is the last `seq` this connection has been given or passed over: a client that
//!   reconnects with `after=S` misses nothing;
//! - a client that falls behind gets `{"type":"resync","reason":"lagged","seq":S}` and keeps
//!   its subscription; an unknown op or bad frame gets `{"type":"error","detail":..}`.
//!
//! Access: any authenticated principal (readonly and up; header, cookie or ticket), at most
//! `max_connections_per_principal` connections each (429), and a browser's `Origin` must be the
//! server's own or listed in `allowed_origins` (403); without `Origin`, credentials must come in
//! the `Authorization` header.

use crate::server::auth::{Principal, Role};
use crate::server::events::{Bus, Channel, ConnectionGuard, Event, Replay};
use crate::server::problem::Problem;
use crate::server::{AppState, Config};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// Most queued events written before one flush.
const BURST: usize = 256;

/// Routes of this group (nested under `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new().route("/ws", get(upgrade))
}

/// The live event stream (WebSocket; JSON text frames, see the protocol in the module docs):
/// `hello`, then `subscribe` to channels tokens, connections, grid, cdna, metrics, events,
/// optionally `after` a sequence number to get what was missed.
#[utoipa::path(get, path = "/api/v1/ws", tag = "events",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 426, description = "Not a WebSocket upgrade request", body = Problem,
            content_type = "application/problem+json"),
    ),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn upgrade(
    State(app): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, Problem> {
    who.require(Role::Readonly)?;
    let ws = ws.map_err(|e| {
        let mut p = Problem::new(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade-required",
            format!("this route is a WebSocket: {}", e.body_text()),
        );
        p.title = "Upgrade Required".into();
        p
    })?;
    check_origin(&headers, &app.config)?;
    let guard = app.bus.connect(&who.name).ok_or_else(|| {
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-connections",
            format!(
                "{} already has {} event-stream connections open",
                who.name, app.bus.config.max_connections_per_principal
            ),
        );
        p.retry_after = Some(1);
        p
    })?;
    let max = app.bus.config.max_frame;
    Ok(ws
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| serve(socket, guard)))
}

/// Accept the upgrade only from the server's own origin, an allowed one, or (no `Origin`) a
/// non-browser client that sends its credentials in `Authorization`.
pub fn check_origin(headers: &HeaderMap, config: &Config) -> Result<(), Problem> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return if headers.contains_key(header::AUTHORIZATION) {
            Ok(())
        } else {
            Err(Problem::forbidden(
                "a WebSocket without an Origin header must authenticate with an Authorization \
                 header",
            ))
        };
    };
    let origin = origin.to_str().unwrap_or("").trim_end_matches('/');
    let refuse = || {
        Problem::forbidden(format!(
            "WebSocket connections from origin {} are not allowed",
            origin.chars().take(200).collect::<String>()
        ))
    };
    if config
        .allowed_origins
        .iter()
        .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return Ok(());
    }
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .ok_or_else(refuse)?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or_else(refuse)?;
    if !authority.is_empty() && authority.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(refuse())
    }
}

/// One connection's state.
struct Conn {
    bus: Arc<Bus>,
    tx: SplitSink<WebSocket, Message>,
    /// Subscribed channels.
    mask: u8,
    /// Every event numbered up to here has been sent or passed over.
    cursor: u64,
    /// Live events up to here are not sent (the client said it has them, see `subscribe`).
    skip_upto: u64,
    send_timeout: Duration,
}

impl Conn {
    /// Send one frame; `false` when the client is gone or too slow to take it.
    async fn send(&mut self, msg: Message) -> bool {
        matches!(
            tokio::time::timeout(self.send_timeout, self.tx.send(msg)).await,
            Ok(Ok(()))
        )
    }

    async fn send_json(&mut self, v: Value) -> bool {
        self.send(Message::Text(Utf8Bytes::from(v.to_string())))
            .await
    }

    async fn error(&mut self, detail: String) -> bool {
        self.send_json(json!({"type": "error", "detail": detail}))
            .await
    }

    fn channel_names(mask: u8) -> Vec<&'static str> {
        Channel::ALL
            .into_iter()
            .filter(|c| mask & c.bit() != 0)
            .map(Channel::as_str)
            .collect()
    }

    fn set_mask(&mut self, mask: u8) {
        self.bus.resubscribe(self.mask, mask);
        self.mask = mask;
    }

    /// Live events: `first`, then whatever else is already queued (up to [`BURST`]), written
    /// with one flush; a lag becomes a `resync` frame in place. `false` ends the connection.
    async fn deliver(
        &mut self,
        first: Result<Event, RecvError>,
        live: &mut broadcast::Receiver<Event>,
    ) -> bool {
        let timeout = self.send_timeout;
        let burst = async {
            let mut next = Some(first);
            let mut n = 0;
            while let Some(item) = next.take() {
                match item {
                    Ok(ev) => {
                        self.cursor = ev.seq;
                        if ev.mask & self.mask != 0 && ev.seq > self.skip_upto {
                            self.tx.feed(Message::Text(ev.text)).await?;
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        self.bus.note_lagged();
                        // The receiver resumes at the oldest event it still holds; the client
                        // refetches what it shows and keeps its subscription.
                        let seq = self.bus.seq();
                        let msg = json!({"type": "resync", "reason": "lagged", "seq": seq});
                        self.tx
                            .feed(Message::Text(Utf8Bytes::from(msg.to_string())))
                            .await?;
                    }
                    Err(RecvError::Closed) => return Ok(false),
                }
                n += 1;
                if n < BURST {
                    next = match live.try_recv() {
                        Ok(ev) => Some(Ok(ev)),
                        Err(TryRecvError::Lagged(k)) => Some(Err(RecvError::Lagged(k))),
                        Err(TryRecvError::Empty | TryRecvError::Closed) => None,
                    };
                }
            }
            self.tx.flush().await?;
            Ok::<bool, axum::Error>(true)
        };
        matches!(tokio::time::timeout(timeout, burst).await, Ok(Ok(true)))
    }

    /// Handle one client frame; `false` ends the connection.
    async fn on_text(&mut self, text: &str) -> bool {
        let v: Value = match serde_json::from_str(text) {
            Ok(v @ Value::Object(_)) => v,
            _ => return self.error("a frame must be a JSON object".into()).await,
        };
        let op = v.get("op").and_then(Value::as_str).unwrap_or("");
        match op {
            "subscribe" | "unsubscribe" => {
                let mask = match parse_channels(&v) {
                    Ok(m) => m,
                    Err(detail) => return self.error(detail).await,
                };
                if op == "unsubscribe" {
                    self.set_mask(self.mask & !mask);
                    let names = Conn::channel_names(self.mask);
                    let seq = self.cursor;
                    return self
                        .send_json(json!({"type": "unsubscribed", "channels": names, "seq": seq}))
                        .await;
                }
                let after = match v.get("after") {
                    None | Some(Value::Null) => None,
                    Some(a) => match a.as_u64() {
                        Some(a) => Some(a),
                        None => {
                            return self
                                .error("after must be a sequence number (an integer >= 0)".into())
                                .await
                        }
                    },
                };
                self.subscribe(mask, after).await
            }
            "ping" => {
                self.send_json(json!({"type": "pong", "seq": self.cursor}))
                    .await
            }
            "" => self.error("the frame has no op".into()).await,
            other => {
                let other: String = other.chars().take(64).collect();
                self.error(format!(
                    "unknown op {other:?}; known: subscribe, unsubscribe, ping"
                ))
                .await
            }
        }
    }

    /// Add `mask` to the subscription, replaying what the client missed after `after`.
    async fn subscribe(&mut self, mask: u8, after: Option<u64>) -> bool {
        self.set_mask(self.mask | mask);
        if let Some(after) = after {
            // A client ahead of this connection (it saw newer events on another one) skips
            // them when they arrive here; one ahead of the server (another epoch) resyncs.
            let replay = if after > self.bus.seq() {
                Replay::Gap
            } else {
                self.skip_upto = self.skip_upto.max(after);
                self.bus.replay(after, self.cursor, mask)
            };
            match replay {
                Replay::Events(events) => {
                    for ev in events {
                        if !self.send(Message::Text(ev.text)).await {
                            return false;
                        }
                    }
                }
                Replay::Gap => {
                    let seq = self.cursor;
                    let msg = json!({"type": "resync", "reason": "gap", "seq": seq});
                    if !self.send_json(msg).await {
                        return false;
                    }
                }
            }
        }
        let names = Conn::channel_names(self.mask);
        let seq = self.cursor;
        self.send_json(json!({"type": "subscribed", "channels": names, "seq": seq}))
            .await
    }
}

/// Which channels a `subscribe`/`unsubscribe` names, as a mask.
fn parse_channels(v: &Value) -> Result<u8, String> {
    let list = v
        .get("channels")
        .and_then(Value::as_array)
        .ok_or("channels must be a list of channel names")?;
    let mut mask = 0;
    for c in list {
        let name = c.as_str().unwrap_or("");
        let ch = Channel::parse(name).ok_or_else(|| {
            let shown: String = c.to_string().chars().take(64).collect();
            format!(
                "unknown channel {shown}; known: {}",
                Conn::channel_names(crate::server::events::ALL_CHANNELS).join(", ")
            )
        })?;
        mask |= ch.bit();
    }
    Ok(mask)
}

/// Run one connection until the client leaves, stops answering, or the server stops.
async fn serve(socket: WebSocket, guard: ConnectionGuard) {
    let bus = guard.bus().clone();
    let (mut live, start) = bus.live();
    let (tx, mut rx) = socket.split();
    let heartbeat = bus.config.heartbeat.max(Duration::from_millis(10));
    let mut conn = Conn {
        tx,
        mask: 0,
        cursor: start,
        skip_upto: 0,
        send_timeout: bus.config.send_timeout,
        bus: bus.clone(),
    };
    let mut closing = bus.closing();
    let hello = json!({
        "type": "hello",
        "epoch": bus.epoch,
        "seq": start,
        "heartbeat_s": heartbeat.as_secs_f64(),
        "channels": Conn::channel_names(crate::server::events::ALL_CHANNELS),
    });
    if !conn.send_json(hello).await {
        return;
    }
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    loop {
        let ok = tokio::select! {
            ev = live.recv() => conn.deliver(ev, &mut live).await,
            frame = rx.next() => {
                last_heard = Instant::now();
                match frame {
                    Some(Ok(Message::Text(t))) => conn.on_text(t.as_str()).await,
                    Some(Ok(Message::Binary(_))) => {
                        conn.error("binary frames are not supported; send JSON text".into())
                            .await
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => true,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => false,
                }
            },
            _ = tick.tick() => {
                if last_heard.elapsed() > heartbeat * 3 + Duration::from_secs(1) {
                    false
                } else {
                    let seq = conn.cursor;
                    conn.send_json(json!({"type": "heartbeat", "seq": seq})).await
                        && conn.send(Message::Ping(Default::default())).await
                }
            },
            _ = async { closing.wait_for(|c| *c).await.map(|_| ()) } => {
                let close = CloseFrame { code: 1001, reason: "server stopping".into() };
                let _ = conn.send(Message::Close(Some(close))).await;
                false
            },
        };
        if !ok {
            break;
        }
    }
    conn.set_mask(0);
    drop(guard);
}
