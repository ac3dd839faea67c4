//! HTTP request counts and latency histograms by route template (axum's `MatchedPath`, so
//! `/api/v1/tokens/{id}`, never the raw path), method and status class, rendered for
//! `/metrics`; plus the in-flight, total and open-connection figures `/status` shows.
//!
//! Recording is a read-locked map lookup and a few relaxed atomic adds; a new series (first
//! request of a route) takes the write lock once. Requests no route matched share one
//! series, so the number of series is bounded by the routes.

use super::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::IncomingStream;
use axum::Router;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Upper bounds of the latency buckets, in seconds.
const BOUNDS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The route label of requests no route matched.
const UNMATCHED: &str = "unmatched";

/// One (route, method, status class) series.
#[derive(Default)]
struct Series {
    /// Requests per bucket (not cumulative; the last counts those above every bound).
    buckets: [AtomicU64; BOUNDS.len() + 1],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

type Key = (String, String, u8);

/// The server's HTTP figures.
pub struct HttpMetrics {
    series: RwLock<HashMap<Key, Arc<Series>>>,
    in_flight: AtomicI64,
    total: AtomicU64,
    open: AtomicI64,
    started: Instant,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            series: RwLock::new(HashMap::new()),
            in_flight: AtomicI64::new(0),
            total: AtomicU64::new(0),
            open: AtomicI64::new(0),
            started: Instant::now(),
        }
    }
}

impl HttpMetrics {
    /// Count one answered request.
    pub fn record(&self, route: &str, method: &str, status: u16, took: Duration) {
        let class = (status / 100).clamp(1, 5) as u8;
        let key = (route.to_string(), method.to_string(), class);
        let series = self.series.read().get(&key).cloned();
        let series = match series {
            Some(s) => s,
            None => self.series.write().entry(key).or_default().clone(),
        };
        let secs = took.as_secs_f64();
        let b = BOUNDS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BOUNDS.len());
        series.buckets[b].fetch_add(1, Ordering::Relaxed);
        series.count.fetch_add(1, Ordering::Relaxed);
        series.sum_nanos.fetch_add(
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests being handled now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed).max(0) as u64
    }

    /// Requests answered since the start.
    pub fn requests_total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// TCP connections open now (counted by [`HttpMetrics::connection_opened`]).
    pub fn open_connections(&self) -> u64 {
        self.open.load(Ordering::Relaxed).max(0) as u64
    }

    /// A connection was accepted; the guard counts it closed when dropped.
    pub fn connection_opened(self: &Arc<Self>) -> OpenConnection {
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self.clone())
    }

    /// Time since the server started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Append the HTTP series to a Prometheus text exposition.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP neurograph_http_requests_in_flight HTTP requests being handled.\n\
             # TYPE neurograph_http_requests_in_flight gauge\n\
             neurograph_http_requests_in_flight {}",
            self.in_flight()
        );
        let _ = writeln!(
            out,
            "# HELP neurograph_http_open_connections TCP connections open.\n\
             # TYPE neurograph_http_open_connections gauge\n\
             neurograph_http_open_connections {}",
            self.open_connections()
        );
        let mut rows: Vec<(Key, Arc<Series>)> = self
            .series
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let label = |(route, method, class): &Key| {
            format!(
                "route=\"{}\",method=\"{}\",status=\"{class}xx\"",
                escape(route),
                escape(method)
            )
        };
        let _ = writeln!(
            out,
            "# HELP neurograph_http_requests_total HTTP requests by route template, method and status class.\n\
             # TYPE neurograph_http_requests_total counter"
        );
        for (k, s) in &rows {
            let _ = writeln!(
                out,
                "neurograph_http_requests_total{{{}}} {}",
                label(k),
                s.count.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP neurograph_http_request_duration_seconds HTTP request latency by route template, method and status class.\n\
             # TYPE neurograph_http_request_duration_seconds histogram"
        );
        for (k, s) in &rows {
            let l = label(k);
            let mut cum = 0u64;
            for (i, b) in BOUNDS.iter().enumerate() {
                cum += s.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "neurograph_http_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {cum}"
                );
            }
            cum += s.buckets[BOUNDS.len()].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "neurograph_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {cum}\n\
                 neurograph_http_request_duration_seconds_sum{{{l}}} {}\n\
                 neurograph_http_request_duration_seconds_count{{{l}}} {cum}",
                s.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9
            );
        }
    }
}

