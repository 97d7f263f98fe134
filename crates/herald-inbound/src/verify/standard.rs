//! Standard Webhooks and Svix: `webhook-id`, `webhook-timestamp`,
//! `webhook-signature` (or the same three with the `svix-` prefix, which Svix still
//! sends), signatures `v1,<base64 HMAC-SHA256>` or `v1a,<base64 ed25519>` over
//! `{id}.{timestamp}.{body}`, several space-separated during a key rotation.
//!
//! The signature arithmetic is `herald_core::signing`, the same code that signs
//! Herald's outbound webhooks; this module adds header selection, the error
//! messages and the tolerance window.

use herald_core::signing;

use crate::config::{Secret, StandardKey, standard_webhooks_key};
use crate::crypto::{check_window, parse_timestamp};
use crate::rejection::Rejection;
use crate::request::InboundRequest;
use crate::verify::Verified;

const WEBHOOK: [&str; 3] = ["webhook-id", "webhook-timestamp", "webhook-signature"];
const SVIX: [&str; 3] = ["svix-id", "svix-timestamp", "svix-signature"];

pub(super) fn verify(
    secret: &Secret,
    tolerance: u32,
    req: &InboundRequest<'_>,
    now: i64,
) -> Result<Verified, Rejection> {
    let key = standard_webhooks_key(secret)?;
    let names = header_set(req)?;
    let [id_h, ts_h, sig_h] = names;
    let id = req.require(id_h)?;
    let ts = req.require(ts_h)?;
    let signature = req.require(sig_h)?;
    let signed_at = parse_timestamp(ts_h, ts)?;
    if !signature.split(' ').any(|entry| entry.contains(',')) {
        return Err(Rejection::malformed(
            sig_h,
            "expected space-separated v1,<base64> or v1a,<base64> entries",
        ));
    }
    let matched = match &key {
        StandardKey::Signing(k) => signing::verify(k, id, signed_at, req.body, signature, None).is_ok(),
        StandardKey::Public(pk) => signing::verify_with_public_key(pk, id, signed_at, req.body, signature),
    };
    if !matched {
        return Err(Rejection::mismatch(sig_h));
    }
    check_window(ts_h, signed_at, now, tolerance)?;
    Ok(Verified::signature(Some(signed_at)))
}

/// `webhook-*` when `webhook-id` is present, else `svix-*` when `svix-id` is, as the
/// Svix libraries decide.
fn header_set(req: &InboundRequest<'_>) -> Result<[&'static str; 3], Rejection> {
    if req.headers.contains_key(WEBHOOK[0]) {
        Ok(WEBHOOK)
    } else if req.headers.contains_key(SVIX[0]) {
        Ok(SVIX)
    } else {
        Err(Rejection::missing("webhook-id (or svix-id)"))
    }
}
