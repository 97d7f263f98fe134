//! Inbound sources: the source rows, the dedup claims an inbound message takes in its
//! outbox write, and the rejected-requests log. The JSON columns use
//! `herald_store::codec`, so both stores write the same text; the verifier (which
//! holds the source's secrets) is sealed with the store's cipher.

use std::time::Duration;

use herald_core::{AppId, InboundOrigin, Message, MessageId, RejectionId, SourceId, Timestamp};
use herald_inbound::{RejectedRequest, Source};
use herald_store::codec;
use herald_store::{Page, PageQuery, SecretCipher, StoreError};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::rows::{col, columns};
use crate::sql::{DbResult, Result, Select, changed, int, text};

const KEYS: (&str, &str) = ("source id", "source uid");

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

pub(crate) fn insert(conn: &Connection, s: &Source, secrets: &SecretCipher) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO source (id, app_id, uid, name, verifier, event_type, dedup_key, dedup_window_ms,
               response, max_body_bytes, rejected_total, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?12)",
        )
        .db()?;
    stmt.execute(params![
        s.id.as_str(),
        s.app_id.as_str(),
        s.uid,
        s.name,
        codec::seal_verifier(secrets, &s.id, &s.verifier),
        codec::encode_locator(s.event_type.as_ref()),
        codec::encode_locator(s.dedup_key.as_ref()),
        millis(s.dedup_window),
        codec::encode_response(s.response.as_ref()),
        int(s.max_body_bytes),
        s.created_at.millis(),
        s.updated_at.millis(),
    ])
    .or_conflict(KEYS.0, KEYS.1)
    .map(drop)
}

/// By id or uid; an id match wins over a uid that happens to look like it.
pub(crate) fn get(conn: &Connection, key: &str, secrets: &SecretCipher) -> Result<Option<Source>> {
    let sql = concat!(
        "SELECT ",
        source_columns!("s."),
        " FROM source s WHERE s.id = ?1 OR s.uid = ?1 ORDER BY s.id = ?1 DESC LIMIT 1"
    );
    let mut stmt = conn.prepare_cached(sql).db()?;
    stmt.query_row([key], |row| Ok(source(row, secrets))).optional().db()?.transpose()
}

pub(crate) fn list(
    conn: &Connection,
    app: Option<&AppId>,
    page: &PageQuery,
    secrets: &SecretCipher,
) -> Result<Page<Source>> {
    let mut select = Select::new(concat!("SELECT ", source_columns!("s."), " FROM source s WHERE 1"), []);
    select.and_if("s.app_id = ?", app.map(|a| a.as_str().to_owned()));
    let rows = select.page("s.id", page).fetch(conn, |row| source(row, secrets))?;
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) fn update(conn: &Connection, s: &Source, secrets: &SecretCipher) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE source SET uid = ?2, name = ?3, verifier = ?4, event_type = ?5, dedup_key = ?6,
               dedup_window_ms = ?7, response = ?8, max_body_bytes = ?9, updated_at = ?10
             WHERE id = ?1",
        )
        .db()?;
    let n = stmt
        .execute(params![
            s.id.as_str(),
            s.uid,
            s.name,
            codec::seal_verifier(secrets, &s.id, &s.verifier),
            codec::encode_locator(s.event_type.as_ref()),
            codec::encode_locator(s.dedup_key.as_ref()),
            millis(s.dedup_window),
            codec::encode_response(s.response.as_ref()),
            int(s.max_body_bytes),
            s.updated_at.millis(),
        ])
        .or_conflict(KEYS.0, KEYS.1)?;
    changed(n)
}

/// Deletes the source, then its claims and log.
pub(crate) fn delete(conn: &Connection, id: &SourceId) -> Result<()> {
    changed(conn.prepare_cached("DELETE FROM source WHERE id = ?1").db()?.execute([id.as_str()]).db()?)?;
    for sql in
        ["DELETE FROM source_dedup WHERE source_id = ?1", "DELETE FROM source_rejection WHERE source_id = ?1"]
    {
        conn.prepare_cached(sql).db()?.execute([id.as_str()]).db()?;
    }
    Ok(())
}

/// Deletes every source of an application with their claims and logs (the
/// application is being deleted).
pub(crate) fn delete_of_app(conn: &Connection, app: &AppId) -> Result<()> {
    for sql in [
        "DELETE FROM source_dedup WHERE source_id IN (SELECT id FROM source WHERE app_id = ?1)",
        "DELETE FROM source_rejection WHERE source_id IN (SELECT id FROM source WHERE app_id = ?1)",
        "DELETE FROM source WHERE app_id = ?1",
    ] {
        conn.prepare_cached(sql).db()?.execute([app.as_str()]).db()?;
    }
    Ok(())
}

/// Claims the message's dedup key for its source, within the outbox write: replaces
/// an expired claim, refuses a live one (`Conflict`), and drops the source's other
/// expired claims on the way so the table holds live claims only.
pub(crate) fn claim_dedup_key(conn: &Connection, msg: &Message, origin: &InboundOrigin) -> Result<()> {
    let Some(claim) = &origin.dedup else { return Ok(()) };
    let now = msg.created_at.millis();
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO source_dedup (source_id, dedup_key, msg_id, expires_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (source_id, dedup_key) DO UPDATE SET
               msg_id = excluded.msg_id, expires_at = excluded.expires_at
             WHERE source_dedup.expires_at <= ?5",
        )
        .db()?;
    let source = origin.source.as_str();
    if stmt.execute(params![source, claim.key, msg.id.as_str(), claim.until.millis(), now]).db()? == 0 {
        return Err(StoreError::Conflict("source dedup key"));
    }
    let mut purge =
        conn.prepare_cached("DELETE FROM source_dedup WHERE source_id = ?1 AND expires_at <= ?2").db()?;
    purge.execute(params![source, now]).db().map(drop)
}

