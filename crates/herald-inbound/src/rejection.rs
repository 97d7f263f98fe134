//! [`Rejection`]: why a received request was refused.
//!
//! The messages are shown to users in a source's rejected-requests log, so each says
//! exactly what was wrong in terms the user can act on — which header is missing,
//! which part of a signature header could not be read, by how many seconds a
//! timestamp missed the window — and never echoes a secret or a computed signature.
//! [`Rejection::code`] gives a stable short name for metrics labels.

use crate::config::ConfigError;

/// Why [`verify`](crate::verify()) refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    #[error("missing header {header}")]
    MissingHeader { header: String },

    #[error("malformed {header} header: {reason}")]
    MalformedHeader { header: String, reason: String },

    #[error("signature mismatch: no signature in {header} matches this request under the configured secret")]
    SignatureMismatch { header: String },

    #[error(
        "timestamp outside tolerance by {outside_by_secs} s: {header} says the request was signed \
         {} s {}, the tolerance is {tolerance_secs} s",
        .skew_secs.unsigned_abs(),
        if *.skew_secs >= 0 { "ago" } else { "in the future (is the sender's clock ahead?)" }
    )]
    TimestampOutsideTolerance {
        header: String,
        /// `now - signed_at`: positive when the request is old, negative when it is
        /// from the future.
        skew_secs: i64,
        tolerance_secs: u32,
        outside_by_secs: u64,
    },

    #[error("token mismatch: {header} does not match the configured token")]
    TokenMismatch { header: String },

    #[error("wrong credentials: the user name or password in Authorization does not match")]
    BadCredentials,

    #[error("body hash mismatch: the SHA-256 of the body does not match the bodySHA256 query parameter")]
    BodyHashMismatch,

    #[error("the source's verifier configuration is invalid: {0}")]
    InvalidConfig(#[from] ConfigError),
}

impl Rejection {
    /// A stable snake_case name for the kind of rejection (metrics labels, filters).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingHeader { .. } => "missing_header",
            Self::MalformedHeader { .. } => "malformed_header",
            Self::SignatureMismatch { .. } => "signature_mismatch",
            Self::TimestampOutsideTolerance { .. } => "timestamp_outside_tolerance",
            Self::TokenMismatch { .. } => "token_mismatch",
            Self::BadCredentials => "bad_credentials",
            Self::BodyHashMismatch => "body_hash_mismatch",
            Self::InvalidConfig(_) => "invalid_config",
        }
    }

    pub(crate) fn missing(header: &str) -> Self {
        Self::MissingHeader { header: header.to_owned() }
    }

    pub(crate) fn malformed(header: &str, reason: impl Into<String>) -> Self {
        Self::MalformedHeader { header: header.to_owned(), reason: reason.into() }
    }

    pub(crate) fn mismatch(header: &str) -> Self {
        Self::SignatureMismatch { header: header.to_owned() }
    }
}
