//! `/api/v1/tokens/table` and `/api/v1/tokens/labels`: the dashboard's tokens table. Keyset
//! pages in any column's order, filtered by the `%ng_tokens --where` expressions (the pandas
//! `query` subset of [`crate::table`], evaluated here over the store), over every token or
//! over a selection of ids (POST, no URL length limit); and label prefix search.

use super::extract::{blocking, bounded, Body, Query};
use super::tokens::{TokenOut, MAX_BATCH};
use crate::server::auth::{Principal, Role};
use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::table::{self, Column, TableError, TableQuery};
use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Default rows per table page.
pub const TABLE_DEFAULT_LIMIT: usize = 100;
/// Most rows per table page.
pub const TABLE_MAX_LIMIT: usize = 1000;
/// Most matches one label search answers.
pub const LABELS_MAX_LIMIT: usize = 1000;
/// Longest label prefix searched, in bytes.
pub const MAX_PREFIX: usize = 1024;

/// `?where=&sort=&desc=&limit=&cursor=`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TableParams {
    /// A filter like `%ng_tokens --where`: the pandas `query` subset over the columns of
    /// `rt.tokens.to_pandas()` (comparisons, `and`/`or`/`not`, parentheses, `in [...]`,
    /// `label.str.startswith('x')`/`endswith`/`contains`, `.isna()`); 400 naming the
    /// position when it does not read.
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// The column to sort by (default `id`): id, label, entity, weight, field_radius,
    /// field_strength, timestamp, `<space>_x/_y/_z`. Missing values sort last both ways.
    pub sort: Option<String>,
    /// Sort descending.
    pub desc: Option<bool>,
    /// Rows per page, 1..=1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// The `next` of the previous page (opaque; made for this sort).
    pub cursor: Option<String>,
}

/// The POST body: the query parameters, and the ids of a selection.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TableBody {
    #[serde(rename = "where")]
    pub filter: Option<String>,
    pub sort: Option<String>,
    #[serde(default)]
    pub desc: bool,
    /// Rows per page, 1..=1000 (default 100).
    #[schema(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    pub cursor: Option<String>,
    /// Only these tokens (at most 100000; ids that no longer exist are skipped).
    #[schema(max_items = 100000)]
    pub ids: Option<Vec<u32>>,
}

/// One page of the table.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TablePageOut {
    pub items: Vec<TokenOut>,
    /// The `cursor` of the next page; absent on the last.
    pub next: Option<String>,
    /// How many tokens match in all.
    pub count: usize,
}

/// `?prefix=&limit=`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LabelParams {
    /// The start of the labels (case-sensitive).
    pub prefix: String,
    /// At most this many matches, 1..=1000 (default 20).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// One label match.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct LabelHit {
    pub id: u32,
    pub label: String,
}

/// Label matches in label order, and how many match in all.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct LabelHits {
    pub items: Vec<LabelHit>,
    pub count: usize,
}

fn query_of(b: TableBody) -> ApiResult<TableQuery> {
    let limit = bounded(
        "limit",
        b.limit.unwrap_or(TABLE_DEFAULT_LIMIT),
        TABLE_MAX_LIMIT,
    )?;
    if limit == 0 {
        return Err(Problem::invalid("limit", "limit must be at least 1"));
    }
    let sort = match b.sort.as_deref().map(str::trim) {
        None | Some("") => Column::Id,
        Some(name) => Column::parse(name).ok_or_else(|| {
            Problem::invalid(
                "sort",
                format!("no column {name:?} to sort by: {}", Column::help()),
            )
        })?,
    };
    let filter = match b.filter.as_deref() {
        Some(text) if !text.trim().is_empty() => Some(table::parse_filter(text).map_err(|e| {
            let mut p = Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-filter",
                format!("where {e}"),
            );
            p.field = Some("where".into());
            p.value = Some(e.position as f64);
            p
        })?),
        _ => None,
    };
    if let Some(ids) = &b.ids {
        bounded("ids", ids.len(), MAX_BATCH)?;
    }
    Ok(TableQuery {
        filter,
        sort,
        desc: b.desc,
        limit,
        cursor: b.cursor.filter(|c| !c.is_empty()),
        ids: b.ids,
    })
}

