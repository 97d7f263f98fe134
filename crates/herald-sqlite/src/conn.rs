//! Opening connections: the options, the pragmas every connection gets, and the
//! embedded migrations run once by the write connection when the store opens.
//!
//! Migrations are plain SQL files, one per schema version, applied in one
//! `BEGIN IMMEDIATE` transaction that also bumps `PRAGMA user_version`; the version is
//! re-read inside that transaction, so two processes opening the same file at once
//! cannot both apply a migration.

use std::path::Path;
use std::time::Duration;

use herald_store::{SecretKey, StoreError};
use rusqlite::{Connection, TransactionBehavior};

use crate::sql::{DbResult, Result};

/// How the store opens its database. There is no `Default`: the secret key must be
/// chosen by the caller (the binary keeps one in the data directory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqliteOptions {
    /// `PRAGMA synchronous = FULL` (every commit is fsynced) instead of `NORMAL`
    /// (in WAL mode: durable against process crashes, and against power loss up to
    /// the last checkpoint).
    pub synchronous_full: bool,
    /// Read connections in the pool (at least one is opened).
    pub readers: usize,
    /// The key endpoint secrets are encrypted with; see [`herald_store::secrets`].
    pub secret_key: SecretKey,
}

impl SqliteOptions {
    /// The default options (`synchronous = NORMAL`, four readers) with this key.
    pub fn new(secret_key: SecretKey) -> Self {
        Self { synchronous_full: false, readers: 4, secret_key }
    }
}

/// The schema versions, in order; version N is `migrations[N - 1]`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/001_initial.sql"),
    include_str!("../migrations/002_meta.sql"),
    include_str!("../migrations/003_endpoint_health.sql"),
    include_str!("../migrations/004_sources.sql"),
    include_str!("../migrations/005_retention.sql"),
    include_str!("../migrations/006_transformations.sql"),
    include_str!("../migrations/007_attempt_requests.sql"),
];

/// Each connection keeps up to this many prepared statements.
const STATEMENT_CACHE: usize = 64;

/// Opens the write connection, creating the file (and its directory) if needed, and
/// brings the schema up to date.
pub(crate) fn open_writer(path: &Path, options: &SqliteOptions) -> Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(Box::new(e)))?;
    }
    let mut conn = Connection::open(path).db()?;
    configure(&conn, -16_000)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).db()?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Corrupt(format!(
            "could not switch the database to WAL (journal_mode {mode})"
        )));
    }
    let sync = if options.synchronous_full { "FULL" } else { "NORMAL" };
    conn.pragma_update(None, "synchronous", sync).db()?;
    // After a checkpoint, shrink the WAL back to this size instead of keeping its peak.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024).db()?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Takes an exclusive advisory lock on `<path>.lock`, kept while the file is open.
pub(crate) fn lock_exclusively(path: &Path) -> Result<std::fs::File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(Box::new(e)))?;
    }
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StoreError::Backend(Box::new(e)))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Backend(
            format!(
                "{} is in use by another Herald process (the embedded store serves one process; \
                 use PostgreSQL to run several)",
                path.display()
            )
            .into(),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Backend(Box::new(e))),
    }
}

/// Frees every delivery lease; only sound while this process holds the file lock.
pub(crate) fn release_leases(conn: &Connection) -> Result<usize> {
    conn.execute("UPDATE delivery SET lease_until = NULL WHERE lease_until IS NOT NULL", []).db()
}

/// Opens one read connection on a database the writer has already prepared.
pub(crate) fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).db()?;
    configure(&conn, -8_000)?;
    conn.pragma_update(None, "query_only", true).db()?;
    Ok(conn)
}

/// Pragmas every connection gets. `cache_kib` is negative: kibibytes, as SQLite takes it.
fn configure(conn: &Connection, cache_kib: i64) -> Result<()> {
    conn.busy_timeout(Duration::from_millis(5000)).db()?;
    // The store maintains ownership itself (see the schema's header).
    conn.pragma_update(None, "foreign_keys", false).db()?;
    conn.pragma_update(None, "temp_store", "MEMORY").db()?;
    conn.pragma_update(None, "cache_size", cache_kib).db()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Applies every migration newer than the file's `user_version`.
fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).db()?;
    let current: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).db()?;
    let latest = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if current > latest {
        return Err(StoreError::Corrupt(format!(
            "the database schema is version {current}, newer than this build knows ({latest})"
        )));
    }
    for (version, sql) in (1_i64..).zip(MIGRATIONS.iter()).skip(usize::try_from(current).unwrap_or(0)) {
        tracing::info!(version, "applying SQLite migration");
        tx.execute_batch(sql).db()?;
        tx.pragma_update(None, "user_version", version).db()?;
    }
    tx.commit().db()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_once_and_set_the_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/herald.db");
        let options = SqliteOptions::new(SecretKey::generate());
        drop(open_writer(&path, &options).expect("first open"));
        let conn = open_writer(&path, &options).expect("second open");
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
        assert_eq!(version, i64::try_from(MIGRATIONS.len()).expect("few migrations"));
    }
}
