//! Who is asking, and what they may do.
//!
//! State lives in a private directory ([`StateDir`], 0700, files 0600, atomic writes):
//! `users.json` (argon2id PHC strings), `api_keys.json` (SHA-256 of each key), `jwt_keys.json`
//! (current + previous HS256 key by `kid`) and `refresh.json` (hashed refresh tokens with
//! family ids). One-time tokens (login links, WebSocket tickets) live in memory only.
//! Credentials: `Authorization: Bearer <API key | JWT>`, the session cookie (state-changing
//! requests need a matching `Origin`), or `?ticket=` (single use, WebSocket upgrades).

#[cfg(test)]
mod http_limits_tests;
#[cfg(test)]
mod http_tests;
pub mod jwt;
mod manage;
pub mod password;
pub mod records;
mod session;
pub mod state;
#[cfg(test)]
mod tests;

pub use password::PasswordCost;
pub use records::{KeyInfo, TokenPair, UserInfo};
pub use session::{LOGIN_LINK_TTL, WS_TICKET_TTL};
pub use state::StateDir;

use super::clock::Clock;
use super::problem::Problem;
use super::{AppState, Config, StartError};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, Uri};
use base64::Engine;
use parking_lot::{Mutex, RwLock};
use records::{KeyRec, RefreshRec, UserRec};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Name of the session cookie set by the login-link exchange.
pub const COOKIE: &str = "ng_session";
/// Name of the kernel-started server's ephemeral admin principal (reserved).
pub const EPHEMERAL_ADMIN: &str = "notebook";

/// Roles, lowest first: `readonly` < `user` < `admin`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// GET routes and the event stream.
    Readonly,
    /// Plus token and connection writes, queries, feedback.
    User,
    /// Everything: CDNA writes, users, keys, audit, bootstrap, save.
    Admin,
}

impl Role {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Readonly => "readonly",
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
    /// Parse a lowercase name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "readonly" => Some(Role::Readonly),
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    /// User name (for an API key: its owner).
    pub name: String,
    /// The role.
    pub role: Role,
    /// The API key id when authenticated by a key.
    pub key_id: Option<String>,
}

impl Principal {
    /// 403 unless this principal has at least `role`.
    pub fn require(&self, role: Role) -> Result<(), Problem> {
        if self.role >= role {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "this needs the {} role; {} has {}",
                role.as_str(),
                self.name,
                self.role.as_str()
            )))
        }
    }
    /// How writes by this principal are reported to the store's sinks.
    pub fn origin(&self) -> String {
        format!("api:{}", self.name)
    }
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::fill(&mut b[..]);
    b
}

pub(crate) fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::fill(&mut b[..]);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Users may be named with letters, digits, `_`, `-`, `.` and `@` (1-64 characters).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.@".contains(&b))
}

fn check_password(p: &str) -> Result<(), Problem> {
    if p.len() < password::MIN_PASSWORD || p.len() > password::MAX_PASSWORD {
        let mut pr = Problem::unprocessable(format!(
            "a password has {} to {} bytes",
            password::MIN_PASSWORD,
            password::MAX_PASSWORD
        ));
        pr.field = Some("password".into());
        return Err(pr);
    }
    Ok(())
}

fn invalid_credentials() -> Problem {
    Problem::unauthorized("the credentials are not valid")
}

fn storage_failed() -> Problem {
    Problem::internal()
}

/// In-memory copy of the state files.
#[derive(Default)]
struct Data {
    users: BTreeMap<String, UserRec>,
    keys: BTreeMap<String, KeyRec>,
    refresh: HashMap<String, RefreshRec>,
}

/// The auth store. All methods are cheap except password hashing (argon2id), which the async
/// paths run in `spawn_blocking` behind a semaphore of 2.
pub struct Auth {
    dir: Arc<StateDir>,
    data: Mutex<Data>,
    jwt: RwLock<jwt::JwtKeys>,
    tickets: Mutex<HashMap<String, session::Ticket>>,
    admin_key: Option<String>,
    clock: Clock,
    access_ttl: u64,
    session_ttl: u64,
    refresh_ttl: u64,
    cost: PasswordCost,
    allowed_origins: Vec<String>,
    hash_gate: tokio::sync::Semaphore,
    /// Access tokens revoked at logout (jti -> expiry), in memory until they expire.
    revoked: Mutex<HashMap<String, u64>>,
    /// A hash verified for unknown users (made on first use).
    dummy: Arc<std::sync::OnceLock<String>>,
}

