//! The email a request becomes: its envelope (sender, recipients), its headers and
//! its body as sent after DATA.
//!
//! Headers: `From`, `To`, `Cc`, `Reply-To`, `Subject` and `Content-Type` from the
//! request (where [`super::with_defaults`] already put the URL's options), then
//! `Date` (the signature's `webhook-timestamp`), `Message-ID`
//! (`<msg_…@sender's domain>`: every try of one message is the same mail), and
//! `MIME-Version`. Herald's `webhook-id`, `webhook-timestamp` and
//! `webhook-signature` travel as mail headers of the same names, so a mail-reading
//! service can verify them like a webhook receiver (the signature covers the body
//! as the request held it). Other request headers are not mail headers and are
//! dropped. A body that is ASCII with lines under SMTP's 998-byte limit is sent as
//! it is; anything else (a one-line JSON payload of 2 KB, non-ASCII text) is sent
//! base64-encoded, which every mail client decodes and no server rejects.

use base64::Engine as _;
use http::HeaderMap;

use crate::client::OutboundRequest;

/// Longest line SMTP allows, without its CRLF (RFC 5321 §4.5.3.1.6).
const MAX_LINE: usize = 998;

/// One email, ready for MAIL FROM / RCPT TO / DATA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub headers: Vec<(String, String)>,
    /// CRLF line endings, not yet dot-stuffed.
    pub body: Vec<u8>,
}

impl Mail {
    /// The DATA section: headers, a blank line, the body, dot-stuffed (a line
    /// starting with `.` gets a second one), ending with CRLF; the caller adds `.`.
    pub fn data(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 512);
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        for line in self.body.split_inclusive(|&b| b == b'\n') {
            if line.first() == Some(&b'.') {
                out.push(b'.');
            }
            out.extend_from_slice(line);
        }
        if !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

/// The mail for `req` to `target`; the error names what is missing.
pub(crate) fn compose(req: &OutboundRequest) -> Result<Mail, String> {
    let h = |name: &str| header(&req.headers, name);
    let from_header = h("from").ok_or("no sender: set ?from= in the endpoint URL or a From header")?;
    let from = split_mailboxes(&from_header)
        .first()
        .map(|m| checked_mailbox(m))
        .transpose()?
        .ok_or("the From header names no address")?;
    let to_header = h("to").ok_or("no recipient: set ?to= in the endpoint URL or a To header")?;
    let mut to = Vec::new();
    for list in [Some(to_header.clone()), h("cc")].into_iter().flatten() {
        for mailbox in split_mailboxes(&list) {
            to.push(checked_mailbox(&mailbox)?);
        }
    }
    if to.is_empty() {
        return Err("the To header names no address".into());
    }
    let mut headers = vec![("From".to_owned(), from_header), ("To".to_owned(), to_header)];
    for (name, shown) in [("cc", "Cc"), ("reply-to", "Reply-To")] {
        if let Some(value) = h(name) {
            headers.push((shown.to_owned(), value));
        }
    }
    headers.push(("Subject".to_owned(), encode_word(&h("subject").unwrap_or_default())));
    let timestamp = h("webhook-timestamp").and_then(|t| t.parse::<u64>().ok());
    let at = timestamp.map_or_else(std::time::SystemTime::now, |s| {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(s)
    });
    headers.push(("Date".to_owned(), rfc2822_date(at)));
    if let Some(id) = h("webhook-id") {
        let domain = from.rsplit_once('@').map_or("herald.invalid", |(_, d)| d);
        headers.push(("Message-ID".to_owned(), format!("<{id}@{domain}>")));
    }
    headers.push(("MIME-Version".to_owned(), "1.0".to_owned()));
    let content_type = h("content-type").unwrap_or_else(|| "text/plain; charset=utf-8".to_owned());
    headers.push(("Content-Type".to_owned(), content_type));
    let (encoding, body) = encode_body(&req.body);
    headers.push(("Content-Transfer-Encoding".to_owned(), encoding.to_owned()));
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        if let Some(value) = h(name) {
            headers.push((name.to_owned(), value));
        }
    }
    Ok(Mail { from, to, headers, body })
}

/// The mailboxes of an address list (`Ann <a@x.org>, b@y.org`): split on commas
/// outside quotes and angle brackets, each reduced to its address.
pub(crate) fn split_mailboxes(list: &str) -> Vec<String> {
    let (mut parts, mut current, mut quoted, mut angle) = (Vec::new(), String::new(), false, false);
    for c in list.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
        .iter()
        .map(|p| match (p.rfind('<'), p.rfind('>')) {
            (Some(open), Some(close)) if open < close => p[open + 1..close].trim().to_owned(),
            _ => p.trim().to_owned(),
        })
        .filter(|p| !p.is_empty())
        .collect()
}

/// An address fit for MAIL FROM / RCPT TO: `local@domain`, no spaces, brackets or
/// control characters (which could inject SMTP commands).
pub(crate) fn checked_mailbox(address: &str) -> Result<String, String> {
    let address = address.trim();
    let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"');
    match address.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !address.contains(bad) => {
            Ok(address.to_owned())
        }
        _ => Err(format!("`{address}` is not an email address")),
    }
}

/// A one-line option (subject): no control characters, at most 998 bytes.
pub(crate) fn checked_text(what: &str, value: &str) -> Result<String, String> {
    if value.contains(char::is_control) || value.len() > MAX_LINE - 20 {
        return Err(format!("the {what} must be one line of at most 978 bytes"));
    }
    Ok(value.to_owned())
}

