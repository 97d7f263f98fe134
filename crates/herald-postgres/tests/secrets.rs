//! Endpoint secrets at rest in PostgreSQL: the `endpoint.secrets` column never holds
//! them readably, a process with another key is refused at connect, and plain
//! secrets left by a version without encryption are encrypted at connect.
//!
//! Without `HERALD_TEST_DATABASE_URL` every test says it was skipped and passes.

// Shared with the conformance tests, which use more of it.
#[allow(dead_code)]
mod support;

use herald_postgres::{PgOptions, PgStore};
use herald_store::{SecretKey, Store, StoreError};
use sqlx::AssertSqlSafe;
use support::{TestSchema, app, endpoint};

/// Every `endpoint.secrets` value of the schema, as stored.
async fn stored_secrets(schema: &TestSchema) -> Vec<String> {
    let mut conn = schema.raw().await;
    let sql = format!("SELECT secrets FROM {}.endpoint", schema.name);
    sqlx::query_scalar(AssertSqlSafe(sql)).fetch_all(&mut conn).await.expect("read the column")
}

#[tokio::test]
async fn the_secrets_column_holds_no_readable_secret() {
    let Some(schema) = TestSchema::new("the_secrets_column_holds_no_readable_secret") else { return };
    let store = schema.store().await;
    let app = app();
    store.create_app(&app).await.expect("app");
    let mut exposed = Vec::new();
    for _ in 0..3 {
        let ep = endpoint(&app.id);
        store.create_endpoint(&ep).await.expect("endpoint");
        let read = store.get_endpoint(&app.id, ep.id.as_str()).await.expect("get").expect("found");
        assert_eq!(read.secrets, ep.secrets, "read back decrypted");
        exposed.push(ep.secrets.current.expose());
    }
    let column = stored_secrets(&schema).await;
    assert_eq!(column.len(), 3);
    for value in &column {
        assert!(value.starts_with("v1:"), "sealed: {value}");
        for secret in &exposed {
            let b64 = secret.trim_start_matches("whsec_");
            assert!(!value.contains(secret.as_str()) && !value.contains(b64), "a secret is readable");
        }
    }
}

#[tokio::test]
async fn a_process_with_another_key_is_refused() {
    let Some(schema) = TestSchema::new("a_process_with_another_key_is_refused") else { return };
    let store = schema.store().await;
    let app = app();
    store.create_app(&app).await.expect("app");
    store.create_endpoint(&endpoint(&app.id)).await.expect("endpoint");
    let other = PgOptions { secret_key: SecretKey::generate(), ..schema.options() };
    let refused = PgStore::connect(&schema.url, other).await.expect_err("another key");
    assert!(matches!(refused, StoreError::SecretKeyMismatch), "{refused:?}");
    // The right key still connects, from any number of processes.
    let again = schema.store().await;
    assert_eq!(again.all_endpoints(&app.id).await.expect("read").len(), 1);
}

#[tokio::test]
async fn plain_secrets_are_encrypted_at_connect() {
    let Some(schema) = TestSchema::new("plain_secrets_are_encrypted_at_connect") else { return };
    let store = schema.store().await;
    let app = app();
    let ep = endpoint(&app.id);
    store.create_app(&app).await.expect("app");
    store.create_endpoint(&ep).await.expect("endpoint");
    store.close().await;
    // What a version without encryption left: plain JSON and no key check.
    let plain = format!(r#"{{"current":"{}","previous":[]}}"#, ep.secrets.current.expose());
    let mut conn = schema.raw().await;
    let update = format!("UPDATE {}.endpoint SET secrets = $1", schema.name);
    sqlx::query(AssertSqlSafe(update)).bind(&plain).execute(&mut conn).await.expect("plain secrets");
    let forget = format!("DELETE FROM {}.herald_meta", schema.name);
    sqlx::query(AssertSqlSafe(forget)).execute(&mut conn).await.expect("no key check");

    let key = SecretKey::generate();
    let store = PgStore::connect(&schema.url, PgOptions { secret_key: key, ..schema.options() })
        .await
        .expect("the first start with a key adopts it");
    let read = store.get_endpoint(&app.id, ep.id.as_str()).await.expect("get").expect("found");
    assert_eq!(read.secrets, ep.secrets);
    let column = stored_secrets(&schema).await;
    assert!(column.iter().all(|v| v.starts_with("v1:")), "re-encrypted: {column:?}");
}
