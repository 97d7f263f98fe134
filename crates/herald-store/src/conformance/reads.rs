//! Reading deliveries and attempts: a message's destinations, an endpoint's messages,
//! endpoint stats, and the attempt list's paging and filters.

use super::*;
use crate::{AttemptFilter, DeliveryCounts, MessageFilter, StoreError};

/// Records one attempt that settles the delivery with `status`.
async fn settle(store: &Shared, msg: &MessageId, ep: &Endpoint, status: DeliveryStatus, at: i64) {
    let code = if status == DeliveryStatus::Success { 200 } else { 500 };
    record(store, &attempt(msg, ep, status, code, at), status, None).await;
}

/// Four messages at `T + 1..=4`, all to `eps[0]`, the first also to `eps[1]` and `eps[2]`.
async fn fan_out(store: &Shared, app: &AppId) -> ([Endpoint; 3], [Message; 4]) {
    let eps =
        [new_endpoint(store, app).await, new_endpoint(store, app).await, new_endpoint(store, app).await];
    let msgs = [message(app, T + 1), message(app, T + 2), message(app, T + 3), message(app, T + 4)];
    send(store, &msgs[0], &[&eps[0], &eps[1], &eps[2]]).await;
    for m in &msgs[1..] {
        send(store, m, &[&eps[0]]).await;
    }
    (eps, msgs)
}

