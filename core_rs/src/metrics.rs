//! Operation counters and latency histograms, rendered as Prometheus text exposition.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Operations that are timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Op {
    TokenCreate,
    TokenCreateMany,
    TokenGet,
    TokenUpdate,
    TokenDelete,
    TokenScan,
    ConnectionCreate,
    ConnectionCreateMany,
    ConnectionGet,
    ConnectionDelete,
    ConnectionScan,
    CdnaChange,
    SnapshotSave,
    SnapshotLoad,
    GridBuild,
    GridQuery,
    GraphBuild,
    GraphQuery,
}

impl Op {
    /// Every op, in enum order (checked at compile time below).
    pub const ALL: [Op; 18] = [
        Op::TokenCreate,
        Op::TokenCreateMany,
        Op::TokenGet,
        Op::TokenUpdate,
        Op::TokenDelete,
        Op::TokenScan,
        Op::ConnectionCreate,
        Op::ConnectionCreateMany,
        Op::ConnectionGet,
        Op::ConnectionDelete,
        Op::ConnectionScan,
        Op::CdnaChange,
        Op::SnapshotSave,
        Op::SnapshotLoad,
        Op::GridBuild,
        Op::GridQuery,
        Op::GraphBuild,
        Op::GraphQuery,
    ];

    /// The op's Prometheus label.
    pub const fn name(self) -> &'static str {
        match self {
            Op::TokenCreate => "token_create",
            Op::TokenCreateMany => "token_create_many",
            Op::TokenGet => "token_get",
            Op::TokenUpdate => "token_update",
            Op::TokenDelete => "token_delete",
            Op::TokenScan => "token_scan",
            Op::ConnectionCreate => "connection_create",
            Op::ConnectionCreateMany => "connection_create_many",
            Op::ConnectionGet => "connection_get",
            Op::ConnectionDelete => "connection_delete",
            Op::ConnectionScan => "connection_scan",
            Op::CdnaChange => "cdna_change",
            Op::SnapshotSave => "snapshot_save",
            Op::SnapshotLoad => "snapshot_load",
            Op::GridBuild => "grid_build",
            Op::GridQuery => "grid_query",
            Op::GraphBuild => "graph_build",
            Op::GraphQuery => "graph_query",
        }
    }
}

// `Op::ALL[i]` is op `i`, and the last op is last: the histograms are indexed by `op as usize`.
const _: () = {
    let mut i = 0;
    while i < Op::ALL.len() {
        assert!(Op::ALL[i] as usize == i);
        i += 1;
    }
    assert!(Op::GraphQuery as usize + 1 == Op::ALL.len());
};

/// Histogram bucket upper bounds in seconds (+Inf is implicit).
pub const BUCKETS: [f64; 14] = [
    1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_ns: AtomicU64,
    count: AtomicU64,
}

/// Lock-free per-operation latency histograms.
#[derive(Default)]
pub struct Metrics {
    ops: [Histogram; Op::ALL.len()],
}

/// Point-in-time figures that the storage supplies for the gauges.
#[derive(Clone, Debug, Default)]
pub struct Gauges {
    pub tokens: u64,
    pub connections: u64,
    pub labels: u64,
    pub events_total: u64,
    pub rejections_total: u64,
    pub cdna_revision: u64,
    /// (part, bytes) pairs, e.g. ("tokens", n).
    pub memory: Vec<(&'static str, u64)>,
}

impl Metrics {
    /// Record one observation.
    pub fn observe(&self, op: Op, seconds: f64) {
        let h = &self.ops[op as usize];
        let idx = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        h.buckets[idx].fetch_add(1, Ordering::Relaxed);
        h.sum_ns
            .fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
        h.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Run `f`, timing it as `op`.
    pub fn time<T>(&self, op: Op, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.observe(op, t.elapsed().as_secs_f64());
        out
    }

    /// A guard that records the time until it is dropped.
    pub fn timer(&self, op: Op) -> Timer<'_> {
        Timer {
            metrics: self,
            op,
            start: Instant::now(),
        }
    }

