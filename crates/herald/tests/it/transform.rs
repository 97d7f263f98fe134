//! Transformations and payload filters, end to end: an endpoint's template or
//! JavaScript decides the request actually sent (method, URL, body) and Herald signs
//! what it sends; a skip or a filter settles the delivery as filtered with no
//! attempt; a runaway script fails its own attempt and nothing else; the dry run
//! shows the request without sending it; a preset delivers its destination's shape.

use herald_testkit::{Backend, TestReceiver, TestServer};
use serde_json::{Value, json};
use svix::models::MessageIn;

use crate::common::*;

/// A JSON request to Herald's API with the admin token; returns (status, body).
async fn call(server: &TestServer, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = http().request(method, format!("{}{path}", server.base_url)).bearer_auth(&server.token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let response = req.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The newest attempt of `/api/v1/app/{list}` (an attempt list), once there is one.
async fn first_attempt(server: &TestServer, list: &str) -> Value {
    let path = format!("/api/v1/app/{list}");
    let attempts = async || {
        let data = call(server, reqwest::Method::GET, &path, None).await.1["data"].as_array().cloned();
        data.unwrap_or_default()
    };
    eventually("the attempt is recorded", async || !attempts().await.is_empty()).await;
    attempts().await.remove(0)
}

async fn set_transformation(
    server: &TestServer,
    app: &str,
    ep: &str,
    kind: &str,
    code: &str,
) -> (u16, Value) {
    let path = format!("/api/v1/app/{app}/endpoint/{ep}/transformation");
    call(server, reqwest::Method::PATCH, &path, Some(json!({"kind": kind, "code": code}))).await
}

/// The message's destinations as raw JSON (Herald's `filtered` field included).
async fn destinations(server: &TestServer, app: &str, msg: &str) -> Vec<Value> {
    let (status, body) =
        call(server, reqwest::Method::GET, &format!("/api/v1/app/{app}/msg/{msg}/endpoint"), None).await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().expect("data").clone()
}

async fn a_template_sets_method_url_and_body_and_the_signature_covers_that_body(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let svix = sdk(&server);
    let (app, ep, secret) = app_with_endpoint(&svix, &receiver.url).await;
    let template = r#"{
        "method": "PUT",
        "url": "{{ url }}/orders/{{ payload.order }}?src=herald&type={{ event_type | urlencode }}",
        "json": {"id": "{{ payload.order }}", "cents": "{{ payload.amount * 100 }}", "kind": "{{ event_type }}"}
    }"#;
    let (status, body) = set_transformation(&server, &app, &ep, "template", template).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["kind"].as_str(), body["enabled"].as_bool()), (Some("template"), Some(true)));

    let msg = MessageIn::new("order.paid".into(), json!({"order": "ord_7", "amount": 42}));
    let msg = svix.message().create(app.clone(), msg, None).await.expect("accepted");
    let got = receiver.wait_for(1, WAIT).await;
    let req = &got[0];
    assert_eq!(req.method, http::Method::PUT);
    assert_eq!(req.path, "/hook/orders/ord_7");
    assert_eq!(req.query.as_deref(), Some("src=herald&type=order.paid"));
    let sent: Value = serde_json::from_slice(&req.body).expect("a JSON body");
    assert_eq!(sent, json!({"id": "ord_7", "cents": 4200, "kind": "order.paid"}));
    assert_eq!(req.header("webhook-id"), msg.id);
    verify(&secret, req).expect("the signature covers the body actually sent");

    let list = async || svix.message_attempt().list_by_msg(app.clone(), msg.id.clone(), None).await;
    eventually("the attempt is recorded", async || !list().await.expect("attempts").data.is_empty()).await;
    assert_eq!(list().await.expect("attempts").data[0].response_status_code, 200);
}

