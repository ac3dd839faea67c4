//! `/api/v1/bootstrap...`: upload, parse, bootstrap, report, events, limits and cancel.

use super::*;
use crate::progress::Pause;
use crate::server::events::{Replay, ALL_CHANNELS};
use crate::server::jobs::run::{resume_paused, PAUSE_NEXT};
use serde_json::json;
use std::time::{Duration, Instant};

/// The pause hook is global: the tests of this file run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `n` words of `dim` dimensions in word2vec text format (with the header), deterministic.
fn vec_text(n: usize, dim: usize) -> Vec<u8> {
    let mut s = format!("{n} {dim}\n");
    let mut x: u32 = 12345;
    for i in 0..n {
        s.push_str(&format!("w{i}"));
        for _ in 0..dim {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            s.push_str(&format!(
                " {:.4}",
                (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            ));
        }
        s.push('\n');
    }
    s.into_bytes()
}

/// The same words in word2vec binary format.
fn vec_bin(n: usize, dim: usize) -> Vec<u8> {
    let text = String::from_utf8(vec_text(n, dim)).unwrap();
    let mut out = format!("{n} {dim}\n").into_bytes();
    for line in text.lines().skip(1) {
        let mut parts = line.split(' ');
        out.extend_from_slice(parts.next().unwrap().as_bytes());
        out.push(b' ');
        for v in parts {
            out.extend_from_slice(&v.parse::<f32>().unwrap().to_le_bytes());
        }
        out.push(b'\n');
    }
    out
}

async fn create(app: &Router, st: &AppState, body: Value) -> String {
    let a = post(app, st, "/api/v1/bootstrap", body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["state"], "uploading");
    let id = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        a.headers[header::LOCATION],
        format!("/api/v1/bootstrap/{id}")
    );
    id
}

async fn put_file(app: &Router, st: &AppState, id: &str, bytes: Vec<u8>) -> Answer {
    let key = st.auth.ephemeral_admin_key();
    let req = Request::put(format!("/api/v1/bootstrap/{id}/file"))
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(bytes))
        .unwrap();
    send(app, req).await
}

