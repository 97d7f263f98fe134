//! The dashboard's reads across applications: activity per bucket, attempt durations,
//! delivery totals, endpoints needing attention and the message search. Other tests
//! share the store, so global counts are checked as differences, and lists are
//! narrowed to this test's own application.

use super::*;
use crate::{ActivityBucket, AttemptFilter, DeliveryCounts, MessageFilter};

/// A stretch of time no other conformance test uses (2023-10-15, a month before `T`).
const W: i64 = T - 30 * 24 * 3_600_000;
const HOUR: i64 = 3_600_000;

/// `(start, messages, succeeded, failed)` of each bucket, for comparing differences.
fn totals(buckets: &[ActivityBucket]) -> std::collections::BTreeMap<i64, (u64, u64, u64)> {
    buckets.iter().map(|b| (b.start.millis(), (b.messages, b.succeeded, b.failed))).collect()
}

pub(super) async fn activity_counts_messages_and_attempts_per_bucket(store: Shared) {
    let window = async || totals(&store.activity(ts(W), ts(W + 3 * HOUR), HOUR).await.expect("activity"));
    let before = window().await;
    let app = new_app(&store).await;
    let ep = new_endpoint(&store, &app.id).await;
    let msgs = [message(&app.id, W + 10), message(&app.id, W + 20), message(&app.id, W + HOUR + 5)];
    for m in &msgs {
        send(&store, m, &[&ep]).await;
    }
    let outside = message(&app.id, W + 3 * HOUR);
    send(&store, &outside, &[&ep]).await;
    record(
        &store,
        &attempt(&msgs[0].id, &ep, DeliveryStatus::Success, 200, W + 30),
        DeliveryStatus::Success,
        None,
    )
    .await;
    let failed = attempt(&msgs[2].id, &ep, DeliveryStatus::Failed, 500, W + 2 * HOUR + 1);
    record(&store, &failed, DeliveryStatus::Pending, Some(W + 3 * HOUR)).await;

    let after = window().await;
    let grew = |start: i64| {
        let (m0, s0, f0) = before.get(&start).copied().unwrap_or_default();
        let (m1, s1, f1) = after.get(&start).copied().unwrap_or_default();
        (m1 - m0, s1 - s0, f1 - f0)
    };
    assert_eq!(grew(W), (2, 1, 0), "first hour: two messages, one success");
    assert_eq!(grew(W + HOUR), (1, 0, 0), "second hour: one message");
    assert_eq!(grew(W + 2 * HOUR), (0, 0, 1), "third hour: one failed attempt");
    assert!(!after.contains_key(&(W + 3 * HOUR)), "`until` is exclusive");
    let starts: Vec<i64> = after.keys().copied().collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "oldest first: {starts:?}");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn attempt_durations_newest_first_since(store: Shared) {
    let app = new_app(&store).await;
    let ep = new_endpoint(&store, &app.id).await;
    let msg = message(&app.id, W);
    send(&store, &msg, &[&ep]).await;
    for (duration, at) in [(777, W + 1), (888, W + 2), (999, W - 1)] {
        let mut a = attempt(&msg.id, &ep, DeliveryStatus::Failed, 500, at);
        a.duration_ms = duration;
        record(&store, &a, DeliveryStatus::Pending, Some(W + HOUR)).await;
    }
    let mut newest = store.attempt_durations(ts(W), 2).await.expect("attempt_durations");
    newest.sort_unstable();
    assert_eq!(newest, [777, 888], "the newest attempts since W, not the one made before it");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn delivery_totals_count_every_application(store: Shared) {
    let before = store.delivery_totals().await.expect("delivery_totals");
    let app = new_app(&store).await;
    let (a, b) = (new_endpoint(&store, &app.id).await, new_endpoint(&store, &app.id).await);
    let msg = message(&app.id, W);
    send(&store, &msg, &[&a, &b]).await;
    record(&store, &attempt(&msg.id, &a, DeliveryStatus::Success, 200, W + 1), DeliveryStatus::Success, None)
        .await;
    let after = store.delivery_totals().await.expect("delivery_totals");
    let diff = DeliveryCounts {
        success: after.success - before.success,
        pending: after.pending - before.pending,
        failed: after.failed - before.failed,
        sending: after.sending - before.sending,
        filtered: after.filtered - before.filtered,
    };
    assert_eq!(diff, DeliveryCounts { success: 1, pending: 1, ..DeliveryCounts::default() });
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn endpoints_needing_attention_failing_then_disabled(store: Shared) {
    let app = new_app(&store).await;
    let healthy = new_endpoint(&store, &app.id).await;
    let failing = new_endpoint(&store, &app.id).await;
    let disabled = new_endpoint(&store, &app.id).await;
    store.set_endpoint_failing(&failing.id, Some(ts(W))).await.expect("set_endpoint_failing");
    store.disable_endpoint(&disabled.id, Some("answered 410"), ts(W)).await.expect("disable_endpoint");
    let all = store.endpoints_needing_attention(100_000).await.expect("endpoints_needing_attention");
    let mine: Vec<&EndpointId> = all.iter().filter(|e| e.app_id == app.id).map(|e| &e.id).collect();
    assert_eq!(mine, [&failing.id, &disabled.id], "failing first, healthy ones never");
    assert!(!mine.contains(&&healthy.id));
    let one = store.endpoints_needing_attention(1).await.expect("endpoints_needing_attention");
    assert_eq!(one.len(), 1, "the limit holds");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn search_messages_across_applications(store: Shared) {
    let tag = unique("search");
    let (app, other) = (new_app(&store).await, new_app(&store).await);
    let (ep, other_ep) = (new_endpoint(&store, &app.id).await, new_endpoint(&store, &other.id).await);
    let mut msgs = Vec::new();
    for (owner, endpoint, at) in [(&app, &ep, T + 1), (&other, &other_ep, T + 2), (&app, &ep, T + 3)] {
        let mut m = message(&owner.id, at);
        m.tags = Some(vec![tag.clone()]);
        send(&store, &m, &[endpoint]).await;
        msgs.push(m);
    }
    let delivered = &msgs[2];
    record(
        &store,
        &attempt(&delivered.id, &ep, DeliveryStatus::Success, 200, T + 4),
        DeliveryStatus::Success,
        None,
    )
    .await;

    let filter = MessageFilter { tag: Some(tag.clone()), ..MessageFilter::default() };
    let ids = sorted(msgs.iter().map(|m| m.id.to_string()).collect());
    check_paging("search_messages", &ids, async |q: PageQuery| {
        let page = store.search_messages(None, &filter, None, &q).await.expect("search_messages");
        keys(page, |m| m.id.to_string())
    })
    .await;
    let find = async |app: Option<&AppId>, filter: &MessageFilter, status: Option<DeliveryStatus>| {
        let page =
            store.search_messages(app, filter, status, &PageQuery::first(100, Order::Descending)).await;
        sorted(page.expect("search_messages").items.into_iter().map(|m| m.id.to_string()).collect())
    };
    let own = sorted(vec![msgs[0].id.to_string(), msgs[2].id.to_string()]);
    assert_eq!(find(Some(&app.id), &filter, None).await, own, "narrowed to one application");
    assert_eq!(find(None, &filter, Some(DeliveryStatus::Success)).await, [delivered.id.to_string()]);
    let pending = sorted(vec![msgs[0].id.to_string(), msgs[1].id.to_string()]);
    assert_eq!(find(None, &filter, Some(DeliveryStatus::Pending)).await, pending, "by delivery status");
    let later = MessageFilter { after: Some(ts(T + 2)), ..filter.clone() };
    assert_eq!(find(None, &later, None).await, [delivered.id.to_string()], "created after");
    store.delete_app(&app.id).await.expect("delete_app");
    store.delete_app(&other.id).await.expect("delete_app");
}

pub(super) async fn all_attempts_span_applications_in_id_order(store: Shared) {
    // Ids made in the same few milliseconds sort in no particular order: start a
    // second back, and keep only this test's applications' attempts.
    let mark = AttemptId::first_at(Timestamp::now().minus(std::time::Duration::from_secs(1)));
    let (app, other) = (new_app(&store).await, new_app(&store).await);
    let (ep, other_ep) = (new_endpoint(&store, &app.id).await, new_endpoint(&store, &other.id).await);
    let (m1, mut m2) = (message(&app.id, W), message(&other.id, W));
    m2.event_type = "b.y".into();
    send(&store, &m1, &[&ep]).await;
    send(&store, &m2, &[&other_ep]).await;
    let tries = [
        attempt(&m1.id, &ep, DeliveryStatus::Failed, 500, W + 1),
        attempt(&m2.id, &other_ep, DeliveryStatus::Success, 200, W + 2),
        attempt(&m1.id, &ep, DeliveryStatus::Success, 204, W + 3),
    ];
    for a in &tries {
        record(&store, a, DeliveryStatus::Pending, Some(W + HOUR)).await;
    }
    let after_mark = PageQuery {
        cursor: Some(Cursor::After(mark.to_string())),
        ..PageQuery::first(100, Order::Ascending)
    };
    let list = async |filter: AttemptFilter| {
        let page = store.list_all_attempts(&filter, &after_mark).await.expect("list_all_attempts");
        let mine = page.items.into_iter().filter(|a| a.app_id == app.id || a.app_id == other.id);
        mine.map(|a| a.id.to_string()).collect::<Vec<_>>()
    };
    let ids = |which: &[usize]| sorted(which.iter().map(|&i| tries[i].id.to_string()).collect());
    assert_eq!(list(AttemptFilter::default()).await, ids(&[0, 1, 2]), "both applications, in id order");
    let failed = AttemptFilter { status: Some(DeliveryStatus::Failed), ..AttemptFilter::default() };
    assert_eq!(list(failed).await, ids(&[0]), "by status");
    let typed = AttemptFilter { event_types: Some(vec!["b.y".into()]), ..AttemptFilter::default() };
    assert_eq!(list(typed).await, ids(&[1]), "by the message's event type");
    let by_ep = AttemptFilter { endpoint: Some(ep.id.clone()), ..AttemptFilter::default() };
    assert_eq!(list(by_ep).await, ids(&[0, 2]), "by endpoint");
    let on_ep = AttemptFilter { endpoint: Some(ep.id.clone()), ..AttemptFilter::default() };
    let one = PageQuery { limit: 1, ..after_mark.clone() };
    let first = store.list_all_attempts(&on_ep, &one).await.expect("list_all_attempts");
    assert_eq!((first.items.len(), first.done), (1, false), "a page of one, more beyond");
    let next = PageQuery { cursor: Some(Cursor::After(first.items[0].id.to_string())), ..one };
    let second = store.list_all_attempts(&on_ep, &next).await.expect("list_all_attempts");
    let both: Vec<String> = first.items.iter().chain(&second.items).map(|a| a.id.to_string()).collect();
    assert_eq!((both, second.done), (ids(&[0, 2]), true), "the next page ends it");
    store.delete_app(&app.id).await.expect("delete_app");
    store.delete_app(&other.id).await.expect("delete_app");
}
