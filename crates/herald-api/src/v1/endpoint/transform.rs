//! An endpoint's transformation (Herald's extension, at Svix Cloud's paths):
//! `GET|PATCH /endpoint/{endpoint_id}/transformation`, the dry run
//! `POST …/transformation/simulate`, the presets (`GET /transformation/presets`) and
//! applying one (`POST …/transformation/preset`).
//!
//! Code is compiled before it is stored, so a template or script that does not
//! compile is refused with the engine's message (line and column) and never
//! reaches the delivery engine. The dry run goes through the engine's own filter,
//! transformation and request preparation, so it shows exactly what would be sent,
//! signature headers included.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use bytes::Bytes;
use herald_core::{
    Delivery, DeliveryStatus, Endpoint, Message, MessageId, Timestamp, TransformKind, Transformation, Trigger,
};
use herald_delivery::Dispatch;
use herald_delivery::pipeline::{prepare_shaped, record};
use herald_delivery::transform::Shaped;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::headers::check_headers;
use crate::AppState;
use crate::auth::{Caller, EndpointAccess};
use crate::error::ApiError;
use crate::extract::Json;
use crate::v1::common::double_option;
use crate::v1::message::find_message;
use crate::validate::Violations;

/// An endpoint's transformation; `kind` and `code` are absent when it has none.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransformationOut {
    /// `template` (minijinja) or `javascript` (a `handler(webhook)` function).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub enabled: bool,
}

impl From<Option<&Transformation>> for TransformationOut {
    fn from(t: Option<&Transformation>) -> Self {
        Self {
            kind: t.map(|t| t.kind.as_str().to_owned()),
            code: t.map(|t| t.code.clone()),
            enabled: t.is_some_and(|t| t.enabled),
        }
    }
}

/// `PATCH …/transformation`: absent fields keep their value; `"code": null` removes
/// the transformation. A new one is `javascript` (Svix's only kind) and enabled
/// unless said otherwise.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TransformationPatch {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub code: Option<Option<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `POST …/transformation/simulate`: a sample (`eventType` and `payload`) or an
/// existing message (`msgId`), and optionally the code to try instead of the
/// endpoint's own.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimulateIn {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Value>,
    #[serde(default)]
    pub msg_id: Option<String>,
}

/// The request that would be sent, or why nothing would be.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimulateOut {
    /// True when the filter or the transformation would not send the message.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skip: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Every header sent, Herald's `webhook-*` signature headers included; credential
    /// values (Authorization, API keys, tokens) shown as `••••`, as attempts show them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// `POST …/transformation/preset`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PresetIn {
    /// A preset id from `GET /api/v1/transformation/presets`.
    pub preset: String,
    /// The preset's parameters (its `params` list says which).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// Get an endpoint's transformation.
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/transformation",
    operation_id = "v1.endpoint.transformation-get",
    tag = "Endpoint",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses((status = 200, body = TransformationOut)),
)]
pub(crate) async fn get_transformation(access: EndpointAccess) -> Json<TransformationOut> {
    Json(access.endpoint.transformation.as_ref().into())
}

/// Set, change, enable, disable or remove an endpoint's transformation.
#[utoipa::path(
    patch,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/transformation",
    operation_id = "v1.endpoint.transformation-partial-update",
    tag = "Endpoint",
    request_body = TransformationPatch,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 200, body = TransformationOut),
        (status = 422, body = crate::error::HttpValidationError),
    ),
)]
pub(crate) async fn patch_transformation(
    access: EndpointAccess,
    State(state): State<AppState>,
    Json(p): Json<TransformationPatch>,
) -> Result<Json<TransformationOut>, ApiError> {
    let mut ep = access.endpoint;
    let old = ep.transformation.take();
    ep.transformation = match p.code {
        Some(None) => None,
        code => {
            let code = code.flatten().or_else(|| old.as_ref().map(|t| t.code.clone()));
            let code =
                code.ok_or_else(|| ApiError::invalid(&["body", "code"], "the endpoint has no code yet"))?;
            let enabled = p.enabled.or(old.as_ref().map(|t| t.enabled)).unwrap_or(true);
            Some(checked(p.kind.as_deref(), old.as_ref(), code, enabled)?)
        }
    };
    save(&state, ep).await
}

/// Show the request an endpoint would be sent for a sample or an existing message.
#[utoipa::path(
    post,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/transformation/simulate",
    operation_id = "v1.endpoint.transformation-simulate",
    tag = "Endpoint",
    request_body = SimulateIn,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 200, body = SimulateOut),
        (status = 422, body = crate::error::HttpValidationError),
    ),
)]
pub(crate) async fn simulate(
    access: EndpointAccess,
    State(state): State<AppState>,
    Json(input): Json<SimulateIn>,
) -> Result<Json<SimulateOut>, ApiError> {
    let message = match &input.msg_id {
        Some(id) => find_message(&state, &access.app, id).await?,
        None => sample(&access, &input)?,
    };
    let transformation = match input.code {
        Some(code) => {
            Some(checked(input.kind.as_deref(), access.endpoint.transformation.as_ref(), code, true)?)
        }
        None => access.endpoint.active_transformation().cloned(),
    };
    let (endpoint, message) = (Arc::new(access.endpoint), Arc::new(message));
    let shaped = state.shaper.dry_run(&endpoint, transformation.as_ref(), &message).await;
    let now = Timestamp::now();
    let d = Dispatch { delivery: delivery(&message, &endpoint, now), message, endpoint };
    let request = match shaped {
        Shaped::Filtered(reason) => return Ok(Json(SimulateOut::skipped(reason))),
        Shaped::Failed(e) => return Err(ApiError::invalid(&["body", "code"], e)),
        Shaped::Plain => prepare_shaped(&d, None, now),
        Shaped::Transformed(r) => prepare_shaped(&d, Some(r), now),
    };
    let request = request.map_err(|e| ApiError::invalid(&["body", "code"], e.to_string()))?;
    // Credentials (a preset's Authorization, API keys) as attempts show them: ••••.
    let headers = request
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), record::shown_value(n.as_str(), v.as_bytes())))
        .collect();
    Ok(Json(SimulateOut {
        skip: false,
        reason: None,
        method: Some(request.method.to_string()),
        url: Some(herald_core::url_password::redact_password(request.url.as_str()).into_owned()),
        headers: Some(headers),
        body: Some(String::from_utf8_lossy(&request.body).into_owned()),
    }))
}