async fn a_javascript_transformation_rewrites_or_skips_and_a_skip_makes_no_attempt(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let svix = sdk(&server);
    let (app, ep, secret) = app_with_endpoint(&svix, &receiver.url).await;
    let code = r#"function handler(webhook) {
        if (webhook.payload.internal) { webhook.cancel = true; return webhook; }
        webhook.payload = { text: webhook.eventType + " for " + webhook.payload.user };
        return webhook;
    }"#;
    let (status, body) = set_transformation(&server, &app, &ep, "javascript", code).await;
    assert_eq!(status, 200, "{body}");

    let send = async |payload: Value| {
        let msg = MessageIn::new("user.created".into(), payload);
        svix.message().create(app.clone(), msg, None).await.expect("accepted").id
    };
    let skipped = send(json!({"user": "root", "internal": true})).await;
    let sent = send(json!({"user": "ada"})).await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&got[0].body).expect("JSON"),
        json!({"text": "user.created for ada"})
    );
    assert_eq!(got[0].header("webhook-id"), sent);
    verify(&secret, &got[0]).expect("signed over the rewritten body");

    eventually("the skipped delivery is settled", async || {
        destinations(&server, &app, &skipped).await[0]["filtered"] == json!(true)
    })
    .await;
    let dest = &destinations(&server, &app, &skipped).await[0];
    assert_eq!((dest["status"].as_i64(), dest["statusText"].as_str()), (Some(0), Some("success")), "{dest}");
    // The Svix SDK reads the same list (its status enum knows only 0..3).
    let listed = svix.message_attempt().list_attempted_destinations(app.clone(), skipped.clone(), None).await;
    assert_eq!(listed.expect("the SDK parses a filtered destination").data[0].id, ep);
    let attempts =
        svix.message_attempt().list_by_msg(app.clone(), skipped.clone(), None).await.expect("attempts");
    assert!(attempts.data.is_empty(), "a skipped message makes no attempt");
    assert_eq!(receiver.received().len(), 1, "the skipped message was never sent");
}

async fn a_runaway_script_fails_its_attempt_and_the_other_endpoint_still_gets_the_message(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let (looping, healthy) = (TestReceiver::start().await, TestReceiver::start().await);
    let svix = sdk(&server);
    let (app, stuck, _) = app_with_endpoint(&svix, &looping.url).await;
    let other = svix
        .endpoint()
        .create(app.clone(), svix::models::EndpointIn::new(healthy.url.clone()), None)
        .await
        .expect("second endpoint");
    let code = "function handler(webhook) { while (true) {} }";
    let (status, body) = set_transformation(&server, &app, &stuck, "javascript", code).await;
    assert_eq!(status, 200, "a loop compiles: {body}");

    let msg = MessageIn::new("a.b".into(), json!({"n": 1}));
    let msg = svix.message().create(app.clone(), msg, None).await.expect("accepted");
    let got = healthy.wait_for(1, WAIT).await;
    assert_eq!(got[0].header("webhook-id"), msg.id);

    let attempt = first_attempt(&server, &format!("{app}/attempt/msg/{}?endpoint_id={stuck}", msg.id)).await;
    assert_eq!(attempt["responseStatusCode"], json!(0), "no request was sent: {attempt}");
    let response = attempt["response"].as_str().unwrap_or_default();
    assert!(response.contains("ran longer than"), "the error is recorded: {attempt}");
    assert!(looping.received().is_empty(), "nothing reached the looping endpoint");
    let dest = destinations(&server, &app, &msg.id).await;
    let of = |id: &str| dest.iter().find(|d| d["id"] == json!(id)).cloned().expect("a destination");
    let stuck_status = of(&stuck)["status"].as_i64();
    assert!(
        matches!(stuck_status, Some(1 | 2)),
        "pending a retry, or failed after the last: {stuck_status:?}"
    );
    assert_eq!(of(&other.id)["status"], json!(0));
    // The server is still fine: another message goes through.
    svix.message()
        .create(app.clone(), MessageIn::new("a.b".into(), json!({"n": 2})), None)
        .await
        .expect("ok");
    healthy.wait_for(2, WAIT).await;
}

