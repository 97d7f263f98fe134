//! Slack's `url_verification` and Zoom's `endpoint.url_validation` challenges: the
//! request verifies like any other, then `handshake` gives the answer.

use herald_inbound::{handshake, verify};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

use crate::support::{OwnedRequest, config, hex};

const NOW: i64 = 1_760_000_000;

fn sign(secret: &str, msg: &str) -> String {
    let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("key");
    m.update(msg.as_bytes());
    hex(m.finalize().into_bytes())
}

#[test]
fn slack_url_verification_is_verified_then_answered_with_the_challenge() {
    let body = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let cfg = config(json!({"type": "slack", "secret": "8f742231b10e8888abcd99yyyzzz85a5"}));
    let req = OwnedRequest::post("https://herald.example.com/in/src_slack", body)
        .header("X-Slack-Request-Timestamp", &NOW.to_string())
        .header(
            "X-Slack-Signature",
            &format!("v0={}", sign("8f742231b10e8888abcd99yyyzzz85a5", &format!("v0:{NOW}:{body}"))),
        );
    assert!(verify(&cfg, &req.view(), NOW).is_ok());
    let answer = handshake(&cfg, &req.view()).expect("a challenge");
    assert_eq!(answer.content_type, "text/plain");
    assert_eq!(answer.body, b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");

    let event = OwnedRequest::post("https://herald.example.com/in/src_slack", r#"{"type":"event_callback"}"#);
    assert_eq!(handshake(&cfg, &event.view()), None);
}

#[test]
fn zoom_url_validation_answers_the_hmac_of_the_plain_token() {
    let body = r#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
    let cfg = config(json!({"type": "zoom", "secret": "zoom_secret_token"}));
    let req = OwnedRequest::post("https://herald.example.com/in/src_zoom", body);
    let answer = handshake(&cfg, &req.view()).expect("a challenge");
    assert_eq!(answer.content_type, "application/json");
    let parsed: Value = serde_json::from_slice(&answer.body).expect("JSON answer");
    assert_eq!(
        parsed,
        json!({"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": sign("zoom_secret_token", "qgg8vlvZRS6UYooatFL8Aw")})
    );
}

#[test]
fn other_providers_have_no_handshake() {
    let cfg = config(json!({"type": "stripe", "secret": "whsec_x"}));
    let req = OwnedRequest::post(
        "https://herald.example.com/in/src",
        r#"{"type":"url_verification","challenge":"x"}"#,
    );
    assert_eq!(handshake(&cfg, &req.view()), None);
}
