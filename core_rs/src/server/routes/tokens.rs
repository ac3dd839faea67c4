//! `/api/v1/tokens...`: get, keyset list, create, batch create, update, delete, batch
//! delete, find by label, count.

use super::extract::{blocking, blocking_write, bounded, read_gate, write_gate, Body, Path, Query};
use crate::server::audit::AuditNote;
use crate::server::auth::{Principal, Role};
use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::space::{NUM_AXES, NUM_SPACES, SPACE_NAMES};
use crate::storage::events::with_origin;
use crate::storage::tokens::{TokenBatch, TokenUpdate};
use crate::storage::{TokenSpec, TokenView};
use crate::token::{entity_name, flags as tflags, parse_entity};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// Default page size of a list.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page of a list.
pub const MAX_LIMIT: usize = 10_000;
/// Most tokens one batch create or delete may name.
pub const MAX_BATCH: usize = 100_000;

/// One token as JSON: coordinates of its defined spaces by space name.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenOut {
    pub id: u32,
    pub weight: f32,
    pub entity: String,
    pub label: Option<String>,
    pub timestamp: u32,
    pub field_radius: f32,
    pub field_strength: f32,
    /// System flag names (active, persistent, ...).
    pub flags: Vec<String>,
    pub user_flags: u16,
    pub domain: u8,
    /// `[x, y, z]` of each space the token is placed in, by space name.
    pub coords: BTreeMap<String, [f32; 3]>,
}

impl From<TokenView> for TokenOut {
    fn from(v: TokenView) -> TokenOut {
        let mut coords = BTreeMap::new();
        for (s, name) in SPACE_NAMES.iter().enumerate().take(NUM_SPACES) {
            if v.defined & (1 << s) != 0 {
                coords.insert(name.to_string(), v.token.space_coords(s));
            }
        }
        let t = &v.token;
        TokenOut {
            id: t.local_id(),
            weight: t.weight,
            entity: entity_name(t.entity()).to_string(),
            label: v.label,
            timestamp: t.timestamp,
            field_radius: t.field_radius_f(),
            field_strength: t.field_strength_f(),
            flags: tflags::NAMES
                .iter()
                .enumerate()
                .filter(|(i, _)| t.flags & tflags::SYSTEM_MASK & (1 << i) != 0)
                .map(|(_, n)| n.to_string())
                .collect(),
            user_flags: (t.flags & tflags::USER_MASK) >> tflags::USER_SHIFT,
            domain: t.domain(),
            coords,
        }
    }
}

fn one() -> f32 {
    1.0
}

/// A token to create. Spaces not named are left undefined.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    /// `[x, y, z]` per space name (`cognitive`, `L5`, ...).
    #[serde(default)]
    pub coords: BTreeMap<String, [f32; 3]>,
    #[serde(default = "one")]
    pub weight: f32,
    /// Entity type name (`concept`, `object`, ...); default `undefined`.
    pub entity: Option<String>,
    pub label: Option<String>,
    /// An explicit id (1..=16777215); default: the next free one.
    #[schema(minimum = 1, maximum = 16777215)]
    pub id: Option<u32>,
    #[serde(default)]
    pub field_radius: f32,
    #[serde(default)]
    pub field_strength: f32,
    /// Clamp out-of-range coordinates instead of refusing them.
    #[serde(default)]
    pub clamp: bool,
}

/// Space coordinates keyed by name, as the `[Option<[f32; 3]>; 8]` the store takes.
fn coords_of(
    named: &BTreeMap<String, [f32; 3]>,
    row: Option<usize>,
) -> ApiResult<[Option<[f32; 3]>; NUM_SPACES]> {
    let mut out = [None; NUM_SPACES];
    for (name, xyz) in named {
        let s = crate::space::parse_space(name).map_err(|e| {
            let field = match row {
                Some(r) => format!("tokens[{r}].coords"),
                None => "coords".into(),
            };
            Problem::invalid(&field, e.to_string())
        })?;
        if out[s].replace(*xyz).is_some() {
            return Err(Problem::invalid(
                "coords",
                format!("the {} space is named twice", SPACE_NAMES[s]),
            ));
        }
    }
    Ok(out)
}

