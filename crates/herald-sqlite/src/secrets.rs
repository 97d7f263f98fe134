//! The secret key meets the database once, when the store opens, on the write
//! connection and before the writer thread starts: in one `BEGIN IMMEDIATE`
//! transaction the key check in `herald_meta` is verified (or written, on the first
//! start with a key), and endpoint secrets still stored as plain JSON (written before
//! encryption existed) are re-encrypted. Nothing else reaches the file until this
//! has passed, so a wrong key is refused before any row is read or written.

use herald_store::secrets::{KEY_CHECK, is_sealed};
use herald_store::{SecretCipher, StoreError};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::sql::{DbResult, Result};

/// Checks the key and re-encrypts plain rows; returns how many were re-encrypted.
pub(crate) fn prepare(conn: &mut Connection, cipher: &SecretCipher) -> Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).db()?;
    let stored: Option<String> = tx
        .query_row("SELECT value FROM herald_meta WHERE key = ?1", [KEY_CHECK], |r| r.get(0))
        .optional()
        .db()?;
    match stored {
        Some(check) => cipher.verify_key_check(&check)?,
        None => {
            refuse_foreign_rows(&tx, cipher)?;
            let insert = "INSERT INTO herald_meta (key, value) VALUES (?1, ?2)";
            tx.execute(insert, params![KEY_CHECK, cipher.key_check()]).db()?;
        }
    }
    let plain: Vec<(String, String)> = {
        let mut stmt = tx.prepare("SELECT id, secrets FROM endpoint WHERE secrets NOT LIKE 'v1:%'").db()?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).db()?.collect::<rusqlite::Result<_>>().db()?
    };
    for (id, text) in &plain {
        let id = herald_core::EndpointId::from_trusted(id.clone());
        let sealed = cipher.seal(&id, &cipher.open(&id, text)?);
        tx.execute("UPDATE endpoint SET secrets = ?2 WHERE id = ?1", params![id.as_str(), sealed]).db()?;
    }
    tx.commit().db()?;
    Ok(plain.len())
}

/// Without a key check, encrypted rows can only come from a database whose check was
/// lost: refuse rather than adopt a key the rows were not written with.
fn refuse_foreign_rows(conn: &Connection, cipher: &SecretCipher) -> Result<()> {
    let sealed: Option<(String, String)> = conn
        .query_row("SELECT id, secrets FROM endpoint WHERE secrets LIKE 'v1:%' LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .db()?;
    match sealed {
        Some((id, text)) if is_sealed(&text) => {
            let id = herald_core::EndpointId::from_trusted(id);
            cipher.open(&id, &text).map(drop).map_err(|_| StoreError::SecretKeyMismatch)
        }
        _ => Ok(()),
    }
}
