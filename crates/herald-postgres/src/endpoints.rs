//! Endpoints: rows scoped to an application, looked up by id or `uid`. Lists are
//! TEXT[], maps JSON text; secrets are sealed with the store's [`SecretCipher`]. Deleting an
//! endpoint deletes its deliveries and attempts in the same statement.

use herald_core::{AppId, Endpoint, EndpointId, Timestamp};
use herald_store::{Page, PageQuery, SecretCipher, StoreError, codec};
use sqlx::PgPool;

use crate::rows::{self, endpoint_columns};
use crate::sql::{Result, Select, changed, db};

pub(crate) async fn insert(pool: &PgPool, ep: &Endpoint, secrets: &SecretCipher) -> Result<()> {
    sqlx::query(
        "INSERT INTO endpoint (id, app_id, uid, url, description, event_types, channels, disabled,
           throttle_rate, metadata, headers, secrets, created_at, updated_at, failing_since, disabled_reason,
           transformation, payload_filter)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(ep.id.as_str())
    .bind(ep.app_id.as_str())
    .bind(ep.uid.as_deref())
    .bind(&ep.url)
    .bind(&ep.description)
    .bind(ep.event_types.as_deref())
    .bind(ep.channels.as_deref())
    .bind(ep.disabled)
    .bind(ep.throttle_rate.map(i64::from))
    .bind(codec::encode_map(&ep.metadata))
    .bind(codec::encode_map(&ep.headers))
    .bind(secrets.seal(&ep.id, &ep.secrets))
    .bind(ep.created_at.millis())
    .bind(ep.updated_at.millis())
    .bind(ep.failing_since.map(Timestamp::millis))
    .bind(ep.disabled_reason.as_deref())
    .bind(codec::encode_transformation(ep.transformation.as_ref()))
    .bind(codec::encode_filter(ep.filter.as_ref()))
    .execute(pool)
    .await
    .map_err(db)
    .map(drop)
}

/// By id or uid within the application; an id match wins.
pub(crate) async fn get(
    pool: &PgPool,
    app: &AppId,
    key: &str,
    secrets: &SecretCipher,
) -> Result<Option<Endpoint>> {
    let sql = concat!(
        "SELECT ",
        endpoint_columns!("e."),
        " FROM endpoint e WHERE e.app_id = $1 AND (e.id = $2 OR e.uid = $2) ORDER BY e.id = $2 DESC LIMIT 1"
    );
    let row = sqlx::query(sql).bind(app.as_str()).bind(key).fetch_optional(pool).await.map_err(db)?;
    row.as_ref().map(|r| rows::endpoint(r, 0, secrets)).transpose()
}

pub(crate) async fn list(
    pool: &PgPool,
    app: &AppId,
    page: &PageQuery,
    secrets: &SecretCipher,
) -> Result<Page<Endpoint>> {
    let rows = Select::new(concat!("SELECT ", endpoint_columns!("e."), " FROM endpoint e WHERE TRUE"))
        .and_bind("e.app_id = ", app.as_str(), "")
        .page("e.id", page)
        .fetch(pool, |r| rows::endpoint(r, 0, secrets))
        .await?;
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) async fn all(pool: &PgPool, app: &AppId, secrets: &SecretCipher) -> Result<Vec<Endpoint>> {
    let sql =
        concat!("SELECT ", endpoint_columns!("e."), " FROM endpoint e WHERE e.app_id = $1 ORDER BY e.id");
    let found = sqlx::query(sql).bind(app.as_str()).fetch_all(pool).await.map_err(db)?;
    found.iter().map(|r| rows::endpoint(r, 0, secrets)).collect()
}

pub(crate) async fn by_id(
    pool: &PgPool,
    ids: &[EndpointId],
    secrets: &SecretCipher,
) -> Result<Vec<Endpoint>> {
    let sql = concat!("SELECT ", endpoint_columns!("e."), " FROM endpoint e WHERE e.id = ANY($1)");
    let ids: Vec<&str> = ids.iter().map(EndpointId::as_str).collect();
    let found = sqlx::query(sql).bind(ids).fetch_all(pool).await.map_err(db)?;
    found.iter().map(|r| rows::endpoint(r, 0, secrets)).collect()
}

