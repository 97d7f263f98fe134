//! Endpoint secrets at rest: the one place they become stored text and back.
//!
//! Every store writes an endpoint's [`EndpointSecrets`] through [`SecretCipher::seal`]
//! and reads them through [`SecretCipher::open`], so the encoding is identical in
//! both backends and a database can be moved between them by copying rows.
//!
//! The stored text is `v1:` followed by the base64 of a random 24-byte nonce and the
//! XChaCha20-Poly1305 ciphertext (with its tag) of the secrets as JSON
//! (`{"current": "whsec_…", "previous": [{"key": "…", "until": ms}]}`). The endpoint
//! id is the associated data, so a ciphertext copied onto another endpoint's row does
//! not decrypt. Why this cipher: `docs/adr/0002-xchacha20poly1305-for-secrets-at-rest.md`.
//!
//! The key never enters the database. What does is a *key check*
//! ([`SecretCipher::key_check`]): a known constant encrypted with the key, kept in
//! `herald_meta` under [`KEY_CHECK`]. A store opened with another key fails to open
//! it and refuses to start ([`StoreError::SecretKeyMismatch`]) instead of failing on
//! the first endpoint it reads, or worse, writing rows under a second key.
//!
//! Rows written before encryption existed hold the plain JSON; [`SecretCipher::open`]
//! still reads them, and each store re-encrypts them when it opens
//! ([`is_sealed`] tells them apart).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use herald_core::{EndpointId, EndpointSecrets, SigningKey, SourceId, Timestamp};
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::{Result, StoreError};

/// The `herald_meta` key under which the key check is kept.
pub const KEY_CHECK: &str = "secret_key_check";

/// Bytes in a [`SecretKey`].
pub const KEY_LEN: usize = 32;

/// The prefix of every sealed value; a later format would be `v2:`.
const V1: &str = "v1:";
const NONCE_LEN: usize = 24;
/// What the key check encrypts, and the associated data of both kinds of value.
const CHECK_PLAINTEXT: &[u8] = b"herald secret key check";
const CHECK_AAD: &[u8] = b"herald/key-check/v1";
const ENDPOINT_AAD: &[u8] = b"herald/endpoint-secrets/v1/";
const SOURCE_AAD: &[u8] = b"herald/source-verifier/v1/";

/// The 32-byte key endpoint secrets are encrypted with. `Debug` never prints it;
/// equality is constant-time.
#[derive(Clone)]
pub struct SecretKey([u8; KEY_LEN]);

/// Why a text is not a secret key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("the secret key is not valid base64")]
    NotBase64,
    #[error("the secret key must decode to {KEY_LEN} bytes (it decoded to {0})")]
    BadLength(usize),
}

impl SecretKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        Self(XChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    /// Parses standard base64 (padding optional, surrounding whitespace ignored), as
    /// `openssl rand -base64 32` prints it.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let text = text.trim().trim_end_matches('=');
        let bytes =
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(text).map_err(|_| KeyError::NotBase64)?;
        let key: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| KeyError::BadLength(bytes.len()))?;
        Ok(Self(key))
    }

    /// The key as standard base64 with padding (what [`SecretKey::from_base64`] reads).
    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SecretKey {}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Seals and opens endpoint secrets with one [`SecretKey`]. Cheap to clone.
#[derive(Clone)]
pub struct SecretCipher {
    aead: XChaCha20Poly1305,
}

impl SecretCipher {
    pub fn new(key: &SecretKey) -> Self {
        Self { aead: XChaCha20Poly1305::new(&key.0.into()) }
    }

    /// The stored text of an endpoint's secrets: `v1:<base64 nonce ‖ ciphertext>`,
    /// with a fresh random nonce on every call.
    pub fn seal(&self, endpoint: &EndpointId, secrets: &EndpointSecrets) -> String {
        let json = encode_json(secrets);
        self.encrypt(json.as_bytes(), &endpoint_aad(endpoint))
    }

