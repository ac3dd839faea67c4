//! Route tests: requests through the whole router (every layer) with `oneshot`, as the
//! ephemeral admin; one test also runs the real server on 127.0.0.1.

mod bootstrap;
mod cdna;
mod connections;
mod dashboard;
mod queries;
mod system;
mod table;
mod tokens;
mod views;

use crate::server::{app_state, routes, AppState, Config};
use crate::storage::RuntimeStorage;
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

/// A router over `store` with `config`, and its state.
pub fn app_with(store: RuntimeStorage, config: Config) -> (Router, AppState) {
    let state = app_state(Arc::new(store), config).expect("app state");
    (routes::router(state.clone()), state)
}

/// A router over an empty store with the default config.
pub fn app() -> (Router, AppState) {
    app_with(RuntimeStorage::new(), Config::default())
}

/// One answer: status, headers and the body (JSON when it parses, else a string).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// Assert a problem+json answer with `status`; returns the problem.
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(
            self.headers[header::CONTENT_TYPE],
            "application/problem+json",
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status, "{}", self.body);
        assert!(self.body["type"]
            .as_str()
            .unwrap()
            .starts_with("/problems/"));
        &self.body
    }
}

/// Send a request with the admin key; `body` as JSON.
pub async fn call(
    app: &Router,
    state: &AppState,
    method: Method,
    uri: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Answer {
    let key = state.auth.ephemeral_admin_key();
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {key}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&b).unwrap())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    send(app, req).await
}

/// Send a prepared request.
pub async fn send(app: &Router, req: Request<Body>) -> Answer {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer {
        status,
        headers,
        body,
    }
}

/// GET with the admin key.
pub async fn get(app: &Router, state: &AppState, uri: &str) -> Answer {
    call(app, state, Method::GET, uri, None, &[]).await
}

/// POST JSON with the admin key.
pub async fn post(app: &Router, state: &AppState, uri: &str, body: Value) -> Answer {
    call(app, state, Method::POST, uri, Some(body), &[]).await
}

/// Create `n` tokens through the batch route (cognitive coordinates spread out); their ids.
pub async fn make_tokens(app: &Router, state: &AppState, n: usize) -> Vec<u32> {
    let mut ids = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(20_000) {
        let tokens: Vec<Value> = chunk
            .iter()
            .map(|i| {
                let x = (*i % 100) as f32 / 100.0;
                let y = (*i / 100 % 100) as f32 / 100.0;
                serde_json::json!({"coords": {"cognitive": [x, y, 0.5]}, "weight": 0.5,
                                   "label": format!("t{}", i % 10)})
            })
            .collect();
        let a = post(
            app,
            state,
            "/api/v1/tokens/batch",
            serde_json::json!({"tokens": tokens}),
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        ids.extend(
            a.body["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32),
        );
    }
    ids
}
