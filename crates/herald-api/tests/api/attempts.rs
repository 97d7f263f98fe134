//! Attempts, destinations, endpoint messages, resend and recover (attempts are recorded straight into
//! the store: no workers run in these tests).

use herald_core::{AppId, Attempt, AttemptId, DeliveryStatus, EndpointId, MessageId, Timestamp, Trigger};
use herald_store::DeliveryUpdate;
use serde_json::{Value, json};

use crate::support::{Api, assert_fields, required};

/// Records a failed attempt of `msg` to `ep` directly in the store (no workers run here).
async fn record_failure(api: &Api, app: &str, msg: &str, ep: &str) -> String {
    let attempt = Attempt {
        id: AttemptId::generate(),
        msg_id: MessageId::parse(msg).expect("msg id"),
        endpoint_id: EndpointId::parse(ep).expect("ep id"),
        app_id: AppId::parse(app).expect("app id"),
        url: "https://example.com".to_owned(),
        request: None,
        status: DeliveryStatus::Failed,
        response_status_code: 500,
        response: "boom".to_owned(),
        duration_ms: 12,
        trigger: Trigger::Scheduled,
        created_at: Timestamp::now(),
    };
    let update = DeliveryUpdate { status: DeliveryStatus::Failed, next_attempt_at: None };
    api.store.record_attempt(&attempt, &update).await.expect("recorded");
    attempt.id.into_string()
}

fn data(v: &Value) -> &Vec<Value> {
    v["data"].as_array().expect("data")
}

#[tokio::test]
async fn attempts_by_endpoint_and_by_message() {
    let api = Api::new();
    let app = api.app("a").await;
    let ep = api.endpoint(&app, json!({"url": "https://example.com", "uid": "main"})).await;
    let other = api.endpoint(&app, json!({"url": "https://other.example.com"})).await;
    let msg = api.message(&app, json!({"eventType": "a", "payload": {"k": 1}})).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let attempt = record_failure(&api, &app, &msg, &ep).await;

    let by_ep = api.get(&format!("/api/v1/app/{app}/attempt/endpoint/{ep}")).await.expect(200).body;
    assert_eq!(data(&by_ep).len(), 1);
    let a = &data(&by_ep)[0];
    assert_fields(a, required::ATTEMPT);
    assert_eq!((a["status"].as_i64(), a["statusText"].as_str()), (Some(2), Some("fail")));
    assert_eq!((a["responseStatusCode"].as_i64(), a["triggerType"].as_i64()), (Some(500), Some(0)));
    assert!(data(&api.get(&format!("/api/v1/app/{app}/attempt/endpoint/{other}")).await.body).is_empty());
    let ok_only =
        api.get(&format!("/api/v1/app/{app}/attempt/endpoint/{ep}?status=0")).await.expect(200).body;
    assert!(data(&ok_only).is_empty());

    let by_msg =
        api.get(&format!("/api/v1/app/{app}/attempt/msg/{msg}?endpoint_id=main&with_msg=true")).await;
    let by_msg = by_msg.expect(200).body;
    assert_eq!(data(&by_msg)[0]["id"], attempt.as_str());
    assert_eq!(data(&by_msg)[0]["msg"]["payload"], json!({"k": 1}));
    let filtered =
        api.get(&format!("/api/v1/app/{app}/attempt/msg/{msg}?endpoint_id={other}")).await.expect(200);
    assert!(data(&filtered.body).is_empty());

    let one = api.get(&format!("/api/v1/app/{app}/msg/{msg}/attempt/{attempt}")).await.expect(200).body;
    assert_eq!(one["response"], "boom");
    api.delete(&format!("/api/v1/app/{app}/msg/{msg}/attempt/{attempt}/content")).await.expect(204);
    let one = api.get(&format!("/api/v1/app/{app}/msg/{msg}/attempt/{attempt}")).await.expect(200).body;
    assert_ne!(one["response"], "boom");
    api.get(&format!("/api/v1/app/{app}/msg/{msg}/attempt/atmpt_nope")).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn endpoint_messages_resend_and_recover() {
    let api = Api::new();
    let app = api.app("a").await;
    let ep = api.endpoint(&app, json!({"url": "https://example.com"})).await;
    let msg = api.message(&app, json!({"eventType": "a", "payload": {}})).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    record_failure(&api, &app, &msg, &ep).await;

    let list = api.get(&format!("/api/v1/app/{app}/endpoint/{ep}/msg")).await.expect(200).body;
    assert_fields(&data(&list)[0], required::ENDPOINT_MESSAGE);
    assert_eq!(data(&list)[0]["statusText"], "fail");
    let failed = api.get(&format!("/api/v1/app/{app}/endpoint/{ep}/msg?status=2")).await.expect(200).body;
    assert_eq!(data(&failed).len(), 1);

    let resent = api.post(&format!("/api/v1/app/{app}/msg/{msg}/endpoint/{ep}/resend"), json!({})).await;
    assert_eq!(resent.expect(202).body, json!({}));
    let list = api.get(&format!("/api/v1/app/{app}/endpoint/{ep}/msg")).await.body;
    assert_eq!(data(&list)[0]["statusText"], "pending");
    api.post(&format!("/api/v1/app/{app}/msg/msg_nope/endpoint/{ep}/resend"), json!({})).await.expect(404);
    api.post(&format!("/api/v1/app/{app}/msg/{msg}/endpoint/ep_nope/resend"), json!({})).await.expect(404);

    record_failure(&api, &app, &msg, &ep).await;
    let since = json!({"since": "2000-01-01T00:00:00Z"});
    api.post(&format!("/api/v1/app/{app}/endpoint/{ep}/recover"), since).await.expect(202);
    let stats = api.get(&format!("/api/v1/app/{app}/endpoint/{ep}/stats")).await.expect(200).body;
    assert_eq!((stats["pending"].as_u64(), stats["fail"].as_u64()), (Some(1), Some(0)));
}
