//! HTTP tests of auth, roles, limits, audit and the security layers: the real router through
//! `tower::ServiceExt::oneshot`, and a real `start()` on 127.0.0.1:0 where the socket matters.

use crate::server::auth::{PasswordCost, Role};
use crate::server::clock::{Clock, ManualClock};
use crate::server::{app_state, routes, AppState, Config};
use crate::storage::RuntimeStorage;
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

pub(super) struct App {
    pub state: AppState,
    pub router: Router,
    pub clock: ManualClock,
    _tmp: tempfile::TempDir,
}

pub(super) fn app(f: impl FnOnce(&mut Config)) -> App {
    let tmp = tempfile::tempdir().unwrap();
    let (clock, hand) = Clock::manual(1_700_000_000.0);
    let mut c = Config {
        state_dir: Some(tmp.path().join("state")),
        password_cost: PasswordCost::minimum(),
        clock,
        ..Config::default()
    };
    f(&mut c);
    let state = app_state(Arc::new(RuntimeStorage::new()), c).unwrap();
    App {
        router: routes::router(state.clone()),
        state,
        clock: hand,
        _tmp: tmp,
    }
}

pub(super) struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl App {
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let r = self.router.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            json,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "127.0.0.1:8765");
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    pub fn admin(&self) -> String {
        self.state.auth.ephemeral_admin_key()
    }

    pub fn key(&self, name: &str, role: Role) -> String {
        if !self.state.auth.list_users().iter().any(|u| u.name == name) {
            self.state.auth.add_user(name, role, None).unwrap();
        }
        self.state.auth.create_key(name, role, None).unwrap().1
    }
}

pub(super) fn is_problem(r: &Resp) -> bool {
    r.headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        == Some("application/problem+json")
        && r.json["status"].as_u64() == Some(r.status.as_u16() as u64)
}

#[tokio::test]
async fn each_role_class_gets_401_403_or_200() {
    let a = app(|_| {});
    let ro = a.key("reader", Role::Readonly);
    let user = a.key("writer", Role::User);
    let admin = a.admin();
    // No or bad credentials: 401 problem with WWW-Authenticate.
    for t in [None, Some("ngk_0000000000000000_x"), Some("not.a.jwt")] {
        let r = a.call(Method::GET, "/api/v1/auth/me", t, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(is_problem(&r), "{:?}", r.json);
        assert!(r.headers.contains_key(header::WWW_AUTHENTICATE));
    }
    // Readonly: may read, may not administer.
    let r = a
        .call(Method::GET, "/api/v1/auth/me", Some(&ro), None)
        .await;
    assert_eq!(
        (r.status, r.json["role"].as_str()),
        (StatusCode::OK, Some("readonly"))
    );
    for (m, uri) in [
        (Method::GET, "/api/v1/users"),
        (Method::GET, "/api/v1/audit"),
        (Method::GET, "/api/v1/api-keys"),
    ] {
        assert_eq!(
            a.call(m.clone(), uri, Some(&ro), None).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            a.call(m.clone(), uri, Some(&user), None).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            a.call(m, uri, Some(&admin), None).await.status,
            StatusCode::OK
        );
    }
    let body = json!({"name": "carol", "role": "user", "password": "correct horse"});
    let r = a
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&user),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(is_problem(&r));
    let r = a
        .call(Method::POST, "/api/v1/users", Some(&admin), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json["name"], "carol");
    assert!(r.json.get("password").is_none());
}

