//! The outer layers, outermost first: a request id (`X-Request-Id`, kept from the client when
//! it is short and plain, else generated) with the security headers (`X-Content-Type-Options`,
//! `frame-ancestors`, `WWW-Authenticate` on 401) added to every response; the `Host`
//! allowlist (DNS rebinding: loopback names and addresses, the bound address,
//! `config.allowed_hosts`) before anything else looks at the request; CORS (off unless
//! `config.allowed_origins`); panics turned into 500 problems; the default body limit
//! (`config.max_body`).

use super::problem::Problem;
use super::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The id of this request (also in the `X-Request-Id` response header and the audit log).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The host part of a `Host` header value (no port, no IPv6 brackets), lowercased.
pub fn host_name(value: &str) -> Option<String> {
    let v = value.trim();
    if let Some(rest) = v.strip_prefix('[') {
        let (h, tail) = rest.split_once(']')?;
        if !(tail.is_empty() || tail.starts_with(':')) {
            return None;
        }
        return Some(h.to_ascii_lowercase());
    }
    let h = match v.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        Some(_) => return None,
        None => v,
    };
    (!h.is_empty()).then(|| h.trim_end_matches('.').to_ascii_lowercase())
}

/// Whether `host` (from [`host_name`]) may address this server.
pub fn host_allowed(host: &str, bound: &str, allowed: &[String]) -> bool {
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        if ip.is_loopback() {
            return true;
        }
        if let Ok(b) = bound.parse::<IpAddr>() {
            if !b.is_unspecified() && b == ip {
                return true;
            }
        }
    }
    allowed.iter().any(|a| a.eq_ignore_ascii_case(host))
}

/// Whether the request's `Origin` is the server itself (same scheme-less host and port as
/// `Host`) or one of `allowed`. No `Origin` counts as not allowed. For cookie-authenticated
/// writes and WebSocket upgrades.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if allowed.iter().any(|o| o == origin) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
}

async fn host_check(State(app): State<AppState>, req: Request, next: Next) -> Response {
    // A request without Host (HTTP/1.0, in-process tests) cannot come from a rebinding browser.
    if let Some(v) = req.headers().get(header::HOST) {
        let ok = v
            .to_str()
            .ok()
            .and_then(host_name)
            .is_some_and(|h| host_allowed(&h, &app.config.host, &app.config.allowed_hosts));
        if !ok {
            return Problem::new(
                StatusCode::MISDIRECTED_REQUEST,
                "host-not-allowed",
                "this server does not answer to that Host name (add it to allowed_hosts)",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Bodies up to this size are read before routing, so a handler that answers without reading
/// its body (a 401/403, a route that takes none) never leaves bytes on a keep-alive connection.
const PREREAD: u64 = 64 << 10;

async fn preread(req: Request, next: Next) -> Response {
    let small = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > 0 && n <= PREREAD);
    if !small {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, PREREAD as usize).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Err(_) => Problem::bad_request("the request body could not be read").into_response(),
    }
}

fn next_request_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static N: AtomicU64 = AtomicU64::new(0);
    let p = PREFIX.get_or_init(|| super::auth::random_hex(4));
    format!("{p}-{:x}", N.fetch_add(1, Ordering::Relaxed))
}

fn plain_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
    .then(|| s.to_string())
}

async fn headers_mw(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(plain_id)
        .unwrap_or_else(next_request_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert(X_REQUEST_ID, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    let mut fa = String::from("frame-ancestors 'self'");
    for o in app.config.allowed_origins.iter() {
        fa.push(' ');
        fa.push_str(o);
    }
    if let Ok(v) = HeaderValue::from_str(&fa) {
        h.entry(header::CONTENT_SECURITY_POLICY).or_insert(v);
    }
    if r.status() == StatusCode::UNAUTHORIZED && !r.headers().contains_key(header::WWW_AUTHENTICATE)
    {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"neurograph\""),
        );
    }
    r
}

fn panic_to_problem(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    Problem::internal().into_response()
}

/// CORS for `origins` (none: no layer, browsers get no cross-origin access).
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if list.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
            ])
            .expose_headers([
                header::ETAG,
                header::RETRY_AFTER,
                header::LOCATION,
                X_REQUEST_ID,
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Apply the security layers. Outermost: the request id and response headers (so even a
/// refusal carries them), then the Host check, CORS, and panics to 500 problems.
pub fn layer(app: Router<AppState>, state: &AppState) -> Router<AppState> {
    // Bodies: `max_body` unless a route sets its own (batch routes: `max_batch_body`).
    let mut app = app
        .layer(axum::extract::DefaultBodyLimit::max(state.config.max_body))
        .layer(CatchPanicLayer::custom(
            panic_to_problem as fn(Box<dyn std::any::Any + Send + 'static>) -> Response,
        ));
    if let Some(c) = cors(&state.config.allowed_origins) {
        app = app.layer(c);
    }
    app.layer(axum::middleware::from_fn(preread))
        .layer(from_fn_with_state(state.clone(), host_check))
        .layer(from_fn_with_state(state.clone(), headers_mw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_parse_and_check() {
        assert_eq!(host_name("127.0.0.1:8765").as_deref(), Some("127.0.0.1"));
        assert_eq!(host_name("[::1]:80").as_deref(), Some("::1"));
        assert_eq!(host_name("LocalHost").as_deref(), Some("localhost"));
        assert_eq!(host_name("a:b:c"), None);
        let none: Vec<String> = vec![];
        assert!(host_allowed("localhost", "127.0.0.1", &none));
        assert!(host_allowed("::1", "127.0.0.1", &none));
        assert!(host_allowed("127.0.0.2", "127.0.0.1", &none));
        assert!(!host_allowed("evil.example", "127.0.0.1", &none));
        assert!(!host_allowed("10.0.0.5", "0.0.0.0", &none));
        assert!(host_allowed("10.0.0.5", "10.0.0.5", &none));
        assert!(host_allowed(
            "lab.example",
            "0.0.0.0",
            &["lab.example".into()]
        ));
    }
}
