//! `/api/v1/cdna...`: ETag / If-Match, Guardian refusals, validation, history, rollback.

use super::*;
use serde_json::json;

fn etag(a: &Answer) -> String {
    a.headers[header::ETAG].to_str().unwrap().to_string()
}

#[tokio::test]
async fn cdna_writes_need_the_current_etag() {
    let (app, st) = app();
    let g = get(&app, &st, "/api/v1/cdna").await;
    assert_eq!(g.status, StatusCode::OK);
    let tag = etag(&g);
    assert_eq!(tag, format!("\"{}\"", g.body["checksum"].as_str().unwrap()));
    assert_eq!(g.body["fields"]["max_out_degree"], 1000.0);

    let body = json!({"fields": {"max_out_degree": 500}});
    let none = call(
        &app,
        &st,
        Method::PATCH,
        "/api/v1/cdna",
        Some(body.clone()),
        &[],
    )
    .await;
    assert_eq!(none.problem(428)["type"], "/problems/if-match-required");
    let stale = call(
        &app,
        &st,
        Method::PATCH,
        "/api/v1/cdna",
        Some(body.clone()),
        &[("if-match", "\"0000\"")],
    )
    .await;
    assert_eq!(stale.problem(412)["type"], "/problems/stale-etag");
    let ok = call(
        &app,
        &st,
        Method::PATCH,
        "/api/v1/cdna",
        Some(body.clone()),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["fields"]["max_out_degree"], 500.0);
    let tag2 = etag(&ok);
    assert_ne!(tag2, tag);
    assert_eq!(etag(&get(&app, &st, "/api/v1/cdna").await), tag2);
    // The old tag is stale now.
    call(
        &app,
        &st,
        Method::PATCH,
        "/api/v1/cdna",
        Some(body),
        &[("if-match", &tag)],
    )
    .await
    .problem(412);

    let refused = call(
        &app,
        &st,
        Method::PATCH,
        "/api/v1/cdna",
        Some(json!({"fields": {"token_weight_min": 2.0}})),
        &[("if-match", &tag2)],
    )
    .await;
    let p = refused.problem(422);
    assert_eq!(p["type"], "/problems/guardian-refused");
    assert!(
        p["reason"].as_str().unwrap().contains("token_weight"),
        "{p}"
    );
    let unknown = call(
        &app,
        &st,
        Method::PATCH,
        "/api/v1/cdna",
        Some(json!({"fields": {"nope": 1}})),
        &[("if-match", &tag2)],
    )
    .await;
    unknown.problem(422);
    let policy = call(
        &app,
        &st,
        Method::PATCH,
        "/api/v1/cdna",
        Some(json!({"fields": {"max_out_degree": 5}, "policy": "maybe"})),
        &[("if-match", &tag2)],
    )
    .await;
    assert_eq!(policy.problem(422)["field"], "policy");
}

#[tokio::test]
async fn scales_profile_flags_history_and_rollback() {
    let (app, st) = app();
    let tag = etag(&get(&app, &st, "/api/v1/cdna/scales").await);
    let s = call(
        &app,
        &st,
        Method::PUT,
        "/api/v1/cdna/scales",
        Some(json!({"cognitive": 2.0})),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    assert_eq!(
        get(&app, &st, "/api/v1/cdna/scales").await.body["cognitive"],
        2.0
    );
    let tag = etag(&s);
    let bad = call(
        &app,
        &st,
        Method::PUT,
        "/api/v1/cdna/scales",
        Some(json!({"cognitive": -1.0})),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(bad.problem(422)["type"], "/problems/guardian-refused");
    let space = call(
        &app,
        &st,
        Method::PUT,
        "/api/v1/cdna/scales",
        Some(json!({"L0": 1.0})),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(space.problem(422)["field"], "space");

    let p = call(
        &app,
        &st,
        Method::PUT,
        "/api/v1/cdna/profile",
        Some(json!({"profile": "explorer"})),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(
        get(&app, &st, "/api/v1/cdna/profile").await.body["profile"],
        "explorer"
    );
    let tag = etag(&p);
    let np = call(
        &app,
        &st,
        Method::PUT,
        "/api/v1/cdna/profile",
        Some(json!({"profile": "wizard"})),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(np.problem(422)["field"], "profile");

    let f = call(
        &app,
        &st,
        Method::PUT,
        "/api/v1/cdna/flags",
        Some(json!({"flags": {"STRICT_MODE": true}})),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.body);
    assert_eq!(
        get(&app, &st, "/api/v1/cdna/flags").await.body["STRICT_MODE"],
        true
    );
    let tag = etag(&f);
    let nf = call(
        &app,
        &st,
        Method::PUT,
        "/api/v1/cdna/flags",
        Some(json!({"flags": {"FAST": true}})),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(nf.problem(422)["field"], "flags");

    let h = get(&app, &st, "/api/v1/cdna/history").await;
    let h = h.body.as_array().unwrap();
    assert_eq!(h.len(), 3);
    assert_eq!(h[1]["change"], "profile -> explorer");

    let r = call(
        &app,
        &st,
        Method::POST,
        "/api/v1/cdna/rollback",
        Some(json!({})),
        &[],
    )
    .await;
    r.problem(428);
    let r = call(
        &app,
        &st,
        Method::POST,
        "/api/v1/cdna/rollback",
        Some(json!({"steps": 1})),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["flags"]["STRICT_MODE"], false);
    let far = call(
        &app,
        &st,
        Method::POST,
        "/api/v1/cdna/rollback",
        Some(json!({"steps": 99})),
        &[("if-match", &etag(&r))],
    )
    .await;
    assert_eq!(far.problem(422)["field"], "steps");
}

#[tokio::test]
async fn validate_is_a_dry_run() {
    let (app, st) = app();
    make_tokens(&app, &st, 3).await;
    let before = get(&app, &st, "/api/v1/cdna").await.body;
    let key = st.auth.ephemeral_admin_key();
    let empty = send(
        &app,
        Request::post("/api/v1/cdna/validate")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(empty.body, json!({"valid": true, "problems": []}));
    let breaks = post(
        &app,
        &st,
        "/api/v1/cdna/validate",
        json!({"fields": {"token_weight_max": 0.25}}),
    )
    .await;
    assert_eq!(breaks.body["valid"], false, "{}", breaks.body);
    assert!(breaks.body["problems"][0]
        .as_str()
        .unwrap()
        .contains("weight"));
    let own = post(
        &app,
        &st,
        "/api/v1/cdna/validate",
        json!({"scales": {"cognitive": -2}}),
    )
    .await;
    assert_eq!(own.body["valid"], false);
    let fine = post(
        &app,
        &st,
        "/api/v1/cdna/validate",
        json!({"profile": "analyst"}),
    )
    .await;
    assert_eq!(fine.status, StatusCode::OK);
    assert_eq!(
        get(&app, &st, "/api/v1/cdna").await.body,
        before,
        "nothing changed"
    );
}
