//! The default request and the checks every transformed request passes before it is sent.

use crate::{Input, Request, TransformError};

pub(crate) const JSON: &str = "application/json";

pub(crate) fn default_request(input: &Input) -> Request {
    let mut headers: Vec<(String, String)> =
        input.headers.iter().map(|(name, value)| (name.clone(), value.clone())).collect();
    if !has_header(&headers, "content-type") {
        headers.push(("Content-Type".to_owned(), JSON.to_owned()));
    }
    Request {
        method: "POST".to_owned(),
        url: input.url.to_owned(),
        headers,
        body: serde_json::to_vec(input.payload).unwrap_or_default(),
    }
}

pub(crate) fn has_header(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// Sets `name` (case-insensitively) to `value`; an empty value removes the header.
pub(crate) fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: String) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    if !value.is_empty() {
        headers.push((name.to_owned(), value));
    }
}

/// Checks what a transformation produced: a method token, an absolute URL of a scheme the
/// delivery engine speaks, header names and values HTTP can carry.
pub(crate) fn validate(request: Request) -> Result<Request, TransformError> {
    let method = request.method.trim().to_ascii_uppercase();
    if method.is_empty() || method.len() > 16 || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(TransformError::BadOutput(format!("method {:?} is not an HTTP method", request.method)));
    }
    let url = request.url.trim();
    let parsed = url::Url::parse(url)
        .map_err(|e| TransformError::BadOutput(format!("URL {url:?} is not valid: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https" | "smtp" | "smtps") {
        return Err(TransformError::BadOutput(format!(
            "URL {url:?}: scheme {:?} is not http, https, smtp or smtps",
            parsed.scheme()
        )));
    }
    for (name, value) in &request.headers {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(TransformError::BadOutput(format!("header name {name:?} is not valid")));
        }
        if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(TransformError::BadOutput(format!(
                "header {name}: value contains a control character"
            )));
        }
    }
    Ok(Request { method, url: url.to_owned(), ..request })
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            method: method.into(),
            url: url.into(),
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn validate_normalises_the_method_and_refuses_what_cannot_be_sent() {
        let ok = validate(request(" patch ", " https://a.example/x ", &[("X-A", "1\t2")])).unwrap();
        assert_eq!((ok.method.as_str(), ok.url.as_str()), ("PATCH", "https://a.example/x"));
        assert!(validate(request("POST", "smtps://mail.example:465", &[])).is_ok());
        for bad in [
            request("", "https://a.example/", &[]),
            request("GET1", "https://a.example/", &[]),
            request("POST", "/relative", &[]),
            request("POST", "javascript:alert(1)", &[]),
            request("POST", "https://a.example/", &[("", "x")]),
            request("POST", "https://a.example/", &[("X:Y", "x")]),
            request("POST", "https://a.example/", &[("X", "a\nb")]),
        ] {
            assert!(matches!(validate(bad.clone()), Err(TransformError::BadOutput(_))), "{bad:?}");
        }
    }

    #[test]
    fn set_header_replaces_case_insensitively_and_empty_removes() {
        let mut headers = vec![("content-type".to_owned(), "a".to_owned()), ("X".to_owned(), "1".to_owned())];
        set_header(&mut headers, "Content-Type", "b".to_owned());
        assert_eq!(
            headers,
            vec![("X".to_owned(), "1".to_owned()), ("Content-Type".to_owned(), "b".to_owned())]
        );
        set_header(&mut headers, "x", String::new());
        assert!(!has_header(&headers, "X"));
    }
}
