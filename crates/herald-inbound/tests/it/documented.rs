//! Signatures produced here with each provider's algorithm as documented (computed
//! with the `hmac`/`ed25519-dalek` crates directly, not with the verifier's code),
//! covering what the published vectors do not: every generic-HMAC combination,
//! basic auth and API keys, several signatures during a secret roll, Svix headers,
//! Twilio's port and repeated-parameter quirks, a Contentful request with a query.

use base64::Engine;
use ed25519_dalek::Signer;
use herald_inbound::{Authenticity, Rejection, verify};
use hmac::{Hmac, Mac};
use serde_json::json;

use crate::support::{OwnedRequest, b64, config, hex};

const URL: &str = "https://herald.example.com/in/src_test";
const BODY: &str = r#"{"type":"order.paid","id":"evt_1"}"#;
const NOW: i64 = 1_760_000_000;

fn mac<M: Mac + hmac::digest::KeyInit>(key: &str, msg: &[u8]) -> Vec<u8> {
    let mut m = <M as Mac>::new_from_slice(key.as_bytes()).expect("any key length");
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

fn sha256(key: &str, msg: &[u8]) -> Vec<u8> {
    mac::<Hmac<sha2::Sha256>>(key, msg)
}

fn sha1(key: &str, msg: &[u8]) -> Vec<u8> {
    mac::<Hmac<sha1::Sha1>>(key, msg)
}

fn post(body: &str) -> OwnedRequest {
    OwnedRequest::post(URL, body)
}

#[test]
fn generic_hmac_in_every_algorithm_encoding_prefix_and_signed_content() {
    for (alg, sign) in [
        ("sha1", sha1 as fn(&str, &[u8]) -> Vec<u8>),
        ("sha256", sha256),
        ("sha512", |k: &str, m: &[u8]| mac::<Hmac<sha2::Sha512>>(k, m)),
    ] {
        for encoding in ["hex", "base64"] {
            for prefix in [None, Some(format!("{alg}="))] {
                for timestamped in [false, true] {
                    let label = format!("{alg}/{encoding}/{prefix:?}/timestamped={timestamped}");
                    let mut cfg = json!({"type": "generic_hmac", "header": "X-Signature", "secret": "s3cret",
                        "algorithm": alg, "encoding": encoding});
                    if let Some(p) = &prefix {
                        cfg["prefix"] = json!(p);
                    }
                    let ts = NOW.to_string();
                    let signed = if timestamped { format!("{ts}.{BODY}") } else { BODY.to_owned() };
                    if timestamped {
                        cfg["timestamp_header"] = json!("X-Timestamp");
                    }
                    let raw = sign("s3cret", signed.as_bytes());
                    let encoded = if encoding == "hex" { hex(&raw) } else { b64(&raw) };
                    let value = format!("{}{encoded}", prefix.as_deref().unwrap_or(""));
                    let req = post(BODY).header("X-Signature", &value).header("X-Timestamp", &ts);
                    let cfg = config(cfg);

                    assert!(verify(&cfg, &req.view(), NOW).is_ok(), "{label}");
                    let other = sign("other", signed.as_bytes());
                    let other = if encoding == "hex" { hex(&other) } else { b64(&other) };
                    let forged = post(BODY)
                        .header("X-Signature", &format!("{}{other}", prefix.as_deref().unwrap_or("")))
                        .header("X-Timestamp", &ts);
                    assert_eq!(verify(&cfg, &forged.view(), NOW), Err(mismatch("X-Signature")), "{label}");
                    if prefix.is_some() {
                        let bare = post(BODY).header("X-Signature", &encoded).header("X-Timestamp", &ts);
                        let err = verify(&cfg, &bare.view(), NOW).expect_err("prefix required");
                        assert_eq!(err.code(), "malformed_header", "{label}");
                    }
                    if timestamped {
                        let err =
                            verify(&cfg, &req.without("X-Timestamp").view(), NOW).expect_err("ts needed");
                        assert_eq!(err, Rejection::MissingHeader { header: "X-Timestamp".into() }, "{label}");
                        let err = verify(&cfg, &req.view(), NOW + 301).expect_err("stale");
                        assert_eq!(err.code(), "timestamp_outside_tolerance", "{label}");
                    } else {
                        // Without a timestamp header nothing ages.
                        assert!(verify(&cfg, &req.view(), NOW + 10_000_000).is_ok(), "{label}");
                    }
                }
            }
        }
    }
}

#[test]
fn basic_auth_checks_user_and_password() {
    let cfg = config(json!({"type": "basic_auth", "username": "stripe", "password": "pa55:word"}));
    let auth = |user_pass: &str| format!("Basic {}", b64(user_pass));
    let ok = post(BODY).header("Authorization", &auth("stripe:pa55:word"));
    assert_eq!(verify(&cfg, &ok.view(), NOW).map(|v| v.authenticity), Ok(Authenticity::SharedSecret));
    let lower = post(BODY).header("Authorization", &format!("basic {}", b64("stripe:pa55:word")));
    assert!(verify(&cfg, &lower.view(), NOW).is_ok(), "the scheme is case-insensitive");
    for wrong in ["stripe:pa55:wore", "strip:pa55:word", "stripe:", ":pa55:word", "x"] {
        let req = post(BODY).header("Authorization", &auth(wrong));
        assert_eq!(verify(&cfg, &req.view(), NOW), Err(Rejection::BadCredentials), "{wrong}");
    }
    let bearer = post(BODY).header("Authorization", "Bearer abc");
    assert_eq!(
        verify(&cfg, &bearer.view(), NOW).map_err(|e| e.to_string()),
        Err("malformed Authorization header: expected the Basic scheme".into())
    );
    let garbage = post(BODY).header("Authorization", "Basic !!!");
    assert_eq!(verify(&cfg, &garbage.view(), NOW).map_err(|e| e.code()), Err("malformed_header"));
    assert_eq!(
        verify(&cfg, &post(BODY).view(), NOW),
        Err(Rejection::MissingHeader { header: "Authorization".into() })
    );
}

#[test]
fn api_key_with_and_without_a_prefix() {
    let plain = config(json!({"type": "api_key", "header": "X-Api-Key", "key": "k-123"}));
    assert!(verify(&plain, &post(BODY).header("X-Api-Key", "k-123").view(), NOW).is_ok());
    assert_eq!(
        verify(&plain, &post(BODY).header("X-Api-Key", "k-124").view(), NOW),
        Err(Rejection::TokenMismatch { header: "X-Api-Key".into() })
    );
    assert_eq!(verify(&plain, &post(BODY).view(), NOW).map_err(|e| e.code()), Err("missing_header"));

    let bearer =
        config(json!({"type": "api_key", "header": "Authorization", "key": "k-123", "prefix": "Bearer "}));
    assert!(verify(&bearer, &post(BODY).header("Authorization", "Bearer k-123").view(), NOW).is_ok());
    let bare = post(BODY).header("Authorization", "k-123");
    assert_eq!(verify(&bearer, &bare.view(), NOW).map_err(|e| e.code()), Err("malformed_header"));
    let wrong = post(BODY).header("Authorization", "Bearer k-12");
    assert_eq!(verify(&bearer, &wrong.view(), NOW).map_err(|e| e.code()), Err("token_mismatch"));
}

#[test]
fn stripe_accepts_any_v1_during_a_secret_roll_and_ignores_v0() {
    let cfg = config(json!({"type": "stripe", "secret": "whsec_new"}));
    let good = hex(sha256("whsec_new", format!("{NOW}.{BODY}").as_bytes()));
    let old = hex(sha256("whsec_old", format!("{NOW}.{BODY}").as_bytes()));
    let header = format!("t={NOW},v1={old},v1={good},v0=6ffbb59b2300aae63f2720");
    assert!(verify(&cfg, &post(BODY).header("Stripe-Signature", &header).view(), NOW).is_ok());

    let only_v0 = format!("t={NOW},v0={good}");
    let err = verify(&cfg, &post(BODY).header("Stripe-Signature", &only_v0).view(), NOW).expect_err("no v1");
    assert_eq!(err.to_string(), "malformed Stripe-Signature header: no v1= signature");
    let no_t = format!("v1={good}");
    let err = verify(&cfg, &post(BODY).header("Stripe-Signature", &no_t).view(), NOW).expect_err("no t");
    assert_eq!(err.to_string(), "malformed Stripe-Signature header: no t= timestamp");
}

#[test]
fn github_and_shopify_signed_here() {
    let github = config(json!({"type": "github", "secret": "gh"}));
    let sig = hex(sha256("gh", BODY.as_bytes()));
    let req = post(BODY).header("X-Hub-Signature-256", &format!("sha256={sig}"));
    assert!(verify(&github, &req.view(), NOW).is_ok());
    let bare = post(BODY).header("X-Hub-Signature-256", &sig);
    let err = verify(&github, &bare.view(), NOW).expect_err("prefix");
    assert_eq!(err.to_string(), "malformed X-Hub-Signature-256 header: expected sha256=<hex signature>");

    let other = config(json!({"type": "github", "secret": "not gh"}));
    assert_eq!(
        verify(&other, &req.view(), NOW).map_err(|e| e.to_string()),
        Err("signature mismatch: no signature in X-Hub-Signature-256 matches this request under the configured secret"
            .to_owned())
    );

    let shopify = config(json!({"type": "shopify", "secret": "shp"}));
    let req = post(BODY).header("X-Shopify-Hmac-Sha256", &b64(sha256("shp", BODY.as_bytes())));
    assert!(verify(&shopify, &req.view(), NOW).is_ok());
}

#[test]
fn slack_and_zoom_signed_here() {
    for (kind, sig_h, ts_h) in [
        ("slack", "X-Slack-Signature", "X-Slack-Request-Timestamp"),
        ("zoom", "x-zm-signature", "x-zm-request-timestamp"),
    ] {
        let cfg = config(json!({"type": kind, "secret": "sig-secret"}));
        let sig = hex(sha256("sig-secret", format!("v0:{NOW}:{BODY}").as_bytes()));
        let req = post(BODY).header(sig_h, &format!("v0={sig}")).header(ts_h, &NOW.to_string());
        assert_eq!(verify(&cfg, &req.view(), NOW).map(|v| v.signed_at), Ok(Some(NOW)), "{kind}");
        let v1 = post(BODY).header(sig_h, &format!("v1={sig}")).header(ts_h, &NOW.to_string());
        assert_eq!(verify(&cfg, &v1.view(), NOW).map_err(|e| e.code()), Err("malformed_header"), "{kind}");
    }
}

#[test]
fn paddle_accepts_any_h1() {
    let cfg = config(json!({"type": "paddle", "secret": "pdl_ntfset_x"}));
    let good = hex(sha256("pdl_ntfset_x", format!("{NOW}:{BODY}").as_bytes()));
    let header = format!("ts={NOW};h1={};h1={good}", "0".repeat(64));
    assert!(verify(&cfg, &post(BODY).header("Paddle-Signature", &header).view(), NOW).is_ok());
    let err = verify(&cfg, &post(BODY).header("Paddle-Signature", &header).view(), NOW + 6).expect_err("5 s");
    assert_eq!(
        err.to_string(),
        "timestamp outside tolerance by 1 s: Paddle-Signature says the request was signed 6 s ago, \
         the tolerance is 5 s"
    );
}

#[test]
fn standard_webhooks_with_svix_headers_several_signatures_and_v1a() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let key = base64::engine::general_purpose::STANDARD.decode(&secret[6..]).expect("base64");
    let content = format!("msg_1.{NOW}.{BODY}");
    let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).expect("key");
    m.update(content.as_bytes());
    let good = b64(m.finalize().into_bytes());
    let sigs = format!("v1,{} v1,{good}", b64([7u8; 32]));
    let cfg = config(json!({"type": "svix", "secret": secret}));
    let req = post(BODY).header("svix-id", "msg_1").header("svix-timestamp", &NOW.to_string());
    assert!(verify(&cfg, &req.clone().header("svix-signature", &sigs).view(), NOW).is_ok());
    let err = verify(&cfg, &req.header("svix-signature", "garbage").view(), NOW).expect_err("no entries");
    assert_eq!(err.code(), "malformed_header");
    let err = verify(&cfg, &post(BODY).view(), NOW).expect_err("no id");
    assert_eq!(err.to_string(), "missing header webhook-id (or svix-id)");

    let signer = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let public = format!("whpk_{}", b64(signer.verifying_key().to_bytes()));
    let v1a = format!("v1a,{}", b64(signer.sign(content.as_bytes()).to_bytes()));
    let cfg = config(json!({"type": "standard_webhooks", "secret": public}));
    let req = post(BODY)
        .header("webhook-id", "msg_1")
        .header("webhook-timestamp", &NOW.to_string())
        .header("webhook-signature", &v1a);
    assert!(verify(&cfg, &req.view(), NOW).is_ok());
}

