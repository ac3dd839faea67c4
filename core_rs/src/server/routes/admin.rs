//! Admin-only routes: users, API keys, JWT key rotation and the audit log.

use super::auth::body;
use crate::server::audit::{AuditEntry, AuditFilter, AuditNote};
use crate::server::auth::{KeyInfo, Principal, Role, UserInfo};
use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, patch, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

fn note() -> Extension<AuditNote> {
    Extension(AuditNote {
        ids: Vec::new(),
        count: 1,
    })
}

/// A new user.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    /// Optional: a user without a password works through API keys only.
    pub password: Option<String>,
}

/// Changes to a user (each optional).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserPatch {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
}

/// A new API key.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewKey {
    /// Owner (default: the caller).
    pub owner: Option<String>,
    /// At most the owner's role.
    pub role: Role,
    /// Seconds until the key expires (none: never).
    pub expires_in: Option<u64>,
}

/// A created key: `key` is the secret, shown only in this response.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedKey {
    pub key: String,
    pub info: KeyInfo,
}

/// A page of the audit log.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `after` to get the next page.
    pub next_after: u64,
    /// The newest sequence number written so far.
    pub last_seq: u64,
}

/// Audit paging: entries after sequence number `after`, at most `limit` (1-1000).
#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    pub after: Option<u64>,
    pub limit: Option<usize>,
    pub principal: Option<String>,
    pub route: Option<String>,
    pub failed: Option<bool>,
}

/// The new JWT signing key's id.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct Kid {
    pub kid: String,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|_| Err(Problem::internal()))
}

/// All users.
#[utoipa::path(get, path = "/api/v1/users", tag = "admin",
    responses((status = 200, body = Vec<UserInfo>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_users(
    State(app): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Vec<UserInfo>>> {
    who.require(Role::Admin)?;
    Ok(Json(app.auth.list_users()))
}

/// Add a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = NewUser,
    responses((status = 201, body = UserInfo), (status = 409, body = Problem),
              (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn add_user(
    State(app): State<AppState>,
    who: Principal,
    b: Result<Json<NewUser>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let b = body(b)?;
    let auth = app.auth.clone();
    let u = blocking(move || auth.add_user(&b.name, b.role, b.password.as_deref())).await?;
    Ok((StatusCode::CREATED, note(), Json(u)))
}

/// Change a user's role, disabled flag or password.
#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "admin", request_body = UserPatch,
    params(("name" = String, Path, description = "user name")),
    responses((status = 200, body = UserInfo), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_user(
    State(app): State<AppState>,
    who: Principal,
    Path(name): Path<String>,
    b: Result<Json<UserPatch>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let b = body(b)?;
    let auth = app.auth.clone();
    let u = blocking(move || {
        if let Some(pw) = b.password.as_deref() {
            auth.set_password(&name, pw)?;
        }
        auth.update_user(&name, b.role, b.disabled)
    })
    .await?;
    Ok((note(), Json(u)))
}

/// Remove a user with their keys and sessions.
#[utoipa::path(delete, path = "/api/v1/users/{name}", tag = "admin",
    params(("name" = String, Path, description = "user name")),
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn remove_user(
    State(app): State<AppState>,
    who: Principal,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    app.auth.remove_user(&name)?;
    Ok((note(), StatusCode::NO_CONTENT))
}

/// All API keys (no secrets).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "admin",
    responses((status = 200, body = Vec<KeyInfo>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_keys(
    State(app): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Vec<KeyInfo>>> {
    who.require(Role::Admin)?;
    Ok(Json(app.auth.list_keys()))
}

/// Create an API key; the secret is in this response only.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "admin", request_body = NewKey,
    responses((status = 201, body = CreatedKey), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_key(
    State(app): State<AppState>,
    who: Principal,
    b: Result<Json<NewKey>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let b = body(b)?;
    let owner = b.owner.unwrap_or_else(|| who.name.clone());
    let (info, key) = app.auth.create_key(&owner, b.role, b.expires_in)?;
    Ok((StatusCode::CREATED, note(), Json(CreatedKey { key, info })))
}

/// Revoke an API key.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "admin",
    params(("id" = String, Path, description = "key id")),
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn revoke_key(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    app.auth.revoke_key(&id)?;
    Ok((note(), StatusCode::NO_CONTENT))
}

/// Start a new JWT signing key (the previous one keeps verifying).
#[utoipa::path(post, path = "/api/v1/jwt-keys/rotate", tag = "admin",
    responses((status = 200, body = Kid)), security(("bearer" = [])))]
pub async fn rotate_jwt(
    State(app): State<AppState>,
    who: Principal,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let kid = app.auth.rotate_jwt_key()?;
    Ok((note(), Json(Kid { kid })))
}

/// The audit log, oldest first, from the in-memory ring.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn audit(
    State(app): State<AppState>,
    who: Principal,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<AuditPage>> {
    who.require(Role::Admin)?;
    let Query(q) = q.map_err(|e| Problem::unprocessable(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        let mut p = Problem::unprocessable("limit must be 1..=1000");
        p.field = Some("limit".into());
        return Err(p);
    }
    let after = q.after.unwrap_or(0);
    let f = AuditFilter {
        principal: q.principal,
        route: q.route,
        failed: q.failed,
    };
    let entries = app.audit.read(after, limit, &f);
    Ok(Json(AuditPage {
        next_after: entries.last().map_or(after, |e| e.seq),
        last_seq: app.audit.last_seq(),
        entries,
    }))
}

/// Routes under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(add_user))
        .route("/users/{name}", patch(update_user).delete(remove_user))
        .route("/api-keys", get(list_keys).post(create_key))
        .route("/api-keys/{id}", delete(revoke_key))
        .route("/jwt-keys/rotate", post(rotate_jwt))
        .route("/audit", get(audit))
}

/// The auth and admin routes for the OpenAPI document (nest or merge it into the main one).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        super::auth::login, super::auth::refresh, super::auth::logout, super::auth::me,
        super::auth::ws_ticket, super::auth::password, super::auth::link, super::auth::login_page,
        list_users, add_user, update_user, remove_user, list_keys, create_key, revoke_key,
        rotate_jwt, audit
    ),
    components(schemas(
        super::auth::LoginBody, super::auth::RefreshBody, super::auth::Me, super::auth::WsTicket,
        super::auth::PasswordBody, super::auth::LinkBody, crate::server::auth::TokenPair,
        NewUser, UserPatch, NewKey, CreatedKey, AuditPage, AuditEntry, Kid, UserInfo, KeyInfo,
        Role, Problem
    )),
    modifiers(&BearerScheme),
    tags((name = "auth", description = "Login, tokens, sessions"),
         (name = "admin", description = "Users, API keys, audit (admin role)"))
)]
pub struct AuthApi;

/// Adds the `bearer` security scheme (API key or JWT in `Authorization: Bearer`).
pub struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key (ngk_...) or an access JWT"))
                    .build(),
            ),
        );
    }
}
