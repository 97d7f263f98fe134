//! Deliveries an endpoint's filter or transformation skipped: settled as `Filtered`
//! with no attempt, never due again, counted apart in the endpoint's stats.

use super::health::delivery_of;
use super::*;
use crate::{AttemptFilter, MessageFilter, StoreError};

pub(super) async fn filtered_deliveries_settle_without_an_attempt(store: Shared) {
    const BASE: i64 = 120_000_000;
    let app = new_app(&store).await;
    let (skipped, sent) = (new_endpoint(&store, &app.id).await, new_endpoint(&store, &app.id).await);
    let msg = message(&app.id, BASE);
    send(&store, &msg, &[&skipped, &sent]).await;
    let claim =
        async |now: i64| mine(store.claim_due(ts(now), ts(now + 1_000), 1000).await.expect("claim"), &app.id);
    assert_eq!(claim(BASE).await.len(), 2);

    store.record_filtered(&msg.id, &skipped.id, ts(BASE + 10)).await.expect("record_filtered");
    let d = delivery_of(&store, &msg.id, &skipped).await;
    assert_eq!((d.status, d.attempts, d.next_attempt_at), (DeliveryStatus::Filtered, 0, None), "{d:?}");
    assert_eq!(d.updated_at, ts(BASE + 10));
    let pending = delivery_of(&store, &msg.id, &sent).await;
    assert_eq!(pending.status, DeliveryStatus::Pending, "the other endpoint's delivery is untouched");

    let due = claim(BASE + 1_000).await;
    let targets: Vec<&EndpointId> = due.iter().map(|d| &d.endpoint_id).collect();
    assert_eq!(targets, vec![&sent.id], "a filtered delivery is never due again; the lease was freed");
    let filter = AttemptFilter { endpoint: Some(skipped.id.clone()), ..AttemptFilter::default() };
    let attempts = store.list_attempts(&app.id, &filter, &PageQuery::first(10, Order::Descending)).await;
    assert!(attempts.expect("list_attempts").items.is_empty(), "no attempt is recorded");

    let stats = store.endpoint_stats(&skipped.id, None, None).await.expect("endpoint_stats");
    assert_eq!((stats.filtered, stats.success, stats.pending), (1, 0, 0), "{stats:?}");
    let listed = store
        .endpoint_messages(
            &skipped.id,
            &MessageFilter::default(),
            Some(DeliveryStatus::Filtered),
            &PageQuery::first(10, Order::Descending),
        )
        .await
        .expect("endpoint_messages");
    assert_eq!(listed.items.len(), 1, "filtered deliveries can be listed by status");

    let missing = store.record_filtered(&msg.id, &endpoint(&app.id).id, ts(BASE + 20)).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    store.delete_app(&app.id).await.expect("delete_app");
}
