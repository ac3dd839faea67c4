//! `/api/v1/grid...`: index info, neighbours of a token or a point, batched neighbours,
//! range, field influence, density, cross-space neighbours. Every query runs on the blocking
//! pool (an index may be built first) and is published as a `grid.query` event.

use super::extract::{blocking, bounded, space, Body};
use crate::server::auth::{Principal, Role};
use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::space::SPACE_NAMES;
use crate::storage::indexes::{Center, CrossSpaceCenter, Hits};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

/// Largest `k` of a neighbour query.
pub const MAX_K: usize = 10_000;
/// Most points in one batched query.
pub const MAX_POINTS: usize = 100_000;
/// Most values (points x k) one batched answer may hold.
pub const MAX_BATCH_HITS: usize = 10_000_000;
/// Most hits a range answer lists.
pub const MAX_RANGE: usize = 100_000;

fn default_k() -> usize {
    10
}

/// One space's index.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SpaceInfoOut {
    #[schema(
        pattern = "^(physical|sensory|motor|emotional|cognitive|social|temporal|abstract|L[1-8]|[1-8])$"
    )]
    pub space: String,
    pub tokens: usize,
    /// Lowest corner of the tokens placed in the space (absent when none are).
    pub min: Option<[f32; 3]>,
    pub max: Option<[f32; 3]>,
    pub memory_bytes: u64,
    pub scale: f32,
}

/// Where a query starts: a token (`token`) or a point (`point`), one of the two.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NeighborsIn {
    /// Space name (`cognitive`, `L5`, `5`).
    #[schema(
        pattern = "^(physical|sensory|motor|emotional|cognitive|social|temporal|abstract|L[1-8]|[1-8])$"
    )]
    pub space: String,
    pub token: Option<u32>,
    #[schema(min_items = 3, max_items = 3)]
    pub point: Option<[f32; 3]>,
    /// How many (default 10, at most 10000).
    #[serde(default = "default_k")]
    #[schema(maximum = 10000)]
    pub k: usize,
}

/// Token ids and scaled distances, nearest first.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct HitsOut {
    pub ids: Vec<u32>,
    pub distances: Vec<f32>,
}

impl From<Hits> for HitsOut {
    fn from(h: Hits) -> HitsOut {
        HitsOut {
            ids: h.ids,
            distances: h.dist,
        }
    }
}

/// Many kNN queries in one space.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NeighborsBatchIn {
    #[schema(
        pattern = "^(physical|sensory|motor|emotional|cognitive|social|temporal|abstract|L[1-8]|[1-8])$"
    )]
    pub space: String,
    pub points: Vec<[f32; 3]>,
    #[serde(default = "default_k")]
    #[schema(maximum = 10000)]
    pub k: usize,
}

/// One row of ids and distances per point; `k` is the k used (capped at the tokens held).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct NeighborsBatchOut {
    pub k: usize,
    pub ids: Vec<Vec<u32>>,
    pub distances: Vec<Vec<f32>>,
}

/// Tokens within `radius` of a token or a point.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeIn {
    #[schema(
        pattern = "^(physical|sensory|motor|emotional|cognitive|social|temporal|abstract|L[1-8]|[1-8])$"
    )]
    pub space: String,
    pub token: Option<u32>,
    #[schema(min_items = 3, max_items = 3)]
    pub point: Option<[f32; 3]>,
    pub radius: f32,
    /// List at most this many (default and most: 100000).
    #[schema(maximum = 100000)]
    pub limit: Option<usize>,
}

/// Hits of a range query, nearest first; `count` counts all of them.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RangeOut {
    pub count: usize,
    pub truncated: bool,
    pub ids: Vec<u32>,
    pub distances: Vec<f32>,
}

/// A point of one space.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointIn {
    #[schema(
        pattern = "^(physical|sensory|motor|emotional|cognitive|social|temporal|abstract|L[1-8]|[1-8])$"
    )]
    pub space: String,
    #[schema(min_items = 3, max_items = 3)]
    pub point: [f32; 3],
}

/// Sum of the fields of the tokens that reach the point.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct InfluenceOut {
    pub influence: f64,
}

/// A ball of one space.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DensityIn {
    #[schema(
        pattern = "^(physical|sensory|motor|emotional|cognitive|social|temporal|abstract|L[1-8]|[1-8])$"
    )]
    pub space: String,
    #[schema(min_items = 3, max_items = 3)]
    pub point: [f32; 3],
    pub radius: f32,
}

/// Tokens in the ball and tokens per unit volume.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DensityOut {
    pub count: usize,
    pub density: f64,
}

