//! `/api/v1/ws` against a real server and a real WebSocket client: hello, subscribe, events
//! from notebook (kernel) and API writes, sequence numbers, resume, resync, heartbeat, Origin
//! and auth checks, limits.
#![cfg(feature = "server")]

mod ws_support;

use neurograph_core::storage::connections::ConnectionBatch;
use neurograph_core::storage::events::with_origin;
use neurograph_core::storage::tokens::TokenUpdate;
use serde_json::{json, Value};
use std::time::Duration;
use ws_support::*;

const STORE: &[&str] = &["tokens", "connections", "cdna", "events"];
/// Every channel but `metrics`, whose ticks (every second while subscribed) would take sequence
/// numbers at times the test does not control.
const NO_METRICS: &[&str] = &["tokens", "connections", "grid", "cdna", "events"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_then_subscribe_then_store_events_in_order() {
    let s = Served::start(|_| {});
    let (mut ws, hello) = s.connect().await;
    assert_eq!(hello["seq"], 0);
    assert_eq!(hello["heartbeat_s"], 15.0);
    assert_eq!(hello["epoch"].as_str().unwrap().len(), 16);
    let (replayed, ack) = subscribe(&mut ws, STORE, None).await;
    assert!(replayed.is_empty());
    assert_eq!(
        ack["channels"],
        json!(["tokens", "connections", "cdna", "events"])
    );

    // A notebook write (no origin set: "kernel").
    let ids = create_tokens(&s.store, 3);
    let ev = next_json(&mut ws).await;
    assert_eq!(ev["type"], "token.created", "{ev}");
    assert_eq!((ev["v"].as_u64(), ev["seq"].as_u64()), (Some(1), Some(1)));
    assert_eq!(ev["channel"], "tokens");
    assert_eq!(ev["origin"], "kernel");
    assert_eq!(ev["data"]["count"], 3);
    assert_eq!(ev["data"]["ranges"], json!([[ids[0], ids[2]]]));
    assert!(ev["time"].as_f64().unwrap() > 1.6e9);

    // Writes a request makes (marked with its principal) and every other kind.
    let more = with_origin("api:alice", || create_tokens(&s.store, 1));
    let update = TokenUpdate {
        weight: Some(0.5),
        ..Default::default()
    };
    s.store.update_token(ids[0], update).unwrap();
    let conns = s
        .store
        .create_connections(&ConnectionBatch::associated(&ids[..2], &ids[1..3]))
        .unwrap();
    s.store.delete_connections(&conns[..1]).unwrap();
    s.store.set_scales(&[(0, 2.0)]).unwrap();
    s.store.delete_tokens(&[more[0]]).unwrap();
    let bad = TokenUpdate {
        weight: Some(f32::NAN),
        ..Default::default()
    };
    assert!(s.store.update_token(ids[1], bad).is_err());
    s.store.clear();

    let expect = [
        ("token.created", "tokens"),
        ("token.updated", "tokens"),
        ("connection.created", "connections"),
        ("connection.deleted", "connections"),
        ("cdna.updated", "cdna"),
        ("token.deleted", "tokens"),
        ("guardian.refused", "events"),
        ("runtime.reset", "events"),
    ];
    let mut seq = 1;
    for (i, (kind, channel)) in expect.iter().enumerate() {
        let ev = next_json(&mut ws).await;
        seq += 1;
        assert_eq!(ev["seq"], seq, "no gap: {ev}");
        assert_eq!(
            (ev["type"].as_str(), ev["channel"].as_str()),
            (Some(*kind), Some(*channel))
        );
        let origin = if i == 0 { "api:alice" } else { "kernel" };
        assert_eq!(ev["origin"], origin, "{ev}");
        match *kind {
            "token.updated" => assert_eq!(ev["data"]["id"], ids[0]),
            "connection.created" => assert_eq!(ev["data"]["count"], 2),
            "cdna.updated" => {
                let cdna = s.store.cdna();
                assert_eq!(ev["data"]["revision"], cdna.revision);
                let sum = neurograph_core::server::events::cdna_checksum(&cdna);
                assert_eq!(ev["data"]["checksum"], format!("{sum:016x}"));
            }
            "token.deleted" => assert_eq!(ev["data"]["ranges"], json!([[more[0], more[0]]])),
            "guardian.refused" => assert_eq!(ev["data"]["action"], "token.update"),
            "runtime.reset" => assert_eq!(ev["data"]["reason"], "clear"),
            _ => {}
        }
    }
    assert_eq!(s.server.state.bus.seq(), seq);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_filter_and_server_side_events() {
    let s = Served::start(|_| {});
    let (mut ws, _) = s.connect().await;
    subscribe(&mut ws, &["grid"], None).await;
    create_tokens(&s.store, 2); // seq 1, on tokens: not delivered
    assert!(s.server.state.bus.wants("grid"));
    assert!(!s.server.state.bus.wants("tokens"));
    let seq = s
        .server
        .state
        .bus
        .publish("grid", "grid.query", "api:bob", json!({"k": 3}));
    assert_eq!(seq, Some(2));
    let ev = next_json(&mut ws).await;
    assert_eq!(
        (ev["type"].as_str(), ev["seq"].as_u64()),
        (Some("grid.query"), Some(2))
    );
    assert_eq!(ev["data"], json!({"k": 3}));
    // A reset reaches every subscriber whatever its channels.
    s.store.clear();
    assert_eq!(next_json(&mut ws).await["type"], "runtime.reset");
    // Unsubscribing stops delivery: the grid event (seq 4) is skipped, the next token event
    // (seq 5) is the next frame after the acknowledgements.
    send(&mut ws, json!({"op": "unsubscribe", "channels": ["grid"]})).await;
    assert_eq!(next_json(&mut ws).await["channels"], json!([]));
    s.server
        .state
        .bus
        .publish("grid", "grid.query", "kernel", json!({}));
    subscribe(&mut ws, &["tokens"], None).await;
    create_tokens(&s.store, 1);
    let ev = next_json(&mut ws).await;
    assert_eq!(
        (ev["type"].as_str(), ev["seq"].as_u64()),
        (Some("token.created"), Some(5))
    );
    // A ping answers with the connection's position.
    send(&mut ws, json!({"op": "ping"})).await;
    let pong = next_json(&mut ws).await;
    assert_eq!(
        (pong["type"].as_str(), pong["seq"].as_u64()),
        (Some("pong"), Some(5))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_with_after_gets_exactly_the_missed_events() {
    let s = Served::start(|_| {});
    let (mut ws, _) = s.connect().await;
    subscribe(&mut ws, NO_METRICS, None).await;
    create_tokens(&s.store, 1);
    let last = next_json(&mut ws).await["seq"].as_u64().unwrap();
    drop(ws);
    // Missed while away: three token writes and a grid event.
    for _ in 0..3 {
        create_tokens(&s.store, 2);
    }
    s.server
        .state
        .bus
        .publish("grid", "grid.query", "kernel", json!({}));
    let (mut ws, hello) = s.connect().await;
    assert_eq!(hello["seq"], last + 4);
    let (replayed, ack) = subscribe(&mut ws, &["tokens"], Some(last)).await;
    let seqs: Vec<u64> = replayed
        .iter()
        .map(|v| v["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        vec![last + 1, last + 2, last + 3],
        "only tokens, in order"
    );
    assert_eq!(ack["seq"], last + 4);
    // Then live events continue after the replay.
    create_tokens(&s.store, 1);
    assert_eq!(next_json(&mut ws).await["seq"], last + 5);
    // Asking again from the start of the ring replays everything it holds.
    let (replayed, _) = subscribe(&mut ws, NO_METRICS, Some(0)).await;
    assert_eq!(replayed.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_past_the_ring_gets_resync() {
    let s = Served::start(|c| c.events.ring = 4);
    for _ in 0..10 {
        create_tokens(&s.store, 1);
    }
    let (mut ws, hello) = s.connect().await;
    assert_eq!(hello["seq"], 10);
    let (replayed, _) = subscribe(&mut ws, STORE, Some(2)).await;
    assert_eq!(replayed.len(), 1);
    assert_eq!(
        (replayed[0]["type"].as_str(), replayed[0]["reason"].as_str()),
        (Some("resync"), Some("gap"))
    );
    // The ring still serves the last four.
    let (replayed, _) = subscribe(&mut ws, STORE, Some(6)).await;
    assert_eq!(
        replayed
            .iter()
            .map(|v| v["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![7, 8, 9, 10]
    );
    // A sequence number from the future (another server start) needs a resync too.
    let (replayed, _) = subscribe(&mut ws, STORE, Some(99)).await;
    assert_eq!(replayed[0]["type"], "resync");
    // Live events still flow.
    create_tokens(&s.store, 1);
    assert_eq!(next_json(&mut ws).await["seq"], 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_and_ping_arrive() {
    let s = Served::start(|c| c.events.heartbeat = Duration::from_millis(50));
    let (mut ws, hello) = s.connect().await;
    assert_eq!(hello["heartbeat_s"], 0.05);
    subscribe(&mut ws, &["tokens"], None).await;
    create_tokens(&s.store, 1);
    assert_eq!(next_json(&mut ws).await["seq"], 1);
    let hb = next_of_type(&mut ws, "heartbeat").await;
    assert_eq!(hb["seq"], 1);
    // A WebSocket ping comes with the heartbeats (the client answers it on read).
    use futures_util::StreamExt;
    loop {
        let msg = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if msg.is_ping() {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_published_while_subscribed() {
    let s = Served::start(|c| c.events.metrics_interval = Duration::from_millis(20));
    create_tokens(&s.store, 5);
    let (mut ws, _) = s.connect().await;
    subscribe(&mut ws, &["metrics"], None).await;
    let m = next_of_type(&mut ws, "metrics").await;
    assert_eq!(
        (m["channel"].as_str(), m["origin"].as_str()),
        (Some("metrics"), Some("server"))
    );
    assert_eq!(m["data"]["tokens"], 5);
    assert_eq!(m["data"]["ws_clients"], 1);
    let m = next_of_type(&mut ws, "metrics").await;
    assert!(m["data"]["events_per_s"].as_f64().is_some(), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_upgrade_is_refused() {
    let s = Served::start(|_| {});
    assert_eq!(s.try_connect(None, None, None).await.err(), Some(401));
    assert_eq!(
        s.try_connect(Some("ngk_wrong"), None, None).await.err(),
        Some(401)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_is_checked_on_upgrade() {
    let s = Served::start(|c| c.allowed_origins = vec!["https://dash.example".into()]);
    let key = Some(s.key.as_str());
    let evil = s.try_connect(key, Some("https://evil.example"), None).await;
    assert_eq!(evil.err(), Some(403));
    assert_eq!(
        s.try_connect(key, Some("null"), None).await.err(),
        Some(403)
    );
    let own = format!("http://{}", s.server.addr);
    assert!(s.try_connect(key, Some(&own), None).await.is_ok());
    assert!(s
        .try_connect(key, Some("https://dash.example"), None)
        .await
        .is_ok());
    // Another port on the same host is another origin.
    let other = format!("http://127.0.0.1:{}", s.server.addr.port() as u32 + 1);
    assert_eq!(
        s.try_connect(key, Some(&other), None).await.err(),
        Some(403)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_principal_are_limited() {
    let s = Served::start(|c| c.events.max_connections_per_principal = 2);
    let (a, _) = s.connect().await;
    let (_b, _) = s.connect().await;
    assert_eq!(
        s.try_connect(Some(&s.key), None, None).await.err(),
        Some(429)
    );
    drop(a);
    // The slot comes back once the server has seen the close: wait on that condition.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match s.try_connect(Some(&s.key), None, None).await {
            Ok(_) => break,
            Err(429) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => panic!("status {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_errors_and_the_connection_stays() {
    let s = Served::start(|_| {});
    let (mut ws, _) = s.connect().await;
    let cases = [
        (json!({"op": "dance"}), "unknown op"),
        (json!({"nope": 1}), "no op"),
        (json!([1, 2]), "JSON object"),
        (
            json!({"op": "subscribe", "channels": ["tokens", "gossip"]}),
            "unknown channel",
        ),
        (json!({"op": "subscribe", "channels": "tokens"}), "list"),
        (
            json!({"op": "subscribe", "channels": ["tokens"], "after": -1}),
            "after",
        ),
    ];
    for (frame, says) in cases {
        send(&mut ws, frame).await;
        let err = next_json(&mut ws).await;
        assert_eq!(err["type"], "error");
        assert!(err["detail"].as_str().unwrap().contains(says), "{err}");
    }
    send(&mut ws, json!({"op": "ping"})).await;
    assert_eq!(next_json(&mut ws).await["type"], "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_client_frame_closes_the_connection() {
    use futures_util::{SinkExt, StreamExt};
    let s = Served::start(|_| {});
    let (mut ws, _) = s.connect().await;
    let big = "x".repeat(65 << 10);
    let _ = ws
        .send(tokio_tungstenite::tungstenite::Message::Text(big.into()))
        .await;
    // The server drops the connection (a close frame or the end of the stream), never a reply.
    loop {
        match tokio::time::timeout(PATIENCE, ws.next()).await.unwrap() {
            None | Some(Err(_)) => break,
            Some(Ok(m)) if m.is_close() => break,
            Some(Ok(m)) => {
                let v: Value =
                    serde_json::from_str(m.to_text().unwrap_or("{}")).unwrap_or_default();
                assert_ne!(v["type"], "error", "{v}");
            }
        }
    }
    // Others are unaffected.
    let (mut ws2, _) = s.connect().await;
    send(&mut ws2, json!({"op": "ping"})).await;
    assert_eq!(next_json(&mut ws2).await["type"], "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_server_closes_streams_and_detaches_the_sink() {
    let mut s = Served::start(|_| {});
    let (mut ws, _) = s.connect().await;
    // The event bus and the audit log (notebook writes) listen to the store.
    assert_eq!(s.store.sink_count(), 2);
    let store = s.store.clone();
    tokio::task::spawn_blocking(move || s.server.stop())
        .await
        .unwrap();
    assert_eq!(store.sink_count(), 0);
    use futures_util::StreamExt;
    loop {
        match tokio::time::timeout(PATIENCE, ws.next()).await.unwrap() {
            None | Some(Err(_)) => break,
            Some(Ok(m)) if m.is_close() => break,
            Some(Ok(_)) => {}
        }
    }
}