/// GET the job until `done` holds (generous timeout: a condition, not a timing).
async fn wait_for(app: &Router, st: &AppState, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let t = Instant::now();
    loop {
        let a = get(app, st, &format!("/api/v1/bootstrap/{id}")).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        if done(&a.body) {
            return a.body;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "job stuck: {}",
            a.body
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn finished(j: &Value) -> bool {
    ["done", "failed", "cancelled"].contains(&j["state"].as_str().unwrap())
}

fn leftover_files(id: &str) -> usize {
    let prefix = format!("ng-bootstrap-{}-{id}-", std::process::id());
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        })
        .count()
}

fn event_texts(st: &AppState) -> Vec<String> {
    match st.bus.replay(0, st.bus.seq(), ALL_CHANNELS) {
        Replay::Events(v) => v.iter().map(|e| e.text.as_str().to_string()).collect(),
        Replay::Gap => panic!("ring lost events"),
    }
}

#[tokio::test]
async fn an_uploaded_text_file_is_bootstrapped_with_its_report_and_events() {
    let _one = SERIAL.lock().await;
    let (app, st) = app();
    let file = vec_text(30, 12);
    let id = create(
        &app,
        &st,
        json!({"name": "animals.vec", "size": file.len(), "k": 3}),
    )
    .await;
    let a = put_file(&app, &st, &id, file.clone()).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    assert_eq!(a.body["received"], file.len());
    let j = wait_for(&app, &st, &id, finished).await;
    assert_eq!(j["state"], "done", "{j}");
    let r = &j["report"];
    assert_eq!(r["words"], 30);
    assert_eq!(r["dim"], 12);
    assert_eq!(
        r["spaces"],
        json!(["abstract", "cognitive", "temporal", "social"])
    );
    assert_eq!(r["explained_variance_ratio"].as_array().unwrap().len(), 12);
    assert!(r["connections"].as_u64().unwrap() > 0);
    assert_eq!(j["committed"], true);
    assert!(j["finished"].as_f64().unwrap() >= j["created"].as_f64().unwrap());
    // the runtime holds the words
    let s = get(&app, &st, "/api/v1/status").await;
    assert_eq!(s.body["bootstrap"], true, "{}", s.body);
    assert_eq!(st.store.bootstrap_info().unwrap().words, 30);
    // the list shows it, the file is gone, the states were announced
    let l = get(&app, &st, "/api/v1/bootstrap").await;
    assert_eq!(l.body[0]["id"], id.as_str());
    assert_eq!(leftover_files(&id), 0);
    let ev: Vec<String> = event_texts(&st)
        .into_iter()
        .filter(|t| t.contains("bootstrap.state"))
        .collect();
    for state in ["uploading", "parsing", "bootstrapping", "done"] {
        assert!(
            ev.iter()
                .any(|t| t.contains(&format!("\"state\":\"{state}\""))),
            "no {state} event in {ev:?}"
        );
    }
    // a second bootstrap without replace is refused with the core's reason, runtime kept
    let id2 = create(&app, &st, json!({"name": "again.vec"})).await;
    put_file(&app, &st, &id2, vec_text(10, 6)).await;
    let j2 = wait_for(&app, &st, &id2, finished).await;
    assert_eq!(j2["state"], "failed");
    assert!(
        j2["error"]["detail"].as_str().unwrap().contains("replace"),
        "{j2}"
    );
    assert_eq!(st.store.bootstrap_info().unwrap().words, 30);
}

#[tokio::test]
async fn a_word2vec_binary_file_is_read_by_its_name() {
    let _one = SERIAL.lock().await;
    let (app, st) = app();
    let id = create(
        &app,
        &st,
        json!({"name": "words.bin", "spaces": ["cognitive"]}),
    )
    .await;
    let a = put_file(&app, &st, &id, vec_bin(20, 6)).await;
    assert_eq!(a.body["format"], "word2vec-bin");
    let j = wait_for(&app, &st, &id, finished).await;
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(j["report"]["words"], 20);
    assert_eq!(j["report"]["spaces"], json!(["cognitive"]));
}

#[tokio::test]
async fn a_bad_line_fails_the_job_naming_the_file_and_line_or_is_skipped() {
    let _one = SERIAL.lock().await;
    let (app, st) = app();
    let mut file = vec_text(12, 6);
    file.extend_from_slice(b"broken 1.0 oops 2\n");
    let id = create(&app, &st, json!({"name": "bad.vec"})).await;
    put_file(&app, &st, &id, file.clone()).await;
    let j = wait_for(&app, &st, &id, finished).await;
    assert_eq!(j["state"], "failed");
    let e = &j["error"];
    assert_eq!(e["status"], 422);
    assert_eq!(e["field"], "file");
    let detail = e["detail"].as_str().unwrap();
    assert!(detail.starts_with("bad.vec: line 14"), "{detail}");
    assert!(detail.contains("\"skip\""), "{detail}");
    let tmp = std::env::temp_dir().display().to_string();
    assert!(!detail.contains(&tmp), "leaks the server path: {detail}");
    assert!(st.store.bootstrap_info().is_none());
    // skipping bad lines: done, one skipped
    let id = create(&app, &st, json!({"name": "bad.vec", "errors": "skip"})).await;
    put_file(&app, &st, &id, file).await;
    let j = wait_for(&app, &st, &id, finished).await;
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(j["report"]["skipped"], 1);
    assert_eq!(j["report"]["words"], 12);
}

#[tokio::test]
async fn options_and_sizes_are_checked() {
    let _one = SERIAL.lock().await;
    let (app, st) = app_with(
        RuntimeStorage::new(),
        Config {
            max_upload: 1000,
            ..Config::default()
        },
    );
    for (body, field) in [
        (json!({"errors": "ignore"}), "errors"),
        (json!({"k": 5000}), "k"),
        (json!({"spaces": ["nowhere"]}), "spaces"),
        (json!({"spaces": []}), "spaces"),
        (json!({"format": "csv"}), "format"),
        (json!({"max_words": 0}), "max_words"),
        (json!({"bogus": 1}), "bogus"),
    ] {
        let a = post(&app, &st, "/api/v1/bootstrap", body.clone()).await;
        let p = a.problem(422);
        assert!(p["field"].as_str().unwrap().contains(field), "{body}: {p}");
    }
    let a = post(&app, &st, "/api/v1/bootstrap", json!({"size": 5000})).await;
    assert_eq!(a.problem(413)["limit"], 1000.0);
    // more than announced: 413, the job failed, nothing kept
    let id = create(&app, &st, json!({"size": 50})).await;
    let a = put_file(&app, &st, &id, vec![b'a'; 100]).await;
    a.problem(413);
    let j = get(&app, &st, &format!("/api/v1/bootstrap/{id}")).await;
    assert_eq!(j.body["state"], "failed");
    assert_eq!(leftover_files(&id), 0);
    // more than the server takes, without a size
    let id = create(&app, &st, json!({})).await;
    put_file(&app, &st, &id, vec![b'a'; 2000])
        .await
        .problem(413);
    // an empty file; a file for a finished job; an unknown job
    let id = create(&app, &st, json!({})).await;
    assert_eq!(
        put_file(&app, &st, &id, Vec::new()).await.problem(422)["field"],
        "file"
    );
    put_file(&app, &st, &id, vec![b'a'; 10]).await.problem(409);
    put_file(&app, &st, "nope", vec![b'a'; 10])
        .await
        .problem(404);
    get(&app, &st, "/api/v1/bootstrap/nope").await.problem(404);
}

#[tokio::test]
async fn one_job_at_a_time_and_a_waiting_one_can_be_cancelled() {
    let _one = SERIAL.lock().await;
    let (app, st) = app();
    let id = create(&app, &st, json!({})).await;
    let a = post(&app, &st, "/api/v1/bootstrap", json!({})).await;
    assert_eq!(a.problem(409)["type"], "/problems/bootstrap-running");
    assert!(a.body["detail"].as_str().unwrap().contains(&id));
    let d = call(
        &app,
        &st,
        Method::DELETE,
        &format!("/api/v1/bootstrap/{id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(d.status, StatusCode::ACCEPTED, "{}", d.body);
    assert_eq!(d.body["state"], "cancelled");
    let again = call(
        &app,
        &st,
        Method::DELETE,
        &format!("/api/v1/bootstrap/{id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(again.problem(409)["type"], "/problems/not-cancellable");
    create(&app, &st, json!({})).await;
}

#[tokio::test]
async fn a_cancel_stops_a_streaming_upload() {
    let _one = SERIAL.lock().await;
    let (app, st) = app();
    let id = create(&app, &st, json!({"name": "slow.vec"})).await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let key = st.auth.ephemeral_admin_key();
    let req = Request::put(format!("/api/v1/bootstrap/{id}/file"))
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::from_stream(stream))
        .unwrap();
    let app2 = app.clone();
    let upload = tokio::spawn(async move { send(&app2, req).await });
    tx.send(Ok(vec_text(10, 6))).await.unwrap();
    wait_for(&app, &st, &id, |j| j["received"].as_u64().unwrap() > 0).await;
    let d = call(
        &app,
        &st,
        Method::DELETE,
        &format!("/api/v1/bootstrap/{id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(d.status, StatusCode::ACCEPTED, "{}", d.body);
    // the upload answers at once although the client still holds its body open
    let a = upload.await.unwrap();
    assert_eq!(a.problem(409)["type"], "/problems/cancelled");
    let j = wait_for(&app, &st, &id, finished).await;
    assert_eq!(j["state"], "cancelled");
    assert_eq!(leftover_files(&id), 0);
    drop(tx);
}

#[tokio::test]
async fn a_cancel_before_the_commit_point_leaves_the_runtime_unchanged() {
    let _one = SERIAL.lock().await;
    let (app, st) = app();
    make_tokens(&app, &st, 5).await;
    let id = create(&app, &st, json!({"name": "big.vec"})).await;
    *PAUSE_NEXT.lock() = Some(Pause::Units(1));
    put_file(&app, &st, &id, vec_text(40, 9)).await;
    wait_for(&app, &st, &id, |j| {
        j["state"] == "bootstrapping" && j["done"].as_u64().unwrap() >= 1
    })
    .await;
    let d = call(
        &app,
        &st,
        Method::DELETE,
        &format!("/api/v1/bootstrap/{id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(d.status, StatusCode::ACCEPTED, "{}", d.body);
    let j = wait_for(&app, &st, &id, finished).await;
    assert_eq!(j["state"], "cancelled", "{j}");
    assert!(j["error"]["detail"].as_str().unwrap().contains("unchanged"));
    assert!(st.store.bootstrap_info().is_none());
    assert_eq!(st.store.token_count(), 5);
    resume_paused();
}

#[tokio::test]
async fn past_the_commit_point_a_cancel_is_refused_and_the_job_finishes() {
    let _one = SERIAL.lock().await;
    let (app, st) = app();
    let id = create(&app, &st, json!({})).await;
    *PAUSE_NEXT.lock() = Some(Pause::Commit);
    put_file(&app, &st, &id, vec_text(40, 9)).await;
    wait_for(&app, &st, &id, |j| j["committed"] == true).await;
    let d = call(
        &app,
        &st,
        Method::DELETE,
        &format!("/api/v1/bootstrap/{id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(d.problem(409)["type"], "/problems/not-cancellable");
    assert!(d.body["detail"].as_str().unwrap().contains("commit point"));
    assert!(resume_paused());
    let j = wait_for(&app, &st, &id, finished).await;
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(st.store.bootstrap_info().unwrap().words, 40);
}

#[tokio::test]
async fn a_client_that_goes_away_mid_upload_ends_its_job() {
    let _one = SERIAL.lock().await;
    let (app, st) = app();
    let id = create(&app, &st, json!({"name": "gone.vec"})).await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let key = st.auth.ephemeral_admin_key();
    let req = Request::put(format!("/api/v1/bootstrap/{id}/file"))
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::from_stream(stream))
        .unwrap();
    let app2 = app.clone();
    let upload = tokio::spawn(async move { send(&app2, req).await });
    tx.send(Ok(vec_text(10, 6))).await.unwrap();
    wait_for(&app, &st, &id, |j| j["received"].as_u64().unwrap() > 0).await;
    // the connection is gone: the server drops the request's handler
    upload.abort();
    let j = wait_for(&app, &st, &id, finished).await;
    assert_eq!(j["state"], "cancelled");
    assert!(j["error"]["detail"]
        .as_str()
        .unwrap()
        .contains("interrupted"));
    assert_eq!(leftover_files(&id), 0);
    // the next job is not blocked
    create(&app, &st, json!({})).await;
}