/// Nearest over all 24 coordinates (each space weighted by its scale): from a token placed
/// in all 8 spaces, or a 24-value point.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CrossSpaceIn {
    pub token: Option<u32>,
    #[schema(min_items = 24, max_items = 24)]
    pub point: Option<Vec<f32>>,
    #[serde(default = "default_k")]
    #[schema(maximum = 10000)]
    pub k: usize,
}

fn center(token: Option<u32>, point: Option<[f32; 3]>) -> ApiResult<Center> {
    match (token, point) {
        (Some(t), None) => Ok(Center::Token(t)),
        (None, Some(p)) => Ok(Center::Point(p)),
        _ => Err(Problem::invalid(
            "token",
            "give exactly one of token and point",
        )),
    }
}

/// `n` rows of `k` values.
fn rows<T: Clone>(v: &[T], k: usize, n: usize) -> Vec<Vec<T>> {
    if k == 0 {
        vec![Vec::new(); n]
    } else {
        v.chunks(k).map(|c| c.to_vec()).collect()
    }
}

/// Offer a `grid.query` event to the `grid` channel: built only when someone subscribes,
/// and sampled by the bus so a query flood cannot flood the stream.
fn publish(app: &AppState, who: &Principal, data: impl FnOnce() -> serde_json::Value) {
    app.bus.offer("grid", "grid.query", &who.origin(), data);
}

