//! `GET /api/v1/events`: the Guardian's event log (every write it accepted or refused).

use super::extract::{bounded, read_gate, Query};
use crate::server::auth::{Principal, Role};
use crate::server::problem::ApiResult;
use crate::server::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most events one answer lists.
pub const MAX_EVENTS: usize = 10_000;

/// `?last=`: the most recent events.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// How many of the latest events (default 100, at most 10000).
    #[param(maximum = 10000)]
    pub last: Option<usize>,
}

/// One Guardian event.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct EventOut {
    /// Seconds since the Unix epoch.
    pub time: f64,
    /// What was attempted, e.g. `token.create`.
    pub kind: String,
    /// What it was done to, e.g. `token 17`.
    pub target: String,
    pub accepted: bool,
    /// Why it was refused (empty when accepted).
    pub reason: String,
}

/// The latest Guardian events, oldest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "system", params(EventsQuery),
    responses((status = 200, body = Vec<EventOut>)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn events(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Json<Vec<EventOut>>> {
    who.require(Role::Readonly)?;
    let last = bounded("last", q.last.unwrap_or(100), MAX_EVENTS)?;
    read_gate(&app)?;
    Ok(Json(
        app.store
            .events(Some(last))
            .into_iter()
            .map(|e| EventOut {
                time: e.time,
                kind: e.kind,
                target: e.target,
                accepted: e.accepted,
                reason: e.reason,
            })
            .collect(),
    ))
}

/// The event log route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/events", get(events))
}
