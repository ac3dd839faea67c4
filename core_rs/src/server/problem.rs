//! RFC 9457 `application/problem+json` errors, and the mapping from the core's errors.

use crate::error::NgError;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A problem document. `kind` becomes `type` (`/problems/<kind>`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For a Guardian refusal or a validation error: the field, its value and the limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Seconds to wait (429, 503); also sent as `Retry-After`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            value: None,
            limit: None,
            reason: None,
            retry_after: None,
        }
    }
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }
    pub fn unprocessable(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", detail)
    }
    /// 422 naming the argument or body field that was wrong.
    pub fn invalid(field: &str, detail: impl Into<String>) -> Problem {
        let mut p = Problem::unprocessable(detail);
        p.field = Some(field.to_string());
        p
    }
    /// 422 for a count, `k` or limit above its bound.
    pub fn over_bound(field: &str, value: usize, max: usize) -> Problem {
        let mut p = Problem::invalid(field, format!("{field} = {value} is above the limit {max}"));
        p.value = Some(value as f64);
        p.limit = Some(max as f64);
        p
    }
    /// 412: the `If-Match` ETag is not the current one.
    pub fn precondition_failed(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::PRECONDITION_FAILED, "stale-etag", detail)
    }
    /// 428: a conditional write came without `If-Match`.
    pub fn precondition_required(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "if-match-required",
            detail,
        )
    }
    pub fn too_large(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", detail)
    }
    pub fn busy(retry_after: u64) -> Problem {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the runtime is busy with a long write; retry shortly",
        );
        p.retry_after = Some(retry_after);
        p
    }
    pub fn internal() -> Problem {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to handle this request",
        )
    }
}

impl From<NgError> for Problem {
    fn from(e: NgError) -> Problem {
        use NgError as E;
        let detail = e.to_string();
        match e.root() {
            E::TokenNotFound(_) | E::ConnectionNotFound(_) => Problem::not_found(detail),
            E::NoBootstrap => Problem::new(StatusCode::CONFLICT, "no-bootstrap", detail),
            E::Rejected(r) => {
                let mut p =
                    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "guardian-refused", detail);
                p.field = r.refusal.field.map(str::to_string);
                p.value = r.refusal.value;
                p.limit = r.refusal.limit;
                p.reason = Some(r.refusal.reason.clone());
                p
            }
            E::OutOfMemory { .. } => Problem::too_large(detail),
            E::InvalidValue { field, .. } => Problem::invalid(field, detail),
            E::UnknownSpace(_) | E::RepeatedSpace(_) => Problem::invalid("space", detail),
            E::UnknownEntityType(_) => Problem::invalid("entity", detail),
            E::UnknownConnectionKind(_) => Problem::invalid("kind", detail),
            E::UnknownProfile(_) => Problem::invalid("profile", detail),
            E::InvalidId(_) | E::DuplicateId(_) => Problem::invalid("id", detail),
            E::ScaleTooSmall { space, .. } => Problem::invalid(space, detail),
            E::QueryRow { .. } => Problem::invalid("queries", detail),
            E::Interrupted => Problem::busy(1),
            E::Internal(_) | E::Io { .. } => Problem::internal(),
            // These name files on the server: say what failed, not where.
            E::Snapshot { .. } | E::Dataset { .. } | E::FileNotFound(_) | E::InvalidFile { .. } => {
                Problem::new(
                    StatusCode::CONFLICT,
                    "snapshot",
                    "the snapshot could not be read or written",
                )
            }
            _ => Problem::unprocessable(detail),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = self.retry_after;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut r = (status, body).into_response();
        // Middleware (audit, metrics) reads what went wrong from here.
        r.extensions_mut().insert(self);
        r.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = retry {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        r
    }
}

/// What handlers return.
pub type ApiResult<T> = Result<T, Problem>;
