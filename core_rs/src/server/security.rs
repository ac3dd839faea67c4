//! Host-header allowlist (DNS rebinding), CORS (off unless configured), panics to 500
//! problems, body limits. (Owner: auth work. STUB until it lands.)

use super::AppState;
use axum::Router;

pub fn layer(app: Router<AppState>, _state: &AppState) -> Router<AppState> {
    app
}
