//! Rate limits: token buckets per principal (by role) and per peer IP; 429 + Retry-After.
//! (Owner: auth work. STUB until it lands.)

use super::AppState;
use axum::Router;

pub struct Limiter {}

impl Limiter {
    pub fn new(_limits: &super::RateLimits) -> Limiter {
        Limiter {}
    }
}

pub fn layer(app: Router<AppState>, _state: &AppState) -> Router<AppState> {
    app
}
