//! `/api/v1/cdna...`: the CDNA, its scales, profile and flags, a dry-run validation, the
//! history and rollback. The CDNA checksum is its ETag; every write needs `If-Match` with it
//! (428 without, 412 when stale) and answers the new CDNA with the new ETag. A change the
//! Guardian refuses is 422 `guardian-refused` naming the field, value and limit.

use super::extract::{blocking, parse_json, space, Body};
use crate::cdna::{flags as cflags, Cdna, FIELDS, HISTORY_LIMIT, PROFILES, STATES};
use crate::connection::KINDS;
use crate::server::audit::AuditNote;
use crate::server::auth::{Principal, Role};
use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::space::SPACE_NAMES;
use crate::storage::events::with_origin;
use crate::storage::Policy;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// API CDNA writes run one at a time, so the `If-Match` check and the write see the same
/// CDNA (a notebook write in between is still caught: it changes the checksum the write
/// then reports).
static WRITES: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// The CDNA's checksum (the FNV-1a of its 384-byte record) as 16 hex digits.
pub fn checksum(c: &Cdna) -> String {
    let b = c.to_bytes();
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[40..48]);
    format!("{:016x}", u64::from_le_bytes(v))
}

/// The CDNA as JSON.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CdnaOut {
    pub profile: String,
    pub profile_state: String,
    pub revision: u32,
    /// Also the ETag (quoted).
    pub checksum: String,
    pub created: u64,
    pub modified: u64,
    pub flags: BTreeMap<String, bool>,
    pub scales: BTreeMap<String, f32>,
    pub bucket_sizes: BTreeMap<String, u16>,
    /// Every numeric field by name (bounds, degree limits, rates).
    pub fields: BTreeMap<String, f64>,
    pub forbidden_kinds: Vec<String>,
}

impl From<&Cdna> for CdnaOut {
    fn from(c: &Cdna) -> CdnaOut {
        let by_space = |f: &dyn Fn(usize) -> f32| -> BTreeMap<String, f32> {
            SPACE_NAMES
                .iter()
                .enumerate()
                .map(|(i, n)| (n.to_string(), f(i)))
                .collect()
        };
        CdnaOut {
            profile: PROFILES
                .get(c.profile_id as usize)
                .copied()
                .unwrap_or("custom")
                .into(),
            profile_state: STATES
                .get(c.profile_state as usize)
                .copied()
                .unwrap_or("unknown")
                .into(),
            revision: c.revision,
            checksum: checksum(c),
            created: c.created,
            modified: c.modified,
            flags: flag_map(c),
            scales: by_space(&|i| c.scales[i]),
            bucket_sizes: SPACE_NAMES
                .iter()
                .enumerate()
                .map(|(i, n)| (n.to_string(), c.bucket_sizes[i]))
                .collect(),
            fields: FIELDS
                .iter()
                .filter_map(|(n, _)| c.field(n).ok().map(|v| (n.to_string(), v)))
                .collect(),
            forbidden_kinds: (0..KINDS.len() as u8)
                .filter(|k| !c.kind_allowed(*k))
                .map(|k| crate::connection::kind_name(k).to_string())
                .collect(),
        }
    }
}

fn flag_map(c: &Cdna) -> BTreeMap<String, bool> {
    cflags::NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), c.flags & (1 << i) != 0))
        .collect()
}

/// What to do with records the change would break: `refuse` (default), `clamp` or `force`.
fn policy_of(p: &Option<String>) -> ApiResult<Policy> {
    match p {
        None => Ok(Policy::Refuse),
        Some(name) => Policy::parse(name).ok_or_else(|| {
            Problem::invalid(
                "policy",
                format!("policy {name:?}: expected refuse, clamp or force"),
            )
        }),
    }
}

/// Numeric fields to set.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldsIn {
    pub fields: BTreeMap<String, f64>,
    pub policy: Option<String>,
}

/// A profile to switch to.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ProfileIo {
    /// default, explorer, analyst or creative.
    pub profile: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// Flags to set; flags not named keep their value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagsIn {
    pub flags: BTreeMap<String, bool>,
    pub policy: Option<String>,
}

/// A rollback: `steps` changes back (default 1).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackIn {
    pub steps: Option<usize>,
    pub policy: Option<String>,
}

/// A proposed change to check (all parts optional; none: check the current CDNA).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ValidateIn {
    pub profile: Option<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, f64>,
    #[serde(default)]
    pub scales: BTreeMap<String, f64>,
    #[serde(default)]
    pub flags: BTreeMap<String, bool>,
}

/// Whether the change (or the current CDNA) would be accepted, and why not.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ValidateOut {
    pub valid: bool,
    pub problems: Vec<String>,
}

/// One earlier CDNA version.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    pub revision: u32,
    pub profile: String,
    pub changed_at: f64,
    pub change: String,
    pub checksum: String,
}

fn etag_headers(c: &Cdna) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", checksum(c))) {
        h.insert(header::ETAG, v);
    }
    h
}

