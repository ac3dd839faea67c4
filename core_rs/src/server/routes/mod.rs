//! The router: one file per route group, each exporting `routes() -> Router<AppState>`.

pub mod system;
pub mod tokens;

use super::AppState;
use axum::Router;

/// The whole application.
pub fn router(state: AppState) -> Router {
    let api = Router::new().merge(tokens::routes());
    Router::new()
        .merge(system::routes())
        .nest("/api/v1", api)
        .with_state(state)
}
