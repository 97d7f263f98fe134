//! Small pieces shared by the resource modules: PATCH's absent-versus-null fields,
//! time formatting, and the raw JSON payload type.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use herald_core::Timestamp;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// For PATCH bodies: a missing field is `None` (leave as is), an explicit `null` is
/// `Some(None)` (clear it), a value is `Some(Some(v))`. Use with `#[serde(default)]`.
pub(crate) fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// RFC 3339 with milliseconds, as every `*At`/`timestamp` field is printed.
pub(crate) fn time(t: Timestamp) -> String {
    t.to_rfc3339()
}

/// Parses a required RFC 3339 body field.
pub(crate) fn parse_time(loc: &[&str], value: &str) -> Result<Timestamp, crate::ApiError> {
    Timestamp::parse_rfc3339(value)
        .ok_or_else(|| crate::ApiError::invalid(loc, "invalid datetime format (expected RFC 3339)"))
}

/// A JSON value kept as the exact text it arrived as.
pub(crate) type RawJson = Box<RawValue>;

/// `{}`: what a payload reads as when the caller asked for no content.
pub(crate) fn empty_object() -> RawJson {
    raw_json("{}")
}

/// What an expunged or expired payload reads as, as Svix answers.
pub(crate) fn expired_payload() -> RawJson {
    raw_json(r#"{"expired":true}"#)
}

fn raw_json(s: &str) -> RawJson {
    // Both callers pass constant, valid JSON objects.
    RawValue::from_string(s.to_owned()).unwrap_or_default()
}

/// A stored payload (the exact bytes sent as the request body) as output JSON.
///
/// A JSON object is shown as it was sent. Anything else — an inbound provider's form
/// body, plain text, a JSON array — is stored as received and shown wrapped, so that
/// `payload` is always an object: `{"raw": "<the body as text>"}`, or
/// `{"rawBase64": "<base64>"}` when it is not UTF-8.
pub(crate) fn stored_payload(payload: Option<&bytes::Bytes>, with_content: bool) -> RawJson {
    if !with_content {
        return empty_object();
    }
    let Some(bytes) = payload else { return expired_payload() };
    let text = std::str::from_utf8(bytes).ok();
    let object = text.filter(|s| s.trim_start().starts_with('{'));
    if let Some(raw) = object.and_then(|s| RawValue::from_string(s.to_owned()).ok()) {
        return raw;
    }
    let wrapped = match text {
        Some(text) => serde_json::json!({ "raw": text }),
        None => serde_json::json!({ "rawBase64": B64.encode(bytes) }),
    };
    RawValue::from_string(wrapped.to_string()).unwrap_or_else(|_| expired_payload())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Default)]
    struct Patch {
        #[serde(default, deserialize_with = "double_option")]
        uid: Option<Option<String>>,
    }

    #[test]
    fn absent_null_and_value_differ() {
        let p: Patch = serde_json::from_str("{}").expect("json");
        assert_eq!(p.uid, None);
        let p: Patch = serde_json::from_str(r#"{"uid": null}"#).expect("json");
        assert_eq!(p.uid, Some(None));
        let p: Patch = serde_json::from_str(r#"{"uid": "x"}"#).expect("json");
        assert_eq!(p.uid, Some(Some("x".to_owned())));
    }

    #[test]
    fn payloads() {
        let b = bytes::Bytes::from_static(br#"{"a": 1}"#);
        assert_eq!(stored_payload(Some(&b), true).get(), r#"{"a": 1}"#);
        assert_eq!(stored_payload(Some(&b), false).get(), "{}");
        assert_eq!(stored_payload(None, true).get(), r#"{"expired":true}"#);
    }

    #[test]
    fn payloads_that_are_not_json_objects_are_shown_wrapped() {
        let form = bytes::Bytes::from_static(b"a=1&b=two");
        assert_eq!(stored_payload(Some(&form), true).get(), r#"{"raw":"a=1&b=two"}"#);
        let array = bytes::Bytes::from_static(b"[1, 2]");
        assert_eq!(stored_payload(Some(&array), true).get(), r#"{"raw":"[1, 2]"}"#);
        let binary = bytes::Bytes::from_static(&[0xff, 0x00]);
        assert_eq!(stored_payload(Some(&binary), true).get(), r#"{"rawBase64":"/wA="}"#);
    }
}
