//! The dashboard: `GET /` (its page) and `GET /assets/{file}` (the bundle), compiled into the
//! server from `neurograph_lab/static/dashboard/` (built by `extension/build.mjs`).
//!
//! No authentication: the shell holds no data, it asks the API (which checks every request).
//! `include_bytes!` makes cargo rebuild when a bundle file changes, so the served bundle is
//! always the committed one. Responses carry a strong ETag (`If-None-Match` answers 304),
//! `Cache-Control: no-cache` (revalidate, so a new build is picked up at once) and, for the
//! page, a Content-Security-Policy that allows only this origin's scripts.
//!
//! Front-end development: with the environment variable `NG_DASHBOARD_DIR` set to a directory
//! (e.g. `neurograph_lab/static/dashboard`), the same three files are read from there on each
//! request instead, so `node build.mjs` shows up on reload without rebuilding the server.

use crate::server::problem::Problem;
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::OnceLock;

/// One embedded file.
struct Asset {
    name: &'static str,
    mime: &'static str,
    bytes: &'static [u8],
    etag: OnceLock<String>,
}

macro_rules! asset {
    ($name:literal, $mime:literal) => {
        Asset {
            name: $name,
            mime: $mime,
            bytes: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../neurograph_lab/static/dashboard/",
                $name
            )),
            etag: OnceLock::new(),
        }
    };
}

static INDEX: Asset = asset!("index.html", "text/html; charset=utf-8");
static FILES: [Asset; 2] = [
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
];

/// FNV-1a, 64 bit: a content hash for the ETag (not a security property).
fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn etag_of(bytes: &[u8]) -> String {
    format!("\"{:016x}-{:x}\"", fnv64(bytes), bytes.len())
}

/// The development override (`NG_DASHBOARD_DIR`): the file's bytes from that directory.
fn from_dev_dir(name: &str) -> Option<Vec<u8>> {
    let dir = std::env::var_os("NG_DASHBOARD_DIR")?;
    std::fs::read(std::path::Path::new(&dir).join(name)).ok()
}

impl Asset {
    fn etag(&self) -> &str {
        self.etag.get_or_init(|| etag_of(self.bytes))
    }

    fn respond(&self, headers: &HeaderMap, extra: Option<HeaderValue>) -> Response {
        match from_dev_dir(self.name) {
            Some(bytes) => {
                let etag = etag_of(&bytes);
                self.answer(bytes.into(), &etag, headers, extra)
            }
            None => self.answer(self.bytes.into(), self.etag(), headers, extra),
        }
    }

    fn answer(
        &self,
        body: axum::body::Body,
        etag: &str,
        headers: &HeaderMap,
        extra: Option<HeaderValue>,
    ) -> Response {
        let fresh = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
        let mut r = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            (
                [(header::CONTENT_TYPE, HeaderValue::from_static(self.mime))],
                body,
            )
                .into_response()
        };
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(etag) {
            h.insert(header::ETAG, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if let Some(csp) = extra {
            h.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        r
    }
}

/// The page's policy: scripts, styles, fonts and connections (HTTP and WebSocket) from this
/// origin only; images also from data:/blob: URLs (canvas exports); framing as the rest of the
/// server allows it.
fn page_policy(app: &AppState) -> Option<HeaderValue> {
    let mut csp = String::from(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
    );
    for o in app.config.allowed_origins.iter() {
        csp.push(' ');
        csp.push_str(o);
    }
    HeaderValue::from_str(&csp).ok()
}

/// The dashboard page (public: the shell asks the API, which checks every request).
#[utoipa::path(get, path = "/", tag = "system",
    responses((status = 200, description = "The dashboard page (HTML)", content_type = "text/html"),
              (status = 304, description = "Not modified (If-None-Match)")),
    extensions(("x-required-role" = json!("public"))))]
pub async fn index(State(app): State<AppState>, headers: HeaderMap) -> Response {
    INDEX.respond(&headers, page_policy(&app))
}

/// A file of the dashboard bundle (`app.js`, `app.css`).
#[utoipa::path(get, path = "/assets/{file}", tag = "system",
    params(("file" = String, Path, description = "File name, e.g. app.js")),
    responses((status = 200, description = "The file"),
              (status = 304, description = "Not modified (If-None-Match)"),
              (status = 404, body = Problem, content_type = "application/problem+json")),
    extensions(("x-required-role" = json!("public"))))]
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match FILES.iter().find(|a| a.name == file) {
        Some(a) => a.respond(&headers, None),
        None => Problem::not_found("no such dashboard asset").into_response(),
    }
}

/// `/` and `/assets/{file}` (at the root, outside `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{file}", get(asset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_is_embedded_and_hashed() {
        assert!(INDEX.bytes.starts_with(b"<!doctype html>"));
        assert!(std::str::from_utf8(INDEX.bytes)
            .unwrap()
            .contains("/assets/app.js"));
        for a in FILES.iter() {
            assert!(!a.bytes.is_empty(), "{} is empty", a.name);
            assert!(a.etag().starts_with('"') && a.etag().ends_with('"'));
        }
        assert_ne!(fnv64(b"a"), fnv64(b"b"));
    }
}
