//! Endpoint wire shapes and their checks.
//!
//! Input accepts both the document's names (`eventTypes`, `throttleRate`) and the
//! ones newer SDKs send (`filterTypes`, `rateLimit`); output carries both.

use std::collections::{BTreeMap, BTreeSet};

use herald_core::url_password::{has_hidden_password, keep_hidden_password, redact_password};
use herald_core::{AppId, Endpoint, EndpointId, EndpointSecrets, SigningKey, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::headers::check_headers;
use crate::AppState;
use crate::error::ApiError;
use crate::v1::common::{double_option, time};
use crate::validate::{MAX_TEXT, Violations};

/// `POST /app/{app_id}/endpoint` and `PUT /app/{app_id}/endpoint/{endpoint_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointIn {
    pub url: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Messages per second, at most (alias `rateLimit`).
    #[serde(default, alias = "rateLimit")]
    pub throttle_rate: Option<u32>,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    /// Event types the endpoint wants; absent means all (alias `filterTypes`).
    #[serde(default, alias = "filterTypes")]
    pub event_types: Option<BTreeSet<String>>,
    #[serde(default)]
    pub channels: Option<BTreeSet<String>>,
    /// `whsec_…` (or bare base64) or `whsk_…`; generated when absent. Only on creation.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Extra headers sent with every request to this endpoint.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// A payload filter (Herald's extension): messages it does not match are not sent
    /// here. On `PUT`, absent keeps the current one.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub filter: Option<serde_json::Value>,
}

/// `PATCH /app/{app_id}/endpoint/{endpoint_id}`: absent fields are left as they are,
/// `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub uid: Option<Option<String>>,
    #[serde(default, alias = "rateLimit", deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>)]
    pub throttle_rate: Option<Option<u32>>,
    #[serde(default, alias = "filterTypes", deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_types: Option<Option<BTreeSet<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<String>>)]
    pub channels: Option<Option<BTreeSet<String>>>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// A payload filter (Herald's extension); `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Option<serde_json::Value>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointOut {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    pub url: String,
    pub description: String,
    pub metadata: BTreeMap<String, String>,
    pub disabled: bool,
    /// Why Herald disabled the endpoint by itself (it answered `410 Gone`, or every
    /// attempt failed for the configured window); absent otherwise. Herald's own field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
    /// The same as `eventTypes`, under the name newer SDKs read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_types: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle_rate: Option<u32>,
    /// The same as `throttleRate`, under the name newer SDKs read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// The payload filter, when it has one (Herald's extension).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub filter: Option<serde_json::Value>,
    /// Whether an enabled transformation shapes its requests (Herald's extension;
    /// the code is at `…/transformation`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub transformed: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Endpoint> for EndpointOut {
    fn from(ep: Endpoint) -> Self {
        let transformed = ep.active_transformation().is_some();
        Self {
            id: ep.id.into_string(),
            uid: ep.uid,
            // Never the password of a URL that has one (see herald_core::url_password).
            url: redact_password(&ep.url).into_owned(),
            description: ep.description,
            metadata: ep.metadata,
            disabled: ep.disabled,
            disabled_reason: ep.disabled_reason,
            filter_types: ep.event_types.clone(),
            event_types: ep.event_types,
            channels: ep.channels,
            rate_limit: ep.throttle_rate,
            throttle_rate: ep.throttle_rate,
            transformed,
            filter: ep.filter,
            created_at: time(ep.created_at),
            updated_at: time(ep.updated_at),
        }
    }
}

/// An empty filter list means "no filter".
pub(crate) fn filter_list(set: Option<BTreeSet<String>>) -> Option<Vec<String>> {
    set.filter(|s| !s.is_empty()).map(|s| s.into_iter().collect())
}

