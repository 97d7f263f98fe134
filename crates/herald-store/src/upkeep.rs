//! What the store's housekeeping methods take and answer: retention purges
//! ([`crate::Store::purge_expired`]) and the queue figures that metrics sample
//! ([`crate::Store::queue_stats`]).

use herald_core::Timestamp;

/// One bounded purge: what has expired, and how much of it one call may touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PurgeRequest {
    /// Payloads whose message `expires_at` is at or before `now` are removed, and
    /// idempotency keys and app tokens expired by then are deleted.
    pub now: Timestamp,
    /// Attempt response bodies recorded before this are emptied; so are the
    /// payloads of messages without an `expires_at` created before it.
    pub older_than: Timestamp,
    /// At most this many rows of each kind are touched.
    pub limit: usize,
}

/// How many rows one purge touched, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    /// Message payloads removed.
    pub payloads: u64,
    /// Attempt response bodies emptied.
    pub responses: u64,
    /// Expired idempotency keys deleted.
    pub idempotency_keys: u64,
    /// Expired app-portal tokens deleted.
    pub app_tokens: u64,
}

impl PurgeCounts {
    pub fn total(&self) -> u64 {
        self.payloads + self.responses + self.idempotency_keys + self.app_tokens
    }

    /// Whether some kind reached `limit`, so more may be waiting.
    pub fn reached(&self, limit: usize) -> bool {
        let limit = u64::try_from(limit).unwrap_or(u64::MAX);
        [self.payloads, self.responses, self.idempotency_keys, self.app_tokens].iter().any(|&n| n >= limit)
    }

    /// Adds another purge's counts.
    pub fn add(&mut self, other: &PurgeCounts) {
        self.payloads += other.payloads;
        self.responses += other.responses;
        self.idempotency_keys += other.idempotency_keys;
        self.app_tokens += other.app_tokens;
    }
}

/// The delivery queue at one moment, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Pending deliveries due now and held by no worker: work waiting for a worker.
    pub due: u64,
    /// Pending deliveries due later and held by no worker (retries waiting for
    /// their time).
    pub scheduled: u64,
    /// Pending deliveries a worker holds a live lease on (being sent, or queued in
    /// a process to be sent). `due + scheduled + leased` is every pending delivery.
    pub leased: u64,
    /// Endpoints that are disabled (by the API or by Herald).
    pub disabled_endpoints: u64,
}
