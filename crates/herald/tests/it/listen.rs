//! The `herald listen` story: a real server, the real `herald listen` binary relaying
//! a Stripe source to a local receiver that checks Stripe's signature; the listener
//! killed while events keep arriving, then started again — it replays exactly what
//! it missed; the server killed and restarted under it — it reconnects by itself;
//! and a second listener with `--since` backfilling history, signed by Herald.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use herald_testkit::{Backend, Received, TestReceiver};
use serde_json::json;

use crate::common::*;
use crate::forward::store_args;
use crate::process::{Node, TOKEN, post};
use crate::providers::*;

/// A `herald listen` child process whose stdout lines are collected.
struct Listener {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Listener {
    fn spawn(args: &[String]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .arg("listen")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("herald listen starts");
        let stdout = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        Self { child, lines }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn wait_for_line(&self, what: &str, pred: impl Fn(&str) -> bool) {
        eventually(what, || std::future::ready(self.lines().iter().any(|l| pred(l)))).await;
    }

    async fn wait_for_relayed(&self, n: usize) {
        let relayed = |l: &str| l.contains("-> 200");
        eventually(&format!("{n} events relayed"), || {
            std::future::ready(self.lines().iter().filter(|l| relayed(l)).count() >= n)
        })
        .await;
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.kill();
    }
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

    let mut listener = Listener::spawn(&args);
    listener.wait_for_line("the banner", |l| l.contains("Ctrl-C to stop")).await;
    let banner = listener.lines().join("\n");
    assert!(banner.contains("/in/src_"), "the ingest URL is printed: {banner}");
    for i in 0..2 {
        stripe_event(&node.base, i).await;
    }
    listener.wait_for_relayed(2).await;
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
    let listener = Listener::spawn(&args);
    listener.wait_for_line("resuming where it stopped", |l| l.contains("Resuming")).await;
    listener.wait_for_relayed(2).await;
    let counts = event_counts(&local.wait_for(4, WAIT).await);
    assert_eq!(
        counts.values().copied().collect::<Vec<_>>(),
        [1, 1, 1, 1],
        "missed events replayed once: {counts:?}"
    );

    node.crash_and_restart();
    node.ready().await;
    stripe_event(&node.base, 4).await;
    listener.wait_for_relayed(3).await;
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
    let _backfill = Listener::spawn(&backfill_args);
    let got = history.wait_for(5, WAIT).await;
    assert_eq!(event_counts(&got).len(), 5, "--since replays the history");
    for r in &got {
        verify(secret, r).expect("--headers herald signs with the listener's secret");
    }
    assert_eq!(event_counts(&local.received()).values().sum::<usize>(), 5, "nothing was relayed twice");
}

crate::on_both_stores!(herald_listen_relays_replays_what_it_missed_and_survives_a_server_restart);
