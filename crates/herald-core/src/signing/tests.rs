//! Signing checked against the published Standard Webhooks vectors and against
//! the `standardwebhooks` crate, an implementation nobody here wrote.

use super::*;
use crate::Timestamp;

fn vectors() -> Vec<serde_json::Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/webhook-signatures.json");
    let text = std::fs::read_to_string(path).expect("test vectors present");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("vectors are JSON");
    doc["vectors"].as_array().expect("vectors array").clone()
}

fn standard_vectors() -> Vec<serde_json::Value> {
    let v: Vec<_> = vectors()
        .into_iter()
        .filter(|v| v["scheme"].as_str().is_some_and(|s| s.starts_with("standard-webhooks")))
        .collect();
    assert_eq!(v.len(), 5, "three v1 and two v1a vectors expected");
    v
}

#[test]
fn signs_every_standard_webhooks_vector_exactly() {
    for v in standard_vectors() {
        let key = SigningKey::parse(v["secret"].as_str().expect("secret")).expect("vector secret parses");
        let h = &v["headers"];
        let id = h["webhook-id"].as_str().expect("id");
        let ts: i64 = h["webhook-timestamp"].as_str().expect("ts").parse().expect("ts number");
        let body = v["body"].as_str().expect("body").as_bytes();
        let expected = h["webhook-signature"].as_str().expect("sig");
        assert_eq!(key.sign(id, ts, body), expected, "vector from {}", v["source"]);
        assert_eq!(verify(&key, id, ts, body, expected, None), Ok(()));
        if let Some(pk) = v["public_key"].as_str() {
            assert_eq!(key.public_key().as_deref(), Some(pk));
            assert!(verify_with_public_key(pk, id, ts, body, expected));
        }
    }
}

#[test]
fn any_changed_byte_is_rejected() {
    for v in standard_vectors() {
        let key = SigningKey::parse(v["secret"].as_str().expect("secret")).expect("secret parses");
        let h = &v["headers"];
        let id = h["webhook-id"].as_str().expect("id");
        let ts: i64 = h["webhook-timestamp"].as_str().expect("ts").parse().expect("ts");
        let body = v["body"].as_str().expect("body").as_bytes();
        let sig = h["webhook-signature"].as_str().expect("sig");
        let mut tampered = body.to_vec();
        tampered[1] ^= 1;
        assert_eq!(verify(&key, id, ts, &tampered, sig, None), Err(VerifyError::NoMatch));
        assert_eq!(verify(&key, id, ts + 1, body, sig, None), Err(VerifyError::NoMatch));
        assert_eq!(verify(&key, "msg_other", ts, body, sig, None), Err(VerifyError::NoMatch));
        let other = match key {
            SigningKey::Symmetric(_) => SigningKey::generate_symmetric(),
            SigningKey::Ed25519(_) => SigningKey::generate_ed25519(),
        };
        assert_eq!(verify(&other, id, ts, body, sig, None), Err(VerifyError::NoMatch));
    }
}

#[test]
fn the_standardwebhooks_crate_verifies_what_herald_signs() {
    let key = SigningKey::generate_symmetric();
    let id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
    let now = Timestamp::now().seconds();
    let body = br#"{"type":"order.paid","amount":4200}"#;
    let previous = SigningKey::generate_symmetric();
    let header = sign_all([&key, &previous], id, now, body);
    assert_eq!(header.split(' ').count(), 2);
    let mut headers = http::HeaderMap::new();
    headers.insert("webhook-id", id.parse().expect("header"));
    headers.insert("webhook-timestamp", now.to_string().parse().expect("header"));
    headers.insert("webhook-signature", header.parse().expect("header"));
    for k in [&key, &previous] {
        let wh = standardwebhooks::Webhook::new(&k.expose()).expect("their parser takes our secret");
        wh.verify(body, &headers).expect("their verifier accepts our signature");
    }
    let stranger =
        standardwebhooks::Webhook::new(&SigningKey::generate_symmetric().expose()).expect("secret");
    assert!(stranger.verify(body, &headers).is_err());
}

#[test]
fn stale_timestamps_are_rejected_within_the_window_only() {
    let key = SigningKey::generate_symmetric();
    let sig = key.sign("msg_x", 1_000, b"{}");
    assert_eq!(verify(&key, "msg_x", 1_000, b"{}", &sig, Some((1_200, 300))), Ok(()));
    assert_eq!(verify(&key, "msg_x", 1_000, b"{}", &sig, Some((1_400, 300))), Err(VerifyError::Stale));
}

#[test]
fn secrets_parse_with_or_without_prefix_and_redact_in_debug() {
    let k = SigningKey::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("valid");
    assert_eq!(SigningKey::parse("C2FVsBQIhrscChlQIMV+b5sSYspob7oD"), Ok(k.clone()));
    assert_eq!(k.expose(), "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
    assert!(!format!("{k:?}").contains("C2FV"));
    assert_eq!(SigningKey::parse("whsec_!!!"), Err(SecretError::NotBase64));
    assert_eq!(SigningKey::parse("whsec_AAAA"), Err(SecretError::BadLength(3)));
}
