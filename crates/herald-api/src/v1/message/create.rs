//! Message creation: the hot path (thousands per second).
//!
//! One request costs: the application lookup, one read of the application's
//! endpoints, and one transaction writing the message with its deliveries (the
//! outbox). The payload is never re-serialised: it is kept as the exact bytes the
//! caller sent (`RawValue`), stored as the request body to deliver, and echoed back
//! as is. The fresh deliveries are created already leased to this process and
//! handed straight to the local workers.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use herald_core::routing::endpoint_wants;
use herald_core::{AppId, Application, Endpoint, Message, MessageId, Timestamp};
use http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::MessageOut;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::routing_cache::Routing;
use crate::v1::application::{ApplicationIn, create_app};
use crate::v1::common::RawJson;
use crate::validate::{MAX_CHANNEL, MAX_NAME, Violations, is_ident};
use crate::{ApiConfig, AppState};

const MAX_TAGS: usize = 10;
const HOUR: u64 = 60 * 60;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageIn {
    /// `^[a-zA-Z0-9\-_.]+$`, at most 256 characters.
    pub event_type: String,
    /// A JSON object: the body of the webhook, sent byte for byte as given.
    #[serde(alias = "data")]
    #[schema(value_type = Object)]
    pub payload: RawJson,
    /// The caller's idempotency id, unique per application (409 when reused).
    #[serde(default)]
    pub event_id: Option<String>,
    #[serde(default)]
    pub channels: Option<BTreeSet<String>>,
    #[serde(default)]
    pub tags: Option<BTreeSet<String>>,
    /// Days to keep the payload (1 to 90; default 90).
    #[serde(default)]
    pub payload_retention_period: Option<i64>,
    /// Hours to keep the payload (1 to 2160); exclusive with `payloadRetentionPeriod`.
    #[serde(default)]
    pub payload_retention_hours: Option<i64>,
    /// Creates the application named in the path if it does not exist yet.
    #[serde(default)]
    pub application: Option<ApplicationIn>,
    /// Delayed delivery: not supported by Herald (422 when set).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub deliver_at: Option<serde_json::Value>,
}

impl MessageIn {
    /// Checks the fields (`channels` taken out of `self` already); returns when the
    /// payload expires.
    fn check(
        &self,
        channels: Option<&[String]>,
        config: &ApiConfig,
        now: Timestamp,
    ) -> Result<Timestamp, ApiError> {
        let mut v = Violations::new();
        v.ident(&["body", "eventType"], &self.event_type, MAX_NAME);
        if !self.payload.get().trim_start().starts_with('{') {
            v.push(&["body", "payload"], "payload must be a JSON object");
        }
        v.uid(&["body", "eventId"], self.event_id.as_deref(), MessageId::PREFIX);
        v.channels(&["body", "channels"], channels);
        check_tags(&mut v, self.tags.as_ref());
        if self.deliver_at.as_ref().is_some_and(|d| !d.is_null()) {
            v.push(&["body", "deliverAt"], "delayed delivery is not supported");
        }
        let retention = retention(&mut v, self, config);
        v.finish()?;
        Ok(now.plus(retention))
    }
}

fn check_tags(v: &mut Violations, tags: Option<&BTreeSet<String>>) {
    let Some(tags) = tags else { return };
    if tags.len() > MAX_TAGS {
        v.push(&["body", "tags"], format!("at most {MAX_TAGS} tags are allowed"));
    }
    let tag_char = |c: char| c.is_ascii_alphanumeric() || "-_./\\#".contains(c);
    for t in tags {
        if t.is_empty() || t.len() > MAX_CHANNEL || !t.chars().all(tag_char) {
            v.push(
                &["body", "tags"],
                "tags must match ^[a-zA-Z0-9\\-_./\\\\#]+$ and be at most 128 characters",
            );
        }
    }
}

fn retention(v: &mut Violations, m: &MessageIn, config: &ApiConfig) -> Duration {
    match (m.payload_retention_period, m.payload_retention_hours) {
        (Some(_), Some(_)) => {
            v.push(
                &["body", "payloadRetentionHours"],
                "give either payloadRetentionPeriod or payloadRetentionHours",
            );
            config.default_payload_retention
        }
        (Some(days), None) if (1..=90).contains(&days) => Duration::from_secs(days as u64 * 24 * HOUR),
        (None, Some(hours)) if (1..=2160).contains(&hours) => Duration::from_secs(hours as u64 * HOUR),
        (Some(_), None) => {
            v.push(&["body", "payloadRetentionPeriod"], "must be between 1 and 90 days");
            config.default_payload_retention
        }
        (None, Some(_)) => {
            v.push(&["body", "payloadRetentionHours"], "must be between 1 and 2160 hours");
            config.default_payload_retention
        }
        (None, None) => config.default_payload_retention,
    }
}

