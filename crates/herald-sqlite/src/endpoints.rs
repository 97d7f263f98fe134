//! Endpoints: rows scoped to an application, looked up by id or `uid`. Lists and maps
//! are JSON text; secrets are sealed with the store's [`SecretCipher`]. Deleting an endpoint
//! deletes its deliveries and attempts.

use herald_core::{AppId, Endpoint, EndpointId, Timestamp};
use herald_store::{Page, PageQuery, SecretCipher, StoreError, codec};
use rusqlite::{Connection, OptionalExtension, params};

use crate::rows::{self, endpoint_columns};
use crate::sql::{DbResult, Result, Select, changed, json_list, text};

const KEYS: (&str, &str) = ("endpoint id", "endpoint uid");

pub(crate) fn insert(conn: &Connection, ep: &Endpoint, secrets: &SecretCipher) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO endpoint (id, app_id, uid, url, description, event_types, channels, disabled,
               throttle_rate, metadata, headers, secrets, created_at, updated_at, failing_since,
               disabled_reason, transformation, payload_filter)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )
        .db()?;
    stmt.execute(params![
        ep.id.as_str(),
        ep.app_id.as_str(),
        ep.uid,
        ep.url,
        ep.description,
        rows::encode_list(ep.event_types.as_ref()),
        rows::encode_list(ep.channels.as_ref()),
        ep.disabled,
        ep.throttle_rate,
        codec::encode_map(&ep.metadata),
        codec::encode_map(&ep.headers),
        secrets.seal(&ep.id, &ep.secrets),
        ep.created_at.millis(),
        ep.updated_at.millis(),
        ep.failing_since.map(Timestamp::millis),
        ep.disabled_reason,
        codec::encode_transformation(ep.transformation.as_ref()),
        codec::encode_filter(ep.filter.as_ref()),
    ])
    .or_conflict(KEYS.0, KEYS.1)
    .map(drop)
}

/// By id or uid within the application; an id match wins.
pub(crate) fn get(
    conn: &Connection,
    app: &AppId,
    key: &str,
    secrets: &SecretCipher,
) -> Result<Option<Endpoint>> {
    let sql = concat!(
        "SELECT ",
        endpoint_columns!("e."),
        " FROM endpoint e WHERE e.app_id = ?1 AND (e.id = ?2 OR e.uid = ?2) ORDER BY e.id = ?2 DESC LIMIT 1"
    );
    let mut stmt = conn.prepare_cached(sql).db()?;
    stmt.query_row([app.as_str(), key], |row| Ok(rows::endpoint(row, 0, secrets)))
        .optional()
        .db()?
        .transpose()
}

pub(crate) fn list(
    conn: &Connection,
    app: &AppId,
    page: &PageQuery,
    secrets: &SecretCipher,
) -> Result<Page<Endpoint>> {
    let head = concat!("SELECT ", endpoint_columns!("e."), " FROM endpoint e WHERE e.app_id = ?");
    let rows = Select::new(head, [text(app.as_str())])
        .page("e.id", page)
        .fetch(conn, |r| rows::endpoint(r, 0, secrets))?;
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) fn all(conn: &Connection, app: &AppId, secrets: &SecretCipher) -> Result<Vec<Endpoint>> {
    let head =
        concat!("SELECT ", endpoint_columns!("e."), " FROM endpoint e WHERE e.app_id = ? ORDER BY e.id");
    Select::new(head, [text(app.as_str())]).fetch(conn, |r| rows::endpoint(r, 0, secrets))
}

pub(crate) fn by_id(conn: &Connection, ids: &[EndpointId], secrets: &SecretCipher) -> Result<Vec<Endpoint>> {
    let head = concat!(
        "SELECT ",
        endpoint_columns!("e."),
        " FROM endpoint e WHERE e.id IN (SELECT value FROM json_each(?))"
    );
    Select::new(head, [json_list(ids.iter().map(EndpointId::as_str))])
        .fetch(conn, |r| rows::endpoint(r, 0, secrets))
}

