//! `/api/v1/bootstrap...`: upload an embeddings file and bootstrap it into the runtime, as a
//! job (see `server/jobs.rs`).
//!
//! 1. `POST /bootstrap` with the options (JSON) -> 201, the job (`uploading`).
//! 2. `PUT /bootstrap/{job}/file` with the file as the raw body (any content type): streamed
//!    to a private temporary file, never held in memory; the only route whose body may be
//!    larger than `Config::max_body` (up to `Config::max_upload`, and the announced `size`).
//!    Answers 202 once the file is in; parsing and the bootstrap then run on a blocking
//!    thread.
//! 3. `GET /bootstrap/{job}` (or the `bootstrap.state` / `bootstrap.progress` events on the
//!    `events` channel) until `done` (with the report), `failed` or `cancelled` (with the
//!    problem).
//!
//! `DELETE /bootstrap/{job}` cancels: an upload stops, the parsing stops, the bootstrap stops
//! before its commit point with the runtime unchanged; past the commit point it is 409 and
//! the job finishes. One job is active at a time (409 `bootstrap-running`).

use super::extract::{Body, Path};
use crate::server::auth::{Principal, Role};
use crate::server::jobs::{
    cancelled_problem, run, write_chunks, Job, JobOptions, JobOut, JobState, Jobs, TempFile,
};
use crate::server::problem::{ApiResult, Problem};
use crate::server::AppState;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Extension, Json, Router};
use futures_util::StreamExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Largest `k` a job may ask for.
pub const MAX_K: usize = 1000;
/// Longest file name kept with a job.
pub const MAX_NAME: usize = 256;
/// How often a running job's progress is offered as an event.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

fn job_of(jobs: &Jobs, id: &str) -> ApiResult<Arc<Job>> {
    jobs.get(id)
        .ok_or_else(|| Problem::not_found(format!("no bootstrap job {id:?}")))
}

fn state_name(s: JobState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Publish the job's state as a `bootstrap.state` event.
fn announce(app: &AppState, job: &Job, origin: &str) {
    publish(app, job.out(), origin);
}

fn publish(app: &AppState, out: JobOut, origin: &str) {
    if let Ok(v) = serde_json::to_value(out) {
        app.bus.publish("events", "bootstrap.state", origin, v);
    }
}

fn check_options(o: &JobOptions, max_upload: u64) -> ApiResult<()> {
    if let Some(n) = &o.name {
        if n.len() > MAX_NAME {
            return Err(Problem::over_bound("name", n.len(), MAX_NAME));
        }
    }
    crate::server::jobs::Format::of(o)?;
    if let Some(e) = &o.errors {
        if e != "raise" && e != "skip" {
            return Err(Problem::invalid(
                "errors",
                format!("errors {e:?}: expected raise or skip"),
            ));
        }
    }
    if let Some(k) = o.k {
        super::extract::bounded("k", k, MAX_K)?;
    }
    if o.max_words == Some(0) {
        return Err(Problem::invalid(
            "max_words",
            "max_words must be at least 1",
        ));
    }
    if let Some(s) = o.size {
        if s > max_upload {
            let mut p = Problem::too_large(format!(
                "the file ({s} bytes) is larger than this server accepts ({max_upload} bytes)"
            ));
            p.field = Some("size".into());
            p.value = Some(s as f64);
            p.limit = Some(max_upload as f64);
            return Err(p);
        }
    }
    if let Some(spaces) = &o.spaces {
        if spaces.is_empty() {
            return Err(Problem::invalid(
                "spaces",
                "name at least one space, or \"auto\"",
            ));
        }
        if !(spaces.len() == 1 && spaces[0].eq_ignore_ascii_case("auto")) {
            run::resolve_spaces(Some(spaces), 0, 0)?;
        }
    }
    Ok(())
}

/// Start a bootstrap job; its file follows with `PUT /bootstrap/{job}/file`.
#[utoipa::path(post, path = "/api/v1/bootstrap", tag = "bootstrap", request_body = JobOptions,
    responses((status = 201, body = JobOut, headers(("Location" = String))),
        (status = 409, description = "Another bootstrap job is active", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
pub async fn create(
    State(app): State<AppState>,
    Extension(jobs): Extension<Arc<Jobs>>,
    who: Principal,
    b: Body<JobOptions>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let o = b.parse()?;
    check_options(&o, app.config.max_upload)?;
    let job = jobs.create(&who.name, o)?;
    announce(&app, &job, &who.origin());
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/bootstrap/{}", job.id)) {
        h.insert(header::LOCATION, v);
    }
    Ok((StatusCode::CREATED, h, Json(job.out())))
}

/// The kept jobs (the active one and the last few finished), newest first.
#[utoipa::path(get, path = "/api/v1/bootstrap", tag = "bootstrap",
    responses((status = 200, body = Vec<JobOut>)),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn list(
    Extension(jobs): Extension<Arc<Jobs>>,
    who: Principal,
) -> ApiResult<Json<Vec<JobOut>>> {
    who.require(Role::Readonly)?;
    Ok(Json(jobs.list().iter().map(|j| j.out()).collect()))
}

/// One job: its state, progress, and its report or problem once finished.
#[utoipa::path(get, path = "/api/v1/bootstrap/{job}", tag = "bootstrap",
    params(("job" = String, Path)),
    responses((status = 200, body = JobOut), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("readonly"))))]
