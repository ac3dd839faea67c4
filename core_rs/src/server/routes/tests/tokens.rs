//! `/api/v1/tokens...`.

use super::*;
use serde_json::json;

#[tokio::test]
async fn a_token_is_created_read_changed_found_counted_and_deleted() {
    let (app, st) = app();
    let a = post(
        &app,
        &st,
        "/api/v1/tokens",
        json!({"coords": {"cognitive": [0.1, 0.2, 0.3], "L1": [1, 2, 3]}, "weight": 0.5,
               "entity": "concept", "label": "cat"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let id = a.body["id"].as_u64().unwrap();
    assert_eq!(a.headers[header::LOCATION], format!("/api/v1/tokens/{id}"));
    assert_eq!(a.body["entity"], "concept");
    assert_eq!(a.body["coords"]["physical"], json!([1.0, 2.0, 3.0]));

    let g = get(&app, &st, &format!("/api/v1/tokens/{id}")).await;
    assert_eq!(g.status, StatusCode::OK);
    assert_eq!(g.body["label"], "cat");
    assert!((g.body["coords"]["cognitive"][1].as_f64().unwrap() - 0.2).abs() < 1e-3);

    let p = call(
        &app,
        &st,
        Method::PATCH,
        &format!("/api/v1/tokens/{id}"),
        Some(json!({"weight": 0.75, "coords": {"physical": null, "social": [0.5, 0.5, 0.5]}})),
        &[],
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(p.body["weight"], 0.75);
    assert_eq!(p.body["label"], "cat", "a label left out stays");
    assert!(p.body["coords"].get("physical").is_none());
    assert!(p.body["coords"].get("social").is_some());

    let f = get(&app, &st, "/api/v1/tokens/by-label/cat").await;
    assert_eq!(f.body["count"], 1);
    assert_eq!(f.body["items"][0]["id"], id);
    let p = call(
        &app,
        &st,
        Method::PATCH,
        &format!("/api/v1/tokens/{id}"),
        Some(json!({"label": null})),
        &[],
    )
    .await;
    assert!(p.body["label"].is_null(), "null removes the label");
    assert_eq!(
        get(&app, &st, "/api/v1/tokens/by-label/cat").await.body["count"],
        0
    );

    assert_eq!(
        get(&app, &st, "/api/v1/tokens/count").await.body["count"],
        1
    );
    let d = call(
        &app,
        &st,
        Method::DELETE,
        &format!("/api/v1/tokens/{id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get(&app, &st, "/api/v1/tokens/count").await.body["count"],
        0
    );
    let gone = get(&app, &st, &format!("/api/v1/tokens/{id}")).await;
    assert_eq!(gone.problem(404)["type"], "/problems/not-found");
    let again = call(
        &app,
        &st,
        Method::DELETE,
        &format!("/api/v1/tokens/{id}"),
        None,
        &[],
    )
    .await;
    again.problem(404);
}

#[tokio::test]
async fn batch_create_and_batch_delete_are_all_or_nothing() {
    let (app, st) = app();
    let ids = make_tokens(&app, &st, 10).await;
    assert_eq!(ids.len(), 10);
    let bad = post(
        &app,
        &st,
        "/api/v1/tokens/batch",
        json!({"tokens": [{"weight": 0.5}, {"weight": 7.0}]}),
    )
    .await;
    let p = bad.problem(422);
    assert_eq!(p["type"], "/problems/guardian-refused");
    assert_eq!(p["field"], "weight");
    assert_eq!(p["value"], 7.0);
    assert_eq!(p["limit"], 1.0);
    assert_eq!(
        get(&app, &st, "/api/v1/tokens/count").await.body["count"],
        10
    );

    let missing = post(
        &app,
        &st,
        "/api/v1/tokens/delete",
        json!({"ids": [ids[0], 999_999]}),
    )
    .await;
    missing.problem(404);
    assert_eq!(
        get(&app, &st, "/api/v1/tokens/count").await.body["count"],
        10
    );
    let d = post(
        &app,
        &st,
        "/api/v1/tokens/delete",
        json!({"ids": &ids[..4]}),
    )
    .await;
    assert_eq!(d.status, StatusCode::OK);
    assert_eq!(d.body["deleted"], 4);
    assert_eq!(
        get(&app, &st, "/api/v1/tokens/count").await.body["count"],
        6
    );

    let mixed = post(
        &app,
        &st,
        "/api/v1/tokens/batch",
        json!({"tokens": [{"id": 5000}, {"weight": 0.5}]}),
    )
    .await;
    assert_eq!(mixed.problem(422)["field"], "tokens");
    let with_ids = post(
        &app,
        &st,
        "/api/v1/tokens/batch",
        json!({"tokens": [{"id": 5000}, {"id": 5001}]}),
    )
    .await;
    assert_eq!(with_ids.body["ids"], json!([5000, 5001]));
}

#[tokio::test]
async fn bad_input_is_a_problem_naming_the_field() {
    let (app, st) = app();
    let refused = post(&app, &st, "/api/v1/tokens", json!({"weight": 5.0})).await;
    let p = refused.problem(422);
    assert_eq!(p["type"], "/problems/guardian-refused");
    assert_eq!(
        (p["field"].clone(), p["value"].clone(), p["limit"].clone()),
        (json!("weight"), json!(5.0), json!(1.0))
    );
    assert!(p["reason"].as_str().unwrap().contains("weight"));

    let space = post(
        &app,
        &st,
        "/api/v1/tokens",
        json!({"coords": {"nowhere": [0, 0, 0]}}),
    )
    .await;
    assert_eq!(space.problem(422)["field"], "coords");
    let typed = post(&app, &st, "/api/v1/tokens", json!({"weight": "heavy"})).await;
    assert_eq!(typed.problem(422)["field"], "weight");
    let unknown = post(&app, &st, "/api/v1/tokens", json!({"wieght": 0.5})).await;
    unknown.problem(422);
    let range = post(
        &app,
        &st,
        "/api/v1/tokens",
        json!({"coords": {"cognitive": [9, 0, 0]}}),
    )
    .await;
    range.problem(422);
    let entity = post(&app, &st, "/api/v1/tokens", json!({"entity": "dragon"})).await;
    assert_eq!(entity.problem(422)["field"], "entity");

    let key = st.auth.ephemeral_admin_key();
    let raw = |body: &'static str, ct: Option<&str>| {
        let mut r =
            Request::post("/api/v1/tokens").header(header::AUTHORIZATION, format!("Bearer {key}"));
        if let Some(ct) = ct {
            r = r.header(header::CONTENT_TYPE, ct);
        }
        r.body(Body::from(body)).unwrap()
    };
    send(&app, raw("{\"weight\": ", Some("application/json")))
        .await
        .problem(400);
    send(&app, raw("{}", Some("text/plain"))).await.problem(415);
    let array = send(&app, raw("[0.5]", Some("application/json"))).await;
    assert_eq!(array.problem(422)["field"], "body");
    let long = send(
        &app,
        raw(
            "{\"coords\": {\"cognitive\": [0, 0, 0, 0]}}",
            Some("application/json"),
        ),
    )
    .await;
    assert_eq!(long.problem(422)["field"], "coords.cognitive");
    send(&app, raw("{}", None)).await.problem(415);

    let path = get(&app, &st, "/api/v1/tokens/abc").await;
    assert_eq!(path.problem(422)["field"], "path");
    let limit = get(&app, &st, "/api/v1/tokens?limit=20000").await;
    let p = limit.problem(422);
    assert_eq!(
        (p["field"].clone(), p["limit"].clone()),
        (json!("limit"), json!(10000.0))
    );
    let after = get(&app, &st, "/api/v1/tokens?after=-1").await;
    assert_eq!(after.problem(422)["field"], "after");
    let zero = get(&app, &st, "/api/v1/tokens?limit=0").await;
    assert_eq!(zero.problem(422)["field"], "limit");
    let flags = call(
        &app,
        &st,
        Method::PATCH,
        "/api/v1/tokens/1",
        Some(json!({"domain": 99})),
        &[],
    )
    .await;
    assert_eq!(flags.problem(422)["field"], "domain");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_and_batch_routes_take_more() {
    let config = Config {
        max_body: 1024,
        max_batch_body: 64 * 1024,
        ..Config::default()
    };
    let (app, st) = app_with(RuntimeStorage::new(), config);
    let long = "x".repeat(2000);
    let big = post(&app, &st, "/api/v1/tokens", json!({"label": long})).await;
    assert_eq!(big.problem(413)["type"], "/problems/too-large");
    let tokens: Vec<Value> = (0..40).map(|_| json!({"label": "y".repeat(40)})).collect();
    let ok = post(&app, &st, "/api/v1/tokens/batch", json!({"tokens": tokens})).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    let huge: Vec<Value> = (0..400)
        .map(|_| json!({"label": "y".repeat(400)}))
        .collect();
    post(&app, &st, "/api/v1/tokens/batch", json!({"tokens": huge}))
        .await
        .problem(413);
    let many: Vec<u32> = (1..=100_001).collect();
    let config = Config::default();
    let (app, st) = app_with(RuntimeStorage::new(), config);
    let over = post(&app, &st, "/api/v1/tokens/delete", json!({"ids": many})).await;
    let p = over.problem(422);
    assert_eq!(
        (p["field"].clone(), p["limit"].clone()),
        (json!("ids"), json!(100000.0))
    );
}

#[tokio::test]
async fn keyset_pages_walk_every_token_once_in_id_order() {
    let (app, st) = app();
    let mut ids = make_tokens(&app, &st, 5000).await;
    // Holes in the id space, made before the walk.
    let holes: Vec<u32> = ids.iter().step_by(7).copied().collect();
    post(&app, &st, "/api/v1/tokens/delete", json!({"ids": holes})).await;
    ids.retain(|i| !holes.contains(i));
    ids.sort_unstable();
    let (mut seen, mut uri, mut pages) = (Vec::new(), "/api/v1/tokens?limit=777".to_string(), 0);
    loop {
        let a = get(&app, &st, &uri).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        pages += 1;
        let items = a.body["items"].as_array().unwrap();
        assert!(items.len() <= 777);
        seen.extend(items.iter().map(|t| t["id"].as_u64().unwrap() as u32));
        match a.body["next"].as_u64() {
            Some(next) => {
                let link = a.headers[header::LINK].to_str().unwrap();
                assert_eq!(
                    link,
                    format!("</api/v1/tokens?limit=777&after={next}>; rel=\"next\"")
                );
                uri = link[1..link.find('>').unwrap()].to_string();
                // A token created mid-walk with a larger id shows up on a later page.
                if pages == 2 {
                    let c = post(&app, &st, "/api/v1/tokens", json!({"id": 9_000_000})).await;
                    assert_eq!(c.status, StatusCode::CREATED);
                    ids.push(9_000_000);
                }
            }
            None => {
                assert!(a.headers.get(header::LINK).is_none());
                break;
            }
        }
    }
    assert_eq!(seen, ids);
    assert_eq!(pages, ids.len().div_ceil(777));
    let default = get(&app, &st, "/api/v1/tokens").await;
    assert_eq!(default.body["items"].as_array().unwrap().len(), 100);
}
