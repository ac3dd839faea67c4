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
    /// User name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// Optional: a user without a password works through API keys only.
    pub password: Option<String>,
}

/// Changes to a user (each optional).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserPatch {
    /// A new role.
    pub role: Option<Role>,
    /// Disable (true) or enable (false) the user.
    pub disabled: Option<bool>,
    /// A password (8-1024 bytes).
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
    /// The key.
    pub key: String,
    /// The stored key, without its secret.
    pub info: KeyInfo,
}

/// A page of the audit log.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Oldest first.
    pub entries: Vec<AuditEntry>,
    /// Pass as `after` to get the next page.
    pub next_after: u64,
    /// The newest sequence number written so far.
    pub last_seq: u64,
}

/// Audit paging: entries after sequence number `after`, at most `limit` (1-1000).
#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Entries after this sequence number (default 0).
    pub after: Option<u64>,
    /// Page size, 1-1000 (default 100).
    pub limit: Option<usize>,
    /// Only entries by this principal.
    pub principal: Option<String>,
    /// Only entries for this route template.
    pub route: Option<String>,
    /// Only failed (true) or only successful (false) writes.
    pub failed: Option<bool>,
}

/// The new JWT signing key's id.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct Kid {
    /// Key id, in the JWT header.
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
    responses((status = 200, body = Vec<UserInfo>), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
pub async fn list_users(
    State(app): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Vec<UserInfo>>> {
    who.require(Role::Admin)?;
    Ok(Json(app.auth.list_users()))
}

/// Add a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = NewUser,
    responses((status = 201, body = UserInfo), (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
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
    responses((status = 200, body = UserInfo), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
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
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
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
    responses((status = 200, body = Vec<KeyInfo>), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
pub async fn list_keys(
    State(app): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Vec<KeyInfo>>> {
    who.require(Role::Admin)?;
    Ok(Json(app.auth.list_keys()))
}

/// Create an API key; the secret is in this response only.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "admin", request_body = NewKey,
    responses((status = 201, body = CreatedKey),
        (status = 404, description = "no user of that name (owner)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
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
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
pub async fn revoke_key(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    app.auth.revoke_key(&id)?;
    Ok((note(), StatusCode::NO_CONTENT))
}

/// Replace an API key by a new one (same owner, role, expiry); the old one stops working.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/rotate", tag = "admin",
    params(("id" = String, Path, description = "key id")),
    responses((status = 201, body = CreatedKey), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
pub async fn rotate_key(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let (info, key) = app.auth.rotate_key(&id)?;
    Ok((StatusCode::CREATED, note(), Json(CreatedKey { key, info })))
}

/// Start a new JWT signing key (the previous one keeps verifying).
#[utoipa::path(post, path = "/api/v1/jwt-keys/rotate", tag = "admin",
    responses((status = 200, body = Kid)), security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
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
    responses((status = 200, body = AuditPage), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
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
        .route("/api-keys/{id}/rotate", post(rotate_key))
        .route("/jwt-keys/rotate", post(rotate_jwt))
        .route("/audit", get(audit))
}

/// The auth and admin routes for the OpenAPI document (nest or merge it into the main one).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        super::auth::login, super::auth::refresh, super::auth::logout, super::auth::me,
        super::auth::ws_ticket, super::auth::password, super::auth::link, super::auth::login_page,
        super::auth::session, super::auth::session_state,
        list_users, add_user, update_user, remove_user, list_keys, create_key, revoke_key, rotate_key,
        rotate_jwt, audit
    ),
    components(schemas(
        super::auth::LoginBody, super::auth::RefreshBody, super::auth::Me, super::auth::WsTicket,
        super::auth::SessionState,
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

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn the_auth_api_document_lists_every_route_with_its_security() {
        let doc = super::AuthApi::openapi();
        let v = serde_json::to_value(&doc).unwrap();
        let paths = v["paths"].as_object().unwrap();
        for p in [
            "/api/v1/auth/login",
            "/api/v1/auth/refresh",
            "/api/v1/auth/logout",
            "/api/v1/auth/me",
            "/api/v1/auth/ws-ticket",
            "/api/v1/auth/password",
            "/api/v1/auth/link",
            "/login",
            "/api/v1/users",
            "/api/v1/users/{name}",
            "/api/v1/api-keys",
            "/api/v1/api-keys/{id}",
            "/api/v1/api-keys/{id}/rotate",
            "/api/v1/jwt-keys/rotate",
            "/api/v1/audit",
        ] {
            assert!(paths.contains_key(p), "{p} missing");
        }
        assert!(v["components"]["securitySchemes"]["bearer"].is_object());
        assert!(v["paths"]["/api/v1/users"]["get"]["security"].is_array());
        assert!(v["components"]["schemas"]["TokenPair"].is_object());
        assert_eq!(
            v["paths"]["/api/v1/audit"]["get"]["x-required-role"],
            "admin"
        );
        assert_eq!(
            v["paths"]["/api/v1/auth/me"]["get"]["x-required-role"],
            "readonly"
        );
        // The served document includes these routes with the common errors.
        let full = serde_json::to_value(crate::server::openapi::document()).unwrap();
        assert!(full["paths"]["/api/v1/auth/login"]["post"]["responses"]["429"].is_object());
        assert!(full["paths"]["/api/v1/users"]["get"]["responses"]["403"].is_object());
    }
}