/// Sizes, bounds, memory and scale of every space's index.
#[utoipa::path(get, path = "/api/v1/grid/info", tag = "grid",
    responses((status = 200, body = Vec<SpaceInfoOut>)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn info(
    State(app): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Vec<SpaceInfoOut>>> {
    who.require(Role::Readonly)?;
    let store = app.store.clone();
    let info = blocking(move || Ok(store.grid_info())).await?;
    Ok(Json(
        info.into_iter()
            .map(|s| SpaceInfoOut {
                space: SPACE_NAMES[s.space].to_string(),
                tokens: s.tokens,
                min: s.bounds.map(|b| b.0),
                max: s.bounds.map(|b| b.1),
                memory_bytes: s.memory_bytes,
                scale: s.scale,
            })
            .collect(),
    ))
}

/// The k nearest tokens to a token (itself left out) or a point.
#[utoipa::path(post, path = "/api/v1/grid/neighbors", tag = "grid", request_body = NeighborsIn,
    responses((status = 200, body = HitsOut), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn neighbors(
    State(app): State<AppState>,
    who: Principal,
    q: Body<NeighborsIn>,
) -> ApiResult<Json<HitsOut>> {
    who.require(Role::Readonly)?;
    let q = q.parse()?;
    let s = space(&q.space)?;
    let k = bounded("k", q.k, MAX_K)?;
    let c = center(q.token, q.point)?;
    let store = app.store.clone();
    let hits = blocking(move || Ok(store.neighbors(s, c, k, None)?)).await?;
    publish(&app, &who, || {
        json!({"query": "neighbors", "space": SPACE_NAMES[s], "k": k, "token": q.token,
               "point": q.point, "hits": hits.ids.len()})
    });
    Ok(Json(hits.into()))
}

/// kNN for many points of one space (points x k at most 10,000,000 values).
#[utoipa::path(post, path = "/api/v1/grid/neighbors/batch", tag = "grid", request_body = NeighborsBatchIn,
    responses((status = 200, body = NeighborsBatchOut), (status = 413, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn neighbors_batch(
    State(app): State<AppState>,
    who: Principal,
    q: Body<NeighborsBatchIn>,
) -> ApiResult<Json<NeighborsBatchOut>> {
    who.require(Role::Readonly)?;
    let q = q.parse()?;
    let s = space(&q.space)?;
    let k = bounded("k", q.k, MAX_K)?;
    let n = bounded("points", q.points.len(), MAX_POINTS)?;
    if n.saturating_mul(k) > MAX_BATCH_HITS {
        return Err(Problem::over_bound(
            "k",
            n.saturating_mul(k),
            MAX_BATCH_HITS,
        ));
    }
    let store = app.store.clone();
    let (ids, dist, k) = blocking(move || Ok(store.neighbors_many(s, &q.points, k, None)?)).await?;
    publish(
        &app,
        &who,
        || json!({"query": "neighbors_batch", "space": SPACE_NAMES[s], "k": k, "points": n}),
    );
    Ok(Json(NeighborsBatchOut {
        k,
        ids: rows(&ids, k, n),
        distances: rows(&dist, k, n),
    }))
}

/// Tokens within `radius` (scaled units) of a token or point, nearest first.
#[utoipa::path(post, path = "/api/v1/grid/range", tag = "grid", request_body = RangeIn,
    responses((status = 200, body = RangeOut), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn range(
    State(app): State<AppState>,
    who: Principal,
    q: Body<RangeIn>,
) -> ApiResult<Json<RangeOut>> {
    who.require(Role::Readonly)?;
    let q = q.parse()?;
    let s = space(&q.space)?;
    let limit = bounded("limit", q.limit.unwrap_or(MAX_RANGE), MAX_RANGE)?;
    let c = center(q.token, q.point)?;
    let store = app.store.clone();
    let radius = q.radius;
    let mut hits = blocking(move || Ok(store.range(s, c, radius)?)).await?;
    let count = hits.ids.len();
    hits.ids.truncate(limit);
    hits.dist.truncate(limit);
    publish(&app, &who, || {
        json!({"query": "range", "space": SPACE_NAMES[s], "radius": radius, "token": q.token,
               "point": q.point, "hits": count})
    });
    Ok(Json(RangeOut {
        count,
        truncated: count > limit,
        ids: hits.ids,
        distances: hits.dist,
    }))
}

/// Field influence at a point: the sum of the fields of the tokens that reach it.
#[utoipa::path(post, path = "/api/v1/grid/influence", tag = "grid", request_body = PointIn,
    responses((status = 200, body = InfluenceOut)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn influence(
    State(app): State<AppState>,
    who: Principal,
    q: Body<PointIn>,
) -> ApiResult<Json<InfluenceOut>> {
    who.require(Role::Readonly)?;
    let q = q.parse()?;
    let s = space(&q.space)?;
    let store = app.store.clone();
    let p = q.point;
    let influence = blocking(move || Ok(store.field_influence(s, p)?)).await?;
    publish(
        &app,
        &who,
        || json!({"query": "influence", "space": SPACE_NAMES[s], "point": p}),
    );
    Ok(Json(InfluenceOut { influence }))
}

/// Tokens per unit volume within `radius` of a point.
#[utoipa::path(post, path = "/api/v1/grid/density", tag = "grid", request_body = DensityIn,
    responses((status = 200, body = DensityOut)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn density(
    State(app): State<AppState>,
    who: Principal,
    q: Body<DensityIn>,
) -> ApiResult<Json<DensityOut>> {
    who.require(Role::Readonly)?;
    let q = q.parse()?;
    let s = space(&q.space)?;
    let store = app.store.clone();
    let (p, r) = (q.point, q.radius);
    let (count, density) = blocking(move || Ok(store.density(s, p, r)?)).await?;
    publish(
        &app,
        &who,
        || json!({"query": "density", "space": SPACE_NAMES[s], "point": p, "radius": r}),
    );
    Ok(Json(DensityOut { count, density }))
}

/// Nearest tokens over all eight spaces at once.
#[utoipa::path(post, path = "/api/v1/grid/cross-space", tag = "grid", request_body = CrossSpaceIn,
    responses((status = 200, body = HitsOut), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn cross_space(
    State(app): State<AppState>,
    who: Principal,
    q: Body<CrossSpaceIn>,
) -> ApiResult<Json<HitsOut>> {
    who.require(Role::Readonly)?;
    let q = q.parse()?;
    let k = bounded("k", q.k, MAX_K)?;
    let c = match (q.token, &q.point) {
        (Some(t), None) => CrossSpaceCenter::Token(t),
        (None, Some(p)) => {
            let p: [f32; 24] = p.as_slice().try_into().map_err(|_| {
                Problem::invalid("point", format!("point needs 24 values, got {}", p.len()))
            })?;
            CrossSpaceCenter::Point(p)
        }
        _ => {
            return Err(Problem::invalid(
                "token",
                "give exactly one of token and point",
            ))
        }
    };
    let store = app.store.clone();
    let hits = blocking(move || Ok(store.neighbors_all(c, k)?)).await?;
    publish(
        &app,
        &who,
        || json!({"query": "cross_space", "k": k, "token": q.token, "hits": hits.ids.len()}),
    );
    Ok(Json(hits.into()))
}

/// The grid routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/grid/info", get(info))
        .route("/grid/neighbors", post(neighbors))
        .route("/grid/range", post(range))
        .route("/grid/influence", post(influence))
        .route("/grid/density", post(density))
        .route("/grid/cross-space", post(cross_space))
}

/// The grid routes that take large bodies.
pub fn batch_routes() -> Router<AppState> {
    Router::new().route("/grid/neighbors/batch", post(neighbors_batch))
}
