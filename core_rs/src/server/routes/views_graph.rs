//! `/api/v1/views/graph...`: the dashboard's graph page fed with the `GraphExplorer`
//! protocol (`extension/PROTOCOL.md`) over HTTP. `POST /views/graph` takes where to start
//! (a token, a label, a semantic query, or the nodes shown plus the ones to expand) and
//! answers with the widget's messages: `nodes` (positions from the core's force-directed
//! layout, ids, colour, size), `edges` chunks and the global `labels`, preceded by a `state`
//! message (not a widget message: the traitlets `n_nodes`, `n_edges`, `legend`, ...).
//! Stateless: the page sends the node ids it shows when it expands.

use super::extract::{blocking, bounded, Body, Query};
use super::views_wire::{f32_bytes, top_neighbours, u32_bytes, Labels, Msgs, MAX_MESSAGE};
use crate::connection::GROUPS;
use crate::graph::Direction;
use crate::server::auth::{Principal, Role};
use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::storage::semantic::QueryInput;
use crate::storage::RuntimeStorage;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

/// Most nodes a graph view holds (as `GraphExplorer`).
pub const MAX_NODES: usize = 50_000;
/// Default node budget of a neighbourhood.
pub const DEFAULT_NODES: usize = 2_000;
/// Most hops of a neighbourhood.
pub const MAX_DEPTH: u32 = 4;
/// Most layout iterations.
pub const MAX_ITERATIONS: u32 = 1_000;
/// Most words of a query result used as seeds.
pub const MAX_K: usize = 200;
const EDGE_BYTES: usize = 10;

/// Where the neighbourhood starts: exactly one of `token`, `label`, `text` (a semantic
/// query), `ids` (the nodes shown; with `expand`, those grow by the expanded nodes'
/// neighbours; ids no longer tokens are dropped).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GraphViewIn {
    pub token: Option<u32>,
    pub label: Option<String>,
    pub text: Option<String>,
    pub ids: Option<Vec<u32>>,
    pub expand: Option<Vec<u32>>,
    /// Hops from the start (default 1, at most 4; an expansion adds 1).
    pub depth: Option<u32>,
    /// Words of the query used as seeds (default 20, at most 200).
    pub k: Option<usize>,
    /// Most nodes (default 2000, at most 50000); the nearest hops are kept.
    pub max_nodes: Option<usize>,
    /// Layout iterations (default 100, at most 1000).
    pub iterations: Option<u32>,
    pub seed: Option<u64>,
    /// Edge width by `strength` (default) or `confidence`.
    pub width_by: Option<String>,
    /// Stamped on every message (the page's data version counter; default 1).
    pub version: Option<u64>,
}

/// `?id=`: a node's hover card.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HoverQuery {
    pub id: u32,
}

fn seeds_of(store: &RuntimeStorage, q: &GraphViewIn, k: usize) -> ApiResult<Vec<u32>> {
    let given = [
        q.token.is_some(),
        q.label.is_some(),
        q.text.is_some(),
        q.ids.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(Problem::invalid(
            "token",
            "give exactly one of token, label, text and ids",
        ));
    }
    if q.expand.is_some() && q.ids.is_none() {
        return Err(Problem::invalid("expand", "expand needs the ids shown"));
    }
    if let Some(t) = q.token {
        if !store.has_token(t) {
            return Err(Problem::not_found(format!("no token {t}")));
        }
        return Ok(vec![t]);
    }
    if let Some(l) = &q.label {
        let found = store.find_label(l);
        if found.is_empty() {
            return Err(Problem::not_found(format!("no token labelled {l:?}")));
        }
        return Ok(found);
    }
    if let Some(text) = &q.text {
        if store.boot().is_none() {
            return Err(crate::NgError::NoBootstrap.into()); // 409, as `/query`
        }
        let words = text
            .split_whitespace()
            .map(|w| (w.to_string(), 1.0))
            .collect();
        let hits = store.semantic_query(&QueryInput::Terms(words), k)?;
        let mut s = store.query_tokens(&QueryInput::Terms(
            text.split_whitespace()
                .map(|w| (w.to_string(), 1.0))
                .collect(),
        ))?;
        s.extend(hits.ids);
        return Ok(s);
    }
    // the nodes shown: those deleted since are dropped (as a refresh of GraphExplorer does)
    let mut ids = q.ids.clone().unwrap_or_default();
    ids.retain(|i| store.has_token(*i));
    Ok(ids)
}

