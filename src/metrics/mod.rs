//! Prometheus metrics: one process-wide registry that any module registers into, rendered in the text
//! exposition format at `/metrics` (operator listener).
//!
//! The families every part of the pool shares are created here; a module with its own (for example a
//! certificate-expiry gauge) calls `register` once at start-up. Counters are cheap atomics, so hot paths
//! (partials, store commits) update them directly.

use std::sync::{Mutex, OnceLock};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Metric, Registry};

type Labels = Vec<(&'static str, String)>;

/// The shared metric families.
pub struct Metrics {
    registry: Mutex<Registry>,
    /// Partials answered, by `result` (`accepted` or the protocol error name).
    pub partials: Family<Labels, Counter>,
    /// HTTP request latency by `route` (seconds).
    pub request_seconds: Family<Labels, Histogram, fn() -> Histogram>,
    /// Node and wallet RPC calls by `service`, `endpoint` and `outcome` (ok or error).
    pub rpc_calls: Family<Labels, Counter>,
    /// Store group commits: latency and how many writes each carried.
    pub store_commit_seconds: Histogram,
    pub store_batch_size: Histogram,
    /// Open client connections on the farmer API listener.
    pub open_connections: Gauge,
    /// Members by `state` (pooling, leaving, left).
    pub members: Family<Labels, Gauge>,
    /// Reward coins by forwarding `state`.
    pub forwards: Family<Labels, Gauge>,
    /// Payout batches by `state`.
    pub payout_batches: Family<Labels, Gauge>,
    /// Unix time of each background `job`'s last successful run.
    pub job_last_success: Family<Labels, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~26 s.
    Histogram::new(exponential_buckets(0.0001, 4.0, 10))
}

impl Metrics {
    fn new() -> Self {
        let m = Self {
            registry: Mutex::new(Registry::with_prefix("chia_pool")),
            partials: Family::default(),
            request_seconds: Family::new_with_constructor(latency_histogram),
            rpc_calls: Family::default(),
            store_commit_seconds: latency_histogram(),
            store_batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            open_connections: Gauge::default(),
            members: Family::default(),
            forwards: Family::default(),
            payout_batches: Family::default(),
            job_last_success: Family::default(),
        };
        m.register(
            "partials",
            "Partials answered, by result",
            m.partials.clone(),
        );
        m.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            m.request_seconds.clone(),
        );
        m.register(
            "rpc_calls",
            "Node and wallet RPC calls by service, endpoint and outcome",
            m.rpc_calls.clone(),
        );
        m.register(
            "store_commit_duration_seconds",
            "Latency of one group commit",
            m.store_commit_seconds.clone(),
        );
        m.register(
            "store_commit_batch_size",
            "Writes carried by one group commit",
            m.store_batch_size.clone(),
        );
        m.register(
            "open_connections",
            "Open client connections (farmer API and operator listeners)",
            m.open_connections.clone(),
        );
        m.register("members", "Members by PlotNFT state", m.members.clone());
        m.register(
            "reward_forwards",
            "Reward coins by forwarding state",
            m.forwards.clone(),
        );
        m.register(
            "payout_batches",
            "Payout transactions by state",
            m.payout_batches.clone(),
        );
        m.register(
            "job_last_success_timestamp_seconds",
            "Unix time of each background job's last successful run",
            m.job_last_success.clone(),
        );
        m
    }

    /// Adds a metric to the registry (names get the `chia_pool_` prefix).
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        if let Ok(mut r) = self.registry.lock() {
            r.register(name, help, metric);
        }
    }

    /// The text exposition of every registered metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        if let Ok(r) = self.registry.lock() {
            // Writing into a String cannot fail.
            let _ = encode(&mut out, &r);
        }
        out
    }

    pub fn partial(&self, result: &str) {
        self.partials
            .get_or_create(&vec![("result", result.to_string())])
            .inc();
    }

    pub fn rpc_call(&self, service: &str, endpoint: &str, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.rpc_calls
            .get_or_create(&vec![
                ("service", service.to_string()),
                ("endpoint", endpoint.to_string()),
                ("outcome", outcome.to_string()),
            ])
            .inc();
    }

    pub fn job_succeeded(&self, job: &str, unix_secs: u64) {
        self.job_last_success
            .get_or_create(&vec![("job", job.to_string())])
            .set(i64::try_from(unix_secs).unwrap_or(i64::MAX));
    }

    /// Sets a gauge family to exactly `values` (a state with no entry becomes 0).
    pub fn set_states(family: &Family<Labels, Gauge>, values: &[(&str, u64)]) {
        for (state, n) in values {
            family
                .get_or_create(&vec![("state", (*state).to_string())])
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
    }
}

/// Counts one open connection while it lives.
pub struct OpenConnection(());

impl OpenConnection {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        global().open_connections.inc();
        Self(())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        global().open_connections.dec();
    }
}

/// The process-wide metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_registered_families() {
        let m = super::global();
        m.partial("accepted");
        m.job_succeeded("confirm_partials", 1_700_000_000);
        let text = m.render();
        assert!(text.contains("chia_pool_partials_total{result=\"accepted\"}"));
        assert!(text.contains(
            "chia_pool_job_last_success_timestamp_seconds{job=\"confirm_partials\"} 1700000000"
        ));
        assert!(text.ends_with("# EOF\n"));
    }
}