#[test]
fn twilio_accepts_the_url_with_or_without_its_port() {
    // Produced with twilio-node 5 getExpectedTwilioSignature("12345", url, params).
    let body = "b=2&a=z&a=y&Body=hi+there+%2B1";
    let cfg = config(json!({"type": "twilio", "secret": "12345"}));
    let signed_without_port = "Ghsx7StMwz3/LzYbKsOyVukDG4E=";
    let signed_with_port = "CK4TtCprb8BFXs8DN8sFNEJ8z7s=";
    for url in ["https://example.com/hook?x=1", "https://example.com:443/hook?x=1"] {
        for sig in [signed_without_port, signed_with_port] {
            let mut req = OwnedRequest::post(url, body).header("X-Twilio-Signature", sig);
            assert!(verify(&cfg, &req.view(), NOW).is_ok(), "{url} {sig}");
            req.url = url.replace("x=1", "x=2");
            assert!(verify(&cfg, &req.view(), NOW).is_err(), "{url} {sig}");
        }
    }
}

#[test]
fn twilio_repeated_identical_parameters_match_either_library() {
    let cfg = config(json!({"type": "twilio", "secret": "12345"}));
    let url = "https://example.com/hook";
    // twilio-python signs both copies ("axaxb1"); twilio-node drops the duplicate ("axb1").
    let python = b64(sha1("12345", format!("{url}axaxb1").as_bytes()));
    let node = "Aqh8n7OKtpPfxHTayy9zdnEymFo=";
    assert_eq!(node, b64(sha1("12345", format!("{url}axb1").as_bytes())));
    for sig in [python.as_str(), node] {
        let req = OwnedRequest::post(url, "a=x&b=1&a=x").header("X-Twilio-Signature", sig);
        assert!(verify(&cfg, &req.view(), NOW).is_ok(), "{sig}");
    }
}

