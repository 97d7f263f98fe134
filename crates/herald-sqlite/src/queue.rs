//! The delivery queue's writes: leasing due rows, recording an attempt with the
//! delivery's new state, resends and recovery.
//!
//! A row is due when it is pending (status 1), `next_attempt_at <= now`, and its lease
//! is absent or expired. The partial index `delivery_due` holds exactly the pending
//! rows by due time, so claiming and `next_due` never look at settled deliveries.
//! `record_attempt` is on the hot path: two cached statements, no reads.

use herald_core::{Attempt, Delivery, EndpointId, Message, MessageId, Timestamp};
use herald_store::{DeliveryUpdate, StoreError};
use rusqlite::{Connection, params};

use crate::attempts;
use crate::rows::{self, delivery_columns};
use crate::sql::{DbResult, Result, int};

/// Leases up to `limit` due deliveries until `lease_until`, oldest due first.
pub(crate) fn claim_due(
    conn: &Connection,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
) -> Result<Vec<Delivery>> {
    let sql = concat!(
        "UPDATE delivery SET lease_until = ?3
         WHERE (msg_id, endpoint_id) IN (
           SELECT msg_id, endpoint_id FROM delivery
           WHERE status = 1 AND next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)
           ORDER BY next_attempt_at LIMIT ?2)
         RETURNING ",
        delivery_columns!("")
    );
    let mut stmt = conn.prepare_cached(sql).db()?;
    let mut rows = stmt.query(params![now.millis(), int(limit), lease_until.millis()]).db()?;
    let mut claimed = Vec::new();
    while let Some(row) = rows.next().db()? {
        claimed.push(rows::delivery(row)?);
    }
    // RETURNING does not promise the subquery's order.
    claimed.sort_by(|a, b| (a.next_attempt_at, &a.msg_id).cmp(&(b.next_attempt_at, &b.msg_id)));
    Ok(claimed)
}

/// Frees the leases of the given pending deliveries.
pub(crate) fn release_leases(conn: &Connection, deliveries: &[(MessageId, EndpointId)]) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE delivery SET lease_until = NULL WHERE msg_id = ?1 AND endpoint_id = ?2 AND status = 1",
        )
        .db()?;
    for (msg, endpoint) in deliveries {
        stmt.execute(params![msg.as_str(), endpoint.as_str()]).db()?;
    }
    Ok(())
}

/// Makes the given pending deliveries due at their new times and frees their leases.
pub(crate) fn postpone(conn: &Connection, deliveries: &[(MessageId, EndpointId, Timestamp)]) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE delivery SET next_attempt_at = ?3, lease_until = NULL
             WHERE msg_id = ?1 AND endpoint_id = ?2 AND status = 1",
        )
        .db()?;
    for (msg, endpoint, at) in deliveries {
        stmt.execute(params![msg.as_str(), endpoint.as_str(), at.millis()]).db()?;
    }
    Ok(())
}

/// The earliest due time among pending deliveries, leased or not.
pub(crate) fn next_due(conn: &Connection) -> Result<Option<Timestamp>> {
    let mut stmt = conn.prepare_cached("SELECT MIN(next_attempt_at) FROM delivery WHERE status = 1").db()?;
    let due: Option<i64> = stmt.query_row([], |row| row.get(0)).db()?;
    Ok(due.map(Timestamp))
}

/// Updates the delivery and inserts the attempt; `NotFound` (and nothing written) if
/// the delivery is gone, say because its endpoint was deleted meanwhile.
pub(crate) fn record_attempt(conn: &Connection, attempt: &Attempt, update: &DeliveryUpdate) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE delivery SET status = ?3, attempts = attempts + 1, next_attempt_at = ?4, next_trigger = 0,
               lease_until = NULL, updated_at = ?5
             WHERE msg_id = ?1 AND endpoint_id = ?2",
        )
        .db()?;
    let n = stmt
        .execute(params![
            attempt.msg_id.as_str(),
            attempt.endpoint_id.as_str(),
            update.status.code(),
            update.next_attempt_at.map(Timestamp::millis),
            attempt.created_at.millis(),
        ])
        .db()?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    attempts::insert(conn, attempt)
}

/// Makes the delivery due at `now` as a manual attempt, creating it if needed.
pub(crate) fn schedule_resend(
    conn: &Connection,
    msg: &Message,
    endpoint: &EndpointId,
    now: Timestamp,
) -> Result<Delivery> {
    let sql = concat!(
        "INSERT INTO delivery (msg_id, endpoint_id, app_id, status, attempts, next_attempt_at, next_trigger,
           lease_until, created_at, updated_at)
         VALUES (?1, ?2, ?3, 1, 0, ?4, 1, NULL, ?4, ?4)
         ON CONFLICT (msg_id, endpoint_id) DO UPDATE SET
           status = 1, next_attempt_at = ?4, next_trigger = 1, lease_until = NULL, updated_at = ?4
         RETURNING ",
        delivery_columns!("")
    );
    let mut stmt = conn.prepare_cached(sql).db()?;
    let params = params![msg.id.as_str(), endpoint.as_str(), msg.app_id.as_str(), now.millis()];
    stmt.query_row(params, |row| Ok(rows::delivery(row))).db()?
}

/// Makes the endpoint's failed deliveries of messages created in `[since, until)`
/// due at `now` (as manual attempts: an operator asked for them).
pub(crate) fn recover_failed(
    conn: &Connection,
    endpoint: &EndpointId,
    since: Timestamp,
    until: Option<Timestamp>,
    now: Timestamp,
) -> Result<u64> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE delivery SET status = 1, next_attempt_at = ?4, next_trigger = 1, lease_until = NULL,
               updated_at = ?4
             WHERE endpoint_id = ?1 AND status = 2 AND EXISTS (
               SELECT 1 FROM message m
               WHERE m.id = delivery.msg_id AND m.created_at >= ?2 AND (?3 IS NULL OR m.created_at < ?3))",
        )
        .db()?;
    let n = stmt
        .execute(params![endpoint.as_str(), since.millis(), until.map(Timestamp::millis), now.millis()])
        .db()?;
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}

/// Settles the delivery as filtered (status 4) without an attempt; `NotFound` if it
/// is gone.
pub(crate) fn record_filtered(
    conn: &Connection,
    msg: &MessageId,
    endpoint: &EndpointId,
    now: Timestamp,
) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE delivery SET status = 4, next_attempt_at = NULL, next_trigger = 0, lease_until = NULL,
               updated_at = ?3
             WHERE msg_id = ?1 AND endpoint_id = ?2",
        )
        .db()?;
    let n = stmt.execute(params![msg.as_str(), endpoint.as_str(), now.millis()]).db()?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}
