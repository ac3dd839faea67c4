//! What every route group shares: extractors whose rejections are problem+json (axum's own
//! answer in plain text), bounds on sizes, the store-busy gates, and running long work off
//! the tokio workers.

use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

/// A JSON request body, read (up to the route's limit: 413 beyond) and checked to be JSON
/// (415 otherwise) when extracted, and parsed by [`Body::parse`] once the handler has
/// checked the caller's role, so a caller without the role gets 403 whatever it sent.
/// Malformed JSON is 400, a body of the wrong shape 422 naming the field (its path, e.g.
/// `tokens[3].weight`); all problem+json.
pub struct Body<T> {
    bytes: Bytes,
    _into: std::marker::PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Body<T> {
    /// The body as a `T`; every body of this API is a JSON object (serde would also take
    /// a struct from an array).
    pub fn parse(self) -> ApiResult<T> {
        let first = self.bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{')
            && parse_json::<serde::de::IgnoredAny>(&self.bytes).is_ok()
        {
            return Err(Problem::invalid("body", "the body must be a JSON object"));
        }
        parse_json(&self.bytes)
    }
}

impl<T, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        if !json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "the body must be JSON (Content-Type: application/json)",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::too_large("the request body is larger than this route accepts")
            } else {
                Problem::bad_request("the request body could not be read")
            }
        })?;
        Ok(Body {
            bytes,
            _into: std::marker::PhantomData,
        })
    }
}

/// Parse a JSON document into `T`, with the error mapping of [`Body`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { "body" } else { &path };
                Problem::invalid(field, format!("{field}: {inner}"))
            }
            // serde_json reports an array too long for a fixed size as "trailing
            // characters": a shape problem when the document itself is valid JSON.
            _ if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() => {
                let field = if path == "." { "body" } else { &path };
                Problem::invalid(field, format!("{field}: {inner}"))
            }
            _ => Problem::bad_request(format!("the body is not valid JSON: {inner}")),
        }
    })
}

/// Query string parameters; a bad one is 422 naming it.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let field = e.path().to_string();
                let field = if field == "." { "query" } else { &field };
                Problem::invalid(field, format!("query parameter {field}: {}", e.inner()))
            })
    }
}

/// Path parameters; one that does not parse (e.g. `/tokens/abc`) is 422 naming it.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(r) => {
                let mut p = Problem::unprocessable(format!("path: {}", r.body_text()));
                p.field = Some("path".into());
                Err(p)
            }
        }
    }
}

/// 422 naming `field` when `value` is above `max`.
pub fn bounded(field: &str, value: usize, max: usize) -> ApiResult<usize> {
    if value > max {
        Err(Problem::over_bound(field, value, max))
    } else {
        Ok(value)
    }
}

/// Seconds a client is told to wait when the store is busy.
const BUSY_RETRY_SECS: u64 = 1;

/// Before a short read on a request worker: 503 + `Retry-After` unless the store can be
/// read within the configured wait (a long write holds it).
pub fn read_gate(app: &AppState) -> ApiResult<()> {
    if app.store.readable_within(app.config.busy_wait) {
        Ok(())
    } else {
        Err(Problem::busy(BUSY_RETRY_SECS))
    }
}

/// Before a short write on a request worker: as [`read_gate`], for the write lock.
pub fn write_gate(app: &AppState) -> ApiResult<()> {
    if app.store.writable_within(app.config.busy_wait) {
        Ok(())
    } else {
        Err(Problem::busy(BUSY_RETRY_SECS))
    }
}

/// Most pieces of long work running at once; more wait (asynchronously, holding no thread)
/// for a turn, so a flood of batch requests cannot grow the blocking pool to hundreds of
/// threads all queued on the store's lock.
const LONG_WORK_SLOTS: usize = 8;

fn long_work_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(LONG_WORK_SLOTS))
}

/// Run long work (batches, scans, graph algorithms, queries) on tokio's blocking pool so
/// request workers stay free; a panic in it is a 500 problem, never a crash.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let _slot = long_work_slots()
        .acquire()
        .await
        .map_err(|_| Problem::internal())?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| Problem::internal())?
}

/// Run a write made by `origin` (see [`crate::storage::events::with_origin`]) off the
/// request workers.
pub async fn blocking_write<T: Send + 'static>(
    origin: String,
    f: impl FnOnce() -> crate::Result<T> + Send + 'static,
) -> ApiResult<T> {
    blocking(move || crate::storage::events::with_origin(&origin, f).map_err(Problem::from)).await
}

/// Parse a space name (`cognitive`, `L5`, `5`) as a 0-based index; 422 naming `space`.
pub fn space(name: &str) -> ApiResult<usize> {
    crate::space::parse_space(name).map_err(|e| Problem::invalid("space", e.to_string()))
}
