//! Providers that sign `timestamp + separator + body` with HMAC-SHA256 in hex and
//! send the timestamp alongside: Stripe (`t=…,v1=…`), Slack and Zoom (`v0=…` with a
//! separate timestamp header, `v0:{ts}:{body}`), Paddle Billing (`ts=…;h1=…`).
//!
//! The timestamp is signed exactly as received (its text, not a re-formatted
//! number), as the providers' own libraries do. Stripe and Paddle may list several
//! signatures during a secret roll; any one matching is enough.

use crate::config::{HmacAlgorithm, Secret};
use crate::crypto::{check_window, decode_hex, hmac_matches, parse_timestamp};
use crate::rejection::Rejection;
use crate::request::InboundRequest;
use crate::verify::Verified;

/// A header holding a timestamp and one or more signatures as `key=value` items.
struct PairHeader {
    header: &'static str,
    separator: char,
    ts_key: &'static str,
    sig_key: &'static str,
    /// Between the timestamp and the body in the signed content.
    joiner: &'static [u8],
}

/// Stripe: `Stripe-Signature: t=1700000000,v1=<hex>[,v1=<hex>][,v0=…]` over `{t}.{body}`.
const STRIPE: PairHeader =
    PairHeader { header: "Stripe-Signature", separator: ',', ts_key: "t", sig_key: "v1", joiner: b"." };

/// Paddle Billing: `Paddle-Signature: ts=1700000000;h1=<hex>[;h1=<hex>]` over `{ts}:{body}`.
const PADDLE: PairHeader =
    PairHeader { header: "Paddle-Signature", separator: ';', ts_key: "ts", sig_key: "h1", joiner: b":" };

pub(super) fn stripe(
    secret: &Secret,
    tolerance: u32,
    req: &InboundRequest<'_>,
    now: i64,
) -> Result<Verified, Rejection> {
    pair_header(&STRIPE, secret, tolerance, req, now)
}

pub(super) fn paddle(
    secret: &Secret,
    tolerance: u32,
    req: &InboundRequest<'_>,
    now: i64,
) -> Result<Verified, Rejection> {
    pair_header(&PADDLE, secret, tolerance, req, now)
}

fn pair_header(
    scheme: &PairHeader,
    secret: &Secret,
    tolerance: u32,
    req: &InboundRequest<'_>,
    now: i64,
) -> Result<Verified, Rejection> {
    let header = scheme.header;
    let value = req.require(header)?;
    let (ts, signatures) = parse_pairs(value, scheme.separator, scheme.ts_key, scheme.sig_key);
    let ts = ts.ok_or_else(|| Rejection::malformed(header, format!("no {}= timestamp", scheme.ts_key)))?;
    let signed_at = parse_timestamp(header, ts)?;
    if signatures.is_empty() {
        return Err(Rejection::malformed(header, format!("no {}= signature", scheme.sig_key)));
    }
    let parts: [&[u8]; 3] = [ts.as_bytes(), scheme.joiner, req.body];
    any_hex_matches(secret, &parts, &signatures, header)?;
    check_window(header, signed_at, now, tolerance)?;
    Ok(Verified::signature(Some(signed_at)))
}

/// Slack: `X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}`.
pub(super) fn slack(
    secret: &Secret,
    tolerance: u32,
    req: &InboundRequest<'_>,
    now: i64,
) -> Result<Verified, Rejection> {
    v0(secret, tolerance, req, now, "X-Slack-Signature", "X-Slack-Request-Timestamp")
}

/// Zoom: `x-zm-signature: v0=<hex>` over `v0:{x-zm-request-timestamp}:{body}`.
pub(super) fn zoom(
    secret: &Secret,
    tolerance: u32,
    req: &InboundRequest<'_>,
    now: i64,
) -> Result<Verified, Rejection> {
    v0(secret, tolerance, req, now, "x-zm-signature", "x-zm-request-timestamp")
}

fn v0(
    secret: &Secret,
    tolerance: u32,
    req: &InboundRequest<'_>,
    now: i64,
    sig_header: &str,
    ts_header: &str,
) -> Result<Verified, Rejection> {
    let signature = req.require(sig_header)?;
    let ts = req.require(ts_header)?;
    let signed_at = parse_timestamp(ts_header, ts)?;
    let hex = signature
        .trim()
        .strip_prefix("v0=")
        .ok_or_else(|| Rejection::malformed(sig_header, "expected v0=<hex signature>"))?;
    let parts: [&[u8]; 4] = [b"v0:", ts.as_bytes(), b":", req.body];
    any_hex_matches(secret, &parts, &[hex], sig_header)?;
    check_window(ts_header, signed_at, now, tolerance)?;
    Ok(Verified::signature(Some(signed_at)))
}

/// Splits `k=v<sep>k=v…` into the first `ts_key` value and every `sig_key` value.
fn parse_pairs<'v>(
    value: &'v str,
    sep: char,
    ts_key: &str,
    sig_key: &str,
) -> (Option<&'v str>, Vec<&'v str>) {
    let mut ts = None;
    let mut signatures = Vec::new();
    for (key, val) in value.split(sep).filter_map(|item| item.trim().split_once('=')) {
        if key == ts_key && ts.is_none() {
            ts = Some(val);
        } else if key == sig_key {
            signatures.push(val);
        }
    }
    (ts, signatures)
}

/// Ok when one of the hex `candidates` is the HMAC-SHA256 of `parts`.
fn any_hex_matches(
    secret: &Secret,
    parts: &[&[u8]],
    candidates: &[&str],
    header: &str,
) -> Result<(), Rejection> {
    let decoded: Vec<Vec<u8>> = candidates.iter().filter_map(|c| decode_hex(c)).collect();
    if decoded.is_empty() {
        return Err(Rejection::malformed(header, "the signature is not hex"));
    }
    if decoded.iter().any(|sig| hmac_matches(HmacAlgorithm::Sha256, secret.bytes(), parts, sig)) {
        Ok(())
    } else {
        Err(Rejection::mismatch(header))
    }
}