#[test]
fn twilio_json_body_is_bound_by_body_sha256() {
    use sha2::Digest;
    let cfg = config(json!({"type": "twilio", "secret": "tok"}));
    let url = format!("https://example.com/status?bodySHA256={}", hex(sha2::Sha256::digest(BODY)));
    let sig = b64(sha1("tok", url.as_bytes()));
    let req = OwnedRequest::post(&url, BODY).header("X-Twilio-Signature", &sig);
    assert!(verify(&cfg, &req.view(), NOW).is_ok());
    let tampered = OwnedRequest::post(&url, BODY.replace("paid", "void")).header("X-Twilio-Signature", &sig);
    assert_eq!(verify(&cfg, &tampered.view(), NOW), Err(Rejection::BodyHashMismatch));
    let sha256_sig = b64(sha256("tok", url.as_bytes()));
    let shared_key = OwnedRequest::post(&url, BODY)
        .header("X-Twilio-Signature", &sha256_sig)
        .header("X-Twilio-Webhooks-Signature-Settings", "key=k1,algorithm=HMAC_SHA256");
    assert!(verify(&cfg, &shared_key.view(), NOW).is_ok());
}

#[test]
fn contentful_with_a_query_and_two_signed_headers() {
    // Produced with @contentful/node-apps-toolkit signRequest(secret, {method: "POST",
    // path: "/in/src_1?env=prod&x=a%20b", headers: {topic, crn}, body}, 1700000123456).
    let secret = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    let body = r#"{"sys":{"id":"entry1","type":"Entry"}}"#;
    let cfg = config(json!({"type": "contentful", "secret": secret}));
    let req = OwnedRequest::post("https://herald.example.com/in/src_1?env=prod&x=a%20b", body)
        .header("Content-Type", "application/json")
        .header("X-Contentful-Topic", "ContentManagement.Entry.publish")
        .header("X-Contentful-CRN", "crn:contentful:::content:spaces/abc")
        .header("x-contentful-signature", "962c764fa3f09ca08f8ce0b2fcf87c84ef7b5010381b7dfcf312ad5583a68ddd")
        .header(
            "x-contentful-signed-headers",
            "x-contentful-crn,x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic",
        )
        .header("x-contentful-timestamp", "1700000123456");
    assert_eq!(verify(&cfg, &req.view(), 1_700_000_123).map(|v| v.signed_at), Ok(Some(1_700_000_123)));
    let mut other_crn = req.clone();
    other_crn.set("X-Contentful-CRN", "crn:contentful:::content:spaces/xyz");
    assert_eq!(
        verify(&cfg, &other_crn.view(), 1_700_000_123).map_err(|e| e.code()),
        Err("signature_mismatch")
    );
    let mut unsigned_header_changed = req.clone();
    unsigned_header_changed.set("Content-Type", "text/plain");
    assert!(verify(&cfg, &unsigned_header_changed.view(), 1_700_000_123).is_ok());
}

