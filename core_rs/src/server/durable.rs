//! With a journal: a successful write is acknowledged only once its changes are on disk.
//!
//! The middleware lets the request run; when it is a write (POST, PUT, PATCH, DELETE) that
//! succeeded (2xx) it waits, without holding a thread, until the journal has fsynced every
//! change handed out so far (the request's own included), then sends the response. Without a
//! journal the layer is not installed at all.

use super::problem::Problem;
use super::{AppState, Config, StartError};
use crate::journal::{Journal, Options};
use crate::storage::RuntimeStorage;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::Arc;

/// Open (and recover from) the journal `config` names, if any.
pub fn open_journal(
    store: &Arc<RuntimeStorage>,
    config: &Config,
) -> Result<Option<Arc<Journal>>, StartError> {
    let Some(dir) = &config.journal_dir else {
        return Ok(None);
    };
    let Some(snapshot) = &config.snapshot_path else {
        return Err(StartError::Config(
            "a journal needs the snapshot it follows: set snapshot_path with journal_dir".into(),
        ));
    };
    let mut opts = Options::new(dir, snapshot);
    opts.compact_bytes = config.journal_compact_bytes;
    let j = Journal::open(store, opts).map_err(|e| StartError::Config(e.to_string()))?;
    Ok(Some(Arc::new(j)))
}

/// Install the durability wait when the server journals.
pub fn layer(app: Router<AppState>, state: &AppState) -> Router<AppState> {
    match &state.journal {
        Some(j) => app.layer(axum::middleware::from_fn_with_state(j.clone(), wait)),
        None => app,
    }
}

async fn wait(State(journal): State<Arc<Journal>>, req: Request, next: Next) -> Response {
    let write = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let resp = next.run(req).await;
    if !write || !resp.status().is_success() {
        return resp;
    }
    match journal.durable(journal.last_seq()).await {
        Ok(()) => resp,
        Err(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-durable",
            "the write was applied but could not be written to the journal; it may be lost on a restart",
        )
        .into_response(),
    }
}
