//! `/api/v1/views/grid...`: the dashboard's grid page fed with the `GridExplorer` protocol
//! (`extension/PROTOCOL.md`) over HTTP. The meta route gives the synced state (`n`, `spaces`,
//! `bounds`, `stride`, `placed`, `legend`, `version`, ...); the others answer with the widget's
//! own messages in the `views_wire` body: strided `coords` chunks (8 buffers of interleaved
//! uint8 (x, y), the bytes `widgets/grid.py` sends for the same display order), `main`
//! chunks for other axes or 3-D, the global/viewport `labels`, and the hover card.
//!
//! The display order (tokens grouped by entity type, shuffled inside each group by a hash
//! of the id, so chunk 0 is a uniform sample) and the quantised coordinates are built once
//! per data version on the blocking pool and cached; a request naming another `version`
//! gets 409 `stale-version` (the page then fetches the meta again).

use super::extract::{blocking, space, Query};
use super::views_color::{color_of, color_options, grid_version, numeric_values, COLOR_BITS};
use super::views_wire::{id_hash, top_neighbours, u32_bytes, Labels, Msgs};
use crate::server::auth::{Principal, Role};
use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::space::{NUM_SPACES, SPACE_NAMES};
use crate::storage::RuntimeStorage;
use crate::token::ENTITY_TYPES;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use utoipa::{IntoParams, ToSchema};

/// Points in the first chunk (the first frame), as `widgets/grid.py`.
pub const FIRST_FRAME: usize = 65_536;
const PALETTE_SIZE: usize = 12;
const MISSING: u8 = 255;

/// The grid of one data version: display order, codes, bounds, labels.
pub struct GridBuild {
    pub version: u64,
    /// Token ids in display order.
    pub ids: Vec<u32>,
    /// (n, 8, 3) codes in display order.
    pub q3: Vec<u8>,
    pub bounds: Vec<Vec<[f64; 2]>>,
    pub placed: Vec<usize>,
    pub legend: Value,
    /// Numeric colour values 0..255 in display order (numeric colour modes).
    pub values: Option<Vec<u8>>,
    pub stride: usize,
    pub labels: Labels,
    /// (token id, display index), sorted by id.
    by_id: Vec<(u32, u32)>,
}

/// The views' cache (held by [`AppState`]): the last grid built, and a lock so one build
/// runs at a time.
#[derive(Default)]
pub struct ViewCache {
    grid: Mutex<Vec<Arc<GridBuild>>>,
    building: Mutex<()>,
    /// The search box's label index (views_search.rs).
    pub(super) labels: Mutex<Option<Arc<super::views_search::LabelIndex>>>,
}

/// The data version the views show: changes whenever tokens or connections change.
pub fn data_version(store: &RuntimeStorage) -> u64 {
    let (t, c, _) = store.data_version();
    t.wrapping_add(c) & ((1 << 53) - 1)
}

fn cached(cache: &ViewCache, version: u64) -> Option<Arc<GridBuild>> {
    let g = cache.grid.lock().unwrap_or_else(|e| e.into_inner());
    g.iter().find(|b| b.version == version).cloned()
}

/// The grid of the store's current data in colour mode `color` (an index into
/// [`color_options`]), built now unless cached. Blocking.
pub fn grid_of(
    store: &RuntimeStorage,
    cache: &ViewCache,
    color: usize,
) -> crate::Result<Arc<GridBuild>> {
    if color >= color_options().len() {
        return Err(crate::NgError::invalid(
            "version",
            color,
            "names no colour mode",
        ));
    }
    if let Some(b) = cached(cache, grid_version(data_version(store), color)) {
        return Ok(b);
    }
    let _one = cache.building.lock().unwrap_or_else(|e| e.into_inner());
    let v = grid_version(data_version(store), color);
    if let Some(b) = cached(cache, v) {
        return Ok(b);
    }
    let b = Arc::new(build(store, v, color)?);
    let mut g = cache.grid.lock().unwrap_or_else(|e| e.into_inner());
    g.retain(|old| old.version >> COLOR_BITS == v >> COLOR_BITS); // other data versions are stale
    if g.len() >= 3 {
        g.remove(0);
    }
    g.push(b.clone());
    Ok(b)
}

