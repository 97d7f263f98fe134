//! Contentful request verification, as `@contentful/node-apps-toolkit`
//! (`verifyRequest`) does it.
//!
//! The signature (`x-contentful-signature`, hex) is HMAC-SHA256 over four lines
//! joined by `\n`: the method, the path, the signed headers, the body. Details that
//! must match the toolkit exactly:
//!
//! - The timestamp (`x-contentful-timestamp`) is in **milliseconds**.
//! - The signed headers are those named in `x-contentful-signed-headers` that the
//!   request has, lower-cased and trimmed, plus `x-contentful-signed-headers` and
//!   `x-contentful-timestamp` themselves; sorted by name, written `name:value`,
//!   joined by `;`. The value signed for `x-contentful-signed-headers` is the
//!   sorted list of those names joined by `,`, and for the timestamp its integer.
//! - The path is the request path and query after the toolkit's normalisation: the
//!   query is escaped with Node's `querystring.escape`, then the whole passes
//!   through `encodeURI`.
//!
//! The toolkit only refuses timestamps older than its TTL (30 s by default;
//! Contentful's own apps raise it to 300 s "to avoid any retry issues"). Herald
//! uses 300 s and refuses timestamps from the future too, like every other
//! verifier here.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::config::{HmacAlgorithm, Secret};
use crate::crypto::{check_window, decode_hex, hmac_matches, parse_timestamp};
use crate::rejection::Rejection;
use crate::request::InboundRequest;
use crate::verify::Verified;

const SIGNATURE: &str = "x-contentful-signature";
const SIGNED_HEADERS: &str = "x-contentful-signed-headers";
const TIMESTAMP: &str = "x-contentful-timestamp";

/// What Node's `querystring.escape` leaves alone.
const QS_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// What JavaScript's `encodeURI` leaves alone.
const ENCODE_URI: &AsciiSet = &QS_ESCAPE
    .remove(b';')
    .remove(b',')
    .remove(b'/')
    .remove(b'?')
    .remove(b':')
    .remove(b'@')
    .remove(b'&')
    .remove(b'=')
    .remove(b'+')
    .remove(b'$')
    .remove(b'#');

pub(super) fn verify(
    secret: &Secret,
    tolerance: u32,
    req: &InboundRequest<'_>,
    now: i64,
) -> Result<Verified, Rejection> {
    let signature = req.require(SIGNATURE)?;
    let listed = req.require(SIGNED_HEADERS)?;
    let ts_ms = parse_timestamp(TIMESTAMP, req.require(TIMESTAMP)?)?;
    let sig =
        decode_hex(signature).ok_or_else(|| Rejection::malformed(SIGNATURE, "the signature is not hex"))?;
    let headers = signed_headers(req, listed, ts_ms);
    let path = normalized_path(&req.path_and_query());
    let parts: [&[u8]; 7] =
        [req.method.as_str().as_bytes(), b"\n", path.as_bytes(), b"\n", headers.as_bytes(), b"\n", req.body];
    if !hmac_matches(HmacAlgorithm::Sha256, secret.bytes(), &parts, &sig) {
        return Err(Rejection::mismatch(SIGNATURE));
    }
    let signed_at = ts_ms.div_euclid(1000);
    check_window(TIMESTAMP, signed_at, now, tolerance)?;
    Ok(Verified::signature(Some(signed_at)))
}

/// `name:value;name:value…` for the listed headers the request has, plus the
/// signed-headers list and the timestamp, sorted by name.
fn signed_headers(req: &InboundRequest<'_>, listed: &str, ts_ms: i64) -> String {
    let mut picked: BTreeMap<String, String> = BTreeMap::new();
    // The toolkit matches list entries against lower-cased, trimmed request header
    // names without normalising the entries, so an entry like `X-Foo` picks nothing.
    let normalized = |name: &str| name == name.trim() && !name.bytes().any(|b| b.is_ascii_uppercase());
    for name in listed.split(',').filter(|n| normalized(n)) {
        if let Some(value) = req.header_joined(name) {
            picked.insert(name.to_owned(), value.trim().to_owned());
        }
    }
    picked.insert(TIMESTAMP.to_owned(), ts_ms.to_string());
    picked.insert(SIGNED_HEADERS.to_owned(), String::new());
    let names: Vec<&str> = picked.keys().map(String::as_str).collect();
    let list = names.join(",");
    picked.insert(SIGNED_HEADERS.to_owned(), list);
    picked.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(";")
}

/// The toolkit's `getNormalizedEncodedURI`: split at `?` (keeping only the first
/// two pieces, as JavaScript's destructuring does), escape the query, `encodeURI`
/// the result.
fn normalized_path(path_and_query: &str) -> String {
    let mut pieces = path_and_query.split('?');
    let pathname = pieces.next().unwrap_or_default();
    let search = pieces.next().unwrap_or_default();
    let joined = if search.is_empty() {
        pathname.to_owned()
    } else {
        format!("{pathname}?{}", utf8_percent_encode(search, QS_ESCAPE))
    };
    utf8_percent_encode(&joined, ENCODE_URI).to_string()
}

#[cfg(test)]
mod tests {
    use super::normalized_path;

    #[test]
    fn paths_are_normalized_like_the_toolkit() {
        assert_eq!(normalized_path("/hooks/contentful"), "/hooks/contentful");
        // querystring.escape turns `=` and `&` into %3D / %26, then encodeURI escapes the `%`.
        assert_eq!(normalized_path("/in/src?a=1&b=x y"), "/in/src?a%253D1%2526b%253Dx%2520y");
        assert_eq!(normalized_path("/a b/c"), "/a%20b/c");
        assert_eq!(normalized_path("/p?x?y"), "/p?x");
        // Checked against Node: unreserved marks survive both passes, UTF-8 is escaped twice.
        assert_eq!(normalized_path("/in/x?q=%20~!*()'é"), "/in/x?q%253D%252520~!*()'%25C3%25A9");
    }
}
