//! `/api/v1/auth/...` (login, refresh, logout, me, ws-ticket, password, link) and
//! `GET /login?token=` (the one-time login link, exchanged for the session cookie).

use crate::server::audit::{AuditEntry, AuditNote};
use crate::server::auth::{Principal, Role, TokenPair, COOKIE};
use crate::server::limit::ClientIp;
use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

/// A JSON body, or a 400/415/422 problem naming what was wrong with it.
pub fn body<T>(r: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    r.map(|Json(v)| v).map_err(|e| {
        let status = e.status();
        Problem::new(status, "bad-body", e.body_text())
    })
}

fn ip_of(ip: Option<Extension<ClientIp>>) -> IpAddr {
    ip.map(|Extension(c)| c.0)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Name and password.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    /// User name.
    pub name: String,
    /// The password.
    pub password: String,
}

/// A refresh token (logout: optional).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct RefreshBody {
    /// The refresh token.
    pub refresh_token: Option<String>,
}

/// The caller.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct Me {
    /// User name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// Set when the caller used an API key.
    pub key_id: Option<String>,
}

/// A single-use WebSocket ticket: connect to `/api/v1/ws?ticket=...` within `expires_in` s.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct WsTicket {
    /// The ticket (single use).
    pub ticket: String,
    /// Seconds it stays valid.
    pub expires_in: u64,
}

/// Current and new password.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordBody {
    /// The password now.
    pub current_password: String,
    /// The new password (8-1024 bytes).
    pub new_password: String,
}

/// A one-time login token.
#[derive(Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
pub struct LinkBody {
    /// The one-time token.
    pub token: String,
}

/// Log in with a name and password: an access JWT and a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 429, body = Problem, content_type = "application/problem+json")),
    extensions(("x-required-role" = json!("public"))))]
pub async fn login(
    State(app): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    b: Result<Json<LoginBody>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    let b = body(b)?;
    app.limiter.check_login(ip_of(ip), &b.name)?;
    if b.name.len() > 64 || b.password.len() > 1024 {
        return Err(Problem::unauthorized("the name or the password is wrong"));
    }
    let (pair, p) = app.auth.login(&b.name, &b.password).await?;
    Ok((Extension(p), no_store(), Json(pair)))
}

fn no_store() -> [(header::HeaderName, &'static str); 1] {
    [(header::CACHE_CONTROL, "no-store")]
}

/// Exchange a refresh token for a new pair (the old one is spent; reusing it revokes the
/// session).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem, content_type = "application/problem+json")),
    extensions(("x-required-role" = json!("public"))))]
pub async fn refresh(
    State(app): State<AppState>,
    b: Result<Json<RefreshBody>, JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    let t = body(b)?
        .refresh_token
        .ok_or_else(|| Problem::unprocessable("refresh_token is required"))?;
    let (pair, p) = app.auth.refresh(&t)?;
    Ok((Extension(p), no_store(), Json(pair)))
}

fn session_cookie(value: &str, max_age: u64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}"
    ))
    .unwrap_or(HeaderValue::from_static(""))
}

/// Log out: revoke the refresh token's session (if given) and the access token or cookie
/// of the request, and clear the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshBody,
    responses((status = 204)),
    extensions(("x-required-role" = json!("public"))))]
pub async fn logout(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    b: Result<Json<RefreshBody>, JsonRejection>,
) -> ApiResult<Response> {
    // An empty body is fine.
    if let Ok(Json(RefreshBody {
        refresh_token: Some(t),
    })) = b
    {
        app.auth.logout(&t)?;
    }
    // The access token that made this request (bearer JWT or the cookie) stops working too.
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|t| !t.starts_with("ngk_"));
    if let Some(t) = bearer.or_else(|| crate::server::auth::cookie(&headers, COOKIE)) {
        app.auth.revoke_access(t.trim());
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie("", 0));
    Ok(r)
}

/// Who am I.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn me(who: Principal) -> Json<Me> {
    Json(Me {
        name: who.name,
        role: who.role,
        key_id: who.key_id,
    })
}

