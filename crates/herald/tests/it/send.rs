//! The send story: an application, an event type, an endpoint; a message goes out
//! signed, with the endpoint's headers, and every attempt is visible.

use std::collections::{BTreeMap, BTreeSet};

use herald_testkit::{Backend, TestReceiver, TestServer};
use serde_json::json;
use svix::models::{ApplicationIn, EndpointIn, EndpointPatch, EndpointUpsertIn, EventTypeIn, MessageIn};

use crate::common::*;

async fn a_message_reaches_its_endpoint_signed_and_every_attempt_is_listed(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let svix = sdk(&server);

    let et = EventTypeIn {
        description: "An order was paid".into(),
        ..EventTypeIn::new("order.paid".into(), String::new())
    };
    svix.event_type().create(et, None).await.expect("event type created");
    let app = svix
        .application()
        .create(ApplicationIn { uid: Some("acme".into()), ..ApplicationIn::new("Acme".into()) }, None)
        .await
        .expect("app created");
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let ep_in = EndpointIn {
        secret: Some(secret.into()),
        headers: Some(BTreeMap::from([("x-tenant".to_owned(), "acme".to_owned())])),
        metadata: Some(BTreeMap::from([("team".to_owned(), "billing".to_owned())])),
        ..EndpointIn::new(receiver.url.clone())
    };
    let ep = svix.endpoint().create("acme".into(), ep_in, None).await.expect("endpoint created by app uid");
    assert_eq!(ep.metadata.get("team").map(String::as_str), Some("billing"));

    let payload = json!({"order": "ord_1", "amount": 4200});
    let msg_in =
        MessageIn { event_id: Some("evt-1".into()), ..MessageIn::new("order.paid".into(), payload.clone()) };
    let with_content = svix::api::MessageCreateOptions { with_content: Some(true), ..Default::default() };
    let msg =
        svix.message().create(app.id.clone(), msg_in, Some(with_content)).await.expect("message accepted");
    assert!(msg.id.starts_with("msg_"));
    assert_eq!(msg.payload, payload);

    let got = receiver.wait_for(1, WAIT).await;
    let req = &got[0];
    assert_eq!(req.header("webhook-id"), msg.id);
    assert_eq!(req.header("content-type"), "application/json");
    assert_eq!(req.header("x-tenant"), "acme");
    assert!(req.header("user-agent").starts_with("Herald"), "user-agent: {}", req.header("user-agent"));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&req.body).expect("JSON body"), payload);
    verify(secret, req).expect("the Svix SDK verifies Herald's signature");

    // The attempt is recorded after the endpoint answered: the receiver may see the
    // request before the attempt is listed (it raced on a loaded machine).
    let list = async || svix.message_attempt().list_by_msg(app.id.clone(), msg.id.clone(), None).await;
    eventually("the attempt is recorded", async || !list().await.expect("attempts").data.is_empty()).await;
    let by_msg = list().await.expect("attempts");
    let attempt = &by_msg.data[0];
    assert_eq!(
        (by_msg.data.len(), attempt.response_status_code, attempt.endpoint_id.as_str()),
        (1, 200, ep.id.as_str())
    );
    assert_eq!(attempt.url, receiver.url);
    let by_ep =
        svix.message_attempt().list_by_endpoint(app.id.clone(), ep.id.clone(), None).await.expect("attempts");
    assert_eq!(by_ep.data.len(), 1);
    let dest = svix.message_attempt().list_attempted_destinations(app.id.clone(), msg.id.clone(), None).await;
    assert_eq!(dest.expect("destinations").data[0].id, ep.id);
    let fetched = svix.message().get(app.id.clone(), "evt-1".into(), None).await.expect("message by eventId");
    assert_eq!(fetched.id, msg.id);
}

