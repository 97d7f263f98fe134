//! The delivery queue's writes: leasing due rows, recording an attempt with the
//! delivery's new state, resends and recovery. Each is one statement, so one round
//! trip and its own transaction.
//!
//! A row is due when it is pending (status 1), `next_attempt_at <= now`, and its lease
//! is absent or expired. The partial index `delivery_due` holds exactly the pending
//! rows by due time. `claim_due` locks the rows it picks with `FOR UPDATE SKIP
//! LOCKED`, so processes claiming at the same instant split the due rows between them
//! instead of waiting on, or claiming, each other's (a row another claimer committed
//! meanwhile is re-checked against the lease condition and dropped). Resends and
//! recoveries make rows due without a lease and `NOTIFY herald_due` at commit.

use herald_core::{Attempt, Delivery, EndpointId, Message, MessageId, Timestamp};
use herald_store::{DeliveryUpdate, StoreError, codec};
use sqlx::PgPool;

use crate::listen::wake_if_any;
use crate::rows::{self, delivery_columns};
use crate::sql::{Result, db, int};

/// Leases up to `limit` due deliveries until `lease_until`, oldest due first.
pub(crate) async fn claim_due(
    pool: &PgPool,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
) -> Result<Vec<Delivery>> {
    let sql = concat!(
        "UPDATE delivery SET lease_until = $2
         WHERE (msg_id, endpoint_id) IN (
           SELECT msg_id, endpoint_id FROM delivery
           WHERE status = 1 AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
           ORDER BY next_attempt_at LIMIT $3
           FOR UPDATE SKIP LOCKED)
         RETURNING ",
        delivery_columns!("")
    );
    let found = sqlx::query(sql)
        .bind(now.millis())
        .bind(lease_until.millis())
        .bind(int(limit))
        .fetch_all(pool)
        .await
        .map_err(db)?;
    let mut claimed = found.iter().map(rows::delivery).collect::<Result<Vec<_>>>()?;
    // RETURNING does not promise the subquery's order.
    claimed.sort_by(|a, b| (a.next_attempt_at, &a.msg_id).cmp(&(b.next_attempt_at, &b.msg_id)));
    Ok(claimed)
}

/// Frees the leases of the given pending deliveries and wakes the other processes'
/// workers, which may claim them at once.
pub(crate) async fn release_leases(pool: &PgPool, deliveries: &[(MessageId, EndpointId)]) -> Result<()> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let msgs: Vec<&str> = deliveries.iter().map(|(m, _)| m.as_str()).collect();
    let endpoints: Vec<&str> = deliveries.iter().map(|(_, e)| e.as_str()).collect();
    let sql = concat!(
        "WITH r AS (
           UPDATE delivery SET lease_until = NULL
           FROM UNNEST($1::TEXT[], $2::TEXT[]) AS k(msg_id, endpoint_id)
           WHERE delivery.msg_id = k.msg_id AND delivery.endpoint_id = k.endpoint_id AND delivery.status = 1
           RETURNING 1), ",
        wake_if_any!("r"),
        " SELECT (SELECT COUNT(*) FROM wake)"
    );
    sqlx::query(sql).bind(&msgs).bind(&endpoints).execute(pool).await.map_err(db)?;
    Ok(())
}

/// Makes the given pending deliveries due at their new times and frees their leases.
/// No notification: the process that postpones hints its own scheduler, and any
/// other polls within a second.
pub(crate) async fn postpone(pool: &PgPool, deliveries: &[(MessageId, EndpointId, Timestamp)]) -> Result<()> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let msgs: Vec<&str> = deliveries.iter().map(|(m, _, _)| m.as_str()).collect();
    let endpoints: Vec<&str> = deliveries.iter().map(|(_, e, _)| e.as_str()).collect();
    let times: Vec<i64> = deliveries.iter().map(|(_, _, at)| at.millis()).collect();
    sqlx::query(
        "UPDATE delivery SET next_attempt_at = k.at, lease_until = NULL
         FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[]) AS k(msg_id, endpoint_id, at)
         WHERE delivery.msg_id = k.msg_id AND delivery.endpoint_id = k.endpoint_id AND delivery.status = 1",
    )
    .bind(&msgs)
    .bind(&endpoints)
    .bind(&times)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

/// The earliest due time among pending deliveries, leased or not.
pub(crate) async fn next_due(pool: &PgPool) -> Result<Option<Timestamp>> {
    let due: Option<i64> = sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM delivery WHERE status = 1")
        .fetch_one(pool)
        .await
        .map_err(db)?;
    Ok(due.map(Timestamp))
}

