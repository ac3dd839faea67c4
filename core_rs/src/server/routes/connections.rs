//! `/api/v1/connections...`: get, keyset list, list for a token, create, batch create,
//! delete, count, feedback.

use super::extract::{blocking, blocking_write, bounded, read_gate, write_gate, Body, Path, Query};
use super::tokens::{page_response, Count, Ids, ListQuery, Page, MAX_BATCH};
use crate::connection::{
    flags as kflags, group_name, kind_name, parse_kind, u8_to_unit, Connection, LearnOutcome,
    ASSOCIATED_WITH,
};
use crate::server::audit::AuditNote;
use crate::server::auth::{Principal, Role};
use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::storage::connections::{Column, ConnectionBatch};
use crate::storage::events::with_origin;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One connection as JSON.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ConnectionOut {
    pub id: u32,
    pub token_a: u32,
    pub token_b: u32,
    pub kind: String,
    pub group: String,
    pub strength: f32,
    pub rigidity: f32,
    pub confidence: f32,
    pub preferred_distance: f32,
    pub mutability: String,
    pub evidence_count: u16,
    pub activation_count: u32,
    pub learning_rate: f32,
    pub decay_rate: f32,
    pub active_levels: u8,
    pub flags: Vec<String>,
    pub bidirectional: bool,
    pub created_at: u32,
    pub last_update: u32,
    pub source_id: u32,
}

impl From<Connection> for ConnectionOut {
    fn from(c: Connection) -> ConnectionOut {
        ConnectionOut {
            id: c.id,
            token_a: c.token_a,
            token_b: c.token_b,
            kind: kind_name(c.kind).to_string(),
            group: group_name(c.kind).to_string(),
            strength: c.pull_strength,
            rigidity: c.rigidity_f(),
            confidence: c.confidence_f(),
            preferred_distance: c.preferred_distance,
            mutability: c.mutability().name().to_string(),
            evidence_count: c.evidence_count,
            activation_count: c.activation_count,
            learning_rate: u8_to_unit(c.learning_rate),
            decay_rate: u8_to_unit(c.decay_rate),
            active_levels: c.active_levels,
            flags: kflags::NAMES
                .iter()
                .enumerate()
                .filter(|(i, _)| c.flags & (1 << i) != 0)
                .map(|(_, n)| n.to_string())
                .collect(),
            bidirectional: c.is_bidirectional(),
            created_at: c.created_at,
            last_update: c.last_update,
            source_id: c.source_id,
        }
    }
}

fn half() -> f32 {
    0.5
}
fn one() -> f32 {
    1.0
}
fn tenth() -> f32 {
    0.1
}
fn all_levels() -> u8 {
    0xFF
}

/// Shared settings of new connections (one value for every row of a batch).
#[derive(Deserialize, ToSchema)]
pub struct ConnectionSettings {
    /// Kind name (default `associated_with`).
    pub kind: Option<String>,
    /// Pull strength (default: the CDNA's default).
    pub strength: Option<f32>,
    #[serde(default = "half")]
    pub rigidity: f32,
    #[serde(default = "half")]
    pub confidence: f32,
    #[serde(default = "one")]
    pub preferred_distance: f32,
    #[serde(default = "tenth")]
    pub learning_rate: f32,
    /// Default: the CDNA's decay rate.
    pub decay_rate: Option<f32>,
    #[serde(default)]
    pub bidirectional: bool,
    #[serde(default = "all_levels")]
    pub active_levels: u8,
}

/// One connection to create, `token_a -> token_b`.
#[derive(Deserialize, ToSchema)]
pub struct ConnectionIn {
    pub token_a: u32,
    pub token_b: u32,
    #[serde(flatten)]
    pub settings: ConnectionSettings,
}

/// Many connections `a[i] -> b[i]`, all or nothing; per-row `kinds` and `strengths`
/// override the shared `kind` and `strength`.
#[derive(Deserialize, ToSchema)]
pub struct ConnectionBatchIn {
    pub a: Vec<u32>,
    pub b: Vec<u32>,
    pub kinds: Option<Vec<String>>,
    pub strengths: Option<Vec<f32>>,
    #[serde(flatten)]
    pub settings: ConnectionSettings,
}

/// Feedback on one connection.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackIn {
    /// True: it helped (confidence rises by its learning rate); false: it did not.
    pub success: bool,
}