#[tokio::test]
async fn keys_through_http_expire_and_revoke() {
    let a = app(|_| {});
    let admin = a.admin();
    a.state.auth.add_user("dave", Role::User, None).unwrap();
    let r = a
        .call(
            Method::POST,
            "/api/v1/api-keys",
            Some(&admin),
            Some(json!({"owner": "dave", "role": "admin"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.json);
    let r = a
        .call(
            Method::POST,
            "/api/v1/api-keys",
            Some(&admin),
            Some(json!({"owner": "dave", "role": "user", "expires_in": 100})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let key = r.json["key"].as_str().unwrap().to_string();
    let id = r.json["info"]["id"].as_str().unwrap().to_string();
    let list = a
        .call(Method::GET, "/api/v1/api-keys", Some(&admin), None)
        .await;
    assert!(!list.json.to_string().contains(&key[21..]));
    assert_eq!(
        a.call(Method::GET, "/api/v1/auth/me", Some(&key), None)
            .await
            .status,
        StatusCode::OK
    );
    a.clock.advance(101.0);
    assert_eq!(
        a.call(Method::GET, "/api/v1/auth/me", Some(&key), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = a
        .call(
            Method::POST,
            "/api/v1/api-keys",
            Some(&admin),
            Some(json!({"owner": "dave", "role": "readonly"})),
        )
        .await;
    let key2 = r.json["key"].as_str().unwrap().to_string();
    let id2 = r.json["info"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        a.call(Method::GET, "/api/v1/auth/me", Some(&key2), None)
            .await
            .status,
        StatusCode::OK
    );
    let r = a
        .call(
            Method::DELETE,
            &format!("/api/v1/api-keys/{id2}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        a.call(Method::GET, "/api/v1/auth/me", Some(&key2), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = a
        .call(
            Method::DELETE,
            &format!("/api/v1/api-keys/{id2}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Rotation: a new secret, the old one stops working.
    let r = a
        .call(
            Method::POST,
            "/api/v1/api-keys",
            Some(&admin),
            Some(json!({"owner": "dave", "role": "user"})),
        )
        .await;
    let (old, old_id) = (
        r.json["key"].as_str().unwrap().to_string(),
        r.json["info"]["id"].as_str().unwrap().to_string(),
    );
    let r = a
        .call(
            Method::POST,
            &format!("/api/v1/api-keys/{old_id}/rotate"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let new = r.json["key"].as_str().unwrap();
    assert_eq!(
        a.call(Method::GET, "/api/v1/auth/me", Some(&old), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        a.call(Method::GET, "/api/v1/auth/me", Some(new), None)
            .await
            .status,
        StatusCode::OK
    );
    let _ = id;
}

#[tokio::test]
async fn login_refresh_logout_over_http() {
    let a = app(|_| {});
    a.state
        .auth
        .add_user("erin", Role::User, Some("correct horse"))
        .unwrap();
    let bad = a
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"name": "erin", "password": "nope nope"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(is_problem(&bad));
    let r = a
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"name": "erin", "password": "correct horse"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let access = r.json["access_token"].as_str().unwrap().to_string();
    let refresh = r.json["refresh_token"].as_str().unwrap().to_string();
    let me = a
        .call(Method::GET, "/api/v1/auth/me", Some(&access), None)
        .await;
    assert_eq!(me.json["name"], "erin");
    let r2 = a
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(r2.status, StatusCode::OK);
    let refresh2 = r2.json["refresh_token"].as_str().unwrap().to_string();
    // Reuse of the spent token: 401, and the family (refresh2) is revoked.
    let r3 = a
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(r3.status, StatusCode::UNAUTHORIZED);
    let r4 = a
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh2})),
        )
        .await;
    assert_eq!(r4.status, StatusCode::UNAUTHORIZED);
    // Logout.
    let r = a
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"name": "erin", "password": "correct horse"})),
        )
        .await;
    let refresh = r.json["refresh_token"].as_str().unwrap().to_string();
    let access = r.json["access_token"].as_str().unwrap().to_string();
    let out = a
        .call(
            Method::POST,
            "/api/v1/auth/logout",
            Some(&access),
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let me = a
        .call(Method::GET, "/api/v1/auth/me", Some(&access), None)
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let r = a
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Malformed body: a problem, not a plain-text rejection.
    let r = a
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"name": 3})),
        )
        .await;
    assert!(r.status.is_client_error() && is_problem(&r), "{:?}", r.json);
}

#[tokio::test]
async fn login_attempts_limited_per_ip_and_name() {
    let a = app(|_| {});
    a.state
        .auth
        .add_user("frank", Role::User, Some("correct horse"))
        .unwrap();
    let wrong = json!({"name": "frank", "password": "wrong wrong"});
    for _ in 0..5 {
        let r = a
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(wrong.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = a
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"name": "frank", "password": "correct horse"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(is_problem(&r) && r.headers.contains_key(header::RETRY_AFTER));
    a.clock.advance(60.0);
    let r = a
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"name": "frank", "password": "correct horse"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn cookie_write_with_bad_origin_is_refused() {
    let a = app(|_| {});
    let link = a.state.auth.login_link().unwrap();
    let r = a
        .call(Method::GET, &format!("/login?token={link}"), None, None)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/");
    let set = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    // The link works once.
    let again = a
        .call(Method::GET, &format!("/login?token={link}"), None, None)
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    let with_cookie = |m: Method, uri: &str, origin: Option<&str>, body: Option<Value>| {
        let mut b = Request::builder()
            .method(m)
            .uri(uri)
            .header(header::HOST, "127.0.0.1:8765")
            .header(header::COOKIE, cookie.clone())
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        b.body(Body::from(body.map(|v| v.to_string()).unwrap_or_default()))
            .unwrap()
    };
    let r = a
        .send(with_cookie(Method::GET, "/api/v1/auth/me", None, None))
        .await;
    assert_eq!(
        (r.status, r.json["name"].as_str()),
        (StatusCode::OK, Some("notebook"))
    );
    let body = json!({"name": "hank", "role": "readonly"});
    let r = a
        .send(with_cookie(
            Method::POST,
            "/api/v1/users",
            Some("http://evil.example"),
            Some(body.clone()),
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = a
        .send(with_cookie(
            Method::POST,
            "/api/v1/users",
            None,
            Some(body.clone()),
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = a
        .send(with_cookie(
            Method::POST,
            "/api/v1/users",
            Some("http://127.0.0.1:8765"),
            Some(body),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    // Logout revokes the cookie's session (a cookie POST needs its Origin too).
    let out = a
        .send(with_cookie(
            Method::POST,
            "/api/v1/auth/logout",
            Some("http://127.0.0.1:8765"),
            None,
        ))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(out.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let r = a
        .send(with_cookie(Method::GET, "/api/v1/auth/me", None, None))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn writes_are_audited_with_who_route_ids_and_status() {
    let a = app(|c| c.audit_max_bytes = 2048);
    let admin = a.admin();
    let r = a
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(json!({"name": "ivy", "role": "user"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = a
        .call(Method::DELETE, "/api/v1/users/nobody", Some(&admin), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let ro = a.key("ivy", Role::Readonly);
    let r = a
        .call(
            Method::POST,
            "/api/v1/api-keys",
            Some(&ro),
            Some(json!({"role": "readonly"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Reads are not audited.
    a.call(Method::GET, "/api/v1/users", Some(&admin), None)
        .await;
    let page = a
        .call(Method::GET, "/api/v1/audit?limit=10", Some(&admin), None)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let e = page.json["entries"].as_array().unwrap().clone();
    assert_eq!(e.len(), 3, "{e:?}");
    assert_eq!(e[0]["principal"], "notebook");
    assert_eq!(e[0]["role"], "admin");
    assert_eq!(e[0]["route"], "/api/v1/users");
    assert_eq!(e[0]["method"], "POST");
    assert_eq!(e[0]["status"], 201);
    assert_eq!(e[0]["count"], 1);
    assert!(e[0]["key_id"].is_string() && e[0]["request_id"].is_string());
    assert_eq!(e[1]["route"], "/api/v1/users/{name}");
    assert_eq!(e[1]["status"], 404);
    assert_eq!(
        (e[2]["principal"].as_str(), e[2]["status"].as_u64()),
        (Some("ivy"), Some(403))
    );
    // Paging and filters.
    let after = e[0]["seq"].as_u64().unwrap();
    let p2 = a
        .call(
            Method::GET,
            &format!("/api/v1/audit?after={after}&failed=true"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(p2.json["entries"].as_array().unwrap().len(), 2);
    let bad = a
        .call(Method::GET, "/api/v1/audit?limit=0", Some(&admin), None)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The file has the same lines, 0600, with no secret; rotation keeps it bounded.
    for i in 0..40 {
        a.call(
            Method::DELETE,
            &format!("/api/v1/users/x{i}"),
            Some(&admin),
            None,
        )
        .await;
    }
    a.state.audit.flush();
    let dir = a.state.audit.dir().to_path_buf();
    let text = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
    assert!(text
        .lines()
        .all(|l| serde_json::from_str::<Value>(l).is_ok()));
    assert!(dir.join("audit.1.jsonl").exists());
    use std::os::unix::fs::PermissionsExt;
    for f in std::fs::read_dir(&dir).unwrap() {
        let f = f.unwrap();
        assert!(f.metadata().unwrap().len() <= 2048);
        assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o600);
        let t = std::fs::read_to_string(f.path()).unwrap();
        assert!(!t.contains(&admin) && !t.contains(&ro));
    }
}

#[tokio::test]
async fn notebook_writes_are_audited_as_kernel() {
    let a = app(|_| {});
    let sinks = a.state.store.sink_count();
    let spec = crate::storage::TokenSpec {
        weight: 0.5,
        ..Default::default()
    };
    let id = a.state.store.create_token(&spec).unwrap();
    // A write made for a request is the middleware's to audit, not the sink's.
    crate::storage::events::with_origin("api:x", || a.state.store.create_token(&spec).unwrap());
    let bad = crate::storage::TokenSpec {
        weight: 5.0,
        ..Default::default()
    };
    assert!(a.state.store.create_token(&bad).is_err());
    let e = a.state.audit.read(0, 10, &Default::default());
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(e[0].principal.as_deref(), Some("kernel"));
    assert_eq!(
        (e[0].route.as_str(), e[0].ids.as_slice()),
        ("tokens.created", &[id][..])
    );
    assert_eq!(e[1].status, 422);
    assert!(
        e[1].reason.as_deref().unwrap_or("").contains("weight"),
        "{e:?}"
    );
    // The sink goes with the last holder of the log, even without a server stop.
    let store = a.state.store.clone();
    drop(a);
    assert!(store.sink_count() < sinks);
}

#[tokio::test]
async fn notebook_writes_are_not_audited_when_switched_off() {
    let a = app(|c| c.audit_kernel_writes = false);
    let spec = crate::storage::TokenSpec {
        weight: 0.5,
        ..Default::default()
    };
    a.state.store.create_token(&spec).unwrap();
    assert!(a.state.audit.read(0, 10, &Default::default()).is_empty());
}
