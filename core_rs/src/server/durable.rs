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

/// Open (and recover from) the journal `config` names, if any. Its snapshot is
/// `config.snapshot_path`, or `snapshot.ngs` inside the journal directory.
pub fn open_journal(
    store: &Arc<RuntimeStorage>,
    config: &Config,
) -> Result<Option<Arc<Journal>>, StartError> {
    let Some(dir) = &config.journal_dir else {
        return Ok(None);
    };
    // Without a snapshot path the journal keeps its snapshot in its own directory.
    let snapshot = match &config.snapshot_path {
        Some(p) => p.clone(),
        None => dir.join("snapshot.ngs"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::TokenSpec;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::{get, post};
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    use tower::ServiceExt;

    async fn write(State(st): State<AppState>) -> StatusCode {
        let spec = TokenSpec {
            weight: 0.5,
            ..Default::default()
        };
        st.store.create_token(&spec).unwrap();
        StatusCode::CREATED
    }

    #[tokio::test]
    async fn a_write_is_answered_only_once_its_frame_is_fsynced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(RuntimeStorage::new());
        let config = Config {
            journal_dir: Some(dir.path().join("j")),
            snapshot_path: Some(dir.path().join("lab.ngs")),
            ..Config::default()
        };
        let state = super::super::app_state(store.clone(), config).unwrap();
        let routes = Router::new()
            .route("/w", post(write))
            .route("/r", get(|| async { "ok" }));
        let app: Router = layer(routes, &state).with_state(state.clone());
        let j = state.journal.clone().unwrap();
        let mut cx = Context::from_waker(Waker::noop());

        let hold = j.hold_writer();
        let req = Request::post("/w").body(Body::empty()).unwrap();
        let mut fut = std::pin::pin!(app.clone().oneshot(req));
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert_eq!(store.token_count(), 1, "the write is applied");
        assert!(j.durable_seq() < j.last_seq(), "but not yet on disk");
        // a read is not held back
        let read = Request::get("/r").body(Body::empty()).unwrap();
        let mut r = std::pin::pin!(app.clone().oneshot(read));
        match r.as_mut().poll(&mut cx) {
            Poll::Ready(resp) => assert_eq!(resp.unwrap().status(), StatusCode::OK),
            Poll::Pending => panic!("a read waited for the journal"),
        }
        drop(hold);
        let resp = fut.await.unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        assert!(j.durable_seq() >= 1);
    }

    /// API writes through the whole router (auth, limits, audit, durability), then a restart
    /// from the files alone: every acknowledged write is there.
    #[tokio::test]
    async fn api_writes_come_back_after_a_restart_from_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let config = || Config {
            journal_dir: Some(dir.path().join("j")),
            snapshot_path: Some(dir.path().join("lab.ngs")),
            ..Config::default()
        };
        let state = super::super::app_state(Arc::new(RuntimeStorage::new()), config()).unwrap();
        let app = super::super::routes::router(state.clone());
        let key = state.auth.ephemeral_admin_key();
        let post = |uri: &str, body: serde_json::Value| {
            Request::post(uri)
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap()
        };
        let mut ids = Vec::new();
        for i in 0..3 {
            let body = serde_json::json!({"coords": {"physical": [0.1, 0.2, 0.3]}, "label": format!("t{i}")});
            let resp = app
                .clone()
                .oneshot(post("/api/v1/tokens", body))
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::CREATED);
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            ids.push(v["id"].as_u64().unwrap() as u32);
        }
        let body = serde_json::json!({"token_a": ids[0], "token_b": ids[1]});
        let resp = app
            .clone()
            .oneshot(post("/api/v1/connections", body))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        let j = state.journal.clone().unwrap();
        assert!(j.durable_seq() >= j.last_seq(), "acknowledged = durable");
        // what the disk holds now, without a clean stop
        let copy = tempfile::tempdir().unwrap();
        std::fs::copy(dir.path().join("lab.ngs"), copy.path().join("lab.ngs")).unwrap();
        std::fs::create_dir(copy.path().join("j")).unwrap();
        for e in std::fs::read_dir(dir.path().join("j")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), copy.path().join("j").join(e.file_name())).unwrap();
        }
        let back = Arc::new(RuntimeStorage::new());
        let _j2 = Journal::open(
            &back,
            Options::new(copy.path().join("j"), copy.path().join("lab.ngs")),
        )
        .unwrap();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(back.get_token(*id).unwrap().label, Some(format!("t{i}")));
        }
        assert_eq!(back.connection_count(), 1);
    }

    #[test]
    fn without_a_snapshot_path_the_journal_keeps_its_snapshot_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            journal_dir: Some(dir.path().join("j")),
            ..Config::default()
        };
        let store = Arc::new(RuntimeStorage::new());
        store
            .create_token(&TokenSpec {
                weight: 0.5,
                ..Default::default()
            })
            .unwrap();
        let j = open_journal(&store, &config).unwrap().unwrap();
        assert!(dir.path().join("j").join("snapshot.ngs").is_file());
        assert_eq!(
            store.token_count(),
            1,
            "a fresh journal keeps what the store holds"
        );
        drop(j);
        let back = Arc::new(RuntimeStorage::new());
        let _j = open_journal(&back, &config).unwrap();
        assert_eq!(back.token_count(), 1);
    }
}
