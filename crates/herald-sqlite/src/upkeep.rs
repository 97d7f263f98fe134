//! Housekeeping: the retention purge, in bounded batches, and the queue figures
//! metrics sample. Each purge statement picks its rows through an index of
//! `migrations/005_retention.sql` (attempts: `007`) (`ORDER BY … LIMIT` in a subquery), so one call
//! costs `limit` rows of work whatever the size of the tables. The purge runs as one
//! writer command: a batch of other writes waits for it, which the caller's `limit`
//! keeps short.

use herald_core::Timestamp;
use herald_store::{PurgeCounts, PurgeRequest, QueueStats};
use rusqlite::{Connection, params};

use crate::sql::{DbResult, Result, int};

/// Payloads of messages expired at `?1`, unless a delivery is still pending.
const EXPIRED_PAYLOADS: &str = "UPDATE message SET payload = NULL WHERE id IN (
    SELECT m.id FROM message m
    WHERE m.payload IS NOT NULL AND m.expires_at <= ?1
      AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.msg_id = m.id AND d.status = 1)
    ORDER BY m.expires_at LIMIT ?2)";
/// Payloads of messages without an expiry created before `?1`, with the same rule.
const OLD_PAYLOADS: &str = "UPDATE message SET payload = NULL WHERE id IN (
    SELECT m.id FROM message m
    WHERE m.payload IS NOT NULL AND m.expires_at IS NULL AND m.created_at < ?1
      AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.msg_id = m.id AND d.status = 1)
    LIMIT ?2)";
const OLD_RESPONSES: &str = "UPDATE attempt SET response = '', request_body = NULL WHERE id IN (
    SELECT id FROM attempt WHERE (response <> '' OR request_body IS NOT NULL) AND created_at < ?1
    ORDER BY created_at LIMIT ?2)";
const EXPIRED_KEYS: &str = "DELETE FROM idempotency WHERE key IN (
    SELECT key FROM idempotency WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)";
const EXPIRED_TOKENS: &str = "DELETE FROM app_token WHERE hash IN (
    SELECT hash FROM app_token WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)";

pub(crate) fn purge(conn: &Connection, request: &PurgeRequest) -> Result<PurgeCounts> {
    let (now, older) = (request.now.millis(), request.older_than.millis());
    let run = |sql: &str, at: i64, limit: usize| -> Result<u64> {
        let n = conn.prepare_cached(sql).db()?.execute(params![at, int(limit)]).db()?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    };
    let expired = run(EXPIRED_PAYLOADS, now, request.limit)?;
    let left = request.limit.saturating_sub(usize::try_from(expired).unwrap_or(usize::MAX));
    let old = if left > 0 { run(OLD_PAYLOADS, older, left)? } else { 0 };
    Ok(PurgeCounts {
        payloads: expired + old,
        responses: run(OLD_RESPONSES, older, request.limit)?,
        idempotency_keys: run(EXPIRED_KEYS, now, request.limit)?,
        app_tokens: run(EXPIRED_TOKENS, now, request.limit)?,
    })
}

/// One pass over the pending deliveries (through the `delivery_due` index), one
/// count of the disabled endpoints.
pub(crate) fn queue_stats(conn: &Connection, now: Timestamp) -> Result<QueueStats> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT
               COALESCE(SUM(next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)), 0),
               COALESCE(SUM(next_attempt_at > ?1 AND (lease_until IS NULL OR lease_until <= ?1)), 0),
               COALESCE(SUM(lease_until > ?1), 0),
               (SELECT COUNT(*) FROM endpoint WHERE disabled)
             FROM delivery WHERE status = 1",
        )
        .db()?;
    stmt.query_row([now.millis()], |r| {
        Ok(QueueStats {
            due: r.get(0)?,
            scheduled: r.get(1)?,
            leased: r.get(2)?,
            disabled_endpoints: r.get(3)?,
        })
    })
    .db()
}
