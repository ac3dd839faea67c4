//! The HTTP + WebSocket server (axum + tokio) over the store the notebook holds.
//!
//! [`start`] binds, spawns its own thread with its own tokio runtime and returns a
//! [`ServerHandle`]; requests never touch Python. Everything a request needs lives in
//! [`AppState`]. Route groups live in `routes/`, one file each, and are merged by
//! [`routes::router`].

// A `Problem` is the response of a failed request; its size next to a network round trip is
// nothing, and boxing it everywhere would only add noise.
#![allow(clippy::result_large_err)]

pub mod assets;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod durable;
pub mod events;
pub mod http_metrics;
pub mod jobs;
pub mod limit;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod security;

use crate::storage::RuntimeStorage;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// How to run the server. `Default` is the safe posture: loopback, auth on.
#[derive(Clone, Debug)]
pub struct Config {
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    /// Directory for users, API keys, JWT keys, refresh tokens and the audit log (0700/0600).
    /// `None`: a fresh temporary directory removed when the server stops.
    pub state_dir: Option<PathBuf>,
    /// Append-only write journal directory (standalone mode); `None` = no journal.
    pub journal_dir: Option<PathBuf>,
    /// The snapshot the journal follows (recovered from at start, rewritten by compactions);
    /// `None` with a journal: `snapshot.ngs` inside `journal_dir`.
    pub snapshot_path: Option<PathBuf>,
    /// Compact the journal into the snapshot once its segment passes this many bytes.
    pub journal_compact_bytes: u64,
    /// Extra names accepted in the `Host` header besides loopback ones.
    pub allowed_hosts: Vec<String>,
    /// Origins allowed for CORS and WebSocket upgrades besides the server's own.
    pub allowed_origins: Vec<String>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Largest request body in bytes (batch routes have their own, larger limit).
    pub max_body: usize,
    pub max_batch_body: usize,
    /// Largest embeddings file `PUT /api/v1/bootstrap/{job}/file` takes (streamed to disk).
    pub max_upload: u64,
    /// tokio worker threads.
    pub workers: usize,
    /// Requests per second and burst, per principal by role and per anonymous IP.
    pub rate_limits: RateLimits,
    /// How long a short request waits for the store's lock before answering 503 busy
    /// (a long write holds it); it blocks a request worker at most this long.
    pub busy_wait: std::time::Duration,
    /// Create the kernel's ephemeral admin principal (key + login links); the standalone CLI
    /// turns it off and needs a stored admin instead.
    pub ephemeral_admin: bool,
    /// Lifetime of access JWTs (seconds).
    pub access_ttl_secs: u64,
    /// Lifetime of the session cookie from a login link (seconds).
    pub session_ttl_secs: u64,
    /// Lifetime of refresh tokens (seconds).
    pub refresh_ttl_secs: u64,
    /// argon2id cost for new password hashes.
    pub password_cost: auth::PasswordCost,
    /// Audit log: rotate the file past this many bytes, keep this many old files, and keep
    /// this many entries in memory for `/api/v1/audit`.
    pub audit_max_bytes: u64,
    pub audit_keep: usize,
    pub audit_ring: usize,
    /// Also audit the notebook's own writes (origin `kernel`), through a store sink.
    pub audit_kernel_writes: bool,
    /// Most rate-limit buckets held at once (idle ones are evicted first).
    pub max_buckets: usize,
    /// "Now" for expiry and rate limits (tests use [`clock::Clock::manual`]).
    pub clock: clock::Clock,
    /// The event stream: replay ring, heartbeat, WebSocket limits (see `events.rs`).
    pub events: events::EventsConfig,
}

