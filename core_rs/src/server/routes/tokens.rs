//! `/api/v1/tokens...`

use crate::server::auth::{Principal, Role};
use crate::server::problem::ApiResult;
use crate::server::AppState;
use crate::space::{NUM_SPACES, SPACE_NAMES};
use crate::storage::TokenView;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::collections::BTreeMap;

/// One token as JSON: coordinates of its defined spaces by space name.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenOut {
    pub id: u32,
    pub weight: f32,
    pub entity: &'static str,
    pub label: Option<String>,
    pub timestamp: u32,
    pub field_radius: f32,
    pub field_strength: f32,
    pub coords: BTreeMap<&'static str, [f32; 3]>,
}

impl From<TokenView> for TokenOut {
    fn from(v: TokenView) -> TokenOut {
        let mut coords = BTreeMap::new();
        for (s, name) in SPACE_NAMES.iter().enumerate().take(NUM_SPACES) {
            if v.defined & (1 << s) != 0 {
                coords.insert(*name, v.token.space_coords(s));
            }
        }
        TokenOut {
            id: v.token.local_id(),
            weight: v.token.weight,
            entity: crate::token::entity_name(v.token.entity()),
            label: v.label,
            timestamp: v.token.timestamp,
            field_radius: v.token.field_radius_f(),
            field_strength: v.token.field_strength_f(),
            coords,
        }
    }
}

/// One token by id.
pub async fn get_token(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<u32>,
) -> ApiResult<Json<TokenOut>> {
    who.require(Role::Readonly)?;
    Ok(Json(app.store.get_token(id)?.into()))
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/tokens/{id}", get(get_token))
}
