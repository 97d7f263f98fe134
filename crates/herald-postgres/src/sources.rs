//! Inbound sources: the source rows, dedup-claim look-ups and the rejected-requests
//! log. Claims are taken by the outbox write itself (`messages::create`). The JSON
//! columns use `herald_store::codec`, so both stores write the same text; the verifier
//! (which holds the source's secrets) is sealed with the store's cipher. Every write
//! is one statement.

use std::time::Duration;

use herald_core::{AppId, MessageId, RejectionId, SourceId, Timestamp};
use herald_inbound::{RejectedRequest, Source};
use herald_store::codec;
use herald_store::{Page, PageQuery, SecretCipher};
use sqlx::PgPool;
use sqlx::postgres::PgRow;

use crate::rows::{col, columns};
use crate::sql::{Result, Select, changed, db, int, narrow};

macro_rules! source_columns {
    ($p:literal) => {
        columns!($p: "id", "app_id", "uid", "name", "verifier", "event_type", "dedup_key",
            "dedup_window_ms", "response", "max_body_bytes", "rejected_total", "created_at", "updated_at")
    };
}
macro_rules! rejection_columns {
    ($p:literal) => {
        columns!($p: "id", "source_id", "received_at", "code", "reason", "method", "url", "headers", "body",
            "body_size")
    };
}

pub(crate) async fn insert(pool: &PgPool, s: &Source, secrets: &SecretCipher) -> Result<()> {
    sqlx::query(
        "INSERT INTO source (id, app_id, uid, name, verifier, event_type, dedup_key, dedup_window_ms,
           response, max_body_bytes, rejected_total, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12)",
    )
    .bind(s.id.as_str())
    .bind(s.app_id.as_str())
    .bind(s.uid.as_deref())
    .bind(&s.name)
    .bind(codec::seal_verifier(secrets, &s.id, &s.verifier))
    .bind(codec::encode_locator(s.event_type.as_ref()))
    .bind(codec::encode_locator(s.dedup_key.as_ref()))
    .bind(millis(s.dedup_window))
    .bind(codec::encode_response(s.response.as_ref()))
    .bind(int(s.max_body_bytes))
    .bind(s.created_at.millis())
    .bind(s.updated_at.millis())
    .execute(pool)
    .await
    .map_err(db)
    .map(drop)
}

/// By id or uid; an id match wins over a uid that happens to look like it.
pub(crate) async fn get(pool: &PgPool, key: &str, secrets: &SecretCipher) -> Result<Option<Source>> {
    let sql = concat!(
        "SELECT ",
        source_columns!("s."),
        " FROM source s WHERE s.id = $1 OR s.uid = $1 ORDER BY s.id = $1 DESC LIMIT 1"
    );
    let row = sqlx::query(sql).bind(key).fetch_optional(pool).await.map_err(db)?;
    row.as_ref().map(|r| source(r, secrets)).transpose()
}

pub(crate) async fn list(
    pool: &PgPool,
    app: Option<&AppId>,
    page: &PageQuery,
    secrets: &SecretCipher,
) -> Result<Page<Source>> {
    let mut select = Select::new(concat!("SELECT ", source_columns!("s."), " FROM source s WHERE TRUE"));
    select.and_if("s.app_id = ", app.map(|a| a.as_str().to_owned()));
    let rows = select.page("s.id", page).fetch(pool, |r| source(r, secrets)).await?;
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) async fn update(pool: &PgPool, s: &Source, secrets: &SecretCipher) -> Result<()> {
    let done = sqlx::query(
        "UPDATE source SET uid = $2, name = $3, verifier = $4, event_type = $5, dedup_key = $6,
           dedup_window_ms = $7, response = $8, max_body_bytes = $9, updated_at = $10
         WHERE id = $1",
    )
    .bind(s.id.as_str())
    .bind(s.uid.as_deref())
    .bind(&s.name)
    .bind(codec::seal_verifier(secrets, &s.id, &s.verifier))
    .bind(codec::encode_locator(s.event_type.as_ref()))
    .bind(codec::encode_locator(s.dedup_key.as_ref()))
    .bind(millis(s.dedup_window))
    .bind(codec::encode_response(s.response.as_ref()))
    .bind(int(s.max_body_bytes))
    .bind(s.updated_at.millis())
    .execute(pool)
    .await
    .map_err(db)?;
    changed(done.rows_affected())
}