fn build(store: &RuntimeStorage, version: u64, color: usize) -> crate::Result<GridBuild> {
    let c = store.token_columns(0, None);
    let n = c.id.len();
    // entity: grouped by entity type, each group shuffled by a hash of the id; numeric: shuffled
    let mut perm: Vec<u32> = (0..n as u32).collect();
    if color == 0 {
        perm.sort_by_key(|&i| (c.entity[i as usize], id_hash(c.id[i as usize])));
    } else {
        perm.sort_by_key(|&i| id_hash(c.id[i as usize]));
    }
    let mut counts = vec![0usize; ENTITY_TYPES.len()];
    for &e in &c.entity {
        if let Some(k) = counts.get_mut(e as usize) {
            *k += 1;
        }
    }
    let mut start = 0;
    let mut items = Vec::new();
    for (i, &k) in counts.iter().enumerate() {
        if k > 0 {
            items.push(json!({"name": ENTITY_TYPES[i], "start": start, "count": k,
                              "color": i % PALETTE_SIZE}));
        }
        start += k;
    }
    let (codes, ranges) = crate::quantize::quantize_u8(&c.coords, NUM_SPACES * 3, &perm)?;
    let bounds = (0..NUM_SPACES)
        .map(|s| {
            (0..3)
                .map(|a| {
                    let r = ranges[s * 3 + a];
                    [r.lo, r.lo + 255.0 * r.step]
                })
                .collect()
        })
        .collect();
    let mut placed = vec![0usize; NUM_SPACES];
    for row in c.coords.chunks_exact(NUM_SPACES * 3) {
        for (s, p) in placed.iter_mut().enumerate() {
            if row[s * 3].is_finite() {
                *p += 1;
            }
        }
    }
    // labels by graph degree (out + in), rows in store order as the columns
    let (_, out, inn) = store.degrees();
    let ids: Vec<u32> = perm.iter().map(|&r| c.id[r as usize]).collect();
    let key: Vec<f64> = perm
        .iter()
        .map(|&r| (out.get(r as usize).unwrap_or(&0) + inn.get(r as usize).unwrap_or(&0)) as f64)
        .collect();
    let texts = perm
        .iter()
        .map(|&r| c.label(r as usize).map(str::to_string))
        .collect();
    let (legend, values) = if color == 0 {
        (json!({"kind": "category", "items": items}), None)
    } else {
        let name = &color_options()[color];
        let (v, lo, hi) = numeric_values(&c, name, &perm)?;
        (
            json!({"kind": "numeric", "label": name, "min": lo, "max": hi}),
            Some(v),
        )
    };
    let mut by_id: Vec<(u32, u32)> = ids
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, i as u32))
        .collect();
    by_id.sort_unstable();
    Ok(GridBuild {
        by_id,
        version,
        labels: Labels::new(&ids, texts, &key),
        ids,
        q3: codes,
        bounds,
        placed,
        legend,
        values,
        stride: n.div_ceil(FIRST_FRAME).max(1),
    })
}

impl GridBuild {
    fn n(&self) -> usize {
        self.ids.len()
    }

    /// The display index of a token (None when it is not shown).
    pub fn index_of(&self, id: u32) -> Option<u32> {
        self.by_id
            .binary_search_by_key(&id, |p| p.0)
            .ok()
            .map(|k| self.by_id[k].1)
    }

    /// The `colors` message of chunk `r` (numeric colour modes).
    pub fn colors(&self, r: usize) -> Option<(Value, Vec<Vec<u8>>)> {
        let v = self.values.as_ref()?;
        let (n, s) = (self.n(), self.stride);
        Some((
            json!({"type": "colors", "version": self.version, "chunk": r, "stride": s}),
            vec![(r..n).step_by(s).map(|i| v[i]).collect()],
        ))
    }

    /// The `coords` message of chunk `r`: per space, interleaved (x, y) of indices r, r+S, ...
    pub fn coords(&self, r: usize) -> (Value, Vec<Vec<u8>>) {
        let (n, s) = (self.n(), self.stride);
        let bufs = (0..NUM_SPACES)
            .map(|sp| {
                (r..n)
                    .step_by(s)
                    .flat_map(|i| {
                        let at = i * 24 + sp * 3;
                        [self.q3[at], self.q3[at + 1]]
                    })
                    .collect()
            })
            .collect();
        (
            json!({"type": "coords", "version": self.version, "chunk": r, "stride": s}),
            bufs,
        )
    }