/// The `If-Match` of a write: 428 when missing, 412 unless it names the current ETag.
fn check_if_match(headers: &HeaderMap, current: &Cdna) -> ApiResult<()> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Err(Problem::precondition_required(
            "CDNA writes need If-Match with the ETag of GET /api/v1/cdna",
        ));
    };
    let v = v.to_str().unwrap_or("");
    let want = checksum(current);
    let ok = v.split(',').any(|t| {
        let t = t.trim();
        let t = t.strip_prefix("W/").unwrap_or(t);
        t == "*" || t.trim_matches('"') == want
    });
    if ok {
        Ok(())
    } else {
        Err(Problem::precondition_failed(format!(
            "the CDNA changed: its ETag is now \"{want}\"; GET it again"
        )))
    }
}

/// Run one CDNA write: check `If-Match`, apply, answer the new CDNA and its ETag.
async fn write(
    app: AppState,
    who: Principal,
    headers: HeaderMap,
    f: impl FnOnce(&crate::RuntimeStorage) -> crate::Result<Cdna> + Send + 'static,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let store = app.store.clone();
    let origin = who.origin();
    let c = blocking(move || {
        let _one = WRITES.lock();
        check_if_match(&headers, &store.cdna())?;
        Ok(with_origin(&origin, || f(&store))?)
    })
    .await?;
    Ok((
        etag_headers(&c),
        Extension(AuditNote {
            ids: vec![c.revision],
            count: 1,
        }),
        Json(CdnaOut::from(&c)),
    ))
}

/// The CDNA; its ETag is the checksum.
#[utoipa::path(get, path = "/api/v1/cdna", tag = "cdna",
    responses((status = 200, body = CdnaOut, headers(("ETag" = String)))),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn get_cdna(State(app): State<AppState>, who: Principal) -> ApiResult<impl IntoResponse> {
    who.require(Role::Readonly)?;
    super::extract::read_gate(&app)?;
    let c = app.store.cdna();
    Ok((etag_headers(&c), Json(CdnaOut::from(&c))))
}

