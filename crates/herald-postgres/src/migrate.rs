//! The embedded migrations: one SQL file per schema version under `migrations/`,
//! applied at connect, tracked in a one-table ledger of this crate's own
//! (`herald_schema_version`), and safe when several processes start at the same instant
//! on an empty database.
//!
//! Everything happens in one transaction that first takes a transaction-scoped advisory
//! lock keyed by the schema: the first process creates the schema, the ledger and the
//! tables and commits; the others wait on the lock, then find the schema current and do
//! nothing. PostgreSQL's DDL is transactional, so a failed migration leaves nothing
//! half-applied. (`CREATE SCHEMA IF NOT EXISTS` alone is not enough: two sessions
//! running it at once can still collide on the catalog's unique index.)

use herald_store::StoreError;
use sqlx::{AssertSqlSafe, PgPool, Postgres, Transaction};

use crate::conn::check_schema;
use crate::sql::{Result, db};

/// The schema versions, in order; version N is `MIGRATIONS[N - 1]`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/001_initial.sql"),
    include_str!("../migrations/002_meta.sql"),
    include_str!("../migrations/003_endpoint_health.sql"),
    include_str!("../migrations/004_sources.sql"),
    include_str!("../migrations/005_retention.sql"),
    include_str!("../migrations/006_transformations.sql"),
    include_str!("../migrations/007_attempt_requests.sql"),
];

/// The first key of the advisory lock (`'HRLD'`); the second is a hash of the schema,
/// so processes migrating different schemas do not wait for each other.
const LOCK_CLASS: i32 = 0x4852_4c44;

/// Brings the schema (`None`: the default `search_path`) up to date.
pub(crate) async fn run(pool: &PgPool, schema: Option<&str>) -> Result<()> {
    let mut tx = pool.begin().await.map_err(db)?;
    lock(&mut tx, LOCK_CLASS, schema).await?;
    if let Some(schema) = schema {
        create_schema(&mut tx, schema).await?;
    }
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS herald_schema_version (
           version    INTEGER NOT NULL PRIMARY KEY,
           applied_at BIGINT NOT NULL
         )",
    )
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    let current: i32 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM herald_schema_version")
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
    let latest = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
    if current > latest {
        return Err(StoreError::Corrupt(format!(
            "the database schema is version {current}, newer than this build knows ({latest})"
        )));
    }
    for (version, sql) in (1_i32..).zip(MIGRATIONS.iter()).skip(usize::try_from(current).unwrap_or(0)) {
        tracing::info!(version, schema, "applying PostgreSQL migration");
        sqlx::raw_sql(*sql).execute(&mut *tx).await.map_err(db)?;
        sqlx::query("INSERT INTO herald_schema_version (version, applied_at) VALUES ($1, $2)")
            .bind(version)
            .bind(herald_core::Timestamp::now().millis())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}

/// Takes the transaction-scoped advisory lock `(class, hash of the schema)`: start-up
/// work that several processes may attempt at once runs one process at a time.
pub(crate) async fn lock(tx: &mut Transaction<'_, Postgres>, class: i32, schema: Option<&str>) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(class)
        .bind(schema.unwrap_or(""))
        .execute(&mut **tx)
        .await
        .map_err(db)
        .map(drop)
}

/// Creates the schema unless it exists. Checked first rather than left to `IF NOT
/// EXISTS`, which still demands the `CREATE` privilege on the database: a role that
/// only owns an existing schema must be able to start.
async fn create_schema(tx: &mut Transaction<'_, Postgres>, schema: &str) -> Result<()> {
    check_schema(schema)?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
        .bind(schema)
        .fetch_one(&mut **tx)
        .await
        .map_err(db)?;
    if !exists {
        // The name is a checked identifier (lower-case letters, digits, `_`): no quoting needed.
        let create = format!("CREATE SCHEMA {schema}");
        sqlx::query(AssertSqlSafe(create)).execute(&mut **tx).await.map_err(db)?;
    }
    Ok(())
}
