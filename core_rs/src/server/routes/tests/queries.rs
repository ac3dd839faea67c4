//! `/api/v1/grid...`, `/api/v1/graph...`, `/api/v1/query...`.

use super::*;
use serde_json::json;

#[tokio::test]
async fn grid_queries_answer_and_bound_their_arguments() {
    let (app, st) = app();
    let t = make_tokens(&app, &st, 200).await;
    let info = get(&app, &st, "/api/v1/grid/info").await;
    assert_eq!(info.status, StatusCode::OK);
    let cog = info
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["space"] == "cognitive")
        .unwrap();
    assert_eq!(cog["tokens"], 200);

    let n = post(
        &app,
        &st,
        "/api/v1/grid/neighbors",
        json!({"space": "cognitive", "token": t[0], "k": 5}),
    )
    .await;
    assert_eq!(n.status, StatusCode::OK, "{}", n.body);
    let ids = n.body["ids"].as_array().unwrap();
    assert_eq!(ids.len(), 5);
    assert!(!ids.contains(&json!(t[0])), "the query token is left out");
    let d: Vec<f64> = n.body["distances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]));
    let p = post(
        &app,
        &st,
        "/api/v1/grid/neighbors",
        json!({"space": "L5", "point": [0.0, 0.0, 0.5], "k": 1}),
    )
    .await;
    assert_eq!(p.body["ids"], json!([t[0]]));

    let k = post(
        &app,
        &st,
        "/api/v1/grid/neighbors",
        json!({"space": "cognitive", "token": t[0], "k": 10001}),
    )
    .await;
    let pr = k.problem(422);
    assert_eq!(
        (pr["field"].clone(), pr["limit"].clone()),
        (json!("k"), json!(10000.0))
    );
    let both = post(
        &app,
        &st,
        "/api/v1/grid/neighbors",
        json!({"space": "cognitive", "token": t[0], "point": [0, 0, 0]}),
    )
    .await;
    assert_eq!(both.problem(422)["field"], "token");
    let space = post(
        &app,
        &st,
        "/api/v1/grid/neighbors",
        json!({"space": "L9", "token": t[0]}),
    )
    .await;
    assert_eq!(space.problem(422)["field"], "space");
    post(
        &app,
        &st,
        "/api/v1/grid/neighbors",
        json!({"space": "cognitive", "token": 999_999}),
    )
    .await
    .problem(404);
    let unplaced = post(
        &app,
        &st,
        "/api/v1/grid/neighbors",
        json!({"space": "physical", "token": t[0]}),
    )
    .await;
    assert_eq!(unplaced.problem(422)["field"], "token");

    let b = post(
        &app,
        &st,
        "/api/v1/grid/neighbors/batch",
        json!({"space": "cognitive", "points": [[0, 0, 0.5], [0.5, 0.5, 0.5], [1, 1, 0.5]], "k": 4}),
    )
    .await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.body);
    assert_eq!(b.body["k"], 4);
    assert_eq!(b.body["ids"].as_array().unwrap().len(), 3);
    assert_eq!(b.body["ids"][0][0], t[0]);
    let over = post(
        &app,
        &st,
        "/api/v1/grid/neighbors/batch",
        json!({"space": "cognitive", "points": vec![[0.0, 0.0, 0.0]; 2000], "k": 10000}),
    )
    .await;
    assert_eq!(over.problem(422)["field"], "k");

    let r = post(
        &app,
        &st,
        "/api/v1/grid/range",
        json!({"space": "cognitive", "point": [0, 0, 0.5], "radius": 0.015, "limit": 2}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["count"], 4);
    assert_eq!(r.body["truncated"], true);
    assert_eq!(r.body["ids"].as_array().unwrap().len(), 2);
    let neg = post(
        &app,
        &st,
        "/api/v1/grid/range",
        json!({"space": "cognitive", "point": [0, 0, 0.5], "radius": -1}),
    )
    .await;
    assert_eq!(neg.problem(422)["field"], "radius");

    let i = post(
        &app,
        &st,
        "/api/v1/grid/influence",
        json!({"space": "cognitive", "point": [0.5, 0.5, 0.5]}),
    )
    .await;
    assert_eq!(i.status, StatusCode::OK);
    assert!(i.body["influence"].is_number());
    let dn = post(
        &app,
        &st,
        "/api/v1/grid/density",
        json!({"space": "cognitive", "point": [0, 0, 0.5], "radius": 0.015}),
    )
    .await;
    assert_eq!(dn.body["count"], 4);
    let dz = post(
        &app,
        &st,
        "/api/v1/grid/density",
        json!({"space": "cognitive", "point": [0, 0, 0.5], "radius": 0}),
    )
    .await;
    assert_eq!(dz.problem(422)["field"], "radius");

    let x = post(
        &app,
        &st,
        "/api/v1/grid/cross-space",
        json!({"point": vec![0.0; 24], "k": 3}),
    )
    .await;
    assert_eq!(x.status, StatusCode::OK, "{}", x.body);
    assert_eq!(
        x.body["ids"],
        json!([]),
        "no token is placed in all eight spaces"
    );
    let short = post(
        &app,
        &st,
        "/api/v1/grid/cross-space",
        json!({"point": [0.0, 1.0], "k": 3}),
    )
    .await;
    assert_eq!(short.problem(422)["field"], "point");
}

