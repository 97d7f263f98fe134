//! Idempotency keys and application-scoped access tokens: small keyed rows with an
//! expiry, read with the caller's `now`.

use herald_core::{AppId, Timestamp};
use herald_store::{CLAIM_STATUS, IdempotencyClaim, StoredResponse};
use rusqlite::{Connection, OptionalExtension, params};

use crate::sql::{DbResult, Result};

pub(crate) fn get_idempotent(conn: &Connection, key: &str, now: Timestamp) -> Result<Option<StoredResponse>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT status, body FROM idempotency WHERE key = ?1 AND expires_at > ?2 AND status <> ?3",
        )
        .db()?;
    stmt.query_row(params![key, now.millis(), CLAIM_STATUS], |row| {
        Ok(StoredResponse { status: row.get(0)?, body: row.get(1)? })
    })
    .optional()
    .db()
}

/// Completes a claim; otherwise the first writer wins while its entry lives, and an
/// expired entry (by the wall clock, since the trait passes no `now` here) is
/// replaced, so a key can be used again.
pub(crate) fn put_idempotent(
    conn: &Connection,
    key: &str,
    response: &StoredResponse,
    expires_at: Timestamp,
) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO idempotency (key, status, body, expires_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO UPDATE SET
               status = excluded.status, body = excluded.body, expires_at = excluded.expires_at
             WHERE idempotency.expires_at <= ?5 OR idempotency.status = ?6",
        )
        .db()?;
    let now = Timestamp::now().millis();
    stmt.execute(params![key, response.status, response.body, expires_at.millis(), now, CLAIM_STATUS])
        .db()
        .map(drop)
}

/// Inserts a claim (status [`CLAIM_STATUS`]) unless a live entry holds the key, in
/// the writer's transaction, so two claims never both succeed.
pub(crate) fn claim_idempotent(
    conn: &Connection,
    key: &str,
    now: Timestamp,
    claim_until: Timestamp,
) -> Result<IdempotencyClaim> {
    let mut claim = conn
        .prepare_cached(
            "INSERT INTO idempotency (key, status, body, expires_at) VALUES (?1, ?2, x'', ?3)
             ON CONFLICT (key) DO UPDATE SET
               status = excluded.status, body = excluded.body, expires_at = excluded.expires_at
             WHERE idempotency.expires_at <= ?4",
        )
        .db()?;
    if claim.execute(params![key, CLAIM_STATUS, claim_until.millis(), now.millis()]).db()? == 1 {
        return Ok(IdempotencyClaim::Claimed);
    }
    let mut held = conn.prepare_cached("SELECT status, body FROM idempotency WHERE key = ?1").db()?;
    let (status, body): (u16, Vec<u8>) = held.query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?))).db()?;
    Ok(if status == CLAIM_STATUS {
        IdempotencyClaim::InProgress
    } else {
        IdempotencyClaim::Stored(StoredResponse { status, body })
    })
}

pub(crate) fn release_idempotent(conn: &Connection, key: &str) -> Result<()> {
    let mut stmt = conn.prepare_cached("DELETE FROM idempotency WHERE key = ?1 AND status = ?2").db()?;
    stmt.execute(params![key, CLAIM_STATUS]).db().map(drop)
}

pub(crate) fn delete_app_token(conn: &Connection, hash: &str) -> Result<()> {
    let mut stmt = conn.prepare_cached("DELETE FROM app_token WHERE hash = ?1").db()?;
    stmt.execute(params![hash]).db().map(drop)
}

pub(crate) fn create_app_token(
    conn: &Connection,
    hash: &str,
    app: &AppId,
    expires_at: Timestamp,
) -> Result<()> {
    let mut stmt =
        conn.prepare_cached("INSERT INTO app_token (hash, app_id, expires_at) VALUES (?1, ?2, ?3)").db()?;
    stmt.execute(params![hash, app.as_str(), expires_at.millis()])
        .or_conflict("app token", "app token")
        .map(drop)
}

pub(crate) fn app_for_token(conn: &Connection, hash: &str, now: Timestamp) -> Result<Option<AppId>> {
    let mut stmt =
        conn.prepare_cached("SELECT app_id FROM app_token WHERE hash = ?1 AND expires_at > ?2").db()?;
    let app: Option<String> =
        stmt.query_row(params![hash, now.millis()], |row| row.get(0)).optional().db()?;
    Ok(app.map(AppId::from_trusted))
}
