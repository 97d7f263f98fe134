//! Operability: retention purges what expired while the server runs, `/metrics`
//! counts what happened, and every API answer carries a request id.

use std::time::Duration;

use herald_testkit::{Backend, TestReceiver, TestServer};
use serde_json::{Value, json};

use crate::common::*;

/// GETs `path` with the admin token and returns the JSON body.
async fn get_json(server: &TestServer, path: &str) -> Value {
    let response = http().get(format!("{}{path}", server.base_url)).bearer_auth(&server.token).send().await;
    let response = response.expect("GET");
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.expect("JSON")
}

async fn retention_purges_payloads_and_response_bodies_while_running(backend: Backend) {
    let receiver = TestReceiver::start().await;
    let server = TestServer::start_on(&backend, |c| {
        c.retention = Duration::from_secs(1);
        c.retention_sweep = Duration::from_millis(100);
    })
    .await;
    let svix = sdk(&server);
    let (app, _, _) = app_with_endpoint(&svix, &receiver.url).await;
    let msg = svix
        .message()
        .create(app.clone(), svix::models::MessageIn::new("a.b".into(), json!({"keep": "me?"})), None)
        .await
        .expect("accepted");
    receiver.wait_for(1, WAIT).await;
    let message = format!("/api/v1/app/{app}/msg/{}", msg.id);
    let attempts = format!("/api/v1/app/{app}/attempt/msg/{}", msg.id);
    eventually("the attempt is recorded", async || {
        get_json(&server, &attempts).await["data"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    // Retention is 1 s: the payload expires with its message, the response body
    // with its attempt's age; the sweep runs every 100 ms.
    eventually("the payload and the response body are purged", async || {
        let payload = get_json(&server, &message).await["payload"].clone();
        let response = get_json(&server, &attempts).await["data"][0]["response"].clone();
        payload == json!({"expired": true}) && response == json!("")
    })
    .await;
    let kept = get_json(&server, &message).await;
    assert_eq!((kept["id"].as_str(), kept["eventType"].as_str()), (Some(msg.id.as_str()), Some("a.b")));
    server.stop().await;
}

crate::on_both_stores!(retention_purges_payloads_and_response_bodies_while_running);

/// The value of a sample line `name{labels} value` (the first whose name and
/// labels start as given), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with([' ', '{', ',']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(server: &TestServer) -> String {
    // No token: Prometheus scrapes without one.
    let response = http().get(format!("{}/metrics", server.base_url)).send().await.expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"].to_str().expect("ascii").to_owned();
    assert!(kind.starts_with("text/plain"), "{kind}");
    response.text().await.expect("text")
}

#[tokio::test]
async fn metrics_count_accepted_messages_attempts_and_latency() {
    let receiver = TestReceiver::start().await;
    let server = TestServer::start().await;
    let svix = sdk(&server);
    let (app, _, _) = app_with_endpoint(&svix, &receiver.url).await;
    // Other tests in this binary share the process's recorder: compare before/after.
    let before = scrape(&server).await;
    for i in 0..5 {
        let msg = svix::models::MessageIn::new("a.b".into(), json!({"i": i}));
        svix.message().create(app.clone(), msg, None).await.expect("accepted");
    }
    receiver.wait_for(5, WAIT).await;
    let success = "herald_attempts_total{outcome=\"success\"}";
    eventually("the attempts are counted", async || {
        sample(&scrape(&server).await, success) - sample(&before, success) >= 5.0
    })
    .await;
    let after = scrape(&server).await;
    let delta = |series| sample(&after, series) - sample(&before, series);
    assert!(delta("herald_messages_accepted_total") >= 5.0, "{after}");
    assert!(delta("herald_delivery_latency_seconds_count") >= 5.0, "{after}");
    assert!(after.contains("herald_delivery_latency_seconds_bucket{le=\"0.01\"}"), "{after}");
    for gauge in
        ["herald_queue_due", "herald_queue_scheduled", "herald_leases_held", "herald_endpoints_disabled"]
    {
        assert!(after.lines().any(|l| l.starts_with(gauge)), "{gauge} is exported: {after}");
    }
    server.stop().await;
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let server = TestServer::start().await;
    let url = format!("{}/api/v1/app", server.base_url);
    let given = http().get(&url).bearer_auth(&server.token).header("x-request-id", "trace-42").send().await;
    assert_eq!(given.expect("GET").headers()["x-request-id"], "trace-42", "the caller's id is echoed");
    let made = http().get(&url).send().await.expect("GET without a token");
    assert_eq!(made.status(), 401);
    let id = made.headers()["x-request-id"].to_str().expect("ascii").to_owned();
    assert!(id.starts_with("req_"), "one is made up when none is given: {id}");
    server.stop().await;
}
