//! Endpoints: CRUD scoped to an application, uid look-ups and conflicts, secrets
//! kept exactly (rotated keys included), transformations and filters kept, listing, and deletion with its deliveries
//! and attempts.

use std::time::Duration;

use herald_core::{DeliveryStatus, TransformKind, Transformation};

use super::*;
use crate::{AttemptFilter, StoreError};

fn rich_endpoint(app: &AppId) -> Endpoint {
    let mut ep = endpoint(app);
    ep.uid = Some(unique("ep-uid"));
    ep.description = "Orders service".into();
    ep.event_types = Some(vec!["order.paid".into(), "order.refunded".into()]);
    ep.channels = Some(vec!["eu".into()]);
    ep.throttle_rate = Some(10);
    ep.metadata.insert("owner".into(), "ops".into());
    ep.headers.insert("X-Api-Key".into(), "secret".into());
    ep.secrets.rotate(SigningKey::generate_ed25519(), ts(T), Duration::from_secs(3600));
    ep.transformation = Some(Transformation {
        kind: TransformKind::Template,
        code: "{\"text\": {{ payload.name | tojson }}}\n".into(),
        enabled: true,
    });
    ep.filter = Some(serde_json::json!({"amount": {"$gte": 10}, "currency": "EUR"}));
    ep
}

pub(super) async fn endpoints_crud_and_uid_lookup(store: Shared) {
    let (app, other) = (new_app(&store).await, new_app(&store).await);
    let ep = rich_endpoint(&app.id);
    store.create_endpoint(&ep).await.expect("create_endpoint");
    let uid = ep.uid.clone().expect("uid");
    let get = async |app: &AppId, key: &str| store.get_endpoint(app, key).await.expect("get_endpoint");
    assert_eq!(get(&app.id, ep.id.as_str()).await, Some(ep.clone()), "get_endpoint by id, secrets included");
    assert_eq!(get(&app.id, &uid).await, Some(ep.clone()), "get_endpoint by uid");
    assert_eq!(get(&other.id, ep.id.as_str()).await, None, "another application's endpoint by id");
    assert_eq!(get(&other.id, &uid).await, None, "another application's endpoint by uid");

    let mut changed = ep.clone();
    changed.uid = Some(unique("ep-uid"));
    changed.url = "https://example.org/other".into();
    changed.disabled = true;
    (changed.event_types, changed.channels) = (None, None);
    changed.headers.clear();
    changed.transformation = Some(Transformation {
        kind: TransformKind::Javascript,
        code: "function handler(w) { return w; }".into(),
        enabled: false,
    });
    changed.filter = None;
    changed.secrets.rotate(SigningKey::generate_symmetric(), ts(T + 1), Duration::from_secs(60));
    changed.updated_at = ts(T + 2);
    changed.created_at = ts(3);
    store.update_endpoint(&changed).await.expect("update_endpoint");
    changed.created_at = ep.created_at;
    let updated = get(&app.id, ep.id.as_str()).await;
    assert_eq!(updated, Some(changed.clone()), "update replaces all but created_at");
    assert_eq!(get(&app.id, &uid).await, None, "the old uid no longer resolves");
    let moved = Endpoint { app_id: other.id.clone(), ..changed.clone() };
    let wrong_app = store.update_endpoint(&moved).await;
    assert!(matches!(wrong_app, Err(StoreError::NotFound)), "update in the wrong app: {wrong_app:?}");

    let wrong_app = store.delete_endpoint(&other.id, &ep.id).await;
    assert!(matches!(wrong_app, Err(StoreError::NotFound)), "delete in the wrong app: {wrong_app:?}");
    store.delete_endpoint(&app.id, &ep.id).await.expect("delete_endpoint");
    assert_eq!(get(&app.id, ep.id.as_str()).await, None, "deleted endpoint");
    let twice = store.delete_endpoint(&app.id, &ep.id).await;
    assert!(matches!(twice, Err(StoreError::NotFound)), "delete twice: {twice:?}");
    for id in [&app.id, &other.id] {
        store.delete_app(id).await.expect("delete_app");
    }
}

