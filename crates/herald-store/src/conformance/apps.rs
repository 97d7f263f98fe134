//! Applications and event types: CRUD, uid look-ups and conflicts, paging, and
//! deleting an application with everything it owns.

use herald_core::{DeliveryStatus, EventType};

use super::*;
use crate::{AttemptFilter, StoreError};

pub(super) async fn apps_crud_and_uid_lookup(store: Shared) {
    let mut app = app();
    app.uid = Some(unique("uid"));
    app.metadata.insert("team".into(), "billing".into());
    app.throttle_rate = Some(50);
    store.create_app(&app).await.expect("create_app");
    let uid = app.uid.clone().expect("uid");
    assert_eq!(store.get_app(app.id.as_str()).await.expect("get_app"), Some(app.clone()), "get_app by id");
    assert_eq!(store.get_app(&uid).await.expect("get_app"), Some(app.clone()), "get_app by uid");
    assert_eq!(store.get_app(&AppId::generate().into_string()).await.expect("get_app"), None, "unknown id");

    let mut changed = app.clone();
    changed.uid = Some(unique("uid"));
    changed.name = "Renamed".into();
    changed.metadata.clear();
    changed.throttle_rate = None;
    changed.updated_at = ts(T + 1_000);
    changed.created_at = ts(1);
    store.update_app(&changed).await.expect("update_app");
    changed.created_at = app.created_at;
    let new_uid = changed.uid.clone().expect("uid");
    assert_eq!(
        store.get_app(&new_uid).await.expect("get_app"),
        Some(changed.clone()),
        "update keeps created_at"
    );
    assert_eq!(store.get_app(&uid).await.expect("get_app"), None, "the old uid no longer resolves");

    let ghost = super::app();
    assert!(
        matches!(store.update_app(&ghost).await, Err(StoreError::NotFound)),
        "update_app of a missing app"
    );
    store.delete_app(&app.id).await.expect("delete_app");
    assert_eq!(store.get_app(app.id.as_str()).await.expect("get_app"), None, "deleted app");
    assert!(matches!(store.delete_app(&app.id).await, Err(StoreError::NotFound)), "delete_app twice");
}

pub(super) async fn app_uid_conflicts(store: Shared) {
    let uid = unique("uid");
    let mut first = app();
    first.uid = Some(uid.clone());
    store.create_app(&first).await.expect("create_app");
    let mut second = app();
    second.uid = Some(uid.clone());
    let err = store.create_app(&second).await.expect_err("a taken uid must conflict");
    assert!(matches!(err, StoreError::Conflict("application uid")), "create: {err:?}");
    assert_eq!(store.get_app(second.id.as_str()).await.expect("get_app"), None, "conflicting app not stored");

    // Applications without a uid never collide.
    let (a, b) = (new_app(&store).await, new_app(&store).await);
    let mut renamed = b.clone();
    renamed.uid = Some(uid.clone());
    let err = store.update_app(&renamed).await.expect_err("updating to a taken uid must conflict");
    assert!(matches!(err, StoreError::Conflict("application uid")), "update: {err:?}");
    assert_eq!(
        store.get_app(b.id.as_str()).await.expect("get_app"),
        Some(b.clone()),
        "failed update left it"
    );
    assert_eq!(store.get_app(&uid).await.expect("get_app").map(|x| x.id), Some(first.id.clone()));
    for id in [&first.id, &a.id, &b.id] {
        store.delete_app(id).await.expect("delete_app");
    }
}

pub(super) async fn apps_pagination(store: Shared) {
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(new_app(&store).await.id.into_string());
    }
    let all = store.list_apps(&PageQuery::first(100_000, Order::Ascending)).await.expect("list_apps");
    let all: Vec<String> = all.items.into_iter().map(|a| a.id.into_string()).collect();
    assert_eq!(all, sorted(all.clone()), "list_apps is in id order");
    assert!(created.iter().all(|id| all.contains(id)), "list_apps lists every application");
    check_paging("list_apps", &all, async |q: PageQuery| {
        keys(store.list_apps(&q).await.expect("list_apps"), |a| a.id.to_string())
    })
    .await;
    for id in created {
        store.delete_app(&AppId::from_trusted(id)).await.expect("delete_app");
    }
}

fn event_type(name: String, archived: bool) -> EventType {
    EventType {
        name,
        description: "A conformance event".into(),
        archived,
        deprecated: false,
        feature_flag: Some("beta".into()),
        schemas: Some(serde_json::json!({"1": {"type": "object"}})),
        created_at: ts(T),
        updated_at: ts(T),
    }
}

