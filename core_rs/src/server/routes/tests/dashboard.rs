//! The dashboard's routes: `/` and `/assets/{file}` (public, ETag, CSP) and the browser
//! password login `POST /api/v1/auth/session` (cookie) with `GET /api/v1/auth/session`.

use super::{app_with, send};
use crate::server::auth::password::PasswordCost;
use crate::server::auth::Role;
use crate::server::Config;
use crate::storage::RuntimeStorage;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;

fn app() -> (axum::Router, crate::server::AppState) {
    let config = Config {
        password_cost: PasswordCost::minimum(),
        ..Config::default()
    };
    app_with(RuntimeStorage::new(), config)
}

fn get(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut r = Request::get(uri);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(Body::empty()).unwrap()
}

fn login(body: serde_json::Value, headers: &[(&str, &str)]) -> Request<Body> {
    let mut r = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/auth/session")
        .header(header::CONTENT_TYPE, "application/json");
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn the_page_and_its_assets_are_public_with_etags() {
    let (app, _) = app();
    let page = send(&app, get("/", &[])).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'self'"));
    assert!(page.body.as_str().unwrap().contains("/assets/app.js"));
    let etag = page.headers[header::ETAG].to_str().unwrap().to_string();
    let again = send(&app, get("/", &[("if-none-match", &etag)])).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    for (file, mime) in [("app.js", "text/javascript"), ("app.css", "text/css")] {
        let a = send(&app, get(&format!("/assets/{file}"), &[])).await;
        assert_eq!(a.status, StatusCode::OK, "{file}");
        assert!(a.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with(mime));
        assert_eq!(a.headers[header::CACHE_CONTROL], "no-cache");
        let tag = a.headers[header::ETAG].to_str().unwrap().to_string();
        assert_ne!(tag, etag);
        let same = send(
            &app,
            get(&format!("/assets/{file}"), &[("if-none-match", &tag)]),
        )
        .await;
        assert_eq!(same.status, StatusCode::NOT_MODIFIED);
        let other = send(
            &app,
            get(&format!("/assets/{file}"), &[("if-none-match", "\"x\"")]),
        )
        .await;
        assert_eq!(other.status, StatusCode::OK);
    }
    send(&app, get("/assets/nope.js", &[])).await.problem(404);
    send(&app, get("/assets/..%2Fapp.js", &[]))
        .await
        .problem(404);
    // the API stays protected
    send(&app, get("/api/v1/status", &[])).await.problem(401);
}

#[tokio::test]
async fn password_login_sets_the_session_cookie() {
    let (app, st) = app();
    st.auth
        .add_user("alice", Role::User, Some("correct horse"))
        .unwrap();
    let body = json!({"name": "alice", "password": "correct horse"});

    let anon = send(&app, get("/api/v1/auth/session", &[])).await;
    assert_eq!(anon.status, StatusCode::OK);
    assert_eq!(anon.body, json!({"authenticated": false, "me": null}));

    let wrong = json!({"name": "alice", "password": "wrong horse"});
    send(&app, login(wrong, &[])).await.problem(401);
    // another site's page cannot log this browser in
    let host = [
        ("host", "127.0.0.1:8765"),
        ("origin", "http://evil.example"),
    ];
    send(&app, login(body.clone(), &host)).await.problem(403);
    send(&app, login(json!({"name": "alice"}), &[]))
        .await
        .problem(422);

    let own = [
        ("host", "127.0.0.1:8765"),
        ("origin", "http://127.0.0.1:8765"),
    ];
    let ok = send(&app, login(body, &own)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["name"], "alice");
    assert_eq!(ok.body["role"], "user");
    let cookie = ok.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("ng_session=") && cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap().to_string();

    let me = send(&app, get("/api/v1/auth/session", &[("cookie", &pair)])).await;
    assert_eq!(me.body["authenticated"], true);
    assert_eq!(me.body["me"]["name"], "alice");
    let status = send(&app, get("/api/v1/status", &[("cookie", &pair)])).await;
    assert_eq!(status.status, StatusCode::OK);
    // a bad cookie is "not logged in", not an error
    let bad = send(
        &app,
        get("/api/v1/auth/session", &[("cookie", "ng_session=x.y.z")]),
    )
    .await;
    assert_eq!(bad.status, StatusCode::OK);
    assert_eq!(bad.body["authenticated"], false);
}
