//! Every vector of `testdata/webhook-signatures.json` (each accepted by its
//! provider's own library) is accepted with the clock pinned to its timestamp, and
//! rejected when any byte of the body, the secret, the signature header or the
//! signed URL changes, when a required header is missing, and when the clock is one
//! second outside the tolerance. The one exception is GitLab's token, which signs
//! nothing: a changed body passes it, and `verify` reports `SharedSecret`, not
//! `Signature`.

use herald_inbound::{Authenticity, Rejection, verify};
use http::HeaderValue;
use serde_json::{Value, json};

use crate::support::{OwnedRequest, config};

/// A vector turned into a stored configuration, a request and what may be mutated.
struct Case {
    label: String,
    config: Value,
    /// The configuration field holding the key (`secret` or `public_key`).
    key_field: &'static str,
    req: OwnedRequest,
    now: i64,
    signature_header: &'static str,
    /// Headers whose absence must give `MissingHeader`.
    required: &'static [&'static str],
    /// Headers verification does not use (the request stays valid without them).
    unused: &'static [&'static str],
    /// (header, signed-at seconds, tolerance) for schemes with a timestamp.
    window: Option<(&'static str, i64, u32)>,
    /// From which byte of the URL on the URL is signed.
    url_signed_from: Option<usize>,
    /// False for GitLab's token, which proves the sender knows it but signs nothing.
    body_signed: bool,
}

const HOST: &str = "https://herald.example.com";
const NO_CLOCK: i64 = 1_750_000_000;

fn vectors() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/webhook-signatures.json");
    let text = std::fs::read_to_string(path).expect("test vectors present");
    let doc: Value = serde_json::from_str(&text).expect("vectors are JSON");
    doc["vectors"].as_array().expect("vectors array").clone()
}

fn s<'v>(v: &'v Value, key: &str) -> &'v str {
    v[key].as_str().unwrap_or_else(|| panic!("vector field {key} missing in {v}"))
}

fn ts(v: &Value, header: &str) -> i64 {
    s(&v["headers"], header).parse().expect("timestamp header is a number")
}

fn request(v: &Value, url: &str, body: Vec<u8>) -> OwnedRequest {
    let mut req = OwnedRequest::post(url, body);
    if let Some(m) = v["method"].as_str() {
        req.method = m.parse().expect("method");
    }
    for (name, value) in v["headers"].as_object().expect("headers") {
        req.set(name, value.as_str().expect("header value"));
    }
    req
}

fn form_body(v: &Value) -> Vec<u8> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, val) in v["params"].as_object().expect("params") {
        form.append_pair(k, val.as_str().expect("param value"));
    }
    form.finish().into_bytes()
}

