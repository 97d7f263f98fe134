//! `VerifierConfig` as stored JSON: every README example parses and validates, a
//! serde round trip is lossless, defaults are the providers' own, unknown fields
//! are refused, and `Debug` shows no secret.

use herald_inbound::{EventRules, VerifierConfig};
use serde_json::{Value, json};

/// Every ```json block of the crate README, parsed.
fn readme_examples() -> Vec<Value> {
    let readme = include_str!("../../README.md");
    let blocks: Vec<Value> = readme
        .split("```json\n")
        .skip(1)
        .map(|rest| rest.split("```").next().expect("closed block"))
        .map(|block| serde_json::from_str(block).unwrap_or_else(|e| panic!("README block {block}: {e}")))
        .collect();
    assert!(blocks.len() >= 17, "one example per provider at least, found {}", blocks.len());
    blocks
}

fn verifier_examples() -> Vec<Value> {
    readme_examples().into_iter().filter(|v| v.get("type").is_some()).collect()
}

#[test]
fn every_readme_example_parses_validates_and_round_trips() {
    let examples = verifier_examples();
    let kinds: std::collections::BTreeSet<&str> =
        examples.iter().filter_map(|v| v["type"].as_str()).collect();
    assert_eq!(kinds.len(), 15, "one example per verifier kind: {kinds:?}");
    for example in &examples {
        let cfg: VerifierConfig =
            serde_json::from_value(example.clone()).unwrap_or_else(|e| panic!("{example}: {e}"));
        if !example.to_string().contains('…') {
            cfg.validate().unwrap_or_else(|e| panic!("{example}: {e}"));
        }
        let stored = serde_json::to_value(&cfg).expect("serialize");
        let again: VerifierConfig = serde_json::from_value(stored.clone()).expect("parse back");
        assert_eq!(again, cfg, "{stored}");
        for (key, value) in example.as_object().expect("object") {
            assert_eq!(&stored[key], value, "{example}: field {key} survives the round trip");
        }
    }
    let rules: Vec<Value> = readme_examples().into_iter().filter(|v| v.get("provider").is_some()).collect();
    assert_eq!(rules.len(), 1);
    let parsed: EventRules = serde_json::from_value(rules[0].clone()).expect("event rules example");
    assert_eq!(serde_json::to_value(parsed).expect("serialize"), rules[0]);
}

#[test]
fn debug_shows_no_secret() {
    let secrets = ["whsec_topsecret", "It's a Secret", "pa55word", "key-123", "gl-token"];
    let configs = [
        json!({"type": "stripe", "secret": secrets[0]}),
        json!({"type": "github", "secret": secrets[1]}),
        json!({"type": "basic_auth", "username": "u", "password": secrets[2]}),
        json!({"type": "api_key", "header": "X-Key", "key": secrets[3]}),
        json!({"type": "gitlab", "secret": secrets[4]}),
        json!({"type": "generic_hmac", "header": "X-Sig", "secret": secrets[0]}),
        json!({"type": "standard_webhooks", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
    ];
    for cfg in configs {
        let parsed: VerifierConfig = serde_json::from_value(cfg.clone()).expect("parse");
        let debug = format!("{parsed:?} {parsed:#?}");
        assert!(debug.contains("<redacted>"), "{debug}");
        for secret in secrets.iter().chain(["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"].iter()) {
            assert!(!debug.contains(secret), "{debug} shows {secret}");
        }
    }
}

#[test]
fn defaults_are_the_providers_own() {
    let parse = |v: Value| serde_json::from_value::<VerifierConfig>(v).expect("parse");
    let stripe = serde_json::to_value(parse(json!({"type": "stripe", "secret": "s"}))).expect("ser");
    assert_eq!(stripe["tolerance_secs"], 300);
    let paddle = serde_json::to_value(parse(json!({"type": "paddle", "secret": "s"}))).expect("ser");
    assert_eq!(paddle["tolerance_secs"], 5);
    let generic =
        serde_json::to_value(parse(json!({"type": "generic_hmac", "header": "X-Sig", "secret": "s"})))
            .expect("ser");
    assert_eq!(
        generic,
        json!({"type": "generic_hmac", "header": "X-Sig", "secret": "s", "algorithm": "sha256",
        "encoding": "hex", "tolerance_secs": 300})
    );
    let svix = parse(json!({"type": "svix", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}));
    assert_eq!(serde_json::to_value(svix).expect("ser")["type"], "standard_webhooks");
}

#[test]
fn unknown_fields_and_types_are_refused() {
    for bad in [
        json!({"type": "stripe", "secret": "s", "tolerance": 10}),
        json!({"type": "generic_hmac", "header": "X", "secret": "s", "algo": "sha1"}),
        json!({"type": "generic_hmac", "header": "X", "secret": "s", "algorithm": "md5"}),
        json!({"type": "hookdeck", "secret": "s"}),
        json!({"secret": "s"}),
    ] {
        assert!(serde_json::from_value::<VerifierConfig>(bad.clone()).is_err(), "{bad} accepted");
    }
}

#[test]
fn validate_names_the_field_that_cannot_work() {
    for (bad, message) in [
        (json!({"type": "stripe", "secret": ""}), "secret: must not be empty"),
        (
            json!({"type": "standard_webhooks", "secret": "whsec_c2hvcnQ="}),
            "secret: the secret must decode to between 24 and 75 bytes (it decoded to 5)",
        ),
        (
            json!({"type": "standard_webhooks", "secret": "whpk_AAAA"}),
            "secret: a whpk_ key must decode to 32 bytes",
        ),
        (
            json!({"type": "discord", "public_key": "abcd"}),
            "public_key: must be 64 hex digits, the application's ed25519 public key",
        ),
        (
            json!({"type": "generic_hmac", "header": "X Sig", "secret": "s"}),
            "header: \"X Sig\" is not a valid header name",
        ),
        (json!({"type": "api_key", "header": "X-Key", "key": ""}), "key: must not be empty"),
        (json!({"type": "basic_auth", "username": "a:b", "password": "p"}), "username: must not contain ':'"),
    ] {
        let cfg: VerifierConfig = serde_json::from_value(bad.clone()).expect("parses");
        assert_eq!(cfg.validate().map_err(|e| e.to_string()), Err(message.to_owned()), "{bad}");
    }
}
