//! Housekeeping: retention purges in bounded batches, and the queue figures metrics
//! sample. Both look at the whole store, so each test lives in its own stretch of
//! early 1970 (before every other test's rows), compares counts before and after
//! where other tests' rows could be counted, and deletes its application at the end.

use super::*;
use crate::{PurgeCounts, PurgeRequest, StoredResponse};

/// A message of `app` created at `created_at` whose payload expires at `expires_at`.
fn expiring(app: &AppId, created_at: i64, expires_at: Option<i64>) -> Message {
    Message { expires_at: expires_at.map(ts), ..message(app, created_at) }
}

/// Purges with `limit` until a call touches fewer than `limit` rows of every kind;
/// returns the sum and how many calls it took.
async fn purge_all(store: &Shared, request: PurgeRequest) -> (PurgeCounts, usize) {
    let (mut total, mut calls) = (PurgeCounts::default(), 0);
    loop {
        let counts = store.purge_expired(&request).await.expect("purge_expired");
        calls += 1;
        total.add(&counts);
        if !counts.reached(request.limit) {
            return (total, calls);
        }
        assert!(calls < 50, "the purge never finishes: {total:?}");
    }
}

async fn payload_of(store: &Shared, msg: &Message) -> Option<bytes::Bytes> {
    let found = store.get_message(&msg.app_id, msg.id.as_str()).await.expect("get_message");
    found.expect("the message itself is kept").payload
}

