//! Endpoints: new SDK field names, validation, CRUD, secret rotation, custom headers, stats, recover,
//! send-example.

use herald_delivery::egress::EgressPolicy;
use serde_json::json;

use crate::support::{Api, assert_fields, required};

#[tokio::test]
async fn create_accepts_new_sdk_names_and_answers_both() {
    let api = Api::new();
    let app = api.app("a").await;
    let body = json!({
        "url": "https://example.com/hook",
        "uid": "main",
        "filterTypes": ["order.paid"],
        "rateLimit": 10,
        "channels": ["eu"],
        "headers": {"X-Custom": "1"},
        "metadata": {"k": "v"}
    });
    let ep = api.post(&format!("/api/v1/app/{app}/endpoint"), body).await.expect(201).body;
    assert_fields(&ep, required::ENDPOINT);
    assert_eq!(ep["eventTypes"], json!(["order.paid"]));
    assert_eq!(ep["filterTypes"], json!(["order.paid"]));
    assert_eq!((ep["throttleRate"].as_u64(), ep["rateLimit"].as_u64()), (Some(10), Some(10)));
    assert_eq!(ep["description"], "");
    let id = ep["id"].as_str().expect("id");
    assert!(id.starts_with("ep_"));

    let by_uid = api.get(&format!("/api/v1/app/{app}/endpoint/main")).await.expect(200).body;
    assert_eq!(by_uid["id"], id);
    let headers = api.get(&format!("/api/v1/app/{app}/endpoint/main/headers")).await.expect(200).body;
    assert_eq!(headers["headers"], json!({"X-Custom": "1"}));

    let dup = json!({"url": "https://example.com/other", "uid": "main"});
    api.post(&format!("/api/v1/app/{app}/endpoint"), dup).await.expect_error(409, "conflict");
}

