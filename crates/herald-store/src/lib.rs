//! Herald's storage interface.
//!
//! One trait, [`Store`], implemented by `herald-sqlite` (the embedded default) and by
//! a PostgreSQL backend for scale-out; one conformance suite ([`conformance`]) that
//! every implementation must pass. This crate contains no SQL and does not depend on
//! any database driver: the API and delivery crates only ever see this trait.
//!
//! The delivery queue is rows ([`Delivery`]): a message and its deliveries commit in
//! one transaction (the outbox), workers lease due rows for a short time, make the
//! HTTP call outside any transaction, then record the attempt and the delivery's new
//! state together. An expired lease makes a row claimable again, so a crashed worker
//! delays a delivery but never loses it.

pub mod codec;
pub mod conformance;
mod query;
pub mod secrets;
mod upkeep;

use async_trait::async_trait;
use herald_core::{
    AppId, Application, Attempt, Delivery, DeliveryStatus, Endpoint, EndpointId, EventType, Message,
    MessageId, SourceId, Timestamp,
};
use herald_inbound::{RejectedRequest, Source};

pub use query::{AttemptFilter, Cursor, MessageFilter, Order, Page, PageQuery};
pub use secrets::{SecretCipher, SecretKey};
pub use upkeep::{PurgeCounts, PurgeRequest, QueueStats};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What can go wrong in a store, in terms the API can answer with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken: an application or endpoint `uid`, an event type name,
    /// a message `eventId`.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The object to change does not exist (any more).
    #[error("not found")]
    NotFound,
    /// A row could not be read back into a domain value.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The store was opened with a secret key other than the one its endpoint
    /// secrets were written with (see [`secrets`]); it refuses to start.
    #[error("the secret key does not match the one this database was written with")]
    SecretKeyMismatch,
    /// The database failed (I/O, connection, lock); the source says how.
    #[error("storage backend error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A response kept for an `Idempotency-Key`, replayed to a retry of the same request.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// What claiming an idempotency key found (see [`Store::claim_idempotent`]).
#[derive(Clone, Debug, PartialEq)]
pub enum IdempotencyClaim {
    /// The caller holds the key: run the request, then store or release.
    Claimed,
    /// An earlier request's answer, to replay.
    Stored(StoredResponse),
    /// Another request holds a live claim and has not answered yet.
    InProgress,
}

/// The status kept for a claim that has no answer yet (no HTTP status is 0).
pub const CLAIM_STATUS: u16 = 0;

/// The new state of a delivery after an attempt, recorded with the attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryUpdate {
    pub status: DeliveryStatus,
    /// When the next attempt is due (pending), or `None` once settled.
    pub next_attempt_at: Option<Timestamp>,
}

/// Counts of deliveries by status, for endpoint stats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub success: u64,
    pub pending: u64,
    pub failed: u64,
    pub sending: u64,
    /// Settled without an attempt: the endpoint's filter or transformation skipped them.
    pub filtered: u64,
}

impl DeliveryCounts {
    /// Builds the counts from `(status, count)` rows, as a `GROUP BY status` returns them.
    pub fn from_rows(rows: impl IntoIterator<Item = (DeliveryStatus, u64)>) -> Self {
        let mut counts = Self::default();
        for (status, n) in rows {
            match status {
                DeliveryStatus::Success => counts.success = n,
                DeliveryStatus::Pending => counts.pending = n,
                DeliveryStatus::Failed => counts.failed = n,
                DeliveryStatus::Sending => counts.sending = n,
                DeliveryStatus::Filtered => counts.filtered = n,
            }
        }
        counts
    }
}

/// Messages created and attempts made during one time bucket (dashboard charts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivityBucket {
    /// The bucket's first millisecond: `since + k * bucket`.
    pub start: Timestamp,
    pub messages: u64,
    /// Attempts that succeeded / failed in the bucket.
    pub succeeded: u64,
    pub failed: u64,
}

