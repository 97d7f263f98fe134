//! Source wire shapes and their checks.
//!
//! The verifier travels in its storage form (`{"type": "stripe", "secret": "whsec_…",
//! "tolerance_secs": 300}`, snake_case, documented in `docs/SOURCES.md` and the
//! `herald-inbound` README) and is answered back without its secrets: they are
//! write-only, as the provider's dashboard already shows them.

use std::collections::BTreeMap;
use std::time::Duration;

use herald_core::{SourceId, Timestamp};
use herald_inbound::{
    CustomResponse, DEFAULT_DEDUP_WINDOW, DEFAULT_MAX_BODY_BYTES, Locator, RejectedRequest, Source,
    VerifierConfig,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::v1::common::{double_option, time};
use crate::validate::{MAX_TEXT, Violations};

/// The most a dedup window may be: 30 days.
const MAX_DEDUP_WINDOW_SECS: u64 = 30 * 24 * 60 * 60;
/// Body limits a source may set: 1 KiB to 100 MiB.
const BODY_LIMITS: std::ops::RangeInclusive<usize> = 1024..=100 * 1024 * 1024;
/// A custom response body, at most.
const MAX_RESPONSE_BODY: usize = 64 * 1024;
/// Fields of a verifier that hold secrets, never answered back.
const SECRET_FIELDS: &[&str] = &["secret", "password", "key"];

/// `POST /source` and `PUT /source/{source_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceIn {
    pub name: String,
    #[serde(default)]
    pub uid: Option<String>,
    /// The application (id or uid) whose endpoints receive this source's events.
    /// Required on creation; a source cannot move to another application.
    #[serde(default)]
    pub app_id: Option<String>,
    /// How requests are verified: `{"type": "stripe", "secret": "whsec_…"}`, one
    /// shape per provider (see `docs/SOURCES.md`); `{"type": "none"}` accepts all.
    #[schema(value_type = Object)]
    pub verifier: VerifierConfig,
    /// Where to read the event type, before the provider's rule:
    /// `{"from": "json_pointer", "pointer": "/type"}`, `{"from": "header", "name": "…"}`
    /// or `{"from": "form_field", "name": "…"}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub event_type: Option<Locator>,
    /// Where to read the dedup key, before the provider's rule (same shapes).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub dedup_key: Option<Locator>,
    /// How long a seen dedup key makes a request with the same key a retry
    /// (default 86400; 0 turns dedup off).
    #[serde(default)]
    pub dedup_window_seconds: Option<u64>,
    /// What accepted requests are answered with instead of `200 {"id": …}`.
    #[serde(default)]
    pub response: Option<CustomResponseIn>,
    /// Larger bodies are refused with 413 (default 26214400, 25 MiB).
    #[serde(default)]
    pub max_payload_bytes: Option<usize>,
}

/// `PATCH /source/{source_id}`: absent fields are left as they are, `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourcePatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub uid: Option<Option<String>>,
    /// Replaces the whole verifier, secrets included.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub verifier: Option<VerifierConfig>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub event_type: Option<Option<Locator>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub dedup_key: Option<Option<Locator>>,
    #[serde(default)]
    pub dedup_window_seconds: Option<u64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<CustomResponseIn>)]
    pub response: Option<Option<CustomResponseIn>>,
    #[serde(default)]
    pub max_payload_bytes: Option<usize>,
}