    /// The inverse of [`SecretCipher::seal`]; also reads the plain JSON of rows
    /// written before encryption. A value that does not decrypt is `Corrupt`.
    pub fn open(&self, endpoint: &EndpointId, stored: &str) -> Result<EndpointSecrets> {
        if !is_sealed(stored) {
            return decode_json(stored);
        }
        let plain = self.decrypt(stored, &endpoint_aad(endpoint)).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "the secrets of endpoint {endpoint} do not decrypt with the secret key"
            ))
        })?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| StoreError::Corrupt("decrypted endpoint secrets are not UTF-8".into()))?;
        decode_json(text)
    }

    /// The stored text of an inbound source's verifier (its JSON storage form, which
    /// holds the source's secrets), sealed like endpoint secrets with the source id
    /// as associated data.
    pub fn seal_verifier(&self, source: &SourceId, json: &str) -> String {
        self.encrypt(json.as_bytes(), &[SOURCE_AAD, source.as_str().as_bytes()].concat())
    }

    /// The inverse of [`SecretCipher::seal_verifier`]: the verifier's JSON. Plain
    /// JSON (not sealed) is returned as is. A value that does not decrypt is `Corrupt`.
    pub fn open_verifier(&self, source: &SourceId, stored: &str) -> Result<String> {
        if !is_sealed(stored) {
            return Ok(stored.to_owned());
        }
        let aad = [SOURCE_AAD, source.as_str().as_bytes()].concat();
        let plain = self.decrypt(stored, &aad).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "the verifier of source {source} does not decrypt with the secret key"
            ))
        })?;
        String::from_utf8(plain).map_err(|_| StoreError::Corrupt("a decrypted verifier is not UTF-8".into()))
    }

    /// A fresh key check: the known constant, encrypted with this key.
    pub fn key_check(&self) -> String {
        self.encrypt(CHECK_PLAINTEXT, CHECK_AAD)
    }

    /// `Ok` if `stored` (a key check kept by the database) was made with this key;
    /// [`StoreError::SecretKeyMismatch`] otherwise.
    pub fn verify_key_check(&self, stored: &str) -> Result<()> {
        match self.decrypt(stored, CHECK_AAD) {
            Some(plain) if plain == CHECK_PLAINTEXT => Ok(()),
            _ => Err(StoreError::SecretKeyMismatch),
        }
    }

    fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        // Encryption fails only for inputs of about 256 GiB.
        let sealed = self.aead.encrypt(&nonce, Payload { msg: plaintext, aad }).unwrap_or_default();
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        format!("{V1}{}", B64.encode(bytes))
    }

    fn decrypt(&self, stored: &str, aad: &[u8]) -> Option<Vec<u8>> {
        let bytes = B64.decode(stored.strip_prefix(V1)?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        self.aead.decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad }).ok()
    }
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretCipher(<redacted>)")
    }
}

/// Whether a stored secrets value is encrypted (rather than the plain JSON written
/// before encryption existed).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(V1)
}

fn endpoint_aad(endpoint: &EndpointId) -> Vec<u8> {
    [ENDPOINT_AAD, endpoint.as_str().as_bytes()].concat()
}

/// The plaintext: `{"current": "whsec_…", "previous": [{"key": "…", "until": ms}]}`.
fn encode_json(secrets: &EndpointSecrets) -> String {
    let previous = secrets.previous.iter().map(|(key, until)| {
        let mut entry = serde_json::Map::new();
        entry.insert("key".into(), Value::from(key.expose()));
        entry.insert("until".into(), Value::from(until.millis()));
        Value::Object(entry)
    });
    let mut object = serde_json::Map::new();
    object.insert("current".into(), Value::from(secrets.current.expose()));
    object.insert("previous".into(), Value::Array(previous.collect()));
    Value::Object(object).to_string()
}