async fn a_transformed_url_is_checked_by_the_egress_policy_like_any_endpoint_url(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let svix = sdk(&server);
    let (app, ep, _) = app_with_endpoint(&svix, &receiver.url).await;
    // The cloud metadata address: the endpoint URL is fine, the transformation's is not.
    let code = r#"{"url": "http://169.254.169.254/latest/meta-data/"}"#;
    let (status, body) = set_transformation(&server, &app, &ep, "template", code).await;
    assert_eq!(status, 200, "{body}");
    let msg = svix.message().create(app.clone(), MessageIn::new("a.b".into(), json!({})), None).await;
    let msg = msg.expect("accepted").id;
    let attempt = first_attempt(&server, &format!("{app}/attempt/msg/{msg}")).await;
    let response = attempt["response"].as_str().unwrap_or_default();
    assert!(response.contains("169.254.169.254") && response.contains("refuses"), "{attempt}");
    assert_eq!(attempt["responseStatusCode"], json!(0));
    assert!(receiver.received().is_empty());
}

async fn a_filter_passes_one_message_and_filters_another_with_no_attempt(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let svix = sdk(&server);
    let app = svix.application().create(svix::models::ApplicationIn::new("Acme".into()), None).await;
    let app = app.expect("app created").id;
    let bad = json!({"url": receiver.url, "filter": {"amount": {"$nope": 1}}});
    let (status, body) =
        call(&server, reqwest::Method::POST, &format!("/api/v1/app/{app}/endpoint"), Some(bad)).await;
    assert_eq!(status, 422, "a filter that does not parse is refused: {body}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "filter"]), "{body}");

    let filter = json!({"amount": {"$gte": 100}, "currency": "EUR"});
    let ep_in = json!({"url": receiver.url, "filter": filter});
    let (status, ep) =
        call(&server, reqwest::Method::POST, &format!("/api/v1/app/{app}/endpoint"), Some(ep_in)).await;
    assert_eq!(status, 201, "{ep}");
    assert_eq!(ep["filter"], filter, "the filter is part of the endpoint");
    let ep_id = ep["id"].as_str().expect("id").to_owned();
    let fetched = svix.endpoint().get(app.clone(), ep_id.clone()).await.expect("the SDK reads the endpoint");
    assert_eq!(fetched.url, receiver.url);

    let send = async |payload: Value| {
        let msg = MessageIn::new("payment.made".into(), payload);
        svix.message().create(app.clone(), msg, None).await.expect("accepted").id
    };
    let small = send(json!({"amount": 5, "currency": "EUR"})).await;
    let big = send(json!({"amount": 500, "currency": "EUR"})).await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].header("webhook-id"), big);
    eventually("the small payment is settled as filtered", async || {
        destinations(&server, &app, &small).await[0]["filtered"] == json!(true)
    })
    .await;
    assert!(destinations(&server, &app, &big).await[0].get("filtered").is_none());
    let attempts = svix.message_attempt().list_by_msg(app.clone(), small.clone(), None).await;
    assert!(attempts.expect("attempts").data.is_empty(), "a filtered message makes no attempt");
    assert_eq!(receiver.received().len(), 1);
    let (_, stats) =
        call(&server, reqwest::Method::GET, &format!("/api/v1/app/{app}/endpoint/{ep_id}/stats"), None).await;
    assert_eq!((stats["canceled"].as_i64(), stats["success"].as_i64()), (Some(1), Some(1)), "{stats}");

    // PATCH null removes the filter: the next small payment goes out.
    let path = format!("/api/v1/app/{app}/endpoint/{ep_id}");
    let (status, out) = call(&server, reqwest::Method::PATCH, &path, Some(json!({"filter": null}))).await;
    assert_eq!((status, out.get("filter")), (200, None), "{out}");
    let again = send(json!({"amount": 5, "currency": "EUR"})).await;
    assert_eq!(receiver.wait_for(2, WAIT).await[1].header("webhook-id"), again);
}

