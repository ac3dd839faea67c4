//! Rate limits: GCRA token buckets per principal (rate by role) and, for requests without
//! valid credentials, per client IP; login attempts per (IP, name). A refusal is a 429
//! problem with `Retry-After` and `RateLimit-*` headers. Memory is bounded: past
//! `max_buckets`, idle buckets (those already full again) are evicted.
//!
//! The client IP is the peer address, or, when the peer is a configured trusted proxy, the
//! rightmost `X-Forwarded-For` entry that is not itself a trusted proxy. The middleware also
//! authenticates the request once and leaves the [`Principal`] and [`ClientIp`] in the
//! request extensions for the handlers and the audit log.

use super::auth::Role;
use super::clock::Clock;
use super::problem::Problem;
use super::{AppState, RateLimits};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The client's address as the server believes it (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// What a bucket is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BucketKey {
    /// An API key (by id) or a user (JWT, cookie).
    Principal(String),
    /// A client address (requests without valid credentials).
    Ip(IpAddr),
    /// Login attempts for a name from an address.
    Login(IpAddr, String),
}

/// The outcome of taking one token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// Allowed; the headers report the bucket.
    Allow {
        /// Bucket size (burst).
        limit: u64,
        /// Requests left before the bucket is empty.
        remaining: u64,
        /// Seconds until the bucket is full again.
        reset: f64,
    },
    /// Refused for `retry_after` seconds.
    Deny {
        /// Bucket size (burst).
        limit: u64,
        /// Seconds until one request would be allowed.
        retry_after: f64,
    },
}

const SHARDS: usize = 16;

/// Token buckets (GCRA: one "theoretical arrival time" per key).
pub struct Limiter {
    limits: RateLimits,
    clock: Clock,
    max_per_shard: usize,
    shards: Vec<Mutex<HashMap<BucketKey, f64>>>,
}

impl Limiter {
    /// A limiter on the system clock with the default bound on buckets.
    pub fn new(limits: &RateLimits) -> Limiter {
        Limiter::with_clock(limits, 100_000, Clock::default())
    }

    /// A limiter holding at most about `max_buckets` buckets, reading time from `clock`.
    pub fn with_clock(limits: &RateLimits, max_buckets: usize, clock: Clock) -> Limiter {
        Limiter {
            limits: limits.clone(),
            clock,
            max_per_shard: (max_buckets / SHARDS).max(4),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// (rate per second, burst) for a role.
    pub fn role_rate(&self, role: Role) -> (f64, f64) {
        match role {
            Role::Readonly => self.limits.readonly,
            Role::User => self.limits.user,
            Role::Admin => self.limits.admin,
        }
    }

    /// How many buckets are held (tests of the bound).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Take one token from `key`'s bucket refilling at `rate`/s holding `burst`.
    pub fn check(&self, key: &BucketKey, (rate, burst): (f64, f64)) -> Decision {
        let limit = burst.max(1.0) as u64;
        if rate.is_nan() || rate <= 0.0 || !rate.is_finite() {
            return Decision::Deny {
                limit,
                retry_after: 60.0,
            };
        }
        let t = 1.0 / rate;
        let tau = burst.max(1.0) * t;
        let now = self.clock.now();
        let shard = &self.shards[shard_of(key)];
        let mut m = shard.lock();
        if m.len() >= self.max_per_shard && !m.contains_key(key) {
            // A bucket whose arrival time has passed is full: dropping it changes nothing.
            m.retain(|_, tat| *tat > now);
            if m.len() >= self.max_per_shard {
                return Decision::Deny {
                    limit,
                    retry_after: 1.0,
                };
            }
        }
        let tat = m.get(key).copied().unwrap_or(now).max(now);
        let new_tat = tat + t;
        if new_tat - now > tau + 1e-9 {
            return Decision::Deny {
                limit,
                retry_after: new_tat - tau - now,
            };
        }
        m.insert(key.clone(), new_tat);
        Decision::Allow {
            limit,
            remaining: ((tau - (new_tat - now)) / t).max(0.0).floor() as u64,
            reset: new_tat - now,
        }
    }

    /// One login attempt for `name` from `ip` (default 5 per minute); 429 beyond.
    pub fn check_login(&self, ip: IpAddr, name: &str) -> Result<(), Problem> {
        let per_min = self.limits.login_per_minute;
        let key = BucketKey::Login(ip, name.chars().take(64).collect());
        match self.check(&key, (per_min / 60.0, per_min)) {
            Decision::Allow { .. } => Ok(()),
            Decision::Deny { retry_after, .. } => Err(too_many(retry_after, "login attempts")),
        }
    }
}

fn shard_of(key: &BucketKey) -> usize {
    use std::hash::BuildHasher;
    (rustc_hash::FxBuildHasher.hash_one(key) as usize) % SHARDS
}

fn too_many(retry_after: f64, what: &str) -> Problem {
    let secs = retry_after.ceil().max(1.0) as u64;
    let mut p = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        format!("too many {what}; retry in {secs} s"),
    );
    p.retry_after = Some(secs);
    p
}

/// The client address: the peer, or for a trusted proxy the rightmost untrusted
/// `X-Forwarded-For` entry.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for v in headers.get_all("x-forwarded-for").iter() {
        let Ok(s) = v.to_str() else { return peer };
        for part in s.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) if hops.len() < 64 => hops.push(ip),
                Ok(_) => {}
                Err(_) => return peer,
            }
        }
    }
    hops.iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .or(hops.first())
        .copied()
        .unwrap_or(peer)
}

