//! Twilio: `X-Twilio-Signature` is the base64 HMAC of the full URL Twilio called
//! (query included) followed by every form parameter of the body, sorted by name
//! then value, as `name1value1name2value2…`.
//!
//! - JSON bodies (Event Streams and other JSON callbacks) are not in the signature;
//!   instead the URL carries `bodySHA256=<hex SHA-256 of the body>`, which is signed
//!   as part of the URL and checked against the body here.
//! - The HMAC is SHA-1 with the account's auth token, or SHA-256 when
//!   `X-Twilio-Webhooks-Signature-Settings` says `algorithm=HMAC_SHA256`
//!   (shared-key signing).
//! - Twilio's libraries accept the URL both with and without its port (`:443` on
//!   https, `:80` on http), "since signature generation on the back end is
//!   inconsistent"; so does this verifier.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use crate::config::{HmacAlgorithm, Secret};
use crate::crypto::{decode_base64, decode_hex, hmac_matches, tokens_equal};
use crate::rejection::Rejection;
use crate::request::{InboundRequest, split_origin};
use crate::verify::Verified;

const HEADER: &str = "X-Twilio-Signature";
const SETTINGS_HEADER: &str = "X-Twilio-Webhooks-Signature-Settings";

pub(super) fn verify(secret: &Secret, req: &InboundRequest<'_>) -> Result<Verified, Rejection> {
    let value = req.require(HEADER)?;
    let sig =
        decode_base64(value).ok_or_else(|| Rejection::malformed(HEADER, "the signature is not base64"))?;
    let alg = algorithm(req)?;
    let body_hash = req.query_param("bodySHA256");
    let params = match body_hash {
        Some(_) => vec![String::new()],
        None => sorted_params(req),
    };
    let urls = url_variants(req.url);
    let matched = urls.iter().any(|url| {
        params.iter().any(|p| hmac_matches(alg, secret.bytes(), &[url.as_bytes(), p.as_bytes()], &sig))
    });
    if !matched {
        return Err(Rejection::mismatch(HEADER));
    }
    if let Some(expected) = body_hash {
        let actual = Sha256::digest(req.body);
        let expected = decode_hex(&expected).unwrap_or_default();
        if !tokens_equal(&actual, &expected) {
            return Err(Rejection::BodyHashMismatch);
        }
    }
    Ok(Verified::signature(None))
}

/// SHA-1 unless the settings header names another algorithm.
fn algorithm(req: &InboundRequest<'_>) -> Result<HmacAlgorithm, Rejection> {
    let Some(settings) = req.headers.get(SETTINGS_HEADER) else { return Ok(HmacAlgorithm::Sha1) };
    let settings =
        settings.to_str().map_err(|_| Rejection::malformed(SETTINGS_HEADER, "not visible ASCII"))?;
    let named = settings
        .split(',')
        .filter_map(|item| item.trim().split_once('='))
        .find(|(k, _)| k.trim() == "algorithm")
        .map(|(_, v)| v.trim());
    match named {
        None | Some("HMAC_SHA1") => Ok(HmacAlgorithm::Sha1),
        Some("HMAC_SHA256") => Ok(HmacAlgorithm::Sha256),
        Some(other) => Err(Rejection::malformed(SETTINGS_HEADER, format!("unknown algorithm {other:?}"))),
    }
}

/// `name1value1name2value2…` over the decoded form body, sorted by name then value.
///
/// Twilio's libraries disagree when a parameter repeats with the *same* value:
/// twilio-python signs every copy, twilio-node drops the duplicates. When the body
/// has such a repeat, both forms are candidates.
fn sorted_params(req: &InboundRequest<'_>) -> Vec<String> {
    let mut pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = req.form_pairs();
    pairs.sort();
    let concat = |pairs: &[(Cow<'_, str>, Cow<'_, str>)]| -> String {
        pairs.iter().flat_map(|(k, v)| [k.as_ref(), v.as_ref()]).collect()
    };
    let mut candidates = vec![concat(&pairs)];
    let before = pairs.len();
    pairs.dedup();
    if pairs.len() != before {
        candidates.push(concat(&pairs));
    }
    candidates
}

/// The URL without its port and with its (default) port; one of the two is the URL
/// as given.
fn url_variants(url: &str) -> Vec<String> {
    let Some((origin, rest)) = split_origin(url) else { return vec![url.to_owned()] };
    let (scheme, authority) = origin.split_once("://").unwrap_or((origin, ""));
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let port_colon =
        authority[host_start..].rfind(':').map(|i| i + host_start).filter(|&i| !authority[i..].contains(']'));
    let (without, with) = match port_colon {
        Some(i) => (format!("{scheme}://{}{rest}", &authority[..i]), url.to_owned()),
        None => {
            let port = if scheme.eq_ignore_ascii_case("https") { 443 } else { 80 };
            (url.to_owned(), format!("{scheme}://{authority}:{port}{rest}"))
        }
    };
    vec![without, with]
}