pub(super) async fn event_types_crud_and_listing(store: Shared) {
    let prefix = unique("conformance");
    let [a, b, c, d] = ["a", "b", "c", "d"].map(|s| event_type(format!("{prefix}.{s}"), s == "c"));
    for et in [&a, &b, &c, &d] {
        store.create_event_type(et).await.expect("create_event_type");
    }
    assert_eq!(store.get_event_type(&a.name).await.expect("get"), Some(a.clone()), "get_event_type");
    assert_eq!(store.get_event_type(&format!("{prefix}.zz")).await.expect("get"), None, "unknown name");
    for taken in [&a, &c] {
        let err = store.create_event_type(taken).await.expect_err("an existing name must conflict");
        assert!(matches!(err, StoreError::Conflict("event type")), "{err:?} (archived: {})", taken.archived);
    }

    let names = async |archived| -> Vec<String> {
        let page = store.list_event_types(&PageQuery::first(100_000, Order::Ascending), archived).await;
        page.expect("list_event_types")
            .items
            .into_iter()
            .map(|e| e.name)
            .filter(|n| n.starts_with(&prefix))
            .collect()
    };
    assert_eq!(names(true).await, vec![a.name.clone(), b.name.clone(), c.name.clone(), d.name.clone()]);
    assert_eq!(names(false).await, vec![a.name.clone(), b.name.clone(), d.name.clone()], "archived hidden");
    let all =
        store.list_event_types(&PageQuery::first(100_000, Order::Ascending), false).await.expect("list");
    let all: Vec<String> = all.items.into_iter().map(|e| e.name).collect();
    check_paging("list_event_types", &all, async |q: PageQuery| {
        keys(store.list_event_types(&q, false).await.expect("list_event_types"), |e| e.name.clone())
    })
    .await;

    let mut archived = b.clone();
    archived.archived = true;
    archived.description = "Retired".into();
    archived.schemas = None;
    archived.updated_at = ts(T + 5);
    archived.created_at = ts(7);
    store.update_event_type(&archived).await.expect("update_event_type");
    archived.created_at = b.created_at;
    assert_eq!(store.get_event_type(&b.name).await.expect("get"), Some(archived), "update keeps created_at");
    let ghost = event_type(format!("{prefix}.ghost"), false);
    assert!(matches!(store.update_event_type(&ghost).await, Err(StoreError::NotFound)), "update missing");

    for et in [&a, &b, &c, &d] {
        store.delete_event_type(&et.name).await.expect("delete_event_type");
    }
    assert_eq!(store.get_event_type(&a.name).await.expect("get"), None, "deleted event type");
    assert!(matches!(store.delete_event_type(&a.name).await, Err(StoreError::NotFound)), "delete twice");
}

pub(super) async fn delete_app_cascades(store: Shared) {
    const BASE: i64 = 80_000_000;
    let (doomed, kept) = (new_app(&store).await, new_app(&store).await);
    let (e1, e2) = (new_endpoint(&store, &doomed.id).await, new_endpoint(&store, &doomed.id).await);
    let msg = message(&doomed.id, BASE);
    send(&store, &msg, &[&e1, &e2]).await;
    let tried = attempt(&msg.id, &e1, DeliveryStatus::Failed, 500, BASE + 1);
    record(&store, &tried, DeliveryStatus::Pending, Some(BASE + 10)).await;
    let token = unique("token");
    store.create_app_token(&token, &doomed.id, ts(FAR)).await.expect("create_app_token");
    let kept_ep = new_endpoint(&store, &kept.id).await;
    let kept_msg = message(&kept.id, BASE);
    send(&store, &kept_msg, &[&kept_ep]).await;

    store.delete_app(&doomed.id).await.expect("delete_app");
    assert_eq!(store.get_app(doomed.id.as_str()).await.expect("get_app"), None);
    assert_eq!(store.get_endpoint(&doomed.id, e1.id.as_str()).await.expect("get_endpoint"), None);
    assert!(
        store.endpoints_by_id(&[e1.id.clone(), e2.id.clone()]).await.expect("by id").is_empty(),
        "endpoints"
    );
    assert_eq!(store.get_message(&doomed.id, msg.id.as_str()).await.expect("get_message"), None);
    assert!(store.messages_by_id(std::slice::from_ref(&msg.id)).await.expect("by id").is_empty(), "messages");
    let destinations = store.message_destinations(&msg.id, &PageQuery::first(10, Order::Ascending)).await;
    assert!(destinations.expect("message_destinations").items.is_empty(), "deliveries");
    assert_eq!(
        store.get_attempt(&doomed.id, tried.id.as_str()).await.expect("get_attempt"),
        None,
        "attempts"
    );
    let page = PageQuery::first(10, Order::Descending);
    let attempts = store.list_attempts(&doomed.id, &AttemptFilter::default(), &page).await;
    assert!(attempts.expect("list_attempts").items.is_empty(), "attempts listed");
    assert_eq!(store.app_for_token(&token, ts(T)).await.expect("app_for_token"), None, "tokens");
    let claimed = store.claim_due(ts(BASE + 10), ts(BASE + 20), 1000).await.expect("claim_due");
    assert!(mine(claimed, &doomed.id).is_empty(), "no delivery of a deleted app is claimable");
    assert!(matches!(store.delete_app(&doomed.id).await, Err(StoreError::NotFound)), "delete twice");

    assert!(
        store.get_message(&kept.id, kept_msg.id.as_str()).await.expect("get_message").is_some(),
        "neighbour"
    );
    let kept_dest = store.message_destinations(&kept_msg.id, &PageQuery::first(10, Order::Ascending)).await;
    assert_eq!(kept_dest.expect("message_destinations").items.len(), 1, "neighbour's deliveries remain");
    store.delete_app(&kept.id).await.expect("delete_app");
}