/// Deletes the source and, if it existed, its claims and log, in one statement.
pub(crate) async fn delete(pool: &PgPool, id: &SourceId) -> Result<()> {
    let deleted: i64 = sqlx::query_scalar(
        "WITH src AS (DELETE FROM source WHERE id = $1 RETURNING id),
              ded AS (DELETE FROM source_dedup WHERE source_id IN (SELECT id FROM src)),
              rej AS (DELETE FROM source_rejection WHERE source_id IN (SELECT id FROM src))
         SELECT COUNT(*) FROM src",
    )
    .bind(id.as_str())
    .fetch_one(pool)
    .await
    .map_err(db)?;
    changed(u64::try_from(deleted).unwrap_or(0))
}

pub(crate) async fn dedup_claimant(
    pool: &PgPool,
    source: &SourceId,
    key: &str,
    now: Timestamp,
) -> Result<Option<MessageId>> {
    let id: Option<String> = sqlx::query_scalar(
        "SELECT msg_id FROM source_dedup WHERE source_id = $1 AND dedup_key = $2 AND expires_at > $3",
    )
    .bind(source.as_str())
    .bind(key)
    .bind(now.millis())
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    Ok(id.map(MessageId::from_trusted))
}

/// Counts the rejection, logs it and prunes the log to the newest `keep`, only if its
/// source exists — one statement. The prune sees the log as it was before the insert
/// (one snapshot for the whole statement), so it keeps the newest `keep - 1` of those.
pub(crate) async fn record_rejection(pool: &PgPool, r: &RejectedRequest, keep: usize) -> Result<()> {
    sqlx::query(concat!(
        "WITH src AS (UPDATE source SET rejected_total = rejected_total + 1 WHERE id = $2 RETURNING id),
              ins AS (INSERT INTO source_rejection (",
        rejection_columns!(""),
        ") SELECT $1, id, $3, $4, $5, $6, $7, $8, $9, $10 FROM src),
              old AS (DELETE FROM source_rejection WHERE source_id IN (SELECT id FROM src) AND id <= (
                SELECT id FROM source_rejection WHERE source_id = $2 ORDER BY id DESC LIMIT 1 OFFSET $11))
         SELECT COUNT(*) FROM src"
    ))
    .bind(r.id.as_str())
    .bind(r.source_id.as_str())
    .bind(r.received_at.millis())
    .bind(&r.code)
    .bind(&r.reason)
    .bind(&r.method)
    .bind(&r.url)
    .bind(codec::encode_headers(&r.headers))
    .bind(&r.body)
    .bind(i64::try_from(r.body_size).unwrap_or(i64::MAX))
    .bind(int(keep.saturating_sub(1)))
    .execute(pool)
    .await
    .map_err(db)
    .map(drop)
}

pub(crate) async fn list_rejections(
    pool: &PgPool,
    source: &SourceId,
    page: &PageQuery,
) -> Result<Page<RejectedRequest>> {
    let mut select =
        Select::new(concat!("SELECT ", rejection_columns!("r."), " FROM source_rejection r WHERE TRUE"));
    select.and_bind("r.source_id = ", source.as_str().to_owned(), "");
    let rows = select.page("r.id", page).fetch(pool, rejection).await?;
    Ok(Page::from_overfetch(rows, page))
}

fn source(row: &PgRow, secrets: &SecretCipher) -> Result<Source> {
    let id = SourceId::from_trusted(col(row, 0)?);
    Ok(Source {
        verifier: codec::open_verifier(secrets, &id, &col::<String>(row, 4)?)?,
        id,
        app_id: AppId::from_trusted(col(row, 1)?),
        uid: col(row, 2)?,
        name: col(row, 3)?,
        event_type: codec::decode_locator(col::<Option<String>>(row, 5)?.as_deref())?,
        dedup_key: codec::decode_locator(col::<Option<String>>(row, 6)?.as_deref())?,
        dedup_window: Duration::from_millis(narrow(col::<i64>(row, 7)?, "dedup window")?),
        response: codec::decode_response(col::<Option<String>>(row, 8)?.as_deref())?,
        max_body_bytes: narrow(col::<i64>(row, 9)?, "max body bytes")?,
        rejected_total: narrow(col::<i64>(row, 10)?, "rejected total")?,
        created_at: Timestamp(col(row, 11)?),
        updated_at: Timestamp(col(row, 12)?),
    })
}

fn rejection(row: &PgRow) -> Result<RejectedRequest> {
    Ok(RejectedRequest {
        id: RejectionId::from_trusted(col(row, 0)?),
        source_id: SourceId::from_trusted(col(row, 1)?),
        received_at: Timestamp(col(row, 2)?),
        code: col(row, 3)?,
        reason: col(row, 4)?,
        method: col(row, 5)?,
        url: col(row, 6)?,
        headers: codec::decode_headers(&col::<String>(row, 7)?)?,
        body: col(row, 8)?,
        body_size: narrow(col::<i64>(row, 9)?, "body size")?,
    })
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