    /// The `main` message of chunk `r` for space `sp` and `axes` (2 or 3 of 0..2).
    pub fn main(&self, r: usize, sp: usize, axes: &[usize]) -> (Value, Vec<Vec<u8>>) {
        let (n, s) = (self.n(), self.stride);
        let buf = (r..n)
            .step_by(s)
            .flat_map(|i| axes.iter().map(move |a| self.q3[i * 24 + sp * 3 + a]))
            .collect();
        (
            json!({"type": "main", "version": self.version, "chunk": r, "stride": s,
                   "space": SPACE_NAMES[sp], "axes": axes}),
            vec![buf],
        )
    }

    fn default_space(&self) -> &'static str {
        let cog = SPACE_NAMES
            .iter()
            .position(|s| *s == "cognitive")
            .unwrap_or(0);
        let mut best = cog;
        for (i, &k) in self.placed.iter().enumerate() {
            if k > self.placed[best] {
                best = i;
            }
        }
        SPACE_NAMES[best]
    }
}

/// The grid page's synced state (the `GridExplorer` traitlets).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct GridMetaOut {
    pub n: usize,
    pub version: u64,
    pub spaces: Vec<String>,
    /// The space the page opens on: where most tokens are placed.
    pub space: String,
    pub axes: Vec<u8>,
    pub view3d: bool,
    pub color: String,
    pub color_options: Vec<String>,
    /// `{"kind": "category", "items": [{"name", "start", "count", "color"}]}`.
    #[schema(value_type = Object)]
    pub legend: Value,
    /// `[space][axis] = [min, max]` of the quantisation.
    pub bounds: Vec<Vec<[f64; 2]>>,
    pub stride: usize,
    pub placed: Vec<usize>,
}

/// `?version=&chunk=` (and for `main`: `space`, `axes`; for `labels`: an optional viewport
/// `space`, `axes`, `box`, `request`; for `hover`: `index`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChunkQuery {
    /// The data version of the meta the page holds.
    pub version: u64,
    pub chunk: Option<usize>,
    #[param(
        pattern = "^(physical|sensory|motor|emotional|cognitive|social|temporal|abstract|L[1-8]|[1-8])$"
    )]
    pub space: Option<String>,
    /// Axes as `a,b` or `a,b,c` (each 0..2).
    pub axes: Option<String>,
    /// Viewport `x0,y0,x1,y1` in quantised units 0..255.
    #[serde(rename = "box")]
    #[param(rename = "box")]
    pub viewport: Option<String>,
    pub request: Option<u64>,
    pub index: Option<usize>,
}

/// The grid a request names: by `version` (its colour mode, and it must be the current data),
/// or for the meta by colour mode.
async fn current(app: &AppState, version: Option<u64>) -> ApiResult<Arc<GridBuild>> {
    let color = version.map_or(0, color_of);
    current_in(app, version, color).await
}

async fn current_in(
    app: &AppState,
    version: Option<u64>,
    color: usize,
) -> ApiResult<Arc<GridBuild>> {
    if color >= color_options().len() {
        return Err(stale(0));
    }
    let (store, cache) = (app.store.clone(), app.views.clone());
    let b = blocking(move || Ok(grid_of(&store, &cache, color)?)).await?;
    match version {
        Some(v) if v != b.version => Err(stale(b.version)),
        _ => Ok(b),
    }
}

/// 409: the page holds data of another version.
pub fn stale(now: u64) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "stale-version",
        format!("the data changed (version {now} now): fetch the view's meta again"),
    )
}

fn need<T>(v: Option<T>, field: &str) -> ApiResult<T> {
    v.ok_or_else(|| Problem::invalid(field, format!("{field} is required")))
}

fn chunk_of(b: &GridBuild, q: &ChunkQuery) -> ApiResult<usize> {
    let r = need(q.chunk, "chunk")?;
    if r >= b.stride {
        return Err(Problem::invalid(
            "chunk",
            format!(
                "chunk {r} is out of range: this grid has {} chunks",
                b.stride
            ),
        ));
    }
    Ok(r)
}