/// The neighbourhood's messages (`state`, `nodes`, `edges`..., `labels`). Blocking.
fn build(store: &RuntimeStorage, q: GraphViewIn) -> ApiResult<Msgs> {
    let k = bounded("k", q.k.unwrap_or(20), MAX_K)?;
    let cap = bounded("max_nodes", q.max_nodes.unwrap_or(DEFAULT_NODES), MAX_NODES)?.max(1);
    let depth = q.depth.unwrap_or(1);
    if depth > MAX_DEPTH {
        return Err(Problem::over_bound(
            "depth",
            depth as usize,
            MAX_DEPTH as usize,
        ));
    }
    let iterations = bounded(
        "iterations",
        q.iterations.unwrap_or(100) as usize,
        MAX_ITERATIONS as usize,
    )? as u32;
    let width_by = q.width_by.clone().unwrap_or_else(|| "strength".into());
    if width_by != "strength" && width_by != "confidence" {
        return Err(Problem::invalid(
            "width_by",
            format!("width_by must be strength or confidence, got {width_by:?}"),
        ));
    }
    let version = q.version.unwrap_or(1);
    if let Some(ids) = &q.ids {
        bounded("ids", ids.len(), MAX_NODES)?;
    }
    let seeds = seeds_of(store, &q, k)?;
    let (mut nodes, reached) = match &q.expand {
        Some(grow) => {
            let (got, _) =
                store.neighbourhood(grow, Some(1), Direction::Both, None, Some(MAX_NODES + 1))?;
            let mut shown = std::collections::HashSet::new();
            let all: Vec<u32> = seeds
                .iter()
                .chain(&got)
                .copied()
                .filter(|t| shown.insert(*t))
                .collect();
            let n = all.len();
            (all, n)
        }
        None => {
            let (got, _) = store.neighbourhood(
                &seeds,
                Some(depth),
                Direction::Both,
                None,
                Some(MAX_NODES + 1),
            )?;
            let n = got.len();
            (got, n)
        }
    };
    // the neighbourhood comes nearest hops first: keep the first `cap`
    let limit = if q.expand.is_some() { MAX_NODES } else { cap };
    nodes.truncate(limit);
    nodes.sort_unstable();
    let (nodes, pos) = store.layout(Some(nodes), iterations, q.seed.unwrap_or(0), None)?;
    let edges = store.subgraph(&nodes)?;
    let max = nodes.iter().copied().max().unwrap_or(0) as usize;
    let mut index = vec![u32::MAX; max + 1];
    for (i, &t) in nodes.iter().enumerate() {
        index[t as usize] = i as u32;
    }
    let n = nodes.len();
    let mut ends = Vec::with_capacity(edges.len() * 2);
    let mut color = Vec::with_capacity(edges.len());
    let mut width = Vec::with_capacity(edges.len());
    let mut degree = vec![0u32; n];
    for c in &edges {
        let (a, b) = (index[c.token_a as usize], index[c.token_b as usize]);
        ends.extend([a, b]);
        degree[a as usize] += 1;
        degree[b as usize] += 1;
        color.push(((c.kind >> 4) as usize % 12) as u8);
        let w = if width_by == "strength" {
            let s = c.pull_strength as f64;
            if s.is_finite() {
                s * 255.0
            } else {
                0.0
            }
        } else {
            c.confidence as f64
        };
        width.push(w.clamp(1.0, 255.0) as u8);
    }
    let top = degree.iter().copied().max().unwrap_or(1).max(1) as f64;
    let size: Vec<u8> = degree
        .iter()
        .map(|&d| (1.0 + (d as f64 / top).sqrt() * 254.0).clamp(1.0, 255.0) as u8)
        .collect();
    let node_color: Vec<u8> = nodes
        .iter()
        .map(|&t| store.get_token(t).map_or(0, |v| v.token.entity() % 12))
        .collect();
    let labels = store.labels_of(&nodes);
    let key: Vec<f64> = degree.iter().map(|&d| d as f64).collect();
    let label_set = Labels::new(&nodes, labels, &key);
    let legend: Vec<Value> = GROUPS
        .iter()
        .enumerate()
        .map(|(i, g)| json!({"name": g, "color": i % 12}))
        .collect();
    let mut m = Msgs::default();
    m.push(
        json!({"type": "state", "version": version, "n_nodes": n, "n_edges": edges.len(),
               "legend": legend, "width_by": width_by, "reached": reached,
               "truncated": reached > nodes.len(), "seeds": seeds.len().min(MAX_NODES)}),
        Vec::new(),
    );
    let flat: Vec<f32> = pos.iter().flat_map(|p| [p[0], p[1]]).collect();
    m.push(
        json!({"type": "nodes", "version": version, "n": n}),
        vec![f32_bytes(&flat), u32_bytes(&nodes), node_color, size],
    );
    let per = (MAX_MESSAGE / EDGE_BYTES).max(1);
    let total = edges.len();
    let mut o = 0;
    while o < total {
        let c = per.min(total - o);
        m.push(
            json!({"type": "edges", "version": version, "offset": o, "count": c}),
            vec![
                u32_bytes(&ends[2 * o..2 * (o + c)]),
                color[o..o + c].to_vec(),
                width[o..o + c].to_vec(),
            ],
        );
        o += c;
    }
    let (c, b) = label_set.top(version);
    m.push(c, b);
    Ok(m)
}

/// The neighbourhood of a token, a label or a query (or the nodes shown, expanded) with the
/// core's layout, as `GraphExplorer` messages (`application/x-ng-msgs`).
#[utoipa::path(post, path = "/api/v1/views/graph", tag = "views", request_body = GraphViewIn,
    responses((status = 200, description = "state, nodes, edges and labels messages", content_type = "application/x-ng-msgs"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "A query without a bootstrap", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn graph_view(
    State(app): State<AppState>,
    who: Principal,
    q: Body<GraphViewIn>,
) -> ApiResult<Msgs> {
    who.require(Role::Readonly)?;
    let q = q.parse()?;
    if q.text.is_some() {
        who.require(Role::User)?; // a semantic query, as `/query`
    }
    let store = app.store.clone();
    blocking(move || build(&store, q)).await
}

/// A node's hover card: id, label and the top 5 neighbours by connection strength.
#[utoipa::path(get, path = "/api/v1/views/graph/hover", tag = "views", params(HoverQuery),
    responses((status = 200, body = Object), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn graph_hover(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<HoverQuery>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Readonly)?;
    let store = app.store.clone();
    let id = q.id;
    blocking(move || {
        let t = store.get_token(id)?;
        Ok(Json(json!({"id": id, "label": t.label.unwrap_or_default(),
                       "neighbours": top_neighbours(&store, id, 5)})))
    })
    .await
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/views/graph", post(graph_view))
        .route("/views/graph/hover", get(graph_hover))
}
