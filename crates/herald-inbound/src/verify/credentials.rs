//! Verifiers that check a shared secret sent with the request rather than a
//! signature over it: GitLab's `X-Gitlab-Token`, HTTP basic auth, and an API key in
//! a header. All compare hashed values in constant time, so neither the content nor
//! the length of the expected secret leaks through timing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::config::Secret;
use crate::crypto::tokens_equal;
use crate::rejection::Rejection;
use crate::request::InboundRequest;
use crate::verify::Verified;

/// GitLab: the webhook's secret token, echoed in `X-Gitlab-Token`.
pub(super) fn gitlab(secret: &Secret, req: &InboundRequest<'_>) -> Result<Verified, Rejection> {
    const HEADER: &str = "X-Gitlab-Token";
    let token = req.require(HEADER)?;
    if tokens_equal(token.as_bytes(), secret.bytes()) {
        Ok(Verified::shared_secret())
    } else {
        Err(Rejection::TokenMismatch { header: HEADER.to_owned() })
    }
}

/// `Authorization: Basic base64(username:password)`.
pub(super) fn basic_auth(
    username: &str,
    password: &Secret,
    req: &InboundRequest<'_>,
) -> Result<Verified, Rejection> {
    const HEADER: &str = "Authorization";
    let value = req.require(HEADER)?.trim();
    let encoded = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("basic") => rest.trim(),
        _ => return Err(Rejection::malformed(HEADER, "expected the Basic scheme")),
    };
    let received = B64
        .decode(encoded)
        .map_err(|_| Rejection::malformed(HEADER, "the Basic credentials are not base64"))?;
    let mut expected = Vec::with_capacity(username.len() + 1 + password.bytes().len());
    expected.extend_from_slice(username.as_bytes());
    expected.push(b':');
    expected.extend_from_slice(password.bytes());
    if tokens_equal(&received, &expected) {
        Ok(Verified::shared_secret())
    } else {
        Err(Rejection::BadCredentials)
    }
}

/// A fixed key in `header`, after `prefix` when one is configured (`Bearer `).
pub(super) fn api_key(
    header: &str,
    key: &Secret,
    prefix: Option<&str>,
    req: &InboundRequest<'_>,
) -> Result<Verified, Rejection> {
    let value = req.require(header)?;
    let received = match prefix {
        Some(p) => value
            .strip_prefix(p)
            .ok_or_else(|| Rejection::malformed(header, format!("expected the prefix {p:?}")))?,
        None => value,
    };
    if tokens_equal(received.as_bytes(), key.bytes()) {
        Ok(Verified::shared_secret())
    } else {
        Err(Rejection::TokenMismatch { header: header.to_owned() })
    }
}
