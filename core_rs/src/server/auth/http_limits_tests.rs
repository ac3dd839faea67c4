//! HTTP tests of rate limits, trusted proxies, the Host check, panics and a real server.

use super::http_tests::{app, is_problem};
use crate::server::auth::{PasswordCost, Role};
use crate::server::{AppState, Config, RateLimits};
use crate::storage::RuntimeStorage;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

fn small_limits(c: &mut Config) {
    c.rate_limits = RateLimits {
        readonly: (1.0, 3.0),
        user: (1.0, 3.0),
        admin: (1.0, 3.0),
        per_ip: (1.0, 2.0),
        login_per_minute: 5.0,
    };
}

#[tokio::test]
async fn rate_limit_429_then_recovery_when_the_bucket_refills() {
    let a = app(small_limits);
    let ro = a.key("gina", Role::Readonly);
    for _ in 0..3 {
        let r = a
            .call(Method::GET, "/api/v1/auth/me", Some(&ro), None)
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.headers.contains_key("ratelimit-remaining"));
    }
    let r = a
        .call(Method::GET, "/api/v1/auth/me", Some(&ro), None)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(is_problem(&r));
    assert_eq!(r.headers[header::RETRY_AFTER], "1");
    // Another principal has its own bucket.
    let admin = a.admin();
    assert_eq!(
        a.call(Method::GET, "/api/v1/auth/me", Some(&admin), None)
            .await
            .status,
        StatusCode::OK
    );
    a.clock.advance(1.0);
    assert_eq!(
        a.call(Method::GET, "/api/v1/auth/me", Some(&ro), None)
            .await
            .status,
        StatusCode::OK
    );
    // OPTIONS is never limited.
    for _ in 0..10 {
        let r = a
            .call(Method::OPTIONS, "/api/v1/auth/me", Some(&ro), None)
            .await;
        assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS);
    }
}

fn from_peer(uri: &str, peer: &str, xff: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .uri(uri)
        .header(header::HOST, "localhost");
    if let Some(x) = xff {
        b = b.header("x-forwarded-for", x);
    }
    let mut req = b.body(Body::empty()).unwrap();
    let addr: SocketAddr = format!("{peer}:5000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

#[tokio::test]
async fn forwarded_for_is_ignored_from_untrusted_peers() {
    let a = app(|c| {
        small_limits(c);
        c.trusted_proxies = vec!["10.0.0.1".parse().unwrap()];
    });
    // An untrusted peer rotating X-Forwarded-For still spends its own bucket.
    for i in 0..2 {
        let r = a
            .send(from_peer(
                "/health",
                "192.0.2.7",
                Some(&format!("1.1.1.{i}")),
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = a
        .send(from_peer("/health", "192.0.2.7", Some("1.1.1.9")))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Through the trusted proxy, each forwarded client has its own bucket.
    for i in 0..4 {
        let r = a
            .send(from_peer(
                "/health",
                "10.0.0.1",
                Some(&format!("1.1.1.{i}")),
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "client {i}");
    }
    for _ in 0..2 {
        a.send(from_peer("/health", "10.0.0.1", Some("2.2.2.2, 10.0.0.1")))
            .await;
    }
    let r = a
        .send(from_peer("/health", "10.0.0.1", Some("2.2.2.2")))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn host_header_is_checked_first() {
    let a = app(|c| c.allowed_hosts = vec!["lab.example".into()]);
    for (host, ok) in [
        ("127.0.0.1:1", true),
        ("localhost", true),
        ("[::1]:9", true),
        ("lab.example:80", true),
        ("evil.example", false),
        ("127.0.0.1.evil.example", false),
    ] {
        let req = Request::builder()
            .uri("/health")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap();
        let r = a.send(req).await;
        assert_eq!(r.status.is_success(), ok, "{host}: {}", r.status);
        if !ok {
            assert_eq!(r.status, StatusCode::MISDIRECTED_REQUEST);
            assert!(is_problem(&r));
        }
        assert!(r.headers.contains_key("x-request-id"));
        if ok {
            assert_eq!(r.headers["x-content-type-options"], "nosniff");
            assert!(r.headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'self'"));
        }
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_500_problem() {
    let a = app(|_| {});
    let r: Router<AppState> = Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            if true {
                panic!("boom");
            }
        }),
    );
    let router = crate::server::security::layer(r, &a.state).with_state(a.state.clone());
    let res = router
        .oneshot(Request::builder().uri("/boom").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let b = axum::body::to_bytes(res.into_body(), 4096).await.unwrap();
    assert!(!String::from_utf8_lossy(&b).contains("boom"));
}

/// One HTTP/1.1 request over a fresh connection; returns (status, headers text, body).
fn raw(addr: SocketAddr, req: &str) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

#[test]
fn real_server_login_link_cookie_and_host_check() {
    let tmp = tempfile::tempdir().unwrap();
    let c = Config {
        state_dir: Some(tmp.path().join("state")),
        password_cost: PasswordCost::minimum(),
        ..Config::default()
    };
    let mut h = crate::server::start(Arc::new(RuntimeStorage::new()), c).unwrap();
    let addr = h.addr;
    let link = h.state.auth.login_link().unwrap();
    let host = format!("127.0.0.1:{}", addr.port());
    let (st, head, _) = raw(
        addr,
        &format!("GET /login?token={link} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(st, 303, "{head}");
    let cookie = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| l[11..].trim().to_string())
        })
        .unwrap();
    let cookie = cookie.split(';').next().unwrap();
    let (st, _, body) = raw(addr, &format!("GET /api/v1/auth/me HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"));
    assert_eq!(st, 200);
    assert!(body.contains("\"admin\""), "{body}");
    let (st, _, _) = raw(
        addr,
        &format!("GET /login?token={link} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(st, 401);
    let (st, _, body) = raw(
        addr,
        "GET /health HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(st, 421, "{body}");
    // The peer address reached the audit log.
    let e = h.state.audit.read(0, 10, &Default::default());
    assert!(e
        .iter()
        .any(|e| e.route == "/login" && e.ip.as_deref() == Some("127.0.0.1")));
    h.stop();
    assert!(std::net::TcpStream::connect(addr).is_err());
}
