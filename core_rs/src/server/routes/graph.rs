//! `/api/v1/graph...`: breadth-first search, shortest path, components, subgraph. All run on
//! the blocking pool (the graph may be built first); every answer is bounded.

use super::connections::ConnectionOut;
use super::extract::{blocking, bounded, space, Body, Query};
use super::tokens::MAX_BATCH;
use crate::server::auth::{Principal, Role};
use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::storage::indexes::Weight;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most tokens a traversal or a component list answers with.
pub const MAX_NODES: usize = 100_000;
/// Default number of tokens a traversal answers with.
pub const DEFAULT_NODES: usize = 10_000;

/// `?start=&depth=&limit=`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BfsQuery {
    /// The token to start from.
    pub start: u32,
    /// Hops to follow at most (default: all).
    pub depth: Option<u32>,
    /// List at most this many tokens (default 10000, at most 100000).
    #[param(maximum = 100000)]
    pub limit: Option<usize>,
}

/// Tokens in visit order with their depth and the token they were reached from.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TraversalOut {
    /// Tokens reached (all of them, even past `limit`).
    pub count: usize,
    pub truncated: bool,
    pub ids: Vec<u32>,
    pub depth: Vec<u32>,
    pub parent: Vec<u32>,
}

/// `?from=&to=&weight=&space=`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PathQuery {
    pub from: u32,
    pub to: u32,
    /// `hops` (default), `strength` (1 / strength) or `distance` (in `space`).
    #[param(pattern = "^(hops|strength|distance)$")]
    #[serde(default, deserialize_with = "given")]
    pub weight: Option<String>,
    /// The space of `weight=distance`.
    #[param(
        pattern = "^(physical|sensory|motor|emotional|cognitive|social|temporal|abstract|L[1-8]|[1-8])$"
    )]
    #[serde(default, deserialize_with = "given")]
    pub space: Option<String>,
}

/// A query parameter that is present, even empty, is `Some` (the query decoder would make
/// an empty one `None`, and so accept `space=` as if it were absent).
fn given<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// The cheapest path, or `found: false`.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PathOut {
    pub found: bool,
    pub path: Vec<u32>,
    pub cost: Option<f64>,
}

/// `?limit=`: how many component sizes to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComponentsQuery {
    /// List the sizes of at most this many largest components (default 100, at most 100000).
    #[param(maximum = 100000)]
    pub limit: Option<usize>,
}

/// Weakly connected components: how many, and the largest.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ComponentsOut {
    pub count: usize,
    pub tokens: usize,
    /// Components of one token.
    pub singletons: usize,
    /// The largest components, largest first.
    pub largest: Vec<ComponentOut>,
}

/// One component: a token of it (the smallest id) and its size.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ComponentOut {
    pub first: u32,
    pub size: usize,
}

/// Tokens whose connections among themselves are wanted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubgraphIn {
    pub ids: Vec<u32>,
}

/// Breadth-first search from a token.
#[utoipa::path(get, path = "/api/v1/graph/bfs", tag = "graph", params(BfsQuery),
    responses((status = 200, body = TraversalOut), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn bfs(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<BfsQuery>,
) -> ApiResult<Json<TraversalOut>> {
    who.require(Role::Readonly)?;
    let limit = bounded("limit", q.limit.unwrap_or(DEFAULT_NODES), MAX_NODES)?;
    let store = app.store.clone();
    let mut t = blocking(move || Ok(store.bfs(q.start, q.depth)?)).await?;
    let count = t.ids.len();
    t.ids.truncate(limit);
    t.depth.truncate(limit);
    t.parent.truncate(limit);
    Ok(Json(TraversalOut {
        count,
        truncated: count > limit,
        ids: t.ids,
        depth: t.depth,
        parent: t.parent,
    }))
}

/// The cheapest path between two tokens.
#[utoipa::path(get, path = "/api/v1/graph/path", tag = "graph", params(PathQuery),
    responses((status = 200, body = PathOut), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn path(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<PathQuery>,
) -> ApiResult<Json<PathOut>> {
    who.require(Role::Readonly)?;
    let sp = q.space.as_deref().map(space).transpose()?;
    let w = match q.weight.as_deref().unwrap_or("hops") {
        "hops" => Weight::Hops,
        "strength" => Weight::Strength,
        "distance" => Weight::Distance(
            sp.ok_or_else(|| Problem::invalid("space", "weight=distance needs a space"))?,
        ),
        other => {
            return Err(Problem::invalid(
                "weight",
                format!("weight {other:?}: expected hops, strength or distance"),
            ))
        }
    };
    let store = app.store.clone();
    let r = blocking(move || Ok(store.shortest_path(q.from, q.to, w)?)).await?;
    Ok(Json(match r {
        Some((path, cost)) => PathOut {
            found: true,
            path,
            cost: Some(cost),
        },
        None => PathOut {
            found: false,
            path: Vec::new(),
            cost: None,
        },
    }))
}

/// Weakly connected components: a summary and the largest ones.
#[utoipa::path(get, path = "/api/v1/graph/components", tag = "graph", params(ComponentsQuery),
    responses((status = 200, body = ComponentsOut)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn components(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<ComponentsQuery>,
) -> ApiResult<Json<ComponentsOut>> {
    who.require(Role::Readonly)?;
    let limit = bounded("limit", q.limit.unwrap_or(100), MAX_NODES)?;
    let store = app.store.clone();
    let out = blocking(move || {
        let (ids, labels, count) = store.components();
        let mut comps = vec![(u32::MAX, 0usize); count];
        for (id, l) in ids.iter().zip(&labels) {
            if let Some(c) = comps.get_mut(*l as usize) {
                c.0 = c.0.min(*id);
                c.1 += 1;
            }
        }
        let singletons = comps.iter().filter(|c| c.1 == 1).count();
        comps.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        comps.truncate(limit);
        Ok(ComponentsOut {
            count,
            tokens: ids.len(),
            singletons,
            largest: comps
                .into_iter()
                .map(|(first, size)| ComponentOut { first, size })
                .collect(),
        })
    })
    .await?;
    Ok(Json(out))
}

/// The connections among a set of tokens (at most 100000 ids).
#[utoipa::path(post, path = "/api/v1/graph/subgraph", tag = "graph", request_body = SubgraphIn,
    responses((status = 200, body = Vec<ConnectionOut>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn subgraph(
    State(app): State<AppState>,
    who: Principal,
    b: Body<SubgraphIn>,
) -> ApiResult<Json<Vec<ConnectionOut>>> {
    who.require(Role::Readonly)?;
    let b = b.parse()?;
    bounded("ids", b.ids.len(), MAX_BATCH)?;
    let store = app.store.clone();
    let recs = blocking(move || Ok(store.subgraph(&b.ids)?)).await?;
    Ok(Json(recs.into_iter().map(ConnectionOut::from).collect()))
}

/// The graph routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/graph/bfs", get(bfs))
        .route("/graph/path", get(path))
        .route("/graph/components", get(components))
}

/// The graph routes that take large bodies.
pub fn batch_routes() -> Router<AppState> {
    Router::new().route("/graph/subgraph", post(subgraph))
}
