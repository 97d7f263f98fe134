//! Idempotency keys and application-scoped access tokens: small keyed rows with an
//! expiry, read with the caller's `now`.

use herald_core::{AppId, Timestamp};
use herald_store::StoredResponse;
use sqlx::PgPool;

use crate::sql::{Result, db, narrow};

pub(crate) async fn get_idempotent(
    pool: &PgPool,
    key: &str,
    now: Timestamp,
) -> Result<Option<StoredResponse>> {
    let found: Option<(i32, Vec<u8>)> =
        sqlx::query_as("SELECT status, body FROM idempotency WHERE key = $1 AND expires_at > $2")
            .bind(key)
            .bind(now.millis())
            .fetch_optional(pool)
            .await
            .map_err(db)?;
    found
        .map(|(status, body)| {
            Ok(StoredResponse { status: narrow(i64::from(status), "response status")?, body })
        })
        .transpose()
}

/// The first writer wins while its entry lives; an expired entry (by the wall clock,
/// since the trait passes no `now` here) is replaced, so a key can be used again.
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
         WHERE idempotency.expires_at <= $5",
    )
    .bind(key)
    .bind(i32::from(response.status))
    .bind(&response.body)
    .bind(expires_at.millis())
    .bind(Timestamp::now().millis())
    .execute(pool)
    .await
    .map_err(db)
    .map(drop)
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
