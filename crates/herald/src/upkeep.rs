//! Background upkeep, beside the API and the delivery workers:
//!
//! - **Retention** ([`retention`]): purges expired payloads, old attempt response
//!   bodies and expired idempotency keys and app tokens, in bounded batches
//!   ([`Store::purge_expired`], `BATCH` rows of each kind per call, one short
//!   transaction) with a pause between batches, so delivery writes are never held
//!   up for long; then sleeps until the next sweep.
//! - **Queue sampling** ([`sample`]): every few seconds, one cheap read
//!   ([`Store::queue_stats`]) sets the queue-depth, lease and disabled-endpoint
//!   gauges, and the Prometheus recorder's upkeep runs.
//!
//! Both stop when `shutdown` is cancelled, in the middle of a pause if need be.

use std::sync::Arc;
use std::time::Duration;

use herald_core::Timestamp;
use herald_store::{PurgeCounts, PurgeRequest, Store};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Rows of each kind one purge call touches, at most.
const BATCH: usize = 1_000;
/// The pause between two purge calls of one sweep.
const PAUSE: Duration = Duration::from_millis(200);
/// How often queue figures are sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(10);

const QUEUE_DUE: &str = "herald_queue_due";
const QUEUE_SCHEDULED: &str = "herald_queue_scheduled";
const LEASES_HELD: &str = "herald_leases_held";
const ENDPOINTS_DISABLED: &str = "herald_endpoints_disabled";
const PURGED: &str = "herald_retention_purged_total";

/// How the retention task runs.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    /// Attempt response bodies older than this are emptied (payloads follow their
    /// message's own expiry, which the API sets from the same period by default).
    pub period: Duration,
    /// Time between sweeps.
    pub every: Duration,
}

/// Starts the upkeep tasks on `tasks`: the sampler always, retention when asked.
pub fn spawn(
    tasks: &TaskTracker,
    store: Arc<dyn Store>,
    retention: Option<Retention>,
    metrics: PrometheusHandle,
    shutdown: CancellationToken,
) {
    tasks.spawn(sample(store.clone(), metrics, shutdown.clone()));
    if let Some(retention) = retention {
        tasks.spawn(self::retention(store, retention, shutdown));
    }
}

/// Describes the metrics this module records (called once with the recorder).
pub fn describe() {
    metrics::describe_gauge!(QUEUE_DUE, "Pending deliveries due now that no worker holds.");
    metrics::describe_gauge!(QUEUE_SCHEDULED, "Pending deliveries due later (retries waiting).");
    metrics::describe_gauge!(LEASES_HELD, "Pending deliveries leased to a worker.");
    metrics::describe_gauge!(ENDPOINTS_DISABLED, "Disabled endpoints.");
    metrics::describe_counter!(PURGED, "Rows purged by retention, by kind.");
}

/// Samples the queue figures until shutdown.
pub async fn sample(store: Arc<dyn Store>, metrics: PrometheusHandle, shutdown: CancellationToken) {
    loop {
        match store.queue_stats(Timestamp::now()).await {
            Ok(stats) => {
                metrics::gauge!(QUEUE_DUE).set(stats.due as f64);
                metrics::gauge!(QUEUE_SCHEDULED).set(stats.scheduled as f64);
                metrics::gauge!(LEASES_HELD).set(stats.leased as f64);
                metrics::gauge!(ENDPOINTS_DISABLED).set(stats.disabled_endpoints as f64);
            }
            Err(e) => tracing::warn!(error = %e, "could not sample the queue for metrics"),
        }
        metrics.run_upkeep();
        if !pause(&shutdown, SAMPLE_EVERY).await {
            return;
        }
    }
}

/// Sweeps until shutdown: each sweep purges batch after batch until a batch comes
/// back short, then the task sleeps until the next one.
pub async fn retention(store: Arc<dyn Store>, retention: Retention, shutdown: CancellationToken) {
    loop {
        let swept = sweep(store.as_ref(), retention.period, &shutdown).await;
        if swept.total() > 0 {
            tracing::info!(
                payloads = swept.payloads,
                responses = swept.responses,
                idempotency_keys = swept.idempotency_keys,
                app_tokens = swept.app_tokens,
                "retention purged expired data"
            );
        }
        if !pause(&shutdown, retention.every).await {
            return;
        }
    }
}

/// One sweep: batches with a pause between them, until one is short (or shutdown).
async fn sweep(store: &dyn Store, period: Duration, shutdown: &CancellationToken) -> PurgeCounts {
    let mut swept = PurgeCounts::default();
    loop {
        let now = Timestamp::now();
        let request = PurgeRequest { now, older_than: now.minus(period), limit: BATCH };
        let counts = match store.purge_expired(&request).await {
            Ok(counts) => counts,
            Err(e) => {
                tracing::warn!(error = %e, "retention: the purge failed; trying again at the next sweep");
                return swept;
            }
        };
        swept.add(&counts);
        for (kind, n) in [
            ("payload", counts.payloads),
            ("response", counts.responses),
            ("idempotency_key", counts.idempotency_keys),
            ("app_token", counts.app_tokens),
        ] {
            metrics::counter!(PURGED, "kind" => kind).increment(n);
        }
        if !counts.reached(BATCH) || !pause(shutdown, PAUSE).await {
            return swept;
        }
    }
}

/// Sleeps for `d`; false if shutdown came first.
async fn pause(shutdown: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}