/// Send a message to every endpoint of the application that wants it.
#[utoipa::path(
    post,
    path = "/api/v1/app/{app_id}/msg",
    operation_id = "v1.message.create",
    tag = "Message",
    request_body = MessageIn,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("with_content" = Option<bool>, Query),
    ),
    responses(
        (status = 202, body = MessageOut),
        (status = 404, body = crate::error::HttpErrorOut),
        (status = 409, body = crate::error::HttpErrorOut),
        (status = 422, body = crate::error::HttpValidationError),
    ),
)]
pub(crate) async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    q: Query,
    Json(mut input): Json<MessageIn>,
) -> Result<(StatusCode, Json<MessageOut>), ApiError> {
    let with_content = q.bool("with_content", true)?;
    let now = Timestamp::now();
    let channels: Option<Vec<String>> = input.channels.take().map(|c| c.into_iter().collect());
    let expires_at = input.check(channels.as_deref(), &state.config, now)?;
    let routing = routing(&state, &caller, &app_id, input.application.take()).await?;
    let app = routing.app;
    let destinations: Vec<Arc<Endpoint>> = routing
        .endpoints
        .iter()
        .filter(|ep| endpoint_wants(ep, &input.event_type, channels.as_deref()))
        .cloned()
        .collect();
    let msg = Message {
        id: MessageId::generate(),
        app_id: app.id,
        event_type: input.event_type,
        event_id: input.event_id,
        payload: Some(bytes::Bytes::copy_from_slice(input.payload.get().as_bytes())),
        channels,
        tags: input.tags.map(|t| t.into_iter().collect()),
        created_at: now,
        expires_at: Some(expires_at),
        inbound: None,
    };
    let msg = dispatch_new(&state, msg, destinations).await?;
    let payload = if with_content { input.payload } else { crate::v1::common::empty_object() };
    Ok((StatusCode::ACCEPTED, Json(MessageOut::new(&msg, payload))))
}

/// The application in the path and its endpoints, from the routing cache when fresh.
async fn routing(
    state: &AppState,
    caller: &Caller,
    app_id: &str,
    inline: Option<ApplicationIn>,
) -> Result<Routing, ApiError> {
    if let Some(cached) = state.routing.get(app_id) {
        return match caller {
            Caller::App(own) if *own != cached.app.id => Err(ApiError::forbidden()),
            _ => Ok(cached),
        };
    }
    let app = resolve_app(state, caller, app_id, inline).await?;
    let routing = Routing::load(state.store.as_ref(), app).await?;
    state.routing.put(app_id, routing.clone());
    Ok(routing)
}

/// The application in the path; with an inline `application`, created if missing
/// (its `uid` is the path's, as Svix requires).
pub(crate) async fn resolve_app(
    state: &AppState,
    caller: &Caller,
    id_or_uid: &str,
    inline: Option<ApplicationIn>,
) -> Result<Application, ApiError> {
    if let Some(app) = state.store.get_app(id_or_uid).await? {
        return match caller {
            Caller::App(own) if *own != app.id => Err(ApiError::forbidden()),
            _ => Ok(app),
        };
    }
    let (Caller::Admin, Some(mut inline)) = (caller, inline) else {
        return match caller {
            Caller::Admin => Err(ApiError::NotFound("Application not found".to_owned())),
            Caller::App(_) => Err(ApiError::forbidden()),
        };
    };
    if AppId::parse(id_or_uid).is_some() || !is_ident(id_or_uid) {
        return Err(ApiError::NotFound("Application not found".to_owned()));
    }
    if inline.uid.as_deref().is_some_and(|uid| uid != id_or_uid) {
        return Err(ApiError::invalid(
            &["body", "application", "uid"],
            "must match the application uid in the path",
        ));
    }
    inline.uid = Some(id_or_uid.to_owned());
    match create_app(state, inline, &["body", "application"]).await {
        // A concurrent request created it first: use theirs.
        Err(ApiError::Conflict(_)) => state
            .store
            .get_app(id_or_uid)
            .await?
            .ok_or_else(|| ApiError::NotFound("Application not found".to_owned())),
        other => other,
    }
}

/// Commits `msg` with one delivery per destination, leased to this process when it
/// runs workers, and hands those deliveries to them.
pub(crate) async fn dispatch_new(
    state: &AppState,
    msg: Message,
    destinations: Vec<Arc<Endpoint>>,
) -> Result<Arc<Message>, ApiError> {
    Ok(state.dispatch.commit_and_send(state.store.as_ref(), msg, destinations).await?)
}