/// A single-use ticket for a WebSocket upgrade (browsers cannot set headers on one).
#[utoipa::path(post, path = "/api/v1/auth/ws-ticket", tag = "auth",
    responses((status = 200, body = WsTicket), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn ws_ticket(State(app): State<AppState>, who: Principal) -> ApiResult<Json<WsTicket>> {
    who.require(Role::Readonly)?;
    Ok(Json(WsTicket {
        ticket: app.auth.ws_ticket(&who),
        expires_in: crate::server::auth::WS_TICKET_TTL as u64,
    }))
}

/// Change the caller's password (the current one is checked; sessions are revoked).
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordBody,
    responses((status = 204), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn password(
    State(app): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    who: Principal,
    b: Result<Json<PasswordBody>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let b = body(b)?;
    app.limiter.check_login(ip_of(ip), &who.name)?;
    if b.current_password.len() > 1024 {
        return Err(Problem::unauthorized("the name or the password is wrong"));
    }
    app.auth
        .change_password(&who.name, &b.current_password, &b.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn redeem(app: &AppState, token: &str, ip: IpAddr) -> ApiResult<(HeaderValue, Principal)> {
    app.limiter.check_login(ip, "(login link)")?;
    let (jwt, p) = app.auth.redeem_login_link(token)?;
    Ok((session_cookie(&jwt, app.auth.session_ttl()), p))
}

/// Exchange a one-time login token for the session cookie (for scripts of the dashboard).
#[utoipa::path(post, path = "/api/v1/auth/link", tag = "auth", request_body = LinkBody,
    responses((status = 204, description = "Set-Cookie carries the session"),
              (status = 401, body = Problem, content_type = "application/problem+json")),
    extensions(("x-required-role" = json!("public"))))]
pub async fn link(
    State(app): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    b: Result<Json<LinkBody>, JsonRejection>,
) -> ApiResult<Response> {
    let t = body(b)?.token;
    let (cookie, p) = redeem(&app, &t, ip_of(ip))?;
    let mut r = (
        Extension(p),
        Extension(AuditNote::default()),
        StatusCode::NO_CONTENT,
    )
        .into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

/// The login link: `GET /login?token=...` sets the session cookie and redirects to `/`.
#[utoipa::path(get, path = "/login", tag = "auth", params(LinkBody),
    responses((status = 303, description = "Set-Cookie carries the session; Location is /"),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 401, body = Problem, content_type = "application/problem+json")),
    extensions(("x-required-role" = json!("public"))))]
pub async fn login_page(
    State(app): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    q: Result<Query<LinkBody>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let t = q
        .map_err(|_| {
            let mut p = Problem::bad_request("the one-time token is missing (?token=...)");
            p.field = Some("token".into());
            p
        })?
        .0
        .token;
    let ip = ip_of(ip);
    let res = redeem(&app, &t, ip);
    // A GET, so the audit middleware skips it: record the session it opens here.
    app.audit.record(AuditEntry {
        principal: res.as_ref().ok().map(|(_, p)| p.name.clone()),
        role: res.as_ref().ok().map(|(_, p)| p.role.as_str().into()),
        ip: Some(ip.to_string()),
        method: "GET".into(),
        route: "/login".into(),
        status: res.as_ref().err().map_or(303, |p| p.status),
        origin: "api".into(),
        ..AuditEntry::default()
    });
    let (cookie, _) = res?;
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// Whether the request is authenticated (never 401: a page asks this before showing its
/// login screen, without a failed request in the browser's console).
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionState {
    /// True when the credentials (cookie, header) are valid.
    pub authenticated: bool,
    /// The caller, when authenticated.
    pub me: Option<Me>,
}

/// Who is logged in, if anyone (200 either way).
#[utoipa::path(get, path = "/api/v1/auth/session", tag = "auth",
    responses((status = 200, body = SessionState)),
    extensions(("x-required-role" = json!("public"))))]
pub async fn session_state(
    State(app): State<AppState>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    let me = app
        .auth
        .authenticate(&method, &uri, &headers)
        .ok()
        .map(|p| Me {
            name: p.name,
            role: p.role,
            key_id: p.key_id,
        });
    (
        no_store(),
        Json(SessionState {
            authenticated: me.is_some(),
            me,
        }),
    )
        .into_response()
}

/// Log in with a name and password for a browser: the session is an HttpOnly cookie (as
/// with a login link), not a token in the body. A browser must send its own `Origin`.
#[utoipa::path(post, path = "/api/v1/auth/session", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = Me, description = "Set-Cookie carries the session"),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 429, body = Problem, content_type = "application/problem+json")),
    extensions(("x-required-role" = json!("public"))))]
pub async fn session(
    State(app): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    headers: axum::http::HeaderMap,
    b: Result<Json<LoginBody>, JsonRejection>,
) -> ApiResult<Response> {
    // A page of another site must not log this browser in (login CSRF).
    if headers.contains_key(header::ORIGIN)
        && !crate::server::security::origin_allowed(&headers, &app.config.allowed_origins)
    {
        return Err(Problem::forbidden(
            "a browser login needs a matching Origin",
        ));
    }
    let b = body(b)?;
    app.limiter.check_login(ip_of(ip), &b.name)?;
    if b.name.len() > 64 || b.password.len() > 1024 {
        return Err(Problem::unauthorized("the name or the password is wrong"));
    }
    let (jwt, p) = app.auth.cookie_login(&b.name, &b.password).await?;
    let me = Me {
        name: p.name.clone(),
        role: p.role,
        key_id: None,
    };
    let mut r = (Extension(p), no_store(), Json(me)).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&jwt, app.auth.session_ttl()),
    );
    Ok(r)
}

/// Routes under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/session", get(session_state).post(session))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
        .route("/auth/ws-ticket", post(ws_ticket))
        .route("/auth/password", post(password))
        .route("/auth/link", post(link))
}

/// Routes at the root (`/login`).
pub fn root_routes() -> Router<AppState> {
    Router::new().route("/login", get(login_page))
}