impl ActivityBucket {
    /// Joins per-bucket message counts `(bucket, messages)` and attempt counts
    /// `(bucket, succeeded, failed)`, buckets numbered from `since`, into one
    /// ascending list (what both stores' `activity` queries return).
    pub fn merge(
        since: Timestamp,
        bucket_ms: i64,
        messages: &[(i64, u64)],
        attempts: &[(i64, u64, u64)],
    ) -> Vec<Self> {
        let mut by_bucket = std::collections::BTreeMap::<i64, Self>::new();
        let empty = |b: i64| Self {
            start: Timestamp(since.millis().saturating_add(b.saturating_mul(bucket_ms))),
            messages: 0,
            succeeded: 0,
            failed: 0,
        };
        for &(b, n) in messages {
            by_bucket.entry(b).or_insert_with(|| empty(b)).messages = n;
        }
        for &(b, succeeded, failed) in attempts {
            let bucket = by_bucket.entry(b).or_insert_with(|| empty(b));
            bucket.succeeded = succeeded;
            bucket.failed = failed;
        }
        by_bucket.into_values().collect()
    }
}

/// Storage for everything Herald keeps. Every method is one short transaction (or
/// one read); none is ever held open across an HTTP call.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- applications ----------------------------------------------------------

    /// Inserts an application. `Conflict` if its `uid` is taken.
    async fn create_app(&self, app: &Application) -> Result<()>;
    /// Looks an application up by id or by uid.
    async fn get_app(&self, id_or_uid: &str) -> Result<Option<Application>>;
    async fn list_apps(&self, page: &PageQuery) -> Result<Page<Application>>;
    /// Replaces every field but `id` and `created_at`. `NotFound`, or `Conflict` on uid.
    async fn update_app(&self, app: &Application) -> Result<()>;
    /// Deletes the application and all it owns (endpoints, messages, deliveries,
    /// attempts, sources with their dedup keys and rejected-requests logs).
    /// `NotFound` if absent.
    async fn delete_app(&self, id: &AppId) -> Result<()>;

    // ---- event types -----------------------------------------------------------

    /// `Conflict` if the name exists (archived or not).
    async fn create_event_type(&self, et: &EventType) -> Result<()>;
    async fn get_event_type(&self, name: &str) -> Result<Option<EventType>>;
    /// Ordered by name; the cursor is a name.
    async fn list_event_types(&self, page: &PageQuery, include_archived: bool) -> Result<Page<EventType>>;
    /// Replaces every field but `name` and `created_at`. `NotFound` if absent.
    async fn update_event_type(&self, et: &EventType) -> Result<()>;
    /// Removes the row for good (`expunge`); archiving is an update.
    async fn delete_event_type(&self, name: &str) -> Result<()>;

    // ---- endpoints -------------------------------------------------------------

    /// `Conflict` if its `uid` is taken within the application.
    async fn create_endpoint(&self, ep: &Endpoint) -> Result<()>;
    /// Looks an endpoint of `app` up by id or uid.
    async fn get_endpoint(&self, app: &AppId, id_or_uid: &str) -> Result<Option<Endpoint>>;
    async fn list_endpoints(&self, app: &AppId, page: &PageQuery) -> Result<Page<Endpoint>>;
    /// Every endpoint of the application, disabled ones included, for routing.
    async fn all_endpoints(&self, app: &AppId) -> Result<Vec<Endpoint>>;
    /// Endpoints by id, in any order; missing ids are skipped.
    async fn endpoints_by_id(&self, ids: &[EndpointId]) -> Result<Vec<Endpoint>>;
    /// Replaces every field but `id`, `app_id`, `created_at` and the health fields
    /// (`failing_since`, `disabled_reason`: the delivery engine's), secrets included.
    /// Re-enabling a disabled endpoint clears both health fields: it starts afresh.
    async fn update_endpoint(&self, ep: &Endpoint) -> Result<()>;
    /// Deletes the endpoint with its deliveries and attempts. `NotFound` if absent.
    async fn delete_endpoint(&self, app: &AppId, id: &EndpointId) -> Result<()>;

    // ---- endpoint health ----------------------------------------------------------

    /// Records an endpoint's health: `Some(t)` marks it failing since `t` unless it
    /// already is (the earlier time stays), `None` marks it healthy. Returns the
    /// stored `failing_since` afterwards, so a worker learns what another process
    /// recorded first. `NotFound` if the endpoint is gone. `updated_at` is untouched.
    async fn set_endpoint_failing(
        &self,
        id: &EndpointId,
        since: Option<Timestamp>,
    ) -> Result<Option<Timestamp>>;
    /// Disables the endpoint and fails its pending deliveries, which are then not
    /// attempted (`recover` brings them back once it is enabled again). If it was
    /// enabled, it also records `reason` and sets `updated_at` to `now`, and `true`
    /// is returned; if it was disabled already only the pending deliveries change
    /// (the API disabled it just before) and the answer is `false`. `NotFound` if absent.
    async fn disable_endpoint(&self, id: &EndpointId, reason: Option<&str>, now: Timestamp) -> Result<bool>;

    // ---- messages and the delivery queue ---------------------------------------

    /// The outbox write: inserts the message and one pending delivery per endpoint,
    /// due at `msg.created_at`, in one transaction. With `lease_until`, the
    /// deliveries are created already leased (the caller dispatches them itself at
    /// once; if it dies, the lease expires and any worker resumes them).
    /// `Conflict("message eventId")` if the application already has `event_id`.
    ///
    /// An inbound message whose origin carries a dedup claim also claims its key for
    /// its source in the same transaction: `Conflict("source dedup key")`, writing
    /// nothing, when the source holds a claim on that key still valid at
    /// `msg.created_at`; an expired claim is replaced.
    async fn create_message(
        &self,
        msg: &Message,
        endpoints: &[EndpointId],
        lease_until: Option<Timestamp>,
    ) -> Result<Vec<Delivery>>;
    /// A message of `app` by id, or by `eventId` when `id_or_event_id` is not an id.
    async fn get_message(&self, app: &AppId, id_or_event_id: &str) -> Result<Option<Message>>;
    /// Messages by id, in any order; missing ids are skipped.
    async fn messages_by_id(&self, ids: &[MessageId]) -> Result<Vec<Message>>;
    /// Newest first by default.
    async fn list_messages(
        &self,
        app: &AppId,
        filter: &MessageFilter,
        page: &PageQuery,
    ) -> Result<Page<Message>>;
    /// Removes a message's payload for good (`expunge-content`).
    async fn expunge_payload(&self, app: &AppId, id: &MessageId) -> Result<()>;

    /// Leases up to `limit` deliveries that are pending, due at `now`, and not
    /// leased (or whose lease expired), until `lease_until`. Oldest due first.
    async fn claim_due(&self, now: Timestamp, lease_until: Timestamp, limit: usize) -> Result<Vec<Delivery>>;
    /// Frees the leases of these (message, endpoint) deliveries, still pending, so any
    /// worker may claim them at once: a process shutting down gives back the work it
    /// took but did not start.
    async fn release_leases(&self, deliveries: &[(MessageId, EndpointId)]) -> Result<()>;
    /// Makes each (message, endpoint, at) delivery, if still pending, due at `at`
    /// instead, and frees its lease; attempts are not counted. Flow control gives
    /// work back this way when an endpoint has more than it can take now.
    async fn postpone(&self, deliveries: &[(MessageId, EndpointId, Timestamp)]) -> Result<()>;
    /// The earliest `next_attempt_at` among pending deliveries, leased or not.
    async fn next_due(&self) -> Result<Option<Timestamp>>;
    /// Records an attempt and the delivery's new state in one transaction, and
    /// releases the lease. `attempts` is incremented.
    async fn record_attempt(&self, attempt: &Attempt, update: &DeliveryUpdate) -> Result<()>;
    /// Settles the (message, endpoint) delivery as `Filtered` without an attempt (the
    /// endpoint's filter or transformation chose not to send it) and releases the
    /// lease; `attempts` is unchanged. `NotFound` if the delivery is gone.
    async fn record_filtered(&self, msg: &MessageId, endpoint: &EndpointId, now: Timestamp) -> Result<()>;
    /// Makes the (message, endpoint) delivery due at `now` as a manual attempt,
    /// creating it if the endpoint was never a destination of the message.
    async fn schedule_resend(&self, msg: &Message, endpoint: &EndpointId, now: Timestamp)
    -> Result<Delivery>;
    /// Makes every failed delivery of the endpoint whose message was created in
    /// `[since, until)` due at `now`. Returns how many.
    async fn recover_failed(
        &self,
        endpoint: &EndpointId,
        since: Timestamp,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<u64>;

    // ---- reading deliveries and attempts ----------------------------------------

    /// A message's deliveries with their endpoints (`/msg/{id}/endpoint`), ordered by endpoint id.
    async fn message_destinations(
        &self,
        msg: &MessageId,
        page: &PageQuery,
    ) -> Result<Page<(Delivery, Endpoint)>>;
    /// An endpoint's deliveries with their messages (`/endpoint/{id}/msg`), newest message first.
    async fn endpoint_messages(
        &self,
        endpoint: &EndpointId,
        filter: &MessageFilter,
        status: Option<DeliveryStatus>,
        page: &PageQuery,
    ) -> Result<Page<(Delivery, Message)>>;
    /// Attempts of an application matching the filter, newest first.
    async fn list_attempts(
        &self,
        app: &AppId,
        filter: &AttemptFilter,
        page: &PageQuery,
    ) -> Result<Page<Attempt>>;
    /// Attempts of every application matching the filter, ordered by id as the page
    /// says: the operator's live stream of attempts reads it with an `After` cursor.
    async fn list_all_attempts(&self, filter: &AttemptFilter, page: &PageQuery) -> Result<Page<Attempt>>;
    async fn get_attempt(&self, app: &AppId, id: &str) -> Result<Option<Attempt>>;
    /// Removes an attempt's response body for good.
    async fn expunge_attempt_content(&self, app: &AppId, id: &str) -> Result<()>;
    /// Delivery counts by status for an endpoint, for messages created in `[since, until)`.
    async fn endpoint_stats(
        &self,
        endpoint: &EndpointId,
        since: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> Result<DeliveryCounts>;

    // ---- idempotency and access tokens -----------------------------------------

    /// The response stored for an idempotency key, if it has not expired (a live
    /// claim without an answer yet is `None`).
    async fn get_idempotent(&self, key: &str, now: Timestamp) -> Result<Option<StoredResponse>>;
    /// Stores a response for a key, completing the caller's claim; otherwise the first
    /// writer wins while its entry lives.
    async fn put_idempotent(&self, key: &str, response: &StoredResponse, expires_at: Timestamp)
    -> Result<()>;
    /// Claims a key for a request about to run, until `claim_until`, atomically across
    /// every process sharing the store: [`IdempotencyClaim::Claimed`] when the key has
    /// no live entry (an expired one is taken over), `Stored` when an answer is kept,
    /// `InProgress` while another request's claim lives.
    async fn claim_idempotent(
        &self,
        key: &str,
        now: Timestamp,
        claim_until: Timestamp,
    ) -> Result<IdempotencyClaim>;
    /// Drops a claim that will get no stored answer (the request failed), so that a
    /// retry runs again; a stored answer is left alone.
    async fn release_idempotent(&self, key: &str) -> Result<()>;
    /// Stores an application-scoped token by its hash.
    async fn create_app_token(&self, token_hash: &str, app: &AppId, expires_at: Timestamp) -> Result<()>;
    /// The application an unexpired token hash belongs to.
    async fn app_for_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<AppId>>;
    /// Revokes a token (logout); an unknown hash is not an error.
    async fn delete_app_token(&self, token_hash: &str) -> Result<()>;

    // ---- insights (the operator dashboard) -------------------------------------------
    //
    // Reads across every application. Time windows are bounded below through the ids
    // (prefixed KSUIDs sort by creation time, see `herald_core::id`), so a window
    // scans the primary-key range of recent rows, not the whole table.

    /// Messages created, and attempts made, in `[since, until)`, counted per bucket of
    /// `bucket_ms` starting at `since`. Only buckets with something in them, oldest first.
    async fn activity(
        &self,
        since: Timestamp,
        until: Timestamp,
        bucket_ms: i64,
    ) -> Result<Vec<ActivityBucket>>;
    /// Durations of the newest `limit` attempts made since `since`, newest first
    /// (latency percentiles are computed from this sample).
    async fn attempt_durations(&self, since: Timestamp, limit: usize) -> Result<Vec<u64>>;
    /// Deliveries of every application counted by status (queue depth: pending + sending).
    async fn delivery_totals(&self) -> Result<DeliveryCounts>;
    /// Endpoints of any application that are disabled or failing, up to `limit`: failing
    /// ones first (longest failing first), then disabled ones by id.
    async fn endpoints_needing_attention(&self, limit: usize) -> Result<Vec<Endpoint>>;
    /// Messages of one application or of all, newest first by default, matching the
    /// filter and, with `status`, having at least one delivery in that status.
    async fn search_messages(
        &self,
        app: Option<&AppId>,
        filter: &MessageFilter,
        status: Option<DeliveryStatus>,
        page: &PageQuery,
    ) -> Result<Page<Message>>;

    // ---- inbound sources ---------------------------------------------------------

    /// Inserts a source. `Conflict("source uid")` if its `uid` is taken.
    async fn create_source(&self, source: &Source) -> Result<()>;
    /// Looks a source up by id or by uid.
    async fn get_source(&self, id_or_uid: &str) -> Result<Option<Source>>;
    /// Sources ordered by id, those of one application when `app` is given.
    async fn list_sources(&self, app: Option<&AppId>, page: &PageQuery) -> Result<Page<Source>>;
    /// Replaces every field but `id`, `app_id`, `created_at` and `rejected_total`.
    /// `NotFound`, or `Conflict("source uid")`.
    async fn update_source(&self, source: &Source) -> Result<()>;
    /// Deletes the source with its dedup claims and rejected-requests log; the
    /// messages it received stay. `NotFound` if absent.
    async fn delete_source(&self, id: &SourceId) -> Result<()>;
    /// The message holding the source's claim on a dedup key, if the claim is still
    /// valid at `now` (see [`Store::create_message`]).
    async fn dedup_claimant(&self, source: &SourceId, key: &str, now: Timestamp)
    -> Result<Option<MessageId>>;
    /// Appends a refused request to its source's log, keeping only the newest `keep`
    /// entries of that source, and adds one to the source's `rejected_total`. A
    /// source deleted meanwhile makes this do nothing.
    async fn record_rejection(&self, rejected: &RejectedRequest, keep: usize) -> Result<()>;
    /// A source's rejected-requests log, newest first by default; the cursor is an id.
    async fn list_rejections(&self, source: &SourceId, page: &PageQuery) -> Result<Page<RejectedRequest>>;

    // ---- upkeep ------------------------------------------------------------------

    /// Purges what has expired, at most `request.limit` rows of each kind, in one
    /// short transaction (callers loop, pausing between calls, until the counts stay
    /// below the limit):
    /// - the payloads of messages whose `expires_at` is at or before `now` (or which
    ///   have none and were created before `older_than`), unless the message still
    ///   has a pending delivery — a payload is never purged from under a retry;
    /// - the response bodies of attempts created before `older_than`;
    /// - idempotency keys and app tokens expired at `now`.
    ///
    /// Purged payloads read as `None`, purged bodies as `""`, exactly as after the
    /// API's expunge calls. Several processes may purge at once (PostgreSQL): rows
    /// one of them holds are skipped by the others, never waited for.
    async fn purge_expired(&self, request: &PurgeRequest) -> Result<PurgeCounts>;
    /// The delivery queue's size at `now` and the disabled endpoints, counted by one
    /// read (for metrics, sampled every few seconds; it scans the pending rows).
    async fn queue_stats(&self, now: Timestamp) -> Result<QueueStats>;

    // ---- health ------------------------------------------------------------------

    /// A cheap round trip proving the store answers.
    async fn ping(&self) -> Result<()>;
}