/// The page as JSON, with `Server-Timing: table;dur=<ms>`: the time from the query's start
/// to the body serialised (what the dashboard bench reads as server time).
async fn run(app: &AppState, q: TableQuery) -> ApiResult<Response> {
    let start = std::time::Instant::now();
    let store = app.store.clone();
    let page = blocking(move || {
        store.token_table(&q).map_err(|e| match e {
            TableError::Cursor(msg) => Problem::invalid("cursor", msg),
        })
    })
    .await?;
    let body = serde_json::to_vec(&TablePageOut {
        items: page.rows.into_iter().map(TokenOut::from).collect(),
        next: page.next,
        count: page.count,
    })
    .map_err(|_| Problem::internal())?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("table;dur={ms:.3}")) {
        r.headers_mut()
            .insert(HeaderName::from_static("server-timing"), v);
    }
    Ok(r)
}

/// A page of the tokens table: sorted by any column, filtered by a `--where` expression,
/// keyset-paged (`cursor` = the previous page's `next`).
#[utoipa::path(get, path = "/api/v1/tokens/table", tag = "tokens", params(TableParams),
    responses((status = 200, body = TablePageOut, headers(("Server-Timing" = String, description = "table;dur=<ms>: server time"))),
              (status = 400, body = Problem, content_type = "application/problem+json",
               description = "the filter does not read: `value` is the character position")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn table_get(
    State(app): State<AppState>,
    who: Principal,
    Query(p): Query<TableParams>,
) -> ApiResult<Response> {
    who.require(Role::Readonly)?;
    let q = query_of(TableBody {
        filter: p.filter,
        sort: p.sort,
        desc: p.desc.unwrap_or(false),
        limit: p.limit,
        cursor: p.cursor,
        ids: None,
    })?;
    run(&app, q).await
}

/// A page of the tokens table as `GET` answers it, the query in the body, optionally over a
/// selection of ids (the grid's box/lasso selection).
#[utoipa::path(post, path = "/api/v1/tokens/table", tag = "tokens", request_body = TableBody,
    responses((status = 200, body = TablePageOut),
              (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn table_post(
    State(app): State<AppState>,
    who: Principal,
    b: Body<TableBody>,
) -> ApiResult<Response> {
    who.require(Role::Readonly)?;
    let q = query_of(b.parse()?)?;
    run(&app, q).await
}

/// Tokens whose label starts with `prefix`, in label order (then id).
#[utoipa::path(get, path = "/api/v1/tokens/labels", tag = "tokens", params(LabelParams),
    responses((status = 200, body = LabelHits)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn labels(
    State(app): State<AppState>,
    who: Principal,
    Query(p): Query<LabelParams>,
) -> ApiResult<Json<LabelHits>> {
    who.require(Role::Readonly)?;
    let limit = bounded("limit", p.limit.unwrap_or(20), LABELS_MAX_LIMIT)?;
    if limit == 0 {
        return Err(Problem::invalid("limit", "limit must be at least 1"));
    }
    bounded("prefix", p.prefix.len(), MAX_PREFIX)?;
    let store = app.store.clone();
    let (hits, count) = blocking(move || Ok(store.label_prefix(&p.prefix, limit))).await?;
    Ok(Json(LabelHits {
        items: hits
            .into_iter()
            .map(|(id, label)| LabelHit { id, label })
            .collect(),
        count,
    }))
}

/// The GET routes (the POST one takes a large body: [`batch_routes`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tokens/table", get(table_get))
        .route("/tokens/labels", get(labels))
}

/// `POST /tokens/table` (the batch body limit applies: a selection can hold 100000 ids).
pub fn batch_routes() -> Router<AppState> {
    Router::new().route("/tokens/table", axum::routing::post(table_post))
}
