//! Endpoint health and flow control: `failing_since` recorded on transitions (the
//! earliest mark wins), disabling with a reason that fails the pending deliveries,
//! re-enabling that starts afresh, and postponing deliveries without an attempt.

use super::*;
use crate::StoreError;

/// The state of `ep`'s delivery of `msg`.
pub(super) async fn delivery_of(store: &Shared, msg: &MessageId, ep: &Endpoint) -> Delivery {
    let page = store.message_destinations(msg, &PageQuery::first(100, Order::Ascending)).await;
    let found = page.expect("message_destinations").items.into_iter().map(|(d, _)| d);
    found.into_iter().find(|d| d.endpoint_id == ep.id).expect("the endpoint's delivery")
}

async fn reread(store: &Shared, ep: &Endpoint) -> Endpoint {
    let found = store.get_endpoint(&ep.app_id, ep.id.as_str()).await.expect("get_endpoint");
    found.expect("the endpoint exists")
}

pub(super) async fn endpoint_failing_since_keeps_the_earliest_mark(store: Shared) {
    let app = new_app(&store).await;
    let ep = new_endpoint(&store, &app.id).await;
    let mark = async |since: Option<i64>| {
        store.set_endpoint_failing(&ep.id, since.map(ts)).await.expect("set_endpoint_failing")
    };
    assert_eq!(mark(Some(T + 10)).await, Some(ts(T + 10)), "the first failure is recorded");
    assert_eq!(mark(Some(T + 20)).await, Some(ts(T + 10)), "a later mark keeps the earlier time");
    let failing = reread(&store, &ep).await;
    assert_eq!(failing.failing_since, Some(ts(T + 10)), "read back with the endpoint");
    assert_eq!(failing.updated_at, ep.updated_at, "health is not an update of the endpoint");
    assert_eq!(mark(None).await, None, "a success clears it");
    assert_eq!(reread(&store, &ep).await.failing_since, None);
    assert_eq!(mark(Some(T + 30)).await, Some(ts(T + 30)), "failing again starts a new stretch");

    let missing = store.set_endpoint_failing(&EndpointId::generate(), Some(ts(T))).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn disabling_an_endpoint_fails_its_pending_deliveries(store: Shared) {
    const BASE: i64 = 100_000_000;
    let app = new_app(&store).await;
    let (gone, other) = (new_endpoint(&store, &app.id).await, new_endpoint(&store, &app.id).await);
    let (done, waiting) = (message(&app.id, BASE), message(&app.id, BASE + 1));
    send(&store, &done, &[&gone]).await;
    record(
        &store,
        &attempt(&done.id, &gone, DeliveryStatus::Success, 200, BASE + 2),
        DeliveryStatus::Success,
        None,
    )
    .await;
    send(&store, &waiting, &[&gone, &other]).await;

    let disabled = store.disable_endpoint(&gone.id, Some("answered 410"), ts(BASE + 5)).await;
    assert!(disabled.expect("disable_endpoint"), "it was enabled: this call disabled it");
    let after = reread(&store, &gone).await;
    assert!(after.disabled);
    assert_eq!(after.disabled_reason.as_deref(), Some("answered 410"));
    assert_eq!(after.updated_at, ts(BASE + 5));
    let failed = delivery_of(&store, &waiting.id, &gone).await;
    assert_eq!((failed.status, failed.next_attempt_at, failed.attempts), (DeliveryStatus::Failed, None, 0));
    assert_eq!(
        delivery_of(&store, &done.id, &gone).await.status,
        DeliveryStatus::Success,
        "settled ones stay"
    );
    assert_eq!(delivery_of(&store, &waiting.id, &other).await.status, DeliveryStatus::Pending);
    let claimed =
        mine(store.claim_due(ts(BASE + 10), ts(BASE + 20), 1000).await.expect("claim_due"), &app.id);
    assert_eq!(
        claimed.iter().map(|d| &d.endpoint_id).collect::<Vec<_>>(),
        vec![&other.id],
        "nothing of it is due"
    );

    let again = store.disable_endpoint(&gone.id, Some("other reason"), ts(BASE + 6)).await;
    assert!(!again.expect("disable_endpoint"), "already disabled");
    let kept = reread(&store, &gone).await;
    assert_eq!((kept.disabled_reason.as_deref(), kept.updated_at), (Some("answered 410"), ts(BASE + 5)));

    let missing = store.disable_endpoint(&EndpointId::generate(), None, ts(BASE)).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn a_disabled_endpoint_fails_later_deliveries_too(store: Shared) {
    const BASE: i64 = 105_000_000;
    let app = new_app(&store).await;
    let ep = new_endpoint(&store, &app.id).await;
    let mut off = ep.clone();
    off.disabled = true;
    store.update_endpoint(&off).await.expect("disabled through the API");
    let msg = message(&app.id, BASE);
    send(&store, &msg, &[&ep]).await;
    let changed = store.disable_endpoint(&ep.id, None, ts(BASE + 1)).await.expect("disable_endpoint");
    assert!(!changed, "it was disabled already");
    assert_eq!(
        delivery_of(&store, &msg.id, &ep).await.status,
        DeliveryStatus::Failed,
        "its pending rows fail"
    );
    assert_eq!(reread(&store, &ep).await.disabled_reason, None, "no reason when none is given");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn updates_keep_health_and_re_enabling_clears_it(store: Shared) {
    let app = new_app(&store).await;
    let ep = new_endpoint(&store, &app.id).await;
    store.set_endpoint_failing(&ep.id, Some(ts(T + 1))).await.expect("set_endpoint_failing");
    let mut edited = ep.clone();
    edited.description = "edited".into();
    edited.failing_since = None;
    edited.disabled_reason = Some("ignored".into());
    store.update_endpoint(&edited).await.expect("update_endpoint");
    let after = reread(&store, &edited).await;
    assert_eq!(after.description, "edited");
    assert_eq!(
        (after.failing_since, after.disabled_reason),
        (Some(ts(T + 1)), None),
        "health is not replaced"
    );

    store.disable_endpoint(&ep.id, Some("failing for 5d"), ts(T + 2)).await.expect("disable_endpoint");
    let mut enabled = reread(&store, &ep).await;
    enabled.disabled = false;
    store.update_endpoint(&enabled).await.expect("re-enable");
    let fresh = reread(&store, &ep).await;
    assert!(!fresh.disabled);
    assert_eq!((fresh.failing_since, fresh.disabled_reason), (None, None), "re-enabled: it starts afresh");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn postponed_deliveries_are_due_later_without_an_attempt(store: Shared) {
    const BASE: i64 = 110_000_000;
    let app = new_app(&store).await;
    let (slow, fast) = (new_endpoint(&store, &app.id).await, new_endpoint(&store, &app.id).await);
    let (msg, done) = (message(&app.id, BASE), message(&app.id, BASE));
    send(&store, &msg, &[&slow, &fast]).await;
    send(&store, &done, &[&slow]).await;
    assert_eq!(
        mine(store.claim_due(ts(BASE), ts(BASE + 60_000), 1000).await.expect("claim"), &app.id).len(),
        3
    );
    record(
        &store,
        &attempt(&done.id, &slow, DeliveryStatus::Success, 200, BASE + 1),
        DeliveryStatus::Success,
        None,
    )
    .await;

    let later =
        [(msg.id.clone(), slow.id.clone(), ts(BASE + 1_000)), (done.id.clone(), slow.id.clone(), ts(BASE))];
    store.postpone(&later).await.expect("postpone");
    store.postpone(&[]).await.expect("postponing nothing is fine");
    let moved = delivery_of(&store, &msg.id, &slow).await;
    assert_eq!((moved.status, moved.attempts), (DeliveryStatus::Pending, 0), "no attempt is counted");
    assert_eq!(moved.next_attempt_at, Some(ts(BASE + 1_000)));
    assert_eq!(
        delivery_of(&store, &done.id, &slow).await.status,
        DeliveryStatus::Success,
        "settled ones stay"
    );
    let claim = async |now: i64| {
        mine(store.claim_due(ts(now), ts(now + 60_000), 1000).await.expect("claim"), &app.id)
    };
    assert!(claim(BASE + 999).await.is_empty(), "not due before its new time (the other keeps its lease)");
    let due = claim(BASE + 1_000).await;
    assert_eq!(
        due.iter().map(|d| &d.endpoint_id).collect::<Vec<_>>(),
        vec![&slow.id],
        "then due, lease freed"
    );
    store.delete_app(&app.id).await.expect("delete_app");
}
