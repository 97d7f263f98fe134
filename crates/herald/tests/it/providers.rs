//! Providers as the inbound stories meet them: how each signs a request (written
//! here from the providers' documentation, independently of `herald-inbound`), the
//! source configuration that verifies it, and small HTTP helpers for `/in/…` and
//! `/api/v1/source`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use herald_testkit::TestServer;

/// Headers as a list of (name, value).
pub type Headers = Vec<(String, String)>;

/// Signs `body` with `secret` at Unix time `ts`: the headers carrying the signature.
pub type Signer = fn(secret: &str, body: &[u8], ts: i64) -> Headers;

/// One provider: its verifier, a typical body, and how it signs.
pub struct Provider {
    pub name: &'static str,
    pub secret: &'static str,
    /// A different valid secret, for "wrong secret" requests.
    pub wrong_secret: &'static str,
    pub verifier: Value,
    pub body: &'static str,
    /// Headers besides the signature (event names, delivery ids).
    pub extra: &'static [(&'static str, &'static str)],
    pub event_type: &'static str,
    /// The header whose absence makes the request unsigned.
    pub signature_header: &'static str,
    /// Whether a stale timestamp is refused (the scheme signs one).
    pub timestamped: bool,
    pub sign: Signer,
}

pub fn providers() -> Vec<Provider> {
    vec![
        Provider {
            name: "stripe",
            secret: STRIPE_SECRET,
            wrong_secret: "whsec_another_one",
            verifier: json!({"type": "stripe", "secret": STRIPE_SECRET}),
            body: r#"{"id": "evt_1", "object": "event", "type": "charge.succeeded"}"#,
            extra: &[("content-type", "application/json; charset=utf-8")],
            event_type: "charge.succeeded",
            signature_header: "stripe-signature",
            timestamped: true,
            sign: |secret, body, ts| vec![("stripe-signature".into(), stripe_signature(secret, body, ts))],
        },
        Provider {
            name: "github",
            secret: "github webhook secret",
            wrong_secret: "another secret",
            verifier: json!({"type": "github", "secret": "github webhook secret"}),
            body: r#"{"action": "opened", "number": 7}"#,
            extra: &[("x-github-event", "pull_request"), ("x-github-delivery", "72d3162e-cc78-11e3")],
            event_type: "pull_request.opened",
            signature_header: "x-hub-signature-256",
            timestamped: false,
            sign: |secret, body, _| {
                vec![(
                    "x-hub-signature-256".into(),
                    format!("sha256={}", hex(&hmac(secret.as_bytes(), body))),
                )]
            },
        },
        Provider {
            name: "shopify",
            secret: "shpss_client_secret",
            wrong_secret: "shpss_another",
            verifier: json!({"type": "shopify", "secret": "shpss_client_secret"}),
            body: r#"{"id": 820982911946154508, "email": "jon@example.com"}"#,
            extra: &[("x-shopify-topic", "orders/create"), ("x-shopify-webhook-id", "b54557e4")],
            event_type: "orders.create",
            signature_header: "x-shopify-hmac-sha256",
            timestamped: false,
            sign: |secret, body, _| {
                vec![("x-shopify-hmac-sha256".into(), B64.encode(hmac(secret.as_bytes(), body)))]
            },
        },
        Provider {
            name: "slack",
            secret: SLACK_SECRET,
            wrong_secret: "0000000000000000000000000000000a",
            verifier: json!({"type": "slack", "secret": SLACK_SECRET}),
            body: r#"{"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_mention"}}"#,
            extra: &[],
            event_type: "app_mention",
            signature_header: "x-slack-signature",
            timestamped: true,
            sign: slack_headers,
        },
        Provider {
            name: "standard webhooks",
            secret: STANDARD_SECRET,
            wrong_secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            verifier: json!({"type": "standard_webhooks", "secret": STANDARD_SECRET}),
            body: r#"{"type": "invoice.paid", "data": {"id": "in_1"}}"#,
            extra: &[],
            event_type: "invoice.paid",
            signature_header: "webhook-signature",
            timestamped: true,
            sign: |secret, body, ts| {
                let key = B64.decode(secret.trim_start_matches("whsec_")).expect("whsec_ base64");
                let signed = [format!("msg_p1.{ts}.").as_bytes(), body].concat();
                vec![
                    ("webhook-id".into(), "msg_p1".into()),
                    ("webhook-timestamp".into(), ts.to_string()),
                    ("webhook-signature".into(), format!("v1,{}", B64.encode(hmac(&key, &signed)))),
                ]
            },
        },
    ]
}