/// What feedback did: `updated`, `unchanged` (an immutable kind) or `dropped` (a hypothesis
/// under 10% confidence).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct FeedbackOut {
    pub id: u32,
    pub outcome: String,
    /// The connection after the feedback (absent when dropped).
    pub connection: Option<ConnectionOut>,
}

fn outcome_name(o: LearnOutcome) -> &'static str {
    match o {
        LearnOutcome::Updated => "updated",
        LearnOutcome::Unchanged => "unchanged",
        LearnOutcome::Drop => "dropped",
    }
}

fn kind_of(k: &Option<String>, field: &str) -> ApiResult<u8> {
    match k {
        Some(name) => parse_kind(name).map_err(|e| Problem::invalid(field, e.to_string())),
        None => Ok(ASSOCIATED_WITH),
    }
}

/// One connection by id.
#[utoipa::path(get, path = "/api/v1/connections/{id}", tag = "connections",
    params(("id" = u32, Path, description = "Connection id")),
    responses((status = 200, body = ConnectionOut), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn get_connection(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<u32>,
) -> ApiResult<Json<ConnectionOut>> {
    who.require(Role::Readonly)?;
    read_gate(&app)?;
    Ok(Json(app.store.get_connection(id)?.into()))
}

/// Connections in id order, a page at a time (keyset).
#[utoipa::path(get, path = "/api/v1/connections", tag = "connections", params(ListQuery),
    responses((status = 200, body = Page<ConnectionOut>, headers(("Link" = String, description = "rel=\"next\" page")))),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn list_connections(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<ListQuery>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Readonly)?;
    let limit = q.limit()?;
    let after = q.after.unwrap_or(0);
    let store = app.store.clone();
    let (rows, more) = blocking(move || Ok(store.connection_page(after, limit))).await?;
    let next = if more {
        rows.last().map(|c| c.id)
    } else {
        None
    };
    let items: Vec<ConnectionOut> = rows.into_iter().map(ConnectionOut::from).collect();
    Ok(page_response("/api/v1/connections", limit, items, next))
}

/// Connections touching a token (as source or target).
#[utoipa::path(get, path = "/api/v1/tokens/{id}/connections", tag = "connections",
    params(("id" = u32, Path, description = "Token id")),
    responses((status = 200, body = Vec<ConnectionOut>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn token_connections(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<u32>,
) -> ApiResult<Json<Vec<ConnectionOut>>> {
    who.require(Role::Readonly)?;
    let store = app.store.clone();
    let recs = blocking(move || Ok(store.connections_for_token(id)?)).await?;
    Ok(Json(recs.into_iter().map(ConnectionOut::from).collect()))
}

/// How many connections the runtime holds.
#[utoipa::path(get, path = "/api/v1/connections/count", tag = "connections",
    responses((status = 200, body = Count)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn count_connections(
    State(app): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Count>> {
    who.require(Role::Readonly)?;
    read_gate(&app)?;
    Ok(Json(Count {
        count: app.store.connection_count(),
    }))
}

/// Create one connection; 201 with the connection.
#[utoipa::path(post, path = "/api/v1/connections", tag = "connections", request_body = ConnectionIn,
    responses((status = 201, body = ConnectionOut), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("user"))))]
pub async fn create_connection(
    State(app): State<AppState>,
    who: Principal,
    c: Body<ConnectionIn>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::User)?;
    let c = c.parse()?;
    let s = &c.settings;
    let kind = kind_of(&s.kind, "kind")?;
    write_gate(&app)?;
    let strength = s
        .strength
        .unwrap_or_else(|| app.store.default_pull_strength());
    let (aa, bb) = ([c.token_a], [c.token_b]);
    let batch = ConnectionBatch {
        kinds: Column::All(kind),
        strengths: Column::All(strength),
        rigidity: Column::All(s.rigidity),
        confidence: Column::All(s.confidence),
        preferred_distance: s.preferred_distance,
        learning_rate: s.learning_rate,
        decay_rate: s.decay_rate,
        bidirectional: s.bidirectional,
        active_levels: s.active_levels,
        ..ConnectionBatch::associated(&aa, &bb)
    };
    let ids = with_origin(&who.origin(), || app.store.create_connections(&batch))?;
    let id = ids.first().copied().ok_or_else(Problem::internal)?;
    let out: ConnectionOut = app.store.get_connection(id)?.into();
    Ok((
        StatusCode::CREATED,
        Extension(AuditNote {
            ids: vec![id],
            count: 1,
        }),
        Json(out),
    ))
}

