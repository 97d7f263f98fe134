//! Discord: `X-Signature-Ed25519` (hex ed25519 signature) over
//! `{X-Signature-Timestamp}{body}`, checked with the application's public key.
//!
//! Discord's own library checks no timestamp window; Herald applies its tolerance
//! anyway (default 300 s), since a captured interaction could otherwise be replayed
//! forever. Verification is `verify_strict`, which also refuses small-order keys and
//! non-canonical signatures.

use ed25519_dalek::Signature;

use crate::config::discord_key;
use crate::crypto::{check_window, decode_hex, parse_timestamp};
use crate::rejection::Rejection;
use crate::request::InboundRequest;
use crate::verify::Verified;

const SIG_HEADER: &str = "X-Signature-Ed25519";
const TS_HEADER: &str = "X-Signature-Timestamp";

pub(super) fn verify(
    public_key: &str,
    tolerance: u32,
    req: &InboundRequest<'_>,
    now: i64,
) -> Result<Verified, Rejection> {
    let key = discord_key(public_key)?;
    let sig_hex = req.require(SIG_HEADER)?;
    let ts = req.require(TS_HEADER)?;
    let signed_at = parse_timestamp(TS_HEADER, ts)?;
    let bytes =
        decode_hex(sig_hex).ok_or_else(|| Rejection::malformed(SIG_HEADER, "the signature is not hex"))?;
    let signature = Signature::from_slice(&bytes)
        .map_err(|_| Rejection::malformed(SIG_HEADER, "an ed25519 signature is 64 bytes (128 hex digits)"))?;
    let mut message = Vec::with_capacity(ts.len() + req.body.len());
    message.extend_from_slice(ts.as_bytes());
    message.extend_from_slice(req.body);
    key.verify_strict(&message, &signature).map_err(|_| Rejection::mismatch(SIG_HEADER))?;
    check_window(TS_HEADER, signed_at, now, tolerance)?;
    Ok(Verified::signature(Some(signed_at)))
}
