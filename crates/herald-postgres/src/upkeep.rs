//! Housekeeping: the retention purge, in bounded batches, and the queue figures
//! metrics sample.
//!
//! The purge is one statement of data-modifying CTEs, each picking at most `limit`
//! rows through an index of `migrations/005_retention.sql` (attempts: `007`). The rows are locked
//! `FOR UPDATE SKIP LOCKED`: processes purging at once take different rows, and a
//! row a worker is updating (an attempt being recorded) is left for the next round
//! rather than waited for.

use herald_core::Timestamp;
use herald_store::{PurgeCounts, PurgeRequest, QueueStats};
use sqlx::PgPool;

use crate::sql::{Result, db, int};

pub(crate) async fn purge(pool: &PgPool, request: &PurgeRequest) -> Result<PurgeCounts> {
    let counts: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "WITH expired AS (
           UPDATE message SET payload = NULL WHERE id IN (
             SELECT m.id FROM message m
             WHERE m.payload IS NOT NULL AND m.expires_at <= $1
               AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.msg_id = m.id AND d.status = 1)
             ORDER BY m.expires_at LIMIT $3 FOR UPDATE SKIP LOCKED)
           RETURNING 1),
         old AS (
           UPDATE message SET payload = NULL WHERE id IN (
             SELECT m.id FROM message m
             WHERE m.payload IS NOT NULL AND m.expires_at IS NULL AND m.created_at < $2
               AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.msg_id = m.id AND d.status = 1)
             LIMIT $3 FOR UPDATE SKIP LOCKED)
           RETURNING 1),
         responses AS (
           UPDATE attempt SET response = '', request_body = NULL WHERE id IN (
             SELECT id FROM attempt WHERE (response <> '' OR request_body IS NOT NULL) AND created_at < $2
             ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED)
           RETURNING 1),
         keys AS (
           DELETE FROM idempotency WHERE key IN (
             SELECT key FROM idempotency WHERE expires_at <= $1
             ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED)
           RETURNING 1),
         tokens AS (
           DELETE FROM app_token WHERE hash IN (
             SELECT hash FROM app_token WHERE expires_at <= $1
             ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED)
           RETURNING 1)
         SELECT (SELECT COUNT(*) FROM expired), (SELECT COUNT(*) FROM old),
                (SELECT COUNT(*) FROM responses), (SELECT COUNT(*) FROM keys),
                (SELECT COUNT(*) FROM tokens)",
    )
    .bind(request.now.millis())
    .bind(request.older_than.millis())
    .bind(int(request.limit))
    .fetch_one(pool)
    .await
    .map_err(db)?;
    let n = |c: i64| u64::try_from(c).unwrap_or(0);
    let (expired, old, responses, keys, tokens) = counts;
    // Both payload kinds may reach the limit in one call; the counts say so honestly.
    Ok(PurgeCounts {
        payloads: n(expired) + n(old),
        responses: n(responses),
        idempotency_keys: n(keys),
        app_tokens: n(tokens),
    })
}

/// One pass over the pending deliveries (through the `delivery_due` index), one
/// count of the disabled endpoints.
pub(crate) async fn queue_stats(pool: &PgPool, now: Timestamp) -> Result<QueueStats> {
    let (due, scheduled, leased, disabled): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT
           COUNT(*) FILTER (WHERE next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)),
           COUNT(*) FILTER (WHERE next_attempt_at > $1 AND (lease_until IS NULL OR lease_until <= $1)),
           COUNT(*) FILTER (WHERE lease_until > $1),
           (SELECT COUNT(*) FROM endpoint WHERE disabled)
         FROM delivery WHERE status = 1",
    )
    .bind(now.millis())
    .fetch_one(pool)
    .await
    .map_err(db)?;
    let n = |c: i64| u64::try_from(c).unwrap_or(0);
    Ok(QueueStats {
        due: n(due),
        scheduled: n(scheduled),
        leased: n(leased),
        disabled_endpoints: n(disabled),
    })
}
