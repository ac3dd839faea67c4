//! `/api/v1/query...`: semantic queries over the bootstrap's vocabulary (409 `no-bootstrap`
//! when the runtime has none).

use super::extract::{blocking, bounded, Body};
use crate::server::auth::{Principal, Role};
use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::storage::semantic::QueryInput;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Largest `k` of a semantic query.
pub const MAX_K: usize = 1_000;
/// Most queries in one batch.
pub const MAX_QUERIES: usize = 10_000;

fn default_k() -> usize {
    10
}

/// A word of a query with its sign (+1 towards, -1 away).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Term {
    pub word: String,
    #[serde(default = "one")]
    pub sign: f32,
}

fn one() -> f32 {
    1.0
}

/// One query: `text` (words, each +1), `terms`, or a `vector`; exactly one of them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryIn {
    pub text: Option<String>,
    pub terms: Option<Vec<Term>>,
    pub vector: Option<Vec<f32>>,
    /// How many words (default 10, at most 1000).
    #[serde(default = "default_k")]
    #[schema(maximum = 1000)]
    pub k: usize,
}

/// Words nearest the query, best first.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct QueryOut {
    pub ids: Vec<u32>,
    pub scores: Vec<f32>,
    pub words: Vec<String>,
}

/// Many queries: `texts` (each a query like `text`) or `vectors` (rows of the bootstrap's
/// dimension); exactly one of them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryBatchIn {
    pub texts: Option<Vec<String>>,
    pub vectors: Option<Vec<Vec<f32>>>,
    #[serde(default = "default_k")]
    #[schema(maximum = 1000)]
    pub k: usize,
}

/// One row per query.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct QueryBatchOut {
    pub k: usize,
    pub ids: Vec<Vec<u32>>,
    pub scores: Vec<Vec<f32>>,
}

fn text_terms(text: &str) -> QueryInput {
    QueryInput::Terms(
        text.split_whitespace()
            .map(|w| (w.to_string(), 1.0))
            .collect(),
    )
}

/// 409 `no-bootstrap` when the runtime has no vocabulary to rank.
fn need_bootstrap(app: &AppState) -> ApiResult<()> {
    match app.store.boot() {
        Some(_) => Ok(()),
        None => Err(crate::NgError::NoBootstrap.into()),
    }
}

fn input_of(q: QueryIn) -> ApiResult<QueryInput> {
    match (q.text, q.terms, q.vector) {
        (Some(t), None, None) => Ok(text_terms(&t)),
        (None, Some(terms), None) => {
            if let Some((i, t)) = terms.iter().enumerate().find(|(_, t)| !t.sign.is_finite()) {
                return Err(Problem::invalid(
                    &format!("terms[{i}].sign"),
                    format!("the sign of {:?} must be a finite number", t.word),
                ));
            }
            Ok(QueryInput::Terms(
                terms.into_iter().map(|t| (t.word, t.sign)).collect(),
            ))
        }
        (None, None, Some(v)) => Ok(QueryInput::Vector(v)),
        _ => Err(Problem::invalid(
            "text",
            "give exactly one of text, terms and vector",
        )),
    }
}

/// Rank the vocabulary by cosine to one query (the query's own words left out).
#[utoipa::path(post, path = "/api/v1/query", tag = "semantic", request_body = QueryIn,
    responses((status = 200, body = QueryOut), (status = 409, description = "No bootstrap", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("user"))))]
pub async fn query(
    State(app): State<AppState>,
    who: Principal,
    q: Body<QueryIn>,
) -> ApiResult<Json<QueryOut>> {
    who.require(Role::User)?;
    let q = q.parse()?;
    let k = bounded("k", q.k, MAX_K)?;
    need_bootstrap(&app)?;
    let input = input_of(q)?;
    let store = app.store.clone();
    let origin = who.origin();
    let h = blocking(move || {
        crate::storage::events::with_origin(&origin, || Ok(store.semantic_query(&input, k)?))
    })
    .await?;
    Ok(Json(QueryOut {
        ids: h.ids,
        scores: h.scores,
        words: h.words,
    }))
}

/// Many queries at once.
#[utoipa::path(post, path = "/api/v1/query/batch", tag = "semantic", request_body = QueryBatchIn,
    responses((status = 200, body = QueryBatchOut), (status = 409, description = "No bootstrap", body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("user"))))]
pub async fn query_batch(
    State(app): State<AppState>,
    who: Principal,
    q: Body<QueryBatchIn>,
) -> ApiResult<Json<QueryBatchOut>> {
    who.require(Role::User)?;
    let q = q.parse()?;
    let k = bounded("k", q.k, MAX_K)?;
    need_bootstrap(&app)?;
    let store = app.store.clone();
    let origin = who.origin();
    match (q.texts, q.vectors) {
        (Some(texts), None) => {
            bounded("texts", texts.len(), MAX_QUERIES)?;
            let rows = blocking(move || {
                crate::storage::events::with_origin(&origin, || {
                    texts
                        .iter()
                        .map(|t| store.semantic_query(&text_terms(t), k))
                        .collect::<crate::Result<Vec<_>>>()
                        .map_err(Problem::from)
                })
            })
            .await?;
            let k = rows.iter().map(|h| h.ids.len()).max().unwrap_or(0);
            let (ids, scores) = rows.into_iter().map(|h| (h.ids, h.scores)).unzip();
            Ok(Json(QueryBatchOut { k, ids, scores }))
        }
        (None, Some(vectors)) => {
            let n = bounded("vectors", vectors.len(), MAX_QUERIES)?;
            let dim = vectors.first().map_or(0, Vec::len);
            if let Some(i) = vectors.iter().position(|v| v.len() != dim) {
                return Err(Problem::invalid(
                    &format!("vectors[{i}]"),
                    format!("every vector needs {dim} values like the first"),
                ));
            }
            let flat: Vec<f32> = vectors.into_iter().flatten().collect();
            let (ids, scores, k) = blocking(move || {
                crate::storage::events::with_origin(&origin, || {
                    Ok(store.semantic_query_many(&flat, n, k, None)?)
                })
            })
            .await?;
            Ok(Json(QueryBatchOut {
                k,
                ids: rows_of(ids, k, n),
                scores: rows_of(scores, k, n),
            }))
        }
        _ => Err(Problem::invalid(
            "texts",
            "give exactly one of texts and vectors",
        )),
    }
}

/// `n` rows of `k` values.
fn rows_of<T: Clone>(v: Vec<T>, k: usize, n: usize) -> Vec<Vec<T>> {
    if k == 0 {
        vec![Vec::new(); n]
    } else {
        v.chunks(k).map(|c| c.to_vec()).collect()
    }
}

/// The semantic routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/query", post(query))
}

/// The semantic routes that take large bodies.
pub fn batch_routes() -> Router<AppState> {
    Router::new().route("/query/batch", post(query_batch))
}
