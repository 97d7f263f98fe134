//! Messages: the outbox write and its deliveries, look-ups by id and `eventId`,
//! `eventId` conflicts, expunging, and the list's paging and filters.

use super::*;
use crate::{MessageFilter, StoreError};

fn rich_message(app: &AppId) -> Message {
    let mut msg = message(app, T);
    msg.event_id = Some(unique("evt"));
    msg.channels = Some(vec!["eu".into(), "vip".into()]);
    msg.tags = Some(vec!["order_42".into()]);
    msg.expires_at = Some(ts(T + 86_400_000));
    msg
}

pub(super) async fn messages_create_and_lookup(store: Shared) {
    let (app, other) = (new_app(&store).await, new_app(&store).await);
    let (e1, e2) = (new_endpoint(&store, &app.id).await, new_endpoint(&store, &app.id).await);
    let msg = rich_message(&app.id);
    let deliveries = send(&store, &msg, &[&e1, &e2]).await;
    let targets = sorted(deliveries.iter().map(|d| d.endpoint_id.to_string()).collect());
    assert_eq!(targets, sorted(vec![e1.id.to_string(), e2.id.to_string()]), "one delivery per endpoint");
    for d in &deliveries {
        assert_eq!((&d.msg_id, &d.app_id, d.status), (&msg.id, &app.id, DeliveryStatus::Pending), "{d:?}");
        let due = (d.attempts, d.next_attempt_at, d.next_trigger);
        assert_eq!(due, (0, Some(msg.created_at), Trigger::Scheduled), "due at creation: {d:?}");
    }

    let event_id = msg.event_id.clone().expect("event id");
    let get = async |app: &AppId, key: &str| store.get_message(app, key).await.expect("get_message");
    assert_eq!(get(&app.id, msg.id.as_str()).await, Some(msg.clone()), "get_message by id");
    assert_eq!(get(&app.id, &event_id).await, Some(msg.clone()), "get_message by eventId");
    assert_eq!(get(&other.id, msg.id.as_str()).await, None, "another application's message by id");
    assert_eq!(get(&other.id, &event_id).await, None, "another application's message by eventId");

    let plain = message(&app.id, T + 1);
    store.create_message(&plain, &[], None).await.expect("a message to no endpoint");
    let wanted = [msg.id.clone(), plain.id.clone(), MessageId::generate()];
    let mut found = store.messages_by_id(&wanted).await.expect("messages_by_id");
    found.sort_by(|a, b| a.id.cmp(&b.id));
    let mut expected = vec![msg.clone(), plain.clone()];
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(found, expected, "messages_by_id skips missing ids");
    assert!(store.messages_by_id(&[]).await.expect("messages_by_id").is_empty(), "no ids, no messages");
    for id in [&app.id, &other.id] {
        store.delete_app(id).await.expect("delete_app");
    }
}

pub(super) async fn message_event_id_conflicts(store: Shared) {
    let (app, other) = (new_app(&store).await, new_app(&store).await);
    let ep = new_endpoint(&store, &app.id).await;
    let msg = rich_message(&app.id);
    send(&store, &msg, &[&ep]).await;

    let mut again = message(&app.id, T + 1);
    again.event_id = msg.event_id.clone();
    let refused = store.create_message(&again, std::slice::from_ref(&ep.id), None).await;
    assert!(matches!(refused, Err(StoreError::Conflict("message eventId"))), "{refused:?}");
    let stored = store.messages_by_id(std::slice::from_ref(&again.id)).await.expect("messages_by_id");
    assert!(stored.is_empty(), "a refused message is not stored");
    let dest = store.message_destinations(&again.id, &PageQuery::first(10, Order::Ascending)).await;
    assert!(dest.expect("message_destinations").items.is_empty(), "nor are its deliveries");

    again.app_id = other.id.clone();
    store.create_message(&again, &[], None).await.expect("the same eventId in another application");
    for _ in 0..2 {
        let plain = message(&app.id, T);
        store.create_message(&plain, &[], None).await.expect("messages without eventId never clash");
    }
    for id in [&app.id, &other.id] {
        store.delete_app(id).await.expect("delete_app");
    }
}

