//! The router: one file per route group, each exporting `routes() -> Router<AppState>`.

pub mod system;
pub mod tokens;
pub mod ws;

use super::{audit, durable, http_metrics, limit, security, AppState};
use axum::Router;

/// The whole application. Layers run outermost first on the way in: security (Host check,
/// CORS, panics), HTTP metrics, rate limits, audit, durability, then the route.
pub fn router(state: AppState) -> Router {
    let api = Router::new().merge(tokens::routes()).merge(ws::routes());
    let app = Router::new().merge(system::routes()).nest("/api/v1", api);
    let app = durable::layer(app, &state);
    let app = audit::layer(app, &state);
    let app = limit::layer(app, &state);
    let app = http_metrics::layer(app, &state);
    let app = security::layer(app, &state);
    app.with_state(state)
}
