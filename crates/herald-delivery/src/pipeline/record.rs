//! What an attempt sent, as the logs keep it ([`SentRequest`]): the method, the URL
//! and the headers exactly as sent except for credentials, and the body only when it
//! is not the message's payload (a transformation rewrote it), so the common case
//! stores no second copy of the payload.
//!
//! Credentials are judged by header name: `Authorization`, `Proxy-Authorization`,
//! `Cookie`, API-key headers and anything naming a token, secret, password, session
//! or credential. Herald's own `webhook-signature` is not one: it is what a receiver
//! checks, useless without the secret, and the first thing to compare when a
//! receiver says a signature does not verify. A URL's password (`smtp://user:pw@…`)
//! is replaced too ([`redact_password`]).

use bytes::Bytes;
use herald_core::url_password::redact_password;
use herald_core::{REDACTED, SentRequest};
use http::HeaderName;

use crate::client::OutboundRequest;
use crate::smtp;

/// Bytes of a rewritten request body kept, like the response body's default cap.
pub const MAX_BODY: usize = 8 * 1024;

/// The request as recorded, with the URL it went to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The URL called, password redacted.
    pub url: String,
    pub request: SentRequest,
}

/// Records `req`, about to be sent for a message whose payload is `payload`.
pub fn sent(req: &OutboundRequest, payload: Option<&Bytes>) -> Sent {
    let (method, headers) = if smtp::handles(&req.url) {
        ("SMTP".to_owned(), smtp::recorded_headers(req))
    } else {
        let headers = req.headers.iter().map(|(n, v)| (n.as_str().to_owned(), header_value(n, v))).collect();
        (req.method.as_str().to_owned(), headers)
    };
    let body = (payload != Some(&req.body)).then(|| capped(&req.body));
    Sent {
        url: redact_password(req.url.as_str()).into_owned(),
        request: SentRequest { method, headers, body },
    }
}

/// Whether a header with this name carries a credential whose value must not be kept.
pub fn is_credential(name: &str) -> bool {
    const NAMED: [&str; 5] = ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"];
    const PARTS: [&str; 8] =
        ["token", "secret", "password", "passwd", "apikey", "api-key", "session", "credential"];
    // HTTP header names arrive lower-case; only others pay for a lower-case copy.
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return is_credential(&name.to_ascii_lowercase());
    }
    NAMED.contains(&name) || PARTS.iter().any(|p| name.contains(p)) || name.ends_with("-auth")
}

/// A header value as shown: redacted for a credential, lossy text otherwise.
pub fn shown_value(name: &str, value: &[u8]) -> String {
    if is_credential(name) { REDACTED.to_owned() } else { String::from_utf8_lossy(value).into_owned() }
}

fn header_value(name: &HeaderName, value: &http::HeaderValue) -> String {
    shown_value(name.as_str(), value.as_bytes())
}

/// At most [`MAX_BODY`] bytes, cut on a character boundary, lossy UTF-8.
fn capped(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_BODY + 4)]);
    let mut end = text.len().min(MAX_BODY);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue, Method};
    use url::Url;

    use super::*;

    fn request(url: &str, body: &'static [u8]) -> OutboundRequest {
        let mut headers = HeaderMap::new();
        for (n, v) in [
            ("content-type", "application/json"),
            ("webhook-id", "msg_1"),
            ("webhook-signature", "v1,abc="),
            ("authorization", "Bearer sk_live_1"),
            ("x-shopify-access-token", "shpat_1"),
            ("x-client-secret", "s3"),
            ("cookie", "sid=1"),
            ("x-api-key", "k"),
            ("x-author", "jane"),
        ] {
            headers.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        OutboundRequest {
            method: Method::PUT,
            url: Url::parse(url).expect("test URL"),
            headers,
            body: Bytes::from_static(body),
            timeout: None,
        }
    }

    #[test]
    fn headers_are_kept_in_order_with_credentials_redacted() {
        let payload = Bytes::from_static(b"{\"a\":1}");
        let sent = sent(&request("https://example.com/hook", b"{\"a\":1}"), Some(&payload));
        assert_eq!(sent.url, "https://example.com/hook");
        assert_eq!(sent.request.method, "PUT");
        let shown: Vec<(&str, &str)> =
            sent.request.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(
            shown,
            [
                ("content-type", "application/json"),
                ("webhook-id", "msg_1"),
                ("webhook-signature", "v1,abc="),
                ("authorization", REDACTED),
                ("x-shopify-access-token", REDACTED),
                ("x-client-secret", REDACTED),
                ("cookie", REDACTED),
                ("x-api-key", REDACTED),
                ("x-author", "jane"),
            ]
        );
        assert_eq!(sent.request.body, None, "the payload itself is not stored twice");
    }

    #[test]
    fn a_rewritten_body_is_kept_up_to_the_cap() {
        let payload = Bytes::from_static(b"{\"a\":1}");
        let sent = sent(&request("https://example.com/hook", b"text=hi"), Some(&payload));
        assert_eq!(sent.request.body.as_deref(), Some("text=hi"));
        let big = "é".repeat(MAX_BODY);
        let kept = capped(big.as_bytes());
        assert!(kept.len() <= MAX_BODY && kept.len() > MAX_BODY - 2, "{}", kept.len());
        assert!(kept.chars().all(|c| c == 'é'));
    }

    #[test]
    fn credential_names_are_matched_in_any_case() {
        assert!(
            is_credential("X-Auth-Token") && is_credential("Authorization") && is_credential("proxy-auth")
        );
        assert!(!is_credential("X-Author") && !is_credential("webhook-signature"));
    }

    #[test]
    fn a_url_password_is_redacted() {
        assert_eq!(
            redact_password("smtp://bob:hunter2@mail.example.com:587"),
            "smtp://bob:••••@mail.example.com:587"
        );
        assert_eq!(redact_password("https://bob@example.com/x"), "https://bob@example.com/x");
        assert_eq!(redact_password("not a url"), "not a url");
    }
}
