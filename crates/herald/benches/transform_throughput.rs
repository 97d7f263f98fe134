//! Delivery throughput with and without an endpoint transformation, end to end on
//! loopback: a real server (the testkit's, on a temporary SQLite store), one
//! endpoint at a recording receiver, messages of about 512 bytes posted through the
//! HTTP API 32 at a time, timed from the first post until the receiver has them all.
//! Each variant — no transformation, a template, a JavaScript function — runs three
//! times on a fresh server; the medians and their ratios are printed.
//!
//! Run it outside the lead's release directory and not while `/tmp/herald-quiet`
//! exists:
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/herald-bench-target cargo bench -p herald --bench transform_throughput
//! ```
//!
//! `BENCH_N` sets the messages per run (default 10,000).

use std::time::{Duration, Instant};

use herald_testkit::{TestReceiver, TestServer};
use serde_json::json;

const TEMPLATE: &str = r#"{
  "headers": {"Content-Type": "application/json", "X-Event": "{{ event_type }}"},
  "json": {"text": "{{ event_type }} #{{ payload.i }}", "id": "{{ msg_id }}", "data": "{{ payload }}"}
}"#;

const JAVASCRIPT: &str = r#"function handler(webhook) {
  webhook.headers["X-Event"] = webhook.eventType;
  webhook.payload = { text: webhook.eventType + " #" + webhook.payload.i, id: webhook.msgId, data: webhook.payload };
  return webhook;
}"#;

const CONCURRENCY: usize = 32;
const WARMUP: usize = 200;

fn main() {
    let n: usize = std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let variants: [(&str, Option<(&str, &str)>); 3] = [
        ("none", None),
        ("template", Some(("template", TEMPLATE))),
        ("javascript", Some(("javascript", JAVASCRIPT))),
    ];
    // Interleaved (none, template, javascript, none, …) so that a slow spell of the
    // machine touches every variant alike.
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for _ in 0..3 {
        for (i, (_, transformation)) in variants.iter().enumerate() {
            rates[i].push(rt.block_on(run(n, *transformation)));
        }
    }
    let mut medians = Vec::new();
    for ((name, _), mut runs) in variants.iter().zip(rates) {
        let shown: Vec<String> = runs.iter().map(|r| format!("{r:.0}")).collect();
        println!("{name:<10} deliveries/s per run: {}", shown.join(", "));
        runs.sort_by(f64::total_cmp);
        medians.push((*name, runs[1]));
    }
    let base = medians[0].1;
    for (name, median) in &medians {
        println!("{name:<10} median {median:>8.0} deliveries/s   {:.2}x of none", median / base);
    }
}

/// Deliveries per second for `n` messages to one endpoint with `transformation`.
async fn run(n: usize, transformation: Option<(&str, &str)>) -> f64 {
    let server = TestServer::start().await;
    let receiver = TestReceiver::start().await;
    let client = reqwest::Client::new();
    let api = |path: &str| format!("{}/api/v1{path}", server.base_url);
    let post = async |path: &str, body: serde_json::Value| -> serde_json::Value {
        let r = client.post(api(path)).bearer_auth(&server.token).json(&body).send().await.expect("post");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.expect("JSON")
    };
    let app = post("/app", json!({"name": "bench"})).await["id"].as_str().expect("app id").to_owned();
    let ep = post(&format!("/app/{app}/endpoint"), json!({"url": receiver.url})).await;
    let ep = ep["id"].as_str().expect("endpoint id").to_owned();
    if let Some((kind, code)) = transformation {
        let path = api(&format!("/app/{app}/endpoint/{ep}/transformation"));
        let r =
            client.patch(path).bearer_auth(&server.token).json(&json!({"kind": kind, "code": code})).send();
        assert!(r.await.expect("patch").status().is_success(), "the transformation is accepted");
    }
    send(&client, &api(&format!("/app/{app}/msg")), &server.token, WARMUP).await;
    receiver.wait_for_arrivals(WARMUP, Duration::from_secs(60)).await;
    let started = Instant::now();
    send(&client, &api(&format!("/app/{app}/msg")), &server.token, n).await;
    receiver.wait_for_arrivals(WARMUP + n, Duration::from_secs(300)).await;
    n as f64 / started.elapsed().as_secs_f64()
}

/// Posts `n` messages of about 512 bytes, `CONCURRENCY` at a time.
async fn send(client: &reqwest::Client, url: &str, token: &str, n: usize) {
    let pad = "x".repeat(450);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        if tasks.len() >= CONCURRENCY {
            tasks.join_next().await.expect("a task").expect("posted");
        }
        let body = json!({"eventType": "bench.event", "payload": {"i": i, "pad": pad}});
        let request = client.post(url).bearer_auth(token).json(&body).send();
        tasks.spawn(async move { assert_eq!(request.await.expect("post").status(), 202) });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("posted");
    }
}