fn axes_of(s: &str, allowed: &[usize]) -> ApiResult<Vec<usize>> {
    let bad = || {
        Problem::invalid(
            "axes",
            format!("axes must be 2 or 3 different axes out of 0, 1, 2 like 0,2; got {s:?}"),
        )
    };
    let v: Vec<usize> = s
        .split(',')
        .map(|p| p.trim().parse::<usize>().map_err(|_| bad()))
        .collect::<ApiResult<_>>()?;
    let distinct = v.iter().all(|a| *a < 3)
        && (v.len() < 2 || v[0] != v[1])
        && (v.len() < 3 || (v[2] != v[0] && v[2] != v[1]));
    if !allowed.contains(&v.len()) || !distinct {
        return Err(bad());
    }
    Ok(v)
}

fn box_of(s: &str) -> ApiResult<[f64; 4]> {
    let bad = || {
        Problem::invalid(
            "box",
            format!("box must be x0,y0,x1,y1 (numbers); got {s:?}"),
        )
    };
    let v: Vec<f64> = s
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(bad)
        })
        .collect::<ApiResult<_>>()?;
    v.try_into().map_err(|_| bad())
}

/// `?color=`: the colour mode (default `entity`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetaQuery {
    /// `entity`, `weight`, `field_radius`, `field_strength`, `timestamp` or `<space>_<x|y|z>`.
    pub color: Option<String>,
}

