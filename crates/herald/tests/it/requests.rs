//! Each attempt keeps the request it sent (issue 6): the API's attempt JSON carries it
//! as Herald's `request` field — method, headers in order with credentials redacted,
//! no body when it was the payload — and the official SDK still reads the same list.

use herald_testkit::{Backend, TestReceiver, TestServer};
use serde_json::{Value, json};
use svix::models::MessageIn;

use crate::common::*;

async fn each_attempt_keeps_its_request_headers_with_credentials_redacted(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let svix = sdk(&server);
    let app = svix.application().create(svix::models::ApplicationIn::new("Acme".into()), None).await;
    let app = app.expect("app").id;
    let create = http()
        .post(format!("{}/api/v1/app/{app}/endpoint", server.base_url))
        .bearer_auth(&server.token)
        .json(&json!({"url": receiver.url, "headers": {"X-Api-Key": "k-123", "X-Team": "blue"}}))
        .send()
        .await
        .expect("create endpoint");
    assert_eq!(create.status(), 201);
    let msg = MessageIn::new("order.paid".into(), json!({"id": 7}));
    let msg = svix.message().create(app.clone(), msg, None).await.expect("accepted");
    let got = receiver.wait_for(1, WAIT).await.remove(0);
    assert_eq!(got.header("x-api-key"), "k-123", "the endpoint receives the real value");

    let url = format!("{}/api/v1/app/{app}/attempt/msg/{}", server.base_url, msg.id);
    let attempts = || async {
        let page = http().get(&url).bearer_auth(&server.token).send().await.expect("list attempts");
        let page: Value = page.json().await.expect("JSON page");
        page["data"].as_array().cloned().unwrap_or_default()
    };
    eventually("the attempt is recorded", || async { !attempts().await.is_empty() }).await;
    let request = attempts().await.remove(0)["request"].clone();
    assert_eq!(request["method"], "POST");
    assert!(request.get("body").is_none(), "the payload itself is not repeated: {request}");
    let headers: Vec<(String, String)> = serde_json::from_value(request["headers"].clone()).expect("pairs");
    let value = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    assert_eq!(value("webhook-id"), Some(msg.id.as_str()));
    assert_eq!(value("webhook-signature"), Some(got.header("webhook-signature")), "as sent");
    assert_eq!(value("x-team"), Some("blue"));
    assert_eq!(value("x-api-key"), Some("••••"), "a credential's value is not kept");

    // The official SDK reads the same attempts (it ignores Herald's extra field).
    let list = svix.message_attempt().list_by_msg(app, msg.id, None).await.expect("the SDK parses the list");
    assert_eq!(list.data.len(), 1);
}

crate::on_both_stores!(each_attempt_keeps_its_request_headers_with_credentials_redacted);