#[tokio::test]
async fn graph_queries_follow_connections() {
    let (app, st) = app();
    let t = make_tokens(&app, &st, 6).await;
    // a chain 0 -> 1 -> 2 -> 3 and a pair 4 -> 5
    let c = post(
        &app,
        &st,
        "/api/v1/connections/batch",
        json!({"a": [t[0], t[1], t[2], t[4]], "b": [t[1], t[2], t[3], t[5]]}),
    )
    .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    let bfs = get(
        &app,
        &st,
        &format!("/api/v1/graph/bfs?start={}&depth=2", t[0]),
    )
    .await;
    assert_eq!(bfs.status, StatusCode::OK, "{}", bfs.body);
    assert_eq!(bfs.body["ids"], json!([t[0], t[1], t[2]]));
    assert_eq!(bfs.body["depth"], json!([0, 1, 2]));
    let capped = get(
        &app,
        &st,
        &format!("/api/v1/graph/bfs?start={}&limit=2", t[0]),
    )
    .await;
    assert_eq!(
        (
            capped.body["count"].clone(),
            capped.body["truncated"].clone()
        ),
        (json!(4), json!(true))
    );
    get(&app, &st, "/api/v1/graph/bfs?start=999999")
        .await
        .problem(404);
    let missing = get(&app, &st, "/api/v1/graph/bfs").await;
    assert_eq!(missing.problem(422)["field"], "query");

    let path = get(
        &app,
        &st,
        &format!("/api/v1/graph/path?from={}&to={}", t[0], t[3]),
    )
    .await;
    assert_eq!(path.body["found"], true);
    assert_eq!(path.body["path"], json!([t[0], t[1], t[2], t[3]]));
    assert_eq!(path.body["cost"], 3.0);
    let none = get(
        &app,
        &st,
        &format!("/api/v1/graph/path?from={}&to={}", t[0], t[5]),
    )
    .await;
    assert_eq!(none.body["found"], false);
    let w = get(
        &app,
        &st,
        &format!(
            "/api/v1/graph/path?from={}&to={}&weight=distance&space=cognitive",
            t[0], t[3]
        ),
    )
    .await;
    assert_eq!(w.status, StatusCode::OK, "{}", w.body);
    let bad = get(
        &app,
        &st,
        &format!("/api/v1/graph/path?from={}&to={}&weight=fast", t[0], t[3]),
    )
    .await;
    assert_eq!(bad.problem(422)["field"], "weight");
    let uri = format!("/api/v1/graph/path?from={}&to={}&space=", t[0], t[3]);
    assert_eq!(get(&app, &st, &uri).await.problem(422)["field"], "space");

    let comps = get(&app, &st, "/api/v1/graph/components?limit=1").await;
    assert_eq!(comps.body["count"], 2);
    assert_eq!(comps.body["tokens"], 6);
    assert_eq!(comps.body["largest"], json!([{"first": t[0], "size": 4}]));

    let sub = post(
        &app,
        &st,
        "/api/v1/graph/subgraph",
        json!({"ids": [t[0], t[1], t[2]]}),
    )
    .await;
    assert_eq!(sub.body.as_array().unwrap().len(), 2);
    post(
        &app,
        &st,
        "/api/v1/graph/subgraph",
        json!({"ids": [999_999]}),
    )
    .await
    .problem(404);
}