/// The grid's state: what the explorer's traitlets hold.
#[utoipa::path(get, path = "/api/v1/views/grid", tag = "views", params(MetaQuery),
    responses((status = 200, body = GridMetaOut)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn grid_meta(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<MetaQuery>,
) -> ApiResult<Json<GridMetaOut>> {
    who.require(Role::Readonly)?;
    let options = color_options();
    let name = q.color.unwrap_or_else(|| "entity".into());
    let color = options.iter().position(|o| *o == name).ok_or_else(|| {
        Problem::invalid(
            "color",
            format!(
                "cannot colour by {name:?}; choose one of {}",
                options.join(", ")
            ),
        )
    })?;
    let b = current_in(&app, None, color).await?;
    Ok(Json(GridMetaOut {
        n: b.n(),
        version: b.version,
        spaces: SPACE_NAMES.iter().map(|s| s.to_string()).collect(),
        space: b.default_space().into(),
        axes: vec![0, 1],
        view3d: false,
        color: name,
        color_options: options,
        legend: b.legend.clone(),
        bounds: b.bounds.clone(),
        stride: b.stride,
        placed: b.placed.clone(),
    }))
}

/// One strided `coords` chunk (`application/x-ng-msgs`, see `views_wire`).
#[utoipa::path(get, path = "/api/v1/views/grid/coords", tag = "views", params(ChunkQuery),
    responses((status = 200, description = "a coords message", content_type = "application/x-ng-msgs"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn grid_coords(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<ChunkQuery>,
) -> ApiResult<Msgs> {
    who.require(Role::Readonly)?;
    let b = current(&app, Some(q.version)).await?;
    let r = chunk_of(&b, &q)?;
    blocking(move || {
        let mut m = Msgs::default();
        let (c, bufs) = b.coords(r);
        m.push(c, bufs);
        if let Some((c, bufs)) = b.colors(r) {
            m.push(c, bufs);
        }
        Ok(m)
    })
    .await
}

/// One strided `main` chunk: the main view's space and axes (2, or 3 for 3-D).
#[utoipa::path(get, path = "/api/v1/views/grid/main", tag = "views", params(ChunkQuery),
    responses((status = 200, description = "a main message", content_type = "application/x-ng-msgs"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn grid_main(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<ChunkQuery>,
) -> ApiResult<Msgs> {
    who.require(Role::Readonly)?;
    let sp = space(&need(q.space.clone(), "space")?)?;
    let axes = axes_of(&need(q.axes.clone(), "axes")?, &[2, 3])?;
    let b = current(&app, Some(q.version)).await?;
    let r = chunk_of(&b, &q)?;
    let (c, bufs) = blocking(move || Ok(b.main(r, sp, &axes))).await?;
    let mut m = Msgs::default();
    m.push(c, bufs);
    Ok(m)
}

/// The `labels` message: the global set, or with `space`, `axes` and `box` the best labels
/// inside that viewport of the main view (scope `view`).
#[utoipa::path(get, path = "/api/v1/views/grid/labels", tag = "views", params(ChunkQuery),
    responses((status = 200, description = "a labels message", content_type = "application/x-ng-msgs"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn grid_labels(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<ChunkQuery>,
) -> ApiResult<Msgs> {
    who.require(Role::Readonly)?;
    let view = match &q.viewport {
        None => None,
        Some(bx) => Some((
            space(&need(q.space.clone(), "space")?)?,
            axes_of(&need(q.axes.clone(), "axes")?, &[2])?,
            box_of(bx)?,
        )),
    };
    let b = current(&app, Some(q.version)).await?;
    let request = q.request;
    let (c, bufs) = blocking(move || {
        Ok(match view {
            None => b.labels.top(b.version),
            Some((sp, ax, [x0, y0, x1, y1])) => {
                let q3 = &b.q3;
                b.labels.best_of(
                    |i| {
                        let at = i * 24 + sp * 3;
                        let (px, py) = (q3[at], q3[at + 1]);
                        let (x, y) = (q3[at + ax[0]] as f64, q3[at + ax[1]] as f64);
                        !(px == MISSING && py == MISSING)
                            && x >= x0
                            && x <= x1
                            && y >= y0
                            && y <= y1
                    },
                    b.version,
                    request,
                )
            }
        })
    })
    .await?;
    let mut m = Msgs::default();
    m.push(c, bufs);
    Ok(m)
}

/// The hover card of display index `index`: id, label, entity, coordinates in every space
/// (null where not placed) and the top 5 neighbours by connection strength.
#[utoipa::path(get, path = "/api/v1/views/grid/hover", tag = "views", params(ChunkQuery),
    responses((status = 200, description = "a hover message's content", body = Object),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn grid_hover(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<ChunkQuery>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Readonly)?;
    let index = need(q.index, "index")?;
    let b = current(&app, Some(q.version)).await?;
    if index >= b.n() {
        return Err(Problem::invalid(
            "index",
            format!(
                "index {index} is out of range: the grid shows {} tokens",
                b.n()
            ),
        ));
    }
    let id = b.ids[index];
    let store = app.store.clone();
    let card = blocking(move || {
        Ok(match store.get_token(id) {
            Err(_) => json!({"id": id, "label": "(deleted)", "entity": "",
                             "coords": vec![Value::Null; NUM_SPACES], "neighbours": []}),
            Ok(t) => {
                let coords: Vec<Value> = (0..NUM_SPACES)
                    .map(|s| {
                        if t.defined & (1 << s) != 0 {
                            json!(t.token.space_coords(s))
                        } else {
                            Value::Null
                        }
                    })
                    .collect();
                json!({"id": id, "label": t.label.unwrap_or_default(),
                       "entity": ENTITY_TYPES.get(t.token.entity() as usize).copied().unwrap_or(""),
                       "coords": coords, "neighbours": top_neighbours(&store, id, 5)})
            }
        })
    })
    .await?;
    let mut card = card;
    card["type"] = json!("hover");
    card["index"] = json!(index);
    Ok(Json(card))
}

/// Token ids in display order (`application/octet-stream`, little-endian u32): what a
/// selection bitmask over the display order maps to.
#[utoipa::path(get, path = "/api/v1/views/grid/ids", tag = "views", params(ChunkQuery),
    responses((status = 200, description = "u32 ids", content_type = "application/octet-stream"),
              (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn grid_ids(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<ChunkQuery>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Readonly)?;
    let b = current(&app, Some(q.version)).await?;
    let bytes = blocking(move || Ok(u32_bytes(&b.ids))).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    ))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/views/grid", get(grid_meta))
        .route("/views/grid/coords", get(grid_coords))
        .route("/views/grid/main", get(grid_main))
        .route("/views/grid/labels", get(grid_labels))
        .route("/views/grid/hover", get(grid_hover))
        .route("/views/grid/ids", get(grid_ids))
        .merge(super::views_graph::routes())
        .merge(super::views_search::routes())
}
