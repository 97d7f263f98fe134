//! HMACs over the body alone, or over `{timestamp}.{body}` for the generic verifier:
//! GitHub (`X-Hub-Signature-256: sha256=<hex>`), Shopify (`X-Shopify-Hmac-Sha256:
//! <base64>`) and the configurable generic HMAC (header, algorithm, hex or base64,
//! optional prefix, optional timestamp header).

use crate::config::{GenericHmac, HmacAlgorithm, Secret, SignatureEncoding};
use crate::crypto::{check_window, decode_base64, decode_hex, hmac_matches, parse_timestamp};
use crate::rejection::Rejection;
use crate::request::InboundRequest;
use crate::verify::Verified;

/// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.
pub(super) fn github(secret: &Secret, req: &InboundRequest<'_>) -> Result<Verified, Rejection> {
    const HEADER: &str = "X-Hub-Signature-256";
    let value = req.require(HEADER)?;
    let hex = value
        .trim()
        .strip_prefix("sha256=")
        .ok_or_else(|| Rejection::malformed(HEADER, "expected sha256=<hex signature>"))?;
    let sig = decode_hex(hex).ok_or_else(|| Rejection::malformed(HEADER, "the signature is not hex"))?;
    check(HmacAlgorithm::Sha256, secret, &[req.body], &sig, HEADER)?;
    Ok(Verified::signature(None))
}

/// Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`.
pub(super) fn shopify(secret: &Secret, req: &InboundRequest<'_>) -> Result<Verified, Rejection> {
    const HEADER: &str = "X-Shopify-Hmac-Sha256";
    let value = req.require(HEADER)?;
    let sig =
        decode_base64(value).ok_or_else(|| Rejection::malformed(HEADER, "the signature is not base64"))?;
    check(HmacAlgorithm::Sha256, secret, &[req.body], &sig, HEADER)?;
    Ok(Verified::signature(None))
}

/// The generic verifier: `{header}: {prefix}{encoded HMAC}` over the body, or over
/// `{timestamp}.{body}` when a timestamp header is configured.
pub(super) fn generic(cfg: &GenericHmac, req: &InboundRequest<'_>, now: i64) -> Result<Verified, Rejection> {
    let header = cfg.header.as_str();
    let value = req.require(header)?.trim();
    let encoded = match cfg.prefix.as_deref() {
        Some(prefix) => value
            .strip_prefix(prefix)
            .ok_or_else(|| Rejection::malformed(header, format!("expected the prefix {prefix:?}")))?,
        None => value,
    };
    let sig = match cfg.encoding {
        SignatureEncoding::Hex => {
            decode_hex(encoded).ok_or_else(|| Rejection::malformed(header, "the signature is not hex"))
        }
        SignatureEncoding::Base64 => {
            decode_base64(encoded).ok_or_else(|| Rejection::malformed(header, "the signature is not base64"))
        }
    }?;
    let Some(ts_header) = cfg.timestamp_header.as_deref() else {
        check(cfg.algorithm, &cfg.secret, &[req.body], &sig, header)?;
        return Ok(Verified::signature(None));
    };
    let ts = req.require(ts_header)?;
    let signed_at = parse_timestamp(ts_header, ts)?;
    check(cfg.algorithm, &cfg.secret, &[ts.as_bytes(), b".", req.body], &sig, header)?;
    check_window(ts_header, signed_at, now, cfg.tolerance_secs)?;
    Ok(Verified::signature(Some(signed_at)))
}

fn check(
    alg: HmacAlgorithm,
    secret: &Secret,
    parts: &[&[u8]],
    sig: &[u8],
    header: &str,
) -> Result<(), Rejection> {
    if hmac_matches(alg, secret.bytes(), parts, sig) { Ok(()) } else { Err(Rejection::mismatch(header)) }
}
