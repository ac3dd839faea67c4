//! The `metrics` channel's ticker and the bus's own Prometheus counters.

use super::{Bus, Channel};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl Bus {
    /// The stream's counters in Prometheus text format (appended to `/metrics`).
    pub fn prometheus(&self) -> String {
        let st = self.stats();
        let mut out = String::with_capacity(640);
        for (name, kind, help, v) in [
            (
                "neurograph_events_total",
                "counter",
                "Events numbered by the bus.",
                st.seq,
            ),
            (
                "neurograph_events_ring",
                "gauge",
                "Events held for replay.",
                st.ring_len as u64,
            ),
            (
                "neurograph_ws_clients",
                "gauge",
                "Open WebSocket connections.",
                st.clients as u64,
            ),
            (
                "neurograph_ws_lagged_total",
                "counter",
                "Times a client was told to resync (lagged).",
                st.lagged,
            ),
            (
                "neurograph_ws_gaps_total",
                "counter",
                "Resumes the ring could not serve.",
                st.gaps,
            ),
            (
                "neurograph_events_sampled_out_total",
                "counter",
                "Offered events dropped by sampling.",
                st.sampled_out,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        }
        out
    }

    /// Publish `metrics` every `metrics_interval` while someone subscribes to them, until
    /// [`Bus::detach`]. Spawn it on the server's runtime.
    pub async fn run_metrics(self: Arc<Self>) {
        let mut closing = self.closing();
        let mut tick = tokio::time::interval(self.config.metrics_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last: Option<(std::time::Instant, u64, Option<u64>)> = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = closing.wait_for(|c| *c) => return,
            }
            if self.subscribers[Channel::Metrics as usize].load(Ordering::Relaxed) == 0 {
                last = None;
                continue;
            }
            let now = std::time::Instant::now();
            let seq = self.seq();
            let requests = self.requests.lock().as_ref().map(|f| f());
            let mut data = serde_json::json!({
                "tokens": self.counts.tokens.load(Ordering::Relaxed),
                "connections": self.counts.connections.load(Ordering::Relaxed),
                "cdna_revision": self.counts.cdna_revision.load(Ordering::Relaxed),
                "memory_bytes": crate::metrics::resident_bytes(),
                "ws_clients": self.clients.load(Ordering::Relaxed),
            });
            if let Some((t0, seq0, req0)) = last {
                let dt = now.duration_since(t0).as_secs_f64().max(1e-9);
                data["events_per_s"] = ((seq - seq0) as f64 / dt).into();
                if let (Some(r0), Some(r)) = (req0, requests) {
                    data["requests_per_s"] = (r.saturating_sub(r0) as f64 / dt).into();
                }
            }
            last = Some((now, seq, requests));
            self.push(
                Channel::Metrics.bit(),
                Channel::Metrics,
                "metrics",
                "server",
                &data.to_string(),
            );
        }
    }
}