/// A fixed answer for accepted requests.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomResponseIn {
    /// 200 to 299.
    pub status: u16,
    #[serde(default)]
    pub body: String,
    /// Default `text/plain`.
    #[serde(default)]
    pub content_type: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceOut {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    pub name: String,
    pub app_id: String,
    /// Where the provider sends its webhooks.
    pub ingest_url: String,
    /// The verifier without its secrets.
    #[schema(value_type = Object)]
    pub verifier: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub event_type: Option<Locator>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub dedup_key: Option<Locator>,
    pub dedup_window_seconds: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<CustomResponseIn>,
    pub max_payload_bytes: usize,
    /// Requests refused since the source was created (the log keeps the latest).
    pub rejected_total: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// One entry of a source's rejected-requests log.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RejectedRequestOut {
    pub id: String,
    pub timestamp: String,
    /// A stable name: `signature_mismatch`, `missing_header`, `timestamp_outside_tolerance`, …
    pub code: String,
    /// What was wrong, in words.
    pub reason: String,
    pub method: String,
    pub url: String,
    /// Some of the request's headers; credentials are shown as `[redacted]`.
    pub headers: BTreeMap<String, String>,
    /// The start of the body, as text.
    pub body: String,
    pub body_size: u64,
}

impl SourceIn {
    pub(crate) fn check(&self, v: &mut Violations) {
        check_name(v, &self.name);
        v.uid(&["body", "uid"], self.uid.as_deref(), SourceId::PREFIX);
        check_verifier(v, &self.verifier);
        check_window(v, self.dedup_window_seconds);
        check_response(v, self.response.as_ref());
        check_limit(v, self.max_payload_bytes);
    }

    /// The source it describes, for the application `app_id`.
    pub(crate) fn into_source(self, id: SourceId, app_id: herald_core::AppId, now: Timestamp) -> Source {
        Source {
            id,
            app_id,
            uid: self.uid,
            name: self.name,
            verifier: self.verifier,
            event_type: self.event_type,
            dedup_key: self.dedup_key,
            dedup_window: window(self.dedup_window_seconds),
            response: self.response.map(CustomResponseIn::into_domain),
            max_body_bytes: self.max_payload_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            rejected_total: 0,
            created_at: now,
            updated_at: now,
        }
    }
}

impl SourcePatch {
    /// Checks the fields given and applies them to `source`.
    pub(crate) fn apply(self, source: &mut Source, v: &mut Violations) {
        if let Some(name) = self.name {
            check_name(v, &name);
            source.name = name;
        }
        if let Some(uid) = self.uid {
            v.uid(&["body", "uid"], uid.as_deref(), SourceId::PREFIX);
            source.uid = uid;
        }
        if let Some(verifier) = self.verifier {
            check_verifier(v, &verifier);
            source.verifier = verifier;
        }
        if let Some(locator) = self.event_type {
            source.event_type = locator;
        }
        if let Some(locator) = self.dedup_key {
            source.dedup_key = locator;
        }
        if let Some(secs) = self.dedup_window_seconds {
            check_window(v, Some(secs));
            source.dedup_window = window(Some(secs));
        }
        if let Some(response) = self.response {
            check_response(v, response.as_ref());
            source.response = response.map(CustomResponseIn::into_domain);
        }
        if let Some(limit) = self.max_payload_bytes {
            check_limit(v, Some(limit));
            source.max_body_bytes = limit;
        }
    }
}

impl CustomResponseIn {
    fn into_domain(self) -> CustomResponse {
        let content_type = self.content_type.unwrap_or_else(|| "text/plain".to_owned());
        CustomResponse { status: self.status, content_type, body: self.body }
    }
}

impl SourceOut {
    /// `base` is where this server is reached (`https://herald.example.com`).
    pub(crate) fn new(s: Source, base: &str) -> Self {
        Self {
            ingest_url: format!("{}/in/{}", base.trim_end_matches('/'), s.id),
            id: s.id.into_string(),
            uid: s.uid,
            name: s.name,
            app_id: s.app_id.into_string(),
            verifier: without_secrets(&s.verifier),
            event_type: s.event_type,
            dedup_key: s.dedup_key,
            dedup_window_seconds: s.dedup_window.as_secs(),
            response: s.response.map(|r| CustomResponseIn {
                status: r.status,
                body: r.body,
                content_type: Some(r.content_type),
            }),
            max_payload_bytes: s.max_body_bytes,
            rejected_total: s.rejected_total,
            created_at: time(s.created_at),
            updated_at: time(s.updated_at),
        }
    }
}

