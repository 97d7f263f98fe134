//! Endpoint health and operational webhooks: a `410` disables an endpoint, so does
//! failing for the whole configured window, and the operator hears of it, and of
//! endpoint changes and of messages failing, exhausted and recovered, through
//! signed webhooks (checked with the Svix SDK's verifier) that the same engine
//! delivers. Events about the operational application itself are never sent.

use std::time::Duration;

use herald::Config;
use herald_testkit::{Backend, Received, Reply, TestReceiver, TestServer};
use serde_json::{Value, json};
use svix::api::Svix;
use svix::models::{ApplicationIn, EndpointIn, EndpointPatch, MessageIn, MessageStatus, RecoverIn};

use crate::common::*;

const OPS: &str = "herald-operational";

/// A server whose operational webhooks go to a receiver of their own.
struct Ops {
    server: TestServer,
    svix: Svix,
    receiver: TestReceiver,
    secret: String,
}

impl Ops {
    async fn start(backend: &Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let receiver = TestReceiver::start().await;
        let url = receiver.url.clone();
        let server = TestServer::start_on(backend, |c| {
            c.operational_webhook_urls = vec![url];
            tweak(c);
        })
        .await;
        let svix = sdk(&server);
        let secret = svix.endpoint().get_secret(OPS.into(), "config-1".into()).await.expect("secret").key;
        Self { server, svix, receiver, secret }
    }

    /// Every event received so far, each verified with the operational secret.
    fn events(&self) -> Vec<Value> {
        self.receiver.received().iter().map(|r| self.verified(r)).collect()
    }

    fn verified(&self, r: &Received) -> Value {
        verify(&self.secret, r).expect("operational webhooks are signed with the endpoint's secret");
        serde_json::from_slice(&r.body).expect("a JSON body")
    }

    /// Waits for the first event of `kind` and returns it.
    async fn event(&self, kind: &str) -> Value {
        self.event_where(kind, |_| true).await
    }

    /// Waits for the first event of `kind` about the endpoint `ep`.
    async fn event_about(&self, kind: &str, ep: &str) -> Value {
        self.event_where(kind, |e| e["data"]["endpointId"] == ep).await
    }

    async fn event_where(&self, kind: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let seen = self.events();
            if let Some(found) = seen.iter().find(|e| e["type"] == kind && wanted(e)) {
                return found.clone();
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(!left.is_zero(), "no {kind} among {seen:?}");
            self.receiver.wait_for(seen.len() + 1, left).await;
        }
    }

    /// An endpoint as the API shows it, Herald's own fields included.
    async fn endpoint_json(&self, app: &str, ep: &str) -> Value {
        let url = format!("{}/api/v1/app/{app}/endpoint/{ep}", self.server.base_url);
        let response = http().get(url).bearer_auth(&self.server.token).send().await.expect("get endpoint");
        response.json().await.expect("JSON endpoint")
    }

    async fn status_of(&self, app: &str, msg: &str, ep: &str) -> Option<MessageStatus> {
        let dest =
            self.svix.message_attempt().list_attempted_destinations(app.into(), msg.into(), None).await;
        dest.expect("destinations").data.into_iter().find(|d| d.id == ep).map(|d| d.status)
    }
}

fn send(n: u32) -> MessageIn {
    MessageIn::new("order.paid".into(), json!({"n": n}))
}