async fn endpoints_receive_only_their_event_types_and_channels_and_nothing_when_disabled(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let svix = sdk(&server);
    let (paid, eu, off) =
        (TestReceiver::start().await, TestReceiver::start().await, TestReceiver::start().await);
    let app = svix.application().create(ApplicationIn::new("Acme".into()), None).await.expect("app");
    let create = |url: &str, types: Option<&[&str]>, channels: Option<&[&str]>, disabled: bool| {
        let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        EndpointIn {
            event_types: types.map(set),
            channels: channels.map(set),
            disabled: Some(disabled),
            ..EndpointIn::new(url.to_owned())
        }
    };
    for ep in [
        create(&paid.url, Some(&["order.paid"]), None, false),
        create(&eu.url, None, Some(&["eu"]), false),
        create(&off.url, None, None, true),
    ] {
        svix.endpoint().create(app.id.clone(), ep, None).await.expect("endpoint");
    }
    let send = |event: &str, channels: Option<&[&str]>| MessageIn {
        channels: channels.map(|c| c.iter().map(|s| (*s).to_owned()).collect()),
        ..MessageIn::new(event.to_owned(), json!({"n": 1}))
    };
    svix.message().create(app.id.clone(), send("order.paid", None), None).await.expect("sent");
    svix.message().create(app.id.clone(), send("order.refunded", Some(&["eu"])), None).await.expect("sent");
    svix.message().create(app.id.clone(), send("order.refunded", Some(&["us"])), None).await.expect("sent");

    let p = paid.wait_for(1, WAIT).await;
    let e = eu.wait_for(1, WAIT).await;
    // A fourth message to everyone proves the earlier ones were not merely slow.
    svix.message().create(app.id.clone(), send("order.paid", Some(&["eu"])), None).await.expect("sent");
    paid.wait_for(2, WAIT).await;
    eu.wait_for(2, WAIT).await;
    assert_eq!(p.len(), 1);
    assert_eq!(e.len(), 1);
    assert_eq!(paid.received().len(), 2, "order.refunded never reaches the order.paid endpoint");
    assert_eq!(eu.received().len(), 2, "the us message never reaches the eu endpoint");
    assert!(off.received().is_empty(), "a disabled endpoint receives nothing");
}

async fn the_same_idempotency_key_gives_the_same_message_and_one_delivery(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let svix = sdk(&server);
    let (app, _, _) = app_with_endpoint(&svix, &receiver.url).await;
    let opts = || {
        Some(svix::api::MessageCreateOptions { idempotency_key: Some("key-42".into()), ..Default::default() })
    };
    let first = svix
        .message()
        .create(app.clone(), MessageIn::new("a.b".into(), json!({})), opts())
        .await
        .expect("ok");
    let again = svix
        .message()
        .create(app.clone(), MessageIn::new("a.b".into(), json!({})), opts())
        .await
        .expect("ok");
    assert_eq!(first.id, again.id);
    let other =
        svix.message().create(app.clone(), MessageIn::new("a.b".into(), json!({})), None).await.expect("ok");
    receiver.wait_for(2, WAIT).await;
    let ids: BTreeSet<_> = receiver.received().iter().map(|r| r.header("webhook-id").to_owned()).collect();
    assert_eq!(ids, BTreeSet::from([first.id, other.id]));
}

/// Posts a message with an `Idempotency-Key` over plain HTTP: (status, JSON).
async fn post_with_key(
    server: &TestServer,
    app: &str,
    key: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    post_to(server.base_url.clone(), server.token.clone(), app.to_owned(), key.to_owned(), body).await
}

