//! Applications and event types: plain rows, looked up by id or `uid` (applications)
//! or by name (event types). Deleting an application deletes everything it owns in the
//! same statement, since the schema declares no foreign keys.

use herald_core::{AppId, Application, EventType};
use herald_store::{Page, PageQuery};
use sqlx::PgPool;

use crate::rows::{self, app_columns, event_type_columns};
use crate::sql::{Result, Select, changed, db};

pub(crate) async fn insert_app(pool: &PgPool, app: &Application) -> Result<()> {
    sqlx::query(
        "INSERT INTO application (id, uid, name, metadata, throttle_rate, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(app.id.as_str())
    .bind(app.uid.as_deref())
    .bind(&app.name)
    .bind(herald_store::codec::encode_map(&app.metadata))
    .bind(app.throttle_rate.map(i64::from))
    .bind(app.created_at.millis())
    .bind(app.updated_at.millis())
    .execute(pool)
    .await
    .map_err(db)
    .map(drop)
}

/// By id or uid; an id match wins over a uid that happens to look like it.
pub(crate) async fn get_app(pool: &PgPool, key: &str) -> Result<Option<Application>> {
    let sql = concat!(
        "SELECT ",
        app_columns!("a."),
        " FROM application a WHERE a.id = $1 OR a.uid = $1 ORDER BY a.id = $1 DESC LIMIT 1"
    );
    let row = sqlx::query(sql).bind(key).fetch_optional(pool).await.map_err(db)?;
    row.as_ref().map(rows::app).transpose()
}

pub(crate) async fn list_apps(pool: &PgPool, page: &PageQuery) -> Result<Page<Application>> {
    let rows = Select::new(concat!("SELECT ", app_columns!("a."), " FROM application a WHERE TRUE"))
        .page("a.id", page)
        .fetch(pool, rows::app)
        .await?;
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) async fn update_app(pool: &PgPool, app: &Application) -> Result<()> {
    let done = sqlx::query(
        "UPDATE application SET uid = $2, name = $3, metadata = $4, throttle_rate = $5, updated_at = $6
         WHERE id = $1",
    )
    .bind(app.id.as_str())
    .bind(app.uid.as_deref())
    .bind(&app.name)
    .bind(herald_store::codec::encode_map(&app.metadata))
    .bind(app.throttle_rate.map(i64::from))
    .bind(app.updated_at.millis())
    .execute(pool)
    .await
    .map_err(db)?;
    changed(done.rows_affected())
}

/// Deletes the application and, only if it existed, what it owns: attempts and
/// deliveries (found through its messages, by index), messages, endpoints, access
/// tokens and sources (with their dedup claims and logs). One statement, so it is
/// atomic without a transaction; the data-modifying CTEs all run whether or not the
/// final `SELECT` reads them.
pub(crate) async fn delete_app(pool: &PgPool, id: &AppId) -> Result<()> {
    let deleted: i64 = sqlx::query_scalar(
        "WITH app AS (DELETE FROM application WHERE id = $1 RETURNING id),
              msg AS (DELETE FROM message WHERE app_id IN (SELECT id FROM app) RETURNING id),
              att AS (DELETE FROM attempt WHERE msg_id IN (SELECT id FROM msg)),
              del AS (DELETE FROM delivery WHERE msg_id IN (SELECT id FROM msg)),
              ep  AS (DELETE FROM endpoint WHERE app_id IN (SELECT id FROM app)),
              tok AS (DELETE FROM app_token WHERE app_id IN (SELECT id FROM app)),
              src AS (DELETE FROM source WHERE app_id IN (SELECT id FROM app) RETURNING id),
              ded AS (DELETE FROM source_dedup WHERE source_id IN (SELECT id FROM src)),
              rej AS (DELETE FROM source_rejection WHERE source_id IN (SELECT id FROM src))
         SELECT COUNT(*) FROM app",
    )
    .bind(id.as_str())
    .fetch_one(pool)
    .await
    .map_err(db)?;
    changed(u64::try_from(deleted).unwrap_or(0))
}

pub(crate) async fn insert_event_type(pool: &PgPool, et: &EventType) -> Result<()> {
    sqlx::query(
        "INSERT INTO event_type
           (name, description, archived, deprecated, feature_flag, schemas, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&et.name)
    .bind(&et.description)
    .bind(et.archived)
    .bind(et.deprecated)
    .bind(et.feature_flag.as_deref())
    .bind(et.schemas.as_ref().map(|s| s.to_string()))
    .bind(et.created_at.millis())
    .bind(et.updated_at.millis())
    .execute(pool)
    .await
    .map_err(db)
    .map(drop)
}

pub(crate) async fn get_event_type(pool: &PgPool, name: &str) -> Result<Option<EventType>> {
    let sql = concat!("SELECT ", event_type_columns!("t."), " FROM event_type t WHERE t.name = $1");
    let row = sqlx::query(sql).bind(name).fetch_optional(pool).await.map_err(db)?;
    row.as_ref().map(rows::event_type).transpose()
}

pub(crate) async fn list_event_types(
    pool: &PgPool,
    page: &PageQuery,
    include_archived: bool,
) -> Result<Page<EventType>> {
    let mut select =
        Select::new(concat!("SELECT ", event_type_columns!("t."), " FROM event_type t WHERE TRUE"));
    if !include_archived {
        select.and("NOT t.archived");
    }
    let rows = select.page("t.name", page).fetch(pool, rows::event_type).await?;
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) async fn update_event_type(pool: &PgPool, et: &EventType) -> Result<()> {
    let done = sqlx::query(
        "UPDATE event_type SET description = $2, archived = $3, deprecated = $4, feature_flag = $5,
           schemas = $6, updated_at = $7
         WHERE name = $1",
    )
    .bind(&et.name)
    .bind(&et.description)
    .bind(et.archived)
    .bind(et.deprecated)
    .bind(et.feature_flag.as_deref())
    .bind(et.schemas.as_ref().map(|s| s.to_string()))
    .bind(et.updated_at.millis())
    .execute(pool)
    .await
    .map_err(db)?;
    changed(done.rows_affected())
}

pub(crate) async fn delete_event_type(pool: &PgPool, name: &str) -> Result<()> {
    let done =
        sqlx::query("DELETE FROM event_type WHERE name = $1").bind(name).execute(pool).await.map_err(db)?;
    changed(done.rows_affected())
}
