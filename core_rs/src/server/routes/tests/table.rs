//! `/api/v1/tokens/table` and `/api/v1/tokens/labels`.

use super::*;
use serde_json::json;

fn ids_of(v: &Value) -> Vec<u64> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect()
}

/// Every page of a GET table query, following `next`.
async fn walk(app: &Router, st: &AppState, query: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let uri = match &cursor {
            Some(c) => format!("/api/v1/tokens/table?{query}&cursor={c}"),
            None => format!("/api/v1/tokens/table?{query}"),
        };
        let a = get(app, st, &uri).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        out.extend(ids_of(&a.body));
        match a.body["next"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

#[tokio::test]
async fn the_table_sorts_filters_and_pages_by_cursor() {
    let (app, st) = app();
    let ids = make_tokens(&app, &st, 300).await;
    // Weights 0..1 by id so a sort has something to do.
    for (i, id) in ids.iter().enumerate().take(40) {
        let w = ((i * 7) % 40) as f64 / 40.0;
        let a = call(
            &app,
            &st,
            Method::PATCH,
            &format!("/api/v1/tokens/{id}"),
            Some(json!({"weight": w})),
            &[],
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }
    let all = walk(&app, &st, "limit=7").await;
    assert_eq!(all, ids.iter().map(|i| *i as u64).collect::<Vec<_>>());

    let q =
        "where=label%20%3D%3D%20%27t3%27%20and%20weight%20%3C%200.5&sort=weight&desc=true&limit=4";
    let got = walk(&app, &st, q).await;
    let first = get(&app, &st, &format!("/api/v1/tokens/table?{q}")).await;
    assert_eq!(first.body["count"].as_u64().unwrap() as usize, got.len());
    assert!(!got.is_empty());
    let mut last = f64::INFINITY;
    for id in &got {
        let t = get(&app, &st, &format!("/api/v1/tokens/{id}")).await.body;
        assert_eq!(t["label"], "t3");
        let w = t["weight"].as_f64().unwrap();
        assert!(w < 0.5 && w <= last, "descending by weight");
        last = w;
    }
}

#[tokio::test]
async fn a_bad_filter_is_a_400_naming_the_position() {
    let (app, st) = app();
    make_tokens(&app, &st, 10).await;
    let a = get(&app, &st, "/api/v1/tokens/table?where=weight%20%3E%3E%201").await;
    let p = a.problem(400);
    assert_eq!(p["field"], "where");
    assert_eq!(p["value"].as_f64(), Some(8.0));
    assert!(p["detail"].as_str().unwrap().contains("position 8"), "{p}");
    let a = get(&app, &st, "/api/v1/tokens/table?where=nope%20%3E%201").await;
    assert!(a.problem(400)["detail"]
        .as_str()
        .unwrap()
        .contains("unknown column"));
    let a = get(&app, &st, "/api/v1/tokens/table?sort=nope").await;
    assert_eq!(a.problem(422)["field"], "sort");
    let a = get(&app, &st, "/api/v1/tokens/table?limit=1001").await;
    assert_eq!(a.problem(422)["field"], "limit");
    let a = get(
        &app,
        &st,
        "/api/v1/tokens/table?sort=weight&cursor=id~a~n1.1",
    )
    .await;
    assert_eq!(a.problem(422)["field"], "cursor");
    let a = get(&app, &st, "/api/v1/tokens/table?bogus=1").await;
    a.problem(422);
}

#[tokio::test]
async fn a_selection_of_ids_is_posted_and_filtered() {
    let (app, st) = app();
    let ids = make_tokens(&app, &st, 50).await;
    let pick: Vec<u32> = ids.iter().copied().step_by(3).collect();
    let mut body = json!({"ids": pick, "where": "label != 't0'", "sort": "label", "limit": 5});
    let mut got = Vec::new();
    loop {
        let a = post(&app, &st, "/api/v1/tokens/table", body.clone()).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let labels: Vec<&str> = a.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["label"].as_str().unwrap())
            .collect();
        assert!(labels.iter().all(|l| *l != "t0"));
        got.extend(ids_of(&a.body));
        match a.body["next"].as_str() {
            Some(c) => body["cursor"] = json!(c),
            None => break,
        }
    }
    let want = pick
        .iter()
        .enumerate()
        .filter(|(i, _)| (i * 3) % 10 != 0)
        .count();
    assert_eq!(got.len(), want);
    assert!(got.iter().all(|id| pick.contains(&(*id as u32))));
    let too_many: Vec<u32> = (1..=100_001).collect();
    let a = post(&app, &st, "/api/v1/tokens/table", json!({"ids": too_many})).await;
    assert_eq!(a.problem(422)["field"], "ids");
}

#[tokio::test]
async fn labels_are_searched_by_prefix() {
    let (app, st) = app();
    make_tokens(&app, &st, 40).await;
    let a = get(&app, &st, "/api/v1/tokens/labels?prefix=t1&limit=3").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["count"], 4);
    let items = a.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|h| h["label"] == "t1"));
    let a = get(&app, &st, "/api/v1/tokens/labels?prefix=zz").await;
    assert_eq!(a.body["count"], 0);
}
