//! Standard Webhooks signing: `v1` (HMAC-SHA256, `whsec_` secrets) and `v1a`
//! (ed25519, `whsk_` secret keys / `whpk_` public keys).
//!
//! The signed content is `{webhook-id}.{webhook-timestamp}.{body}` over the exact
//! body bytes sent. During secret rotation several keys sign the same request and
//! their signatures are joined with spaces in one `webhook-signature` header, which
//! every Standard Webhooks verifier accepts as "any one matches".

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, SigningKey as EdSigningKey, Verifier, VerifyingKey};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const SYMMETRIC_PREFIX: &str = "whsec_";
const ASYMMETRIC_PREFIX: &str = "whsk_";
const PUBLIC_PREFIX: &str = "whpk_";

/// Why a secret string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("the secret is not valid base64 after its prefix")]
    NotBase64,
    #[error("the secret must decode to between 24 and 75 bytes (it decoded to {0})")]
    BadLength(usize),
    #[error("an ed25519 secret key (whsk_) must decode to 64 bytes (seed then public key)")]
    BadEd25519Key,
}

/// An endpoint's signing key. `Debug` never prints the key material.
#[derive(Clone, PartialEq, Eq)]
pub enum SigningKey {
    /// `whsec_<base64>`: HMAC-SHA256, signatures `v1,<base64>`.
    Symmetric(Vec<u8>),
    /// `whsk_<base64 of seed ‖ public>`: ed25519, signatures `v1a,<base64>`.
    Ed25519(Box<[u8; 64]>),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Symmetric(_) => f.write_str("SigningKey::Symmetric(<redacted>)"),
            Self::Ed25519(_) => f.write_str("SigningKey::Ed25519(<redacted>)"),
        }
    }
}

impl SigningKey {
    /// A fresh random `whsec_` key of 24 bytes, Svix's recommended size.
    pub fn generate_symmetric() -> Self {
        let mut bytes = vec![0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self::Symmetric(bytes)
    }

    /// A fresh random ed25519 key pair.
    pub fn generate_ed25519() -> Self {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let key = EdSigningKey::from_bytes(&seed);
        Self::Ed25519(Box::new(key.to_keypair_bytes()))
    }

    /// Parses `whsec_…`, `whsk_…`, or bare base64 (taken as symmetric, as Svix does).
    pub fn parse(s: &str) -> Result<Self, SecretError> {
        if let Some(rest) = s.strip_prefix(ASYMMETRIC_PREFIX) {
            let bytes = B64.decode(rest).map_err(|_| SecretError::NotBase64)?;
            let arr: [u8; 64] = bytes.try_into().map_err(|_| SecretError::BadEd25519Key)?;
            EdSigningKey::from_keypair_bytes(&arr).map_err(|_| SecretError::BadEd25519Key)?;
            return Ok(Self::Ed25519(Box::new(arr)));
        }
        let rest = s.strip_prefix(SYMMETRIC_PREFIX).unwrap_or(s);
        let bytes = B64.decode(rest).map_err(|_| SecretError::NotBase64)?;
        if !(24..=75).contains(&bytes.len()) {
            return Err(SecretError::BadLength(bytes.len()));
        }
        Ok(Self::Symmetric(bytes))
    }

    /// The key as users see it (`whsec_…` or `whsk_…`).
    pub fn expose(&self) -> String {
        match self {
            Self::Symmetric(b) => format!("{SYMMETRIC_PREFIX}{}", B64.encode(b)),
            Self::Ed25519(b) => format!("{ASYMMETRIC_PREFIX}{}", B64.encode(b.as_slice())),
        }
    }

    /// For an ed25519 key, the `whpk_` public key receivers verify with.
    pub fn public_key(&self) -> Option<String> {
        match self {
            Self::Symmetric(_) => None,
            Self::Ed25519(b) => Some(format!("{PUBLIC_PREFIX}{}", B64.encode(&b[32..]))),
        }
    }

    /// One signature (`v1,…` or `v1a,…`) over `{msg_id}.{timestamp}.{body}`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        match self {
            Self::Symmetric(key) => {
                let mut mac = hmac_sha256(key);
                feed_signed_content(&mut mac, msg_id, timestamp, body);
                format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
            }
            Self::Ed25519(pair) => {
                let key = EdSigningKey::from_bytes(first_32(pair));
                let content = signed_content(msg_id, timestamp, body);
                format!("v1a,{}", B64.encode(key.sign(&content).to_bytes()))
            }
        }
    }
}