pub async fn get_job(
    Extension(jobs): Extension<Arc<Jobs>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<JobOut>> {
    who.require(Role::Readonly)?;
    Ok(Json(job_of(&jobs, &id)?.out()))
}

/// Cancel a job (202 with the job; it reaches `cancelled` once the work notices). 409 when
/// it is finished or past the bootstrap's commit point (it will then finish).
#[utoipa::path(delete, path = "/api/v1/bootstrap/{job}", tag = "bootstrap",
    params(("job" = String, Path)),
    responses((status = 202, body = JobOut), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Finished, or past its commit point", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
pub async fn cancel(
    State(app): State<AppState>,
    Extension(jobs): Extension<Arc<Jobs>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let job = job_of(&jobs, &id)?;
    let conflict = |detail: String| Problem::new(StatusCode::CONFLICT, "not-cancellable", detail);
    match job.state() {
        s if s.finished() => {
            return Err(conflict(format!(
                "bootstrap job {id} is already {}",
                state_name(s)
            )))
        }
        JobState::Bootstrapping => {
            if !job.progress.cancel() {
                return Err(conflict(format!(
                    "bootstrap job {id} passed its commit point: it is writing the runtime \
                     and will finish"
                )));
            }
            job.cancel.store(true, Ordering::SeqCst);
        }
        JobState::Parsing => {
            job.cancel.store(true, Ordering::SeqCst);
            job.progress.cancel();
        }
        _ => {
            job.cancel.store(true, Ordering::SeqCst);
            job.wake.notify_waiters();
            if !job.uploading.load(Ordering::SeqCst) {
                let origin = who.origin();
                job.finish(Err((JobState::Cancelled, cancelled_problem())), |o| {
                    publish(&app, o, &origin)
                });
            }
        }
    }
    Ok((StatusCode::ACCEPTED, Json(job.out())))
}

/// End the job with `p` (state `s`), announce it, and answer `p`.
fn fail(app: &AppState, job: &Job, origin: &str, s: JobState, p: Problem) -> Problem {
    job.finish(Err((s, p.clone())), |o| publish(app, o, origin));
    p
}

/// The file of a job, as the raw request body (streamed to disk); 202 once it is in, and the
/// job goes on to parse and bootstrap it.
#[utoipa::path(put, path = "/api/v1/bootstrap/{job}/file", tag = "bootstrap",
    params(("job" = String, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The embeddings file: word2vec/GloVe/fastText text or word2vec binary"),
    responses((status = 202, body = JobOut), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already uploaded, or cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than max_upload or the announced size", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])), extensions(("x-required-role" = json!("admin"))))]
pub async fn upload(
    State(app): State<AppState>,
    Extension(jobs): Extension<Arc<Jobs>>,
    who: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> ApiResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let job = job_of(&jobs, &id)?;
    let origin = who.origin();
    if job.state() != JobState::Uploading {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "not-uploading",
            format!(
                "bootstrap job {id} is {}: it takes no file now",
                state_name(job.state())
            ),
        ));
    }
    if job.uploading.swap(true, Ordering::SeqCst) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "not-uploading",
            format!("the file of bootstrap job {id} is already being uploaded"),
        ));
    }
    let limit = app
        .config
        .max_upload
        .min(job.options.size.unwrap_or(u64::MAX));
    let too_large = |n: u64| {
        let mut p = Problem::too_large(format!(
            "the file is larger ({n} bytes or more) than the {limit} bytes this job accepts"
        ));
        p.limit = Some(limit as f64);
        p
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = announced.filter(|n| *n > limit) {
        return Err(fail(&app, &job, &origin, JobState::Failed, too_large(n)));
    }
    let (tmp, file) = match TempFile::create(&job.id) {
        Ok(f) => f,
        Err(_) => {
            return Err(fail(
                &app,
                &job,
                &origin,
                JobState::Failed,
                Problem::internal(),
            ))
        }
    };
    // If the connection goes away the handler is dropped mid-upload: the guard then ends
    // the job, so that it does not stay `uploading` and block the next one.
    let mut guard = UploadGuard {
        app: app.clone(),
        job: job.clone(),
        origin: origin.clone(),
        armed: true,
    };
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let writer = tokio::task::spawn_blocking(move || write_chunks(file, rx));
    let mut stream = body.into_data_stream();
    let mut n = 0u64;
    let got: Result<(), (JobState, Problem)> = loop {
        if job.cancelled() {
            break Err((JobState::Cancelled, cancelled_problem()));
        }
        let next = tokio::select! {
            next = stream.next() => next,
            _ = job.wake.notified() => continue,
        };
        match next {
            None => break Ok(()),
            Some(Err(_)) => {
                break Err((
                    JobState::Cancelled,
                    Problem::bad_request("the upload was interrupted before the file was complete"),
                ))
            }
            Some(Ok(b)) => {
                n += b.len() as u64;
                if n > limit {
                    break Err((JobState::Failed, too_large(n)));
                }
                job.received.store(n, Ordering::Relaxed);
                if tx.send(b).await.is_err() {
                    break Err((JobState::Failed, Problem::internal()));
                }
            }
        }
    };
    drop(tx);
    let written = writer.await;
    guard.armed = false;
    job.uploading.store(false, Ordering::SeqCst);
    if let Err((s, p)) = got {
        return Err(fail(&app, &job, &origin, s, p));
    }
    if !matches!(written, Ok(Ok(w)) if w == n) {
        return Err(fail(
            &app,
            &job,
            &origin,
            JobState::Failed,
            Problem::internal(),
        ));
    }
    if n == 0 {
        let p = Problem::invalid("file", "the file is empty");
        return Err(fail(&app, &job, &origin, JobState::Failed, p));
    }
    let path = tmp.path().to_path_buf();
    job.keep_file(tmp);
    if !job.set_state(JobState::Parsing) {
        return Err(cancelled_problem());
    }
    announce(&app, &job, &origin);
    start(app, job.clone(), path, origin);
    Ok((StatusCode::ACCEPTED, Json(job.out())))
}

/// Ends a job whose upload handler was dropped before it finished (the client went away).
struct UploadGuard {
    app: AppState,
    job: Arc<Job>,
    origin: String,
    armed: bool,
}

impl Drop for UploadGuard {
    fn drop(&mut self) {
        if self.armed {
            self.job.uploading.store(false, Ordering::SeqCst);
            self.job.cancel.store(true, Ordering::SeqCst);
            let p = Problem::bad_request("the upload was interrupted before the file was complete");
            fail(&self.app, &self.job, &self.origin, JobState::Cancelled, p);
        }
    }
}

/// Run the job on a blocking thread, and offer its progress as events while it runs.
fn start(app: AppState, job: Arc<Job>, path: std::path::PathBuf, origin: String) {
    let (a, j, o) = (app.clone(), job.clone(), origin.clone());
    tokio::task::spawn_blocking(move || {
        let moved = || announce(&a, &j, &o);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run::run(&j, &a.store, &path, &o, &moved)
        }))
        .unwrap_or_else(|_| Err((JobState::Failed, Problem::internal())));
        j.finish(r, |out| publish(&a, out, &o));
    });
    tokio::spawn(async move {
        let mut last = (JobState::Uploading, u64::MAX, u64::MAX);
        loop {
            tokio::time::sleep(PROGRESS_EVERY).await;
            let out = job.out();
            if out.state.finished() {
                break;
            }
            let now = (out.state, out.done, out.total);
            if now != last {
                last = now;
                app.bus.offer("events", "bootstrap.progress", &origin, || {
                    serde_json::json!({
                        "id": out.id, "state": out.state, "done": out.done, "total": out.total,
                        "received": out.received,
                    })
                });
            }
        }
    });
}

/// The bootstrap routes; the upload has no body limit of its own (it counts against
/// `Config::max_upload` while streaming).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/bootstrap", get(list).post(create))
        .route("/bootstrap/{job}", get(get_job).delete(cancel))
        .route(
            "/bootstrap/{job}/file",
            put(upload).layer(DefaultBodyLimit::disable()),
        )
        .layer(Extension(Arc::new(Jobs::default())))
}