/// The name for EHLO: a host name's characters only.
pub(crate) fn checked_ehlo(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value.len() <= 255
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    if ok { Ok(value.to_owned()) } else { Err(format!("`{value}` is not a host name for EHLO")) }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?;
    let text = String::from_utf8_lossy(value.as_bytes()).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// RFC 2047 `=?utf-8?B?…?=` for a non-ASCII header value; ASCII as it is.
fn encode_word(text: &str) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    // Encoded words are at most 75 characters: 45 bytes of text make 60 of base64.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    let b64 = base64::engine::general_purpose::STANDARD;
    words.iter().map(|w| format!("=?utf-8?B?{}?=", b64.encode(w))).collect::<Vec<_>>().join("\r\n ")
}

/// `7bit` with CRLF line ends for short-lined ASCII, else `base64` in 76-column lines.
fn encode_body(body: &[u8]) -> (&'static str, Vec<u8>) {
    let plain = body.is_ascii()
        && !body.contains(&0)
        && body.split(|&b| b == b'\n').all(|l| l.strip_suffix(b"\r").unwrap_or(l).len() <= MAX_LINE);
    if plain {
        let mut out = Vec::with_capacity(body.len() + 16);
        for line in body.split_inclusive(|&b| b == b'\n') {
            let text = line.strip_suffix(b"\n").map_or(line, |l| l.strip_suffix(b"\r").unwrap_or(l));
            out.extend_from_slice(text);
            if line.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
        return ("7bit", out);
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(body);
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    ("base64", out)
}

/// `Fri, 27 Nov 2026 08:30:00 +0000`.
fn rfc2822_date(at: std::time::SystemTime) -> String {
    // httpdate writes `Fri, 27 Nov 2026 08:30:00 GMT`; mail wants a numeric zone.
    let http = httpdate::fmt_http_date(at);
    http.strip_suffix("GMT").map_or(http.clone(), |d| format!("{d}+0000"))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{HeaderName, HeaderValue, Method};
    use url::Url;

    use super::*;

    fn request(headers: &[(&'static str, &str)], body: &'static [u8]) -> OutboundRequest {
        let mut map = HeaderMap::new();
        for (n, v) in headers {
            map.insert(HeaderName::from_static(n), HeaderValue::from_str(v).expect("test header"));
        }
        OutboundRequest {
            method: Method::POST,
            url: Url::parse("smtp://mail.example.com").expect("url"),
            headers: map,
            body: Bytes::from_static(body),
            timeout: None,
        }
    }

    fn value<'m>(mail: &'m Mail, name: &str) -> Option<&'m str> {
        mail.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn headers_envelope_and_signature_come_from_the_request() {
        let req = request(
            &[
                ("from", "Shop <shop@example.com>"),
                ("to", "\"Doe, Jane\" <jane@example.org>, ops@example.org"),
                ("cc", "audit@example.org"),
                ("subject", "Order paid"),
                ("content-type", "text/plain"),
                ("webhook-id", "msg_1"),
                ("webhook-timestamp", "1700000000"),
                ("webhook-signature", "v1,abc="),
                ("user-agent", "Herald"),
            ],
            b"Paid.\n.hidden\n",
        );
        let mail = compose(&req).expect("composes");
        assert_eq!(mail.from, "shop@example.com");
        assert_eq!(mail.to, ["jane@example.org", "ops@example.org", "audit@example.org"]);
        assert_eq!(value(&mail, "Subject"), Some("Order paid"));
        assert_eq!(value(&mail, "Date"), Some("Tue, 14 Nov 2023 22:13:20 +0000"));
        assert_eq!(value(&mail, "Message-ID"), Some("<msg_1@example.com>"));
        assert_eq!(value(&mail, "webhook-signature"), Some("v1,abc="));
        assert_eq!(value(&mail, "user-agent"), None, "HTTP headers are not mail headers");
        let data = String::from_utf8(mail.data()).expect("ascii");
        assert!(data.ends_with("\r\n\r\nPaid.\r\n..hidden\r\n"), "dot-stuffed with CRLF: {data:?}");
    }

    #[test]
    fn missing_sender_or_recipient_is_named() {
        let no_from = compose(&request(&[("to", "a@b.c")], b"x")).expect_err("no sender");
        assert!(no_from.contains("?from="), "{no_from}");
        let no_to = compose(&request(&[("from", "a@b.c")], b"x")).expect_err("no recipient");
        assert!(no_to.contains("?to="), "{no_to}");
        let bad = compose(&request(&[("from", "a@b.c"), ("to", "not an address")], b"x"));
        assert!(bad.is_err());
    }

    #[test]
    fn long_lines_and_non_ascii_bodies_go_base64() {
        let long = "x".repeat(2000);
        assert_eq!(encode_body(long.as_bytes()).0, "base64");
        assert_eq!(encode_body("héllo".as_bytes()).0, "base64");
        let (enc, body) = encode_body(b"{\"a\":1}");
        assert_eq!((enc, body.as_slice()), ("7bit", &b"{\"a\":1}"[..]));
        let (_, wrapped) = encode_body(long.as_bytes());
        assert!(wrapped.split(|&b| b == b'\n').all(|l| l.len() <= 77));
    }

    #[test]
    fn a_non_ascii_subject_is_an_encoded_word() {
        assert_eq!(encode_word("Paid"), "Paid");
        assert_eq!(encode_word("Payé"), "=?utf-8?B?UGF5w6k=?=");
    }

    #[test]
    fn mailbox_lists_split_outside_quotes() {
        assert_eq!(split_mailboxes("\"A, B\" <a@x.org>,b@y.org , "), ["a@x.org", "b@y.org"]);
        assert!(checked_mailbox("a@b.c\r\nRCPT TO:<x@y>").is_err());
        assert!(checked_mailbox("@b.c").is_err());
    }
}
