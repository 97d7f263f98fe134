//! The `herald listen` story: a real server, the real `herald listen` binary relaying
//! a Stripe source to a local receiver that checks Stripe's signature; the listener
//! killed while events keep arriving, then started again — it replays exactly what
//! it missed; the server killed and restarted under it — it reconnects by itself;
//! and a second listener with `--since` backfilling history, signed by Herald.

use std::collections::BTreeMap;

use herald_testkit::{Backend, Received, TestReceiver};
use serde_json::json;

use crate::common::*;
use crate::forward::store_args;
use crate::process::{Node, TOKEN, Watcher, post};
use crate::providers::*;

/// Waits until `n` events were relayed (answered 200 by the local receiver).
async fn wait_for_relayed(listener: &Watcher, n: usize) {
    listener.wait_for_lines(n, &format!("{n} events relayed"), |l| l.contains("-> 200")).await;
}

/// Stripe's event `evt_{i}`, sent to the source's URL, signed as Stripe signs.
async fn stripe_event(base: &str, i: usize) {
    let body = format!(r#"{{"id": "evt_{i}", "type": "invoice.paid"}}"#);
    let headers = [("stripe-signature".to_owned(), stripe_signature(STRIPE_SECRET, body.as_bytes(), now()))];
    let answer = post_in(base, "/in/stripe-dev", &headers, body.as_bytes()).await;
    assert_eq!(answer.status, 200, "event {i} accepted");
}

/// How many times each Stripe event id reached the receiver.
fn event_counts(got: &[Received]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in got {
        let body: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON body");
        *counts.entry(body["id"].as_str().expect("event id").to_owned()).or_insert(0) += 1;
    }
    counts
}

async fn herald_listen_relays_replays_what_it_missed_and_survives_a_server_restart(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let mut node = Node::spawn(dir.path(), &store_args(&backend));
    node.ready().await;
    let client = http();
    let app = post(&client, format!("{}/api/v1/app", node.base), json!({"name": "dev"})).await.expect("app");
    let source = json!({
        "name": "Stripe (dev)", "uid": "stripe-dev", "appId": app["id"],
        "verifier": {"type": "stripe", "secret": STRIPE_SECRET}
    });
    post(&client, format!("{}/api/v1/source", node.base), source).await.expect("source");
    let local = TestReceiver::start().await;
    let state = tempfile::tempdir().expect("state dir");
    let args: Vec<String> = [
        "--server",
        &node.base,
        "--token",
        TOKEN,
        "--source",
        "stripe-dev",
        "--forward-to",
        &local.url,
        "--state-dir",
        &state.path().display().to_string(),
    ]
    .map(str::to_owned)
    .to_vec();

    let mut listener = Watcher::spawn("listen", &args);
    listener.wait_for_line("the banner", |l| l.contains("Ctrl-C to stop")).await;
    let banner = listener.lines().join("\n");
    assert!(banner.contains("/in/src_"), "the ingest URL is printed: {banner}");
    for i in 0..2 {
        stripe_event(&node.base, i).await;
    }
    wait_for_relayed(&listener, 2).await;
    for got in local.wait_for(2, WAIT).await {
        stripe_verifies(STRIPE_SECRET, got.header("stripe-signature"), &got.body)
            .expect("relayed with the provider's headers: Stripe's signature checks out locally");
    }
    let line = listener.lines().into_iter().find(|l| l.contains("-> 200")).expect("a relayed line");
    assert!(line.contains("invoice.paid") && line.contains("msg_") && line.contains(" ms"), "{line}");

    listener.kill();
    for i in 2..4 {
        stripe_event(&node.base, i).await;
    }
    let listener = Watcher::spawn("listen", &args);
    listener.wait_for_line("resuming where it stopped", |l| l.contains("Resuming")).await;
    wait_for_relayed(&listener, 2).await;
    let counts = event_counts(&local.wait_for(4, WAIT).await);
    assert_eq!(
        counts.values().copied().collect::<Vec<_>>(),
        [1, 1, 1, 1],
        "missed events replayed once: {counts:?}"
    );

    node.crash_and_restart();
    node.ready().await;
    stripe_event(&node.base, 4).await;
    wait_for_relayed(&listener, 3).await;
    assert!(listener.lines().iter().any(|l| l.contains("disconnected")), "the lost stream is reported");
    let counts = event_counts(&local.wait_for(5, WAIT).await);
    assert_eq!(counts.len(), 5, "the event sent after the server restart arrives too: {counts:?}");

    let history = TestReceiver::start().await;
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let other_state = tempfile::tempdir().expect("state dir");
    let mut backfill_args = args.clone();
    backfill_args[7] = history.url.clone();
    backfill_args[9] = other_state.path().display().to_string();
    backfill_args.extend(["--since", "1h", "--headers", "herald", "--secret", secret].map(str::to_owned));
    let _backfill = Watcher::spawn("listen", &backfill_args);
    let got = history.wait_for(5, WAIT).await;
    assert_eq!(event_counts(&got).len(), 5, "--since replays the history");
    for r in &got {
        verify(secret, r).expect("--headers herald signs with the listener's secret");
    }
    assert_eq!(event_counts(&local.received()).values().sum::<usize>(), 5, "nothing was relayed twice");
}

crate::on_both_stores!(herald_listen_relays_replays_what_it_missed_and_survives_a_server_restart);