async fn an_inbound_filter_tests_the_providers_headers(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let (status, app) =
        call(&server, reqwest::Method::POST, "/api/v1/app", Some(json!({"name": "Inbox"}))).await;
    assert_eq!(status, 201, "{app}");
    let app = app["id"].as_str().expect("app id").to_owned();
    let ep_in = json!({"url": receiver.url, "filter": {"$headers.x-github-event": "push"}});
    let (status, ep) =
        call(&server, reqwest::Method::POST, &format!("/api/v1/app/{app}/endpoint"), Some(ep_in)).await;
    assert_eq!(status, 201, "{ep}");
    let source = json!({"name": "GitHub", "uid": "gh", "appId": app, "verifier": {"type": "none"}});
    let (status, body) = call(&server, reqwest::Method::POST, "/api/v1/source", Some(source)).await;
    assert_eq!(status, 201, "{body}");
    let post = async |event: &str| {
        let headers = [
            ("x-github-event".to_owned(), event.to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
        ];
        let answer =
            crate::providers::post_in(&server.base_url, "/in/gh", &headers, br#"{"ref": "main"}"#).await;
        assert_eq!(answer.status, 200);
        serde_json::from_slice::<Value>(&answer.body).expect("JSON")["id"]
            .as_str()
            .expect("msg id")
            .to_owned()
    };
    let issue = post("issues").await;
    let push = post("push").await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].header("webhook-id"), push, "only the push event passes the header filter");
    eventually("the issues event is settled as filtered", async || {
        destinations(&server, &app, &issue).await[0]["filtered"] == json!(true)
    })
    .await;
    assert_eq!(receiver.received().len(), 1);
}

async fn the_dry_run_shows_the_signed_request_and_sends_nothing(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let svix = sdk(&server);
    let (app, ep, secret) = app_with_endpoint(&svix, &receiver.url).await;
    let path = format!("/api/v1/app/{app}/endpoint/{ep}/transformation/simulate");
    let code = r#"{"method": "PATCH", "url": "{{ url }}?n={{ payload.n }}", "body": "n={{ payload.n }}",
        "headers": {"Content-Type": "text/plain"}}"#;
    let sample = json!({"kind": "template", "code": code, "eventType": "a.b", "payload": {"n": 3}});
    let (status, out) = call(&server, reqwest::Method::POST, &path, Some(sample)).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!((out["method"].as_str(), out["body"].as_str()), (Some("PATCH"), Some("n=3")), "{out}");
    assert_eq!(out["url"], json!(format!("{}?n=3", receiver.url)));
    assert_eq!(out["headers"]["content-type"], json!("text/plain"));
    // The signature it shows verifies over the body it shows.
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, out["headers"][name].as_str().expect(name).parse().expect("header value"));
    }
    let wh = svix::webhooks::Webhook::new(&secret).expect("secret");
    wh.verify(b"n=3", &headers).expect("the dry run's signature verifies");

    let broken = json!({"kind": "javascript", "code": "function handler(w) {\n  return w +;\n}", "eventType": "a.b", "payload": {}});
    let (status, out) = call(&server, reqwest::Method::POST, &path, Some(broken)).await;
    assert_eq!(status, 422, "{out}");
    assert!(out["detail"][0]["msg"].as_str().expect("msg").contains("line 2"), "{out}");
    let skip = json!({"kind": "javascript", "code": "function handler(w) { w.cancel = true; return w }", "eventType": "a.b", "payload": {}});
    let (status, out) = call(&server, reqwest::Method::POST, &path, Some(skip)).await;
    assert_eq!((status, &out["skip"]), (200, &json!(true)), "{out}");

    // An existing message, through the endpoint's own (saved) transformation.
    let (status, _) =
        set_transformation(&server, &app, &ep, "template", r#"{"json": {"wrapped": "{{ payload }}"}}"#).await;
    assert_eq!(status, 200);
    let msg = svix
        .message()
        .create(app.clone(), MessageIn::new("a.b".into(), json!({"k": 1})), None)
        .await
        .expect("ok");
    receiver.wait_for(1, WAIT).await;
    let (status, out) = call(&server, reqwest::Method::POST, &path, Some(json!({"msgId": msg.id}))).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        serde_json::from_str::<Value>(out["body"].as_str().expect("body")).expect("JSON"),
        json!({"wrapped": {"k": 1}})
    );
    assert_eq!(receiver.received().len(), 1, "dry runs send nothing");

    // A portal token may use the dry run for its own application only.
    let (_, portal) = call(
        &server,
        reqwest::Method::POST,
        &format!("/api/v1/auth/app-portal-access/{app}"),
        Some(json!({})),
    )
    .await;
    let token = portal["token"].as_str().expect("a portal token");
    let (other, _, _) = app_with_endpoint(&svix, &receiver.url).await;
    let as_portal = async |app: &str| {
        let url = format!("{}/api/v1/app/{app}/endpoint/{ep}/transformation/simulate", server.base_url);
        let body = json!({"eventType": "a.b", "payload": {"k": 2}});
        http().post(url).bearer_auth(token).json(&body).send().await.expect("request").status().as_u16()
    };
    assert_eq!(as_portal(&app).await, 200);
    assert_eq!(as_portal(&other).await, 403, "another application's endpoint");

    // A bad saved transformation is refused with the engine's position.
    let (status, out) = set_transformation(&server, &app, &ep, "template", "{\"url\": \"{{ url \"}").await;
    assert_eq!(status, 422, "{out}");
}