pub const STRIPE_SECRET: &str = "whsec_test_stripe_endpoint_secret";
pub const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// `Stripe-Signature: t=…,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>`.
pub fn stripe_signature(secret: &str, body: &[u8], ts: i64) -> String {
    let signed = [format!("{ts}.").as_bytes(), body].concat();
    format!("t={ts},v1={}", hex(&hmac(secret.as_bytes(), &signed)))
}

/// What a service that checks Stripe's signature itself does (Stripe's algorithm,
/// not Herald's code): `Ok` when `header` signs `body` under `secret`, recently.
pub fn stripe_verifies(secret: &str, header: &str, body: &[u8]) -> Result<(), String> {
    let field = |k: &str| header.split(',').find_map(|p| p.strip_prefix(&format!("{k}=")));
    let ts: i64 = field("t").and_then(|t| t.parse().ok()).ok_or("no timestamp")?;
    if (now() - ts).abs() > 300 {
        return Err(format!("timestamp {ts} is stale"));
    }
    let expected = stripe_signature(secret, body, ts);
    let v1 = field("v1").ok_or("no v1 signature")?;
    (expected.ends_with(&format!("v1={v1}"))).then_some(()).ok_or_else(|| "signature mismatch".to_owned())
}

/// Slack's `v0` signature over `v0:{ts}:{body}`, with its timestamp header.
pub fn slack_headers(secret: &str, body: &[u8], ts: i64) -> Vec<(String, String)> {
    let signed = [format!("v0:{ts}:").as_bytes(), body].concat();
    vec![
        ("x-slack-request-timestamp".into(), ts.to_string()),
        ("x-slack-signature".into(), format!("v0={}", hex(&hmac(secret.as_bytes(), &signed)))),
    ]
}

/// `X-Twilio-Signature`: base64 HMAC-SHA1 (auth token) of the URL Twilio called
/// followed by the form parameters sorted by name, as `name1value1name2value2…`.
pub fn twilio_signature(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let signed: String =
        std::iter::once(url.to_owned()).chain(sorted.iter().map(|(k, v)| format!("{k}{v}"))).collect();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).expect("any key length");
    mac.update(signed.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

pub fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The wall clock, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Creates a source in `app` from `body` fields (`verifier`, `uid`, …); its JSON.
pub async fn create_source(server: &TestServer, app: &str, mut body: Value) -> Value {
    body["appId"] = json!(app);
    if body.get("name").is_none() {
        body["name"] = json!("Test source");
    }
    let (status, source) = admin(server, reqwest::Method::POST, "/api/v1/source", Some(body)).await;
    assert_eq!(status, 201, "source created: {source}");
    source
}

/// An admin API call: (status, JSON body or null).
pub async fn admin(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = crate::common::http().request(method, format!("{}{path}", server.base_url));
    req = req.bearer_auth(&server.token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("the API answers");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// What `/in/…` answered.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// POSTs `body` with `headers` to `{base}{path}` (`path` starts with `/in/`).
pub async fn post_in(base: &str, path: &str, headers: &[(String, String)], body: &[u8]) -> Answer {
    let mut req = crate::common::http().post(format!("{base}{path}")).body(body.to_vec());
    for (name, value) in headers {
        req = req.header(name, value);
    }
    let resp = req.send().await.expect("the ingest URL answers");
    let status = resp.status().as_u16();
    let content_type =
        resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    Answer { status, content_type, body: resp.bytes().await.expect("body").to_vec() }
}
