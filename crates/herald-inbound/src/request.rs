//! [`InboundRequest`]: one received request, borrowed from the HTTP layer.
//!
//! Verifiers need the exact bytes the provider sent — the raw body, the URL as the
//! provider called it, the header values untouched — so this type borrows them and
//! never re-encodes anything. The helpers here read headers, the query string and
//! form bodies the way every verifier and deriver in this crate needs them, so the
//! "missing header" and "not text" cases are reported the same way everywhere.

use std::borrow::Cow;
use std::fmt;

use http::{HeaderMap, Method};

use crate::rejection::Rejection;

/// One received request, as the provider sent it.
///
/// `url` is the full URL the provider called, with its query string (Twilio and
/// Contentful sign it). `body` is the raw body: nothing may parse or re-encode it
/// before [`verify`](crate::verify()) has run.
#[derive(Clone, Copy)]
pub struct InboundRequest<'a> {
    pub method: &'a Method,
    pub url: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Shows the method, URL, header *names* and body length: header values can carry
/// credentials (basic auth, API keys, GitLab tokens) and must not reach logs.
impl fmt::Debug for InboundRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundRequest")
            .field("method", self.method)
            .field("url", &self.url)
            .field("header_names", &self.headers.keys().map(|k| k.as_str()).collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl<'a> InboundRequest<'a> {
    /// The first value of a header as text, or `None` when it is absent or not
    /// visible ASCII.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first value of a header that a verifier cannot do without.
    pub(crate) fn require(&self, name: &str) -> Result<&'a str, Rejection> {
        let value = self.headers.get(name).ok_or_else(|| Rejection::missing(name))?;
        let text =
            value.to_str().map_err(|_| Rejection::malformed(name, "the value is not visible ASCII"))?;
        if text.trim().is_empty() {
            return Err(Rejection::malformed(name, "the value is empty"));
        }
        Ok(text)
    }

    /// Every value of a header joined with `", "`, as Node.js presents repeated
    /// headers (Contentful's signer sees them that way).
    pub(crate) fn header_joined(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        if values.is_empty() { None } else { Some(values.join(", ")) }
    }

    /// The URL's path and query (`/in/src_1?x=1`), without scheme, authority or
    /// fragment. A URL given as a bare path is returned as is.
    /// An empty path reads as `/`, as HTTP clients send it.
    pub fn path_and_query(&self) -> Cow<'a, str> {
        let without_fragment = self.url.split('#').next().unwrap_or_default();
        match split_origin(without_fragment) {
            Some((_, rest)) if rest.starts_with('/') => Cow::Borrowed(rest),
            Some((_, rest)) => Cow::Owned(format!("/{rest}")),
            None => Cow::Borrowed(without_fragment),
        }
    }

    /// The first value of a query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<Cow<'a, str>> {
        let without_fragment = self.url.split('#').next().unwrap_or_default();
        let query = without_fragment.split_once('?')?.1;
        form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The body as `application/x-www-form-urlencoded` pairs, decoded.
    pub(crate) fn form_pairs(&self) -> Vec<(Cow<'a, str>, Cow<'a, str>)> {
        form_urlencoded::parse(self.body).collect()
    }
}

/// Splits `scheme://authority/rest` into (`scheme://authority`, `/rest…`); `None`
/// when the URL has no scheme.
pub(crate) fn split_origin(url: &str) -> Option<(&str, &str)> {
    let scheme_end = url.find("://")? + 3;
    let rest = &url[scheme_end..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(url.split_at(scheme_end + authority_len))
}