async fn a_slack_preset_delivers_slacks_message_shape(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let svix = sdk(&server);
    let (app, ep, _) = app_with_endpoint(&svix, &receiver.url).await;
    let (status, presets) = call(&server, reqwest::Method::GET, "/api/v1/transformation/presets", None).await;
    assert_eq!(status, 200, "{presets}");
    let slack = presets["data"].as_array().expect("data").iter().find(|p| p["id"] == json!("slack")).cloned();
    let slack = slack.expect("a slack preset");
    let path = format!("/api/v1/app/{app}/endpoint/{ep}/transformation/preset");
    let (status, out) =
        call(&server, reqwest::Method::POST, &path, Some(json!({"preset": "slack", "params": {}}))).await;
    assert_eq!(status, 200, "{out} ({slack})");
    let msg =
        MessageIn::new("invoice.paid".into(), json!({"invoice": "in_1", "summary": "Invoice in_1 paid"}));
    svix.message().create(app.clone(), msg, None).await.expect("accepted");
    let got = receiver.wait_for(1, WAIT).await;
    // Slack's incoming-webhook shape: a fallback `text` and Block Kit `blocks`.
    let body: Value = serde_json::from_slice(&got[0].body).expect("JSON");
    assert_eq!(body["text"], json!("invoice.paid: Invoice in_1 paid"), "{body}");
    assert_eq!(body["blocks"][0]["type"], json!("header"), "{body}");
    assert_eq!(body["blocks"][0]["text"]["text"], json!("invoice.paid"), "{body}");
    assert_eq!(got[0].header("content-type"), "application/json");
    assert_eq!(got[0].method, http::Method::POST);
}

/// The dry run shows credential headers (a preset's Authorization) as attempts do: ••••.
async fn the_dry_run_never_shows_a_credential_header(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let (app, ep, _) = app_with_endpoint(&sdk(&server), &receiver.url).await;
    let headers = json!({"headers": {"Authorization": "Bearer top-secret-token", "X-Team": "ops"}});
    let (status, _) = call(
        &server,
        reqwest::Method::PUT,
        &format!("/api/v1/app/{app}/endpoint/{ep}/headers"),
        Some(headers),
    )
    .await;
    assert!((200..300).contains(&status));
    let path = format!("/api/v1/app/{app}/endpoint/{ep}/transformation/simulate");
    let sample = json!({"eventType": "a.b", "payload": {"n": 1}});
    let (status, out) = call(&server, reqwest::Method::POST, &path, Some(sample)).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["headers"]["authorization"], json!("••••"), "{out}");
    assert_eq!(out["headers"]["x-team"], json!("ops"), "other headers as they are");
    assert!(!out.to_string().contains("top-secret-token"));
}

crate::on_both_stores!(
    the_dry_run_never_shows_a_credential_header,
    a_template_sets_method_url_and_body_and_the_signature_covers_that_body,
    a_javascript_transformation_rewrites_or_skips_and_a_skip_makes_no_attempt,
    a_runaway_script_fails_its_attempt_and_the_other_endpoint_still_gets_the_message,
    a_transformed_url_is_checked_by_the_egress_policy_like_any_endpoint_url,
    a_filter_passes_one_message_and_filters_another_with_no_attempt,
    an_inbound_filter_tests_the_providers_headers,
    the_dry_run_shows_the_signed_request_and_sends_nothing,
    a_slack_preset_delivers_slacks_message_shape,
);