#[derive(Clone, Debug)]
pub struct RateLimits {
    pub readonly: (f64, f64),
    pub user: (f64, f64),
    pub admin: (f64, f64),
    pub per_ip: (f64, f64),
    /// Login attempts per minute per (IP, name).
    pub login_per_minute: f64,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            readonly: (200.0, 400.0),
            user: (2000.0, 4000.0),
            // The notebook's own (ephemeral) admin drives benchmarks and bulk scripts.
            admin: (100_000.0, 200_000.0),
            per_ip: (20.0, 40.0),
            login_per_minute: 5.0,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 0,
            state_dir: None,
            journal_dir: None,
            snapshot_path: None,
            journal_compact_bytes: 64 << 20,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            max_body: 2 << 20,
            max_batch_body: 64 << 20,
            max_upload: 4 << 30,
            workers: 2,
            rate_limits: RateLimits::default(),
            busy_wait: std::time::Duration::from_millis(100),
            ephemeral_admin: true,
            access_ttl_secs: 15 * 60,
            session_ttl_secs: 8 * 3600,
            refresh_ttl_secs: 30 * 24 * 3600,
            password_cost: auth::PasswordCost::default(),
            audit_max_bytes: 16 << 20,
            audit_keep: 5,
            audit_ring: 10_000,
            audit_kernel_writes: true,
            max_buckets: 100_000,
            clock: clock::Clock::default(),
            events: events::EventsConfig::default(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<RuntimeStorage>,
    pub auth: Arc<auth::Auth>,
    pub config: Arc<Config>,
    pub bus: Arc<events::Bus>,
    pub audit: Arc<audit::Audit>,
    pub limiter: Arc<limit::Limiter>,
    pub http: Arc<http_metrics::HttpMetrics>,
    /// Present when the server journals writes (standalone mode).
    pub journal: Option<Arc<crate::journal::Journal>>,
    /// The dashboard views' cache (the grid of the current data version).
    pub views: Arc<routes::views::ViewCache>,
}

/// A running server; dropping it stops it.
pub struct ServerHandle {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerHandle {
    /// Stop accepting, finish in-flight requests, join the server thread. Idempotent.
    pub fn stop(&mut self) {
        // First the event bus: its sink leaves the store and WebSocket clients get a close.
        self.state.bus.detach(&self.state.store);
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
            self.state.audit.detach(&self.state.store);
            if let Some(j) = &self.state.journal {
                // A clean stop compacts: the snapshot then holds every write.
                let _ = j.close();
            }
        }
    }

    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Everything that can keep a server from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
    #[error("cannot start the server: {0}")]
    Io(#[from] std::io::Error),
}

/// Build the application state (auth store, etc.) for `store` under `config`.
pub fn app_state(store: Arc<RuntimeStorage>, config: Config) -> Result<AppState, StartError> {
    // The journal first: recovery replaces the store's contents before anyone listens.
    let journal = durable::open_journal(&store, &config)?;
    let dir = Arc::new(auth::StateDir::open(config.state_dir.as_deref())?);
    let auth = auth::Auth::open_in(dir.clone(), &config)?;
    let audit = Arc::new(audit::Audit::open(&config, &dir)?);
    if config.audit_kernel_writes {
        audit.attach(&store);
    }
    Ok(AppState {
        bus: events::Bus::attach_with(&store, &config.events),
        store,
        auth: Arc::new(auth),
        audit,
        limiter: Arc::new(limit::Limiter::with_clock(
            &config.rate_limits,
            config.max_buckets,
            config.clock.clone(),
        )),
        http: Arc::default(),
        journal,
        views: Arc::default(),
        config: Arc::new(config),
    })
}

/// Bind, then serve on a thread of its own until [`ServerHandle::stop`].
pub fn start(store: Arc<RuntimeStorage>, config: Config) -> Result<ServerHandle, StartError> {
    let addr = format!("{}:{}", config.host, config.port);
    let workers = config.workers.max(1);
    // Bind with std so that `start` works from any thread, async tests included (no runtime
    // is entered or dropped on the caller's thread).
    let listener = std::net::TcpListener::bind(&addr).map_err(|source| StartError::Bind {
        addr: addr.clone(),
        source,
    })?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let state = app_state(store, config)?;
    let app = routes::router(state.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("ng-server")
        .enable_all()
        .build()?;
    let counter = state.http.clone();
    state
        .bus
        .set_request_counter(move || counter.requests_total());
    let http = state.http.clone();
    rt.spawn(state.bus.clone().run_metrics());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("ng-server-main".into())
        .spawn(move || {
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let service = http_metrics::CountConnections::new(app, http);
                let _ = axum::serve(listener, service)
                    .with_graceful_shutdown(async move {
                        let _ = rx.await;
                    })
                    .await;
            });
            // Tasks still running (WebSocket loops) are dropped with the runtime.
            rt.shutdown_timeout(std::time::Duration::from_secs(2));
        })?;
    Ok(ServerHandle {
        addr: bound,
        state,
        stop: Some(tx),
        thread: Some(thread),
    })
}
