//! The event stream with the HTTP API: a request's write and a notebook's write produce the
//! same events; browsers connect with a single-use ticket; a readonly key may listen.
#![cfg(feature = "server")]

mod ws_support;

use serde_json::{json, Value};
use ws_support::*;

/// The event without what legitimately differs between two writes (seq, time, ids).
fn shape(ev: &Value) -> Value {
    json!({
        "v": ev["v"], "type": ev["type"], "channel": ev["channel"],
        "count": ev["data"]["count"], "keys": ev["data"].as_object().unwrap().keys().collect::<Vec<_>>(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_writes_and_notebook_writes_give_the_same_events() {
    let s = Served::start(|_| {});
    let (mut ws, _) = s.connect().await;
    subscribe(&mut ws, &["tokens"], None).await;

    let body = json!({"coords": {"physical": [1.0, 2.0, 3.0]}, "label": "from-api"});
    let (status, created) = http(
        s.server.addr,
        "POST",
        "/api/v1/tokens",
        Some(&s.key),
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_u64().unwrap();
    let api_ev = next_json(&mut ws).await;
    assert_eq!(api_ev["type"], "token.created");
    assert!(
        api_ev["origin"].as_str().unwrap().starts_with("api:"),
        "{api_ev}"
    );
    assert_eq!(api_ev["data"]["ranges"], json!([[id, id]]));

    let kernel_id = create_tokens(&s.store, 1)[0];
    let kernel_ev = next_json(&mut ws).await;
    assert_eq!(kernel_ev["origin"], "kernel");
    assert_eq!(kernel_ev["data"]["ranges"], json!([[kernel_id, kernel_id]]));
    assert_eq!(shape(&api_ev), shape(&kernel_ev));
    assert_eq!(
        kernel_ev["seq"].as_u64(),
        api_ev["seq"].as_u64().map(|q| q + 1)
    );

    // Deletes too: one over HTTP, one from the notebook.
    let (status, _) = http(
        s.server.addr,
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        Some(&s.key),
        None,
    )
    .await;
    assert!(status == 200 || status == 204, "{status}");
    let api_del = next_json(&mut ws).await;
    assert_eq!(
        (api_del["type"].as_str(), api_del["origin"].as_str()),
        (Some("token.deleted"), api_ev["origin"].as_str())
    );
    s.store.delete_tokens(&[kernel_id]).unwrap();
    let kernel_del = next_json(&mut ws).await;
    assert_eq!(kernel_del["origin"], "kernel");
    assert_eq!(shape(&api_del), shape(&kernel_del));

    // A refused API write reaches the events channel like a refused notebook write.
    subscribe(&mut ws, &["events"], None).await;
    let bad = json!({"coords": {"physical": [1.0e6, 0.0, 0.0]}});
    let (status, _) = http(
        s.server.addr,
        "POST",
        "/api/v1/tokens",
        Some(&s.key),
        Some(bad),
    )
    .await;
    assert_eq!(status, 422);
    let refused = next_json(&mut ws).await;
    assert_eq!(refused["type"], "guardian.refused", "{refused}");
    assert_eq!(refused["origin"], api_ev["origin"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_connects_with_a_single_use_ticket_and_its_origin() {
    let s = Served::start(|_| {});
    let own = format!("http://{}", s.server.addr);
    let ticket = |s: &Served| {
        let (addr, key) = (s.server.addr, s.key.clone());
        async move {
            let (status, t) = http(addr, "POST", "/api/v1/auth/ws-ticket", Some(&key), None).await;
            assert_eq!(status, 200, "{t}");
            t["ticket"].as_str().unwrap().to_string()
        }
    };
    let t = ticket(&s).await;
    let url = format!("{}?ticket={t}", s.url());
    let mut ws = s
        .try_connect_to(&url, None, Some(&own), None)
        .await
        .expect("ticket accepted");
    assert_eq!(next_json(&mut ws).await["type"], "hello");
    // Single use.
    assert_eq!(
        s.try_connect_to(&url, None, Some(&own), None).await.err(),
        Some(401)
    );
    // A ticket from another site's page, or with no Origin at all, is refused.
    let t = ticket(&s).await;
    let url = format!("{}?ticket={t}", s.url());
    assert_eq!(
        s.try_connect_to(&url, None, Some("https://evil.example"), None)
            .await
            .err(),
        Some(403)
    );
    let t = ticket(&s).await;
    let url = format!("{}?ticket={t}", s.url());
    assert_eq!(
        s.try_connect_to(&url, None, None, None).await.err(),
        Some(403)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readonly_key_listens() {
    let s = Served::start(|_| {});
    let (status, k) = http(
        s.server.addr,
        "POST",
        "/api/v1/api-keys",
        Some(&s.key),
        Some(json!({"role": "readonly"})),
    )
    .await;
    assert_eq!(status, 201, "{k}");
    let key = k["key"].as_str().unwrap();
    let mut ws = s
        .try_connect(Some(key), None, None)
        .await
        .expect("readonly may listen");
    assert_eq!(next_json(&mut ws).await["type"], "hello");
    subscribe(&mut ws, &["tokens"], None).await;
    create_tokens(&s.store, 2);
    assert_eq!(next_json(&mut ws).await["data"]["count"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_get_is_told_to_upgrade_and_the_route_is_documented() {
    let s = Served::start(|_| {});
    let (status, p) = http(s.server.addr, "GET", "/api/v1/ws", Some(&s.key), None).await;
    assert_eq!(status, 426, "{p}");
    assert_eq!(p["type"], "/problems/upgrade-required");
    let (status, _) = http(s.server.addr, "GET", "/api/v1/ws", None, None).await;
    assert_eq!(status, 401);
    let (status, spec) = http(
        s.server.addr,
        "GET",
        "/api/v1/openapi.json",
        Some(&s.key),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let op = &spec["paths"]["/api/v1/ws"]["get"];
    assert_eq!(op["x-required-role"], "readonly", "{op}");
}