#[tokio::test]
async fn urls_and_fields_are_validated() {
    let api = Api::with_config(|c| c.egress = Some(EgressPolicy::default()));
    let app = api.app("a").await;
    let path = format!("/api/v1/app/{app}/endpoint");
    api.post(&path, json!({"url": "not a url"})).await.expect_invalid(&["body", "url"]);
    api.post(&path, json!({"url": "ftp://example.com/x"})).await.expect_invalid(&["body", "url"]);
    api.post(&path, json!({"url": "http://127.0.0.1:8080/x"})).await.expect_invalid(&["body", "url"]);
    api.post(&path, json!({"url": "https://example.com", "throttleRate": 0}))
        .await
        .expect_invalid(&["body", "throttleRate"]);
    api.post(&path, json!({"url": "https://example.com", "secret": "short"}))
        .await
        .expect_invalid(&["body", "secret"]);
    api.post(&path, json!({"url": "https://example.com", "channels": ["a b"]}))
        .await
        .expect_invalid(&["body", "channels"]);
    api.post(&path, json!({"url": "https://example.com", "headers": {"Host": "x"}})).await.expect(422);
    api.post(&path, json!({})).await.expect_invalid(&["body", "url"]);
    api.post("/api/v1/app/nope/endpoint", json!({"url": "https://example.com"}))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn list_put_patch_delete() {
    let api = Api::new();
    let app = api.app("a").await;
    let one = api.endpoint(&app, json!({"url": "https://one.example.com"})).await;
    let two = api.endpoint(&app, json!({"url": "https://two.example.com"})).await;
    // Lists are in id order; ids sort by creation time only to about 4 ms.
    let (first, second) = if one < two { (one, two) } else { (two, one) };
    let list = api.get(&format!("/api/v1/app/{app}/endpoint?limit=1")).await.expect(200).body;
    assert_eq!((list["data"][0]["id"].as_str(), list["done"].as_bool()), (Some(first.as_str()), Some(false)));

    let base = format!("/api/v1/app/{app}/endpoint");
    let put = api
        .put(&format!("{base}/{first}"), json!({"url": "https://uno.example.com", "disabled": true}))
        .await;
    let put = put.expect(200).body;
    assert_eq!(
        (put["url"].as_str(), put["disabled"].as_bool()),
        (Some("https://uno.example.com"), Some(true))
    );
    api.put(&format!("{base}/by-uid"), json!({"url": "https://three.example.com"})).await.expect(201);

    let patched =
        api.patch(&format!("{base}/{second}"), json!({"filterTypes": ["a.b"], "description": "d"})).await;
    let patched = patched.expect(200).body;
    assert_eq!((patched["eventTypes"].clone(), patched["description"].clone()), (json!(["a.b"]), json!("d")));
    let cleared = api.patch(&format!("{base}/{second}"), json!({"eventTypes": null})).await.expect(200).body;
    assert!(cleared.get("eventTypes").is_none(), "{cleared}");

    api.delete(&format!("{base}/{second}")).await.expect(204);
    api.get(&format!("{base}/{second}")).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn secrets_rotate_and_answer_the_new_key() {
    let api = Api::new();
    let app = api.app("a").await;
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let ep = api.endpoint(&app, json!({"url": "https://example.com", "secret": secret})).await;
    let path = format!("/api/v1/app/{app}/endpoint/{ep}/secret");
    assert_eq!(api.get(&path).await.expect(200).body["key"], secret);

    let rotated = api.post(&format!("{path}/rotate"), json!({})).await.expect(200).body["key"].clone();
    let rotated = rotated.as_str().expect("key");
    assert!(rotated.starts_with("whsec_") && rotated != secret);
    assert_eq!(api.get(&path).await.body["key"], rotated);

    let given = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let body = json!({"key": given, "gracePeriodSeconds": 60});
    assert_eq!(api.post(&format!("{path}/rotate"), body).await.expect(200).body["key"], given);
    api.post(&format!("{path}/rotate"), json!({"key": "nope"})).await.expect_invalid(&["body", "key"]);
}

#[tokio::test]
async fn headers_hide_sensitive_values_and_merge_on_patch() {
    let api = Api::new();
    let app = api.app("a").await;
    let ep = api.endpoint(&app, json!({"url": "https://example.com"})).await;
    let path = format!("/api/v1/app/{app}/endpoint/{ep}/headers");
    let headers = json!({"headers": {"Authorization": "Bearer s3cret", "X-A": "1", "X-B": "2"}});
    api.put(&path, headers).await.expect(204);
    let got = api.get(&path).await.expect(200);
    assert_eq!(got.body["headers"], json!({"X-A": "1", "X-B": "2"}));
    assert_eq!(got.body["sensitive"], json!(["Authorization"]));
    assert!(!got.text.contains("s3cret"));

    let patch = json!({"headers": {"X-A": null, "x-c": "3"}, "deleteHeaders": ["x-b"]});
    api.patch(&path, patch).await.expect(204);
    assert_eq!(api.get(&path).await.body["headers"], json!({"x-c": "3"}));
    api.put(&path, json!({"headers": {"bad header": "x"}})).await.expect(422);
}

#[tokio::test]
async fn stats_recover_and_send_example() {
    let api = Api::new();
    let app = api.app("a").await;
    let ep = api.endpoint(&app, json!({"url": "https://example.com"})).await;
    let other = api.endpoint(&app, json!({"url": "https://other.example.com"})).await;
    let base = format!("/api/v1/app/{app}/endpoint/{ep}");

    let schema = json!({"1": {"examples": [{"invoiceId": "inv_1"}]}});
    api.post("/api/v1/event-type", json!({"name": "invoice.paid", "description": "", "schemas": schema}))
        .await
        .expect(201);
    let sent = api
        .post(&format!("{base}/send-example"), json!({"eventType": "invoice.paid"}))
        .await
        .expect(200)
        .body;
    assert_fields(&sent, required::MESSAGE);
    assert_eq!(sent["payload"], json!({"invoiceId": "inv_1"}));
    let msg = sent["id"].as_str().expect("id");
    let dests = api.get(&format!("/api/v1/app/{app}/msg/{msg}/endpoint")).await.expect(200).body;
    let dests = dests["data"].as_array().expect("data");
    assert_eq!(dests.len(), 1, "sent to this endpoint only, not {other}");
    assert_eq!(dests[0]["id"], ep.as_str());

    let stats = api.get(&format!("{base}/stats")).await.expect(200).body;
    assert_fields(&stats, required::STATS);
    assert_eq!(stats["pending"], 1);

    let recover =
        api.post(&format!("{base}/recover"), json!({"since": "2020-01-01T00:00:00Z"})).await.expect(202).body;
    assert_fields(&recover, required::RECOVER);
    assert_eq!(
        (recover["status"].as_str(), recover["task"].as_str()),
        (Some("finished"), Some("endpoint.recover"))
    );
    api.post(&format!("{base}/recover"), json!({"since": "yesterday"}))
        .await
        .expect_invalid(&["body", "since"]);
}

/// Regression: the idempotency table kept the answers of secret rotation and
/// app-portal access — a signing secret and a bearer token in plain text. Those
/// answers are no longer stored: a retry with the same key runs again.
#[tokio::test]
async fn answers_carrying_credentials_are_not_kept_for_replay() {
    let api = Api::new();
    let app = api.app("a").await;
    let ep = api.endpoint(&app, json!({"url": "https://example.com/hook"})).await;
    let post_twice = |path: String| {
        let api = &api;
        async move {
            let mut answers = Vec::new();
            for _ in 0..2 {
                let req = http::Request::post(&path)
                    .header("authorization", format!("Bearer {}", crate::support::ADMIN))
                    .header("content-type", "application/json")
                    .header("idempotency-key", "same-key");
                let req = req.body(axum::body::Body::from("{}")).expect("request");
                answers.push(api.send(req).await.expect(200).text);
            }
            answers
        }
    };
    let rotated = post_twice(format!("/api/v1/app/{app}/endpoint/{ep}/secret/rotate")).await;
    assert_ne!(rotated[0], rotated[1], "the second rotation ran instead of replaying the stored key");
    let tokens = post_twice(format!("/api/v1/auth/app-portal-access/{app}")).await;
    assert_ne!(tokens[0], tokens[1], "a second token was minted instead of replaying the stored one");
}
