//! WebSocket fan-out load: C clients subscribed to `tokens` while the store takes R single-token
//! writes per second (as a notebook loop would), for S seconds. Prints one JSON line: events
//! written, the share every client received, and the delivery latency (event time -> client
//! receive) p50/p99/max in milliseconds. Used by `bench/bench_server.py`.
//!
//! `cargo run --release --features server --example ws_fanout -- [clients] [rate] [seconds]`

use futures_util::{SinkExt, StreamExt};
use neurograph_core::server::{self, Config};
use neurograph_core::storage::{RuntimeStorage, TokenSpec};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers: clients rate seconds"))
        .collect();
    let clients = args.first().copied().unwrap_or(100);
    let rate = args.get(1).copied().unwrap_or(1000);
    let seconds = args.get(2).copied().unwrap_or(5);
    let total = rate * seconds;

    let store = Arc::new(RuntimeStorage::new());
    let mut config = Config::default();
    config.events.max_connections_per_principal = clients + 1;
    let srv = server::start(store.clone(), config).expect("server starts");
    let key = srv.state.auth.ephemeral_admin_key();
    let url = format!("ws://{}/api/v1/ws", srv.addr);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("client runtime");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let url = url.clone();
            let key = key.clone();
            let ready = ready_tx.clone();
            rt.spawn(async move {
                let mut req = url.into_client_request().expect("request");
                let auth = HeaderValue::from_str(&format!("Bearer {key}")).expect("header");
                req.headers_mut().insert("authorization", auth);
                let (mut ws, _) = tokio_tungstenite::connect_async(req)
                    .await
                    .expect("upgrade");
                let sub = r#"{"op":"subscribe","channels":["tokens"]}"#;
                ws.send(Message::Text(sub.into())).await.expect("send");
                let mut lat = Vec::with_capacity(total);
                let mut resyncs = 0usize;
                let deadline =
                    tokio::time::Instant::now() + Duration::from_secs(seconds as u64 + 60);
                while lat.len() < total {
                    let msg = match tokio::time::timeout_at(deadline, ws.next()).await {
                        Ok(Some(Ok(m))) => m,
                        _ => break,
                    };
                    let Message::Text(t) = msg else { continue };
                    let got = now_secs();
                    let v: serde_json::Value = serde_json::from_str(t.as_str()).expect("JSON");
                    match v["type"].as_str() {
                        Some("subscribed") => {
                            let _ = ready.send(());
                        }
                        Some("token.created") => {
                            let sent = v["time"].as_f64().unwrap_or(got);
                            lat.push(((got - sent) * 1e3).max(0.0));
                        }
                        Some("resync") => resyncs += 1,
                        _ => {}
                    }
                }
                (lat, resyncs)
            })
        })
        .collect();
    drop(ready_tx);
    for _ in 0..clients {
        ready_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("every client subscribes");
    }

    // The writer: one token per 1/rate s on a fixed schedule, through the store as the
    // notebook writes (the events come from the store's sink, not from a test hook).
    let start = Instant::now();
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        store
            .create_token(&TokenSpec {
                weight: 0.5,
                ..TokenSpec::default()
            })
            .expect("token created");
    }
    let wrote_for = start.elapsed().as_secs_f64();

    let mut all = Vec::with_capacity(clients * total);
    let mut received = 0usize;
    let mut resyncs = 0usize;
    for t in tasks {
        let (lat, r) = rt.block_on(t).expect("client task");
        received += lat.len();
        resyncs += r;
        all.extend(lat);
    }
    all.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)));
    println!(
        "{}",
        serde_json::json!({
            "clients": clients,
            "events": total,
            "rate_achieved": total as f64 / wrote_for,
            "delivered": received as f64 / (clients * total) as f64,
            "resyncs": resyncs,
            "p50_ms": q(0.50),
            "p99_ms": q(0.99),
            "max_ms": all.last(),
        })
    );
}