async fn limit_mw(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let ip = client_ip(peer, req.headers(), &app.config.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    // CORS preflights and other OPTIONS requests are free.
    if req.method() == Method::OPTIONS {
        return next.run(req).await;
    }
    let who = app
        .auth
        .authenticate(req.method(), req.uri(), req.headers())
        .ok();
    let (key, rate) = match &who {
        Some(p) => (
            BucketKey::Principal(match &p.key_id {
                Some(k) => format!("key:{k}"),
                None => format!("user:{}", p.name),
            }),
            app.limiter.role_rate(p.role),
        ),
        None => (BucketKey::Ip(ip), app.limiter.limits.per_ip),
    };
    if let Some(p) = who {
        req.extensions_mut().insert(p);
    }
    match app.limiter.check(&key, rate) {
        Decision::Deny { limit, retry_after } => {
            let mut r = too_many(retry_after, "requests").into_response();
            set_headers(r.headers_mut(), limit, 0, retry_after);
            r
        }
        Decision::Allow {
            limit,
            remaining,
            reset,
        } => {
            let mut r = next.run(req).await;
            set_headers(r.headers_mut(), limit, remaining, reset);
            r
        }
    }
}

fn set_headers(h: &mut HeaderMap, limit: u64, remaining: u64, reset: f64) {
    let mut put = |name: &'static str, v: u64| {
        if let Ok(v) = HeaderValue::from_str(&v.to_string()) {
            h.insert(name, v);
        }
    };
    put("ratelimit-limit", limit);
    put("ratelimit-remaining", remaining);
    put("ratelimit-reset", reset.ceil().max(0.0) as u64);
}

/// The rate-limit middleware.
pub fn layer(app: Router<AppState>, state: &AppState) -> Router<AppState> {
    app.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        limit_mw,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RateLimits {
        RateLimits {
            readonly: (1.0, 2.0),
            user: (1.0, 2.0),
            admin: (1.0, 2.0),
            per_ip: (1.0, 3.0),
            login_per_minute: 5.0,
        }
    }

    #[test]
    fn bucket_empties_then_refills_with_the_clock() {
        let (clock, hand) = Clock::manual(1000.0);
        let l = Limiter::with_clock(&limits(), 1000, clock);
        let k = BucketKey::Ip("10.0.0.1".parse().unwrap());
        for _ in 0..3 {
            assert!(matches!(l.check(&k, (1.0, 3.0)), Decision::Allow { .. }));
        }
        let Decision::Deny { retry_after, .. } = l.check(&k, (1.0, 3.0)) else {
            panic!("fourth request allowed")
        };
        assert!((retry_after - 1.0).abs() < 1e-6, "{retry_after}");
        hand.advance(1.0);
        assert!(matches!(l.check(&k, (1.0, 3.0)), Decision::Allow { .. }));
        assert!(matches!(l.check(&k, (1.0, 3.0)), Decision::Deny { .. }));
        // Another key is independent.
        let k2 = BucketKey::Ip("10.0.0.2".parse().unwrap());
        assert!(matches!(l.check(&k2, (1.0, 3.0)), Decision::Allow { .. }));
    }

    #[test]
    fn login_attempts_are_limited_per_ip_and_name() {
        let (clock, hand) = Clock::manual(0.0);
        let l = Limiter::with_clock(&limits(), 1000, clock);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..5 {
            l.check_login(ip, "alice").unwrap();
        }
        let p = l.check_login(ip, "alice").unwrap_err();
        assert_eq!(p.status, 429);
        assert_eq!(p.retry_after, Some(12));
        l.check_login(ip, "bob").unwrap();
        hand.advance(12.0);
        l.check_login(ip, "alice").unwrap();
    }

    #[test]
    fn buckets_are_bounded_and_idle_ones_evicted() {
        let (clock, hand) = Clock::manual(0.0);
        let l = Limiter::with_clock(&limits(), 64, clock);
        for i in 0..10_000u32 {
            let k = BucketKey::Ip(IpAddr::V4(Ipv4Addr::from(i)));
            let _ = l.check(&k, (1.0, 3.0));
            if i % 100 == 0 {
                hand.advance(10.0);
            }
        }
        assert!(l.len() <= 64, "{}", l.len());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.9".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "1.2.3.4, 5.6.7.8, 10.0.0.9".parse().unwrap(),
        );
        let stranger: IpAddr = "9.9.9.9".parse().unwrap();
        assert_eq!(client_ip(stranger, &h, &[proxy]), stranger);
        assert_eq!(
            client_ip(proxy, &h, &[proxy]),
            "5.6.7.8".parse::<IpAddr>().unwrap()
        );
        h.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(client_ip(proxy, &h, &[proxy]), proxy);
    }
}
