//! What receiving keeps of a request, and what it never keeps.
//!
//! - The body is read up to the source's limit and no further ([`read_body`]).
//! - An accepted message keeps the provider's headers so an endpoint can be sent
//!   them as they were ([`kept_headers`]), minus hop-by-hop headers and the
//!   credentials meant for Herald itself (`Authorization`, cookies, GitLab's token,
//!   an API-key source's header): those must not sit in the database.
//! - A refused request leaves an entry in its source's log ([`log_rejection`]): the
//!   reason, a few headers with credentials redacted, and the start of the body.

use axum::body::Body;
use bytes::Bytes;
use herald_core::{RejectionId, Timestamp};
use herald_inbound::{InboundRequest, RejectedRequest, Rejection, Source, VerifierConfig};
use http::{HeaderMap, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::hex;
use crate::error::ApiError;

/// Entries a source's rejected-requests log keeps.
const LOG_KEEP: usize = 1000;
/// Headers, and characters of each value, a log entry keeps.
const LOG_HEADERS: usize = 32;
const LOG_VALUE_CHARS: usize = 256;
/// Bytes of body a log entry keeps.
const LOG_BODY_BYTES: usize = 1024;
/// Headers, and bytes of names and values, an inbound message keeps.
const KEPT_HEADERS: usize = 64;
const KEPT_HEADER_BYTES: usize = 32 * 1024;
/// Dedup keys longer than this are stored as their SHA-256.
const MAX_KEY_LEN: usize = 200;

/// Never stored: they describe one hop, not the request.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "content-length",
    "expect",
    "host",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];
/// Credentials for Herald: never stored with a message, redacted in the log.
const CREDENTIALS: &[&str] = &["authorization", "cookie", "proxy-authorization", "x-gitlab-token"];

/// Why a request was refused, as its log entry and its 4xx answer say it.
pub(super) struct Refusal {
    pub(super) code: String,
    pub(super) reason: String,
}

impl From<&Rejection> for Refusal {
    fn from(r: &Rejection) -> Self {
        Self { code: r.code().to_owned(), reason: r.to_string() }
    }
}

/// A body over the source's limit: how many bytes it has at least.
pub(super) struct TooLarge {
    pub(super) at_least: u64,
    pub(super) limit: usize,
}

impl TooLarge {
    pub(super) fn refusal(&self) -> Refusal {
        Refusal {
            code: "payload_too_large".to_owned(),
            reason: format!("the body is larger than this source accepts ({} bytes)", self.limit),
        }
    }
}

/// The whole body if it fits in `limit` bytes. A declared `Content-Length` over the
/// limit is refused before reading anything.
pub(super) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Result<Bytes, TooLarge>, ApiError> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let cap = u64::try_from(limit).unwrap_or(u64::MAX);
    if let Some(len) = declared.filter(|&len| len > cap) {
        return Ok(Err(TooLarge { at_least: len, limit }));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(Ok(collected.to_bytes())),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Ok(Err(TooLarge { at_least: cap.saturating_add(1), limit }))
        }
        Err(e) => Err(ApiError::BadRequest(format!("Could not read the request body: {e}"))),
    }
}

/// The provider's headers to keep with the message, lower-case names in order.
pub(super) fn kept_headers(headers: &HeaderMap, verifier: &VerifierConfig) -> Vec<(String, String)> {
    let (mut kept, mut bytes) = (Vec::new(), 0);
    for (name, value) in headers {
        let name = name.as_str();
        if HOP_BY_HOP.contains(&name) || is_credential(name, verifier) {
            continue;
        }
        let Ok(value) = std::str::from_utf8(value.as_bytes()) else { continue };
        bytes += name.len() + value.len();
        if kept.len() == KEPT_HEADERS || bytes > KEPT_HEADER_BYTES {
            break;
        }
        kept.push((name.to_owned(), value.to_owned()));
    }
    kept
}

/// A dedup key as stored: as is, or `sha256:<hex>` when it is very long.
pub(super) fn bounded_key(key: String) -> String {
    if key.len() <= MAX_KEY_LEN { key } else { format!("sha256:{}", hex(&Sha256::digest(key.as_bytes()))) }
}

/// Logs a refused request in its source's log (and counts it). A failure to log is
/// itself only logged: the answer to the provider does not depend on it.
pub(super) async fn log_rejection(
    state: &AppState,
    source: &Source,
    req: &InboundRequest<'_>,
    body_size: u64,
    refusal: &Refusal,
) {
    tracing::info!(source = %source.id, code = %refusal.code, reason = %refusal.reason, "inbound request refused");
    let entry = RejectedRequest {
        id: RejectionId::generate(),
        source_id: source.id.clone(),
        received_at: Timestamp::now(),
        code: refusal.code.clone(),
        reason: refusal.reason.clone(),
        method: req.method.to_string(),
        url: req.url.to_owned(),
        headers: logged_headers(req.headers, &source.verifier),
        body: req.body[..req.body.len().min(LOG_BODY_BYTES)].to_vec(),
        body_size,
    };
    if let Err(error) = state.store.record_rejection(&entry, LOG_KEEP).await {
        tracing::error!(source = %source.id, %error, "could not log a refused inbound request");
    }
}

/// Up to [`LOG_HEADERS`] headers, values cut short, credentials redacted.
fn logged_headers(headers: &HeaderMap, verifier: &VerifierConfig) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()) || name == &header::CONTENT_LENGTH)
        .take(LOG_HEADERS)
        .map(|(name, value)| {
            let shown = if is_credential(name.as_str(), verifier) {
                "[redacted]".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).chars().take(LOG_VALUE_CHARS).collect()
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

fn is_credential(name: &str, verifier: &VerifierConfig) -> bool {
    CREDENTIALS.contains(&name)
        || matches!(verifier, VerifierConfig::ApiKey { header, .. } if header.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (n, v) in pairs {
            map.append(http::HeaderName::from_bytes(n.as_bytes()).expect("name"), v.parse().expect("value"));
        }
        map
    }

    #[test]
    fn credentials_and_hop_by_hop_headers_are_never_kept() {
        let verifier: VerifierConfig =
            serde_json::from_str(r#"{"type": "api_key", "header": "X-Api-Key", "key": "k"}"#)
                .expect("config");
        let h = headers(&[
            ("Stripe-Signature", "t=1,v1=ab"),
            ("Authorization", "Basic dTpw"),
            ("X-Api-Key", "k"),
            ("Cookie", "a=b"),
            ("Host", "herald.example.com"),
            ("Content-Type", "application/json"),
            ("X-Many", "1"),
            ("X-Many", "2"),
        ]);
        let kept = kept_headers(&h, &verifier);
        let names: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["stripe-signature", "content-type", "x-many", "x-many"]);
        let logged = logged_headers(&h, &verifier);
        let shown = |n: &str| logged.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(shown("authorization"), Some("[redacted]"));
        assert_eq!(shown("x-api-key"), Some("[redacted]"));
        assert_eq!(shown("stripe-signature"), Some("t=1,v1=ab"));
    }

    #[test]
    fn long_dedup_keys_are_hashed() {
        assert_eq!(bounded_key("evt_1".into()), "evt_1");
        let long = bounded_key("x".repeat(500));
        assert!(long.starts_with("sha256:") && long.len() == 7 + 64, "{long}");
    }
}
