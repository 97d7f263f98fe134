//! The PostgreSQL store against the shared conformance suite, plus what only this backend
//! promises: several processes sharing one database (concurrent claims, concurrent
//! start-up on an empty schema), wake-ups across processes by `LISTEN/NOTIFY`, and
//! single-statement writes that fail whole.
//!
//! Each test runs in a schema of its own and drops it at the end. Separate `PgStore`s
//! on one schema stand in for separate processes: they share nothing but the database.
//! Without `HERALD_TEST_DATABASE_URL` every test says it was skipped and passes.

mod support;

use std::collections::HashSet;
use std::sync::Arc;

use herald_core::{AttemptId, DeliveryStatus, Timestamp, Trigger};
use herald_postgres::PgStore;
use herald_store::{DeliveryUpdate, Order, PageQuery, Store, StoreError};
use sqlx::postgres::PgListener;
use sqlx::{AssertSqlSafe, Connection};
use support::proxy::Proxy;
use support::{PATIENCE, TestSchema, app_with_endpoints, message};
use tokio::sync::{Barrier, Notify};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// Far in the future: leases that must not expire during a test.
const FAR: i64 = 4_102_444_800_000;

#[tokio::test]
async fn postgres_passes_the_conformance_suite() {
    let Some(schema) = TestSchema::new("postgres_passes_the_conformance_suite") else { return };
    let store = Arc::new(schema.store().await);
    herald_store::conformance::run_all(Arc::clone(&store) as Arc<dyn Store>).await;
    assert_eq!(store.next_due().await.expect("next_due"), None, "the suite leaves nothing queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_connects_on_an_empty_schema_all_come_up() {
    let Some(schema) = TestSchema::new("concurrent_connects_on_an_empty_schema_all_come_up") else { return };
    let (a, b, c) = tokio::join!(schema.store(), schema.store(), schema.store());
    for store in [&a, &b, &c] {
        store.ping().await.expect("ping");
        app_with_endpoints(store, 1).await;
    }
    let mut raw = schema.raw().await;
    let sql = format!("SELECT COUNT(*) FROM {}.herald_schema_version", schema.name);
    let versions: i64 = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut raw).await.expect("versions");
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).expect("migrations");
    let migrations = i64::try_from(files.count()).expect("a few files");
    assert_eq!(versions, migrations, "each migration applied once");
    let again = schema.store().await;
    assert_eq!(again.schema(), schema.name, "a later connect finds the schema current");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_never_return_a_delivery_twice() {
    let Some(schema) = TestSchema::new("concurrent_claims_never_return_a_delivery_twice") else { return };
    let stores = [schema.store().await, schema.store().await, schema.store().await];
    let (app, eps) = app_with_endpoints(&stores[0], 3).await;
    let targets: Vec<_> = eps.iter().map(|e| e.id.clone()).collect();
    for i in 0..100 {
        let msg = message(&app.id, 1_000 + i, None);
        stores[0].create_message(&msg, &targets, None).await.expect("create_message");
    }

    const CLAIMERS: usize = 6;
    let barrier = Arc::new(Barrier::new(CLAIMERS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..CLAIMERS {
        let (store, barrier) = (stores[i % stores.len()].clone(), Arc::clone(&barrier));
        tasks.spawn(async move {
            barrier.wait().await;
            let mut mine = Vec::new();
            loop {
                let claimed = store.claim_due(Timestamp(5_000), Timestamp(FAR), 7).await.expect("claim_due");
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|d| (d.msg_id, d.endpoint_id)));
            }
        });
    }
    let (mut seen, mut total) = (HashSet::new(), 0);
    while let Some(claimed) = tasks.join_next().await {
        for key in claimed.expect("claimer") {
            total += 1;
            assert!(seen.insert(key.clone()), "{key:?} was claimed twice");
        }
    }
    assert_eq!((total, seen.len()), (300, 300), "every delivery claimed exactly once");
    let left = stores[1].claim_due(Timestamp(5_000), Timestamp(FAR), 1_000).await.expect("claim_due");
    assert!(left.is_empty(), "nothing left to claim: {left:?}");
}