/// Create many connections, all or nothing (at most 100000); their ids in order.
#[utoipa::path(post, path = "/api/v1/connections/batch", tag = "connections", request_body = ConnectionBatchIn,
    responses((status = 201, body = Ids), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("user"))))]
pub async fn create_connections(
    State(app): State<AppState>,
    who: Principal,
    b: Body<ConnectionBatchIn>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::User)?;
    let b = b.parse()?;
    let n = bounded("a", b.a.len(), MAX_BATCH)?;
    if b.b.len() != n {
        return Err(Problem::invalid(
            "b",
            format!("a has {n} ids but b has {}", b.b.len()),
        ));
    }
    let kinds: Option<Vec<u8>> = match &b.kinds {
        Some(k) if k.len() != n => {
            return Err(Problem::invalid(
                "kinds",
                format!("{} kinds for {n} connections", k.len()),
            ))
        }
        Some(k) => Some(
            k.iter()
                .enumerate()
                .map(|(i, name)| kind_of(&Some(name.clone()), &format!("kinds[{i}]")))
                .collect::<ApiResult<_>>()?,
        ),
        None => None,
    };
    if let Some(s) = &b.strengths {
        if s.len() != n {
            return Err(Problem::invalid(
                "strengths",
                format!("{} strengths for {n} connections", s.len()),
            ));
        }
    }
    let kind = kind_of(&b.settings.kind, "kind")?;
    let store = app.store.clone();
    let ids = blocking_write(who.origin(), move || {
        let s = &b.settings;
        let strength = s.strength.unwrap_or_else(|| store.default_pull_strength());
        let batch = ConnectionBatch {
            kinds: kinds.as_deref().map_or(Column::All(kind), Column::Each),
            strengths: b
                .strengths
                .as_deref()
                .map_or(Column::All(strength), Column::Each),
            rigidity: Column::All(s.rigidity),
            confidence: Column::All(s.confidence),
            preferred_distance: s.preferred_distance,
            learning_rate: s.learning_rate,
            decay_rate: s.decay_rate,
            bidirectional: s.bidirectional,
            active_levels: s.active_levels,
            ..ConnectionBatch::associated(&b.a, &b.b)
        };
        store.create_connections(&batch)
    })
    .await?;
    let note = AuditNote {
        ids: ids.iter().take(16).copied().collect(),
        count: ids.len(),
    };
    Ok((
        StatusCode::CREATED,
        Extension(note),
        Json(Ids {
            count: ids.len(),
            ids,
        }),
    ))
}

/// Delete one connection.
#[utoipa::path(delete, path = "/api/v1/connections/{id}", tag = "connections",
    params(("id" = u32, Path, description = "Connection id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("user"))))]
pub async fn delete_connection(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<u32>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::User)?;
    write_gate(&app)?;
    with_origin(&who.origin(), || app.store.delete_connections(&[id]))?;
    Ok((
        StatusCode::NO_CONTENT,
        Extension(AuditNote {
            ids: vec![id],
            count: 1,
        }),
    ))
}

/// Feedback on one connection (Connection V3 learning rules).
#[utoipa::path(post, path = "/api/v1/connections/{id}/feedback", tag = "connections",
    params(("id" = u32, Path, description = "Connection id")), request_body = FeedbackIn,
    responses((status = 200, body = FeedbackOut), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("user"))))]
pub async fn feedback(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<u32>,
    f: Body<FeedbackIn>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::User)?;
    let f = f.parse()?;
    write_gate(&app)?;
    let out = with_origin(&who.origin(), || {
        app.store.connection_feedback(id, f.success)
    })?;
    let connection = match out {
        LearnOutcome::Drop => None,
        _ => app.store.get_connection(id).ok().map(ConnectionOut::from),
    };
    Ok((
        Extension(AuditNote {
            ids: vec![id],
            count: 1,
        }),
        Json(FeedbackOut {
            id,
            outcome: outcome_name(out).into(),
            connection,
        }),
    ))
}

/// The connection routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/connections",
            get(list_connections).post(create_connection),
        )
        .route("/connections/count", get(count_connections))
        .route(
            "/connections/{id}",
            get(get_connection).delete(delete_connection),
        )
        .route("/connections/{id}/feedback", post(feedback))
        .route("/tokens/{id}/connections", get(token_connections))
}

/// The connection routes that take large bodies.
pub fn batch_routes() -> Router<AppState> {
    Router::new().route("/connections/batch", post(create_connections))
}