fn entity_of(e: &Option<String>) -> ApiResult<u8> {
    match e {
        Some(name) => Ok(parse_entity(name)?),
        None => Ok(0),
    }
}

/// Batch create: the tokens, all or nothing.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBatchIn {
    pub tokens: Vec<TokenIn>,
    /// Clamp out-of-range coordinates of every token.
    #[serde(default)]
    pub clamp: bool,
}

/// Ids created or named.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Ids {
    pub ids: Vec<u32>,
    pub count: usize,
}

/// Ids to delete.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdsIn {
    pub ids: Vec<u32>,
}

/// How many records a delete removed.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Deleted {
    pub deleted: usize,
}

/// A count.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Count {
    pub count: usize,
}

/// A page of a keyset list; `next` is the `after` of the next page (absent on the last).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<u32>,
}

/// `?limit=&after=`: up to `limit` records with ids above `after`, in id order.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1..=10000 (default 100).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<usize>,
    /// The `next` of the previous page (default 0: from the start).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_i64)]
    pub after: Option<u32>,
}

impl ListQuery {
    /// The page size, bounded.
    pub fn limit(&self) -> ApiResult<usize> {
        let l = bounded("limit", self.limit.unwrap_or(DEFAULT_LIMIT), MAX_LIMIT)?;
        if l == 0 {
            return Err(Problem::invalid("limit", "limit must be at least 1"));
        }
        Ok(l)
    }
}

/// The JSON page and a `Link: <...>; rel="next"` header when more follow.
pub fn page_response<T: Serialize>(
    base: &str,
    limit: usize,
    items: Vec<T>,
    next: Option<u32>,
) -> impl IntoResponse {
    let mut headers = HeaderMap::new();
    if let Some(n) = next {
        let link = format!("<{base}?limit={limit}&after={n}>; rel=\"next\"");
        if let Ok(v) = HeaderValue::from_str(&link) {
            headers.insert(header::LINK, v);
        }
    }
    (headers, Json(Page { items, next }))
}

/// A change to one token; fields left out stay as they are.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TokenPatch {
    pub weight: Option<f32>,
    pub entity: Option<String>,
    /// A new label; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub label: Option<Option<String>>,
    /// `[x, y, z]` places the token in a space, `null` removes it from the space.
    #[serde(default)]
    pub coords: BTreeMap<String, Option<[f32; 3]>>,
    pub field_radius: Option<f32>,
    pub field_strength: Option<f32>,
    /// 0..=15.
    #[schema(maximum = 15)]
    pub user_flags: Option<u8>,
    /// 0..=15.
    #[schema(maximum = 15)]
    pub domain: Option<u8>,
    #[serde(default)]
    pub clamp: bool,
}

/// A field that is present (even as `null`) is `Some`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `?limit=` of a bounded answer.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    /// At most this many records (default 100, at most 10000).
    #[param(maximum = 10000)]
    pub limit: Option<usize>,
}

/// Tokens carrying one label.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct LabelMatches {
    pub label: String,
    /// How many tokens carry it (all of them, even past `limit`).
    pub count: usize,
    pub items: Vec<TokenOut>,
}

/// One token by id.
#[utoipa::path(get, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = u32, Path, description = "Token id")),
    responses((status = 200, body = TokenOut), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn get_token(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<u32>,
) -> ApiResult<Json<TokenOut>> {
    who.require(Role::Readonly)?;
    read_gate(&app)?;
    Ok(Json(app.store.get_token(id)?.into()))
}

/// Tokens in id order, a page at a time (keyset: `?after=` the previous page's `next`).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(ListQuery),
    responses((status = 200, body = Page<TokenOut>, headers(("Link" = String, description = "rel=\"next\" page")))),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn list_tokens(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<ListQuery>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Readonly)?;
    let limit = q.limit()?;
    let after = q.after.unwrap_or(0);
    let store = app.store.clone();
    let (rows, more) = blocking(move || Ok(store.token_page(after, limit))).await?;
    let next = if more {
        rows.last().map(|v| v.token.local_id())
    } else {
        None
    };
    let items: Vec<TokenOut> = rows.into_iter().map(TokenOut::from).collect();
    Ok(page_response("/api/v1/tokens", limit, items, next))
}

