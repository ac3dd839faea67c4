//! `/api/v1/connections...`.

use super::*;
use serde_json::json;

#[tokio::test]
async fn connections_are_created_listed_learned_and_deleted() {
    let (app, st) = app();
    let t = make_tokens(&app, &st, 6).await;
    let one = post(
        &app,
        &st,
        "/api/v1/connections",
        json!({"token_a": t[0], "token_b": t[1], "strength": 0.7, "kind": "associated_with"}),
    )
    .await;
    assert_eq!(one.status, StatusCode::CREATED, "{}", one.body);
    let cid = one.body["id"].as_u64().unwrap();
    assert!((one.body["strength"].as_f64().unwrap() - 0.7).abs() < 1e-6);
    assert_eq!(one.body["kind"], "associated_with");

    let batch = post(
        &app,
        &st,
        "/api/v1/connections/batch",
        json!({"a": [t[1], t[2], t[3]], "b": [t[2], t[3], t[4]], "strengths": [0.1, 0.2, 0.3]}),
    )
    .await;
    assert_eq!(batch.status, StatusCode::CREATED, "{}", batch.body);
    assert_eq!(batch.body["count"], 3);
    assert_eq!(
        get(&app, &st, "/api/v1/connections/count").await.body["count"],
        4
    );

    let g = get(&app, &st, &format!("/api/v1/connections/{cid}")).await;
    assert_eq!(
        (g.body["token_a"].as_u64(), g.body["token_b"].as_u64()),
        (Some(t[0] as u64), Some(t[1] as u64))
    );
    let touching = get(&app, &st, &format!("/api/v1/tokens/{}/connections", t[1])).await;
    assert_eq!(touching.body.as_array().unwrap().len(), 2);
    get(&app, &st, "/api/v1/tokens/999999/connections")
        .await
        .problem(404);

    let (mut seen, mut after) = (Vec::new(), 0u64);
    loop {
        let page = get(
            &app,
            &st,
            &format!("/api/v1/connections?limit=3&after={after}"),
        )
        .await;
        seen.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_u64().unwrap()),
        );
        match page.body["next"].as_u64() {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(seen.len(), 4);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));

    let before = g.body["confidence"].as_f64().unwrap();
    let fb = post(
        &app,
        &st,
        &format!("/api/v1/connections/{cid}/feedback"),
        json!({"success": true}),
    )
    .await;
    assert_eq!(fb.status, StatusCode::OK, "{}", fb.body);
    assert_eq!(fb.body["outcome"], "updated");
    assert!(fb.body["connection"]["confidence"].as_f64().unwrap() > before);
    post(
        &app,
        &st,
        "/api/v1/connections/999999/feedback",
        json!({"success": true}),
    )
    .await
    .problem(404);
    let bad = post(
        &app,
        &st,
        &format!("/api/v1/connections/{cid}/feedback"),
        json!({"success": "yes"}),
    )
    .await;
    assert_eq!(bad.problem(422)["field"], "success");

    let d = call(
        &app,
        &st,
        Method::DELETE,
        &format!("/api/v1/connections/{cid}"),
        None,
        &[],
    )
    .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    get(&app, &st, &format!("/api/v1/connections/{cid}"))
        .await
        .problem(404);
    // Deleting a token takes its connections with it.
    call(
        &app,
        &st,
        Method::DELETE,
        &format!("/api/v1/tokens/{}", t[2]),
        None,
        &[],
    )
    .await;
    assert_eq!(
        get(&app, &st, "/api/v1/connections/count").await.body["count"],
        1
    );
}

#[tokio::test]
async fn connection_errors_name_what_was_wrong() {
    let (app, st) = app();
    let t = make_tokens(&app, &st, 3).await;
    let missing = post(
        &app,
        &st,
        "/api/v1/connections",
        json!({"token_a": t[0], "token_b": 999_999}),
    )
    .await;
    missing.problem(404);
    let kind = post(
        &app,
        &st,
        "/api/v1/connections",
        json!({"token_a": t[0], "token_b": t[1], "kind": "no_such_kind"}),
    )
    .await;
    assert_eq!(kind.problem(422)["field"], "kind");
    let strong = post(
        &app,
        &st,
        "/api/v1/connections",
        json!({"token_a": t[0], "token_b": t[1], "strength": 50.0}),
    )
    .await;
    let p = strong.problem(422);
    assert_eq!(p["type"], "/problems/guardian-refused");
    assert_eq!(p["field"], "strength");
    let lengths = post(
        &app,
        &st,
        "/api/v1/connections/batch",
        json!({"a": [t[0]], "b": []}),
    )
    .await;
    assert_eq!(lengths.problem(422)["field"], "b");
    let kinds = post(
        &app,
        &st,
        "/api/v1/connections/batch",
        json!({"a": [t[0], t[1]], "b": [t[1], t[2]], "kinds": ["associated_with", "nope"]}),
    )
    .await;
    assert_eq!(kinds.problem(422)["field"], "kinds[1]");
    let none_made = get(&app, &st, "/api/v1/connections/count").await;
    assert_eq!(none_made.body["count"], 0);
    let limit = get(&app, &st, "/api/v1/connections?limit=10001").await;
    assert_eq!(limit.problem(422)["field"], "limit");
}
