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
use rusqlite::Connection;

use crate::messages::filter_messages;
use crate::rows::{self, endpoint_columns, message_columns};
use crate::sql::{DbResult, Result, Select, int, text};

pub(crate) fn activity(
    conn: &Connection,
    since: Timestamp,
    until: Timestamp,
    bucket_ms: i64,
) -> Result<Vec<ActivityBucket>> {
    let bucket_ms = bucket_ms.max(1);
    let (s, u) = (since.millis(), until.millis());
    let mut stmt = conn
        .prepare_cached(
            "SELECT (created_at - ?1) / ?3 AS b, COUNT(*) FROM message
             WHERE id >= ?4 AND created_at >= ?1 AND created_at < ?2 GROUP BY b",
        )
        .db()?;
    let msg_bound = MessageId::lower_bound(since);
    let messages: Vec<(i64, u64)> = stmt
        .query_map(rusqlite::params![s, u, bucket_ms, msg_bound.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT (created_at - ?1) / ?3 AS b, SUM(status = 0), SUM(status <> 0) FROM attempt
             WHERE id >= ?4 AND created_at >= ?1 AND created_at < ?2 GROUP BY b",
        )
        .db()?;
    let attempt_bound = AttemptId::lower_bound(since);
    let attempts: Vec<(i64, u64, u64)> = stmt
        .query_map(rusqlite::params![s, u, bucket_ms, attempt_bound.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()?;
    Ok(ActivityBucket::merge(since, bucket_ms, &messages, &attempts))
}

pub(crate) fn attempt_durations(conn: &Connection, since: Timestamp, limit: usize) -> Result<Vec<u64>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT duration_ms FROM attempt WHERE id >= ?1 AND created_at >= ?2 ORDER BY id DESC LIMIT ?3",
        )
        .db()?;
    let bound = AttemptId::lower_bound(since);
    stmt.query_map(rusqlite::params![bound.as_str(), since.millis(), int(limit)], |r| r.get(0))
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()
}

pub(crate) fn delivery_totals(conn: &Connection) -> Result<DeliveryCounts> {
    let mut stmt = conn.prepare_cached("SELECT status, COUNT(*) FROM delivery GROUP BY status").db()?;
    let rows: Vec<(i64, u64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).db()?.collect::<rusqlite::Result<_>>().db()?;
    let rows = rows.into_iter().map(|(code, n)| Ok((rows::status(code)?, n)));
    Ok(DeliveryCounts::from_rows(rows.collect::<Result<Vec<_>>>()?))
}

pub(crate) fn endpoints_needing_attention(
    conn: &Connection,
    limit: usize,
    secrets: &SecretCipher,
) -> Result<Vec<Endpoint>> {
    let sql = concat!(
        "SELECT ",
        endpoint_columns!("e."),
        " FROM endpoint e WHERE e.failing_since IS NOT NULL OR e.disabled <> 0",
        " ORDER BY e.failing_since IS NULL, e.failing_since, e.id LIMIT ?"
    );
    Select::new(sql, [rusqlite::types::Value::Integer(int(limit))])
        .fetch(conn, |r| rows::endpoint(r, 0, secrets))
}

pub(crate) fn search_messages(
    conn: &Connection,
    app: Option<&AppId>,
    filter: &MessageFilter,
    status: Option<DeliveryStatus>,
    page: &PageQuery,
) -> Result<Page<Message>> {
    let mut select = Select::new(concat!("SELECT ", message_columns!("m."), " FROM message m WHERE 1"), []);
    select.and_if("m.app_id = ?", app.map(|a| text(a.as_str())));
    if let Some(after) = filter.after {
        select.and("m.id >= ?", [text(MessageId::lower_bound(after).as_str())]);
    }
    filter_messages(&mut select, filter);
    select.and_if(
        "EXISTS (SELECT 1 FROM delivery d WHERE d.msg_id = m.id AND d.status = ?)",
        status.map(DeliveryStatus::code),
    );
    let rows = select.page("m.id", page).fetch(conn, |r| rows::message(r, 0))?;
    Ok(Page::from_overfetch(rows, page))
}
