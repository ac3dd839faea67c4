//! The dashboard's grid and graph views: the explorers' messages over HTTP.

use super::*;
use crate::space::NUM_SPACES;
use serde_json::json;

/// A GET with the admin key, answered as raw bytes.
async fn raw(
    app: &Router,
    state: &AppState,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Vec<u8>) {
    let key = state.auth.ephemeral_admin_key();
    let req = Request::builder()
        .method(if body.is_some() {
            Method::POST
        } else {
            Method::GET
        })
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(match body {
            Some(b) => Body::from(serde_json::to_vec(&b).unwrap()),
            None => Body::empty(),
        })
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

/// The messages of an `application/x-ng-msgs` body: (content, buffers) each.
fn msgs(b: &[u8]) -> Vec<(Value, Vec<Vec<u8>>)> {
    assert_eq!(&b[..4], b"NGM1");
    let h = u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize;
    let head: Value = serde_json::from_slice(&b[8..8 + h]).unwrap();
    let mut at = (8 + h).div_ceil(8) * 8;
    let mut out = Vec::new();
    for m in head.as_array().unwrap() {
        let mut bufs = Vec::new();
        for l in m["buffers"].as_array().unwrap() {
            let l = l.as_u64().unwrap() as usize;
            bufs.push(b[at..at + l].to_vec());
            at = (at + l).div_ceil(8) * 8;
        }
        out.push((m["content"].clone(), bufs));
    }
    assert_eq!(at, b.len());
    out
}

fn u32s(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[tokio::test]
async fn grid_chunks_carry_the_quantised_coordinates_of_the_display_order() {
    let (app, state) = app();
    make_tokens(&app, &state, 300).await;
    let meta = get(&app, &state, "/api/v1/views/grid").await;
    assert_eq!(meta.status, StatusCode::OK, "{}", meta.body);
    let m = &meta.body;
    assert_eq!(
        (m["n"].as_u64(), m["stride"].as_u64()),
        (Some(300), Some(1))
    );
    assert_eq!(m["space"], "cognitive");
    assert_eq!(m["placed"][4], 300);
    assert_eq!(m["placed"][0], 0);
    assert_eq!(m["legend"]["items"][0]["count"], 300);
    let v = m["version"].as_u64().unwrap();
    let (st, ids) = raw(
        &app,
        &state,
        &format!("/api/v1/views/grid/ids?version={v}"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let ids = u32s(&ids);
    assert_eq!(ids.len(), 300);
    // the expected bytes: the core's quantisation of the store's coordinates, rows in display order
    let c = state.store.token_columns(0, None);
    let row: std::collections::HashMap<u32, u32> =
        c.id.iter()
            .enumerate()
            .map(|(i, t)| (*t, i as u32))
            .collect();
    let order: Vec<u32> = ids.iter().map(|t| row[t]).collect();
    let (codes, ranges) = crate::quantize::quantize_u8(&c.coords, 24, &order).unwrap();
    let (st, body) = raw(
        &app,
        &state,
        &format!("/api/v1/views/grid/coords?version={v}&chunk=0"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let got = msgs(&body);
    assert_eq!(got.len(), 1);
    let (content, bufs) = &got[0];
    assert_eq!(content["type"], "coords");
    assert_eq!(
        (content["chunk"].as_u64(), content["stride"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(bufs.len(), NUM_SPACES);
    for (sp, b) in bufs.iter().enumerate() {
        let want: Vec<u8> = (0..300)
            .flat_map(|i| [codes[i * 24 + sp * 3], codes[i * 24 + sp * 3 + 1]])
            .collect();
        assert_eq!(b, &want, "space {sp}");
    }
    assert!(bufs[0].iter().all(|&q| q == 255), "not placed in physical");
    let lo = ranges[12].lo;
    assert_eq!(m["bounds"][4][0][0].as_f64().unwrap(), lo);
    // main: cognitive axes 0, 2
    let (st, body) = raw(
        &app,
        &state,
        &format!("/api/v1/views/grid/main?version={v}&chunk=0&space=cognitive&axes=0,2"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (content, bufs) = &msgs(&body)[0];
    assert_eq!(content["axes"], json!([0, 2]));
    assert_eq!(bufs[0].len(), 600);
    assert_eq!(bufs[0][1], codes[12 + 2]);
}

#[tokio::test]
async fn grid_strides_big_data_and_refuses_stale_versions_and_bad_input() {
    let (app, state) = app();
    make_tokens(&app, &state, 70_000).await;
    let m = get(&app, &state, "/api/v1/views/grid").await.body;
    assert_eq!(m["stride"], 2);
    let v = m["version"].as_u64().unwrap();
    let (_, body) = raw(
        &app,
        &state,
        &format!("/api/v1/views/grid/coords?version={v}&chunk=1"),
        None,
    )
    .await;
    assert_eq!(msgs(&body)[0].1[4].len(), 2 * 35_000);
    let a = get(
        &app,
        &state,
        &format!("/api/v1/views/grid/coords?version={v}&chunk=2"),
    )
    .await;
    assert_eq!(a.problem(422)["field"], "chunk");
    let a = get(
        &app,
        &state,
        &format!("/api/v1/views/grid/main?version={v}&chunk=0&space=cognitive&axes=1,1"),
    )
    .await;
    assert_eq!(a.problem(422)["field"], "axes");
    let a = get(
        &app,
        &state,
        &format!("/api/v1/views/grid/main?version={v}&chunk=0&space=nowhere&axes=0,1"),
    )
    .await;
    assert_eq!(a.problem(422)["field"], "space");
    let a = get(
        &app,
        &state,
        &format!("/api/v1/views/grid/hover?version={v}&index=70000"),
    )
    .await;
    assert_eq!(a.problem(422)["field"], "index");
    make_tokens(&app, &state, 1).await;
    let a = get(
        &app,
        &state,
        &format!("/api/v1/views/grid/coords?version={v}&chunk=0"),
    )
    .await;
    assert!(a.problem(409)["type"]
        .as_str()
        .unwrap()
        .ends_with("stale-version"));
    let m2 = get(&app, &state, "/api/v1/views/grid").await.body;
    assert_eq!(m2["n"], 70_001);
    assert_ne!(m2["version"].as_u64(), Some(v));
}

#[tokio::test]
async fn grid_labels_and_hover() {
    let (app, state) = app();
    let t = make_tokens(&app, &state, 50).await;
    let a = post(&app, &state, "/api/v1/connections/batch",
                 json!({"a": [t[3], t[3]], "b": [t[4], t[5]], "strengths": [0.9, 0.4], "kind": "associated_with"})).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let v = get(&app, &state, "/api/v1/views/grid").await.body["version"]
        .as_u64()
        .unwrap();
    let (_, ids) = raw(
        &app,
        &state,
        &format!("/api/v1/views/grid/ids?version={v}"),
        None,
    )
    .await;
    let ids = u32s(&ids);
    let (_, body) = raw(
        &app,
        &state,
        &format!("/api/v1/views/grid/labels?version={v}"),
        None,
    )
    .await;
    let (c, b) = &msgs(&body)[0];
    assert_eq!(
        (c["scope"].as_str(), c["count"].as_u64()),
        (Some("global"), Some(50))
    );
    let first = u32s(&b[0])[0];
    assert_eq!(ids[first as usize], t[3], "the best connected token first");
    let offs = u32s(&b[2]);
    assert_eq!(&b[3][offs[0] as usize..offs[1] as usize], b"t3");
    let (_, body) = raw(&app, &state, &format!("/api/v1/views/grid/labels?version={v}&space=cognitive&axes=0,1&box=0,0,40,255&request=5"), None).await;
    let (c, b) = &msgs(&body)[0];
    assert_eq!(
        (c["scope"].as_str(), c["request"].as_u64()),
        (Some("view"), Some(5))
    );
    let n_view = c["count"].as_u64().unwrap();
    assert!(n_view > 0 && n_view < 50, "{n_view}");
    assert_eq!(u32s(&b[0]).len() as u64, n_view);
    let at = ids.iter().position(|x| *x == t[3]).unwrap();
    let h = get(
        &app,
        &state,
        &format!("/api/v1/views/grid/hover?version={v}&index={at}"),
    )
    .await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.body);
    assert_eq!(
        (h.body["type"].as_str(), h.body["id"].as_u64()),
        (Some("hover"), Some(t[3] as u64))
    );
    assert_eq!(h.body["coords"][0], Value::Null);
    assert_eq!(h.body["coords"][4].as_array().unwrap().len(), 3);
    assert_eq!(h.body["neighbours"][0]["id"], t[4]);
    assert_eq!(h.body["neighbours"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn graph_neighbourhood_layout_and_expand() {
    let (app, state) = app();
    let t = make_tokens(&app, &state, 20).await;
    // a chain 0-1-2-3-4
    let a = post(&app, &state, "/api/v1/connections/batch",
                 json!({"a": [t[0], t[1], t[2], t[3]], "b": [t[1], t[2], t[3], t[4]], "kind": "associated_with"})).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let (st, body) = raw(
        &app,
        &state,
        "/api/v1/views/graph",
        Some(json!({"token": t[1], "version": 7})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let m = msgs(&body);
    let kinds: Vec<&str> = m.iter().map(|(c, _)| c["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["state", "nodes", "edges", "labels"]);
    assert_eq!(
        (m[0].0["n_nodes"].as_u64(), m[0].0["n_edges"].as_u64()),
        (Some(3), Some(2))
    );
    let (nodes, bufs) = &m[1];
    assert_eq!(
        (nodes["version"].as_u64(), nodes["n"].as_u64()),
        (Some(7), Some(3))
    );
    assert_eq!(u32s(&bufs[1]), vec![t[0], t[1], t[2]]);
    assert_eq!(bufs[0].len(), 3 * 8);
    assert!(bufs[0]
        .chunks_exact(4)
        .all(|c| f32::from_le_bytes(c.try_into().unwrap()).is_finite()));
    assert_eq!(bufs[3][1], 255, "the middle node has the top degree");
    let ends = u32s(&m[2].1[0]);
    assert_eq!(ends.len(), 4);
    assert!(ends.iter().all(|e| *e < 3));
    // expand node t[2]: t[3] joins
    let (_, body) = raw(
        &app,
        &state,
        "/api/v1/views/graph",
        Some(json!({"ids": [t[0], t[1], t[2]], "expand": [t[2]], "version": 8})),
    )
    .await;
    let m = msgs(&body);
    assert_eq!(u32s(&m[1].1[1]), vec![t[0], t[1], t[2], t[3]]);
    assert_eq!(m[0].0["n_edges"], 3);
    // by label, depth 2, capped
    let (_, body) = raw(
        &app,
        &state,
        "/api/v1/views/graph",
        Some(json!({"label": "t0", "depth": 2, "max_nodes": 2})),
    )
    .await;
    let m = msgs(&body);
    assert_eq!(m[0].0["n_nodes"], 2);
    assert_eq!(m[0].0["truncated"], true);
    // errors
    let a = post(&app, &state, "/api/v1/views/graph", json!({"token": 99999})).await;
    a.problem(404);
    let a = post(
        &app,
        &state,
        "/api/v1/views/graph",
        json!({"token": t[0], "label": "x"}),
    )
    .await;
    a.problem(422);
    let a = post(
        &app,
        &state,
        "/api/v1/views/graph",
        json!({"token": t[0], "depth": 9}),
    )
    .await;
    a.problem(422);
    // a node deleted since is dropped from the nodes shown
    let a = call(
        &app,
        &state,
        Method::DELETE,
        &format!("/api/v1/tokens/{}", t[0]),
        None,
        &[],
    )
    .await;
    assert!(a.status.is_success(), "{}", a.body);
    let (st, body) = raw(
        &app,
        &state,
        "/api/v1/views/graph",
        Some(json!({"ids": [t[0], t[1], t[2]], "expand": []})),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(u32s(&msgs(&body)[1].1[1]), vec![t[1], t[2]]);
    let (st, _) = raw(
        &app,
        &state,
        "/api/v1/views/graph",
        Some(json!({"ids": [t[1], t[1]], "expand": [t[1]]})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "a node given twice counts once");
    let a = post(
        &app,
        &state,
        "/api/v1/views/graph",
        json!({"text": "hello"}),
    )
    .await;
    a.problem(409);
    let h = get(
        &app,
        &state,
        &format!("/api/v1/views/graph/hover?id={}", t[2]),
    )
    .await;
    assert_eq!(h.body["neighbours"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn completion_and_grid_focus() {
    let (app, state) = app();
    let t = make_tokens(&app, &state, 30).await;
    let a = post(
        &app,
        &state,
        "/api/v1/connections/batch",
        json!({"a": [t[3]], "b": [t[4]], "kind": "associated_with"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let c = get(&app, &state, "/api/v1/views/complete?prefix=T1&limit=2").await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    let items = c.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["label"] == "t1"));
    let a = get(&app, &state, "/api/v1/views/complete?prefix=x&limit=51").await;
    assert_eq!(a.problem(422)["field"], "limit");
    let v = get(&app, &state, "/api/v1/views/grid").await.body["version"]
        .as_u64()
        .unwrap();
    let (_, ids) = raw(
        &app,
        &state,
        &format!("/api/v1/views/grid/ids?version={v}"),
        None,
    )
    .await;
    let ids = u32s(&ids);
    let f = get(
        &app,
        &state,
        &format!("/api/v1/views/grid/focus?version={v}&id={}", t[3]),
    )
    .await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.body);
    let at = f.body["indices"][0].as_u64().unwrap() as usize;
    assert_eq!(ids[at], t[3]);
    assert_eq!(f.body["near_ids"], json!([t[4]]));
    assert_eq!(ids[f.body["near"][0].as_u64().unwrap() as usize], t[4]);
    assert_eq!(f.body["label"], "t3");
    get(
        &app,
        &state,
        &format!("/api/v1/views/grid/focus?version={v}&id=77777"),
    )
    .await
    .problem(404);
    get(
        &app,
        &state,
        &format!("/api/v1/views/grid/focus?version={}&id={}", v + 32, t[0]),
    )
    .await
    .problem(409);
}

#[tokio::test]
async fn numeric_colour_modes_send_colours_chunks_in_their_own_order() {
    let (app, state) = app();
    make_tokens(&app, &state, 100).await;
    let e = get(&app, &state, "/api/v1/views/grid").await.body;
    let m = get(&app, &state, "/api/v1/views/grid?color=cognitive_x").await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    let m = m.body;
    assert_eq!(m["color"], "cognitive_x");
    assert_eq!(m["legend"]["kind"], "numeric");
    assert_eq!(m["legend"]["min"].as_f64(), Some(0.0));
    assert!((m["legend"]["max"].as_f64().unwrap() - 0.99).abs() < 1e-6);
    assert!(m["color_options"].as_array().unwrap().len() > 20);
    let v = m["version"].as_u64().unwrap();
    assert_ne!(v, e["version"].as_u64().unwrap());
    let (_, body) = raw(
        &app,
        &state,
        &format!("/api/v1/views/grid/coords?version={v}&chunk=0"),
        None,
    )
    .await;
    let got = msgs(&body);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].0["type"], "colors");
    let values = &got[1].1[0];
    assert_eq!(values.len(), 100);
    // the colour of each point follows its x code (both from the same coordinate)
    let xs: Vec<u8> = got[0].1[4].iter().step_by(2).copied().collect();
    for (x, c) in xs.iter().zip(values) {
        assert!((*x as i32 - *c as i32).abs() <= 1, "{x} {c}");
    }
    get(&app, &state, "/api/v1/views/grid?color=nope")
        .await
        .problem(422);
    // the entity grid's chunks are still served (another version of the same data)
    let ev = e["version"].as_u64().unwrap();
    let (st, _) = raw(
        &app,
        &state,
        &format!("/api/v1/views/grid/coords?version={ev}&chunk=0"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
}