#[tokio::test]
async fn semantic_queries_need_a_bootstrap() {
    let (app, st) = app();
    let none = post(&app, &st, "/api/v1/query", json!({"text": "cat"})).await;
    assert_eq!(none.problem(409)["type"], "/problems/no-bootstrap");

    let (store, _) = crate::storage::bootstrap::fixture::animals();
    let (app, st) = app_with(store, Config::default());
    let q = post(&app, &st, "/api/v1/query", json!({"text": "cat", "k": 1})).await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.body);
    assert_eq!(q.body["words"], json!(["dog"]));
    let terms = post(
        &app,
        &st,
        "/api/v1/query",
        json!({"terms": [{"word": "car", "sign": 1.0}], "k": 1}),
    )
    .await;
    assert_eq!(terms.body["words"], json!(["truck"]));
    let unknown = post(&app, &st, "/api/v1/query", json!({"text": "zebra"})).await;
    unknown.problem(422);
    let both = post(
        &app,
        &st,
        "/api/v1/query",
        json!({"text": "cat", "vector": [1.0]}),
    )
    .await;
    assert_eq!(both.problem(422)["field"], "text");
    let k = post(
        &app,
        &st,
        "/api/v1/query",
        json!({"text": "cat", "k": 5000}),
    )
    .await;
    assert_eq!(k.problem(422)["field"], "k");

    let batch = post(
        &app,
        &st,
        "/api/v1/query/batch",
        json!({"texts": ["cat", "apple"], "k": 1}),
    )
    .await;
    assert_eq!(batch.status, StatusCode::OK, "{}", batch.body);
    assert_eq!(batch.body["ids"].as_array().unwrap().len(), 2);
    let v = post(
        &app,
        &st,
        "/api/v1/query/batch",
        json!({"vectors": [[1.0, 0.2, 0, 0, 0, 0], [0, 0, 0, 0, 1.0, 0.2]], "k": 2}),
    )
    .await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    assert_eq!(v.body["k"], 2);
    assert_eq!(v.body["scores"][1].as_array().unwrap().len(), 2);
    let ragged = post(
        &app,
        &st,
        "/api/v1/query/batch",
        json!({"vectors": [[1.0, 0.0], [1.0]]}),
    )
    .await;
    assert_eq!(ragged.problem(422)["field"], "vectors[1]");
    let zero = post(
        &app,
        &st,
        "/api/v1/query/batch",
        json!({"vectors": [[0, 0, 0, 0, 0, 0]]}),
    )
    .await;
    assert_eq!(zero.problem(422)["field"], "queries");
}

#[tokio::test]
async fn api_queries_and_writes_reach_the_event_stream() {
    use crate::server::events::Channel;
    let (app, st) = app();
    let t = make_tokens(&app, &st, 3).await;
    let (mut rx, _) = st.bus.live();
    // Nobody listens to `grid`: a query publishes nothing.
    post(
        &app,
        &st,
        "/api/v1/grid/neighbors",
        json!({"space": "cognitive", "token": t[0], "k": 1}),
    )
    .await;
    st.bus
        .resubscribe(0, Channel::Grid.bit() | Channel::Tokens.bit());
    let q = post(
        &app,
        &st,
        "/api/v1/grid/neighbors",
        json!({"space": "cognitive", "token": t[0], "k": 1}),
    )
    .await;
    assert_eq!(q.status, StatusCode::OK);
    post(&app, &st, "/api/v1/tokens", json!({"label": "fresh"})).await;
    let mut texts = Vec::new();
    while let Ok(e) = rx.try_recv() {
        texts.push(e.text.to_string());
    }
    let grid: Vec<&String> = texts.iter().filter(|t| t.contains("grid.query")).collect();
    assert_eq!(grid.len(), 1, "{texts:?}");
    assert!(
        grid[0].contains("\"origin\":\"api:") && grid[0].contains("neighbors"),
        "{}",
        grid[0]
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("token.created") && t.contains("\"origin\":\"api:")),
        "{texts:?}"
    );
}