fn decode_json(text: &str) -> Result<EndpointSecrets> {
    let bad = || StoreError::Corrupt("endpoint secrets are malformed".into());
    let value: Value =
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("endpoint secrets: {e}")))?;
    let key = |v: &Value| -> Result<SigningKey> {
        SigningKey::parse(v.as_str().ok_or_else(bad)?)
            .map_err(|e| StoreError::Corrupt(format!("endpoint secret key: {e}")))
    };
    let current = key(&value["current"])?;
    let previous = value["previous"]
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|entry| Ok((key(&entry["key"])?, Timestamp(entry["until"].as_i64().ok_or_else(bad)?))))
        .collect::<Result<_>>()?;
    Ok(EndpointSecrets { current, previous })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> EndpointSecrets {
        let mut secrets = EndpointSecrets::new(SigningKey::generate_symmetric());
        secrets.rotate(SigningKey::generate_ed25519(), Timestamp(1_000), std::time::Duration::from_secs(60));
        secrets
    }

    #[test]
    fn sealed_secrets_round_trip_and_hide_the_key_material() {
        let cipher = SecretCipher::new(&SecretKey::generate());
        let ep = EndpointId::generate();
        let secrets = secrets();
        let sealed = cipher.seal(&ep, &secrets);
        assert!(is_sealed(&sealed), "{sealed}");
        assert_eq!(cipher.open(&ep, &sealed).expect("open"), secrets);
        for key in std::iter::once(&secrets.current).chain(secrets.previous.iter().map(|(k, _)| k)) {
            let exposed = key.expose();
            let b64 = exposed.split_once('_').map(|(_, b)| b).unwrap_or_default();
            assert!(!sealed.contains(&exposed) && !sealed.contains(b64));
        }
        // A fresh nonce each time: the same secrets never seal to the same text.
        assert_ne!(cipher.seal(&ep, &secrets), sealed);
    }

    #[test]
    fn another_key_or_another_endpoint_does_not_open_them() {
        let cipher = SecretCipher::new(&SecretKey::generate());
        let ep = EndpointId::generate();
        let sealed = cipher.seal(&ep, &secrets());
        let other = SecretCipher::new(&SecretKey::generate());
        assert!(matches!(other.open(&ep, &sealed), Err(StoreError::Corrupt(_))));
        assert!(matches!(cipher.open(&EndpointId::generate(), &sealed), Err(StoreError::Corrupt(_))));
        assert!(matches!(cipher.open(&ep, "v1:not base64!"), Err(StoreError::Corrupt(_))));
        assert!(matches!(cipher.open(&ep, "v1:AAAA"), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn plain_json_from_before_encryption_is_still_read() {
        let cipher = SecretCipher::new(&SecretKey::generate());
        let secrets = secrets();
        let plain = encode_json(&secrets);
        assert!(!is_sealed(&plain));
        assert_eq!(cipher.open(&EndpointId::generate(), &plain).expect("open"), secrets);
        assert!(cipher.open(&EndpointId::generate(), "{\"current\": 3}").is_err());
    }

    #[test]
    fn sealed_verifiers_round_trip_only_for_their_source() {
        let cipher = SecretCipher::new(&SecretKey::generate());
        let source = SourceId::generate();
        let json = r#"{"type":"stripe","secret":"whsec_very_secret"}"#;
        let sealed = cipher.seal_verifier(&source, json);
        assert!(is_sealed(&sealed) && !sealed.contains("very_secret"), "{sealed}");
        assert_eq!(cipher.open_verifier(&source, &sealed).expect("open"), json);
        assert!(cipher.open_verifier(&SourceId::generate(), &sealed).is_err(), "another source's row");
        assert_eq!(cipher.open_verifier(&source, json).expect("plain"), json, "plain JSON reads as is");
    }

    #[test]
    fn the_key_check_tells_keys_apart() {
        let key = SecretKey::generate();
        let check = SecretCipher::new(&key).key_check();
        SecretCipher::new(&key).verify_key_check(&check).expect("same key");
        let other = SecretCipher::new(&SecretKey::generate());
        assert!(matches!(other.verify_key_check(&check), Err(StoreError::SecretKeyMismatch)));
        assert!(matches!(other.verify_key_check("garbage"), Err(StoreError::SecretKeyMismatch)));
    }

    #[test]
    fn keys_parse_from_base64_and_never_print() {
        let key = SecretKey::generate();
        assert_eq!(SecretKey::from_base64(&format!(" {}\n", key.to_base64())), Ok(key.clone()));
        assert_eq!(SecretKey::from_base64("c2hvcnQ="), Err(KeyError::BadLength(5)));
        assert_eq!(SecretKey::from_base64("not base64!"), Err(KeyError::NotBase64));
        assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
        assert_ne!(SecretKey::generate(), key);
    }
}