/// How many tokens the runtime holds.
#[utoipa::path(get, path = "/api/v1/tokens/count", tag = "tokens",
    responses((status = 200, body = Count)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn count_tokens(State(app): State<AppState>, who: Principal) -> ApiResult<Json<Count>> {
    who.require(Role::Readonly)?;
    read_gate(&app)?;
    Ok(Json(Count {
        count: app.store.token_count(),
    }))
}

/// Tokens carrying exactly this label, in id order (at most `limit`).
#[utoipa::path(get, path = "/api/v1/tokens/by-label/{label}", tag = "tokens",
    params(("label" = String, Path, description = "The label"), LimitQuery),
    responses((status = 200, body = LabelMatches)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn find_label(
    State(app): State<AppState>,
    who: Principal,
    Path(label): Path<String>,
    Query(q): Query<LimitQuery>,
) -> ApiResult<Json<LabelMatches>> {
    who.require(Role::Readonly)?;
    let limit = bounded("limit", q.limit.unwrap_or(DEFAULT_LIMIT), MAX_LIMIT)?;
    let store = app.store.clone();
    let l = label.clone();
    let (count, items) = blocking(move || {
        let ids = store.find_label(&l);
        let items: Vec<TokenOut> = ids
            .iter()
            .take(limit)
            .filter_map(|id| store.get_token(*id).ok().map(TokenOut::from))
            .collect();
        Ok((ids.len(), items))
    })
    .await?;
    Ok(Json(LabelMatches {
        label,
        count,
        items,
    }))
}

/// Create one token; 201 with the token and its `Location`.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = TokenIn,
    responses((status = 201, body = TokenOut)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("user"))))]
pub async fn create_token(
    State(app): State<AppState>,
    who: Principal,
    t: Body<TokenIn>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::User)?;
    let t = t.parse()?;
    let spec = TokenSpec {
        coords: coords_of(&t.coords, None)?,
        weight: t.weight,
        entity: entity_of(&t.entity)?,
        label: t.label,
        id: t.id,
        field_radius: t.field_radius,
        field_strength: t.field_strength,
        clamp: t.clamp,
    };
    write_gate(&app)?;
    let id = with_origin(&who.origin(), || app.store.create_token(&spec))?;
    let out: TokenOut = app.store.get_token(id)?.into();
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/tokens/{id}")) {
        headers.insert(header::LOCATION, v);
    }
    Ok((
        StatusCode::CREATED,
        headers,
        Extension(AuditNote {
            ids: vec![id],
            count: 1,
        }),
        Json(out),
    ))
}

/// Create many tokens, all or nothing (at most 100000); their ids in order.
#[utoipa::path(post, path = "/api/v1/tokens/batch", tag = "tokens", request_body = TokenBatchIn,
    responses((status = 201, body = Ids), (status = 413, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("user"))))]
pub async fn create_tokens(
    State(app): State<AppState>,
    who: Principal,
    b: Body<TokenBatchIn>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::User)?;
    let b = b.parse()?;
    let n = bounded("tokens", b.tokens.len(), MAX_BATCH)?;
    let with_ids = b.tokens.iter().filter(|t| t.id.is_some()).count();
    if with_ids != 0 && with_ids != n {
        return Err(Problem::invalid(
            "tokens",
            "give an id to every token of a batch or to none",
        ));
    }
    let ids: Option<Vec<u32>> =
        (with_ids == n && n > 0).then(|| b.tokens.iter().filter_map(|t| t.id).collect());
    let mut coords = vec![f32::NAN; n * NUM_SPACES * NUM_AXES];
    let mut weights = Vec::with_capacity(n);
    let mut entities = Vec::with_capacity(n);
    let mut fr = Vec::with_capacity(n);
    let mut fs = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    let mut clamp = b.clamp;
    for (r, t) in b.tokens.into_iter().enumerate() {
        for (s, xyz) in coords_of(&t.coords, Some(r))?.iter().enumerate() {
            if let Some(xyz) = xyz {
                let at = (r * NUM_SPACES + s) * NUM_AXES;
                coords[at..at + NUM_AXES].copy_from_slice(xyz);
            }
        }
        weights.push(t.weight);
        entities.push(entity_of(&t.entity).map_err(|mut p| {
            p.field = Some(format!("tokens[{r}].entity"));
            p
        })?);
        fr.push(t.field_radius);
        fs.push(t.field_strength);
        labels.push(t.label);
        clamp |= t.clamp;
    }
    let store = app.store.clone();
    let created = blocking_write(who.origin(), move || {
        store.create_tokens(&TokenBatch {
            coords: &coords,
            weights: Some(&weights),
            entities: Some(&entities),
            field_radius: Some(&fr),
            field_strength: Some(&fs),
            labels: Some(labels),
            ids: ids.as_deref(),
            clamp,
            undefined_nan: true,
            default_weight: 1.0,
        })
    })
    .await?;
    let note = AuditNote {
        ids: created.iter().take(16).copied().collect(),
        count: created.len(),
    };
    Ok((
        StatusCode::CREATED,
        Extension(note),
        Json(Ids {
            count: created.len(),
            ids: created,
        }),
    ))
}