impl From<RejectedRequest> for RejectedRequestOut {
    fn from(r: RejectedRequest) -> Self {
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in r.headers {
            headers.entry(name).and_modify(|v| *v = format!("{v}, {value}")).or_insert(value);
        }
        Self {
            id: r.id.into_string(),
            timestamp: time(r.received_at),
            code: r.code,
            reason: r.reason,
            method: r.method,
            url: r.url,
            headers,
            body: String::from_utf8_lossy(&r.body).into_owned(),
            body_size: r.body_size,
        }
    }
}

/// The verifier's storage form with every secret field removed.
pub(crate) fn without_secrets(verifier: &VerifierConfig) -> Value {
    let mut value = serde_json::to_value(verifier).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.retain(|field, _| !SECRET_FIELDS.contains(&field.as_str()));
    }
    value
}

fn window(secs: Option<u64>) -> Duration {
    secs.map_or(DEFAULT_DEDUP_WINDOW, Duration::from_secs)
}

fn check_name(v: &mut Violations, name: &str) {
    v.name(&["body", "name"], name);
}

fn check_verifier(v: &mut Violations, verifier: &VerifierConfig) {
    if let Err(e) = verifier.validate() {
        v.push(&["body", "verifier", e.field], e.reason);
    }
}

fn check_window(v: &mut Violations, secs: Option<u64>) {
    if secs.is_some_and(|s| s > MAX_DEDUP_WINDOW_SECS) {
        v.push(&["body", "dedupWindowSeconds"], format!("must be at most {MAX_DEDUP_WINDOW_SECS}"));
    }
}

fn check_response(v: &mut Violations, response: Option<&CustomResponseIn>) {
    let Some(r) = response else { return };
    if !(200..=299).contains(&r.status) {
        v.push(&["body", "response", "status"], "must be a 2xx status, or the provider would retry");
    }
    if r.body.len() > MAX_RESPONSE_BODY {
        v.push(&["body", "response", "body"], format!("must be at most {MAX_RESPONSE_BODY} bytes"));
    }
    let content_type = r.content_type.as_deref().unwrap_or("text/plain");
    if content_type.is_empty()
        || content_type.len() > MAX_TEXT
        || http::HeaderValue::from_str(content_type).is_err()
    {
        v.push(&["body", "response", "contentType"], "must be a valid Content-Type header value");
    }
}

fn check_limit(v: &mut Violations, limit: Option<usize>) {
    if limit.is_some_and(|l| !BODY_LIMITS.contains(&l)) {
        let (lo, hi) = (BODY_LIMITS.start(), BODY_LIMITS.end());
        v.push(&["body", "maxPayloadBytes"], format!("must be between {lo} and {hi}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answered_verifiers_carry_no_secret() {
        let examples = [
            r#"{"type": "stripe", "secret": "whsec_abc"}"#,
            r#"{"type": "basic_auth", "username": "u", "password": "whsec_abc"}"#,
            r#"{"type": "api_key", "header": "X-Key", "key": "whsec_abc", "prefix": "Bearer "}"#,
            r#"{"type": "generic_hmac", "header": "X-Sig", "secret": "whsec_abc"}"#,
            r#"{"type": "gitlab", "secret": "whsec_abc"}"#,
        ];
        for json in examples {
            let config: VerifierConfig = serde_json::from_str(json).expect("example");
            let shown = without_secrets(&config).to_string();
            assert!(!shown.contains("whsec_abc"), "{shown}");
            assert!(shown.contains("\"type\""), "{shown}");
        }
        let discord = r#"{"type": "discord", "public_key": "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"}"#;
        let config: VerifierConfig = serde_json::from_str(discord).expect("example");
        assert!(without_secrets(&config)["public_key"].is_string(), "a public key is no secret");
    }
}
