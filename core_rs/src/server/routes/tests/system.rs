//! Health, readiness and busy answers, status, events, metrics, OpenAPI, /docs, fallbacks,
//! and the real server on 127.0.0.1.

use super::*;
use crate::storage::Policy;
use serde_json::json;
use std::sync::mpsc;
use std::time::Duration;

/// Every route of the API: (method, path template).
const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/tokens/{id}"),
    ("patch", "/api/v1/tokens/{id}"),
    ("delete", "/api/v1/tokens/{id}"),
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens"),
    ("get", "/api/v1/tokens/count"),
    ("get", "/api/v1/tokens/by-label/{label}"),
    ("post", "/api/v1/tokens/batch"),
    ("post", "/api/v1/tokens/delete"),
    ("get", "/api/v1/tokens/{id}/connections"),
    ("get", "/api/v1/connections/{id}"),
    ("delete", "/api/v1/connections/{id}"),
    ("get", "/api/v1/connections"),
    ("post", "/api/v1/connections"),
    ("get", "/api/v1/connections/count"),
    ("post", "/api/v1/connections/batch"),
    ("post", "/api/v1/connections/{id}/feedback"),
    ("get", "/api/v1/grid/info"),
    ("post", "/api/v1/grid/neighbors"),
    ("post", "/api/v1/grid/neighbors/batch"),
    ("post", "/api/v1/grid/range"),
    ("post", "/api/v1/grid/influence"),
    ("post", "/api/v1/grid/density"),
    ("post", "/api/v1/grid/cross-space"),
    ("get", "/api/v1/graph/bfs"),
    ("get", "/api/v1/graph/path"),
    ("get", "/api/v1/graph/components"),
    ("post", "/api/v1/graph/subgraph"),
    ("post", "/api/v1/query"),
    ("post", "/api/v1/query/batch"),
    ("get", "/api/v1/cdna"),
    ("patch", "/api/v1/cdna"),
    ("get", "/api/v1/cdna/scales"),
    ("put", "/api/v1/cdna/scales"),
    ("get", "/api/v1/cdna/profile"),
    ("put", "/api/v1/cdna/profile"),
    ("get", "/api/v1/cdna/flags"),
    ("put", "/api/v1/cdna/flags"),
    ("post", "/api/v1/cdna/validate"),
    ("get", "/api/v1/cdna/history"),
    ("post", "/api/v1/cdna/rollback"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/ws"),
    ("get", "/api/v1/status"),
    ("get", "/health"),
    ("get", "/health/ready"),
    ("get", "/metrics"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/me"),
    ("post", "/api/v1/auth/ws-ticket"),
    ("post", "/api/v1/auth/password"),
    ("post", "/api/v1/auth/link"),
    ("get", "/login"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("patch", "/api/v1/users/{name}"),
    ("delete", "/api/v1/users/{name}"),
    ("get", "/api/v1/api-keys"),
    ("post", "/api/v1/api-keys"),
    ("delete", "/api/v1/api-keys/{id}"),
    ("post", "/api/v1/api-keys/{id}/rotate"),
    ("post", "/api/v1/jwt-keys/rotate"),
    ("get", "/api/v1/audit"),
    ("post", "/api/v1/bootstrap"),
    ("get", "/api/v1/bootstrap"),
    ("get", "/api/v1/bootstrap/{job}"),
    ("delete", "/api/v1/bootstrap/{job}"),
    ("put", "/api/v1/bootstrap/{job}/file"),
    ("get", "/api/v1/tokens/{id}"),
];

#[tokio::test]
async fn openapi_lists_every_route_with_its_role_and_problems() {
    let (app, st) = app();
    let anon = send(
        &app,
        Request::get("/api/v1/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(anon.status, StatusCode::OK, "public");
    let doc = anon.body;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    for (method, path) in ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing"
        );
    }
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((method.clone(), path.clone()));
            let role = op["x-required-role"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no role"));
            assert!(["public", "readonly", "user", "admin"].contains(&role));
            let responses = op["responses"].as_object().unwrap();
            for (code, r) in responses {
                assert!(
                    r["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{method} {path} {code}"
                );
                if let Some(c) = r["content"].as_object() {
                    assert!(
                        !(c.contains_key("application/json")
                            && c["application/json"]["schema"]["$ref"]
                                == "#/components/schemas/Problem"),
                        "{method} {path} {code}: a Problem is problem+json"
                    );
                }
            }
            for code in ["422", "429", "503"] {
                assert!(responses.contains_key(code), "{method} {path}: no {code}");
            }
            let problem = &responses["422"]["content"]["application/problem+json"];
            assert!(
                problem.is_object(),
                "{method} {path}: 422 is not problem+json"
            );
            if role != "public" {
                assert!(responses.contains_key("401") && responses.contains_key("403"));
                assert!(op["security"].is_array(), "{method} {path}");
            }
        }
    }
    assert!(ops.len() >= ROUTES.len() - 1);
    // Every documented operation is routed at that method (none answers 405, or the
    // router's own 404).
    for (method, path) in &ops {
        let uri = path
            .replace("{id}", "1")
            .replace("{label}", "x")
            .replace("{name}", "x")
            .replace("{job}", "x");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let a = call(&app, &st, m, &uri, None, &[]).await;
        assert!(
            a.status != StatusCode::METHOD_NOT_ALLOWED
                && !(a.status == StatusCode::NOT_FOUND && a.body["detail"] == "no such route"),
            "{method} {uri}: {}",
            a.status
        );
    }
    let docs = send(&app, Request::get("/docs/").body(Body::empty()).unwrap()).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(
        docs.body.as_str().unwrap().contains("swagger"),
        "served from bundled assets"
    );
    let ui = send(
        &app,
        Request::get("/docs/swagger-ui.css")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(ui.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_methods_and_credentials_are_problems() {
    let (app, st) = app();
    get(&app, &st, "/api/v1/nothing").await.problem(404);
    call(&app, &st, Method::PUT, "/api/v1/tokens/count", None, &[])
        .await
        .problem(405);
    let anon = send(
        &app,
        Request::get("/api/v1/tokens/1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    anon.problem(401);
    let health = send(&app, Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(health.body, json!({"status": "ok"}));
    let ready = send(
        &app,
        Request::get("/health/ready").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(ready.body, json!({"status": "ready"}));
}

#[tokio::test]
async fn status_events_and_metrics() {
    let (app, st) = app();
    make_tokens(&app, &st, 3).await;
    post(&app, &st, "/api/v1/tokens", json!({"weight": 9.0}))
        .await
        .problem(422);
    get(&app, &st, "/api/v1/tokens/1").await;
    get(&app, &st, "/api/v1/tokens/2").await;
    get(&app, &st, "/api/v1/tokens/999").await;

    let s = get(&app, &st, "/api/v1/status").await;
    assert_eq!(s.body["tokens"], 3);
    assert_eq!(s.body["connections"], 0);
    assert_eq!(s.body["bootstrap"], false);
    assert!(s.body["http"]["requests_total"].as_u64().unwrap() >= 5);
    assert_eq!(s.body["http"]["in_flight"], 1, "this request");

    let e = get(&app, &st, "/api/v1/events?last=2").await;
    let e = e.body.as_array().unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(e[1]["accepted"], false);
    assert!(e[1]["reason"].as_str().unwrap().contains("weight"));
    let over = get(&app, &st, "/api/v1/events?last=10001").await;
    assert_eq!(over.problem(422)["field"], "last");

    let m = get(&app, &st, "/metrics").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = m.body.as_str().unwrap();
    assert!(text.contains("neurograph_tokens 3"));
    assert!(text.contains(
        "neurograph_http_requests_total{route=\"/api/v1/tokens/{id}\",method=\"GET\",status=\"2xx\"} 2"
    ), "{text}");
    assert!(text.contains(
        "neurograph_http_requests_total{route=\"/api/v1/tokens/{id}\",method=\"GET\",status=\"4xx\"} 1"
    ));
    assert!(text.contains(
        "neurograph_http_request_duration_seconds_count{route=\"/api/v1/tokens\",method=\"POST\",status=\"4xx\"} 1"
    ));
    assert!(text.contains("le=\"+Inf\""));
}

#[tokio::test]
async fn a_long_write_makes_short_requests_busy_not_blocked() {
    let config = Config {
        busy_wait: Duration::from_millis(5),
        ..Config::default()
    };
    let (app, st) = app_with(RuntimeStorage::new(), config);
    make_tokens(&app, &st, 2).await;
    let (held_tx, held_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let store = st.store.clone();
    let writer = std::thread::spawn(move || {
        store.change_cdna("a long write", Policy::Refuse, |_| {
            held_tx.send(()).ok();
            go_rx.recv().ok();
            Ok(())
        })
    });
    held_rx.recv().unwrap();
    let g = get(&app, &st, "/api/v1/tokens/1").await;
    assert_eq!(g.problem(503)["type"], "/problems/busy");
    assert_eq!(g.headers[header::RETRY_AFTER], "1");
    post(&app, &st, "/api/v1/tokens", json!({}))
        .await
        .problem(503);
    let ready = send(
        &app,
        Request::get("/health/ready").body(Body::empty()).unwrap(),
    )
    .await;
    ready.problem(503);
    let live = send(&app, Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(
        live.status,
        StatusCode::OK,
        "liveness does not wait for the store"
    );
    go_tx.send(()).unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(
        get(&app, &st, "/api/v1/tokens/1").await.status,
        StatusCode::OK
    );
}

/// The default config without rate limits (tests that poll or sweep many requests).
fn unlimited() -> Config {
    let lots = (1e9, 1e9);
    Config {
        rate_limits: crate::server::RateLimits {
            readonly: lots,
            user: lots,
            admin: lots,
            per_ip: lots,
            ..Default::default()
        },
        ..Config::default()
    }
}

/// One HTTP/1.1 request on a fresh connection; the status line and the body.
fn http(addr: std::net::SocketAddr, req: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

#[test]
fn the_real_server_answers_on_loopback_and_stops() {
    let mut srv = crate::server::start(Arc::new(RuntimeStorage::new()), unlimited()).unwrap();
    let addr = srv.addr;
    assert!(addr.ip().is_loopback());
    let key = srv.state.auth.ephemeral_admin_key();
    let (line, body) = http(
        addr,
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert!(line.contains("200"), "{line}");
    assert!(body.contains("ok"));
    let req = format!(
        "POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{{\"weight\": 0.5}}"
    );
    let (line, body) = http(addr, &req);
    assert!(line.contains("201"), "{line} {body}");
    let (line, _) = http(
        addr,
        "GET /api/v1/tokens/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert!(line.contains("401"), "{line}");
    assert_eq!(srv.state.store.token_count(), 1);

    // A kept-alive connection counts as open until the client closes it.
    let open = |srv: &crate::server::ServerHandle| {
        let req = format!(
            "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\
             Connection: close\r\n\r\n"
        );
        let (_, body) = http(srv.addr, &req);
        let v: Value = serde_json::from_str(&body).unwrap();
        v["http"]["open_connections"].as_u64().unwrap()
    };
    // Connections closed earlier are uncounted once the server has dropped them.
    let wait_for = |n: u64, what: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while open(&srv) != n {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::yield_now();
        }
    };
    wait_for(1, "closed connections are still counted");
    let mut kept = std::net::TcpStream::connect(addr).unwrap();
    {
        use std::io::{BufRead, BufReader, Write};
        kept.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        let mut r = BufReader::new(&kept);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(line.contains("200"), "{line}");
    }
    wait_for(2, "the kept-alive connection is not counted");
    drop(kept);
    wait_for(1, "the closed connection is still counted");
    srv.stop();
    assert!(!srv.is_running());
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the port is closed"
    );
}

/// A request as `role` (a principal the auth layer resolved, put where the extractor finds it).
async fn as_role(app: &Router, role: crate::server::auth::Role, method: &str, uri: &str) -> Answer {
    let who = crate::server::auth::Principal {
        name: format!("{}-tester", role.as_str()),
        role,
        key_id: None,
    };
    let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut req = Request::builder()
        .method(m)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    req.extensions_mut().insert(who);
    send(app, req).await
}

#[tokio::test]
async fn each_route_enforces_the_role_its_document_names() {
    use crate::server::auth::Role;
    let (app, _) = app_with(RuntimeStorage::new(), unlimited());
    let doc = send(
        &app,
        Request::get("/api/v1/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .body;
    for (method, path) in ROUTES {
        let needed = doc["paths"][path][method]["x-required-role"]
            .as_str()
            .unwrap();
        if needed == "public" {
            continue;
        }
        let needed = Role::parse(needed).unwrap();
        let uri = path
            .replace("{id}", "1")
            .replace("{label}", "x")
            .replace("{job}", "x");
        for role in [Role::Readonly, Role::User, Role::Admin] {
            let a = as_role(&app, role, method, &uri).await;
            if role < needed {
                assert_eq!(
                    a.problem(403)["type"],
                    "/problems/forbidden",
                    "{method} {uri} as {role:?}"
                );
            } else {
                assert_ne!(
                    a.status,
                    StatusCode::FORBIDDEN,
                    "{method} {uri} as {role:?}: {}",
                    a.body
                );
            }
        }
    }
}

#[tokio::test]
#[ignore = "writes the OpenAPI document to $NG_OPENAPI_OUT for inspection"]
async fn dump_openapi() {
    let (app, _) = app();
    let doc = send(
        &app,
        Request::get("/api/v1/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let out = std::env::var("NG_OPENAPI_OUT").unwrap_or_else(|_| "openapi.json".into());
    std::fs::write(out, serde_json::to_string_pretty(&doc.body).unwrap()).unwrap();
}