impl Auth {
    /// Open (or create) the state under `config.state_dir` (a temporary directory if unset),
    /// and create the ephemeral admin when `config.ephemeral_admin`.
    pub fn open(config: &Config) -> Result<Auth, StartError> {
        let dir = StateDir::open(config.state_dir.as_deref())?;
        Auth::open_in(Arc::new(dir), config)
    }

    /// Like [`Auth::open`] on an already opened state directory (shared with the audit log).
    pub fn open_in(dir: Arc<StateDir>, config: &Config) -> Result<Auth, StartError> {
        let bad = |e: std::io::Error| StartError::Config(format!("auth state: {e}"));
        let now = config.clock.now_secs();
        let mut data = Data::default();
        for u in dir
            .read_json::<Vec<UserRec>>("users.json")
            .map_err(bad)?
            .unwrap_or_default()
        {
            data.users.insert(u.name.clone(), u);
        }
        for k in dir
            .read_json::<Vec<KeyRec>>("api_keys.json")
            .map_err(bad)?
            .unwrap_or_default()
        {
            data.keys.insert(k.id.clone(), k);
        }
        data.refresh = dir
            .read_json::<HashMap<String, RefreshRec>>("refresh.json")
            .map_err(bad)?
            .unwrap_or_default();
        data.refresh.retain(|_, r| r.expires > now);
        let mut keys = dir
            .read_json::<jwt::JwtKeys>("jwt_keys.json")
            .map_err(bad)?
            .unwrap_or_default();
        if keys.keys.is_empty() {
            keys.rotate(now);
            dir.write_json("jwt_keys.json", &keys)?;
        }
        let mut admin_key = None;
        if config.ephemeral_admin {
            data.users.insert(
                EPHEMERAL_ADMIN.into(),
                UserRec {
                    name: EPHEMERAL_ADMIN.into(),
                    role: Role::Admin,
                    password: None,
                    disabled: false,
                    created: now,
                    ephemeral: true,
                },
            );
            let (id, secret) = new_key();
            data.keys.insert(
                id.clone(),
                KeyRec {
                    id,
                    owner: EPHEMERAL_ADMIN.into(),
                    role: Role::Admin,
                    sha256: sha256_hex(&secret),
                    created: now,
                    expires: None,
                    last_used: None,
                    ephemeral: true,
                },
            );
            admin_key = Some(secret);
        }
        Ok(Auth {
            dir,
            data: Mutex::new(data),
            jwt: RwLock::new(keys),
            tickets: Mutex::new(HashMap::new()),
            admin_key,
            clock: config.clock.clone(),
            access_ttl: config.access_ttl_secs.max(1),
            session_ttl: config.session_ttl_secs.max(1),
            refresh_ttl: config.refresh_ttl_secs.max(1),
            cost: config.password_cost,
            allowed_origins: config.allowed_origins.clone(),
            hash_gate: tokio::sync::Semaphore::new(2),
            revoked: Mutex::new(HashMap::new()),
            dummy: Arc::default(),
        })
    }

    /// The state directory (shared with the audit log).
    pub fn state_dir(&self) -> &Arc<StateDir> {
        &self.dir
    }

    /// The key of the ephemeral admin principal of a kernel-started server (empty when the
    /// server was started without one).
    pub fn ephemeral_admin_key(&self) -> String {
        self.admin_key.clone().unwrap_or_default()
    }

    fn save_users(&self, d: &Data) -> Result<(), Problem> {
        let v: Vec<&UserRec> = d.users.values().filter(|u| !u.ephemeral).collect();
        self.dir
            .write_json("users.json", &v)
            .map_err(|_| storage_failed())
    }

    fn save_keys(&self, d: &Data) -> Result<(), Problem> {
        let v: Vec<&KeyRec> = d.keys.values().filter(|k| !k.ephemeral).collect();
        self.dir
            .write_json("api_keys.json", &v)
            .map_err(|_| storage_failed())
    }

    fn save_refresh(&self, d: &Data) -> Result<(), Problem> {
        self.dir
            .write_json("refresh.json", &d.refresh)
            .map_err(|_| storage_failed())
    }

    // ---- authentication ----------------------------------------------------------------

    /// The principal `name` acts as, with `role` capped by the user's current role.
    fn principal_for(
        d: &Data,
        name: &str,
        role: Role,
        key_id: Option<String>,
    ) -> Result<Principal, Problem> {
        match d.users.get(name) {
            Some(u) if !u.disabled => Ok(Principal {
                name: name.into(),
                role: role.min(u.role),
                key_id,
            }),
            _ => Err(invalid_credentials()),
        }
    }

