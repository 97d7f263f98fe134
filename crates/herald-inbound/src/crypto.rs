//! The few primitives every verifier shares: HMAC checked with `verify_slice`
//! (constant time), token equality that leaks neither content nor length, lenient
//! hex/base64 decoding of received signatures, and the timestamp window.
//!
//! Keeping them in one place means no verifier can compare a signature with `==`
//! by accident, and every "outside tolerance" message is computed the same way.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::config::HmacAlgorithm;
use crate::rejection::Rejection;

/// Whether `expected` is the HMAC of the concatenated `parts` under `key`, compared
/// in constant time.
pub(crate) fn hmac_matches(alg: HmacAlgorithm, key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    match alg {
        HmacAlgorithm::Sha1 => mac_matches::<Hmac<sha1::Sha1>>(key, parts, expected),
        HmacAlgorithm::Sha256 => mac_matches::<Hmac<Sha256>>(key, parts, expected),
        HmacAlgorithm::Sha512 => mac_matches::<Hmac<Sha512>>(key, parts, expected),
    }
}

/// The HMAC-SHA256 of `message` (for answers that must *produce* one, such as
/// Zoom's URL validation).
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length; this arm cannot run.
        Err(_) => Vec::new(),
    }
}

fn mac_matches<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    let Ok(mut mac) = <M as Mac>::new_from_slice(key) else { return false };
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(expected).is_ok()
}

/// Constant-time equality of two tokens that hides their lengths too: both sides are
/// hashed first, so a wrong guess learns nothing about the token's length or prefix.
pub(crate) fn tokens_equal(received: &[u8], expected: &[u8]) -> bool {
    Sha256::digest(received).ct_eq(&Sha256::digest(expected)).into()
}

/// Hex in either case.
pub(crate) fn decode_hex(s: &str) -> Option<Vec<u8>> {
    hex::decode(s.trim()).ok()
}

/// Base64, standard or URL-safe alphabet, padded or not.
pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|engine| engine.decode(s).ok())
}

/// Parses a Unix timestamp (seconds, or milliseconds for Contentful) from a header.
pub(crate) fn parse_timestamp(header: &str, value: &str) -> Result<i64, Rejection> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| Rejection::malformed(header, format!("the timestamp {value:?} is not an integer")))
}

/// Accepts `signed_at` when it is within `tolerance_secs` of `now`, in either
/// direction: old requests are replays, requests from the future come from a
/// skewed clock or a forger holding a stolen signature for later.
pub(crate) fn check_window(
    header: &str,
    signed_at: i64,
    now: i64,
    tolerance_secs: u32,
) -> Result<(), Rejection> {
    let skew_secs = now.saturating_sub(signed_at);
    let outside_by = skew_secs.unsigned_abs().saturating_sub(u64::from(tolerance_secs));
    if outside_by == 0 {
        return Ok(());
    }
    Err(Rejection::TimestampOutsideTolerance {
        header: header.to_owned(),
        skew_secs,
        tolerance_secs,
        outside_by_secs: outside_by,
    })
}