pub(super) async fn message_destinations_paging(store: Shared) {
    let app = new_app(&store).await;
    let (eps, msgs) = fan_out(&store, &app.id).await;
    let ep_ids = sorted(eps.iter().map(|e| e.id.to_string()).collect());
    check_paging("message_destinations", &ep_ids, async |q: PageQuery| {
        let page = store.message_destinations(&msgs[0].id, &q).await.expect("message_destinations");
        for (d, e) in &page.items {
            let pair = (&d.endpoint_id, &d.msg_id);
            assert_eq!(pair, (&e.id, &msgs[0].id), "a delivery comes with its endpoint");
            assert!(eps.contains(e), "the endpoint is returned whole");
        }
        keys(page, |(d, _)| d.endpoint_id.to_string())
    })
    .await;
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn endpoint_messages_paging_and_filters(store: Shared) {
    let app = new_app(&store).await;
    let (eps, msgs) = fan_out(&store, &app.id).await;
    let msg_ids = sorted(msgs.iter().map(|m| m.id.to_string()).collect());
    check_paging("endpoint_messages", &msg_ids, async |q: PageQuery| {
        let page = store.endpoint_messages(&eps[0].id, &MessageFilter::default(), None, &q).await;
        let page = page.expect("endpoint_messages");
        for (d, m) in &page.items {
            assert_eq!((&d.msg_id, &d.endpoint_id), (&m.id, &eps[0].id), "a delivery comes with its message");
            assert!(msgs.contains(m), "the message is returned whole");
        }
        keys(page, |(d, _)| d.msg_id.to_string())
    })
    .await;

    settle(&store, &msgs[0].id, &eps[0], DeliveryStatus::Success, T + 10).await;
    let page = PageQuery::first(100, Order::Descending);
    let listed = async |filter: MessageFilter, status: Option<DeliveryStatus>| -> Vec<String> {
        let found = store.endpoint_messages(&eps[0].id, &filter, status, &page).await;
        sorted(found.expect("endpoint_messages").items.into_iter().map(|(_, m)| m.id.into_string()).collect())
    };
    let pick = |which: &[usize]| sorted(which.iter().map(|&i| msgs[i].id.to_string()).collect());
    let all = MessageFilter::default;
    assert_eq!(listed(all(), Some(DeliveryStatus::Success)).await, pick(&[0]), "by delivery status");
    assert_eq!(listed(all(), Some(DeliveryStatus::Pending)).await, pick(&[1, 2, 3]), "pending ones");
    let before = MessageFilter { before: Some(ts(T + 3)), ..all() };
    assert_eq!(listed(before, None).await, pick(&[0, 1]), "by the message's creation");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn endpoint_stats_by_creation_window(store: Shared) {
    let app = new_app(&store).await;
    let (eps, msgs) = fan_out(&store, &app.id).await;
    settle(&store, &msgs[0].id, &eps[0], DeliveryStatus::Success, T + 10).await;
    settle(&store, &msgs[1].id, &eps[0], DeliveryStatus::Failed, T + 10).await;
    let stats = async |since: Option<i64>, until: Option<i64>| {
        let counts = store.endpoint_stats(&eps[0].id, since.map(ts), until.map(ts)).await;
        let counts = counts.expect("endpoint_stats");
        (counts.success, counts.pending, counts.failed, counts.sending)
    };
    assert_eq!(stats(None, None).await, (1, 2, 1, 0), "all deliveries");
    assert_eq!(stats(Some(T + 2), None).await, (0, 2, 1, 0), "created at or after `since`");
    assert_eq!(stats(None, Some(T + 2)).await, (1, 0, 0, 0), "created before `until`");
    assert_eq!(stats(Some(T + 2), Some(T + 4)).await, (0, 1, 1, 0), "[since, until)");
    let unknown = store.endpoint_stats(&EndpointId::generate(), None, None).await.expect("endpoint_stats");
    assert_eq!(unknown, DeliveryCounts::default(), "an endpoint without deliveries");
    store.delete_app(&app.id).await.expect("delete_app");
}

/// Two messages and four attempts: (m1, e1, 500), (m1, e1, 200), (m1, e2, no
/// response), (m2, e1, 404), at `T + 10..=40`. m1 is `a.x` on channel `c1`, m2 `b.y`.
async fn attempt_log(store: &Shared, app: &AppId) -> (Endpoint, Message, [Attempt; 4]) {
    let (e1, e2) = (new_endpoint(store, app).await, new_endpoint(store, app).await);
    let mut m1 = message(app, T + 1);
    m1.event_type = "a.x".into();
    m1.channels = Some(vec!["c1".into()]);
    let mut m2 = message(app, T + 2);
    m2.event_type = "b.y".into();
    send(store, &m1, &[&e1, &e2]).await;
    send(store, &m2, &[&e1]).await;
    let tries = [
        attempt(&m1.id, &e1, DeliveryStatus::Failed, 500, T + 10),
        attempt(&m1.id, &e1, DeliveryStatus::Success, 200, T + 20),
        attempt(&m1.id, &e2, DeliveryStatus::Failed, 0, T + 30),
        attempt(&m2.id, &e1, DeliveryStatus::Failed, 404, T + 40),
    ];
    for a in &tries {
        record(store, a, DeliveryStatus::Pending, Some(T + 100)).await;
    }
    (e1, m1, tries)
}

pub(super) async fn attempts_paging_and_filters(store: Shared) {
    let (app, other) = (new_app(&store).await, new_app(&store).await);
    let (e1, m1, tries) = attempt_log(&store, &app.id).await;
    let pick = |which: &[usize]| sorted(which.iter().map(|&i| tries[i].id.to_string()).collect());
    let by_e1 = AttemptFilter { endpoint: Some(e1.id.clone()), ..Default::default() };
    check_paging("list_attempts", &pick(&[0, 1, 3]), async |q: PageQuery| {
        keys(store.list_attempts(&app.id, &by_e1, &q).await.expect("list_attempts"), |a| a.id.to_string())
    })
    .await;

    let types = |t: &str| Some(vec![t.to_string()]);
    let (f, success, failed) =
        (AttemptFilter::default, Some(DeliveryStatus::Success), Some(DeliveryStatus::Failed));
    let cases = [
        ("message", AttemptFilter { msg: Some(m1.id.clone()), ..f() }, pick(&[0, 1, 2])),
        ("success", AttemptFilter { status: success, ..f() }, pick(&[1])),
        ("failed", AttemptFilter { status: failed, ..f() }, pick(&[0, 2, 3])),
        ("5xx", AttemptFilter { status_code_class: Some(500), ..f() }, pick(&[0])),
        ("2xx", AttemptFilter { status_code_class: Some(200), ..f() }, pick(&[1])),
        ("4xx", AttemptFilter { status_code_class: Some(400), ..f() }, pick(&[3])),
        ("no response", AttemptFilter { status_code_class: Some(0), ..f() }, pick(&[2])),
        ("event type", AttemptFilter { event_types: types("a.x"), ..f() }, pick(&[0, 1, 2])),
        ("channel", AttemptFilter { channel: Some("c1".into()), ..f() }, pick(&[0, 1, 2])),
        ("type and endpoint", AttemptFilter { event_types: types("b.y"), ..by_e1.clone() }, pick(&[3])),
        ("before", AttemptFilter { before: Some(ts(T + 30)), ..f() }, pick(&[0, 1])),
        ("after", AttemptFilter { after: Some(ts(T + 20)), ..f() }, pick(&[2, 3])),
    ];
    let page = PageQuery::first(100, Order::Descending);
    for (what, filter, expected) in cases {
        let found = store.list_attempts(&app.id, &filter, &page).await.expect("list_attempts");
        let found: Vec<String> = found.items.iter().map(|a| a.id.to_string()).collect();
        let newest_first: Vec<String> = expected.into_iter().rev().collect();
        assert_eq!(found, newest_first, "list_attempts by {what}, newest first");
    }
    let none = store.list_attempts(&other.id, &f(), &page).await.expect("list_attempts");
    assert!(none.items.is_empty() && none.done, "another application's attempts are not listed");
    for id in [&app.id, &other.id] {
        store.delete_app(id).await.expect("delete_app");
    }
}

pub(super) async fn attempt_get_and_expunge(store: Shared) {
    let (app, other) = (new_app(&store).await, new_app(&store).await);
    let (_, _, tries) = attempt_log(&store, &app.id).await;
    let target = &tries[2];
    let get = async |app: &AppId| store.get_attempt(app, target.id.as_str()).await.expect("get_attempt");
    assert_eq!(get(&app.id).await, Some(target.clone()), "get_attempt");
    assert_eq!(get(&other.id).await, None, "another application's attempt");
    let wrong_app = store.expunge_attempt_content(&other.id, target.id.as_str()).await;
    assert!(matches!(wrong_app, Err(StoreError::NotFound)), "expunge in the wrong app: {wrong_app:?}");
    store.expunge_attempt_content(&app.id, target.id.as_str()).await.expect("expunge_attempt_content");
    assert_eq!(get(&app.id).await, Some(Attempt { response: String::new(), ..target.clone() }), "body gone");
    let missing = store.expunge_attempt_content(&app.id, &AttemptId::generate().into_string()).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "expunge a missing attempt: {missing:?}");
    for id in [&app.id, &other.id] {
        store.delete_app(id).await.expect("delete_app");
    }
}

pub(super) async fn attempt_requests_round_trip(store: Shared) {
    let app = new_app(&store).await;
    let ep = new_endpoint(&store, &app.id).await;
    let msg = message(&app.id, T + 1);
    send(&store, &msg, &[&ep]).await;
    let rewritten = Attempt {
        request: Some(sent_request(Some("text=hi"))),
        ..attempt(&msg.id, &ep, DeliveryStatus::Failed, 500, T + 10)
    };
    let as_payload = Attempt {
        request: Some(sent_request(None)),
        ..attempt(&msg.id, &ep, DeliveryStatus::Failed, 500, T + 20)
    };
    let not_sent = attempt(&msg.id, &ep, DeliveryStatus::Failed, 0, T + 30);
    for a in [&rewritten, &as_payload, &not_sent] {
        record(&store, a, DeliveryStatus::Pending, Some(T + 100)).await;
        let found = store.get_attempt(&app.id, a.id.as_str()).await.expect("get_attempt");
        assert_eq!(found.as_ref(), Some(a), "get_attempt returns the request as recorded");
    }
    let by_msg = AttemptFilter { msg: Some(msg.id.clone()), ..Default::default() };
    let page = PageQuery::first(10, Order::Descending);
    let mut listed = store.list_attempts(&app.id, &by_msg, &page).await.expect("list_attempts").items;
    let mut expected = vec![not_sent, as_payload, rewritten.clone()];
    for attempts in [&mut listed, &mut expected] {
        attempts.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    }
    assert_eq!(listed, expected, "list_attempts carries requests too");

    store.expunge_attempt_content(&app.id, rewritten.id.as_str()).await.expect("expunge_attempt_content");
    let found = store.get_attempt(&app.id, rewritten.id.as_str()).await.expect("get_attempt");
    let expunged = Attempt { response: String::new(), request: Some(sent_request(None)), ..rewritten };
    assert_eq!(found, Some(expunged), "expunging drops the request body, keeps method and headers");
    store.delete_app(&app.id).await.expect("delete_app");
}