/// The transformation presets: each with its id, what it targets, its parameters.
#[utoipa::path(
    get,
    path = "/api/v1/transformation/presets",
    operation_id = "v1.transformation.list-presets",
    tag = "Endpoint",
    responses((status = 200, body = Object)),
)]
pub(crate) async fn list_presets(_caller: Caller) -> Json<serde_json::Value> {
    let presets: Vec<serde_json::Value> = herald_transform::presets::all().iter().map(preset_json).collect();
    Json(serde_json::json!({ "data": presets }))
}

fn preset_json(p: &herald_transform::presets::Preset) -> serde_json::Value {
    let params: Vec<serde_json::Value> = p
        .params
        .iter()
        .map(|a| {
            serde_json::json!({
                "name": a.name, "label": a.label, "description": a.description,
                "required": a.required, "secret": a.secret, "default": a.default,
            })
        })
        .collect();
    serde_json::json!({
        "id": p.id, "name": p.name, "description": p.description, "kind": p.kind,
        "code": p.code, "params": params, "urlHint": p.url_hint,
    })
}

/// Apply a preset: sets the endpoint's transformation and the headers it needs
/// (an `Authorization` header, say), keeping its other headers.
#[utoipa::path(
    post,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/transformation/preset",
    operation_id = "v1.endpoint.transformation-apply-preset",
    tag = "Endpoint",
    request_body = PresetIn,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 200, body = TransformationOut),
        (status = 422, body = crate::error::HttpValidationError),
    ),
)]
pub(crate) async fn apply_preset(
    access: EndpointAccess,
    State(state): State<AppState>,
    Json(input): Json<PresetIn>,
) -> Result<Json<TransformationOut>, ApiError> {
    let (kind, code, headers) = herald_transform::presets::instantiate(&input.preset, &input.params)
        .map_err(|e| ApiError::invalid(&["body", "params"], e.to_string()))?;
    let mut v = Violations::new();
    check_headers(&mut v, headers.iter().map(|(k, val)| (k.as_str(), Some(val.as_str()))));
    v.finish()?;
    let mut ep = access.endpoint;
    // `instantiate` compiled the code already.
    ep.transformation = Some(Transformation { kind, code, enabled: true });
    ep.headers.extend(headers);
    save(&state, ep).await
}

/// Stores the endpoint with its new transformation; answers the transformation.
async fn save(state: &AppState, mut ep: Endpoint) -> Result<Json<TransformationOut>, ApiError> {
    ep.updated_at = Timestamp::now();
    let was_disabled = ep.disabled;
    let ep = super::updated(state, ep, was_disabled).await?;
    Ok(Json(ep.transformation.as_ref().into()))
}

impl SimulateOut {
    fn skipped(reason: String) -> Self {
        Self { skip: true, reason: Some(reason), method: None, url: None, headers: None, body: None }
    }
}

/// A transformation of `kind` (else the existing one's, else JavaScript, Svix's only
/// kind), refused with the engine's message (line and column) unless it compiles.
fn checked(
    kind: Option<&str>,
    existing: Option<&Transformation>,
    code: String,
    enabled: bool,
) -> Result<Transformation, ApiError> {
    let kind = match kind {
        Some(k) => TransformKind::parse(k)
            .ok_or_else(|| ApiError::invalid(&["body", "kind"], "must be `template` or `javascript`"))?,
        None => existing.map_or(TransformKind::Javascript, |t| t.kind),
    };
    herald_transform::Compiled::new(kind, &code)
        .map_err(|e| ApiError::invalid(&["body", "code"], e.to_string()))?;
    Ok(Transformation { kind, code, enabled })
}

/// A message made of the sample, never stored.
fn sample(access: &EndpointAccess, input: &SimulateIn) -> Result<Message, ApiError> {
    let mut v = Violations::new();
    let event_type = input.event_type.clone().unwrap_or_default();
    if event_type.is_empty() {
        v.push(&["body", "eventType"], "give eventType and payload, or msgId");
    }
    if !input.payload.as_ref().is_some_and(serde_json::Value::is_object) {
        v.push(&["body", "payload"], "must be a JSON object");
    }
    v.finish()?;
    let payload = serde_json::to_vec(&input.payload).map_err(ApiError::internal)?;
    Ok(Message {
        id: MessageId::generate(),
        app_id: access.app.id.clone(),
        event_type,
        event_id: None,
        payload: Some(Bytes::from(payload)),
        channels: None,
        tags: None,
        created_at: Timestamp::now(),
        expires_at: None,
        inbound: None,
    })
}

fn delivery(message: &Message, endpoint: &Endpoint, now: Timestamp) -> Delivery {
    Delivery {
        msg_id: message.id.clone(),
        endpoint_id: endpoint.id.clone(),
        app_id: message.app_id.clone(),
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: Some(now),
        next_trigger: Trigger::Manual,
        created_at: now,
        updated_at: now,
    }
}