/// The cases of one vector (the v1a vectors give two: by public and by secret key).
fn cases(v: &Value) -> Vec<Case> {
    let scheme = s(v, "scheme");
    let body = v["body"].as_str().unwrap_or_default().as_bytes().to_vec();
    let default_url = format!("{HOST}/in/src_test");
    let base =
        |config: Value, req: OwnedRequest, now: i64, sig: &'static str, req_h: &'static [&'static str]| {
            Case {
                label: format!("{scheme} ({})", s(v, "source")),
                config,
                key_field: "secret",
                req,
                now,
                signature_header: sig,
                required: req_h,
                unused: &[],
                window: None,
                url_signed_from: None,
                body_signed: true,
            }
        };
    let secret = v["secret"].clone();
    match scheme {
        "standard-webhooks v1" | "standard-webhooks v1a (ed25519)" => {
            let t = ts(v, "webhook-timestamp");
            let req = request(v, &default_url, body);
            let headers = &["webhook-id", "webhook-timestamp", "webhook-signature"];
            let mut keys = vec![secret];
            keys.extend(v.get("public_key").cloned());
            keys.into_iter()
                .map(|key| Case {
                    window: Some(("webhook-timestamp", t, 300)),
                    ..base(
                        json!({"type": "standard_webhooks", "secret": key}),
                        req.clone(),
                        t,
                        "webhook-signature",
                        headers,
                    )
                })
                .collect()
        }
        "stripe" => {
            let t: i64 = s(&v["headers"], "Stripe-Signature")[2..12].parse().expect("t=");
            let cfg = json!({"type": "stripe", "secret": secret});
            vec![Case {
                window: Some(("Stripe-Signature", t, 300)),
                ..base(cfg, request(v, &default_url, body), t, "Stripe-Signature", &["Stripe-Signature"])
            }]
        }
        "github" => {
            let cfg = json!({"type": "github", "secret": secret});
            let req = request(v, &default_url, body);
            vec![base(cfg, req, NO_CLOCK, "X-Hub-Signature-256", &["X-Hub-Signature-256"])]
        }
        "shopify" => {
            let cfg = json!({"type": "shopify", "secret": secret});
            let req = request(v, &default_url, body);
            vec![Case {
                unused: &[
                    "X-Shopify-Topic",
                    "X-Shopify-Shop-Domain",
                    "X-Shopify-API-Version",
                    "X-Shopify-Webhook-Id",
                ],
                ..base(cfg, req, NO_CLOCK, "X-Shopify-Hmac-Sha256", &["X-Shopify-Hmac-Sha256"])
            }]
        }
        "slack" => slack_like(v, "slack", "X-Slack-Signature", "X-Slack-Request-Timestamp", 300, base),
        "zoom" => slack_like(v, "zoom", "x-zm-signature", "x-zm-request-timestamp", 300, base),
        "twilio (form params)" | "twilio SharedKey HMAC_SHA256" | "twilio (JSON body, bodySHA256)" => {
            let body = if v.get("params").is_some() { form_body(v) } else { body };
            let cfg = json!({"type": "twilio", "secret": secret});
            let req = request(v, s(v, "url"), body);
            vec![Case {
                url_signed_from: Some(0),
                ..base(cfg, req, NO_CLOCK, "X-Twilio-Signature", &["X-Twilio-Signature"])
            }]
        }
        "contentful" => {
            let t = ts(v, "x-contentful-timestamp") / 1000;
            let cfg = json!({"type": "contentful", "secret": secret});
            let req = request(v, &format!("{HOST}{}", s(v, "path")), body);
            let required =
                &["x-contentful-signature", "x-contentful-signed-headers", "x-contentful-timestamp"];
            vec![Case {
                window: Some(("x-contentful-timestamp", t, 300)),
                url_signed_from: Some(HOST.len()),
                ..base(cfg, req, t, "x-contentful-signature", required)
            }]
        }
        "paddle billing" => {
            let t: i64 = s(&v["headers"], "Paddle-Signature")[3..13].parse().expect("ts=");
            let cfg = json!({"type": "paddle", "secret": secret});
            vec![Case {
                window: Some(("Paddle-Signature", t, 5)),
                ..base(cfg, request(v, &default_url, body), t, "Paddle-Signature", &["Paddle-Signature"])
            }]
        }
        "discord (ed25519)" => {
            let t = ts(v, "X-Signature-Timestamp");
            let cfg = json!({"type": "discord", "public_key": v["public_key"]});
            let req = request(v, &default_url, body);
            vec![Case {
                key_field: "public_key",
                window: Some(("X-Signature-Timestamp", t, 300)),
                ..base(cfg, req, t, "X-Signature-Ed25519", &["X-Signature-Ed25519", "X-Signature-Timestamp"])
            }]
        }
        "gitlab (legacy token)" => {
            let cfg = json!({"type": "gitlab", "secret": secret});
            let req = request(v, &default_url, body);
            vec![Case {
                body_signed: false,
                ..base(cfg, req, NO_CLOCK, "X-Gitlab-Token", &["X-Gitlab-Token"])
            }]
        }
        other => panic!("no test case for the vector scheme {other:?}: add one"),
    }
}