pub(crate) fn dedup_claimant(
    conn: &Connection,
    source: &SourceId,
    key: &str,
    now: Timestamp,
) -> Result<Option<MessageId>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT msg_id FROM source_dedup WHERE source_id = ?1 AND dedup_key = ?2 AND expires_at > ?3",
        )
        .db()?;
    let id: Option<String> =
        stmt.query_row(params![source.as_str(), key, now.millis()], |r| r.get(0)).optional().db()?;
    Ok(id.map(MessageId::from_trusted))
}

/// Logs the rejection if its source exists, counts it, and keeps the newest `keep`.
pub(crate) fn record_rejection(conn: &Connection, r: &RejectedRequest, keep: usize) -> Result<()> {
    let source = r.source_id.as_str();
    let counted = conn
        .prepare_cached("UPDATE source SET rejected_total = rejected_total + 1 WHERE id = ?1")
        .db()?
        .execute([source])
        .db()?;
    if counted == 0 {
        return Ok(());
    }
    let mut insert = conn
        .prepare_cached(concat!(
            "INSERT INTO source_rejection (",
            rejection_columns!(""),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ))
        .db()?;
    insert
        .execute(params![
            r.id.as_str(),
            source,
            r.received_at.millis(),
            r.code,
            r.reason,
            r.method,
            r.url,
            codec::encode_headers(&r.headers),
            r.body,
            i64::try_from(r.body_size).unwrap_or(i64::MAX),
        ])
        .db()?;
    let mut prune = conn
        .prepare_cached(
            "DELETE FROM source_rejection WHERE source_id = ?1 AND id <= (
               SELECT id FROM source_rejection WHERE source_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        )
        .db()?;
    prune.execute(params![source, int(keep)]).db().map(drop)
}

pub(crate) fn list_rejections(
    conn: &Connection,
    source: &SourceId,
    page: &PageQuery,
) -> Result<Page<RejectedRequest>> {
    let head = concat!("SELECT ", rejection_columns!("r."), " FROM source_rejection r WHERE r.source_id = ?");
    let rows = Select::new(head, [text(source.as_str())]).page("r.id", page).fetch(conn, rejection)?;
    Ok(Page::from_overfetch(rows, page))
}

fn source(row: &Row<'_>, secrets: &SecretCipher) -> Result<Source> {
    let id = SourceId::from_trusted(col(row, 0)?);
    Ok(Source {
        verifier: codec::open_verifier(secrets, &id, &col::<String>(row, 4)?)?,
        id,
        app_id: AppId::from_trusted(col(row, 1)?),
        uid: col(row, 2)?,
        name: col(row, 3)?,
        event_type: codec::decode_locator(col::<Option<String>>(row, 5)?.as_deref())?,
        dedup_key: codec::decode_locator(col::<Option<String>>(row, 6)?.as_deref())?,
        dedup_window: Duration::from_millis(u64::try_from(col::<i64>(row, 7)?).unwrap_or(0)),
        response: codec::decode_response(col::<Option<String>>(row, 8)?.as_deref())?,
        max_body_bytes: usize::try_from(col::<i64>(row, 9)?).unwrap_or(0),
        rejected_total: u64::try_from(col::<i64>(row, 10)?).unwrap_or(0),
        created_at: Timestamp(col(row, 11)?),
        updated_at: Timestamp(col(row, 12)?),
    })
}

fn rejection(row: &Row<'_>) -> Result<RejectedRequest> {
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
        body_size: u64::try_from(col::<i64>(row, 9)?).unwrap_or(0),
    })
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use herald_core::Application;
    use herald_store::{SecretKey, Store};

    use super::*;
    use crate::{SqliteOptions, SqliteStore};

    #[tokio::test]
    async fn a_sources_secret_is_not_readable_in_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("herald.db");
        let store = SqliteStore::open_with(&path, SqliteOptions::new(SecretKey::generate())).expect("open");
        let now = Timestamp::now();
        let app = Application {
            id: AppId::generate(),
            uid: None,
            name: "a".into(),
            metadata: Default::default(),
            throttle_rate: None,
            created_at: now,
            updated_at: now,
        };
        store.create_app(&app).await.expect("app");
        let verifier = serde_json::json!({"type": "stripe", "secret": "whsec_do_not_store_me_in_clear"});
        let source = Source {
            id: SourceId::generate(),
            app_id: app.id.clone(),
            uid: None,
            name: "s".into(),
            verifier: serde_json::from_value(verifier).expect("verifier"),
            event_type: None,
            dedup_key: None,
            dedup_window: Duration::from_secs(60),
            response: None,
            max_body_bytes: 1024,
            rejected_total: 0,
            created_at: now,
            updated_at: now,
        };
        store.create_source(&source).await.expect("create");
        assert_eq!(
            store.get_source(source.id.as_str()).await.expect("get"),
            Some(source),
            "read back decrypted"
        );
        drop(store);
        let conn = Connection::open(&path).expect("raw");
        let stored: String = conn.query_row("SELECT verifier FROM source", [], |r| r.get(0)).expect("row");
        assert!(herald_store::secrets::is_sealed(&stored), "sealed: {stored}");
        assert!(!stored.contains("do_not_store_me"), "the secret is not readable");
    }
}
