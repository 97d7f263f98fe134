//! [`VerifierConfig`]: how one source's requests are verified, as the source stores it.
//!
//! Sources keep this as JSON, so it is a serde enum tagged by `type`
//! (`{"type": "stripe", "secret": "whsec_…"}`), with every optional field defaulted
//! to the provider's own value (Stripe's 300 s tolerance, Paddle's 5 s, …) so a
//! stored configuration keeps working when defaults are documented, not copied.
//! Secrets live in [`Secret`], whose `Debug` is redacted; they serialize in clear
//! because this *is* the storage format — encrypting them at rest is the store's job
//! and hiding them in API answers the API's.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use http::HeaderName;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::derive::Provider;

/// A shared secret, token or password. `Debug` never shows it; equality is
/// constant-time.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: for computing MACs and for the store, never for logs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && bool::from(self.0.as_bytes().ct_eq(other.0.as_bytes()))
    }
}

impl Eq for Secret {}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

/// The hash behind a generic HMAC signature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HmacAlgorithm {
    Sha1,
    #[default]
    Sha256,
    Sha512,
}

/// How a generic HMAC signature is written in its header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureEncoding {
    #[default]
    Hex,
    Base64,
}

/// How a source's requests are verified. See the crate README for one example of
/// each as stored JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum VerifierConfig {
    /// `Stripe-Signature: t=…,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>`; the secret is
    /// the endpoint's `whsec_…` signing secret, used as is.
    Stripe {
        secret: Secret,
        #[serde(default = "tolerance_300")]
        tolerance_secs: u32,
    },
    /// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.
    #[serde(rename = "github")]
    GitHub { secret: Secret },
    /// `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`.
    Shopify { secret: Secret },
    /// `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:{ts}:{body}")>` with
    /// `X-Slack-Request-Timestamp`.
    Slack {
        secret: Secret,
        #[serde(default = "tolerance_300")]
        tolerance_secs: u32,
    },
    /// `X-Twilio-Signature`: base64 HMAC-SHA1 (or HMAC-SHA256 when
    /// `X-Twilio-Webhooks-Signature-Settings` says so) over the full URL followed by
    /// the sorted form parameters; JSON bodies are bound by the URL's `bodySHA256`.
    Twilio { secret: Secret },
    /// Standard Webhooks (`webhook-*`) and Svix (`svix-*`) headers. `secret` is a
    /// `whsec_…` secret (`v1`) or a `whpk_…` public key (`v1a`).
    #[serde(alias = "svix")]
    StandardWebhooks {
        secret: Secret,
        #[serde(default = "tolerance_300")]
        tolerance_secs: u32,
    },
    /// Paddle Billing: `Paddle-Signature: ts=…;h1=<hex HMAC-SHA256(secret, "{ts}:{body}")>`.
    Paddle {
        secret: Secret,
        #[serde(default = "tolerance_5")]
        tolerance_secs: u32,
    },
    /// Discord: ed25519 over `{X-Signature-Timestamp}{body}`, key as 64 hex digits.
    Discord {
        public_key: String,
        #[serde(default = "tolerance_300")]
        tolerance_secs: u32,
    },
    /// GitLab's `X-Gitlab-Token`, compared in constant time.
    #[serde(rename = "gitlab")]
    GitLab { secret: Secret },
    /// Contentful request signing: HMAC-SHA256 over method, path, signed headers and body.
    Contentful {
        secret: Secret,
        #[serde(default = "tolerance_300")]
        tolerance_secs: u32,
    },
    /// Zoom: `x-zm-signature: v0=<hex HMAC-SHA256(secret, "v0:{ts}:{body}")>` with
    /// `x-zm-request-timestamp`.
    Zoom {
        secret: Secret,
        #[serde(default = "tolerance_300")]
        tolerance_secs: u32,
    },
    /// Any sender that puts an HMAC of the body (or of `{timestamp}.{body}`) in a header.
    GenericHmac(GenericHmac),
    /// `Authorization: Basic …` with a fixed user name and password.
    BasicAuth { username: String, password: Secret },
    /// A fixed key in a header, optionally after a prefix such as `Bearer `.
    ApiKey {
        header: String,
        key: Secret,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
    /// Explicitly unverified: every request is accepted.
    None,
}

/// The generic HMAC verifier's settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericHmac {
    /// The header carrying the signature.
    pub header: String,
    pub secret: Secret,
    #[serde(default)]
    pub algorithm: HmacAlgorithm,
    #[serde(default)]
    pub encoding: SignatureEncoding,
    /// Text before the signature in the header, such as `sha256=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// When set, the signed content is `{timestamp}.{body}` with the timestamp (Unix
    /// seconds) read from this header, and the tolerance applies; otherwise the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_header: Option<String>,
    #[serde(default = "tolerance_300")]
    pub tolerance_secs: u32,
}