#[test]
fn discord_signed_here() {
    let seed: [u8; 32] = [7; 32];
    let signer = ed25519_dalek::SigningKey::from_bytes(&seed);
    let public_key = hex(signer.verifying_key().to_bytes());
    let cfg = config(json!({"type": "discord", "public_key": public_key}));
    let ts = NOW.to_string();
    let sig = hex(signer.sign(format!("{ts}{BODY}").as_bytes()).to_bytes());
    let req = post(BODY).header("X-Signature-Ed25519", &sig).header("X-Signature-Timestamp", &ts);
    assert!(verify(&cfg, &req.view(), NOW).is_ok());
    let short = post(BODY).header("X-Signature-Ed25519", &sig[..64]).header("X-Signature-Timestamp", &ts);
    assert_eq!(verify(&cfg, &short.view(), NOW).map_err(|e| e.code()), Err("malformed_header"));
}

#[test]
fn none_accepts_everything_and_says_so() {
    let cfg = config(json!({"type": "none"}));
    assert_eq!(verify(&cfg, &post("").view(), 0).map(|v| v.authenticity), Ok(Authenticity::Unverified));
}

#[test]
fn a_configuration_that_cannot_work_is_reported_as_such() {
    let cfg = config(json!({"type": "discord", "public_key": "not hex"}));
    let err = verify(&cfg, &post(BODY).view(), NOW).expect_err("bad key");
    assert_eq!(
        err.to_string(),
        "the source's verifier configuration is invalid: public_key: must be 64 hex digits, \
         the application's ed25519 public key"
    );
}

#[test]
fn timestamps_from_the_future_say_so() {
    let cfg = config(json!({"type": "slack", "secret": "s"}));
    let sig = hex(sha256("s", format!("v0:{NOW}:{BODY}").as_bytes()));
    let req = post(BODY)
        .header("X-Slack-Signature", &format!("v0={sig}"))
        .header("X-Slack-Request-Timestamp", &NOW.to_string());
    let err = verify(&cfg, &req.view(), NOW - 400).expect_err("future");
    assert_eq!(
        err.to_string(),
        "timestamp outside tolerance by 100 s: X-Slack-Request-Timestamp says the request was signed 400 s \
         in the future (is the sender's clock ahead?), the tolerance is 300 s"
    );
}

fn mismatch(header: &str) -> Rejection {
    Rejection::SignatureMismatch { header: header.to_owned() }
}