impl EndpointIn {
    /// Checks every field; returns the caller's secret, parsed, if one was given.
    pub(crate) fn check(&self, state: &AppState) -> Result<Option<SigningKey>, ApiError> {
        let mut v = Violations::new();
        v.url(&["body", "url"], &self.url, state.config.egress.as_ref());
        check_common(&mut v, self.description.as_deref(), self.uid.as_deref(), self.throttle_rate);
        v.event_types(&["body", "eventTypes"], filter_list(self.event_types.clone()).as_deref());
        v.channels(&["body", "channels"], filter_list(self.channels.clone()).as_deref());
        if let Some(m) = &self.metadata {
            v.metadata(&["body", "metadata"], m);
        }
        if let Some(h) = &self.headers {
            check_headers(&mut v, h.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))));
        }
        check_filter(&mut v, self.filter.as_ref());
        let secret = self.secret.as_deref().and_then(|s| v.secret(&["body", "secret"], s));
        v.finish()?;
        Ok(secret)
    }

    /// A new endpoint of `app` signed with `key`.
    pub(crate) fn into_endpoint(self, app: &AppId, key: SigningKey, now: Timestamp) -> Endpoint {
        Endpoint {
            id: EndpointId::generate(),
            app_id: app.clone(),
            uid: self.uid,
            url: self.url,
            description: self.description.unwrap_or_default(),
            event_types: filter_list(self.event_types),
            channels: filter_list(self.channels),
            disabled: self.disabled.unwrap_or(false),
            throttle_rate: self.throttle_rate,
            metadata: self.metadata.unwrap_or_default(),
            headers: self.headers.unwrap_or_default(),
            secrets: EndpointSecrets::new(key),
            failing_since: None,
            disabled_reason: None,
            transformation: None,
            filter: self.filter,
            created_at: now,
            updated_at: now,
        }
    }

    /// Replaces the fields of `ep` (PUT on an existing endpoint). The secret is
    /// not replaced here: that is what `secret/rotate` is for.
    pub(crate) fn replace(self, ep: &mut Endpoint) {
        ep.url = keep_hidden_password(self.url, &ep.url);
        ep.description = self.description.unwrap_or_default();
        ep.uid = self.uid.or(ep.uid.take());
        ep.event_types = filter_list(self.event_types);
        ep.channels = filter_list(self.channels);
        ep.disabled = self.disabled.unwrap_or(false);
        ep.throttle_rate = self.throttle_rate;
        ep.metadata = self.metadata.unwrap_or_default();
        if let Some(headers) = self.headers {
            ep.headers = headers;
        }
        if let Some(filter) = self.filter {
            ep.filter = Some(filter);
        }
    }
}

/// A URL still holding the hidden-password marker after an update (or in a new
/// endpoint) lost its password: the caller must give it again.
pub(crate) fn reject_hidden_password(url: &str) -> Result<(), ApiError> {
    if has_hidden_password(url) {
        return Err(ApiError::invalid(
            &["body", "url"],
            "the URL's password is hidden in answers (shown as ••••); give the password itself",
        ));
    }
    Ok(())
}

/// A payload filter must parse as one (`herald_transform::Filter`).
fn check_filter(v: &mut Violations, filter: Option<&serde_json::Value>) {
    if let Some(Err(e)) = filter.map(herald_transform::Filter::parse) {
        v.push(&["body", "filter"], e.to_string());
    }
}

fn check_common(v: &mut Violations, description: Option<&str>, uid: Option<&str>, rate: Option<u32>) {
    if description.is_some_and(|d| d.len() > MAX_TEXT) {
        v.push(&["body", "description"], format!("must be at most {MAX_TEXT} characters long"));
    }
    v.uid(&["body", "uid"], uid, EndpointId::PREFIX);
    v.throttle_rate(&["body", "throttleRate"], rate);
}

impl EndpointPatch {
    /// Applies the patch to `ep`, checking what it sets.
    pub(crate) fn apply(self, ep: &mut Endpoint, state: &AppState) -> Result<(), ApiError> {
        let mut v = Violations::new();
        if let Some(url) = self.url {
            v.url(&["body", "url"], &url, state.config.egress.as_ref());
            ep.url = keep_hidden_password(url, &ep.url);
        }
        let (uid, rate) = (self.uid.clone().flatten(), self.throttle_rate.flatten());
        check_common(&mut v, self.description.as_deref(), uid.as_deref(), rate);
        if let Some(d) = self.description {
            ep.description = d;
        }
        if let Some(d) = self.disabled {
            ep.disabled = d;
        }
        if let Some(uid) = self.uid {
            ep.uid = uid;
        }
        if let Some(rate) = self.throttle_rate {
            ep.throttle_rate = rate;
        }
        if let Some(types) = self.event_types {
            ep.event_types = filter_list(types);
            v.event_types(&["body", "eventTypes"], ep.event_types.as_deref());
        }
        if let Some(channels) = self.channels {
            ep.channels = filter_list(channels);
            v.channels(&["body", "channels"], ep.channels.as_deref());
        }
        if let Some(metadata) = self.metadata {
            v.metadata(&["body", "metadata"], &metadata);
            ep.metadata = metadata;
        }
        if let Some(filter) = self.filter {
            check_filter(&mut v, filter.as_ref());
            ep.filter = filter;
        }
        v.finish()
    }
}