/// Counts a connection as open until dropped.
pub struct OpenConnection(Arc<HttpMetrics>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The make-service of [`axum::serve`]: each connection gets the router with its peer's
/// address as `ConnectInfo<SocketAddr>` (as `into_make_service_with_connect_info` gives it),
/// and holds an [`OpenConnection`] until hyper drops the connection's service.
#[derive(Clone)]
pub struct CountConnections {
    router: Router,
    metrics: Arc<HttpMetrics>,
}

impl CountConnections {
    /// Serve `router`, counting connections in `metrics`.
    pub fn new(router: Router, metrics: Arc<HttpMetrics>) -> Self {
        CountConnections { router, metrics }
    }
}

impl tower::Service<IncomingStream<'_, TcpListener>> for CountConnections {
    type Response = Counted;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Counted, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'_, TcpListener>) -> Self::Future {
        std::future::ready(Ok(Counted {
            router: self.router.clone(),
            peer: *stream.remote_addr(),
            _open: Arc::new(self.metrics.connection_opened()),
        }))
    }
}

/// One connection's service, counted open while any clone of it lives.
#[derive(Clone)]
pub struct Counted {
    router: Router,
    peer: SocketAddr,
    _open: Arc<OpenConnection>,
}

impl tower::Service<Request> for Counted {
    type Response = Response;
    type Error = Infallible;
    type Future = <Router as tower::Service<Request>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        tower::Service::<Request>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        self.router.call(req)
    }
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Keeps the in-flight gauge right even when a request's future is dropped (client gone).
struct InFlight<'a>(&'a AtomicI64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn track(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    app.http.in_flight.fetch_add(1, Ordering::Relaxed);
    let _guard = InFlight(&app.http.in_flight);
    let resp = next.run(req).await;
    app.http.record(
        route.as_deref().unwrap_or(UNMATCHED),
        &method,
        resp.status().as_u16(),
        start.elapsed(),
    );
    resp
}

/// The metrics middleware: it runs after routing, so the route template is known. It also
/// gives the event bus's metrics ticker the request total (for `requests_per_s`).
pub fn layer(app: Router<AppState>, state: &AppState) -> Router<AppState> {
    let http = state.http.clone();
    state.bus.set_request_counter(move || http.requests_total());
    app.layer(axum::middleware::from_fn_with_state(state.clone(), track))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_labels_escaped() {
        let m = HttpMetrics::default();
        m.record("/a/{id}", "GET", 200, Duration::from_micros(50));
        m.record("/a/{id}", "GET", 204, Duration::from_millis(2));
        m.record("/a\"b", "POST", 503, Duration::from_secs(9));
        let mut s = String::new();
        m.render(&mut s);
        assert!(s.contains(
            "neurograph_http_requests_total{route=\"/a/{id}\",method=\"GET\",status=\"2xx\"} 2"
        ));
        assert!(s.contains("route=\"/a/{id}\",method=\"GET\",status=\"2xx\",le=\"0.0001\"} 1"));
        assert!(s.contains("route=\"/a/{id}\",method=\"GET\",status=\"2xx\",le=\"0.0025\"} 2"));
        assert!(s.contains("route=\"/a\\\"b\",method=\"POST\",status=\"5xx\",le=\"5\"} 0"));
        assert!(s.contains("route=\"/a\\\"b\",method=\"POST\",status=\"5xx\",le=\"+Inf\"} 1"));
        assert_eq!(m.requests_total(), 3);
    }
}
