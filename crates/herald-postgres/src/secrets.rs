//! The secret key meets the database once, at connect, right after the migrations:
//! in one transaction the key check in `herald_meta` is verified (or written, on the
//! first start with a key), and endpoint secrets still stored as plain JSON (written
//! before encryption existed) are re-encrypted.
//!
//! The transaction takes an advisory lock of its own (keyed by the schema, like the
//! migrations'), so processes starting together agree: the first writes the check
//! value, the others verify their key against it. Two processes given different keys
//! cannot both start; the second gets [`StoreError::SecretKeyMismatch`].

use herald_core::EndpointId;
use herald_store::secrets::{KEY_CHECK, is_sealed};
use herald_store::{SecretCipher, StoreError};
use sqlx::{PgPool, Postgres, Transaction};

use crate::sql::{Result, db};

/// The first key of the advisory lock (`'HRLK'`); the second is a hash of the schema.
const LOCK_CLASS: i32 = 0x4852_4c4b;

/// Checks the key and re-encrypts plain rows; returns how many were re-encrypted.
pub(crate) async fn prepare(pool: &PgPool, cipher: &SecretCipher, schema: Option<&str>) -> Result<usize> {
    let mut tx = pool.begin().await.map_err(db)?;
    crate::migrate::lock(&mut tx, LOCK_CLASS, schema).await?;
    let stored: Option<String> = sqlx::query_scalar("SELECT value FROM herald_meta WHERE key = $1")
        .bind(KEY_CHECK)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
    match stored {
        Some(check) => cipher.verify_key_check(&check)?,
        None => {
            refuse_foreign_rows(&mut tx, cipher).await?;
            sqlx::query("INSERT INTO herald_meta (key, value) VALUES ($1, $2)")
                .bind(KEY_CHECK)
                .bind(cipher.key_check())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
    }
    let plain: Vec<(String, String)> =
        sqlx::query_as("SELECT id, secrets FROM endpoint WHERE secrets NOT LIKE 'v1:%' FOR UPDATE")
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
    for (id, text) in &plain {
        let id = EndpointId::from_trusted(id.clone());
        let sealed = cipher.seal(&id, &cipher.open(&id, text)?);
        sqlx::query("UPDATE endpoint SET secrets = $2 WHERE id = $1")
            .bind(id.as_str())
            .bind(sealed)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    Ok(plain.len())
}

/// Without a key check, encrypted rows can only come from a database whose check was
/// lost: refuse rather than adopt a key the rows were not written with.
async fn refuse_foreign_rows(tx: &mut Transaction<'_, Postgres>, cipher: &SecretCipher) -> Result<()> {
    let sealed: Option<(String, String)> =
        sqlx::query_as("SELECT id, secrets FROM endpoint WHERE secrets LIKE 'v1:%' LIMIT 1")
            .fetch_optional(&mut **tx)
            .await
            .map_err(db)?;
    match sealed {
        Some((id, text)) if is_sealed(&text) => {
            let id = EndpointId::from_trusted(id);
            cipher.open(&id, &text).map(drop).map_err(|_| StoreError::SecretKeyMismatch)
        }
        _ => Ok(()),
    }
}