/// Change one token; answers the token as it is now.
#[utoipa::path(patch, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = u32, Path, description = "Token id")), request_body = TokenPatch,
    responses((status = 200, body = TokenOut), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("user"))))]
pub async fn update_token(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<u32>,
    p: Body<TokenPatch>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::User)?;
    let p = p.parse()?;
    let mut coords = Vec::new();
    for (name, xyz) in &p.coords {
        coords.push((super::extract::space(name)?, *xyz));
    }
    let bounded4 = |field: &str, v: Option<u8>| match v {
        Some(x) if x > 15 => Err(Problem::over_bound(field, x as usize, 15)),
        v => Ok(v),
    };
    let u = TokenUpdate {
        weight: p.weight,
        entity: p.entity.as_ref().map(|e| parse_entity(e)).transpose()?,
        label: p.label,
        coords,
        field_radius: p.field_radius,
        field_strength: p.field_strength,
        user_flags: bounded4("user_flags", p.user_flags)?,
        domain: bounded4("domain", p.domain)?,
        clamp: p.clamp,
    };
    write_gate(&app)?;
    with_origin(&who.origin(), || app.store.update_token(id, u))?;
    let out: TokenOut = app.store.get_token(id)?.into();
    Ok((
        Extension(AuditNote {
            ids: vec![id],
            count: 1,
        }),
        Json(out),
    ))
}

/// Delete one token and every connection touching it.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = u32, Path, description = "Token id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("user"))))]
pub async fn delete_token(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<u32>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::User)?;
    write_gate(&app)?;
    with_origin(&who.origin(), || app.store.delete_tokens(&[id]))?;
    Ok((
        StatusCode::NO_CONTENT,
        Extension(AuditNote {
            ids: vec![id],
            count: 1,
        }),
    ))
}

/// Delete many tokens (and their connections); all must exist, else nothing is deleted.
#[utoipa::path(post, path = "/api/v1/tokens/delete", tag = "tokens", request_body = IdsIn,
    responses((status = 200, body = Deleted), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("user"))))]
pub async fn delete_tokens(
    State(app): State<AppState>,
    who: Principal,
    b: Body<IdsIn>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::User)?;
    let b = b.parse()?;
    bounded("ids", b.ids.len(), MAX_BATCH)?;
    let note_ids: Vec<u32> = b.ids.iter().take(16).copied().collect();
    let store = app.store.clone();
    let n = blocking_write(who.origin(), move || store.delete_tokens(&b.ids)).await?;
    Ok((
        Extension(AuditNote {
            ids: note_ids,
            count: n,
        }),
        Json(Deleted { deleted: n }),
    ))
}

/// The token routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/count", get(count_tokens))
        .route("/tokens/by-label/{label}", get(find_label))
        .route(
            "/tokens/{id}",
            get(get_token).patch(update_token).delete(delete_token),
        )
}

/// The token routes that take large bodies (the batch body limit applies).
pub fn batch_routes() -> Router<AppState> {
    Router::new()
        .route("/tokens/batch", post(create_tokens))
        .route("/tokens/delete", post(delete_tokens))
}
