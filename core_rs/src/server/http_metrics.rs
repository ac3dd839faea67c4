//! HTTP request counts and latency histograms by route template, for `/metrics`.
//! (Owner: routes work. STUB until it lands.)

use super::AppState;
use axum::Router;

#[derive(Default)]
pub struct HttpMetrics {}

pub fn layer(app: Router<AppState>, _state: &AppState) -> Router<AppState> {
    app
}