/// Signs with every key and joins the signatures with spaces, newest key first.
pub fn sign_all<'a>(
    keys: impl IntoIterator<Item = &'a SigningKey>,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    let mut out = String::new();
    for key in keys {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&key.sign(msg_id, timestamp, body));
    }
    out
}

/// Why a received signature header did not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("no signature in the header matches")]
    NoMatch,
    #[error("the timestamp is outside the tolerance window")]
    Stale,
}

/// Verifies a `webhook-signature` header (space-separated `v1,`/`v1a,` entries)
/// against a key, in constant time per candidate. `now_secs` and `tolerance_secs`
/// bound the timestamp; pass `None` to skip the window (test vectors).
pub fn verify(
    key: &SigningKey,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
    window: Option<(i64, i64)>,
) -> Result<(), VerifyError> {
    if let Some((now_secs, tolerance)) = window
        && (now_secs - timestamp).abs() > tolerance
    {
        return Err(VerifyError::Stale);
    }
    let matched = header.split(' ').any(|entry| match (key, entry.split_once(',')) {
        (SigningKey::Symmetric(k), Some(("v1", sig))) => {
            let Ok(sig) = B64.decode(sig) else { return false };
            let mut mac = hmac_sha256(k);
            feed_signed_content(&mut mac, msg_id, timestamp, body);
            mac.verify_slice(&sig).is_ok()
        }
        (SigningKey::Ed25519(pair), Some(("v1a", sig))) => {
            verify_ed25519(&pair[32..], msg_id, timestamp, body, sig)
        }
        _ => false,
    });
    if matched { Ok(()) } else { Err(VerifyError::NoMatch) }
}

/// Verifies one `v1a` signature with a `whpk_` public key (receivers' side).
pub fn verify_with_public_key(public: &str, msg_id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let Some(Ok(pk)) = public.strip_prefix(PUBLIC_PREFIX).map(|p| B64.decode(p)) else {
        return false;
    };
    header.split(' ').any(|entry| match entry.split_once(',') {
        Some(("v1a", sig)) => verify_ed25519(&pk, msg_id, timestamp, body, sig),
        _ => false,
    })
}

fn verify_ed25519(public: &[u8], msg_id: &str, timestamp: i64, body: &[u8], sig_b64: &str) -> bool {
    let Ok(pk) = <[u8; 32]>::try_from(public) else { return false };
    let Ok(vk) = VerifyingKey::from_bytes(&pk) else { return false };
    let Ok(sig) = B64.decode(sig_b64) else { return false };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(&sig) else { return false };
    vk.verify(&signed_content(msg_id, timestamp, body), &sig).is_ok()
}

fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

fn feed_signed_content(mac: &mut Hmac<Sha256>, msg_id: &str, timestamp: i64, body: &[u8]) {
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
}

fn signed_content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(msg_id.len() + body.len() + 16);
    v.extend_from_slice(msg_id.as_bytes());
    v.push(b'.');
    v.extend_from_slice(timestamp.to_string().as_bytes());
    v.push(b'.');
    v.extend_from_slice(body);
    v
}

fn first_32(pair: &[u8; 64]) -> &[u8; 32] {
    pair.first_chunk::<32>().unwrap_or_else(|| unreachable!("64 > 32"))
}

#[cfg(test)]
mod tests;
