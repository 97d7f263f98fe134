//! The text forms of the inbound values both stores keep in JSON columns: a source's
//! verifier, locators and custom response, an inbound message's origin, and header
//! lists. They live here, beside the trait, so that the SQLite and PostgreSQL stores
//! write the same bytes (a database can move between backends by copying rows); the
//! verifier, which holds a source's secrets, is sealed with the store's
//! [`SecretCipher`] like endpoint secrets.
//!
//! An endpoint's transformation and payload filter are JSON text too.
//!
//! Every decoder reports malformed text as [`StoreError::Corrupt`].

use herald_core::{
    DedupClaim, InboundOrigin, SentRequest, SourceId, Timestamp, TransformKind, Transformation,
};
use herald_inbound::{CustomResponse, Locator, VerifierConfig};
use serde_json::{Value, json};

use crate::{Result, SecretCipher, StoreError};

/// A source's verifier as stored: its JSON storage form
/// (`{"type": "stripe", "secret": "whsec_…", …}`), which holds the source's secrets,
/// sealed with the store's key ([`SecretCipher::seal_verifier`]).
pub fn seal_verifier(cipher: &SecretCipher, source: &SourceId, verifier: &VerifierConfig) -> String {
    // A VerifierConfig is strings and integers only: serializing it cannot fail.
    cipher.seal_verifier(source, &serde_json::to_string(verifier).unwrap_or_default())
}

/// The inverse of [`seal_verifier`].
pub fn open_verifier(cipher: &SecretCipher, source: &SourceId, stored: &str) -> Result<VerifierConfig> {
    serde_json::from_str(&cipher.open_verifier(source, stored)?).map_err(corrupt("source verifier"))
}

/// A string map (metadata, custom headers) as a JSON object. Keys come out sorted,
/// so the same map is always the same text.
pub fn encode_map(map: &std::collections::BTreeMap<String, String>) -> String {
    // A map of strings always serializes.
    serde_json::to_string(map).unwrap_or_default()
}

/// The inverse of [`encode_map`].
pub fn decode_map(text: &str) -> Result<std::collections::BTreeMap<String, String>> {
    serde_json::from_str(text).map_err(corrupt("JSON map"))
}

/// A locator as `{"from": "header", "name": "…"}`; `None` as SQL NULL.
pub fn encode_locator(locator: Option<&Locator>) -> Option<String> {
    locator.map(|l| serde_json::to_string(l).unwrap_or_default())
}

/// The inverse of [`encode_locator`].
pub fn decode_locator(text: Option<&str>) -> Result<Option<Locator>> {
    text.map(|t| serde_json::from_str(t).map_err(corrupt("source locator"))).transpose()
}

/// A custom response as `{"status": 202, "content_type": "…", "body": "…"}`.
pub fn encode_response(response: Option<&CustomResponse>) -> Option<String> {
    response.map(|r| json!({"status": r.status, "content_type": r.content_type, "body": r.body}).to_string())
}

/// The inverse of [`encode_response`].
pub fn decode_response(text: Option<&str>) -> Result<Option<CustomResponse>> {
    let Some(text) = text else { return Ok(None) };
    let bad = || StoreError::Corrupt("source response is malformed".into());
    let value: Value = serde_json::from_str(text).map_err(corrupt("source response"))?;
    let string = |key: &str| value[key].as_str().map(str::to_owned).ok_or_else(bad);
    let status = value["status"].as_u64().and_then(|s| u16::try_from(s).ok()).ok_or_else(bad)?;
    Ok(Some(CustomResponse { status, content_type: string("content_type")?, body: string("body")? }))
}

/// Headers as a JSON array of `[name, value]` pairs, in order (repeats kept).
pub fn encode_headers(headers: &[(String, String)]) -> String {
    // A pair serializes as a two-element array; strings always serialize.
    serde_json::to_string(headers).unwrap_or_default()
}

/// The inverse of [`encode_headers`].
pub fn decode_headers(text: &str) -> Result<Vec<(String, String)>> {
    let value: Value = serde_json::from_str(text).map_err(corrupt("header list"))?;
    headers_of(&value)
}

/// An attempt's request as the three columns that hold it: method, headers
/// ([`encode_headers`]) and body (`None` when it was the payload); all `None` when
/// the attempt sent nothing.
pub fn encode_sent_request(request: Option<&SentRequest>) -> (Option<&str>, Option<String>, Option<&str>) {
    match request {
        None => (None, None, None),
        Some(r) => (Some(r.method.as_str()), Some(encode_headers(&r.headers)), r.body.as_deref()),
    }
}

/// The inverse of [`encode_sent_request`]: no method means no request.
pub fn decode_sent_request(
    method: Option<String>,
    headers: Option<&str>,
    body: Option<String>,
) -> Result<Option<SentRequest>> {
    let Some(method) = method else { return Ok(None) };
    let headers = headers.map(decode_headers).transpose()?.unwrap_or_default();
    Ok(Some(SentRequest { method, headers, body }))
}

/// An inbound message's origin as `{"source": "src_…", "path": "/in/…",
/// "headers": [[name, value], …], "dedup": {"key": "…", "until": ms}}`
/// (`dedup` null when the request had no key); `None` (not inbound) as SQL NULL.
pub fn encode_inbound(origin: Option<&InboundOrigin>) -> Option<String> {
    let origin = origin?;
    let dedup = origin.dedup.as_ref().map(|d| json!({"key": d.key, "until": d.until.millis()}));
    // Pairs as two-element arrays, as `encode_headers` writes them.
    let source = origin.source.as_str();
    Some(
        json!({"source": source, "path": origin.path, "headers": origin.headers, "dedup": dedup}).to_string(),
    )
}

