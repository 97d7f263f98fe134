//! The receive stories: providers' webhooks reach `/in/{source}`, are verified on
//! their raw bytes, stored once, and delivered to the application's endpoints like
//! any message; forgeries, replays and oversized bodies are refused with a JSON
//! answer and listed in the source's rejected-requests log.

use std::collections::BTreeSet;

use herald_testkit::{Backend, TestReceiver, TestServer};
use serde_json::{Value, json};

use crate::common::*;
use crate::providers::*;

async fn each_provider_accepts_its_signature_and_refuses_forgeries_replays_and_unsigned_requests(
    backend: Backend,
) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let (app, _, endpoint_secret) = app_with_endpoint(&sdk(&server), &receiver.url).await;
    let mut accepted = BTreeSet::new();
    for p in providers() {
        let source = create_source(&server, &app, json!({"verifier": p.verifier})).await;
        let (id, path) =
            (source["id"].as_str().expect("id"), format!("/in/{}", source["id"].as_str().expect("id")));
        assert_eq!(source["verifier"]["type"], p.verifier["type"], "{}", p.name);
        assert!(!source.to_string().contains(p.secret), "{}: the secret is never answered back", p.name);
        let signed = |secret: &str, body: &[u8], ts: i64| {
            let mut headers: Vec<(String, String)> =
                p.extra.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
            headers.extend((p.sign)(secret, body, ts));
            headers
        };
        let body = p.body.as_bytes();

        let ok = post_in(&server.base_url, &path, &signed(p.secret, body, now()), body).await;
        assert_eq!(ok.status, 200, "{}: a valid request is accepted: {:?}", p.name, ok.json());
        let msg_id = ok.json()["id"].as_str().expect("the message id").to_owned();
        let (_, msg) =
            admin(&server, reqwest::Method::GET, &format!("/api/v1/app/{app}/msg/{msg_id}"), None).await;
        assert_eq!(msg["eventType"], p.event_type, "{}: event type from the provider's convention", p.name);
        assert_eq!(msg["payload"], serde_json::from_slice::<Value>(body).expect("JSON"), "{}", p.name);
        accepted.insert(msg_id);

        let tampered = [body, b" "].concat();
        let mut forged = vec![
            ("tampered body", signed(p.secret, body, now()), tampered, "signature_mismatch"),
            ("wrong secret", signed(p.wrong_secret, body, now()), body.to_vec(), "signature_mismatch"),
        ];
        if p.timestamped {
            let stale = signed(p.secret, body, now() - 3600);
            forged.push(("stale timestamp", stale, body.to_vec(), "timestamp_outside_tolerance"));
        }
        let mut unsigned = signed(p.secret, body, now());
        unsigned.retain(|(n, _)| n != p.signature_header);
        forged.push(("missing header", unsigned, body.to_vec(), "missing_header"));
        for (what, headers, body, _) in &forged {
            let refused = post_in(&server.base_url, &path, headers, body).await;
            assert_eq!(refused.status, 401, "{} {what}: refused", p.name);
            assert_eq!(refused.json()["code"], "authentication_failed", "{} {what}", p.name);
            assert!(
                refused.json()["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "{} {what}: a reason",
                p.name
            );
        }
        let (_, log) =
            admin(&server, reqwest::Method::GET, &format!("/api/v1/source/{id}/rejected"), None).await;
        let mut logged: Vec<&str> =
            log["data"].as_array().expect("log").iter().filter_map(|r| r["code"].as_str()).collect();
        let mut expected: Vec<&str> = forged.iter().map(|(.., code)| *code).collect();
        logged.sort_unstable();
        expected.sort_unstable();
        assert_eq!(logged, expected, "{}: every refusal is in the log, with its reason code", p.name);
        let (_, source) = admin(&server, reqwest::Method::GET, &format!("/api/v1/source/{id}"), None).await;
        assert_eq!(source["rejectedTotal"], forged.len(), "{}: refusals are counted", p.name);
    }
    let (_, listed) =
        admin(&server, reqwest::Method::GET, &format!("/api/v1/app/{app}/msg?limit=100"), None).await;
    assert_eq!(
        listed["data"].as_array().expect("messages").len(),
        accepted.len(),
        "only valid requests are stored"
    );
    let got = receiver.wait_for(accepted.len(), WAIT).await;
    let delivered: BTreeSet<String> = got.iter().map(|r| r.header("webhook-id").to_owned()).collect();
    assert_eq!(delivered, accepted, "each accepted event is delivered once");
    for r in &got {
        verify(&endpoint_secret, r).expect("delivered with Herald's signature by default");
    }
}

async fn a_provider_retry_is_answered_2xx_and_stored_and_delivered_once(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let (app, _, _) = app_with_endpoint(&sdk(&server), &receiver.url).await;
    let github = providers().into_iter().find(|p| p.name == "github").expect("github");
    let source = create_source(&server, &app, json!({"verifier": github.verifier, "uid": "gh"})).await;
    let delivery = |id: &str| {
        let body = github.body.as_bytes();
        let mut headers = (github.sign)(github.secret, body, 0);
        headers.push(("x-github-event".into(), "pull_request".into()));
        headers.push(("x-github-delivery".into(), id.to_owned()));
        (headers, body)
    };
    let (headers, body) = delivery("delivery-1");
    let first = post_in(&server.base_url, "/in/gh", &headers, body).await;
    assert_eq!((first.status, first.json()["duplicate"].clone()), (200, Value::Null), "{:?}", first.json());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (base, headers) = (server.base_url.clone(), headers.clone());
            tokio::spawn(async move { post_in(&base, "/in/gh", &headers, body).await })
        })
        .collect();
    for task in tasks {
        let retry = task.await.expect("task");
        assert_eq!(retry.status, 200, "a retry is acknowledged");
        assert_eq!(
            retry.json(),
            json!({"id": first.json()["id"], "duplicate": true}),
            "and names the original"
        );
    }
    let (headers, body) = delivery("delivery-2");
    let second =
        post_in(&server.base_url, &format!("/in/{}", source["id"].as_str().expect("id")), &headers, body)
            .await;
    assert_eq!(second.status, 200);
    assert_ne!(second.json()["id"], first.json()["id"], "another delivery id is another event");
    let (_, listed) = admin(&server, reqwest::Method::GET, &format!("/api/v1/app/{app}/msg"), None).await;
    assert_eq!(listed["data"].as_array().expect("messages").len(), 2, "stored once per delivery id");
    let got = receiver.wait_for(2, WAIT).await;
    let ids: BTreeSet<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), 2, "delivered once per delivery id");
}

