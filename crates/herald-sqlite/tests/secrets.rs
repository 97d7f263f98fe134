//! Endpoint secrets at rest in the SQLite file: never readable from the file's bytes,
//! refused with another key, and re-encrypted when the file still holds plain ones.

use std::path::Path;

use herald_core::{AppId, Application, Endpoint, SigningKey, Timestamp};
use herald_sqlite::SqliteStore;
use herald_store::{SecretKey, Store, StoreError};

fn app() -> Application {
    let now = Timestamp::now();
    Application {
        id: AppId::generate(),
        uid: None,
        name: "Secrets".into(),
        metadata: Default::default(),
        throttle_rate: None,
        created_at: now,
        updated_at: now,
    }
}

fn endpoint(app: &AppId, key: SigningKey) -> Endpoint {
    let now = Timestamp::now();
    Endpoint::new(app.clone(), "https://example.com/hook".to_owned(), key, now)
}

/// Every byte of the database: the main file, the WAL and the shared-memory index.
fn file_bytes(db: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        if let Ok(bytes) = std::fs::read(&path) {
            all.extend(bytes);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The forms a secret could leak in: `whsec_…`/`whsk_…`, its base64, its raw bytes.
fn leaks(secret: &SigningKey) -> Vec<Vec<u8>> {
    let exposed = secret.expose();
    let b64 = exposed.split_once('_').map(|(_, b)| b.to_owned()).unwrap_or_default();
    let raw = match secret {
        SigningKey::Symmetric(bytes) => bytes.clone(),
        SigningKey::Ed25519(bytes) => bytes.to_vec(),
    };
    vec![exposed.into_bytes(), b64.into_bytes(), raw]
}

#[tokio::test]
async fn endpoint_secrets_are_not_in_the_database_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("herald.db");
    let key = SecretKey::generate();
    let store = SqliteStore::open(&path, &key).expect("open");
    let app = app();
    store.create_app(&app).await.expect("app");
    let mut secrets = Vec::new();
    for _ in 0..5 {
        let mut ep = endpoint(&app.id, SigningKey::generate_symmetric());
        store.create_endpoint(&ep).await.expect("endpoint");
        // A rotation keeps the old key too: both must stay hidden.
        let previous = ep.secrets.current.clone();
        ep.secrets.rotate(
            SigningKey::generate_ed25519(),
            Timestamp::now(),
            std::time::Duration::from_secs(60),
        );
        store.update_endpoint(&ep).await.expect("rotate");
        let read = store.get_endpoint(&app.id, ep.id.as_str()).await.expect("get").expect("found");
        assert_eq!(read.secrets, ep.secrets, "read back decrypted");
        secrets.extend([previous, ep.secrets.current.clone()]);
    }
    // While open, the rows are in the WAL or the main file; after closing, SQLite
    // checkpoints the WAL into the main file. Both states are searched.
    let open_bytes = file_bytes(&path);
    drop(store);
    let closed_bytes = file_bytes(&path);
    assert!(open_bytes.len() > 4096 && closed_bytes.len() > 4096, "the database was read");
    for secret in &secrets {
        for leak in leaks(secret) {
            assert!(!contains(&open_bytes, &leak), "a secret is readable in the open database's files");
            assert!(!contains(&closed_bytes, &leak), "a secret is readable in the closed database file");
        }
    }
    let store = SqliteStore::open(&path, &key).expect("reopen with the same key");
    assert_eq!(store.all_endpoints(&app.id).await.expect("read").len(), 5);
}

#[tokio::test]
async fn another_key_is_refused_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("herald.db");
    let store = SqliteStore::open(&path, &SecretKey::generate()).expect("open");
    let app = app();
    store.create_app(&app).await.expect("app");
    store.create_endpoint(&endpoint(&app.id, SigningKey::generate_symmetric())).await.expect("endpoint");
    drop(store);
    let refused = SqliteStore::open(&path, &SecretKey::generate()).expect_err("another key");
    assert!(matches!(refused, StoreError::SecretKeyMismatch), "{refused:?}");
    assert_eq!(refused.to_string(), "the secret key does not match the one this database was written with");
}

#[tokio::test]
async fn plain_secrets_from_before_encryption_are_encrypted_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("herald.db");
    let app = app();
    let ep = endpoint(&app.id, SigningKey::generate_symmetric());
    {
        let store = SqliteStore::open(&path, &SecretKey::generate()).expect("open");
        store.create_app(&app).await.expect("app");
        store.create_endpoint(&ep).await.expect("endpoint");
    }
    // Make the file look like one written before encryption: plain JSON secrets and
    // no key check.
    let plain = format!(r#"{{"current":"{}","previous":[]}}"#, ep.secrets.current.expose());
    {
        let conn = rusqlite::Connection::open(&path).expect("raw connection");
        conn.execute("UPDATE endpoint SET secrets = ?1", [&plain]).expect("plain secrets");
        conn.execute("DELETE FROM herald_meta", []).expect("no key check");
    }
    let key = SecretKey::generate();
    let store = SqliteStore::open(&path, &key).expect("the first start with a key adopts it");
    let read = store.get_endpoint(&app.id, ep.id.as_str()).await.expect("get").expect("found");
    assert_eq!(read.secrets, ep.secrets);
    drop(store);
    let conn = rusqlite::Connection::open(&path).expect("raw connection");
    let stored: String = conn.query_row("SELECT secrets FROM endpoint", [], |r| r.get(0)).expect("row");
    assert!(stored.starts_with("v1:"), "re-encrypted: {stored}");
    drop(conn);
    let refused = SqliteStore::open(&path, &SecretKey::generate()).expect_err("the key is now fixed");
    assert!(matches!(refused, StoreError::SecretKeyMismatch), "{refused:?}");
}