pub(super) async fn message_expunge_payload(store: Shared) {
    let (app, other) = (new_app(&store).await, new_app(&store).await);
    let msg = rich_message(&app.id);
    store.create_message(&msg, &[], None).await.expect("create_message");
    let wrong_app = store.expunge_payload(&other.id, &msg.id).await;
    assert!(matches!(wrong_app, Err(StoreError::NotFound)), "expunge in the wrong app: {wrong_app:?}");
    store.expunge_payload(&app.id, &msg.id).await.expect("expunge_payload");
    let expunged = Message { payload: None, ..msg.clone() };
    let found = store.get_message(&app.id, msg.id.as_str()).await.expect("get_message");
    assert_eq!(found, Some(expunged), "only the payload is gone");
    let missing = store.expunge_payload(&app.id, &MessageId::generate()).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "expunge a missing message: {missing:?}");
    for id in [&app.id, &other.id] {
        store.delete_app(id).await.expect("delete_app");
    }
}

/// Five messages of `app` with varied types, channels, tags and times `T + 1..=5`.
async fn catalogue(store: &Shared, app: &AppId) -> [Message; 5] {
    let make = |event_type: &str, channels: &[&str], tags: &[&str], at: i64| {
        let mut m = message(app, T + at);
        m.event_type = event_type.into();
        let owned = |v: &[&str]| (!v.is_empty()).then(|| v.iter().map(|s| s.to_string()).collect());
        m.channels = owned(channels);
        m.tags = owned(tags);
        m
    };
    let msgs = [
        make("a.x", &["c1"], &["t1"], 1),
        make("b.y", &["c1", "c2"], &[], 2),
        make("a.x", &[], &["t1", "t2"], 3),
        make("c.z", &["c2"], &[], 4),
        make("a.x", &[], &[], 5),
    ];
    for m in &msgs {
        store.create_message(m, &[], None).await.expect("create_message");
    }
    msgs
}

pub(super) async fn messages_paging(store: Shared) {
    let (app, other) = (new_app(&store).await, new_app(&store).await);
    let msgs = catalogue(&store, &app.id).await;
    let ids = sorted(msgs.iter().map(|m| m.id.to_string()).collect());
    check_paging("list_messages", &ids, async |q: PageQuery| {
        let page = store.list_messages(&app.id, &MessageFilter::default(), &q).await;
        keys(page.expect("list_messages"), |m| m.id.to_string())
    })
    .await;
    let page = PageQuery::first(100, Order::Descending);
    let none = store.list_messages(&other.id, &MessageFilter::default(), &page).await.expect("list_messages");
    assert_eq!(none, Page { items: vec![], done: true }, "another application's messages are not listed");
    for id in [&app.id, &other.id] {
        store.delete_app(id).await.expect("delete_app");
    }
}

pub(super) async fn messages_filters(store: Shared) {
    let app = new_app(&store).await;
    let msgs = catalogue(&store, &app.id).await;
    let pick = |which: &[usize]| sorted(which.iter().map(|&i| msgs[i].id.to_string()).collect());
    let types = |t: &[&str]| Some(t.iter().map(|s| s.to_string()).collect());
    let f = MessageFilter::default;
    let cases = [
        ("one event type", MessageFilter { event_types: types(&["a.x"]), ..f() }, pick(&[0, 2, 4])),
        (
            "two event types",
            MessageFilter { event_types: types(&["a.x", "c.z"]), ..f() },
            pick(&[0, 2, 3, 4]),
        ),
        ("channel c1", MessageFilter { channel: Some("c1".into()), ..f() }, pick(&[0, 1])),
        ("channel c2", MessageFilter { channel: Some("c2".into()), ..f() }, pick(&[1, 3])),
        ("tag t1", MessageFilter { tag: Some("t1".into()), ..f() }, pick(&[0, 2])),
        ("before", MessageFilter { before: Some(ts(T + 3)), ..f() }, pick(&[0, 1])),
        ("after", MessageFilter { after: Some(ts(T + 3)), ..f() }, pick(&[3, 4])),
        (
            "type and after",
            MessageFilter { event_types: types(&["a.x"]), after: Some(ts(T + 1)), ..f() },
            pick(&[2, 4]),
        ),
    ];
    let page = PageQuery::first(100, Order::Descending);
    for (what, filter, expected) in cases {
        let found = store.list_messages(&app.id, &filter, &page).await.expect("list_messages");
        let found: Vec<String> = found.items.iter().map(|m| m.id.to_string()).collect();
        let newest_first: Vec<String> = expected.into_iter().rev().collect();
        assert_eq!(found, newest_first, "list_messages filtered by {what}, newest first");
    }
    store.delete_app(&app.id).await.expect("delete_app");
}