/// Updates the delivery and inserts the attempt in one statement; `NotFound` (and
/// nothing written) if the delivery is gone, say because its endpoint was deleted
/// meanwhile. A failing attempt insert undoes the delivery update too.
pub(crate) async fn record_attempt(pool: &PgPool, attempt: &Attempt, update: &DeliveryUpdate) -> Result<()> {
    let (method, headers, body) = codec::encode_sent_request(attempt.request.as_ref());
    let done = sqlx::query(
        "WITH d AS (
           UPDATE delivery SET status = $3, attempts = attempts + 1, next_attempt_at = $4, next_trigger = 0,
             lease_until = NULL, updated_at = $5
           WHERE msg_id = $1 AND endpoint_id = $2
           RETURNING msg_id)
         INSERT INTO attempt (id, msg_id, endpoint_id, app_id, url, status, response_status_code, response,
           duration_ms, trigger_type, created_at, request_method, request_headers, request_body)
         SELECT $6, $1, $2, $7, $8, $9, $10, $11, $12, $13, $5, $14, $15, $16 FROM d",
    )
    .bind(attempt.msg_id.as_str())
    .bind(attempt.endpoint_id.as_str())
    .bind(rows::code(update.status.code()))
    .bind(update.next_attempt_at.map(Timestamp::millis))
    .bind(attempt.created_at.millis())
    .bind(attempt.id.as_str())
    .bind(attempt.app_id.as_str())
    .bind(&attempt.url)
    .bind(rows::code(attempt.status.code()))
    .bind(i32::from(attempt.response_status_code))
    .bind(&attempt.response)
    .bind(rows::big(attempt.duration_ms))
    .bind(rows::code(attempt.trigger.code()))
    .bind(method)
    .bind(headers)
    .bind(body)
    .execute(pool)
    .await
    .map_err(db)?;
    if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Makes the delivery due at `now` as a manual attempt, creating it if needed, and
/// wakes the workers of every process.
pub(crate) async fn schedule_resend(
    pool: &PgPool,
    msg: &Message,
    endpoint: &EndpointId,
    now: Timestamp,
) -> Result<Delivery> {
    let sql = concat!(
        "WITH d AS (
           INSERT INTO delivery (msg_id, endpoint_id, app_id, status, attempts, next_attempt_at, next_trigger,
             lease_until, created_at, updated_at)
           VALUES ($1, $2, $3, 1, 0, $4, 1, NULL, $4, $4)
           ON CONFLICT (msg_id, endpoint_id) DO UPDATE SET
             status = 1, next_attempt_at = $4, next_trigger = 1, lease_until = NULL, updated_at = $4
           RETURNING ",
        delivery_columns!(""),
        "), ",
        wake_if_any!("d"),
        " SELECT ",
        delivery_columns!("d."),
        ", (SELECT COUNT(*) FROM wake) FROM d"
    );
    let row = sqlx::query(sql)
        .bind(msg.id.as_str())
        .bind(endpoint.as_str())
        .bind(msg.app_id.as_str())
        .bind(now.millis())
        .fetch_one(pool)
        .await
        .map_err(db)?;
    rows::delivery(&row)
}

/// Makes the endpoint's failed deliveries of messages created in `[since, until)`
/// due at `now` (as manual attempts: an operator asked for them), and wakes the
/// workers of every process if there were any.
pub(crate) async fn recover_failed(
    pool: &PgPool,
    endpoint: &EndpointId,
    since: Timestamp,
    until: Option<Timestamp>,
    now: Timestamp,
) -> Result<u64> {
    let sql = concat!(
        "WITH r AS (
           UPDATE delivery SET status = 1, next_attempt_at = $4, next_trigger = 1, lease_until = NULL,
             updated_at = $4
           WHERE endpoint_id = $1 AND status = 2 AND EXISTS (
             SELECT 1 FROM message m
             WHERE m.id = delivery.msg_id AND m.created_at >= $2 AND ($3::BIGINT IS NULL OR m.created_at < $3))
           RETURNING 1), ",
        wake_if_any!("r"),
        " SELECT COUNT(*), (SELECT COUNT(*) FROM wake) FROM r"
    );
    let (recovered, _woken): (i64, i64) = sqlx::query_as(sql)
        .bind(endpoint.as_str())
        .bind(since.millis())
        .bind(until.map(Timestamp::millis))
        .bind(now.millis())
        .fetch_one(pool)
        .await
        .map_err(db)?;
    Ok(u64::try_from(recovered).unwrap_or(0))
}

/// Settles the delivery as filtered (status 4) without an attempt; `NotFound` if it
/// is gone.
pub(crate) async fn record_filtered(
    pool: &PgPool,
    msg: &MessageId,
    endpoint: &EndpointId,
    now: Timestamp,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE delivery SET status = 4, next_attempt_at = NULL, next_trigger = 0, lease_until = NULL,
           updated_at = $3
         WHERE msg_id = $1 AND endpoint_id = $2",
    )
    .bind(msg.as_str())
    .bind(endpoint.as_str())
    .bind(now.millis())
    .execute(pool)
    .await
    .map_err(db)?;
    if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}
