//! `/health`, `/health/ready`, `/status`, `/metrics`.

use crate::server::AppState;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness: the server answers.
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/api/v1/health", get(health))
}
