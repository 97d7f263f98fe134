//! Inbound sources in PostgreSQL: a source's verifier (which holds its secrets) is
//! sealed in the `source.verifier` column, like endpoint secrets.
//!
//! Without `HERALD_TEST_DATABASE_URL` every test says it was skipped and passes.

// Shared with the conformance tests, which use more of it.
#[allow(dead_code)]
mod support;

use std::time::Duration;

use herald_core::{SourceId, Timestamp};
use herald_inbound::Source;
use herald_store::Store;
use sqlx::AssertSqlSafe;
use support::{TestSchema, app};

#[tokio::test]
async fn the_verifier_column_holds_no_readable_secret() {
    let Some(schema) = TestSchema::new("the_verifier_column_holds_no_readable_secret") else { return };
    let store = schema.store().await;
    let app = app();
    store.create_app(&app).await.expect("app");
    let verifier = serde_json::json!({"type": "github", "secret": "do not store me in clear"});
    let source = Source {
        id: SourceId::generate(),
        app_id: app.id.clone(),
        uid: None,
        name: "s".into(),
        verifier: serde_json::from_value(verifier).expect("verifier"),
        event_type: None,
        dedup_key: None,
        dedup_window: Duration::from_secs(60),
        response: None,
        max_body_bytes: 1024,
        rejected_total: 0,
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
    };
    store.create_source(&source).await.expect("create");
    assert_eq!(store.get_source(source.id.as_str()).await.expect("get"), Some(source), "read back decrypted");
    let mut raw = schema.raw().await;
    let sql = format!("SELECT verifier FROM {}.source", schema.name);
    let stored: String = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut raw).await.expect("row");
    assert!(stored.starts_with("v1:"), "sealed: {stored}");
    assert!(!stored.contains("do not store me"), "the secret is not readable");
}