/// Slack and Zoom: `v0=` signature header plus a timestamp header.
fn slack_like(
    v: &Value,
    kind: &str,
    sig: &'static str,
    ts_header: &'static str,
    tolerance: u32,
    base: impl Fn(Value, OwnedRequest, i64, &'static str, &'static [&'static str]) -> Case,
) -> Vec<Case> {
    let t = ts(v, ts_header);
    let body = v["body"].as_str().unwrap_or_default().as_bytes().to_vec();
    let req = request(v, &format!("{HOST}/in/src_test"), body);
    let required: &'static [&'static str] = if kind == "slack" {
        &["X-Slack-Signature", "X-Slack-Request-Timestamp"]
    } else {
        &["x-zm-signature", "x-zm-request-timestamp"]
    };
    let cfg = json!({"type": kind, "secret": v["secret"]});
    vec![Case { window: Some((ts_header, t, tolerance)), ..base(cfg, req, t, sig, required) }]
}

fn all_cases() -> Vec<Case> {
    let vectors = vectors();
    assert_eq!(vectors.len(), 17, "the vector file changed: review the cases");
    let cases: Vec<Case> = vectors.iter().flat_map(cases).collect();
    assert_eq!(cases.len(), 19, "17 vectors, the two v1a ones checked by public and by secret key");
    cases
}

fn check(cfg: &Value, req: &OwnedRequest, now: i64) -> Result<herald_inbound::Verified, Rejection> {
    verify(&config(cfg.clone()), &req.view(), now)
}

#[test]
fn every_vector_is_accepted_with_the_clock_pinned() {
    for case in all_cases() {
        let verified = check(&case.config, &case.req, case.now);
        assert!(verified.is_ok(), "{}: {verified:?}", case.label);
        if let Some((_, signed_at, _)) = case.window {
            assert_eq!(verified.ok().and_then(|v| v.signed_at), Some(signed_at), "{}", case.label);
        }
    }
}

#[test]
fn any_changed_body_byte_is_rejected() {
    for case in all_cases() {
        for i in 0..case.req.body.len() {
            let mut req = case.req.clone();
            req.body[i] ^= 0x01;
            let result = check(&case.config, &req, case.now);
            if case.body_signed {
                assert!(
                    matches!(result, Err(Rejection::SignatureMismatch { .. } | Rejection::BodyHashMismatch)),
                    "{}: body byte {i} changed: {result:?}",
                    case.label
                );
            } else {
                // A shared token cannot detect a changed body; `verify` says so.
                assert_eq!(result.map(|v| v.authenticity), Ok(Authenticity::SharedSecret), "{}", case.label);
            }
        }
    }
}

#[test]
fn any_changed_secret_byte_is_rejected() {
    for case in all_cases() {
        let key = case.config[case.key_field].as_str().expect("key").to_owned();
        for i in 0..key.len() {
            let mut bytes = key.clone().into_bytes();
            bytes[i] ^= 0x01;
            let mut cfg = case.config.clone();
            cfg[case.key_field] = Value::String(String::from_utf8(bytes).expect("ASCII stays UTF-8"));
            let result = check(&cfg, &case.req, case.now);
            assert!(result.is_err(), "{}: key byte {i} changed and still accepted", case.label);
        }
    }
}

#[test]
fn any_changed_signature_byte_is_rejected() {
    for case in all_cases() {
        let value = case.req.headers[case.signature_header].as_bytes().to_vec();
        for i in 0..value.len() {
            let mut changed = value.clone();
            changed[i] ^= 0x01;
            let Ok(changed) = HeaderValue::from_bytes(&changed) else { continue };
            let mut req = case.req.clone();
            req.headers.insert(case.signature_header, changed);
            let result = check(&case.config, &req, case.now);
            assert!(result.is_err(), "{}: signature byte {i} changed and still accepted", case.label);
        }
    }
}

#[test]
fn any_changed_byte_of_a_signed_url_is_rejected() {
    for case in all_cases() {
        let Some(from) = case.url_signed_from else { continue };
        for i in from..case.req.url.len() {
            let mut bytes = case.req.url.clone().into_bytes();
            bytes[i] ^= 0x01;
            let mut req = case.req.clone();
            req.url = String::from_utf8(bytes).expect("ASCII stays UTF-8");
            let result = check(&case.config, &req, case.now);
            assert!(result.is_err(), "{}: URL byte {i} changed ({}) and still accepted", case.label, req.url);
        }
    }
}

#[test]
fn a_missing_header_is_rejected_and_named() {
    for case in all_cases() {
        for name in case.req.headers.keys() {
            let req = case.req.without(name.as_str());
            let result = check(&case.config, &req, case.now);
            if case.required.iter().any(|r| r.eq_ignore_ascii_case(name.as_str())) {
                let Err(Rejection::MissingHeader { header }) = &result else {
                    panic!("{}: without {name}: {result:?}", case.label)
                };
                assert!(header.to_ascii_lowercase().starts_with(name.as_str()), "{}: {header}", case.label);
            } else if case.unused.iter().any(|u| u.eq_ignore_ascii_case(name.as_str())) {
                assert!(result.is_ok(), "{}: {name} is not needed to verify: {result:?}", case.label);
            } else {
                assert!(result.is_err(), "{}: accepted without the signed header {name}", case.label);
            }
        }
    }
}

#[test]
fn the_clock_one_second_outside_the_tolerance_is_rejected() {
    for case in all_cases() {
        let Some((header, signed_at, tolerance)) = case.window else { continue };
        let tol = i64::from(tolerance);
        for now in [signed_at - tol, signed_at + tol] {
            assert!(check(&case.config, &case.req, now).is_ok(), "{}: at the edge {now}", case.label);
        }
        for (now, skew) in [(signed_at + tol + 1, tol + 1), (signed_at - tol - 1, -tol - 1)] {
            let expected = Rejection::TimestampOutsideTolerance {
                header: header.to_owned(),
                skew_secs: skew,
                tolerance_secs: tolerance,
                outside_by_secs: 1,
            };
            assert_eq!(check(&case.config, &case.req, now), Err(expected), "{}", case.label);
        }
    }
}
