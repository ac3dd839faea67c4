//! Unit tests of the auth store (no HTTP): users, keys, JWTs, refresh rotation, one-time
//! tokens, file modes and secrets at rest.

use super::*;
use crate::server::clock::{Clock, ManualClock};
use std::fs;
use std::os::unix::fs::PermissionsExt;

fn open(f: impl FnOnce(&mut Config)) -> (Auth, ManualClock, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let (clock, hand) = Clock::manual(1_700_000_000.0);
    let mut c = Config {
        state_dir: Some(tmp.path().join("state")),
        password_cost: PasswordCost::minimum(),
        clock,
        ..Config::default()
    };
    f(&mut c);
    (Auth::open(&c).unwrap(), hand, tmp)
}

fn bearer(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    h
}

fn who(a: &Auth, h: &HeaderMap) -> Result<Principal, Problem> {
    a.authenticate(&Method::GET, &Uri::from_static("/x"), h)
}

#[test]
fn ephemeral_admin_key_authenticates_and_is_not_stored() {
    let (a, _, tmp) = open(|_| {});
    let key = a.ephemeral_admin_key();
    assert!(key.starts_with("ngk_"));
    let p = who(&a, &bearer(&key)).unwrap();
    assert_eq!((p.name.as_str(), p.role), (EPHEMERAL_ADMIN, Role::Admin));
    assert!(p.key_id.is_some());
    assert_eq!(
        who(&a, &bearer("ngk_0123456789abcdef_nope"))
            .unwrap_err()
            .status,
        401
    );
    assert_eq!(who(&a, &HeaderMap::new()).unwrap_err().status, 401);
    let users = fs::read_to_string(tmp.path().join("state/users.json")).unwrap_or_default();
    assert!(!users.contains(EPHEMERAL_ADMIN));
    assert!(a.revoke_key(p.key_id.as_deref().unwrap()).is_err());
    assert!(a.remove_user(EPHEMERAL_ADMIN).is_err());
}

#[test]
fn users_are_added_listed_changed_and_removed() {
    let (a, _, _t) = open(|_| {});
    a.add_user("alice", Role::User, Some("correct horse"))
        .unwrap();
    assert_eq!(
        a.add_user("alice", Role::User, None).unwrap_err().status,
        409
    );
    assert_eq!(
        a.add_user("bad name!", Role::User, None)
            .unwrap_err()
            .status,
        422
    );
    assert_eq!(
        a.add_user("bob", Role::User, Some("short"))
            .unwrap_err()
            .status,
        422
    );
    assert_eq!(
        a.add_user(EPHEMERAL_ADMIN, Role::User, None)
            .unwrap_err()
            .status,
        422
    );
    let names: Vec<String> = a.list_users().into_iter().map(|u| u.name).collect();
    assert!(names.contains(&"alice".to_string()));
    assert_eq!(
        a.set_role("alice", Role::Readonly).unwrap().role,
        Role::Readonly
    );
    a.remove_user("alice").unwrap();
    assert_eq!(a.remove_user("alice").unwrap_err().status, 404);
}

#[test]
fn key_role_is_capped_by_owner_and_keys_expire_and_revoke() {
    let (a, hand, _t) = open(|_| {});
    a.add_user("alice", Role::User, None).unwrap();
    assert_eq!(
        a.create_key("alice", Role::Admin, None).unwrap_err().status,
        422
    );
    let (info, secret) = a.create_key("alice", Role::User, Some(60)).unwrap();
    assert!(a
        .list_keys()
        .iter()
        .all(|k| !format!("{k:?}").contains(&secret)));
    assert_eq!(who(&a, &bearer(&secret)).unwrap().role, Role::User);
    // Demoting the owner caps the key.
    a.set_role("alice", Role::Readonly).unwrap();
    assert_eq!(who(&a, &bearer(&secret)).unwrap().role, Role::Readonly);
    // A wrong secret with the right id fails.
    let forged = format!("ngk_{}_{}", info.id, "A".repeat(43));
    assert_eq!(who(&a, &bearer(&forged)).unwrap_err().status, 401);
    hand.advance(61.0);
    let e = who(&a, &bearer(&secret)).unwrap_err();
    assert!(e.detail.contains("expired"), "{}", e.detail);
    let (info2, secret2) = a.create_key("alice", Role::Readonly, None).unwrap();
    assert!(who(&a, &bearer(&secret2)).is_ok());
    a.revoke_key(&info2.id).unwrap();
    assert_eq!(who(&a, &bearer(&secret2)).unwrap_err().status, 401);
    // A disabled owner's keys stop working.
    let (_, secret3) = a.create_key("alice", Role::Readonly, None).unwrap();
    a.update_user("alice", None, Some(true)).unwrap();
    assert_eq!(who(&a, &bearer(&secret3)).unwrap_err().status, 401);
}