async fn a_410_disables_the_endpoint_and_re_enabling_starts_afresh(backend: Backend) {
    let ops = Ops::start(&backend, |c| c.retry.schedule = vec![Duration::from_secs(30); 3]).await;
    let receiver = TestReceiver::start().await;
    receiver.script([Reply::status(500), Reply::status(410)]);
    let (app, ep, _) = app_with_endpoint(&ops.svix, &receiver.url).await;
    let first = ops.svix.message().create(app.clone(), send(1), None).await.expect("accepted");
    receiver.wait_for(1, WAIT).await;
    ops.svix.message().create(app.clone(), send(2), None).await.expect("accepted");

    let disabled = ops.event("endpoint.disabled").await;
    assert_eq!(disabled["data"]["appId"], app.as_str());
    assert_eq!(disabled["data"]["endpointId"], ep.as_str());
    let fail_since = disabled["data"]["failSince"].as_str().expect("failSince");
    assert!(chrono::DateTime::parse_from_rfc3339(fail_since).is_ok(), "{fail_since}");
    let shown = ops.endpoint_json(&app, &ep).await;
    assert_eq!(shown["disabled"], true);
    assert!(shown["disabledReason"].as_str().is_some_and(|r| r.contains("410")), "{shown}");
    eventually("the pending retry of the first message is failed, not attempted", || async {
        ops.status_of(&app, &first.id, &ep).await == Some(MessageStatus::Fail)
    })
    .await;

    let enable = EndpointPatch { disabled: Some(false), ..EndpointPatch::new() };
    ops.svix.endpoint().patch(app.clone(), ep.clone(), enable).await.expect("re-enabled");
    assert!(ops.endpoint_json(&app, &ep).await.get("disabledReason").is_none(), "the reason goes with it");
    let since = chrono::Utc::now() - chrono::Duration::minutes(1);
    ops.svix.endpoint().recover(app.clone(), ep.clone(), RecoverIn::new(since), None).await.expect("recover");
    let got = receiver.wait_for(4, WAIT).await;
    assert_eq!(got.len(), 4, "both failed messages are delivered once each after recovery");
}

async fn an_endpoint_failing_for_the_whole_window_is_disabled(backend: Backend) {
    let ops = Ops::start(&backend, |c| {
        c.health.disable_after = Some(Duration::from_secs(1));
        c.retry.schedule = vec![Duration::from_millis(200); 30];
    })
    .await;
    let receiver = TestReceiver::start().await;
    receiver.always(Reply::status(500));
    let (app, ep, _) = app_with_endpoint(&ops.svix, &receiver.url).await;
    let started = chrono::Utc::now();
    ops.svix.message().create(app.clone(), send(1), None).await.expect("accepted");

    let disabled = ops.event("endpoint.disabled").await;
    assert_eq!(disabled["data"]["endpointId"], ep.as_str());
    let since = disabled["data"]["failSince"].as_str().expect("failSince");
    let since = chrono::DateTime::parse_from_rfc3339(since).expect("a time");
    let attempts = receiver.received().len();
    assert!(
        attempts >= 5,
        "disabled after a second of failures (200 ms apart), not before: {attempts} attempts"
    );
    assert!(since >= started - chrono::Duration::seconds(1), "fail_since is the first failure: {since}");
    let shown = ops.endpoint_json(&app, &ep).await;
    assert_eq!(shown["disabled"], true);
    assert!(shown["disabledReason"].as_str().is_some_and(|r| r.contains("failed for 1s")), "{shown}");
}

async fn an_exhausted_message_is_reported_and_operational_failures_do_not_loop(backend: Backend) {
    let ops = Ops::start(&backend, |_| {}).await;
    let broken_ops = TestReceiver::start().await;
    broken_ops.always(Reply::status(500));
    let extra = EndpointIn::new(broken_ops.url.clone());
    let extra =
        ops.svix.endpoint().create(OPS.into(), extra, None).await.expect("a second operational endpoint");
    let receiver = TestReceiver::start().await;
    receiver.always(Reply::status(503));
    let (app, ep, _) = app_with_endpoint(&ops.svix, &receiver.url).await;
    let msg = ops.svix.message().create(app.clone(), send(1), None).await.expect("accepted");

    let exhausted = ops.event("message.attempt.exhausted").await;
    let data = &exhausted["data"];
    assert_eq!((data["appId"].as_str(), data["msgId"].as_str()), (Some(app.as_str()), Some(msg.id.as_str())));
    assert_eq!(data["endpointId"], ep.as_str());
    assert_eq!(data["lastAttempt"]["responseStatusCode"], 503);
    assert!(data["lastAttempt"]["id"].as_str().is_some_and(|id| id.starts_with("atmpt_")));
    assert_eq!(receiver.received().len(), 4, "one attempt and three retries");

    // The broken operational endpoint exhausts its two events (endpoint.created and
    // this one) as well; that must not produce events about the operational app.
    broken_ops.wait_for(8, WAIT).await;
    let op_messages = ops.svix.message().list(OPS.into(), None).await.expect("operational messages").data;
    for m in &op_messages {
        eventually("the broken operational endpoint's deliveries failed", || async {
            ops.status_of(OPS, &m.id, &extra.id).await == Some(MessageStatus::Fail)
        })
        .await;
    }
    let marker = EndpointIn::new(receiver.url.clone());
    let marker = ops.svix.endpoint().create(app.clone(), marker, None).await.expect("a marker endpoint");
    let created = ops.event_about("endpoint.created", &marker.id).await;
    assert_eq!(created["data"]["appId"], app.as_str());
    let kinds: Vec<String> =
        ops.events().iter().map(|e| e["type"].as_str().unwrap_or("").to_owned()).collect();
    assert!(ops.events().iter().all(|e| e["data"]["appId"] == app.as_str()), "{kinds:?}");
    let stored = ops.svix.message().list(OPS.into(), None).await.expect("operational messages").data;
    assert_eq!(stored.len(), 3, "endpoint.created twice and one exhausted; nothing else: {kinds:?}");
}

