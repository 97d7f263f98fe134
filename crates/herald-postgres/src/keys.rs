//! Idempotency keys and application-scoped access tokens: small keyed rows with an
//! expiry, read with the caller's `now`.

use herald_core::{AppId, Timestamp};
use herald_store::{CLAIM_STATUS, IdempotencyClaim, StoredResponse};
use sqlx::PgPool;

use crate::sql::{Result, db, narrow};

pub(crate) async fn get_idempotent(
    pool: &PgPool,
    key: &str,
    now: Timestamp,
) -> Result<Option<StoredResponse>> {
    let found: Option<(i32, Vec<u8>)> = sqlx::query_as(
        "SELECT status, body FROM idempotency WHERE key = $1 AND expires_at > $2 AND status <> $3",
    )
    .bind(key)
    .bind(now.millis())
    .bind(i32::from(CLAIM_STATUS))
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    found
        .map(|(status, body)| {
            Ok(StoredResponse { status: narrow(i64::from(status), "response status")?, body })
        })
        .transpose()
}

/// Completes a claim; otherwise the first writer wins while its entry lives, and an
/// expired entry (by the wall clock, since the trait passes no `now` here) is
/// replaced, so a key can be used again.
pub(crate) async fn put_idempotent(
    pool: &PgPool,
    key: &str,
    response: &StoredResponse,
    expires_at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO idempotency (key, status, body, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET
           status = excluded.status, body = excluded.body, expires_at = excluded.expires_at
         WHERE idempotency.expires_at <= $5 OR idempotency.status = $6",
    )
    .bind(key)
    .bind(i32::from(response.status))
    .bind(&response.body)
    .bind(expires_at.millis())
    .bind(Timestamp::now().millis())
    .bind(i32::from(CLAIM_STATUS))
    .execute(pool)
    .await
    .map_err(db)
    .map(drop)
}

/// Inserts a claim (status [`CLAIM_STATUS`]) unless a live entry holds the key. One
/// statement: of several processes claiming at once, PostgreSQL lets one insert and
/// makes the others see its row.
pub(crate) async fn claim_idempotent(
    pool: &PgPool,
    key: &str,
    now: Timestamp,
    claim_until: Timestamp,
) -> Result<IdempotencyClaim> {
    let claimed = sqlx::query(
        "INSERT INTO idempotency (key, status, body, expires_at) VALUES ($1, $2, ''::bytea, $3)
         ON CONFLICT (key) DO UPDATE SET
           status = excluded.status, body = excluded.body, expires_at = excluded.expires_at
         WHERE idempotency.expires_at <= $4",
    )
    .bind(key)
    .bind(i32::from(CLAIM_STATUS))
    .bind(claim_until.millis())
    .bind(now.millis())
    .execute(pool)
    .await
    .map_err(db)?
    .rows_affected()
        == 1;
    if claimed {
        return Ok(IdempotencyClaim::Claimed);
    }
    let held: Option<(i32, Vec<u8>)> = sqlx::query_as("SELECT status, body FROM idempotency WHERE key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    Ok(match held {
        Some((status, body)) if status != i32::from(CLAIM_STATUS) => {
            IdempotencyClaim::Stored(StoredResponse {
                status: narrow(i64::from(status), "response status")?,
                body,
            })
        }
        // A claim, or a row released since: the caller asks again.
        _ => IdempotencyClaim::InProgress,
    })
}

pub(crate) async fn release_idempotent(pool: &PgPool, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM idempotency WHERE key = $1 AND status = $2")
        .bind(key)
        .bind(i32::from(CLAIM_STATUS))
        .execute(pool)
        .await
        .map_err(db)
        .map(drop)
}

pub(crate) async fn delete_app_token(pool: &PgPool, hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM app_token WHERE hash = $1").bind(hash).execute(pool).await.map_err(db).map(drop)
}

pub(crate) async fn create_app_token(
    pool: &PgPool,
    hash: &str,
    app: &AppId,
    expires_at: Timestamp,
) -> Result<()> {
    sqlx::query("INSERT INTO app_token (hash, app_id, expires_at) VALUES ($1, $2, $3)")
        .bind(hash)
        .bind(app.as_str())
        .bind(expires_at.millis())
        .execute(pool)
        .await
        .map_err(db)
        .map(drop)
}

pub(crate) async fn app_for_token(pool: &PgPool, hash: &str, now: Timestamp) -> Result<Option<AppId>> {
    let app: Option<String> =
        sqlx::query_scalar("SELECT app_id FROM app_token WHERE hash = $1 AND expires_at > $2")
            .bind(hash)
            .bind(now.millis())
            .fetch_optional(pool)
            .await
            .map_err(db)?;
    Ok(app.map(AppId::from_trusted))
}
