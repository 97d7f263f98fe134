//! The storage conformance suite: what every [`Store`] must do, as runnable tests.
//!
//! [`run_all`] runs every test in turn against one store; each panics with a message
//! saying what broke. Every backend calls it from its own tests (SQLite always,
//! Postgres when a database is configured), so both answer the same questions the same
//! way. The doc comments on the trait are the contract; these tests pin down its
//! details (which key a conflict names, what `done` means going backwards, ...).
//!
//! Tests share the store: each creates its own applications and endpoints, and uses
//! names and uids made unique per run. The queue is global (`claim_due` and `next_due`
//! see every application), so the queue tests pass explicit `now` values in their own
//! stretch of 1970 — far before anything else the suite creates — and delete their
//! application at the end, leaving nothing due behind them. Nothing sleeps.

mod apps;
mod endpoints;
mod filtered;
mod health;
mod insights;
mod keys;
mod messages;
mod queue;
mod reads;
mod sources;
mod upkeep;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use herald_core::{
    AppId, Application, Attempt, AttemptId, Delivery, DeliveryStatus, Endpoint, EndpointId, Message,
    MessageId, SigningKey, Timestamp, Trigger,
};

use crate::{Cursor, DeliveryUpdate, Order, Page, PageQuery, Store};

type Shared = Arc<dyn Store>;
// Not `Send`: the tests use async closures, whose futures cannot promise it for every
// lifetime. Await `run_all` directly in a test rather than spawning it.
type TestFn = fn(Shared) -> Pin<Box<dyn Future<Output = ()>>>;

macro_rules! tests {
    ($($module:ident :: $name:ident),* $(,)?) => {
        &[$((stringify!($name), |store| Box::pin($module::$name(store)))),*]
    };
}

/// Every test, in the order [`run_all`] runs them.
const TESTS: &[(&str, TestFn)] = tests![
    apps::apps_crud_and_uid_lookup,
    apps::app_uid_conflicts,
    apps::apps_pagination,
    apps::event_types_crud_and_listing,
    endpoints::endpoints_crud_and_uid_lookup,
    endpoints::endpoint_uid_conflicts,
    endpoints::endpoints_listing,
    messages::messages_create_and_lookup,
    messages::message_event_id_conflicts,
    messages::message_expunge_payload,
    messages::messages_paging,
    messages::messages_filters,
    queue::claim_leases_due_rows,
    queue::released_leases_are_claimable_at_once,
    queue::claim_oldest_first_within_limit,
    queue::create_message_already_leased,
    queue::record_attempt_updates_delivery,
    queue::schedule_resend_existing_and_new,
    queue::recover_failed_counts,
    queue::next_due_is_earliest_pending,
    health::endpoint_failing_since_keeps_the_earliest_mark,
    health::disabling_an_endpoint_fails_its_pending_deliveries,
    health::a_disabled_endpoint_fails_later_deliveries_too,
    health::updates_keep_health_and_re_enabling_clears_it,
    health::postponed_deliveries_are_due_later_without_an_attempt,
    filtered::filtered_deliveries_settle_without_an_attempt,
    reads::message_destinations_paging,
    reads::endpoint_messages_paging_and_filters,
    reads::endpoint_stats_by_creation_window,
    reads::attempts_paging_and_filters,
    reads::attempt_get_and_expunge,
    reads::attempt_requests_round_trip,
    insights::activity_counts_messages_and_attempts_per_bucket,
    insights::attempt_durations_newest_first_since,
    insights::delivery_totals_count_every_application,
    insights::endpoints_needing_attention_failing_then_disabled,
    insights::search_messages_across_applications,
    insights::all_attempts_span_applications_in_id_order,
    sources::sources_crud_uid_lookup_and_paging,
    sources::inbound_messages_keep_their_origin_and_claim_dedup_keys,
    sources::rejections_are_logged_newest_first_counted_and_pruned,
    sources::deleting_an_app_deletes_its_sources,
    keys::idempotency_first_writer_wins,
    keys::idempotency_claims_let_one_request_run,
    keys::app_tokens_expire,
    upkeep::purge_removes_what_expired_in_bounded_batches,
    upkeep::purge_empties_rewritten_request_bodies,
    upkeep::queue_stats_count_due_scheduled_leased_and_disabled,
    apps::delete_app_cascades,
    endpoints::delete_endpoint_cascades,
    keys::ping_answers,
];

/// The names of the tests [`run_all`] runs, in order.
pub fn test_names() -> impl Iterator<Item = &'static str> {
    TESTS.iter().map(|(name, _)| *name)
}

/// Runs every conformance test against `store`, in order; panics on the first failure
/// (the test's name is printed to stderr before it runs). The future is not `Send`:
/// await it in the test itself rather than spawning it.
pub async fn run_all(store: Arc<dyn Store>) {
    for (name, test) in TESTS {
        eprintln!("conformance: {name}");
        test(Arc::clone(&store)).await;
    }
}

// ---- fixtures ------------------------------------------------------------------------

/// A time for objects whose time does not matter (2023, well after the queue tests' 1970).
const T: i64 = 1_700_000_000_000;
/// Far in the future: expiries that must not have passed by the wall clock either.
const FAR: i64 = 4_102_444_800_000;

fn ts(ms: i64) -> Timestamp {
    Timestamp(ms)
}

/// A string no earlier run has used.
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", MessageId::generate().as_str().trim_start_matches(MessageId::PREFIX))
}

fn app() -> Application {
    Application {
        id: AppId::generate(),
        uid: None,
        name: "Conformance".into(),
        metadata: Default::default(),
        throttle_rate: None,
        created_at: ts(T),
        updated_at: ts(T),
    }
}

