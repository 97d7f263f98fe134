//! The delivery queue: leasing due rows, leases that expire, recording attempts,
//! resends, recovery and `next_due`. Each test lives in its own stretch of 1970
//! (`BASE`) and deletes its application at the end, so nothing it leaves is due for
//! the next one.

use super::*;

/// Claims at `now` for `lease` ms and keeps the rows of `app`.
async fn claim(store: &Shared, app: &AppId, now: i64, lease: i64) -> Vec<Delivery> {
    mine(store.claim_due(ts(now), ts(now + lease), 1000).await.expect("claim_due"), app)
}

/// The deliveries of a message, by endpoint id.
async fn destinations(store: &Shared, msg: &MessageId) -> Vec<Delivery> {
    let page = store.message_destinations(msg, &PageQuery::first(100, Order::Ascending)).await;
    page.expect("message_destinations").items.into_iter().map(|(d, _)| d).collect()
}

pub(super) async fn claim_leases_due_rows(store: Shared) {
    const BASE: i64 = 10_000_000;
    let app = new_app(&store).await;
    let (e1, e2) = (new_endpoint(&store, &app.id).await, new_endpoint(&store, &app.id).await);
    let msg = message(&app.id, BASE);
    send(&store, &msg, &[&e1, &e2]).await;

    assert!(claim(&store, &app.id, BASE - 1, 30_000).await.is_empty(), "nothing is due before its time");
    let claimed = claim(&store, &app.id, BASE, 30_000).await;
    assert_eq!(claimed.len(), 2, "both deliveries are due at the message's creation");
    assert!(claimed.iter().all(|d| d.status == DeliveryStatus::Pending && d.msg_id == msg.id), "{claimed:?}");
    assert!(claim(&store, &app.id, BASE + 1, 30_000).await.is_empty(), "a leased row is not claimed twice");
    assert!(claim(&store, &app.id, BASE + 29_999, 30_000).await.is_empty(), "the lease holds until it ends");
    let reclaimed = claim(&store, &app.id, BASE + 30_000, 30_000).await;
    assert_eq!(reclaimed.len(), 2, "an expired lease makes the rows claimable again");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn released_leases_are_claimable_at_once(store: Shared) {
    const BASE: i64 = 15_000_000;
    let app = new_app(&store).await;
    let (e1, e2) = (new_endpoint(&store, &app.id).await, new_endpoint(&store, &app.id).await);
    let msg = message(&app.id, BASE);
    send(&store, &msg, &[&e1, &e2]).await;
    assert_eq!(claim(&store, &app.id, BASE, 30_000).await.len(), 2);
    let key = (msg.id.clone(), e1.id.clone());
    store.release_leases(std::slice::from_ref(&key)).await.expect("release_leases");
    store.release_leases(&[]).await.expect("releasing nothing is fine");
    let again = claim(&store, &app.id, BASE + 1, 30_000).await;
    assert_eq!(again.len(), 1, "only the released delivery is claimable before its lease ends");
    assert_eq!((&again[0].msg_id, &again[0].endpoint_id), (&key.0, &key.1));
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn claim_oldest_first_within_limit(store: Shared) {
    const BASE: i64 = 20_000_000;
    let app = new_app(&store).await;
    let ep = new_endpoint(&store, &app.id).await;
    let msgs = [message(&app.id, BASE + 3), message(&app.id, BASE + 1), message(&app.id, BASE + 2)];
    for m in &msgs {
        send(&store, m, &[&ep]).await;
    }
    let first = store.claim_due(ts(BASE + 10), ts(BASE + 1_000), 2).await.expect("claim_due");
    assert!(first.len() <= 2, "claim_due returned {} rows for a limit of 2", first.len());
    let first = mine(first, &app.id);
    let due: Vec<Option<Timestamp>> = first.iter().map(|d| d.next_attempt_at).collect();
    assert_eq!(due, vec![Some(ts(BASE + 1)), Some(ts(BASE + 2))], "the two oldest due, oldest first");
    let rest = mine(store.claim_due(ts(BASE + 10), ts(BASE + 1_000), 2).await.expect("claim_due"), &app.id);
    assert_eq!(rest.iter().map(|d| &d.msg_id).collect::<Vec<_>>(), vec![&msgs[0].id], "then the last one");
    assert!(claim(&store, &app.id, BASE + 10, 1_000).await.is_empty(), "then nothing");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn create_message_already_leased(store: Shared) {
    const BASE: i64 = 30_000_000;
    let app = new_app(&store).await;
    let ep = new_endpoint(&store, &app.id).await;
    let msg = message(&app.id, BASE);
    let created = store
        .create_message(&msg, std::slice::from_ref(&ep.id), Some(ts(BASE + 5_000)))
        .await
        .expect("create_message");
    assert_eq!(created.len(), 1);
    assert_eq!((created[0].status, created[0].next_attempt_at), (DeliveryStatus::Pending, Some(ts(BASE))));
    assert!(claim(&store, &app.id, BASE, 1_000).await.is_empty(), "created leased: not claimable");
    assert!(claim(&store, &app.id, BASE + 4_999, 1_000).await.is_empty(), "not before the lease ends");
    assert_eq!(store.next_due().await.expect("next_due"), Some(ts(BASE)), "next_due counts leased rows");
    let claimed = claim(&store, &app.id, BASE + 5_000, 1_000).await;
    assert_eq!(claimed.len(), 1, "claimable once the creator's lease expired");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn record_attempt_updates_delivery(store: Shared) {
    const BASE: i64 = 40_000_000;
    let (app, other) = (new_app(&store).await, new_app(&store).await);
    let (ok_ep, bad_ep) = (new_endpoint(&store, &app.id).await, new_endpoint(&store, &app.id).await);
    let msg = message(&app.id, BASE);
    send(&store, &msg, &[&ok_ep, &bad_ep]).await;
    assert_eq!(claim(&store, &app.id, BASE, 60_000).await.len(), 2);

    let success = attempt(&msg.id, &ok_ep, DeliveryStatus::Success, 200, BASE + 100);
    record(&store, &success, DeliveryStatus::Success, None).await;
    let failure = attempt(&msg.id, &bad_ep, DeliveryStatus::Failed, 500, BASE + 100);
    record(&store, &failure, DeliveryStatus::Pending, Some(BASE + 5_000)).await;
    let state = destinations(&store, &msg.id).await;
    let of = |ep: &Endpoint| state.iter().find(|d| d.endpoint_id == ep.id).cloned().expect("delivery");
    let ok = of(&ok_ep);
    assert_eq!((ok.status, ok.attempts, ok.next_attempt_at), (DeliveryStatus::Success, 1, None), "{ok:?}");
    assert_eq!(ok.updated_at, ts(BASE + 100), "updated when the attempt was made");
    let bad = of(&bad_ep);
    assert_eq!((bad.status, bad.attempts), (DeliveryStatus::Pending, 1), "{bad:?}");
    assert_eq!((bad.next_attempt_at, bad.next_trigger), (Some(ts(BASE + 5_000)), Trigger::Scheduled));

    assert!(claim(&store, &app.id, BASE + 4_999, 1_000).await.is_empty(), "the retry is not due yet");
    let retry = claim(&store, &app.id, BASE + 5_000, 1_000).await;
    let retry_targets: Vec<&EndpointId> = retry.iter().map(|d| &d.endpoint_id).collect();
    assert_eq!(retry_targets, vec![&bad_ep.id], "recording released the old lease; only the retry is due");
    let last = attempt(&msg.id, &bad_ep, DeliveryStatus::Failed, 502, BASE + 5_100);
    record(&store, &last, DeliveryStatus::Failed, None).await;
    let bad = destinations(&store, &msg.id)
        .await
        .into_iter()
        .find(|d| d.endpoint_id == bad_ep.id)
        .expect("delivery");
    assert_eq!((bad.status, bad.attempts, bad.next_attempt_at), (DeliveryStatus::Failed, 2, None), "{bad:?}");
    assert!(claim(&store, &app.id, BASE + 10_000_000, 1_000).await.is_empty(), "settled rows are never due");

    assert_eq!(
        store.get_attempt(&app.id, success.id.as_str()).await.expect("get_attempt"),
        Some(success.clone())
    );
    assert_eq!(
        store.get_attempt(&other.id, success.id.as_str()).await.expect("get_attempt"),
        None,
        "wrong app"
    );
    let stray_ep = endpoint(&app.id);
    let stray = attempt(&msg.id, &stray_ep, DeliveryStatus::Success, 200, BASE + 200);
    let update = DeliveryUpdate { status: DeliveryStatus::Success, next_attempt_at: None };
    let err = store.record_attempt(&stray, &update).await.expect_err("recording for a missing delivery");
    assert!(matches!(err, crate::StoreError::NotFound), "{err:?}");
    assert_eq!(
        store.get_attempt(&app.id, stray.id.as_str()).await.expect("get_attempt"),
        None,
        "nothing written"
    );
    for id in [&app.id, &other.id] {
        store.delete_app(id).await.expect("delete_app");
    }
}

pub(super) async fn schedule_resend_existing_and_new(store: Shared) {
    const BASE: i64 = 50_000_000;
    let app = new_app(&store).await;
    let (sent, never) = (new_endpoint(&store, &app.id).await, new_endpoint(&store, &app.id).await);
    let msg = message(&app.id, BASE);
    send(&store, &msg, &[&sent]).await;
    claim(&store, &app.id, BASE, 1_000).await;
    record(
        &store,
        &attempt(&msg.id, &sent, DeliveryStatus::Success, 200, BASE + 1),
        DeliveryStatus::Success,
        None,
    )
    .await;

    let now = BASE + 1_000;
    let again = store.schedule_resend(&msg, &sent.id, ts(now)).await.expect("schedule_resend");
    assert_eq!((again.status, again.next_attempt_at), (DeliveryStatus::Pending, Some(ts(now))), "{again:?}");
    assert_eq!(
        (again.next_trigger, again.attempts, again.updated_at),
        (Trigger::Manual, 1, ts(now)),
        "{again:?}"
    );
    let fresh = store.schedule_resend(&msg, &never.id, ts(now)).await.expect("schedule_resend");
    assert_eq!((&fresh.msg_id, &fresh.endpoint_id, &fresh.app_id), (&msg.id, &never.id, &app.id));
    assert_eq!(
        (fresh.status, fresh.attempts, fresh.next_trigger),
        (DeliveryStatus::Pending, 0, Trigger::Manual)
    );
    assert_eq!((fresh.next_attempt_at, fresh.created_at), (Some(ts(now)), ts(now)), "{fresh:?}");
    assert_eq!(destinations(&store, &msg.id).await.len(), 2, "the new destination is listed");

    assert!(claim(&store, &app.id, now - 1, 1_000).await.is_empty(), "due at `now`, not before");
    let claimed = claim(&store, &app.id, now, 1_000).await;
    assert_eq!(claimed.len(), 2, "both resends are due");
    assert!(claimed.iter().all(|d| d.next_trigger == Trigger::Manual), "{claimed:?}");
    let mut manual = attempt(&msg.id, &sent, DeliveryStatus::Success, 200, now + 1);
    manual.trigger = Trigger::Manual;
    record(&store, &manual, DeliveryStatus::Success, None).await;
    let after =
        destinations(&store, &msg.id).await.into_iter().find(|d| d.endpoint_id == sent.id).expect("delivery");
    assert_eq!(
        (after.attempts, after.next_trigger),
        (2, Trigger::Scheduled),
        "an attempt resets the trigger"
    );
    let stored = store.get_attempt(&app.id, manual.id.as_str()).await.expect("get_attempt").expect("attempt");
    assert_eq!(stored.trigger, Trigger::Manual, "the attempt keeps its own trigger");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn recover_failed_counts(store: Shared) {
    const BASE: i64 = 60_000_000;
    let app = new_app(&store).await;
    let (ep, other) = (new_endpoint(&store, &app.id).await, new_endpoint(&store, &app.id).await);
    let msgs = [message(&app.id, BASE + 1), message(&app.id, BASE + 2), message(&app.id, BASE + 3)];
    for m in &msgs {
        send(&store, m, &[&ep, &other]).await;
        for target in [&ep, &other] {
            record(
                &store,
                &attempt(&m.id, target, DeliveryStatus::Failed, 500, BASE + 5),
                DeliveryStatus::Failed,
                None,
            )
            .await;
        }
    }
    let now = ts(BASE + 100);
    let recover = async |since: i64, until: Option<i64>| {
        store.recover_failed(&ep.id, ts(since), until.map(ts), now).await.expect("recover_failed")
    };
    assert_eq!(recover(BASE + 2, Some(BASE + 3)).await, 1, "[since, until) holds the second message only");
    assert_eq!(recover(BASE + 1, None).await, 2, "no end: the first and third (the second is pending now)");
    assert_eq!(recover(BASE + 1, None).await, 0, "nothing failed is left");
    let stats = store.endpoint_stats(&other.id, None, None).await.expect("endpoint_stats");
    assert_eq!((stats.failed, stats.pending), (3, 0), "the other endpoint is untouched");

    let claimed = claim(&store, &app.id, BASE + 100, 1_000).await;
    assert_eq!(claimed.len(), 3, "all three recovered deliveries are due at `now`");
    assert!(
        claimed.iter().all(|d| d.endpoint_id == ep.id && d.status == DeliveryStatus::Pending),
        "{claimed:?}"
    );
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn next_due_is_earliest_pending(store: Shared) {
    const BASE: i64 = 70_000_000;
    let app = new_app(&store).await;
    let ep = new_endpoint(&store, &app.id).await;
    let (early, late) = (message(&app.id, BASE + 500), message(&app.id, BASE + 900));
    send(&store, &late, &[&ep]).await;
    send(&store, &early, &[&ep]).await;
    assert_eq!(store.next_due().await.expect("next_due"), Some(ts(BASE + 500)), "the earliest pending row");
    let claimed = claim(&store, &app.id, BASE + 500, 10_000).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(store.next_due().await.expect("next_due"), Some(ts(BASE + 500)), "leased rows still count");
    record(
        &store,
        &attempt(&early.id, &ep, DeliveryStatus::Success, 200, BASE + 600),
        DeliveryStatus::Success,
        None,
    )
    .await;
    assert_eq!(store.next_due().await.expect("next_due"), Some(ts(BASE + 900)), "settled rows do not");
    store.delete_app(&app.id).await.expect("delete_app");
}
