//! The SQLite store against the shared conformance suite, plus what only this backend
//! promises: group commit under concurrency, per-command failure inside a batch, and
//! durability across closing and reopening the file.

use std::sync::Arc;

use herald_core::{AppId, Application, Endpoint, Message, MessageId, SigningKey, Timestamp};
use herald_sqlite::{SqliteOptions, SqliteStore};
use herald_store::{MessageFilter, Order, PageQuery, SecretKey, Store, StoreError};

fn temp_store() -> (tempfile::TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("herald.db"), &SecretKey::generate()).expect("open");
    (dir, Arc::new(store))
}

fn app() -> Application {
    let now = Timestamp::now();
    Application {
        id: AppId::generate(),
        uid: None,
        name: "Load".into(),
        metadata: Default::default(),
        throttle_rate: None,
        created_at: now,
        updated_at: now,
    }
}

fn endpoint(app: &AppId) -> Endpoint {
    let now = Timestamp::now();
    Endpoint::new(app.clone(), "https://example.com/hook".to_owned(), SigningKey::generate_symmetric(), now)
}

fn message(app: &AppId, event_id: Option<String>) -> Message {
    Message {
        id: MessageId::generate(),
        app_id: app.clone(),
        event_type: "user.created".into(),
        event_id,
        payload: Some(bytes::Bytes::from_static(b"{}")),
        channels: None,
        tags: None,
        created_at: Timestamp::now(),
        expires_at: None,
        inbound: None,
    }
}

#[tokio::test]
async fn sqlite_passes_the_conformance_suite() {
    let (_dir, store) = temp_store();
    herald_store::conformance::run_all(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_are_group_committed() {
    let (_dir, store) = temp_store();
    let app = app();
    store.create_app(&app).await.expect("create_app");
    let ep = endpoint(&app.id);
    store.create_endpoint(&ep).await.expect("create_endpoint");

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let (store, msg, targets) = (Arc::clone(&store), message(&app.id, None), vec![ep.id.clone()]);
        tasks.spawn(async move { store.create_message(&msg, &targets, None).await.map(|_| msg.id) });
    }
    let mut ids = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        ids.push(joined.expect("task").expect("every concurrent create succeeds"));
    }
    assert_eq!(store.messages_by_id(&ids).await.expect("messages_by_id").len(), 200, "all rows readable");
    let page = PageQuery::first(500, Order::Descending);
    let listed = store.list_messages(&app.id, &MessageFilter::default(), &page).await;
    assert_eq!(listed.expect("list_messages").items.len(), 200);
    let stats = store.endpoint_stats(&ep.id, None, None).await.expect("endpoint_stats");
    assert_eq!(stats.pending, 200, "every message has its delivery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_fails_only_its_own_caller() {
    let (_dir, store) = temp_store();
    let app = app();
    store.create_app(&app).await.expect("create_app");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        // Two of the fifty share an eventId: exactly one of them must lose.
        let event_id = if i == 10 || i == 40 { "dup".to_string() } else { format!("evt-{i}") };
        let (store, msg) = (Arc::clone(&store), message(&app.id, Some(event_id)));
        tasks.spawn(async move { store.create_message(&msg, &[], None).await.map(|_| msg.id) });
    }
    let (mut created, mut conflicts) = (Vec::new(), 0);
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task") {
            Ok(id) => created.push(id),
            Err(StoreError::Conflict("message eventId")) => conflicts += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!((created.len(), conflicts), (49, 1));
    assert_eq!(
        store.messages_by_id(&created).await.expect("messages_by_id").len(),
        49,
        "neighbours committed"
    );
}

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data/herald.db");
    let app = app();
    let key = SecretKey::generate();
    {
        let options = SqliteOptions { synchronous_full: true, readers: 1, ..SqliteOptions::new(key.clone()) };
        let store = SqliteStore::open_with(&path, options).expect("open");
        store.create_app(&app).await.expect("create_app");
        store
            .create_message(&message(&app.id, Some("kept".into())), &[], None)
            .await
            .expect("create_message");
    }
    let store = SqliteStore::open(&path, &key).expect("reopen");
    assert_eq!(store.get_app(app.id.as_str()).await.expect("get_app"), Some(app.clone()));
    assert!(store.get_message(&app.id, "kept").await.expect("get_message").is_some(), "the message is kept");
    store.ping().await.expect("ping");
}

#[tokio::test]
async fn a_second_process_cannot_open_the_same_file_and_a_reopen_releases_leases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("herald.db");
    let key = SecretKey::generate();
    let store = SqliteStore::open(&path, &key).expect("first open");
    let second = SqliteStore::open(&path, &key).expect_err("the file is locked by the first store");
    assert!(second.to_string().contains("storage backend"), "{second}");
    let source = std::error::Error::source(&second).map(ToString::to_string).unwrap_or_default();
    assert!(source.contains("in use by another Herald process"), "{source}");

    let app = app();
    store.create_app(&app).await.expect("app");
    let ep = endpoint(&app.id);
    store.create_endpoint(&ep).await.expect("endpoint");
    let msg = message(&app.id, None);
    let far = Timestamp(msg.created_at.0 + 3_600_000);
    store.create_message(&msg, std::slice::from_ref(&ep.id), Some(far)).await.expect("leased delivery");
    assert!(store.claim_due(msg.created_at, far, 10).await.expect("claim").is_empty(), "leased");
    drop(store);

    let store = SqliteStore::open(&path, &key).expect("reopened after the first store closed");
    let claimed = store.claim_due(msg.created_at, far, 10).await.expect("claim");
    assert_eq!(claimed.len(), 1, "the previous run's lease was released on open");
}