/// Replaces the caller's fields; the health columns are the engine's, except that
/// re-enabling clears them (the `CASE`s read the row as it was before the update).
pub(crate) fn update(conn: &Connection, ep: &Endpoint, secrets: &SecretCipher) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE endpoint SET uid = ?3, url = ?4, description = ?5, event_types = ?6, channels = ?7,
               disabled = ?8, throttle_rate = ?9, metadata = ?10, headers = ?11, secrets = ?12,
               updated_at = ?13, transformation = ?14, payload_filter = ?15,
               failing_since = CASE WHEN disabled AND NOT ?8 THEN NULL ELSE failing_since END,
               disabled_reason = CASE WHEN ?8 THEN disabled_reason ELSE NULL END
             WHERE id = ?1 AND app_id = ?2",
        )
        .db()?;
    let n = stmt
        .execute(params![
            ep.id.as_str(),
            ep.app_id.as_str(),
            ep.uid,
            ep.url,
            ep.description,
            rows::encode_list(ep.event_types.as_ref()),
            rows::encode_list(ep.channels.as_ref()),
            ep.disabled,
            ep.throttle_rate,
            codec::encode_map(&ep.metadata),
            codec::encode_map(&ep.headers),
            secrets.seal(&ep.id, &ep.secrets),
            ep.updated_at.millis(),
            codec::encode_transformation(ep.transformation.as_ref()),
            codec::encode_filter(ep.filter.as_ref()),
        ])
        .or_conflict(KEYS.0, KEYS.1)?;
    changed(n)
}

/// Marks the endpoint failing since `since` (the earlier mark wins) or healthy
/// (`None`); returns what is stored afterwards.
pub(crate) fn set_failing(
    conn: &Connection,
    id: &EndpointId,
    since: Option<Timestamp>,
) -> Result<Option<Timestamp>> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE endpoint SET failing_since = CASE WHEN ?2 IS NULL THEN NULL
               ELSE MIN(COALESCE(failing_since, ?2), ?2) END
             WHERE id = ?1 RETURNING failing_since",
        )
        .db()?;
    let stored = stmt.query_row(params![id.as_str(), since.map(Timestamp::millis)], |r| r.get(0));
    let stored: Option<Option<i64>> = stored.optional().db()?;
    stored.map(|s| s.map(Timestamp)).ok_or(StoreError::NotFound)
}

/// Fails the endpoint's pending deliveries and, if it is enabled, disables it with
/// `reason`; true when this call disabled it.
pub(crate) fn disable(
    conn: &Connection,
    id: &EndpointId,
    reason: Option<&str>,
    now: Timestamp,
) -> Result<bool> {
    let mut stmt = conn.prepare_cached("SELECT disabled FROM endpoint WHERE id = ?1").db()?;
    let was: bool =
        stmt.query_row([id.as_str()], |r| r.get(0)).optional().db()?.ok_or(StoreError::NotFound)?;
    if !was {
        let mut stmt = conn
            .prepare_cached(
                "UPDATE endpoint SET disabled = 1, disabled_reason = ?2, updated_at = ?3 WHERE id = ?1",
            )
            .db()?;
        stmt.execute(params![id.as_str(), reason, now.millis()]).db()?;
    }
    let mut stmt = conn
        .prepare_cached(
            "UPDATE delivery SET status = 2, next_attempt_at = NULL, lease_until = NULL, updated_at = ?2
             WHERE endpoint_id = ?1 AND status = 1",
        )
        .db()?;
    stmt.execute(params![id.as_str(), now.millis()]).db()?;
    Ok(!was)
}

pub(crate) fn delete(conn: &Connection, app: &AppId, id: &EndpointId) -> Result<()> {
    let mut stmt = conn.prepare_cached("DELETE FROM endpoint WHERE id = ?1 AND app_id = ?2").db()?;
    changed(stmt.execute([id.as_str(), app.as_str()]).db()?)?;
    for sql in ["DELETE FROM attempt WHERE endpoint_id = ?1", "DELETE FROM delivery WHERE endpoint_id = ?1"] {
        conn.prepare_cached(sql).db()?.execute([id.as_str()]).db()?;
    }
    Ok(())
}
