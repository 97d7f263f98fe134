//! How [`prepare`](super::prepare) treats inbound messages (those a source received).
//!
//! The body is always the provider's bytes as received. What comes with it is the
//! endpoint's choice, made in its `metadata` (so the Svix SDKs can set it):
//! `"herald.headers": "original"` sends the provider's original headers
//! (`Stripe-Signature`, `X-Hub-Signature-256`, …) instead of Herald's Standard
//! Webhooks signature, so a service that verifies the provider's signature itself
//! keeps working behind Herald. Anything else (or nothing) keeps Herald's signature,
//! with the provider's `Content-Type` rather than `application/json`, since an
//! inbound body need not be JSON.

use bytes::Bytes;
use herald_core::InboundOrigin;
use http::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::client::OutboundRequest;
use crate::dispatch::Dispatch;

/// The endpoint metadata key that chooses which headers an inbound message carries.
pub const HEADERS_METADATA_KEY: &str = "herald.headers";
/// Its value asking for the provider's original headers.
pub const ORIGINAL_HEADERS: &str = "original";

/// The provider's headers, when the endpoint asked for them and the message has them.
pub(super) fn passthrough(d: &Dispatch) -> Option<&InboundOrigin> {
    let wants = d.endpoint.metadata.get(HEADERS_METADATA_KEY).is_some_and(|v| v == ORIGINAL_HEADERS);
    d.message.inbound.as_ref().filter(|_| wants)
}

/// The request with the endpoint's custom headers and the provider's original ones,
/// which win where both name a header (repeated original headers are kept, in
/// order) — and no Herald signature.
pub(super) fn original_request(
    d: &Dispatch,
    origin: &InboundOrigin,
    url: Url,
    body: Bytes,
) -> OutboundRequest {
    let mut headers = HeaderMap::with_capacity(d.endpoint.headers.len() + origin.headers.len());
    let parse = |n: &str, v: &str| Some((HeaderName::try_from(n).ok()?, HeaderValue::try_from(v).ok()?));
    for (name, value) in d.endpoint.headers.iter().filter_map(|(n, v)| parse(n, v)) {
        headers.insert(name, value);
    }
    let mut seen: Vec<HeaderName> = Vec::new();
    for (name, value) in origin.headers.iter().filter_map(|(n, v)| parse(n, v)) {
        if seen.contains(&name) {
            headers.append(name, value);
        } else {
            headers.insert(name.clone(), value);
            seen.push(name);
        }
    }
    OutboundRequest { method: http::Method::POST, url, headers, body, timeout: None }
}

/// The `Content-Type` of a message sent with Herald's signature: the provider's for
/// an inbound message, else JSON.
pub(super) fn content_type(d: &Dispatch) -> HeaderValue {
    let original = d.message.inbound.as_ref().and_then(|o| o.header("content-type"));
    original
        .and_then(|v| HeaderValue::from_str(v).ok())
        .unwrap_or(HeaderValue::from_static("application/json"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use herald_core::{SourceId, Timestamp, Trigger};

    use super::*;
    use crate::fixtures::dispatch;
    use crate::pipeline::prepare;

    /// A delivery of an inbound form post with Slack's headers to an endpoint that
    /// asks for `headers` (`None`: says nothing).
    fn inbound_dispatch(headers: Option<&str>) -> Dispatch {
        let mut d = dispatch(0, Trigger::Scheduled);
        let mut msg = (*d.message).clone();
        msg.payload = Some(Bytes::from_static(b"token=x&text=hi"));
        msg.inbound = Some(InboundOrigin {
            source: SourceId::generate(),
            path: "/in/slack".into(),
            headers: vec![
                ("content-type".into(), "application/x-www-form-urlencoded".into()),
                ("x-slack-signature".into(), "v0=abc".into()),
                ("x-team".into(), "from-slack".into()),
                ("x-repeated".into(), "1".into()),
                ("x-repeated".into(), "2".into()),
            ],
            dedup: None,
        });
        d.message = Arc::new(msg);
        if let Some(choice) = headers {
            let mut ep = (*d.endpoint).clone();
            ep.metadata.insert(HEADERS_METADATA_KEY.into(), choice.into());
            d.endpoint = Arc::new(ep);
        }
        d
    }

    fn header<'h>(h: &'h HeaderMap, name: &str) -> Vec<&'h str> {
        h.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect()
    }

    #[test]
    fn original_headers_replace_herald_signature_when_the_endpoint_asks() {
        let req =
            prepare(&inbound_dispatch(Some(ORIGINAL_HEADERS)), Timestamp(1_700_000_000_000)).expect("ok");
        assert_eq!(&req.body[..], b"token=x&text=hi", "the provider's bytes");
        assert_eq!(header(&req.headers, "x-slack-signature"), ["v0=abc"]);
        assert_eq!(header(&req.headers, "content-type"), ["application/x-www-form-urlencoded"]);
        assert_eq!(header(&req.headers, "x-team"), ["from-slack"], "the original wins over a custom header");
        assert_eq!(header(&req.headers, "x-repeated"), ["1", "2"], "repeats kept in order");
        assert!(req.headers.get("webhook-signature").is_none(), "no Herald signature");
    }

    #[test]
    fn by_default_inbound_messages_are_signed_by_herald_with_their_content_type() {
        for choice in [None, Some("herald")] {
            let req = prepare(&inbound_dispatch(choice), Timestamp(1_700_000_000_000)).expect("ok");
            assert!(req.headers.get("webhook-signature").is_some(), "{choice:?}");
            assert!(req.headers.get("x-slack-signature").is_none(), "{choice:?}");
            assert_eq!(header(&req.headers, "content-type"), ["application/x-www-form-urlencoded"]);
        }
        let mut api_message = dispatch(0, Trigger::Scheduled);
        let mut ep = (*api_message.endpoint).clone();
        ep.metadata.insert(HEADERS_METADATA_KEY.into(), ORIGINAL_HEADERS.into());
        api_message.endpoint = Arc::new(ep);
        let req = prepare(&api_message, Timestamp(1_700_000_000_000)).expect("ok");
        assert!(req.headers.get("webhook-signature").is_some(), "a message with no origin is signed");
    }
}