/// Replaces the caller's fields; the health columns are the engine's, except that
/// re-enabling clears them (the `CASE`s read the row as it was before the update).
pub(crate) async fn update(pool: &PgPool, ep: &Endpoint, secrets: &SecretCipher) -> Result<()> {
    let done = sqlx::query(
        "UPDATE endpoint SET uid = $3, url = $4, description = $5, event_types = $6, channels = $7,
           disabled = $8, throttle_rate = $9, metadata = $10, headers = $11, secrets = $12,
           updated_at = $13, transformation = $14, payload_filter = $15,
           failing_since = CASE WHEN disabled AND NOT $8 THEN NULL ELSE failing_since END,
           disabled_reason = CASE WHEN $8 THEN disabled_reason ELSE NULL END
         WHERE id = $1 AND app_id = $2",
    )
    .bind(ep.id.as_str())
    .bind(ep.app_id.as_str())
    .bind(ep.uid.as_deref())
    .bind(&ep.url)
    .bind(&ep.description)
    .bind(ep.event_types.as_deref())
    .bind(ep.channels.as_deref())
    .bind(ep.disabled)
    .bind(ep.throttle_rate.map(i64::from))
    .bind(codec::encode_map(&ep.metadata))
    .bind(codec::encode_map(&ep.headers))
    .bind(secrets.seal(&ep.id, &ep.secrets))
    .bind(ep.updated_at.millis())
    .bind(codec::encode_transformation(ep.transformation.as_ref()))
    .bind(codec::encode_filter(ep.filter.as_ref()))
    .execute(pool)
    .await
    .map_err(db)?;
    changed(done.rows_affected())
}

/// Marks the endpoint failing since `since` (the earlier mark wins) or healthy
/// (`None`); returns what is stored afterwards.
pub(crate) async fn set_failing(
    pool: &PgPool,
    id: &EndpointId,
    since: Option<Timestamp>,
) -> Result<Option<Timestamp>> {
    let stored: Option<Option<i64>> = sqlx::query_scalar(
        "UPDATE endpoint SET failing_since = CASE WHEN $2::BIGINT IS NULL THEN NULL
           ELSE LEAST(COALESCE(failing_since, $2), $2) END
         WHERE id = $1 RETURNING failing_since",
    )
    .bind(id.as_str())
    .bind(since.map(Timestamp::millis))
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    stored.map(|s| s.map(Timestamp)).ok_or(StoreError::NotFound)
}

/// Fails the endpoint's pending deliveries and, if it is enabled, disables it with
/// `reason`; true when this statement disabled it. The row is locked first, so of two
/// processes disabling at once exactly one sees it enabled.
pub(crate) async fn disable(
    pool: &PgPool,
    id: &EndpointId,
    reason: Option<&str>,
    now: Timestamp,
) -> Result<bool> {
    let (found, disabled): (i64, i64) = sqlx::query_as(
        "WITH ep AS (SELECT id, disabled FROM endpoint WHERE id = $1 FOR UPDATE),
              off AS (UPDATE endpoint SET disabled = TRUE, disabled_reason = $2, updated_at = $3
                      WHERE id IN (SELECT id FROM ep WHERE NOT disabled) RETURNING id),
              failed AS (UPDATE delivery SET status = 2, next_attempt_at = NULL, lease_until = NULL,
                           updated_at = $3
                         WHERE endpoint_id IN (SELECT id FROM ep) AND status = 1)
         SELECT (SELECT COUNT(*) FROM ep), (SELECT COUNT(*) FROM off)",
    )
    .bind(id.as_str())
    .bind(reason)
    .bind(now.millis())
    .fetch_one(pool)
    .await
    .map_err(db)?;
    changed(u64::try_from(found).unwrap_or(0))?;
    Ok(disabled > 0)
}

/// Deletes the endpoint and, only if it existed in that application, its attempts and
/// deliveries; one statement.
pub(crate) async fn delete(pool: &PgPool, app: &AppId, id: &EndpointId) -> Result<()> {
    let deleted: i64 = sqlx::query_scalar(
        "WITH ep  AS (DELETE FROM endpoint WHERE id = $1 AND app_id = $2 RETURNING id),
              att AS (DELETE FROM attempt WHERE endpoint_id IN (SELECT id FROM ep)),
              del AS (DELETE FROM delivery WHERE endpoint_id IN (SELECT id FROM ep))
         SELECT COUNT(*) FROM ep",
    )
    .bind(id.as_str())
    .bind(app.as_str())
    .fetch_one(pool)
    .await
    .map_err(db)?;
    changed(u64::try_from(deleted).unwrap_or(0))
}
