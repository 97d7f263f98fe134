//! [`verify`]: one received request against one source's [`VerifierConfig`].
//!
//! This module only dispatches; each scheme lives in a submodule grouped by shape
//! (timestamped HMAC headers, body-only HMACs, Standard Webhooks, Twilio's URL
//! signature, Contentful's canonical request, Discord's ed25519, plain credentials).
//! Every check runs on the raw body bytes, compares in constant time, and reads no
//! clock: the caller passes `now`.

mod body_hmac;
mod contentful;
mod credentials;
mod discord;
mod standard;
mod timestamped;
mod twilio;

use crate::config::VerifierConfig;
use crate::rejection::Rejection;
use crate::request::InboundRequest;

/// What a successful verification established.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    pub authenticity: Authenticity,
    /// When the sender says it signed the request (Unix seconds), for schemes that
    /// sign a timestamp.
    pub signed_at: Option<i64>,
}

/// How the request proved where it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authenticity {
    /// A signature over the body (HMAC or ed25519) checked with the source's key.
    Signature,
    /// A shared token, API key or password sent with the request: proves the sender
    /// knows it, not that the body is untouched.
    SharedSecret,
    /// The source is configured with `none`.
    Unverified,
}

impl Verified {
    pub(crate) fn signature(signed_at: Option<i64>) -> Self {
        Self { authenticity: Authenticity::Signature, signed_at }
    }

    pub(crate) fn shared_secret() -> Self {
        Self { authenticity: Authenticity::SharedSecret, signed_at: None }
    }
}

/// Decides whether `req` is authentic under `config`, with the clock at
/// `now_unix_secs`. Signature checks come before timestamp checks, so a
/// "timestamp outside tolerance" rejection is only ever reported for a request
/// that was genuinely signed (a replay or a skewed clock), never for a forgery.
pub fn verify(
    config: &VerifierConfig,
    req: &InboundRequest<'_>,
    now_unix_secs: i64,
) -> Result<Verified, Rejection> {
    let now = now_unix_secs;
    match config {
        VerifierConfig::Stripe { secret, tolerance_secs } => {
            timestamped::stripe(secret, *tolerance_secs, req, now)
        }
        VerifierConfig::GitHub { secret } => body_hmac::github(secret, req),
        VerifierConfig::Shopify { secret } => body_hmac::shopify(secret, req),
        VerifierConfig::Slack { secret, tolerance_secs } => {
            timestamped::slack(secret, *tolerance_secs, req, now)
        }
        VerifierConfig::Twilio { secret } => twilio::verify(secret, req),
        VerifierConfig::StandardWebhooks { secret, tolerance_secs } => {
            standard::verify(secret, *tolerance_secs, req, now)
        }
        VerifierConfig::Paddle { secret, tolerance_secs } => {
            timestamped::paddle(secret, *tolerance_secs, req, now)
        }
        VerifierConfig::Discord { public_key, tolerance_secs } => {
            discord::verify(public_key, *tolerance_secs, req, now)
        }
        VerifierConfig::GitLab { secret } => credentials::gitlab(secret, req),
        VerifierConfig::Contentful { secret, tolerance_secs } => {
            contentful::verify(secret, *tolerance_secs, req, now)
        }
        VerifierConfig::Zoom { secret, tolerance_secs } => {
            timestamped::zoom(secret, *tolerance_secs, req, now)
        }
        VerifierConfig::GenericHmac(g) => body_hmac::generic(g, req, now),
        VerifierConfig::BasicAuth { username, password } => credentials::basic_auth(username, password, req),
        VerifierConfig::ApiKey { header, key, prefix } => {
            credentials::api_key(header, key, prefix.as_deref(), req)
        }
        VerifierConfig::None => Ok(Verified { authenticity: Authenticity::Unverified, signed_at: None }),
    }
}