pub(super) async fn endpoint_uid_conflicts(store: Shared) {
    let (app, other) = (new_app(&store).await, new_app(&store).await);
    let holder = rich_endpoint(&app.id);
    store.create_endpoint(&holder).await.expect("create_endpoint");
    let uid = holder.uid.clone();

    let twin = Endpoint { uid: uid.clone(), ..endpoint(&app.id) };
    let refused = store.create_endpoint(&twin).await;
    assert!(matches!(refused, Err(StoreError::Conflict("endpoint uid"))), "create: {refused:?}");
    let elsewhere = Endpoint { app_id: other.id.clone(), ..twin };
    store.create_endpoint(&elsewhere).await.expect("the same uid in another application");
    for _ in 0..2 {
        store.create_endpoint(&endpoint(&app.id)).await.expect("endpoints without uid never clash");
    }

    let plain = new_endpoint(&store, &app.id).await;
    let stolen = Endpoint { uid: uid.clone(), ..plain.clone() };
    let refused = store.update_endpoint(&stolen).await;
    assert!(matches!(refused, Err(StoreError::Conflict("endpoint uid"))), "update: {refused:?}");
    let kept = store.get_endpoint(&app.id, plain.id.as_str()).await.expect("get_endpoint");
    assert_eq!(kept, Some(plain), "a refused update changes nothing");
    for id in [&app.id, &other.id] {
        store.delete_app(id).await.expect("delete_app");
    }
}

pub(super) async fn endpoints_listing(store: Shared) {
    let app = new_app(&store).await;
    let mut created = Vec::new();
    for i in 0..5 {
        let mut ep = endpoint(&app.id);
        ep.disabled = i == 2;
        store.create_endpoint(&ep).await.expect("create_endpoint");
        created.push(ep);
    }
    let ids = sorted(created.iter().map(|e| e.id.to_string()).collect());
    check_paging("list_endpoints", &ids, async |q: PageQuery| {
        keys(store.list_endpoints(&app.id, &q).await.expect("list_endpoints"), |e| e.id.to_string())
    })
    .await;

    let all = store.all_endpoints(&app.id).await.expect("all_endpoints");
    assert_eq!(
        sorted(all.iter().map(|e| e.id.to_string()).collect()),
        ids,
        "all_endpoints includes disabled ones"
    );
    assert!(all.iter().any(|e| e.disabled), "the disabled endpoint is returned as disabled");

    let wanted = [created[0].id.clone(), created[3].id.clone(), EndpointId::generate()];
    let found = store.endpoints_by_id(&wanted).await.expect("endpoints_by_id");
    let mut expected = vec![created[0].clone(), created[3].clone()];
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    let mut found_sorted = found;
    found_sorted.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(found_sorted, expected, "endpoints_by_id skips missing ids");
    assert!(store.endpoints_by_id(&[]).await.expect("endpoints_by_id").is_empty(), "no ids, no endpoints");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn delete_endpoint_cascades(store: Shared) {
    const BASE: i64 = 90_000_000;
    let app = new_app(&store).await;
    let (e1, e2) = (new_endpoint(&store, &app.id).await, new_endpoint(&store, &app.id).await);
    let msg = message(&app.id, BASE);
    send(&store, &msg, &[&e1, &e2]).await;
    for ep in [&e1, &e2] {
        let tried = attempt(&msg.id, ep, DeliveryStatus::Failed, 503, BASE + 1);
        record(&store, &tried, DeliveryStatus::Pending, Some(BASE + 10)).await;
    }

    store.delete_endpoint(&app.id, &e1.id).await.expect("delete_endpoint");
    let destinations = store.message_destinations(&msg.id, &PageQuery::first(10, Order::Ascending)).await;
    let left: Vec<EndpointId> =
        destinations.expect("message_destinations").items.into_iter().map(|(d, _)| d.endpoint_id).collect();
    assert_eq!(left, vec![e2.id.clone()], "only the other endpoint's delivery remains");
    let page = PageQuery::first(10, Order::Descending);
    let by_endpoint = AttemptFilter { endpoint: Some(e1.id.clone()), ..Default::default() };
    assert!(
        store.list_attempts(&app.id, &by_endpoint, &page).await.expect("list").items.is_empty(),
        "attempts gone"
    );
    let by_msg = AttemptFilter { msg: Some(msg.id.clone()), ..Default::default() };
    let left = store.list_attempts(&app.id, &by_msg, &page).await.expect("list_attempts").items;
    assert!(
        left.iter().all(|a| a.endpoint_id == e2.id) && left.len() == 1,
        "the other endpoint's attempt remains"
    );
    let claimed =
        mine(store.claim_due(ts(BASE + 10), ts(BASE + 20), 1000).await.expect("claim_due"), &app.id);
    assert_eq!(claimed.len(), 1, "only the remaining endpoint's delivery is claimable");
    assert_eq!(claimed[0].endpoint_id, e2.id);
    store.delete_app(&app.id).await.expect("delete_app");
}