#[test]
fn jwts_with_unknown_kid_bad_signature_or_expired_are_refused() {
    let (a, hand, _t) = open(|c| c.access_ttl_secs = 60);
    a.add_user("alice", Role::User, None).unwrap();
    let t = a.sign_access("alice", Role::User, 60).unwrap();
    assert_eq!(who(&a, &bearer(&t)).unwrap().name, "alice");
    // Bad signature: flip a character of the signature.
    let mut bad = t.clone().into_bytes();
    let last = bad.len() - 2;
    bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        who(&a, &bearer(std::str::from_utf8(&bad).unwrap()))
            .unwrap_err()
            .status,
        401
    );
    // Signed by a key the server does not know.
    let mut other = jwt::JwtKeys::default();
    other.rotate(0);
    let foreign = other.sign("alice", Role::Admin, hand_now(&a), 60).unwrap();
    assert_eq!(who(&a, &bearer(&foreign)).unwrap_err().status, 401);
    // Rotation: the previous key still verifies; two rotations later it does not.
    a.rotate_jwt_key().unwrap();
    assert!(who(&a, &bearer(&t)).is_ok());
    a.rotate_jwt_key().unwrap();
    assert_eq!(who(&a, &bearer(&t)).unwrap_err().status, 401);
    // Expiry by the server's clock.
    let t2 = a.sign_access("alice", Role::User, 60).unwrap();
    hand.advance(60.0);
    let e = who(&a, &bearer(&t2)).unwrap_err();
    assert!(e.detail.contains("expired"));
    // A token's role is capped by the user's current role.
    hand.advance(-60.0);
    let t3 = a.sign_access("alice", Role::Admin, 60).unwrap();
    assert_eq!(who(&a, &bearer(&t3)).unwrap().role, Role::User);
}

fn hand_now(a: &Auth) -> u64 {
    a.clock.now_secs()
}

#[tokio::test]
async fn login_refresh_rotation_and_family_revocation_on_reuse() {
    let (a, _, _t) = open(|_| {});
    a.add_user("alice", Role::User, Some("correct horse"))
        .unwrap();
    let e1 = a.login("alice", "wrong horse!").await.unwrap_err();
    let e2 = a.login("nobody", "correct horse").await.unwrap_err();
    assert_eq!((e1.status, &e1.detail), (e2.status, &e2.detail));
    let (pair, _) = a.login("alice", "correct horse").await.unwrap();
    assert!(who(&a, &bearer(&pair.access_token)).is_ok());
    let (pair2, _) = a.refresh(&pair.refresh_token).unwrap();
    let (pair3, _) = a.refresh(&pair2.refresh_token).unwrap();
    // Reusing a spent token revokes the family: the newest one stops working too.
    assert_eq!(a.refresh(&pair.refresh_token).unwrap_err().status, 401);
    assert_eq!(a.refresh(&pair3.refresh_token).unwrap_err().status, 401);
    // Another login is a new family; logout revokes it.
    let (p4, _) = a.login("alice", "correct horse").await.unwrap();
    a.logout(&p4.refresh_token).unwrap();
    assert_eq!(a.refresh(&p4.refresh_token).unwrap_err().status, 401);
    // Password change revokes sessions and the old password.
    let (p5, _) = a.login("alice", "correct horse").await.unwrap();
    a.change_password("alice", "correct horse", "battery staple")
        .await
        .unwrap();
    assert!(a.refresh(&p5.refresh_token).is_err());
    assert!(a.login("alice", "correct horse").await.is_err());
    assert!(a.login("alice", "battery staple").await.is_ok());
}

#[tokio::test]
async fn a_hash_with_old_parameters_is_replaced_at_login() {
    let (a, _, tmp) = open(|_| {});
    let old = password::hash(
        "correct horse",
        PasswordCost {
            m_kib: 16,
            t: 1,
            p: 1,
        },
    )
    .unwrap();
    fs::write(
        tmp.path().join("state/users.json"),
        serde_json::to_string(
            &serde_json::json!([{"name": "zed", "role": "user", "password": old}]),
        )
        .unwrap(),
    )
    .unwrap();
    drop(a);
    let (clock, _) = Clock::manual(1_700_000_000.0);
    let c = Config {
        state_dir: Some(tmp.path().join("state")),
        password_cost: PasswordCost::minimum(),
        clock,
        ..Config::default()
    };
    let a = Auth::open(&c).unwrap();
    a.login("zed", "correct horse").await.unwrap();
    let text = fs::read_to_string(tmp.path().join("state/users.json")).unwrap();
    assert!(
        text.contains("m=8,t=1,p=1") && !text.contains(&old),
        "{text}"
    );
    a.login("zed", "correct horse").await.unwrap();
}

