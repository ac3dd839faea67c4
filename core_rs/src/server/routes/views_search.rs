//! `/api/v1/views/complete` and `/api/v1/views/grid/focus`: the explorers' search box over
//! HTTP. Completion: labels starting with a prefix (case-insensitive), from an index of the
//! labels sorted by their lower-case form, built once per data version (binary search).
//! Focus: a token's display index in the grid and its graph neighbours' indices.

use super::extract::{blocking, bounded, Query};
use super::views::{data_version, grid_of, stale};
use super::views_color::color_of;
use crate::graph::Direction;
use crate::server::auth::{Principal, Role};
use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::storage::RuntimeStorage;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use utoipa::{IntoParams, ToSchema};

/// Most completions in one answer.
pub const MAX_COMPLETIONS: usize = 50;
/// Longest prefix looked up (characters).
pub const MAX_PREFIX: usize = 200;
/// Most neighbours a focus highlights.
pub const MAX_FOCUS: usize = 500;

/// Labels sorted by their lower-case form, with their ids.
pub struct LabelIndex {
    version: u64,
    keys: Vec<(String, String, u32)>,
}

/// The label index of the current version (cached in [`super::views::ViewCache`]).
pub fn index_of(store: &RuntimeStorage, slot: &Mutex<Option<Arc<LabelIndex>>>) -> Arc<LabelIndex> {
    let v = data_version(store);
    let mut g = slot.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(ix) = g.as_ref().filter(|ix| ix.version == v) {
        return ix.clone();
    }
    let c = store.token_columns(0, None);
    let mut keys: Vec<(String, String, u32)> = (0..c.id.len())
        .filter_map(|i| {
            c.label(i)
                .filter(|l| !l.is_empty())
                .map(|l| (l.to_lowercase(), l.to_string(), c.id[i]))
        })
        .collect();
    keys.sort();
    let ix = Arc::new(LabelIndex { version: v, keys });
    *g = Some(ix.clone());
    ix
}

impl LabelIndex {
    /// Up to `limit` labels starting with `prefix` (case-insensitive), in sorted order.
    pub fn complete(&self, prefix: &str, limit: usize) -> Vec<Value> {
        let p = prefix.to_lowercase();
        if p.is_empty() {
            return Vec::new();
        }
        let lo = self.keys.partition_point(|k| k.0.as_str() < p.as_str());
        self.keys[lo..]
            .iter()
            .take_while(|k| k.0.starts_with(&p))
            .take(limit)
            .map(|k| json!({"label": k.1, "id": k.2}))
            .collect()
    }
}

/// `?prefix=&limit=`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompleteQuery {
    /// Label prefix (trimmed; at most 200 characters).
    pub prefix: String,
    /// How many (default 10, at most 50).
    #[param(maximum = 50)]
    pub limit: Option<usize>,
}

/// Labels starting with a prefix.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CompleteOut {
    /// `{"label", "id"}` in lower-case sorted order.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
}

/// `?version=&id=`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FocusQuery {
    pub version: u64,
    pub id: u32,
}

/// A focused token in the grid: its display index, its graph neighbours (ids and indices).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct FocusOut {
    pub version: u64,
    pub ids: Vec<u32>,
    pub indices: Vec<u32>,
    pub near_ids: Vec<u32>,
    pub near: Vec<u32>,
    pub label: String,
}

/// Labels starting with `prefix` (case-insensitive): the search box's completions.
#[utoipa::path(get, path = "/api/v1/views/complete", tag = "views", params(CompleteQuery),
    responses((status = 200, body = CompleteOut)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn complete(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<CompleteQuery>,
) -> ApiResult<Json<CompleteOut>> {
    who.require(Role::Readonly)?;
    let limit = bounded("limit", q.limit.unwrap_or(10), MAX_COMPLETIONS)?;
    let prefix: String = q.prefix.trim().chars().take(MAX_PREFIX).collect();
    let (store, cache) = (app.store.clone(), app.views.clone());
    let items =
        blocking(move || Ok(index_of(&store, &cache.labels).complete(&prefix, limit))).await?;
    Ok(Json(CompleteOut { items }))
}

/// Focus a token in the grid: its display index and its graph neighbours' (at most 500).
#[utoipa::path(get, path = "/api/v1/views/grid/focus", tag = "views", params(FocusQuery),
    responses((status = 200, body = FocusOut), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn grid_focus(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<FocusQuery>,
) -> ApiResult<Json<FocusOut>> {
    who.require(Role::Readonly)?;
    let (store, cache) = (app.store.clone(), app.views.clone());
    blocking(move || {
        let b = grid_of(&store, &cache, color_of(q.version))?;
        if b.version != q.version {
            return Err(stale(b.version));
        }
        let at = b.index_of(q.id).ok_or_else(|| {
            Problem::not_found(format!("token {} is not shown in the grid", q.id))
        })?;
        let (found, _) =
            store.neighbourhood(&[q.id], Some(1), Direction::Both, None, Some(MAX_FOCUS + 1))?;
        let near_ids: Vec<u32> = found
            .into_iter()
            .filter(|t| *t != q.id)
            .take(MAX_FOCUS)
            .collect();
        let near = near_ids.iter().filter_map(|t| b.index_of(*t)).collect();
        let label = store.labels_of(&[q.id]).pop().flatten().unwrap_or_default();
        Ok(Json(FocusOut {
            version: b.version,
            ids: vec![q.id],
            indices: vec![at],
            near_ids,
            near,
            label,
        }))
    })
    .await
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/views/complete", get(complete))
        .route("/views/grid/focus", get(grid_focus))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_is_case_insensitive_sorted_and_bounded() {
        let ix = LabelIndex {
            version: 0,
            keys: {
                let mut k: Vec<_> = ["Apple", "apricot", "banana", "ap"]
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (l.to_lowercase(), l.to_string(), i as u32))
                    .collect();
                k.sort();
                k
            },
        };
        let got: Vec<String> = ix
            .complete("AP", 10)
            .iter()
            .map(|v| v["label"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, ["ap", "Apple", "apricot"]);
        assert_eq!(ix.complete("ap", 1).len(), 1);
        assert!(ix.complete("", 10).is_empty());
        assert!(ix.complete("zz", 10).is_empty());
    }
}