/// Set numeric fields by name, validated as one change (needs If-Match).
#[utoipa::path(patch, path = "/api/v1/cdna", tag = "cdna", request_body = FieldsIn,
    params(("If-Match" = String, Header, description = "The ETag of the current CDNA")),
    responses((status = 200, body = CdnaOut), (status = 412, body = Problem, content_type = "application/problem+json"), (status = 428, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
pub async fn patch_cdna(
    State(app): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    b: Body<FieldsIn>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let b = b.parse()?;
    let policy = policy_of(&b.policy)?;
    let changes: Vec<(String, f64)> = b.fields.into_iter().collect();
    write(app, who, headers, move |s| s.set_fields(&changes, policy)).await
}

/// The per-space distance scales.
#[utoipa::path(get, path = "/api/v1/cdna/scales", tag = "cdna",
    responses((status = 200, body = BTreeMap<String, f32>)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn get_scales(
    State(app): State<AppState>,
    who: Principal,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Readonly)?;
    super::extract::read_gate(&app)?;
    let c = app.store.cdna();
    Ok((etag_headers(&c), Json(CdnaOut::from(&c).scales)))
}

/// Set scales `{space: scale}` (spaces not named keep theirs; needs If-Match).
#[utoipa::path(put, path = "/api/v1/cdna/scales", tag = "cdna", request_body = BTreeMap<String, f64>,
    params(("If-Match" = String, Header, description = "The ETag of the current CDNA")),
    responses((status = 200, body = CdnaOut), (status = 412, body = Problem, content_type = "application/problem+json"), (status = 428, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
pub async fn put_scales(
    State(app): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    b: Body<BTreeMap<String, f64>>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let b = b.parse()?;
    let mut changes = Vec::new();
    for (name, v) in b {
        changes.push((space(&name)?, v));
    }
    write(app, who, headers, move |s| s.set_scales(&changes)).await
}

/// The active profile.
#[utoipa::path(get, path = "/api/v1/cdna/profile", tag = "cdna",
    responses((status = 200, body = ProfileIo)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn get_profile(
    State(app): State<AppState>,
    who: Principal,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Readonly)?;
    super::extract::read_gate(&app)?;
    let c = app.store.cdna();
    Ok((
        etag_headers(&c),
        Json(ProfileIo {
            profile: c.profile_name().into(),
            policy: None,
        }),
    ))
}

/// Switch profile (needs If-Match).
#[utoipa::path(put, path = "/api/v1/cdna/profile", tag = "cdna", request_body = ProfileIo,
    params(("If-Match" = String, Header, description = "The ETag of the current CDNA")),
    responses((status = 200, body = CdnaOut), (status = 412, body = Problem, content_type = "application/problem+json"), (status = 428, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
pub async fn put_profile(
    State(app): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    b: Body<ProfileIo>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let b = b.parse()?;
    let policy = policy_of(&b.policy)?;
    write(app, who, headers, move |s| {
        s.set_profile(&b.profile, policy)
    })
    .await
}

/// The header flags by name.
#[utoipa::path(get, path = "/api/v1/cdna/flags", tag = "cdna",
    responses((status = 200, body = BTreeMap<String, bool>)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn get_flags(
    State(app): State<AppState>,
    who: Principal,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Readonly)?;
    super::extract::read_gate(&app)?;
    let c = app.store.cdna();
    Ok((etag_headers(&c), Json(flag_map(&c))))
}

/// Set flags by name (needs If-Match).
#[utoipa::path(put, path = "/api/v1/cdna/flags", tag = "cdna", request_body = FlagsIn,
    params(("If-Match" = String, Header, description = "The ETag of the current CDNA")),
    responses((status = 200, body = CdnaOut), (status = 412, body = Problem, content_type = "application/problem+json"), (status = 428, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
pub async fn put_flags(
    State(app): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    b: Body<FlagsIn>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let b = b.parse()?;
    let policy = policy_of(&b.policy)?;
    let mut changes = Vec::new();
    for (name, on) in &b.flags {
        let bit = cflags::parse(name).map_err(|e| Problem::invalid("flags", e.to_string()))?;
        changes.push((bit, *on));
    }
    write(app, who, headers, move |s| s.set_flags(&changes, policy)).await
}

/// Check a proposed change (or, with no body, the current CDNA) without applying it.
#[utoipa::path(post, path = "/api/v1/cdna/validate", tag = "cdna", request_body(content = Option<ValidateIn>),
    responses((status = 200, body = ValidateOut)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn validate(
    State(app): State<AppState>,
    who: Principal,
    body: Bytes,
) -> ApiResult<Json<ValidateOut>> {
    who.require(Role::Readonly)?;
    let v: ValidateIn = if body.iter().all(u8::is_ascii_whitespace) {
        ValidateIn::default()
    } else {
        parse_json::<Option<ValidateIn>>(&body)?.unwrap_or_default()
    };
    let store = app.store.clone();
    let problems = blocking(move || {
        let proposed = v.profile.is_some()
            || !v.fields.is_empty()
            || !v.scales.is_empty()
            || !v.flags.is_empty();
        if !proposed {
            return Ok(store.cdna_problems());
        }
        let mut next = store.cdna();
        if let Some(p) = &v.profile {
            let created = next.created;
            next = Cdna::profile(p)?;
            next.created = created;
        }
        for (n, x) in &v.fields {
            next.set_field(n, *x)
                .map_err(|e| Problem::invalid("fields", e.to_string()))?;
        }
        for (n, x) in &v.scales {
            next.scales[space(n)?] = *x as f32;
        }
        for (n, on) in &v.flags {
            let bit = cflags::parse(n).map_err(|e| Problem::invalid("flags", e.to_string()))?;
            if *on {
                next.flags |= bit;
            } else {
                next.flags &= !bit;
            }
        }
        Ok(store.cdna_dry_run(&next))
    })
    .await?;
    Ok(Json(ValidateOut {
        valid: problems.is_empty(),
        problems,
    }))
}

/// Earlier versions, oldest first (at most 256 are kept).
#[utoipa::path(get, path = "/api/v1/cdna/history", tag = "cdna",
    responses((status = 200, body = Vec<HistoryEntry>)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn history(
    State(app): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Vec<HistoryEntry>>> {
    who.require(Role::Readonly)?;
    super::extract::read_gate(&app)?;
    let h = app.store.history();
    Ok(Json(
        h.into_iter()
            .take(HISTORY_LIMIT)
            .map(|v| HistoryEntry {
                revision: v.cdna.revision,
                profile: v.cdna.profile_name().into(),
                changed_at: v.changed_at,
                checksum: checksum(&v.cdna),
                change: v.reason,
            })
            .collect(),
    ))
}

/// Return to the version `steps` changes back; the rollback is a new revision (needs
/// If-Match).
#[utoipa::path(post, path = "/api/v1/cdna/rollback", tag = "cdna", request_body = RollbackIn,
    params(("If-Match" = String, Header, description = "The ETag of the current CDNA")),
    responses((status = 200, body = CdnaOut), (status = 412, body = Problem, content_type = "application/problem+json"), (status = 428, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
pub async fn rollback(
    State(app): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    b: Body<RollbackIn>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let b = b.parse()?;
    let policy = policy_of(&b.policy)?;
    let steps = b.steps.unwrap_or(1);
    write(app, who, headers, move |s| s.rollback_cdna(steps, policy)).await
}

/// The CDNA routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cdna", get(get_cdna).patch(patch_cdna))
        .route("/cdna/scales", get(get_scales).put(put_scales))
        .route("/cdna/profile", get(get_profile).put(put_profile))
        .route("/cdna/flags", get(get_flags).put(put_flags))
        .route("/cdna/validate", post(validate))
        .route("/cdna/history", get(history))
        .route("/cdna/rollback", post(rollback))
}