#[test]
fn one_time_tokens_work_once_and_expire() {
    let (a, hand, _t) = open(|_| {});
    let link = a.login_link().unwrap();
    let (jwt, p) = a.redeem_login_link(&link).unwrap();
    assert_eq!(p.role, Role::Admin);
    assert!(a.auth_jwt(&jwt).is_ok());
    assert_eq!(a.redeem_login_link(&link).unwrap_err().status, 401);
    let link2 = a.login_link().unwrap();
    hand.advance(LOGIN_LINK_TTL + 1.0);
    assert!(a.redeem_login_link(&link2).is_err());
    // A WebSocket ticket authenticates one GET, once, and is not a login link.
    let t = a.ws_ticket(&p);
    assert!(a.redeem_login_link(&t).is_err());
    let t = a.ws_ticket(&p);
    let elsewhere: Uri = format!("/api/v1/tokens?ticket={t}").parse().unwrap();
    assert!(a
        .authenticate(&Method::GET, &elsewhere, &HeaderMap::new())
        .is_err());
    let uri: Uri = format!("/api/v1/ws?ticket={t}").parse().unwrap();
    assert!(a
        .authenticate(&Method::GET, &uri, &HeaderMap::new())
        .is_ok());
    assert!(a
        .authenticate(&Method::GET, &uri, &HeaderMap::new())
        .is_err());
}

#[test]
fn cookie_writes_need_a_matching_origin() {
    let (a, _, _t) = open(|c| c.allowed_origins = vec!["http://dash.example".into()]);
    let (jwt, _) = a.redeem_login_link(&a.login_link().unwrap()).unwrap();
    let mut h = HeaderMap::new();
    h.insert(
        header::COOKIE,
        format!("x=1; {COOKIE}={jwt}").parse().unwrap(),
    );
    h.insert(header::HOST, "127.0.0.1:8765".parse().unwrap());
    let uri = Uri::from_static("/api/v1/tokens");
    assert!(a.authenticate(&Method::GET, &uri, &h).is_ok());
    assert_eq!(
        a.authenticate(&Method::POST, &uri, &h).unwrap_err().status,
        403
    );
    h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    assert_eq!(
        a.authenticate(&Method::POST, &uri, &h).unwrap_err().status,
        403
    );
    h.insert(header::ORIGIN, "http://127.0.0.1:8765".parse().unwrap());
    assert!(a.authenticate(&Method::POST, &uri, &h).is_ok());
    h.insert(header::ORIGIN, "http://dash.example".parse().unwrap());
    assert!(a.authenticate(&Method::DELETE, &uri, &h).is_ok());
}

#[tokio::test]
async fn state_files_are_private_and_hold_no_secret() {
    let (a, _, tmp) = open(|_| {});
    a.add_user("alice", Role::Admin, Some("correct horse"))
        .unwrap();
    let (_, key) = a.create_key("alice", Role::User, None).unwrap();
    let (pair, _) = a.login("alice", "correct horse").await.unwrap();
    a.rotate_jwt_key().unwrap();
    let admin_key = a.ephemeral_admin_key();
    let link = a.login_link().unwrap();
    drop(a);
    let dir = tmp.path().join("state");
    assert_eq!(
        fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let mut names = Vec::new();
    for e in fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        let md = e.metadata().unwrap();
        if md.is_dir() {
            assert_eq!(md.permissions().mode() & 0o777, 0o700);
            continue;
        }
        names.push(e.file_name().into_string().unwrap());
        assert_eq!(md.permissions().mode() & 0o777, 0o600, "{:?}", e.path());
        let text = fs::read_to_string(e.path()).unwrap();
        for secret in [
            "correct horse",
            key.as_str(),
            &key[21..],
            pair.refresh_token.as_str(),
            pair.access_token.as_str(),
            admin_key.as_str(),
            link.as_str(),
        ] {
            assert!(!text.contains(secret), "{:?} holds a secret", e.path());
        }
    }
    names.sort();
    assert_eq!(
        names,
        [
            "api_keys.json",
            "jwt_keys.json",
            "refresh.json",
            "users.json"
        ]
    );
    // Reopening reads everything back.
    let (clock, _) = Clock::manual(1_700_000_000.0);
    let c = Config {
        state_dir: Some(dir.clone()),
        clock,
        ..Config::default()
    };
    let a = Auth::open(&c).unwrap();
    assert_eq!(who(&a, &bearer(&key)).unwrap().name, "alice");
    assert!(a.refresh(&pair.refresh_token).is_ok());
}

#[test]
fn temporary_state_dir_is_removed_on_drop() {
    let d = StateDir::open(None).unwrap();
    let p = d.path().to_path_buf();
    assert_eq!(
        fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o700
    );
    drop(d);
    assert!(!p.exists());
}
