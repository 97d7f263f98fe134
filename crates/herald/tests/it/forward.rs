//! Inbound events on their way out: a destination that verifies the provider's own
//! signature gets the provider's headers and bytes; and a request answered 2xx is
//! stored, so a `herald serve` killed right after still delivers it when it is back.

use std::collections::BTreeSet;

use herald_testkit::{Backend, TestReceiver, TestServer};
use serde_json::json;
use svix::models::EndpointIn;

use crate::common::*;
use crate::process::{Node, post};
use crate::providers::*;

async fn a_destination_verifies_stripes_own_signature_when_sent_the_original_headers(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let (original, signed) = (TestReceiver::start().await, TestReceiver::start().await);
    let svix = sdk(&server);
    let (app, _, herald_secret) = app_with_endpoint(&svix, &signed.url).await;
    let passthrough = EndpointIn {
        metadata: Some([("herald.headers".to_owned(), "original".to_owned())].into_iter().collect()),
        ..EndpointIn::new(original.url.clone())
    };
    svix.endpoint().create(app.clone(), passthrough, None).await.expect("endpoint");
    create_source(
        &server,
        &app,
        json!({"uid": "stripe", "verifier": {"type": "stripe", "secret": STRIPE_SECRET}}),
    )
    .await;

    // Odd spacing and key order: the bytes must arrive exactly as Stripe sent them.
    let body = b"{\"type\":  \"payment_intent.succeeded\",\n \"id\": \"evt_3\", \"data\": {\"object\": {}}}";
    let headers = vec![
        ("stripe-signature".to_owned(), stripe_signature(STRIPE_SECRET, body, now())),
        ("content-type".to_owned(), "application/json; charset=utf-8".to_owned()),
        ("user-agent".to_owned(), "Stripe/1.0 (+https://stripe.com/docs/webhooks)".to_owned()),
    ];
    let answer = post_in(&server.base_url, "/in/stripe", &headers, body).await;
    assert_eq!(answer.status, 200, "{:?}", answer.json());

    let got = &original.wait_for(1, WAIT).await[0];
    assert_eq!(&got.body[..], body, "the provider's bytes, untouched");
    stripe_verifies(STRIPE_SECRET, got.header("stripe-signature"), &got.body)
        .expect("the destination verifies Stripe's signature with Stripe's secret");
    assert_eq!(got.header("user-agent"), "Stripe/1.0 (+https://stripe.com/docs/webhooks)");
    assert!(got.headers.get("webhook-signature").is_none(), "no Herald signature in pass-through");

    let got = &signed.wait_for(1, WAIT).await[0];
    assert_eq!(&got.body[..], body);
    verify(&herald_secret, got).expect("the default endpoint gets Herald's signature");
    assert!(got.headers.get("stripe-signature").is_none(), "and not the provider's");
    assert_eq!(got.header("content-type"), "application/json; charset=utf-8", "with the provider's type");
}

async fn an_inbound_request_answered_2xx_is_delivered_after_a_sigkill(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let mut node = Node::spawn(dir.path(), &store_args(&backend));
    node.ready().await;
    // The destination is down until the server has been killed and restarted.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let client = http();
    let app = post(&client, format!("{}/api/v1/app", node.base), json!({"name": "kill"})).await.expect("app");
    let app = app["id"].as_str().expect("id").to_owned();
    let endpoint = json!({"url": format!("http://127.0.0.1:{port}/hook")});
    post(&client, format!("{}/api/v1/app/{app}/endpoint", node.base), endpoint).await.expect("endpoint");
    let source = json!({"name": "kill", "uid": "kill", "appId": app, "verifier": {"type": "none"}});
    post(&client, format!("{}/api/v1/source", node.base), source).await.expect("source");

    let mut answered = BTreeSet::new();
    for i in 0..30 {
        let resp = client.post(format!("{}/in/kill", node.base)).body(format!("{{\"i\": {i}}}")).send().await;
        let resp = resp.expect("the server answers");
        assert_eq!(resp.status(), 200);
        let body: serde_json::Value = resp.json().await.expect("JSON");
        answered.insert(body["id"].as_str().expect("id").to_owned());
    }
    node.crash_and_restart();
    node.ready().await;
    let receiver = TestReceiver::start_on(&format!("127.0.0.1:{port}")).await;
    eventually("every answered request is delivered after the SIGKILL", || {
        let delivered: BTreeSet<String> =
            receiver.received().iter().map(|r| r.header("webhook-id").to_owned()).collect();
        std::future::ready(delivered.is_superset(&answered))
    })
    .await;
}

/// The `herald serve` arguments that put a node on the story's store: SQLite in its
/// data directory, or a fresh schema of the test database.
pub fn store_args(backend: &Backend) -> Vec<String> {
    match backend {
        Backend::Sqlite => Vec::new(),
        Backend::Postgres(url) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let schema = format!("herald_it_node_{}_{}", std::process::id(), nanos % 1_000_000_000);
            vec!["--database-url".into(), url.clone(), "--database-schema".into(), schema]
        }
    }
}

crate::on_both_stores!(
    a_destination_verifies_stripes_own_signature_when_sent_the_original_headers,
    an_inbound_request_answered_2xx_is_delivered_after_a_sigkill
);