async fn a_failing_message_that_recovers_sends_failing_then_recovered(backend: Backend) {
    let ops = Ops::start(&backend, |c| c.retry.schedule = vec![Duration::from_millis(50); 6]).await;
    let receiver = TestReceiver::start().await;
    receiver.script((0..4).map(|_| Reply::status(500)));
    let (app, ep, _) = app_with_endpoint(&ops.svix, &receiver.url).await;
    let msg = ops.svix.message().create(app.clone(), send(1), None).await.expect("accepted");

    let failing = ops.event("message.attempt.failing").await;
    assert_eq!(
        (failing["data"]["msgId"].as_str(), failing["data"]["endpointId"].as_str()),
        (Some(msg.id.as_str()), Some(ep.as_str()))
    );
    assert_eq!(failing["data"]["lastAttempt"]["responseStatusCode"], 500);
    let recovered = ops.event("message.attempt.recovered").await;
    assert_eq!(recovered["data"]["msgId"], msg.id.as_str());
    assert_eq!(recovered["data"]["lastAttempt"]["responseStatusCode"], 200);
    assert_eq!(receiver.received().len(), 5, "four failures, then the success");
}

async fn endpoint_changes_send_created_updated_and_deleted(backend: Backend) {
    let ops = Ops::start(&backend, |_| {}).await;
    let other_ops = TestReceiver::start().await;
    let extra = EndpointIn::new(other_ops.url.clone());
    ops.svix
        .endpoint()
        .create(OPS.into(), extra, None)
        .await
        .expect("operational endpoints send nothing about themselves");
    let app = ops.svix.application().create(ApplicationIn::new("Acme".into()), None).await.expect("app").id;
    let ep = EndpointIn { uid: Some("orders".into()), ..EndpointIn::new("https://example.com/hook".into()) };
    let ep = ops.svix.endpoint().create(app.clone(), ep, None).await.expect("created").id;
    let patch = EndpointPatch { description: Some("Orders".into()), ..EndpointPatch::new() };
    ops.svix.endpoint().patch(app.clone(), ep.clone(), patch).await.expect("updated");
    ops.svix.endpoint().delete(app.clone(), ep.clone()).await.expect("deleted");

    for kind in ["endpoint.created", "endpoint.updated", "endpoint.deleted"] {
        let event = ops.event(kind).await;
        assert_eq!(event["data"]["appId"], app.as_str(), "{kind}");
        assert_eq!(event["data"]["endpointId"], ep.as_str(), "{kind}");
        assert_eq!(event["data"]["endpointUid"], "orders", "{kind}");
        assert!(event["data"]["appUid"].is_null(), "{kind}: the application has no uid");
    }
    assert_eq!(ops.events().len(), 3, "nothing about the operational application's own endpoint");
    let second = other_ops.wait_for(3, WAIT).await;
    assert_eq!(second.len(), 3, "an endpoint added to the operational app through the API gets them too");
}

crate::on_both_stores!(
    a_410_disables_the_endpoint_and_re_enabling_starts_afresh,
    an_endpoint_failing_for_the_whole_window_is_disabled,
    an_exhausted_message_is_reported_and_operational_failures_do_not_loop,
    a_failing_message_that_recovers_sends_failing_then_recovered,
    endpoint_changes_send_created_updated_and_deleted
);