async fn handshakes_signed_urls_custom_answers_body_limits_and_sub_paths(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let (app, _, _) = app_with_endpoint(&sdk(&server), "http://127.0.0.1:9/unused").await;
    let slack =
        create_source(&server, &app, json!({"verifier": {"type": "slack", "secret": SLACK_SECRET}})).await;
    let challenge = br#"{"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}"#;
    let path = format!("/in/{}", slack["id"].as_str().expect("id"));
    let answer =
        post_in(&server.base_url, &path, &slack_headers(SLACK_SECRET, challenge, now()), challenge).await;
    assert_eq!((answer.status, answer.content_type.as_str()), (200, "text/plain"));
    assert_eq!(answer.body, b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "the challenge echoed");

    let custom = json!({
        "uid": "custom", "verifier": {"type": "none"}, "maxPayloadBytes": 1024,
        "response": {"status": 202, "body": "<Response/>", "contentType": "text/xml"}
    });
    create_source(&server, &app, custom).await;
    let form = b"Body=hello&From=%2B15550001111";
    let answer = post_in(&server.base_url, "/in/custom/twilio/sms?attempt=1", &[], form).await;
    assert_eq!(
        (answer.status, answer.content_type.as_str(), &answer.body[..]),
        (202, "text/xml", &b"<Response/>"[..])
    );
    // Twilio signs the URL it called, sub-path and query included: rebuilt from `Host`.
    let twilio = json!({"uid": "twilio", "verifier": {"type": "twilio", "secret": "twilio auth token"}});
    create_source(&server, &app, twilio).await;
    let path = "/in/twilio/sms?account=AC1";
    let params = [("Body", "hello"), ("From", "+15550001111"), ("MessageSid", "SM1")];
    let sms = b"Body=hello&From=%2B15550001111&MessageSid=SM1";
    let signature = twilio_signature("twilio auth token", &format!("{}{path}", server.base_url), &params);
    let headers = [
        ("x-twilio-signature".to_owned(), signature),
        ("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned()),
    ];
    assert_eq!(post_in(&server.base_url, path, &headers, sms).await.status, 200, "Twilio's URL signature");
    let moved = post_in(&server.base_url, "/in/twilio/other?account=AC1", &headers, sms).await;
    assert_eq!(moved.status, 401, "the same signature on another URL is refused");
    let too_big = post_in(&server.base_url, "/in/custom", &[], &[b'x'; 2048]).await;
    assert_eq!((too_big.status, too_big.json()["code"].clone()), (413, json!("payload_too_large")));
    let (_, log) = admin(&server, reqwest::Method::GET, "/api/v1/source/custom/rejected", None).await;
    assert_eq!(log["data"][0]["code"], "payload_too_large", "{log}");
    let unknown = post_in(&server.base_url, "/in/src_nobody", &[], b"{}").await;
    assert_eq!((unknown.status, unknown.json()["code"].clone()), (404, json!("not_found")));
    let metrics = http().get(format!("{}/metrics", server.base_url)).send().await.expect("metrics");
    let metrics = metrics.text().await.expect("text");
    for outcome in ["handshake", "accepted", "too_large", "unknown_source"] {
        let series = format!("herald_inbound_requests_total{{outcome=\"{outcome}\"}}");
        assert!(metrics.contains(&series), "{series} is counted");
    }

    let (_, listed) = admin(&server, reqwest::Method::GET, &format!("/api/v1/app/{app}/msg"), None).await;
    let messages = listed["data"].as_array().expect("messages");
    let payloads: BTreeSet<String> = messages.iter().map(|m| m["payload"].to_string()).collect();
    let shown = |body: &str| json!({ "raw": body }).to_string();
    let expected = BTreeSet::from([
        shown("Body=hello&From=%2B15550001111"),
        shown("Body=hello&From=%2B15550001111&MessageSid=SM1"),
    ]);
    assert_eq!(payloads, expected, "form bodies, shown wrapped; the handshake and refusals stored nothing");
    let (status, invalid) = admin(
        &server,
        reqwest::Method::POST,
        "/api/v1/source",
        Some(json!({"name": "x", "appId": app, "verifier": {"type": "standard_webhooks", "secret": "nope"}})),
    )
    .await;
    assert_eq!((status, invalid["detail"][0]["loc"].clone()), (422, json!(["body", "verifier", "secret"])));
}

crate::on_both_stores!(
    each_provider_accepts_its_signature_and_refuses_forgeries_replays_and_unsigned_requests,
    a_provider_retry_is_answered_2xx_and_stored_and_delivered_once,
    handshakes_signed_urls_custom_answers_body_limits_and_sub_paths
);
