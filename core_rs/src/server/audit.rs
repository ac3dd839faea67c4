//! The audit log: every write (who, role, route, ids or counts, outcome, Guardian reason) as a
//! JSON line, rotated by size, with an in-memory ring for `/api/v1/audit`.
//! (Owner: auth work. STUB until it lands.)

use super::AppState;
use axum::Router;

/// What a write handler tells the audit log about its effect; attach it to the response with
/// `axum::Extension(AuditNote { .. })`.
#[derive(Clone, Debug, Default)]
pub struct AuditNote {
    /// The ids the write created, changed or deleted (a batch: the first few).
    pub ids: Vec<u32>,
    /// How many records the write touched.
    pub count: usize,
}

pub struct Audit {}

impl Audit {
    pub fn open(_config: &super::Config) -> Result<Audit, super::StartError> {
        Ok(Audit {})
    }
}

/// The audit middleware.
pub fn layer(app: Router<AppState>, _state: &AppState) -> Router<AppState> {
    app
}