/// The inverse of [`encode_inbound`].
pub fn decode_inbound(text: Option<&str>) -> Result<Option<InboundOrigin>> {
    let Some(text) = text else { return Ok(None) };
    let bad = || StoreError::Corrupt("inbound origin is malformed".into());
    let value: Value = serde_json::from_str(text).map_err(corrupt("inbound origin"))?;
    let source = value["source"].as_str().ok_or_else(bad)?;
    let dedup = match &value["dedup"] {
        Value::Null => None,
        d => Some(DedupClaim {
            key: d["key"].as_str().ok_or_else(bad)?.to_owned(),
            until: Timestamp(d["until"].as_i64().ok_or_else(bad)?),
        }),
    };
    Ok(Some(InboundOrigin {
        source: SourceId::from_trusted(source.to_owned()),
        path: value["path"].as_str().ok_or_else(bad)?.to_owned(),
        headers: headers_of(&value["headers"])?,
        dedup,
    }))
}

/// An endpoint's transformation as `{"kind": "template", "code": "…", "enabled": true}`;
/// `None` as SQL NULL.
pub fn encode_transformation(t: Option<&Transformation>) -> Option<String> {
    t.map(|t| json!({"kind": t.kind.as_str(), "code": t.code, "enabled": t.enabled}).to_string())
}

/// The inverse of [`encode_transformation`].
pub fn decode_transformation(text: Option<&str>) -> Result<Option<Transformation>> {
    let Some(text) = text else { return Ok(None) };
    let bad = || StoreError::Corrupt("endpoint transformation is malformed".into());
    let value: Value = serde_json::from_str(text).map_err(corrupt("endpoint transformation"))?;
    Ok(Some(Transformation {
        kind: value["kind"].as_str().and_then(TransformKind::parse).ok_or_else(bad)?,
        code: value["code"].as_str().ok_or_else(bad)?.to_owned(),
        enabled: value["enabled"].as_bool().ok_or_else(bad)?,
    }))
}

/// An endpoint's payload filter as JSON text; `None` as SQL NULL.
pub fn encode_filter(filter: Option<&Value>) -> Option<String> {
    filter.map(Value::to_string)
}

/// The inverse of [`encode_filter`].
pub fn decode_filter(text: Option<&str>) -> Result<Option<Value>> {
    text.map(|t| serde_json::from_str(t).map_err(corrupt("endpoint filter"))).transpose()
}

fn headers_of(value: &Value) -> Result<Vec<(String, String)>> {
    let bad = || StoreError::Corrupt("header list is malformed".into());
    let pair = |p: &Value| -> Result<(String, String)> {
        let (Some(n), Some(v)) = (p[0].as_str(), p[1].as_str()) else { return Err(bad()) };
        Ok((n.to_owned(), v.to_owned()))
    };
    value.as_array().ok_or_else(bad)?.iter().map(pair).collect()
}

fn corrupt<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_are_json_objects() {
        let map = std::collections::BTreeMap::from([("team".to_owned(), "billing".to_owned())]);
        assert_eq!(encode_map(&map), r#"{"team":"billing"}"#);
        assert_eq!(decode_map(&encode_map(&map)).expect("decode"), map);
    }

    #[test]
    fn inbound_origins_round_trip() {
        let origin = InboundOrigin {
            source: SourceId::generate(),
            path: "/in/src_1/sub?x=1".into(),
            headers: vec![("a".into(), "1".into()), ("a".into(), "2 \"quoted\"".into())],
            dedup: Some(DedupClaim { key: "evt_1".into(), until: Timestamp(42) }),
        };
        let text = encode_inbound(Some(&origin));
        assert_eq!(decode_inbound(text.as_deref()).expect("decode"), Some(origin.clone()));
        let plain = InboundOrigin { dedup: None, ..origin };
        assert_eq!(decode_inbound(encode_inbound(Some(&plain)).as_deref()).expect("decode"), Some(plain));
        assert_eq!(encode_inbound(None), None);
        assert!(decode_inbound(Some(r#"{"source": 1}"#)).is_err());
    }

    #[test]
    fn transformations_and_filters_round_trip() {
        let t = Transformation {
            kind: TransformKind::Javascript,
            code: "function handler(w) { return w }".into(),
            enabled: false,
        };
        assert_eq!(
            decode_transformation(encode_transformation(Some(&t)).as_deref()).expect("decode"),
            Some(t)
        );
        assert_eq!(encode_transformation(None), None);
        assert!(decode_transformation(Some(r#"{"kind": "lua", "code": "", "enabled": true}"#)).is_err());
        let f = json!({"amount": {"$gt": 10}});
        assert_eq!(decode_filter(encode_filter(Some(&f)).as_deref()).expect("decode"), Some(f));
    }

    #[test]
    fn responses_and_locators_round_trip() {
        let r = CustomResponse { status: 202, content_type: "text/plain".into(), body: "ok".into() };
        assert_eq!(decode_response(encode_response(Some(&r)).as_deref()).expect("decode"), Some(r));
        let l = Locator::Header { name: "X-Id".into() };
        assert_eq!(decode_locator(encode_locator(Some(&l)).as_deref()).expect("decode"), Some(l));
        assert!(decode_response(Some(r#"{"status": 70000}"#)).is_err());
    }
}