    fn auth_key(&self, token: &str) -> Result<Principal, Problem> {
        let id = parse_key(token).ok_or_else(invalid_credentials)?;
        let hash = sha256_hex(token);
        let now = self.clock.now_secs();
        let mut d = self.data.lock();
        let k = d.keys.get_mut(id).ok_or_else(invalid_credentials)?;
        if !ct_eq(&k.sha256, &hash) {
            return Err(invalid_credentials());
        }
        if k.expires.is_some_and(|e| e <= now) {
            return Err(Problem::unauthorized("the API key has expired"));
        }
        k.last_used = Some(now);
        let (owner, role) = (k.owner.clone(), k.role);
        Self::principal_for(&d, &owner, role, Some(id.to_string()))
    }

    /// Verify an access JWT and resolve it to a principal.
    pub fn auth_jwt(&self, token: &str) -> Result<Principal, Problem> {
        if token.len() > 4096 {
            return Err(invalid_credentials());
        }
        let now = self.clock.now_secs();
        let claims = self.jwt.read().verify(token, now).map_err(|e| match e {
            jwt::JwtError::Expired => Problem::unauthorized("the access token has expired"),
            _ => invalid_credentials(),
        })?;
        if !claims.jti.is_empty() && self.revoked.lock().contains_key(&claims.jti) {
            return Err(Problem::unauthorized(
                "the access token was revoked (logout)",
            ));
        }
        Self::principal_for(&self.data.lock(), &claims.sub, claims.role, None)
    }

    /// Revoke the access JWT `token` (logout) until it expires. Invalid tokens are ignored.
    pub fn revoke_access(&self, token: &str) {
        let now = self.clock.now_secs();
        let Ok(c) = self.jwt.read().verify(token, now) else {
            return;
        };
        if c.jti.is_empty() {
            return;
        }
        let mut r = self.revoked.lock();
        if r.len() >= 100_000 {
            r.retain(|_, exp| *exp > now);
        }
        if r.len() < 100_000 {
            r.insert(c.jti, c.exp);
        }
    }

    fn check_origin(&self, headers: &HeaderMap) -> Result<(), Problem> {
        if crate::server::security::origin_allowed(headers, &self.allowed_origins) {
            Ok(())
        } else {
            Err(Problem::forbidden(
                "a cookie-authenticated write needs a matching Origin",
            ))
        }
    }

    /// Resolve request credentials to a principal: `Authorization: Bearer` (API key or JWT),
    /// the session cookie, or a single-use `?ticket=`. 401 without or with bad credentials.
    pub fn authenticate(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<Principal, Problem> {
        if let Some(v) = headers.get(header::AUTHORIZATION) {
            let v = v.to_str().map_err(|_| invalid_credentials())?;
            let token = v
                .strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .ok_or_else(|| Problem::unauthorized("use Authorization: Bearer <key or token>"))?
                .trim();
            if token.len() > 4096 {
                return Err(invalid_credentials());
            }
            return if token.starts_with("ngk_") {
                self.auth_key(token)
            } else {
                self.auth_jwt(token)
            };
        }
        if let Some(jwt) = cookie(headers, COOKIE) {
            let p = self.auth_jwt(jwt)?;
            if !is_safe(method) {
                self.check_origin(headers)?;
            }
            return Ok(p);
        }
        // Tickets open WebSocket upgrades only (`.../ws`), never ordinary requests.
        if let Some(t) = uri.query().and_then(|q| query_param(q, "ticket")) {
            if *method == Method::GET && uri.path().ends_with("/ws") {
                return self.redeem_ws_ticket(t);
            }
        }
        Err(Problem::unauthorized("credentials are required"))
    }
}

impl Drop for Auth {
    fn drop(&mut self) {
        // Persist `last_used` of the keys (kept in memory between other writes).
        let d = self.data.lock();
        if d.keys
            .values()
            .any(|k| !k.ephemeral && k.last_used.is_some())
        {
            let _ = self.save_keys(&d);
        }
    }
}

/// `ngk_<id>_<secret>` -> a fresh (id, whole key).
fn new_key() -> (String, String) {
    let id = random_hex(8);
    let secret = format!("ngk_{id}_{}", b64(&random_bytes::<32>()));
    (id, secret)
}

/// The id part of `ngk_<id>_<secret>`.
fn parse_key(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("ngk_")?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 16 && !secret.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(id)
}

/// GET, HEAD and OPTIONS change nothing.
pub fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The (undecoded) value of query parameter `name`.
pub fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let p = state
            .auth
            .authenticate(&parts.method, &parts.uri, &parts.headers)?;
        parts.extensions.insert(p.clone());
        Ok(p)
    }
}
