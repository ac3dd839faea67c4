//! `/health`, `/health/ready` (public), `/api/v1/status`, and `/metrics` (Prometheus text).

use crate::server::auth::{Principal, Role};
use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Liveness or readiness.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` (live), `ready`.
    pub status: String,
}

/// Liveness: the server answers.
#[utoipa::path(get, path = "/health", tag = "system",
    responses((status = 200, body = Health)), extensions(("x-required-role" = json!("public"))))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Readiness: 200 when the store can be read now, 503 `busy` (with `Retry-After`) while a
/// long write holds it.
#[utoipa::path(get, path = "/health/ready", tag = "system",
    responses((status = 200, body = Health), (status = 503, body = Problem, content_type = "application/problem+json")),
    extensions(("x-required-role" = json!("public"))))]
pub async fn ready(State(app): State<AppState>) -> ApiResult<Json<Health>> {
    if app.store.readable_within(app.config.busy_wait) {
        Ok(Json(Health {
            status: "ready".into(),
        }))
    } else {
        Err(Problem::busy(1))
    }
}

/// HTTP figures of this server.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct HttpStatus {
    /// TCP connections open now.
    pub open_connections: u64,
    /// Requests being handled now.
    pub in_flight: u64,
    /// Requests answered since the server started.
    pub requests_total: u64,
}

/// What the runtime holds, and the server's own figures.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct StatusOut {
    pub tokens: u64,
    pub connections: u64,
    pub labels: u64,
    pub cdna_revision: u64,
    pub events_total: u64,
    pub rejections_total: u64,
    pub bootstrap: bool,
    pub uptime_seconds: f64,
    pub http: HttpStatus,
}

/// Counts of tokens and connections, and the server's HTTP figures.
#[utoipa::path(get, path = "/api/v1/status", tag = "system",
    responses((status = 200, body = StatusOut)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn status(State(app): State<AppState>, who: Principal) -> ApiResult<Json<StatusOut>> {
    who.require(Role::Readonly)?;
    super::extract::read_gate(&app)?;
    let g = app.store.gauges();
    Ok(Json(StatusOut {
        tokens: g.tokens,
        connections: g.connections,
        labels: g.labels,
        cdna_revision: g.cdna_revision,
        events_total: g.events_total,
        rejections_total: g.rejections_total,
        bootstrap: app.store.boot().is_some(),
        uptime_seconds: app.http.uptime().as_secs_f64(),
        http: HttpStatus {
            open_connections: app.http.open_connections(),
            in_flight: app.http.in_flight(),
            requests_total: app.http.requests_total(),
        },
    }))
}

/// Prometheus text (0.0.4): the runtime's counters and the HTTP request counts and latency
/// histograms by route template and status class.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text exposition 0.0.4", body = String, content_type = "text/plain")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn metrics(State(app): State<AppState>, who: Principal) -> ApiResult<impl IntoResponse> {
    who.require(Role::Readonly)?;
    super::extract::read_gate(&app)?;
    let mut text = app.store.metrics_text();
    app.http.render(&mut text);
    text.push_str(&app.bus.prometheus());
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    ))
}

/// The system routes (outside `/api/v1` except status).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/health/ready", get(ready))
        .route("/api/v1/health", get(health))
        .route("/api/v1/status", get(status))
        .route("/metrics", get(metrics))
}