async fn post_to(
    base: String,
    token: String,
    app: String,
    key: String,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = http()
        .post(format!("{base}/api/v1/app/{app}/msg"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .expect("the API answers");
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

/// Tries of one key sent all at once to `servers` (round-robin): the message ids they got.
async fn concurrent_tries(servers: &[&TestServer], app: &str, key: &str, tries: usize) -> Vec<String> {
    let body = json!({"eventType": "a.b", "payload": {"n": 1}});
    let mut set = tokio::task::JoinSet::new();
    for i in 0..tries {
        let s = servers[i % servers.len()];
        let (base, token) = (s.base_url.clone(), s.token.clone());
        set.spawn(post_to(base, token, app.to_owned(), key.to_owned(), body.clone()));
    }
    let mut ids = Vec::new();
    while let Some(answer) = set.join_next().await {
        let (status, json) = answer.expect("the try ran");
        assert_eq!(status, 202, "every try is answered as the first was: {json}");
        ids.push(json["id"].as_str().expect("a message id").to_owned());
    }
    ids
}

async fn concurrent_tries_of_one_idempotency_key_create_one_message(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let (app, _, _) = app_with_endpoint(&sdk(&server), &receiver.url).await;
    let ids: BTreeSet<String> =
        concurrent_tries(&[&server], &app, "key-at-once", 24).await.into_iter().collect();
    assert_eq!(ids.len(), 1, "24 tries at once, one message: {ids:?}");
    receiver.wait_for(1, WAIT).await;
    let listed = sdk(&server).message().list(app.clone(), None).await.expect("list");
    assert_eq!(listed.data.len(), 1, "and only one is stored");

    // A try that fails gives the key back: the corrected retry runs at once.
    let (status, _) =
        post_with_key(&server, &app, "key-retried", json!({"eventType": "", "payload": {}})).await;
    assert_eq!(status, 422);
    let (status, json) =
        post_with_key(&server, &app, "key-retried", json!({"eventType": "a.b", "payload": {}})).await;
    assert_eq!(status, 202, "not held by the failed try: {json}");
}

/// Two processes sharing one PostgreSQL database: tries of one key spread over both
/// create one message (the claim is a row in the shared database).
#[tokio::test]
async fn tries_of_one_idempotency_key_on_two_processes_create_one_message() {
    let Some(backend) = Backend::postgres_from_env() else { return };
    let first = TestServer::start_on(&backend, |_| {}).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let database = first.database.clone();
    let second = TestServer::start_in(dir.path(), |c| c.database = database).await;
    let receiver = TestReceiver::start().await;
    let (app, _, _) = app_with_endpoint(&sdk(&first), &receiver.url).await;
    let ids: BTreeSet<String> =
        concurrent_tries(&[&first, &second], &app, "key-two-nodes", 24).await.into_iter().collect();
    assert_eq!(ids.len(), 1, "24 tries over two processes, one message: {ids:?}");
    let listed = sdk(&second).message().list(app.clone(), None).await.expect("list");
    assert_eq!(listed.data.len(), 1);
}

async fn the_openapi_document_and_health_answer_without_auth(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let http = http();
    let doc: serde_json::Value = http
        .get(format!("{}/api/v1/openapi.json", server.base_url))
        .send()
        .await
        .expect("reachable")
        .json()
        .await
        .expect("JSON");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{doc}");
    assert!(
        doc["paths"].as_object().is_some_and(|p| p.contains_key("/api/v1/app/{app_id}/msg")),
        "paths listed"
    );
    let health = http.get(format!("{}/api/v1/health/", server.base_url)).send().await.expect("reachable");
    assert!(health.status().is_success());
    sdk_with_token(&server, "wrong").health().get().await.expect("health needs no token");
}

crate::on_both_stores!(
    a_message_reaches_its_endpoint_signed_and_every_attempt_is_listed,
    endpoints_receive_only_their_event_types_and_channels_and_nothing_when_disabled,
    the_same_idempotency_key_gives_the_same_message_and_one_delivery,
    concurrent_tries_of_one_idempotency_key_create_one_message,
    the_openapi_document_and_health_answer_without_auth
);

/// A password in an endpoint URL is a credential: answers, pages and attempts show it
/// as ••••, and an SDK's read-modify-write (the shown URL sent back) keeps it.
async fn a_password_in_an_endpoint_url_is_never_shown_and_survives_an_update(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let svix = sdk(&server);
    let app = svix.application().create(ApplicationIn::new("Acme".into()), None).await.expect("app");
    let url = receiver.url.replacen("http://", "http://hook:pa55word@", 1);
    let ep =
        svix.endpoint().create(app.id.clone(), EndpointIn::new(url.clone()), None).await.expect("endpoint");
    let shown = receiver.url.replacen("http://", "http://hook:••••@", 1);
    assert_eq!(ep.url, shown, "the answer hides the password");
    let got = svix.endpoint().get(app.id.clone(), ep.id.clone()).await.expect("get");
    assert_eq!(got.url, shown);

    // Read, modify, write (PUT, then PATCH): the shown URL goes back with a new description.
    let update =
        EndpointUpsertIn { description: Some("renamed".into()), ..EndpointUpsertIn::new(got.url.clone()) };
    let updated = svix.endpoint().upsert(app.id.clone(), ep.id.clone(), update).await.expect("update");
    assert_eq!((updated.url.as_str(), updated.description.as_str()), (shown.as_str(), "renamed"));
    let patch = EndpointPatch { url: Some(shown.clone()), ..EndpointPatch::new() };
    svix.endpoint().patch(app.id.clone(), ep.id.clone(), patch).await.expect("patch");
    svix.message().create(app.id.clone(), MessageIn::new("a.b".into(), json!({})), None).await.expect("sent");
    let got = receiver.wait_for(1, WAIT).await;
    let basic = format!("Basic {}", base64_of("hook:pa55word"));
    assert_eq!(got[0].header("authorization"), basic, "the stored password is still the one used");

    // The marker is not a password: sent for another URL, it is refused.
    let elsewhere = shown.replacen("127.0.0.1", "localhost", 1);
    let refused = svix
        .endpoint()
        .upsert(app.id.clone(), ep.id.clone(), EndpointUpsertIn::new(elsewhere))
        .await
        .expect_err("the marker is no password");
    assert_eq!(status_of(refused), 422);

    let attempts = admin_json(&server, &format!("/api/v1/app/{}/attempt/endpoint/{}", app.id, ep.id)).await;
    let text = attempts.to_string();
    assert!(text.contains("hook:••••@") && !text.contains("pa55word"), "attempts hide it too: {text}");
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

async fn admin_json(server: &TestServer, path: &str) -> serde_json::Value {
    let r = http().get(format!("{}{path}", server.base_url)).bearer_auth(&server.token).send().await;
    r.expect("the API answers").json().await.expect("JSON")
}

crate::on_both_stores!(a_password_in_an_endpoint_url_is_never_shown_and_survives_an_update);
