//! Reads across every application for the operator dashboard: activity per time
//! bucket, a sample of attempt durations, delivery totals, endpoints that need
//! attention, and the message search.
//!
//! Time windows are bounded below by id as well as by `created_at`: ids are prefixed
//! KSUIDs that sort by creation time, so `id >= lower_bound(since)` turns "the last
//! day" into a primary-key range instead of a table scan (there is no index on
//! `created_at`).

use herald_core::{AppId, AttemptId, DeliveryStatus, Endpoint, Message, MessageId, Timestamp};
use herald_store::{ActivityBucket, DeliveryCounts, MessageFilter, Page, PageQuery, SecretCipher};
use sqlx::PgPool;

use crate::messages::filter_messages;
use crate::rows::{self, endpoint_columns, message_columns};
use crate::sql::{Result, Select, db, int, narrow};

pub(crate) async fn activity(
    pool: &PgPool,
    since: Timestamp,
    until: Timestamp,
    bucket_ms: i64,
) -> Result<Vec<ActivityBucket>> {
    let bucket_ms = bucket_ms.max(1);
    let (s, u) = (since.millis(), until.millis());
    let messages: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT (created_at - $1) / $3 AS b, COUNT(*) FROM message
         WHERE id >= $4 AND created_at >= $1 AND created_at < $2 GROUP BY b",
    )
    .bind(s)
    .bind(u)
    .bind(bucket_ms)
    .bind(MessageId::lower_bound(since).as_str())
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let attempts: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT (created_at - $1) / $3 AS b, COUNT(*) FILTER (WHERE status = 0),
                COUNT(*) FILTER (WHERE status <> 0) FROM attempt
         WHERE id >= $4 AND created_at >= $1 AND created_at < $2 GROUP BY b",
    )
    .bind(s)
    .bind(u)
    .bind(bucket_ms)
    .bind(AttemptId::lower_bound(since).as_str())
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let count = |n: i64| narrow::<u64>(n, "count");
    let messages: Vec<(i64, u64)> =
        messages.into_iter().map(|(b, n)| Ok((b, count(n)?))).collect::<Result<_>>()?;
    let attempts: Vec<(i64, u64, u64)> = attempts
        .into_iter()
        .map(|(b, ok, failed)| Ok((b, count(ok)?, count(failed)?)))
        .collect::<Result<_>>()?;
    Ok(ActivityBucket::merge(since, bucket_ms, &messages, &attempts))
}

pub(crate) async fn attempt_durations(pool: &PgPool, since: Timestamp, limit: usize) -> Result<Vec<u64>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT duration_ms FROM attempt WHERE id >= $1 AND created_at >= $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(AttemptId::lower_bound(since).as_str())
    .bind(since.millis())
    .bind(int(limit))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.into_iter().map(|(d,)| narrow::<u64>(d, "duration")).collect()
}

pub(crate) async fn delivery_totals(pool: &PgPool) -> Result<DeliveryCounts> {
    let rows: Vec<(i16, i64)> = sqlx::query_as("SELECT status, COUNT(*) FROM delivery GROUP BY status")
        .fetch_all(pool)
        .await
        .map_err(db)?;
    let rows = rows.into_iter().map(|(code, n)| Ok((rows::status(code)?, narrow::<u64>(n, "count")?)));
    Ok(DeliveryCounts::from_rows(rows.collect::<Result<Vec<_>>>()?))
}

pub(crate) async fn endpoints_needing_attention(
    pool: &PgPool,
    limit: usize,
    secrets: &SecretCipher,
) -> Result<Vec<Endpoint>> {
    let sql = concat!(
        "SELECT ",
        endpoint_columns!("e."),
        " FROM endpoint e WHERE e.failing_since IS NOT NULL OR e.disabled",
        " ORDER BY e.failing_since ASC NULLS LAST, e.id LIMIT $1"
    );
    let found = sqlx::query(sql).bind(int(limit)).fetch_all(pool).await.map_err(db)?;
    found.iter().map(|r| rows::endpoint(r, 0, secrets)).collect()
}

pub(crate) async fn search_messages(
    pool: &PgPool,
    app: Option<&AppId>,
    filter: &MessageFilter,
    status: Option<DeliveryStatus>,
    page: &PageQuery,
) -> Result<Page<Message>> {
    let mut select = Select::new(concat!("SELECT ", message_columns!("m."), " FROM message m WHERE TRUE"));
    select.and_if("m.app_id = ", app.map(|a| a.as_str().to_owned()));
    if let Some(after) = filter.after {
        select.and_bind("m.id >= ", MessageId::lower_bound(after).into_string(), "");
    }
    filter_messages(&mut select, filter);
    if let Some(status) = status {
        select.and_bind(
            "EXISTS (SELECT 1 FROM delivery d WHERE d.msg_id = m.id AND d.status = ",
            rows::code(status.code()),
            ")",
        );
    }
    let rows = select.page("m.id", page).fetch(pool, |r| rows::message(r, 0)).await?;
    Ok(Page::from_overfetch(rows, page))
}
