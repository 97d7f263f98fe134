//! Opening the configured store with the settled secret key.

use std::sync::Arc;

use anyhow::Context;
use herald_store::Store;

use crate::config::{Config, Database};
use crate::secret_key::Settled;

/// The store as the rest of Herald sees it, and the PostgreSQL store itself when
/// that is the backend (its notifications wake this process's workers).
pub(crate) type Opened = (Arc<dyn Store>, Option<herald_postgres::PgStore>);

/// Opens (and migrates) the store; a wrong secret key is explained by `key`.
pub(crate) async fn open_store(config: &Config, key: &Settled) -> anyhow::Result<Opened> {
    match &config.database {
        Database::Sqlite(path) => {
            let options = herald_sqlite::SqliteOptions {
                synchronous_full: config.sqlite_synchronous_full,
                ..herald_sqlite::SqliteOptions::new(key.key.clone())
            };
            let store = herald_sqlite::SqliteStore::open_with(path, options)
                .map_err(|e| key.explain(e))
                .with_context(|| format!("cannot open the SQLite database {}", path.display()))?;
            Ok((Arc::new(store), None))
        }
        Database::Postgres { url, schema, max_connections } => {
            let options = herald_postgres::PgOptions {
                schema: schema.clone(),
                max_connections: *max_connections,
                secret_key: key.key.clone(),
            };
            let store = herald_postgres::PgStore::connect(url, options)
                .await
                .map_err(|e| key.explain(e))
                .with_context(|| format!("cannot open {}", config.database.describe()))?;
            Ok((Arc::new(store.clone()), Some(store)))
        }
    }
}
