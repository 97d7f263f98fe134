//! Crash safety on the embedded store: `herald serve` is killed with SIGKILL several
//! times while thousands of messages are being posted; after each restart it resumes,
//! and in the end every message that was answered 202 has been delivered. The only
//! duplicates allowed are deliveries that were in flight at a kill.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use herald_testkit::TestReceiver;
use serde_json::json;

use crate::common::http;
use crate::process::{Node, post};

const MESSAGES: usize = 5_000;
const KILLS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_sigkills_during_load_lose_no_accepted_message() {
    let dir = tempfile::tempdir().expect("dir");
    let mut node = Node::spawn(dir.path(), &[]);
    node.ready().await;
    let receiver = TestReceiver::start().await;
    let client = http();
    let app = post(&client, format!("{}/api/v1/app", node.base), json!({"name": "crash"})).await;
    let app = app.expect("app")["id"].as_str().expect("id").to_owned();
    let ep = json!({"url": receiver.url});
    post(&client, format!("{}/api/v1/app/{app}/endpoint", node.base), ep).await.expect("endpoint");

    let url = Arc::new(format!("{}/api/v1/app/{app}/msg", node.base));
    let next = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let mut senders = Vec::new();
    for _ in 0..16 {
        let (client, url, next, accepted) = (client.clone(), url.clone(), next.clone(), accepted.clone());
        senders.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= MESSAGES {
                    break;
                }
                let body = json!({"eventType": "crash.test", "payload": {"i": i}});
                if let Some(m) = post(&client, url.to_string(), body).await {
                    accepted.lock().expect("lock").insert(m["id"].as_str().expect("id").to_owned());
                }
            }
        }));
    }
    // Kill whenever another fifth of the messages has been posted.
    for k in 1..=KILLS {
        while next.load(Ordering::Relaxed) < k * MESSAGES / (KILLS + 1) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        node.crash_and_restart();
        node.ready().await;
    }
    for s in senders {
        s.await.expect("sender");
    }
    let accepted = std::mem::take(&mut *accepted.lock().expect("lock"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !delivered(&receiver).is_superset(&accepted) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let got = delivered(&receiver);
    let total = receiver.received().len();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in receiver.received() {
        *counts.entry(r.header("webhook-id").to_owned()).or_insert(0) += 1;
    }
    eprintln!(
        "crash: {KILLS} SIGKILLs; posted {MESSAGES}, accepted {}, delivered {} unique ({} requests, {} duplicates)",
        accepted.len(),
        got.len(),
        total,
        total - got.len()
    );
    let lost: Vec<_> = accepted.difference(&got).collect();
    assert!(
        lost.is_empty(),
        "{} accepted messages were never delivered, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    assert!(accepted.len() >= MESSAGES / 2, "most posts reach a live server");
}

fn delivered(receiver: &TestReceiver) -> BTreeSet<String> {
    receiver.received().iter().map(|r| r.header("webhook-id").to_owned()).collect()
}
