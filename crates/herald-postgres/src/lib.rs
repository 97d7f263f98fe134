//! Herald's scale-out store: [`herald_store::Store`] on PostgreSQL, shared by any
//! number of `herald serve` processes.
//!
//! [`PgStore::connect`] opens a pool, creates the schema if asked for one, runs the
//! embedded migrations (`migrations/NNN_name.sql`, under an advisory lock, so nodes
//! starting together all come up) and is ready. It passes the same conformance suite
//! as the SQLite store, with the same meanings for every column.
//!
//! How it is built, and why:
//! - **sqlx, runtime queries only** (no macros, no `sqlite` feature, no TLS): its async
//!   pool is the right tool for a networked database, and the SQL stays `&'static str`
//!   (statements are prepared once per connection and cached by sqlx).
//! - **One statement per method.** Every write that touches several tables — the outbox
//!   write (message + deliveries + wake-up), recording an attempt (delivery update +
//!   attempt insert), cascading deletes — is a single statement of data-modifying CTEs:
//!   atomic without an explicit transaction, and one round trip on the hot paths.
//! - **The queue is rows, leased with `FOR UPDATE SKIP LOCKED`** (`queue`): processes
//!   claiming at once split the due rows instead of blocking on, or double-claiming,
//!   each other's. Unlike the embedded store, nothing releases leases at start: other
//!   live processes may hold them; expired leases are simply claimable.
//! - **Wake-ups by `LISTEN/NOTIFY`** (`listen`): writes that make rows due without a
//!   lease notify `herald_due` at commit; [`PgStore::listen_due`] turns that into a
//!   local `Notify` poke. The scheduler's polling stays the fallback.
//! - **Unique violations become `Conflict`** by SQLSTATE and constraint name
//!   (`sql`), never by message text.
//!
//! - **Secrets sealed at the boundary**: endpoint secrets are encrypted with the
//!   store's key ([`herald_store::secrets`]) when a row is written and decrypted when
//!   read; the database holds only a check value that refuses a wrong key at connect.
//!
//! What it deliberately does not do: speak TLS to the database (add sqlx's `tls-rustls-ring-*` feature when a deployment needs
//! it — never the aws-lc-rs one).

#![forbid(unsafe_code)]

mod apps;
mod attempts;
mod conn;
mod deliveries;
mod endpoints;
mod insights;
mod keys;
mod listen;
mod messages;
mod migrate;
mod queue;
mod rows;
mod secrets;
mod sources;
mod sql;
mod store;
mod upkeep;

use std::sync::Arc;

use herald_store::{SecretCipher, StoreError};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use conn::PgOptions;

/// The PostgreSQL store. Cheap to clone (the pool is shared); every clone uses the same
/// connections.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Kept for the `LISTEN` connection, which lives outside the pool.
    connect: PgConnectOptions,
    /// The schema the tables live in (`current_schema()` on a pooled connection): the
    /// payload of this store's notifications and the filter of the ones it hears.
    schema: Arc<str>,
    /// Seals endpoint secrets on the way in and opens them on the way out.
    secrets: SecretCipher,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`),
    /// creates `options.schema` if it is missing, and brings the schema up to date.
    /// Several processes may do this at the same instant on an empty database: one
    /// migrates, the others wait for it and find nothing to do.
    ///
    /// Then the secret key is checked against the one the database was written with
    /// ([`StoreError::SecretKeyMismatch`] if it differs), and endpoint secrets still
    /// stored in plain text (written before encryption existed) are encrypted.
    pub async fn connect(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        let connect = conn::connect_options(url, options.schema.as_deref())?;
        let pool = conn::pool(&connect, options.max_connections);
        migrate::run(&pool, options.schema.as_deref()).await?;
        let cipher = SecretCipher::new(&options.secret_key);
        let sealed = secrets::prepare(&pool, &cipher, options.schema.as_deref()).await?;
        if sealed > 0 {
            tracing::info!(endpoints = sealed, "encrypted endpoint secrets stored in plain text");
        }
        let schema: Option<String> =
            sqlx::query_scalar("SELECT current_schema()").fetch_one(&pool).await.map_err(sql::db)?;
        let schema = schema.ok_or_else(|| {
            StoreError::Backend("no schema on the search_path exists after migrating".into())
        })?;
        Ok(Self { pool, connect, schema: schema.into(), secrets: cipher })
    }

    /// Wakes `wake` whenever another connection — this process's or any other's — makes
    /// deliveries due without a lease (`create_message` without a lease,
    /// `schedule_resend`, `recover_failed`), until `shutdown`.
    ///
    /// The task holds its own connection (not one of the pool's) with `LISTEN
    /// herald_due`. It pokes `wake` once as soon as `LISTEN` is registered and again
    /// after every reconnect (notifications sent while it was not listening are lost),
    /// and reconnects with backoff (100 ms doubling to 10 s) while the database is
    /// unreachable. Must be called within a Tokio runtime.
    pub fn listen_due(&self, wake: Arc<Notify>, shutdown: CancellationToken) -> JoinHandle<()> {
        let listen = listen::Listen {
            options: self.connect.clone(),
            schema: Arc::clone(&self.schema),
            wake,
            shutdown,
        };
        tokio::spawn(listen.run())
    }

    /// The schema this store's tables live in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Closes the pool: waits for queries in flight, then closes every connection.
    /// Clones of this store cannot be used afterwards.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl std::fmt::Debug for PgStore {
    // Not the connect options: they hold the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("schema", &self.schema).finish_non_exhaustive()
    }
}
