//! Connecting: the options, the schema check, and the connection settings every pooled
//! connection (and the listener's own connection) is opened with.
//!
//! The schema is put on each connection as a startup parameter (`-c search_path=…`), so
//! it costs no extra round trip and a connection can never be used before it is set.
//! Schema names are restricted to lower-case SQL identifiers: they reach SQL text
//! (`CREATE SCHEMA`) and the startup packet, so nothing needing quoting is accepted.

use std::str::FromStr;

use herald_store::{SecretKey, StoreError};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::sql::Result;

/// How [`crate::PgStore::connect`] sets up its pool. There is no `Default`: the
/// secret key must be chosen by the caller, the same in every process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgOptions {
    /// Connections in the pool, at most (at least one is allowed). The `LISTEN`
    /// connection of [`crate::PgStore::listen_due`] is not counted here.
    pub max_connections: u32,
    /// The schema Herald's tables live in, created if missing and put first on every
    /// connection's `search_path`. `None` keeps the server's default `search_path`
    /// (usually `public`). Lower-case letters, digits and `_`, not starting with a
    /// digit, at most 63 bytes.
    pub schema: Option<String>,
    /// The key endpoint secrets are encrypted with ([`herald_store::secrets`]). Every
    /// process sharing the database must be given the same one.
    pub secret_key: SecretKey,
}

impl PgOptions {
    /// Sixteen connections, the default `search_path`, and this key.
    pub fn new(secret_key: SecretKey) -> Self {
        Self { max_connections: 16, schema: None, secret_key }
    }
}

/// The `application_name` Herald's pooled connections show in `pg_stat_activity`.
const APPLICATION_NAME: &str = "herald";

/// Parses the URL and adds Herald's settings: the application name and the schema.
pub(crate) fn connect_options(url: &str, schema: Option<&str>) -> Result<PgConnectOptions> {
    let options = PgConnectOptions::from_str(url).map_err(|e| StoreError::Backend(Box::new(e)))?;
    let options = options.application_name(APPLICATION_NAME);
    Ok(match schema {
        Some(schema) => {
            check_schema(schema)?;
            options.options([("search_path", schema)])
        }
        None => options,
    })
}

/// A pool that opens connections on demand; nothing is connected yet.
pub(crate) fn pool(options: &PgConnectOptions, max_connections: u32) -> PgPool {
    PgPoolOptions::new().max_connections(max_connections.max(1)).connect_lazy_with(options.clone())
}

/// Refuses schema names that would need quoting (see the module docs).
pub(crate) fn check_schema(schema: &str) -> Result<()> {
    let mut chars = schema.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if starts_well && rest_ok && schema.len() <= 63 {
        Ok(())
    } else {
        Err(StoreError::Backend(
            format!(
                "invalid PostgreSQL schema name {schema:?}: use lower-case letters, digits and `_`, \
                 not starting with a digit, at most 63 bytes"
            )
            .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_needing_quotes_are_refused() {
        for good in ["herald", "herald_test_0af3", "_x"] {
            assert!(check_schema(good).is_ok(), "{good}");
        }
        for bad in ["", "Herald", "1herald", "a b", "a;drop", "x\"y", &"a".repeat(64)] {
            assert!(check_schema(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_schema_becomes_the_search_path() {
        let options = connect_options("postgres://u@localhost/db", Some("herald")).expect("options");
        assert_eq!(options.get_options(), Some("-c search_path=herald"));
        assert_eq!(options.get_application_name(), Some(APPLICATION_NAME));
        assert!(connect_options("postgres://u@localhost/db", Some("Bad Name")).is_err());
    }
}
