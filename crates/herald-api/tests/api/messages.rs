//! Messages: exact payload bytes, routing by filters, eventId, inline application, Idempotency-Key,
//! list filters and pagination.

use axum::body::Body;
use herald_core::AppId;
use http::Request;
use serde_json::{Value, json};

use crate::support::{ADMIN, Api, assert_fields, required};

fn ids(list: &Value) -> Vec<String> {
    list["data"].as_array().expect("data").iter().map(|m| m["id"].as_str().expect("id").to_owned()).collect()
}

/// POSTs raw text as a message body.
async fn post_raw(api: &Api, path: &str, body: &str, key: Option<&str>) -> crate::support::Resp {
    let mut req = Request::post(path).header("authorization", format!("Bearer {ADMIN}"));
    req = req.header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    api.send(req.body(Body::from(body.to_owned())).expect("request")).await
}

#[tokio::test]
async fn create_keeps_the_payload_bytes_and_routes_by_filters() {
    let api = Api::new();
    let app = api.app("a").await;
    let all = api.endpoint(&app, json!({"url": "https://all.example.com"})).await;
    let paid =
        api.endpoint(&app, json!({"url": "https://paid.example.com", "filterTypes": ["order.paid"]})).await;
    api.endpoint(&app, json!({"url": "https://refund.example.com", "eventTypes": ["order.refunded"]})).await;
    api.endpoint(&app, json!({"url": "https://eu.example.com", "channels": ["eu"]})).await;
    api.endpoint(&app, json!({"url": "https://off.example.com", "disabled": true})).await;

    let raw = r#"{"eventType":"order.paid","payload":{"b": 2,  "a": [1, 2.50]},"tags":["t1"]}"#;
    let resp = post_raw(&api, &format!("/api/v1/app/{app}/msg"), raw, None).await.expect(202);
    assert_fields(&resp.body, required::MESSAGE);
    assert!(
        resp.text.contains(r#""payload":{"b": 2,  "a": [1, 2.50]}"#),
        "payload echoed as sent: {}",
        resp.text
    );
    assert_eq!(resp.body["tags"], json!(["t1"]));
    let id = resp.body["id"].as_str().expect("id");
    assert!(id.starts_with("msg_"));

    let app_id = AppId::parse(&app).expect("app id");
    let stored = api.store.get_message(&app_id, id).await.expect("read").expect("stored");
    assert_eq!(stored.payload.as_deref(), Some(br#"{"b": 2,  "a": [1, 2.50]}"#.as_slice()));

    let dests = api.get(&format!("/api/v1/app/{app}/msg/{id}/endpoint")).await.expect(200).body;
    for d in dests["data"].as_array().expect("data") {
        assert_fields(d, required::MESSAGE_ENDPOINT);
        assert_eq!((d["status"].as_i64(), d["statusText"].as_str()), (Some(1), Some("pending")));
    }
    let mut got = ids(&dests);
    got.sort();
    let mut want = vec![all, paid];
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn with_content_false_and_get_by_event_id() {
    let api = Api::new();
    let app = api.app("a").await;
    let body = json!({"eventType": "a.b", "eventId": "evt-1", "payload": {"x": 1}, "channels": ["eu"]});
    let created = api.post(&format!("/api/v1/app/{app}/msg?with_content=false"), body).await.expect(202).body;
    assert_eq!(created["payload"], json!({}));
    assert_eq!(created["eventId"], "evt-1");
    let id = created["id"].as_str().expect("id");

    let by_event = api.get(&format!("/api/v1/app/{app}/msg/evt-1")).await.expect(200).body;
    assert_eq!((by_event["id"].as_str(), by_event["payload"].clone()), (Some(id), json!({"x": 1})));
    let bare = api.get(&format!("/api/v1/app/{app}/msg/{id}?with_content=false")).await.expect(200).body;
    assert_eq!(bare["payload"], json!({}));
    api.get(&format!("/api/v1/app/{app}/msg/msg_nope")).await.expect_error(404, "not_found");

    api.delete(&format!("/api/v1/app/{app}/msg/{id}/content")).await.expect(204);
    let expunged = api.get(&format!("/api/v1/app/{app}/msg/{id}")).await.expect(200).body;
    assert_eq!(expunged["payload"], json!({"expired": true}));
}

#[tokio::test]
async fn errors_the_sdk_can_hit() {
    let api = Api::new();
    let app = api.app("a").await;
    let path = format!("/api/v1/app/{app}/msg");
    let body = json!({"eventType": "a", "eventId": "dup", "payload": {}});
    api.post(&path, body.clone()).await.expect(202);
    api.post(&path, body).await.expect_error(409, "conflict");
    api.post(&path, json!({"eventType": "a", "payload": [1]})).await.expect_invalid(&["body", "payload"]);
    api.post(&path, json!({"eventType": "a", "payload": "x"})).await.expect_invalid(&["body", "payload"]);
    api.post(&path, json!({"payload": {}})).await.expect_invalid(&["body", "eventType"]);
    api.post(&path, json!({"eventType": "a b", "payload": {}})).await.expect_invalid(&["body", "eventType"]);
    let long = "x".repeat(257);
    api.post(&path, json!({"eventType": long, "payload": {}})).await.expect_invalid(&["body", "eventType"]);
    let eleven: Vec<String> = (0..11).map(|i| format!("c{i}")).collect();
    api.post(&path, json!({"eventType": "a", "payload": {}, "channels": eleven})).await.expect(422);
    let retention = json!({"eventType": "a", "payload": {}, "payloadRetentionPeriod": 1000});
    api.post(&path, retention).await.expect_invalid(&["body", "payloadRetentionPeriod"]);
    api.post("/api/v1/app/missing/msg", json!({"eventType": "a", "payload": {}}))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn inline_application_is_created_with_the_path_uid() {
    let api = Api::new();
    let body = json!({"eventType": "a", "payload": {}, "application": {"name": "Inline"}});
    api.post("/api/v1/app/inline-app/msg", body.clone()).await.expect(202);
    assert_eq!(api.get("/api/v1/app/inline-app").await.expect(200).body["name"], "Inline");
    api.post("/api/v1/app/inline-app/msg", body).await.expect(202);
    let mismatch = json!({"eventType": "a", "payload": {}, "application": {"name": "X", "uid": "other"}});
    api.post("/api/v1/app/third/msg", mismatch).await.expect_invalid(&["body", "application", "uid"]);
}

#[tokio::test]
async fn idempotency_key_replays_the_first_answer() {
    let api = Api::new();
    let app = api.app("a").await;
    let path = format!("/api/v1/app/{app}/msg");
    let body = r#"{"eventType": "a", "payload": {"n": 1}}"#;
    let first = post_raw(&api, &path, body, Some("key-1")).await.expect(202);
    let again = post_raw(&api, &path, body, Some("key-1")).await.expect(202);
    assert_eq!(first.text, again.text);
    let other = post_raw(&api, &path, body, Some("key-2")).await.expect(202);
    assert_ne!(first.body["id"], other.body["id"]);
    let list = api.get(&path).await.expect(200).body;
    assert_eq!(ids(&list).len(), 2);
    // Failures are not stored: a retry runs again.
    let bad = r#"{"eventType": "a", "payload": 1}"#;
    post_raw(&api, &path, bad, Some("key-3")).await.expect(422);
    post_raw(&api, &path, r#"{"eventType": "a", "payload": {}}"#, Some("key-3")).await.expect(202);
}

#[tokio::test]
async fn list_filters_and_paginates_newest_first() {
    let api = Api::new();
    let app = api.app("a").await;
    let mut created = Vec::new();
    for i in 0..5 {
        let (et, ch) = if i % 2 == 0 { ("even", "eu") } else { ("odd", "us") };
        let m = api
            .message(&app, json!({"eventType": et, "payload": {"i": i}, "channels": [ch], "tags": [et]}))
            .await;
        created.push(m["id"].as_str().expect("id").to_owned());
    }
    // Lists are in id order, and ids sort by creation time only to about 4 ms (the
    // KSUID clock's resolution): compare with the ids sorted, not creation order.
    created.sort();
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();
    let base = format!("/api/v1/app/{app}/msg");
    let page1 = api.get(&format!("{base}?limit=2")).await.expect(200).body;
    assert_eq!(ids(&page1), newest_first[..2]);
    let it = page1["iterator"].as_str().expect("iterator");
    let page2 = api.get(&format!("{base}?limit=2&iterator={it}")).await.expect(200).body;
    assert_eq!(ids(&page2), newest_first[2..4]);
    let prev = page2["prevIterator"].as_str().expect("prev");
    assert_eq!(ids(&api.get(&format!("{base}?limit=2&iterator={prev}")).await.body), newest_first[..2]);

    let even = api.get(&format!("{base}?event_types=even")).await.expect(200).body;
    assert_eq!(ids(&even).len(), 3);
    let both = api.get(&format!("{base}?event_types=even,odd")).await.body;
    assert_eq!(ids(&both).len(), 5);
    assert_eq!(ids(&api.get(&format!("{base}?channel=us")).await.body).len(), 2);
    assert_eq!(ids(&api.get(&format!("{base}?tag=odd")).await.body).len(), 2);
    let future = api.get(&format!("{base}?after=2999-01-01T00:00:00Z")).await.expect(200).body;
    assert!(ids(&future).is_empty());
    let empty = api.get(&format!("{base}?with_content=false")).await.body;
    assert_eq!(empty["data"][0]["payload"], json!({}));
    api.get(&format!("{base}?before=yesterday")).await.expect_invalid(&["query", "before"]);
}

/// Regression guard for the routing cache: this process's own endpoint changes
/// apply to the very next message.
#[tokio::test]
async fn endpoint_changes_apply_to_the_next_message_at_once() {
    let api = Api::new();
    let app = api.app("a").await;
    let first = api.endpoint(&app, json!({"url": "https://one.example.com"})).await;
    let destinations = |msg: serde_json::Value| {
        let path = format!("/api/v1/app/{app}/msg/{}/endpoint", msg["id"].as_str().expect("id"));
        let api = &api;
        async move {
            let body = api.get(&path).await.expect(200).body;
            let mut ids: Vec<String> = body["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|d| d["id"].as_str().expect("id").to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    let m1 = api.message(&app, json!({"eventType": "a.b", "payload": {}})).await;
    assert_eq!(destinations(m1).await, vec![first.clone()]);

    let second = api.endpoint(&app, json!({"url": "https://two.example.com"})).await;
    let m2 = api.message(&app, json!({"eventType": "a.b", "payload": {}})).await;
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(destinations(m2).await, both, "a new endpoint gets the next message");

    api.patch(&format!("/api/v1/app/{app}/endpoint/{first}"), json!({"disabled": true})).await.expect(200);
    let m3 = api.message(&app, json!({"eventType": "a.b", "payload": {}})).await;
    assert_eq!(destinations(m3).await, vec![second], "a disabled endpoint gets none");
}
