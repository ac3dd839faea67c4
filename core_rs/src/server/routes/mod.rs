//! The router: one file per route group, each exporting `routes() -> Router<AppState>`
//! (and `batch_routes()` for routes that take large bodies).

pub mod admin;
pub mod auth;
pub mod bootstrap;
pub mod cdna;
pub mod connections;
pub mod events;
pub mod extract;
pub mod graph;
pub mod grid;
pub mod semantic;
pub mod system;
pub mod table;
pub mod tokens;
pub mod views;
pub mod views_color;
pub mod views_graph;
pub mod views_search;
pub mod views_wire;
pub mod ws;

#[cfg(test)]
mod tests;

use super::problem::Problem;
use super::{audit, durable, http_metrics, limit, security, AppState};
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::Router;

/// The whole application. Layers run outermost first on the way in: security (Host check,
/// CORS, panics), HTTP metrics, rate limits, audit, durability, then the route. Bodies are
/// limited to `config.max_body`, batch routes to `config.max_batch_body` (413 beyond).
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(tokens::routes())
        .merge(table::routes())
        .merge(connections::routes())
        .merge(grid::routes())
        .merge(graph::routes())
        .merge(semantic::routes())
        .merge(cdna::routes())
        .merge(events::routes())
        .merge(auth::routes())
        .merge(admin::routes())
        .merge(ws::routes())
        .merge(views::routes())
        .merge(bootstrap::routes())
        .layer(DefaultBodyLimit::max(state.config.max_body));
    let batch = Router::new()
        .merge(tokens::batch_routes())
        .merge(table::batch_routes())
        .merge(connections::batch_routes())
        .merge(grid::batch_routes())
        .merge(graph::batch_routes())
        .merge(semantic::batch_routes())
        .layer(DefaultBodyLimit::max(state.config.max_batch_body));
    let api = api.merge(batch);
    let app = Router::new()
        .merge(system::routes())
        .merge(auth::root_routes())
        .merge(super::assets::routes())
        .merge(super::openapi::routes())
        .nest("/api/v1", api)
        .fallback(|| async { Problem::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this route does not take this method",
            )
        });
    let app = durable::layer(app, &state);
    let app = audit::layer(app, &state);
    let app = limit::layer(app, &state);
    let app = http_metrics::layer(app, &state);
    let app = security::layer(app, &state);
    app.with_state(state)
}
