//! Cross-process wake-ups: `NOTIFY herald_due` when deliveries become due without a
//! lease, and the `LISTEN` task that turns those notifications into
//! [`tokio::sync::Notify`] pokes for the local scheduler.
//!
//! The notifying side is SQL: [`wake_if_any!`] is a CTE that calls `pg_notify` once if
//! a statement wrote any such row. PostgreSQL delivers notifications at commit, and
//! never for a rolled-back statement, so a listener is only woken for rows it can see.
//! The payload is the notifying connection's schema: notifications are database-wide,
//! and Herald deployments (or tests) in other schemas of the same database must not
//! wake each other.
//!
//! The listening side holds one dedicated connection (outside the store's pool, so it
//! never takes a slot from queries). It registers `LISTEN` before it pokes anyone, pokes
//! once right after — whatever was committed before `LISTEN` took effect was not heard —
//! and again after every reconnect, since notifications sent while it was away are
//! lost. Polling by the scheduler stays the fallback for anything missed in between.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The notification channel; the SQL in [`wake_if_any!`] spells the same name.
pub(crate) const CHANNEL: &str = "herald_due";

/// `wake AS (…)`: a CTE that sends one `NOTIFY herald_due` (payload: the schema) if
/// `$from` (a CTE name, optionally with a `WHERE`) yields a row. A CTE that only reads
/// runs only if the statement reads it: select `(SELECT COUNT(*) FROM wake)`.
macro_rules! wake_if_any {
    ($from:literal) => {
        concat!("wake AS (SELECT pg_notify('herald_due', current_schema()) FROM ", $from, " LIMIT 1)")
    };
}
pub(crate) use wake_if_any;

/// The first wait before reconnecting; it doubles up to [`MAX_BACKOFF`] while
/// reconnecting keeps failing, and resets once `LISTEN` is registered again.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What the listening task needs; built by [`crate::PgStore::listen_due`].
pub(crate) struct Listen {
    /// The store's connection options, for the listener's own connection.
    pub(crate) options: PgConnectOptions,
    /// The store's schema: only notifications carrying it are for this store.
    pub(crate) schema: Arc<str>,
    pub(crate) wake: Arc<Notify>,
    pub(crate) shutdown: CancellationToken,
}

impl Listen {
    /// Listens until `shutdown`, reconnecting with backoff whenever the connection fails.
    pub(crate) async fn run(self) {
        let name = format!("herald listen {}", self.schema);
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(self.options.clone().application_name(&name));
        let mut delay = MIN_BACKOFF;
        loop {
            let Err(error) = tokio::select! {
                () = self.shutdown.cancelled() => break,
                ended = self.session(&pool, &mut delay) => ended,
            };
            tracing::warn!(%error, retry_in = ?delay, "LISTEN {CHANNEL} failed; reconnecting");
            tokio::select! {
                () = self.shutdown.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(MAX_BACKOFF);
        }
        pool.close().await;
    }

    /// One connection's life: `LISTEN`, poke, then a poke per notification for this
    /// schema. Returns only with the error that ended it.
    async fn session(&self, pool: &PgPool, delay: &mut Duration) -> Result<Infallible, sqlx::Error> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        *delay = MIN_BACKOFF;
        self.wake.notify_one();
        loop {
            match listener.try_recv().await? {
                Some(note) if note.payload() == &*self.schema => self.wake.notify_one(),
                // Another schema's Herald on the same database.
                Some(_) => {}
                // The connection dropped and sqlx has already re-registered `LISTEN` on a
                // new one; whatever was sent in between is lost.
                None => {
                    tracing::info!("LISTEN {CHANNEL} reconnected");
                    self.wake.notify_one();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_names_the_channel() {
        assert!(wake_if_any!("d").contains(&format!("pg_notify('{CHANNEL}'")));
    }
}