async fn new_app(store: &Shared) -> Application {
    let app = app();
    store.create_app(&app).await.expect("create_app");
    app
}

fn endpoint(app: &AppId) -> Endpoint {
    Endpoint::new(app.clone(), "https://example.com/hook".to_owned(), SigningKey::generate_symmetric(), ts(T))
}

async fn new_endpoint(store: &Shared, app: &AppId) -> Endpoint {
    let ep = endpoint(app);
    store.create_endpoint(&ep).await.expect("create_endpoint");
    ep
}

fn message(app: &AppId, created_at: i64) -> Message {
    Message {
        id: MessageId::generate(),
        app_id: app.clone(),
        event_type: "user.created".into(),
        event_id: None,
        payload: Some(bytes::Bytes::from_static(br#"{"ok":true}"#)),
        channels: None,
        tags: None,
        created_at: ts(created_at),
        expires_at: None,
        inbound: None,
    }
}

/// Creates a message (not leased) to the endpoints and returns its deliveries.
async fn send(store: &Shared, msg: &Message, endpoints: &[&Endpoint]) -> Vec<Delivery> {
    let ids: Vec<EndpointId> = endpoints.iter().map(|e| e.id.clone()).collect();
    store.create_message(msg, &ids, None).await.expect("create_message")
}

fn attempt(msg: &MessageId, ep: &Endpoint, status: DeliveryStatus, code: u16, at: i64) -> Attempt {
    Attempt {
        id: AttemptId::generate(),
        msg_id: msg.clone(),
        endpoint_id: ep.id.clone(),
        app_id: ep.app_id.clone(),
        url: ep.url.clone(),
        request: None,
        status,
        response_status_code: code,
        response: format!("response {code}"),
        duration_ms: 12,
        trigger: Trigger::Scheduled,
        created_at: ts(at),
    }
}

/// A request as an attempt records it: repeated and redacted headers, non-ASCII text,
/// and `body` (set when a transformation rewrote the payload).
fn sent_request(body: Option<&str>) -> herald_core::SentRequest {
    let headers = [
        ("webhook-id", "msg_1"),
        ("x-repeated", "1"),
        ("x-repeated", "2"),
        ("authorization", herald_core::REDACTED),
        ("x-note", "naïve \"quoted\""),
    ];
    herald_core::SentRequest {
        method: "PUT".into(),
        headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
        body: body.map(str::to_owned),
    }
}

/// Records an attempt with the given new delivery state.
async fn record(store: &Shared, attempt: &Attempt, status: DeliveryStatus, next: Option<i64>) {
    let update = DeliveryUpdate { status, next_attempt_at: next.map(ts) };
    store.record_attempt(attempt, &update).await.expect("record_attempt");
}

/// The deliveries of `app` among `claimed` (other applications' rows may be due too).
fn mine(claimed: Vec<Delivery>, app: &AppId) -> Vec<Delivery> {
    claimed.into_iter().filter(|d| &d.app_id == app).collect()
}

fn sorted(mut keys: Vec<String>) -> Vec<String> {
    keys.sort();
    keys
}

fn keys<T>(page: Page<T>, key: impl Fn(&T) -> String) -> Page<String> {
    Page { items: page.items.iter().map(key).collect(), done: page.done }
}

/// Walks a list two items at a time, forwards (`After`) and backwards (`Before`), in
/// both orders, and checks it yields exactly `ascending` (the list's keys, sorted) with
/// `done` set on the last page of each walk and only there.
async fn check_paging(what: &str, ascending: &[String], fetch: impl AsyncFn(PageQuery) -> Page<String>) {
    assert!(ascending.len() >= 3, "{what}: page through at least 3 items");
    for order in [Order::Ascending, Order::Descending] {
        let mut expected = ascending.to_vec();
        if order == Order::Descending {
            expected.reverse();
        }
        let mut forwards: Vec<String> = Vec::new();
        let mut query = PageQuery::first(2, order);
        loop {
            let page = fetch(query.clone()).await;
            assert!(page.items.len() <= 2, "{what} {order:?}: page longer than its limit");
            assert!(page.done || !page.items.is_empty(), "{what} {order:?}: empty page not `done`");
            forwards.extend(page.items);
            assert_eq!(
                page.done,
                forwards.len() >= expected.len(),
                "{what} {order:?}: `done` after {forwards:?}"
            );
            if page.done {
                break;
            }
            query.cursor = forwards.last().cloned().map(Cursor::After);
        }
        assert_eq!(forwards, expected, "{what} {order:?}: walking forwards");

        let (last, first) = (expected[expected.len() - 1].clone(), expected[0].clone());
        let mut backwards = vec![last.clone()];
        let mut query = PageQuery { limit: 2, cursor: Some(Cursor::Before(last)), order };
        loop {
            let page = fetch(query.clone()).await;
            assert!(page.items.len() <= 2, "{what} {order:?}: page longer than its limit");
            assert!(page.done || !page.items.is_empty(), "{what} {order:?}: empty page not `done`");
            let mut earlier = page.items;
            query.cursor = earlier.first().cloned().map(Cursor::Before);
            earlier.append(&mut backwards);
            backwards = earlier;
            assert_eq!(
                page.done,
                backwards.len() >= expected.len(),
                "{what} {order:?}: `done` before {backwards:?}"
            );
            if page.done {
                break;
            }
        }
        assert_eq!(backwards, expected, "{what} {order:?}: walking backwards");

        let before_first = fetch(PageQuery { limit: 2, cursor: Some(Cursor::Before(first)), order }).await;
        assert_eq!(
            before_first,
            Page { items: vec![], done: true },
            "{what} {order:?}: nothing before the first"
        );
    }
}
