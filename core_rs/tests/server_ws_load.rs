//! The event stream under load: a client that does not read is told to resync while a client
//! that keeps up gets every event; a million-token batch is one event and the sink is cheap.
#![cfg(feature = "server")]

mod ws_support;

use neurograph_core::server::events::Bus;
use neurograph_core::storage::RuntimeStorage;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use ws_support::*;

/// Bytes the kernel may buffer for one loopback socket on its sending side.
fn send_buffer_max() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(4 << 20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_client_gets_resync_while_a_fast_one_gets_everything() {
    let s = Served::start(|c| {
        c.events.broadcast = 8;
        c.events.ring = 64;
        // Nothing here depends on these; they only keep a deliberately stalled client open.
        c.events.heartbeat = Duration::from_secs(600);
        c.events.send_timeout = Duration::from_secs(600);
    });
    let bus = s.server.state.bus.clone();
    let (mut fast, _) = s.connect().await;
    subscribe(&mut fast, &["grid"], None).await;
    // The slow client subscribes, then stops reading; a tiny receive buffer makes its socket
    // fill after a few frames, so the server's task for it blocks and its queue overflows.
    let mut slow = s.try_connect(Some(&s.key), None, Some(4096)).await.unwrap();
    next_of_type(&mut slow, "hello").await;
    subscribe(&mut slow, &["grid"], None).await;

    // Publish more than every buffer between the server and the slow client can hold, one
    // event at a time, each acknowledged by the fast client before the next (it never lags).
    let payload = "x".repeat(60 << 10);
    let n = (2 * send_buffer_max()) / payload.len() + 64;
    for i in 1..=n as u64 {
        let seq = bus
            .publish(
                "grid",
                "grid.query",
                "kernel",
                json!({"i": i, "pad": payload}),
            )
            .unwrap();
        let ev = next_json(&mut fast).await;
        assert_eq!(ev["seq"], seq, "the fast client gets every event, in order");
        assert_eq!(ev["data"]["i"], i);
    }
    assert_eq!(
        bus.stats().lagged,
        0,
        "nobody has read the overflowed queue yet"
    );
    let marker = bus
        .publish("grid", "grid.query", "kernel", json!({"marker": true}))
        .unwrap();
    assert_eq!(next_json(&mut fast).await["seq"], marker);

    // Now the slow client reads: some events, then a resync, then it continues live.
    let mut seen = 0u64;
    let mut resync = None;
    loop {
        let v = next_json(&mut slow).await;
        match v["type"].as_str() {
            Some("grid.query") => {
                let seq = v["seq"].as_u64().unwrap();
                assert!(seq > seen, "increasing");
                seen = seq;
                if seq == marker {
                    break;
                }
            }
            Some("resync") => {
                assert_eq!(v["reason"], "lagged");
                resync = Some(seen);
            }
            other => panic!("unexpected {other:?}: {v}"),
        }
    }
    let before = resync.expect("the slow client was told to resync");
    assert!(before < n as u64, "it lost events: {before} of {n}");
    assert!(bus.stats().lagged >= 1);
    // Still subscribed and live after the resync.
    let after = bus
        .publish("grid", "grid.query", "kernel", json!({}))
        .unwrap();
    assert_eq!(next_json(&mut slow).await["seq"], after);
    assert_eq!(next_json(&mut fast).await["seq"], after);
}

#[test]
fn a_million_token_batch_is_one_event_and_the_sink_is_cheap() {
    const N: usize = 1_000_000;
    // Without a bus.
    let bare = RuntimeStorage::new();
    let t = Instant::now();
    create_tokens(&bare, N);
    let without = t.elapsed();
    drop(bare);

    let store = Arc::new(RuntimeStorage::new());
    let bus = Bus::attach(&store);
    let (mut rx, start) = bus.live();
    let t = Instant::now();
    let ids = create_tokens(&store, N);
    let with = t.elapsed();
    let ev = rx.try_recv().expect("one event");
    assert!(rx.try_recv().is_err(), "exactly one event");
    assert_eq!(ev.seq, start + 1);
    assert_eq!(bus.seq(), start + 1);
    let v: serde_json::Value = serde_json::from_str(ev.text.as_str()).unwrap();
    assert_eq!(v["type"], "token.created");
    assert_eq!(v["data"]["count"], N);
    assert_eq!(v["data"]["ranges"], json!([[ids[0], ids[N - 1]]]));
    assert!(ev.text.len() < 300, "compact: {} bytes", ev.text.len());

    // The sink's own cost on that batch, measured directly.
    let t = Instant::now();
    let runs = neurograph_core::server::events::id_runs(&ids, 64);
    let scan = t.elapsed();
    assert_eq!(runs.0.len(), 1);
    println!(
        "create_many({N}): without bus {without:?}, with bus {with:?}; \
         id-run scan {scan:?}; event {} bytes",
        ev.text.len()
    );
    bus.detach(&store);
}

/// Fan-out figures (printed, never asserted on time): `CLIENTS` clients subscribed to
/// `tokens` while a notebook-like writer updates tokens at about `RATE` a second for `SECS`
/// seconds. Run in release: `cargo test --release --features server --test server_ws_load
/// -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run on demand in release"]
async fn fan_out_figures() {
    use neurograph_core::storage::tokens::TokenUpdate;
    const CLIENTS: usize = 100;
    const RATE: u64 = 1000;
    const SECS: u64 = 3;
    let s = Served::start(|c| c.events.max_connections_per_principal = CLIENTS);
    let ids = create_tokens(&s.store, 100);
    let total = (RATE * SECS) as usize;
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (mut ws, _) = s.connect().await;
        subscribe(&mut ws, &["tokens"], None).await;
        tasks.push(tokio::spawn(async move {
            use futures_util::StreamExt;
            // Cheap on the client side (it shares the cores with the server): read the time
            // stamp without parsing the whole frame.
            let mut lat = Vec::with_capacity(total);
            while lat.len() < total {
                let msg = tokio::time::timeout(PATIENCE, ws.next()).await.unwrap();
                let msg = msg.unwrap().unwrap();
                let Ok(text) = msg.to_text() else { continue };
                if !text.contains("\"token.updated\"") {
                    continue;
                }
                let at = text.find("\"time\":").unwrap() + 7;
                let end = at + text[at..].find(',').unwrap();
                let sent: f64 = text[at..end].parse().unwrap();
                lat.push(neurograph_core::clock::now_f64() - sent);
            }
            lat
        }));
    }
    let store = s.store.clone();
    let writer = std::thread::spawn(move || {
        let t0 = Instant::now();
        for i in 0..total as u64 {
            let due = t0 + Duration::from_micros(i * 1_000_000 / RATE);
            if let Some(d) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
            let u = TokenUpdate {
                weight: Some(0.5 + (i % 2) as f32 * 0.25),
                ..Default::default()
            };
            store.update_token(ids[i as usize % ids.len()], u).unwrap();
        }
        t0.elapsed()
    });
    let mut all = Vec::with_capacity(total * CLIENTS);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let took = writer.join().unwrap();
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| all[((all.len() - 1) as f64 * p) as usize] * 1e3;
    println!(
        "fan-out: {CLIENTS} clients x {total} events in {took:?} ({:.0}/s): delivered {} of {}, \
         latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, lagged {}",
        total as f64 / took.as_secs_f64(),
        all.len(),
        total * CLIENTS,
        pct(0.5),
        pct(0.99),
        pct(1.0),
        s.server.state.bus.stats().lagged
    );
    assert_eq!(all.len(), total * CLIENTS);
}