pub(super) async fn purge_removes_what_expired_in_bounded_batches(store: Shared) {
    const BASE: i64 = 1_000_000;
    let request = PurgeRequest { now: ts(BASE + 100), older_than: ts(BASE + 50), limit: 1 };
    let app = new_app(&store).await;
    let ep = new_endpoint(&store, &app.id).await;
    let expired = expiring(&app.id, BASE, Some(BASE + 10));
    let expired_too = expiring(&app.id, BASE + 1, Some(BASE + 100));
    let live = expiring(&app.id, BASE, Some(BASE + 101));
    let old_without_expiry = expiring(&app.id, BASE, None);
    let new_without_expiry = expiring(&app.id, BASE + 60, None);
    let retrying = expiring(&app.id, BASE, Some(BASE + 10));
    for msg in [&expired, &expired_too, &live, &old_without_expiry, &new_without_expiry] {
        send(&store, msg, &[]).await;
    }
    send(&store, &retrying, &[&ep]).await;
    // `retrying` failed once and waits for its next attempt: its payload must stay.
    let old_attempt = attempt(&retrying.id, &ep, DeliveryStatus::Pending, 500, BASE + 1);
    record(&store, &old_attempt, DeliveryStatus::Pending, Some(BASE + 999_999)).await;
    let new_attempt = attempt(&retrying.id, &ep, DeliveryStatus::Pending, 500, BASE + 60);
    record(&store, &new_attempt, DeliveryStatus::Pending, Some(BASE + 999_999)).await;
    let response = StoredResponse { status: 202, body: b"{}".to_vec() };
    let (old_key, new_key) = (unique("purge-idem"), unique("purge-idem"));
    store.put_idempotent(&old_key, &response, ts(BASE + 100)).await.expect("put_idempotent");
    store.put_idempotent(&new_key, &response, ts(FAR)).await.expect("put_idempotent");
    let (old_token, new_token) = (unique("purge-token"), unique("purge-token"));
    store.create_app_token(&old_token, &app.id, ts(BASE + 10)).await.expect("create_app_token");
    store.create_app_token(&new_token, &app.id, ts(FAR)).await.expect("create_app_token");

    let (purged, calls) = purge_all(&store, request).await;
    let expected = PurgeCounts { payloads: 3, responses: 1, idempotency_keys: 1, app_tokens: 1 };
    assert_eq!(purged, expected, "what expired at {:?}", request.now);
    assert!(calls >= 3, "one row of each kind per call: three payloads take three calls ({calls})");

    assert_eq!(payload_of(&store, &expired).await, None, "expired at `now`");
    assert_eq!(payload_of(&store, &expired_too).await, None, "expiring exactly at `now` is expired");
    assert_eq!(payload_of(&store, &old_without_expiry).await, None, "no expiry: created before `older_than`");
    assert!(payload_of(&store, &live).await.is_some(), "expires after `now`");
    assert!(payload_of(&store, &new_without_expiry).await.is_some(), "no expiry: created after `older_than`");
    assert!(payload_of(&store, &retrying).await.is_some(), "a pending delivery keeps its payload");
    let body = async |a: &Attempt| {
        let found = store.get_attempt(&app.id, a.id.as_str()).await.expect("get_attempt");
        found.expect("the attempt itself is kept").response
    };
    assert_eq!(body(&old_attempt).await, "", "a response older than `older_than` is emptied");
    assert_eq!(body(&new_attempt).await, new_attempt.response, "a newer response is kept");
    assert_eq!(store.get_idempotent(&old_key, ts(BASE)).await.expect("get"), None, "the expired key is gone");
    assert!(store.get_idempotent(&new_key, ts(BASE)).await.expect("get").is_some(), "a live key stays");
    assert_eq!(
        store.app_for_token(&old_token, ts(BASE)).await.expect("token"),
        None,
        "the expired token is gone"
    );
    assert!(store.app_for_token(&new_token, ts(BASE)).await.expect("token").is_some(), "a live token stays");

    let (again, _) = purge_all(&store, request).await;
    assert_eq!(again, PurgeCounts::default(), "a second purge finds nothing more");
    // Once the delivery is settled, the payload goes at the next purge.
    let last = attempt(&retrying.id, &ep, DeliveryStatus::Success, 200, BASE + 70);
    record(&store, &last, DeliveryStatus::Success, None).await;
    let (settled, _) = purge_all(&store, request).await;
    assert_eq!(settled, PurgeCounts { payloads: 1, ..PurgeCounts::default() });
    assert_eq!(payload_of(&store, &retrying).await, None);
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn queue_stats_count_due_scheduled_leased_and_disabled(store: Shared) {
    const NOW: i64 = 3_000_000;
    let before = store.queue_stats(ts(NOW)).await.expect("queue_stats");
    let app = new_app(&store).await;
    let ep = new_endpoint(&store, &app.id).await;
    let off = Endpoint { disabled: true, ..endpoint(&app.id) };
    store.create_endpoint(&off).await.expect("create_endpoint");
    send(&store, &message(&app.id, NOW - 10), &[&ep]).await;
    send(&store, &message(&app.id, NOW), &[&ep]).await;
    send(&store, &message(&app.id, NOW + 1_000), &[&ep]).await;
    let leased = message(&app.id, NOW - 10);
    let ids = [ep.id.clone()];
    store.create_message(&leased, &ids, Some(ts(NOW + 5_000))).await.expect("create_message leased");

    let after = store.queue_stats(ts(NOW)).await.expect("queue_stats");
    assert_eq!(after.due - before.due, 2, "due now (or before) and held by no one: {after:?}");
    assert_eq!(after.scheduled - before.scheduled, 1, "due later: {after:?}");
    assert_eq!(after.leased - before.leased, 1, "held by a worker: {after:?}");
    assert_eq!(after.disabled_endpoints - before.disabled_endpoints, 1, "{after:?}");
    let later = store.queue_stats(ts(NOW + 5_000)).await.expect("queue_stats");
    assert_eq!(later.leased, before.leased, "an expired lease holds nothing: {later:?}");
    store.delete_app(&app.id).await.expect("delete_app");
    assert_eq!(store.queue_stats(ts(NOW)).await.expect("queue_stats"), before, "all gone with the app");
}

pub(super) async fn purge_empties_rewritten_request_bodies(store: Shared) {
    const BASE: i64 = 2_000_000;
    let app = new_app(&store).await;
    let ep = new_endpoint(&store, &app.id).await;
    let msg = message(&app.id, BASE);
    send(&store, &msg, &[&ep]).await;
    // An empty response (a 204): only the request body is left for retention.
    let old = Attempt {
        response: String::new(),
        request: Some(sent_request(Some("text=hi"))),
        ..attempt(&msg.id, &ep, DeliveryStatus::Success, 204, BASE + 1)
    };
    let new = Attempt {
        request: Some(sent_request(Some("text=new"))),
        ..attempt(&msg.id, &ep, DeliveryStatus::Success, 200, BASE + 60)
    };
    record(&store, &old, DeliveryStatus::Pending, Some(FAR)).await;
    record(&store, &new, DeliveryStatus::Success, None).await;
    purge_all(&store, PurgeRequest { now: ts(BASE + 100), older_than: ts(BASE + 50), limit: 10 }).await;
    let get = async |a: &Attempt| store.get_attempt(&app.id, a.id.as_str()).await.expect("get_attempt");
    let emptied = Attempt { request: Some(sent_request(None)), ..old.clone() };
    assert_eq!(get(&old).await, Some(emptied), "an old request body goes, its headers stay");
    assert_eq!(get(&new).await, Some(new.clone()), "a newer request body is kept");
    store.delete_app(&app.id).await.expect("delete_app");
}