#[tokio::test]
async fn a_row_locked_elsewhere_is_skipped_not_waited_for() {
    let Some(schema) = TestSchema::new("a_row_locked_elsewhere_is_skipped_not_waited_for") else { return };
    let store = schema.store().await;
    let (app, eps) = app_with_endpoints(&store, 1).await;
    let (first, second) = (message(&app.id, 1_000, None), message(&app.id, 2_000, None));
    for msg in [&first, &second] {
        store.create_message(msg, std::slice::from_ref(&eps[0].id), None).await.expect("create_message");
    }
    // Another "process" holds the oldest due row locked in an open transaction.
    let mut raw = schema.raw().await;
    let mut tx = raw.begin().await.expect("begin");
    let sql = format!("SELECT 1 FROM {}.delivery WHERE msg_id = $1 FOR UPDATE", schema.name);
    sqlx::query(AssertSqlSafe(sql)).bind(first.id.as_str()).execute(&mut *tx).await.expect("lock");

    let claim = store.claim_due(Timestamp(5_000), Timestamp(FAR), 10);
    let claimed =
        timeout(PATIENCE, claim).await.expect("claim_due must not wait for the lock").expect("claim");
    let ids: Vec<_> = claimed.iter().map(|d| &d.msg_id).collect();
    assert_eq!(ids, vec![&second.id], "the locked row is skipped, the next one taken");
    tx.rollback().await.expect("rollback");
    let rest = store.claim_due(Timestamp(5_000), Timestamp(FAR), 10).await.expect("claim_due");
    assert_eq!(rest.iter().map(|d| &d.msg_id).collect::<Vec<_>>(), vec![&first.id], "free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_due_wakes_on_another_stores_unleased_message_and_survives_a_reconnect() {
    let Some(schema) = TestSchema::new("listen_due_wakes_and_reconnects") else { return };
    let (listening, writing) = (schema.store().await, schema.store().await);
    let (app, eps) = app_with_endpoints(&writing, 1).await;
    let (wake, shutdown) = (Arc::new(Notify::new()), CancellationToken::new());
    let task = listening.listen_due(Arc::clone(&wake), shutdown.clone());
    let poke = async || timeout(PATIENCE, wake.notified()).await;
    poke().await.expect("a first poke once LISTEN is registered");

    let targets = std::slice::from_ref(&eps[0].id);
    writing.create_message(&message(&app.id, 1_000, None), targets, None).await.expect("create_message");
    poke().await.expect("woken by another store's unleased message");

    // Cut the listener's connection from the server side.
    let mut raw = schema.raw().await;
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(format!("herald listen {}", schema.name))
    .fetch_all(&mut raw)
    .await
    .expect("terminate");
    assert_eq!(terminated, vec![true], "exactly one listener connection");
    poke().await.expect("a poke once LISTEN is registered again");
    writing.create_message(&message(&app.id, 2_000, None), targets, None).await.expect("create_message");
    poke().await.expect("woken after the reconnect");

    shutdown.cancel();
    timeout(PATIENCE, task).await.expect("the task stops on shutdown").expect("task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_due_comes_back_after_the_database_was_unreachable() {
    let Some(schema) = TestSchema::new("listen_due_comes_back_after_an_outage") else { return };
    let proxy = Proxy::start(&schema.url).await;
    let listening = PgStore::connect(&proxy.url, schema.options()).await.expect("connect through the proxy");
    let writing = schema.store().await;
    let (app, eps) = app_with_endpoints(&writing, 1).await;
    let (wake, shutdown) = (Arc::new(Notify::new()), CancellationToken::new());
    let task = listening.listen_due(Arc::clone(&wake), shutdown.clone());
    let poke = async || timeout(PATIENCE, wake.notified()).await;
    poke().await.expect("a first poke once LISTEN is registered");

    proxy.down();
    timeout(PATIENCE, proxy.refused()).await.expect("the listener tries to reconnect");
    // Committed while nobody listens: its notification is lost, the poke on return covers it.
    let targets = std::slice::from_ref(&eps[0].id);
    writing.create_message(&message(&app.id, 1_000, None), targets, None).await.expect("create_message");
    proxy.up();
    poke().await.expect("a poke once LISTEN is registered again");
    writing.create_message(&message(&app.id, 2_000, None), targets, None).await.expect("create_message");
    poke().await.expect("woken by notifications again");

    shutdown.cancel();
    timeout(PATIENCE, task).await.expect("the task stops on shutdown").expect("task");
}

/// The next notification on `herald_due` whose payload is one of `wanted` (other
/// schemas' tests notify on the same channel).
async fn next_note(listener: &mut PgListener, wanted: &[&str]) -> String {
    loop {
        let note = timeout(PATIENCE, listener.recv()).await.expect("a notification").expect("recv");
        if wanted.contains(&note.payload()) {
            return note.payload().to_owned();
        }
    }
}

/// PostgreSQL delivers notifications in commit order, across sessions too, so a marker
/// sent after a write returned proves the write notified nothing when the marker comes
/// first.
#[tokio::test]
async fn only_writes_that_leave_rows_due_unleased_notify() {
    let Some(schema) = TestSchema::new("only_writes_that_leave_rows_due_unleased_notify") else { return };
    let store = schema.store().await;
    let (app, eps) = app_with_endpoints(&store, 1).await;
    let mut listener = schema.listener().await;
    let mut raw = schema.raw().await;
    let marker = format!("{}-marker", schema.name);
    let wanted = [schema.name.as_str(), marker.as_str()];
    let mark = async |raw: &mut sqlx::PgConnection| {
        sqlx::query("SELECT pg_notify('herald_due', $1)").bind(&marker).execute(raw).await.expect("marker");
    };
    let ep = std::slice::from_ref(&eps[0].id);

    let leased = message(&app.id, 1_000, None);
    store.create_message(&leased, ep, Some(Timestamp(FAR))).await.expect("leased create");
    mark(&mut raw).await;
    assert_eq!(next_note(&mut listener, &wanted).await, marker, "a leased create does not notify");

    let msg = message(&app.id, 1_000, Some("evt"));
    store.create_message(&msg, ep, None).await.expect("create");
    assert_eq!(next_note(&mut listener, &wanted).await, schema.name, "an unleased create notifies");

    let refused = store.create_message(&message(&app.id, 1_000, Some("evt")), ep, None).await;
    assert!(matches!(refused, Err(StoreError::Conflict("message eventId"))), "{refused:?}");
    store.create_message(&message(&app.id, 1_000, None), &[], None).await.expect("create");
    mark(&mut raw).await;
    let note = next_note(&mut listener, &wanted).await;
    assert_eq!(note, marker, "neither a refused create nor one without deliveries notifies");

    let resent = store.schedule_resend(&msg, &eps[0].id, Timestamp(3_000)).await.expect("resend");
    assert_eq!(resent.next_trigger, Trigger::Manual);
    assert_eq!(next_note(&mut listener, &wanted).await, schema.name, "a resend notifies");

    assert_eq!(store.recover_failed(&eps[0].id, Timestamp(0), None, Timestamp(4_000)).await.ok(), Some(0));
    mark(&mut raw).await;
    assert_eq!(next_note(&mut listener, &wanted).await, marker, "recovering nothing does not notify");
    settle(&store, &msg, &eps[0].id, DeliveryStatus::Failed).await;
    mark(&mut raw).await;
    assert_eq!(next_note(&mut listener, &wanted).await, marker, "recording an attempt does not notify");
    assert_eq!(store.recover_failed(&eps[0].id, Timestamp(0), None, Timestamp(4_000)).await.ok(), Some(1));
    assert_eq!(next_note(&mut listener, &wanted).await, schema.name, "recovering a delivery notifies");
}

/// Records a settling attempt on the (message, endpoint) delivery.
async fn settle(
    store: &impl Store,
    msg: &herald_core::Message,
    ep: &herald_core::EndpointId,
    status: DeliveryStatus,
) {
    let attempt = attempt(msg, ep, status);
    let update = DeliveryUpdate { status, next_attempt_at: None };
    store.record_attempt(&attempt, &update).await.expect("record_attempt");
}

fn attempt(
    msg: &herald_core::Message,
    ep: &herald_core::EndpointId,
    status: DeliveryStatus,
) -> herald_core::Attempt {
    herald_core::Attempt {
        id: AttemptId::generate(),
        msg_id: msg.id.clone(),
        endpoint_id: ep.clone(),
        app_id: msg.app_id.clone(),
        url: "https://example.com/hook".into(),
        request: None,
        status,
        response_status_code: if status == DeliveryStatus::Success { 200 } else { 500 },
        response: String::new(),
        duration_ms: 3,
        trigger: Trigger::Scheduled,
        created_at: Timestamp(2_000),
    }
}

#[tokio::test]
async fn a_conflict_inside_create_message_rolls_back_the_whole_message() {
    let Some(schema) = TestSchema::new("a_conflict_inside_create_message_rolls_back") else { return };
    let store = schema.store().await;
    let (app, eps) = app_with_endpoints(&store, 2).await;
    let first = message(&app.id, 1_000, Some("order-42"));
    store.create_message(&first, std::slice::from_ref(&eps[0].id), None).await.expect("first");

    let twin = message(&app.id, 1_000, Some("order-42"));
    let targets = [eps[0].id.clone(), eps[1].id.clone()];
    let refused = store.create_message(&twin, &targets, None).await;
    assert!(matches!(refused, Err(StoreError::Conflict("message eventId"))), "{refused:?}");
    let stored = store.messages_by_id(std::slice::from_ref(&twin.id)).await.expect("messages_by_id");
    assert!(stored.is_empty(), "the message is not stored");
    let page = PageQuery::first(10, Order::Ascending);
    let dest = store.message_destinations(&twin.id, &page).await.expect("message_destinations");
    assert!(dest.items.is_empty(), "nor are its deliveries");
    let stats = store.endpoint_stats(&eps[1].id, None, None).await.expect("endpoint_stats");
    assert_eq!(stats.pending, 0, "no delivery row for the second endpoint");
    let claimed = store.claim_due(Timestamp(5_000), Timestamp(FAR), 10).await.expect("claim_due");
    assert_eq!(claimed.iter().map(|d| &d.msg_id).collect::<Vec<_>>(), vec![&first.id], "only the first");
}

#[tokio::test]
async fn a_failing_attempt_insert_undoes_the_delivery_update() {
    let Some(schema) = TestSchema::new("a_failing_attempt_insert_undoes_the_delivery_update") else { return };
    let store = schema.store().await;
    let (app, eps) = app_with_endpoints(&store, 1).await;
    let msg = message(&app.id, 1_000, None);
    store.create_message(&msg, std::slice::from_ref(&eps[0].id), None).await.expect("create_message");
    let tried = attempt(&msg, &eps[0].id, DeliveryStatus::Failed);
    let retry = DeliveryUpdate { status: DeliveryStatus::Pending, next_attempt_at: Some(Timestamp(9_000)) };
    store.record_attempt(&tried, &retry).await.expect("record_attempt");

    let done = DeliveryUpdate { status: DeliveryStatus::Success, next_attempt_at: None };
    let again = store.record_attempt(&tried, &done).await;
    assert!(matches!(again, Err(StoreError::Conflict("attempt id"))), "{again:?}");
    let page = PageQuery::first(10, Order::Ascending);
    let (delivery, _) =
        store.message_destinations(&msg.id, &page).await.expect("destinations").items.remove(0);
    assert_eq!(
        (delivery.status, delivery.attempts, delivery.next_attempt_at),
        (DeliveryStatus::Pending, 1, Some(Timestamp(9_000))),
        "the refused attempt left the delivery as it was"
    );
}
