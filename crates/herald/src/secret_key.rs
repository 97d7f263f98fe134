//! The key endpoint secrets are encrypted with: taken from the configuration
//! (`HERALD_SECRET_KEY`), or — on the embedded store only — generated on first start
//! and kept in the data directory (`secret-key`, mode 0600), never in the database.
//!
//! PostgreSQL is shared by several processes, which must all encrypt with one key;
//! a key generated into one machine's data directory would not be the others', so
//! there the key must be configured. Starting with a key other than the one the
//! database was written with is refused by the store (its key check); this module
//! turns that refusal into advice.

use std::path::{Path, PathBuf};

use anyhow::Context;
use herald_store::{SecretKey, StoreError};

use crate::config::Database;

const FILE: &str = "secret-key";

/// The advice given when the store refuses the key.
pub const MISMATCH: &str = "the secret key does not match the one this database was written with; \
     restore HERALD_SECRET_KEY or the data directory's secret-key file";

/// The key to open the store with, and where it came from.
pub struct Settled {
    pub key: SecretKey,
    origin: Origin,
    file: PathBuf,
}

enum Origin {
    Configured,
    Kept,
    Generated,
}

/// Decides the key before the store opens; see the module docs.
pub fn settle(
    configured: Option<&SecretKey>,
    database: &Database,
    data_dir: &Path,
) -> anyhow::Result<Settled> {
    let file = data_dir.join(FILE);
    if let Some(key) = configured {
        return Ok(Settled { key: key.clone(), origin: Origin::Configured, file });
    }
    if matches!(database, Database::Postgres { .. }) {
        anyhow::bail!(
            "PostgreSQL needs HERALD_SECRET_KEY (or `secret_key` in the configuration file): every \
             process sharing the database must encrypt endpoint secrets with the same key. \
             Generate one with `openssl rand -base64 32` and give it to all of them."
        );
    }
    match std::fs::read_to_string(&file) {
        Ok(text) => {
            let key = SecretKey::from_base64(&text)
                .with_context(|| format!("{} does not hold a valid secret key", file.display()))?;
            Ok(Settled { key, origin: Origin::Kept, file })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::generate();
            crate::token::write_private(&file, &key.to_base64())
                .with_context(|| format!("cannot write the secret key to {}", file.display()))?;
            Ok(Settled { key, origin: Origin::Generated, file })
        }
        Err(e) => Err(e).with_context(|| format!("cannot read the secret key from {}", file.display())),
    }
}

impl Settled {
    /// Where the key came from, for the start-up banner.
    pub fn describe(&self) -> String {
        match self.origin {
            Origin::Configured => "from HERALD_SECRET_KEY / configuration".into(),
            Origin::Kept => format!("kept in {}", self.file.display()),
            Origin::Generated => format!("generated now and kept in {} — back it up", self.file.display()),
        }
    }

    /// Turns the store's refusal of a wrong key into advice. A key generated just
    /// now for a database that already had one is removed again, so the next start
    /// does not take it for the database's key.
    pub fn explain(&self, error: StoreError) -> anyhow::Error {
        if !matches!(error, StoreError::SecretKeyMismatch) {
            return error.into();
        }
        match self.origin {
            Origin::Generated => {
                let _ = std::fs::remove_file(&self.file);
                anyhow::anyhow!(
                    "{MISMATCH} ({} was missing: this database was written with another key)",
                    self.file.display()
                )
            }
            Origin::Kept => anyhow::anyhow!("{MISMATCH} ({} holds another key)", self.file.display()),
            Origin::Configured => anyhow::anyhow!("{MISMATCH} (HERALD_SECRET_KEY is another key)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_kept_and_required_on_postgres() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = Database::Sqlite(dir.path().join("herald.db"));
        let first = settle(None, &sqlite, dir.path()).expect("generated");
        assert!(matches!(first.origin, Origin::Generated));
        let again = settle(None, &sqlite, dir.path()).expect("kept");
        assert!(matches!(again.origin, Origin::Kept));
        assert_eq!(again.key, first.key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE)).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let configured = SecretKey::generate();
        let chosen = settle(Some(&configured), &sqlite, dir.path()).expect("configured");
        assert_eq!(chosen.key, configured);

        let pg = Database::Postgres { url: "postgres://db/h".into(), schema: None, max_connections: 4 };
        let e = settle(None, &pg, dir.path()).err().expect("refused without a key");
        assert!(e.to_string().contains("HERALD_SECRET_KEY"), "{e}");
        assert!(settle(Some(&configured), &pg, dir.path()).is_ok());
    }

    #[test]
    fn a_mismatch_is_explained_and_a_fresh_key_file_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = Database::Sqlite(dir.path().join("herald.db"));
        let fresh = settle(None, &sqlite, dir.path()).expect("generated");
        let e = fresh.explain(StoreError::SecretKeyMismatch);
        assert!(e.to_string().starts_with(MISMATCH), "{e}");
        assert!(!dir.path().join(FILE).exists(), "the key generated for a foreign database is removed");
        assert!(!fresh.explain(StoreError::NotFound).to_string().contains(MISMATCH));
    }
}
