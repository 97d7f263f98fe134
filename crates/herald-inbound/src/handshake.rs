//! Answers to the challenges some providers send before they deliver anything.
//!
//! - Slack's Events API posts `{"type": "url_verification", "challenge": "…"}` and
//!   enables the URL only if the answer echoes the challenge.
//! - Zoom posts `{"event": "endpoint.url_validation", "payload": {"plainToken": "…"}}`
//!   and expects `{"plainToken", "encryptedToken": hex HMAC-SHA256(secret, plainToken)}`.
//!
//! Both challenges are signed like any other request, so the caller runs
//! [`verify`](crate::verify()) first and asks [`handshake`] only for verified
//! requests; a request that is a handshake is answered and not stored as an event.

use serde_json::{Value, json};

use crate::config::{Secret, VerifierConfig};
use crate::crypto::hmac_sha256;
use crate::request::InboundRequest;

/// The response a handshake request must get (status 200).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeAnswer {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// The answer when `req` is its provider's URL-verification challenge, else `None`.
pub fn handshake(config: &VerifierConfig, req: &InboundRequest<'_>) -> Option<HandshakeAnswer> {
    match config {
        VerifierConfig::Slack { .. } => slack_url_verification(req),
        VerifierConfig::Zoom { secret, .. } => zoom_url_validation(secret, req),
        _ => None,
    }
}

/// Slack's `url_verification`: answers the challenge as plain text, one of the
/// three forms Slack accepts.
pub fn slack_url_verification(req: &InboundRequest<'_>) -> Option<HandshakeAnswer> {
    let body: Value = serde_json::from_slice(req.body).ok()?;
    if body.get("type")?.as_str()? != "url_verification" {
        return None;
    }
    let challenge = body.get("challenge")?.as_str()?;
    Some(HandshakeAnswer { content_type: "text/plain", body: challenge.as_bytes().to_vec() })
}

/// Zoom's `endpoint.url_validation`: the plain token and its HMAC under the
/// webhook's secret token.
pub fn zoom_url_validation(secret: &Secret, req: &InboundRequest<'_>) -> Option<HandshakeAnswer> {
    let body: Value = serde_json::from_slice(req.body).ok()?;
    if body.get("event")?.as_str()? != "endpoint.url_validation" {
        return None;
    }
    let plain = body.pointer("/payload/plainToken")?.as_str()?;
    let encrypted = hex::encode(hmac_sha256(secret.bytes(), plain.as_bytes()));
    let answer = json!({ "plainToken": plain, "encryptedToken": encrypted });
    Some(HandshakeAnswer { content_type: "application/json", body: answer.to_string().into_bytes() })
}
