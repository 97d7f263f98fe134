//! Herald's embedded store: [`herald_store::Store`] on one SQLite file in WAL mode.
//!
//! `herald serve` needs nothing installed: the store creates its file, runs its
//! embedded migrations (`migrations/NNN_name.sql`, tracked by `PRAGMA user_version`)
//! and is ready.
//!
//! How it is built, and why:
//! - **One writer thread** ([`writer`]) owns the only write connection and commits in
//!   groups: every write is a closure sent over a channel; the thread runs all queued
//!   closures in one `BEGIN IMMEDIATE` transaction, each in its own savepoint, commits
//!   once and then replies. Concurrency raises throughput (bigger batches) instead of
//!   causing `database is locked`, and the hot statements stay prepared. This is why
//!   the crate uses rusqlite rather than sqlx: sqlx-sqlite would add a channel hop per
//!   query and cannot batch many callers' commands in one transaction.
//! - **A read pool** ([`readers`]): a few `query_only` connections used from Tokio's
//!   blocking pool; WAL lets them read while the writer writes.
//! - **Plain rows**: text ids, integer epoch-ms timestamps, BLOB payloads, JSON text
//!   for lists and maps ([`rows`]). No foreign keys: deleting an application or an
//!   endpoint deletes what it owns explicitly, and the hot inserts do no parent
//!   look-ups.
//!
//! - **Secrets sealed at the boundary**: endpoint secrets are encrypted with the
//!   store's key ([`herald_store::secrets`]) when a row is written and decrypted when
//!   it is read; the key itself never reaches the file, only a check value that
//!   refuses a wrong key at open ([`secrets`]).
//!
//! What it deliberately does not do: share a database between processes beyond what
//! SQLite's locking allows.

#![forbid(unsafe_code)]

mod apps;
mod attempts;
mod conn;
mod deliveries;
mod endpoints;
mod insights;
mod keys;
mod messages;
mod queue;
mod readers;
mod rows;
mod secrets;
mod sources;
mod sql;
mod store;
mod upkeep;
mod writer;

use std::path::Path;
use std::sync::Arc;

use herald_store::{SecretCipher, SecretKey, StoreError};

pub use conn::SqliteOptions;

use crate::readers::Readers;
use crate::writer::Writer;

/// The SQLite store. Cheap to share behind an `Arc`; dropping it finishes the writes
/// in flight and closes the file.
pub struct SqliteStore {
    writer: Writer,
    readers: Arc<Readers>,
    /// Seals endpoint secrets on the way in and opens them on the way out.
    secrets: SecretCipher,
    /// Held for the store's life: one process per database file (see `open_with`).
    _lock: std::fs::File,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with default options and
    /// the secret key its endpoint secrets are (to be) encrypted with.
    pub fn open(path: &Path, secret_key: &SecretKey) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::new(secret_key.clone()))
    }

    /// Opens (creating if needed) the database at `path`, creating its directory too,
    /// and brings the schema up to date. Blocking: call it at start-up.
    ///
    /// The embedded store belongs to one process: an exclusive lock on `<path>.lock`
    /// refuses a second `herald serve` on the same file (which would deliver twice and
    /// fight over the writer lock) with a clear error. Because no other process can
    /// hold leases on this file, every lease left by the previous run (a crash or a
    /// stop with work in flight) is released at once, and that work resumes now
    /// instead of when the leases expire.
    ///
    /// The secret key is checked against the one the database was written with
    /// before anything else is read: another key is
    /// [`StoreError::SecretKeyMismatch`]. Endpoint secrets still stored in plain
    /// text (written before encryption existed) are encrypted now.
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        let lock = conn::lock_exclusively(path)?;
        let mut write_conn = conn::open_writer(path, &options)?;
        let cipher = SecretCipher::new(&options.secret_key);
        let sealed = secrets::prepare(&mut write_conn, &cipher)?;
        if sealed > 0 {
            tracing::info!(endpoints = sealed, "encrypted endpoint secrets stored in plain text");
        }
        let released = conn::release_leases(&write_conn)?;
        if released > 0 {
            tracing::info!(released, "resuming deliveries left in flight by the previous run");
        }
        let readers = Readers::open(path, options.readers)?;
        let writer = Writer::spawn(write_conn)?;
        Ok(Self { writer, readers, secrets: cipher, _lock: lock })
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}