    /// How many times `op` ran.
    pub fn count(&self, op: Op) -> u64 {
        self.ops[op as usize].count.load(Ordering::Relaxed)
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self, g: &Gauges) -> String {
        let mut s = String::with_capacity(8192);
        let gauge = |s: &mut String, name: &str, help: &str, kind: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        gauge(
            &mut s,
            "neurograph_tokens",
            "Tokens in the runtime.",
            "gauge",
            g.tokens,
        );
        gauge(
            &mut s,
            "neurograph_connections",
            "Connections in the runtime.",
            "gauge",
            g.connections,
        );
        gauge(
            &mut s,
            "neurograph_labels",
            "Tokens that carry a label.",
            "gauge",
            g.labels,
        );
        gauge(
            &mut s,
            "neurograph_cdna_revision",
            "Revision of the active CDNA.",
            "gauge",
            g.cdna_revision,
        );
        gauge(
            &mut s,
            "neurograph_guardian_events_total",
            "Events recorded by the Guardian.",
            "counter",
            g.events_total,
        );
        gauge(
            &mut s,
            "neurograph_guardian_rejections_total",
            "Writes refused by the Guardian.",
            "counter",
            g.rejections_total,
        );
        let _ = writeln!(
            s,
            "# HELP neurograph_memory_bytes Memory held by the runtime's stores."
        );
        let _ = writeln!(s, "# TYPE neurograph_memory_bytes gauge");
        for (part, bytes) in &g.memory {
            let _ = writeln!(s, "neurograph_memory_bytes{{part=\"{part}\"}} {bytes}");
        }
        if let Some(rss) = resident_bytes() {
            gauge(
                &mut s,
                "neurograph_process_resident_memory_bytes",
                "Resident memory of the whole process.",
                "gauge",
                rss,
            );
        }
        let _ = writeln!(
            s,
            "# HELP neurograph_operation_seconds Latency of runtime operations."
        );
        let _ = writeln!(s, "# TYPE neurograph_operation_seconds histogram");
        for op in Op::ALL {
            let (h, name) = (&self.ops[op as usize], op.name());
            let mut cum = 0u64;
            for (j, le) in BUCKETS.iter().enumerate() {
                cum += h.buckets[j].load(Ordering::Relaxed);
                let _ = writeln!(
                    s,
                    "neurograph_operation_seconds_bucket{{op=\"{name}\",le=\"{le}\"}} {cum}"
                );
            }
            cum += h.buckets[BUCKETS.len()].load(Ordering::Relaxed);
            let _ = writeln!(
                s,
                "neurograph_operation_seconds_bucket{{op=\"{name}\",le=\"+Inf\"}} {cum}"
            );
            let sum = h.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
            let _ = writeln!(s, "neurograph_operation_seconds_sum{{op=\"{name}\"}} {sum}");
            let _ = writeln!(
                s,
                "neurograph_operation_seconds_count{{op=\"{name}\"}} {}",
                h.count.load(Ordering::Relaxed)
            );
        }
        s
    }
}

/// Records an operation's latency when dropped (see `Metrics::timer`).
pub struct Timer<'a> {
    metrics: &'a Metrics,
    op: Op,
    start: Instant,
}

impl Drop for Timer<'_> {
    fn drop(&mut self) {
        self.metrics
            .observe(self.op, self.start.elapsed().as_secs_f64());
    }
}

/// Resident set size of this process, from /proc (Linux), if available.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::default();
        m.observe(Op::TokenGet, 2e-6);
        m.observe(Op::TokenGet, 0.2);
        let text = m.render(&Gauges::default());
        assert!(text
            .contains("neurograph_operation_seconds_bucket{op=\"token_get\",le=\"0.000005\"} 1"));
        assert!(
            text.contains("neurograph_operation_seconds_bucket{op=\"token_get\",le=\"+Inf\"} 2")
        );
        assert!(text.contains("neurograph_operation_seconds_count{op=\"token_get\"} 2"));
        assert_eq!(m.count(Op::TokenGet), 2);
    }

    #[test]
    fn every_op_is_rendered_under_its_own_name() {
        // N5: names come from Op::name, not from a parallel array
        let text = Metrics::default().render(&Gauges::default());
        let mut names: Vec<&str> = Op::ALL.iter().map(|op| op.name()).collect();
        for name in &names {
            assert!(
                text.contains(&format!("_count{{op=\"{name}\"}} 0")),
                "{name}"
            );
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Op::ALL.len());
        assert_eq!(Op::ConnectionCreateMany.name(), "connection_create_many");
    }
}