/// A configuration value that cannot work, found by [`VerifierConfig::validate`] (or
/// by [`verify`](crate::verify()), which reports it as a rejection).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    pub field: &'static str,
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self { field, reason: reason.into() }
    }
}

impl VerifierConfig {
    /// The provider this verifier belongs to, which picks the default event-type
    /// and dedup-key rules.
    pub fn provider(&self) -> Provider {
        match self {
            Self::Stripe { .. } => Provider::Stripe,
            Self::GitHub { .. } => Provider::GitHub,
            Self::Shopify { .. } => Provider::Shopify,
            Self::Slack { .. } => Provider::Slack,
            Self::Twilio { .. } => Provider::Twilio,
            Self::StandardWebhooks { .. } => Provider::StandardWebhooks,
            Self::Paddle { .. } => Provider::Paddle,
            Self::Discord { .. } => Provider::Discord,
            Self::GitLab { .. } => Provider::GitLab,
            Self::Contentful { .. } => Provider::Contentful,
            Self::Zoom { .. } => Provider::Zoom,
            Self::GenericHmac(_) | Self::BasicAuth { .. } | Self::ApiKey { .. } | Self::None => {
                Provider::Generic
            }
        }
    }

    /// Checks what can be checked without a request: secrets present, keys that
    /// decode, header names that are header names. Call it when a source is saved.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::Stripe { secret, .. }
            | Self::GitHub { secret }
            | Self::Shopify { secret }
            | Self::Slack { secret, .. }
            | Self::Twilio { secret }
            | Self::Paddle { secret, .. }
            | Self::GitLab { secret }
            | Self::Contentful { secret, .. }
            | Self::Zoom { secret, .. } => non_empty("secret", secret.expose()),
            Self::StandardWebhooks { secret, .. } => standard_webhooks_key(secret).map(|_| ()),
            Self::Discord { public_key, .. } => discord_key(public_key).map(|_| ()),
            Self::GenericHmac(g) => {
                header_name("header", &g.header)?;
                if let Some(ts) = &g.timestamp_header {
                    header_name("timestamp_header", ts)?;
                }
                non_empty("secret", g.secret.expose())
            }
            Self::BasicAuth { username, password } => {
                if username.contains(':') {
                    return Err(ConfigError::new("username", "must not contain ':'"));
                }
                non_empty("password", password.expose())
            }
            Self::ApiKey { header, key, .. } => {
                header_name("header", header)?;
                non_empty("key", key.expose())
            }
            Self::None => Ok(()),
        }
    }
}

/// The key a Standard Webhooks source verifies with.
pub(crate) enum StandardKey {
    /// `whsec_` (HMAC) or `whsk_` (ed25519 secret key, which knows its public half).
    Signing(herald_core::SigningKey),
    /// `whpk_`: an ed25519 public key, for `v1a` only.
    Public(String),
}

pub(crate) fn standard_webhooks_key(secret: &Secret) -> Result<StandardKey, ConfigError> {
    let s = secret.expose();
    if let Some(b64) = s.strip_prefix("whpk_") {
        let bytes = B64.decode(b64).map_err(|_| ConfigError::new("secret", "the whpk_ key is not base64"))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ConfigError::new("secret", "a whpk_ key must decode to 32 bytes"))?;
        ed25519_dalek::VerifyingKey::from_bytes(&arr)
            .map_err(|_| ConfigError::new("secret", "the whpk_ key is not an ed25519 public key"))?;
        return Ok(StandardKey::Public(s.to_owned()));
    }
    herald_core::SigningKey::parse(s)
        .map(StandardKey::Signing)
        .map_err(|e| ConfigError::new("secret", e.to_string()))
}

pub(crate) fn discord_key(hex_key: &str) -> Result<ed25519_dalek::VerifyingKey, ConfigError> {
    let bad =
        || ConfigError::new("public_key", "must be 64 hex digits, the application's ed25519 public key");
    let bytes = hex::decode(hex_key.trim()).map_err(|_| bad())?;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
    ed25519_dalek::VerifyingKey::from_bytes(&arr).map_err(|_| bad())
}

fn non_empty(field: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() { Err(ConfigError::new(field, "must not be empty")) } else { Ok(()) }
}

fn header_name(field: &'static str, value: &str) -> Result<(), ConfigError> {
    HeaderName::from_bytes(value.as_bytes())
        .map(|_| ())
        .map_err(|_| ConfigError::new(field, format!("{value:?} is not a valid header name")))
}

fn tolerance_300() -> u32 {
    300
}

fn tolerance_5() -> u32 {
    5
}
