//! Operations on one endpoint beyond its fields: delivery stats, sending an
//! example message, and recovering failed deliveries.

use axum::extract::State;
use herald_core::{EventType, Message, MessageId, TaskId, Timestamp};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::EndpointAccess;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::v1::common::{parse_time, time};
use crate::v1::message::{MessageOut, dispatch_new};
use crate::validate::{MAX_NAME, Violations};

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointStats {
    pub success: u64,
    pub pending: u64,
    pub sending: u64,
    pub fail: u64,
    /// Deliveries the endpoint's filter or transformation left out (not sent, no
    /// attempt): what Svix counts as canceled.
    pub canceled: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventExampleIn {
    pub event_type: String,
    /// Which of the schema's `examples` to send (default the first).
    #[serde(default)]
    pub example_index: Option<usize>,
    /// An explicit payload, instead of one from the event type's schema.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RecoverIn {
    /// RFC 3339; deliveries of messages created since then are retried.
    pub since: String,
    #[serde(default)]
    pub until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoverOut {
    pub id: String,
    /// `finished`: the failed deliveries are already due again when this answers.
    pub status: String,
    pub task: String,
    pub updated_at: String,
}

/// Delivery counts of the endpoint by status.
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/stats",
    operation_id = "v1.endpoint.get-stats",
    tag = "Endpoint",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
        ("since" = Option<String>, Query),
        ("until" = Option<String>, Query),
    ),
    responses(
        (status = 200, body = EndpointStats),
    ),
)]
pub(crate) async fn stats(
    access: EndpointAccess,
    State(state): State<AppState>,
    q: Query,
) -> Result<Json<EndpointStats>, ApiError> {
    let (since, until) = (q.time("since")?, q.time("until")?);
    let c = state.store.endpoint_stats(&access.endpoint.id, since, until).await?;
    Ok(Json(EndpointStats {
        success: c.success,
        pending: c.pending,
        sending: c.sending,
        fail: c.failed,
        canceled: c.filtered,
    }))
}

/// Send an example message of an event type to this endpoint only.
#[utoipa::path(
    post,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/send-example",
    operation_id = "v1.endpoint.send-example",
    tag = "Endpoint",
    request_body = EventExampleIn,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 200, body = MessageOut),
    ),
)]
pub(crate) async fn send_example(
    access: EndpointAccess,
    State(state): State<AppState>,
    Json(input): Json<EventExampleIn>,
) -> Result<Json<MessageOut>, ApiError> {
    let mut v = Violations::new();
    v.ident(&["body", "eventType"], &input.event_type, MAX_NAME);
    if input.payload.as_ref().is_some_and(|p| !p.is_object()) {
        v.push(&["body", "payload"], "payload must be a JSON object");
    }
    v.finish()?;
    let payload = match input.payload {
        Some(p) => p,
        None => {
            let et = state.store.get_event_type(&input.event_type).await?;
            example_payload(&input.event_type, et.as_ref(), input.example_index.unwrap_or(0))
        }
    };
    let raw = serde_json::value::to_raw_value(&payload).map_err(ApiError::internal)?;
    let now = Timestamp::now();
    let msg = Message {
        id: MessageId::generate(),
        app_id: access.app.id.clone(),
        event_type: input.event_type,
        event_id: None,
        payload: Some(bytes::Bytes::copy_from_slice(raw.get().as_bytes())),
        channels: None,
        tags: None,
        created_at: now,
        expires_at: Some(now.plus(state.config.default_payload_retention)),
        inbound: None,
    };
    let msg = dispatch_new(&state, msg, vec![std::sync::Arc::new(access.endpoint)]).await?;
    Ok(Json(MessageOut::new(&msg, raw)))
}

/// The first usable example of the event type's newest schema, else a small object.
fn example_payload(name: &str, et: Option<&EventType>, index: usize) -> serde_json::Value {
    let schemas = et.and_then(|e| e.schemas.as_ref()).and_then(serde_json::Value::as_object);
    let newest =
        schemas.and_then(|s| s.iter().max_by_key(|(version, _)| version.parse::<u64>().unwrap_or(0)));
    let example = newest.and_then(|(_, schema)| {
        let listed = schema.get("examples").and_then(|e| e.as_array()).and_then(|a| a.get(index));
        listed.or_else(|| schema.get("example")).filter(|e| e.is_object()).cloned()
    });
    example.unwrap_or_else(|| serde_json::json!({ "eventType": name, "example": true }))
}

/// Retry every failed delivery to this endpoint of messages created in `[since, until)`.
#[utoipa::path(
    post,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/recover",
    operation_id = "v1.endpoint.recover",
    tag = "Endpoint",
    request_body = RecoverIn,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 202, body = RecoverOut),
    ),
)]
pub(crate) async fn recover(
    access: EndpointAccess,
    State(state): State<AppState>,
    Json(input): Json<RecoverIn>,
) -> Result<(StatusCode, Json<RecoverOut>), ApiError> {
    let since = parse_time(&["body", "since"], &input.since)?;
    let until = input.until.as_deref().map(|u| parse_time(&["body", "until"], u)).transpose()?;
    let now = Timestamp::now();
    let count = state.store.recover_failed(&access.endpoint.id, since, until, now).await?;
    if count > 0 {
        state.dispatch.wake();
    }
    let out = RecoverOut {
        id: TaskId::generate().into_string(),
        status: "finished".to_owned(),
        task: "endpoint.recover".to_owned(),
        updated_at: time(now),
    };
    Ok((StatusCode::ACCEPTED, Json(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_come_from_the_newest_schema() {
        let et = EventType {
            name: "order.paid".into(),
            description: String::new(),
            archived: false,
            deprecated: false,
            feature_flag: None,
            schemas: Some(serde_json::json!({
                "1": {"examples": [{"v": 1}]},
                "2": {"examples": [{"v": 2}, {"v": 3}]}
            })),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        };
        assert_eq!(example_payload("order.paid", Some(&et), 1), serde_json::json!({"v": 3}));
        assert_eq!(example_payload("x", None, 0)["eventType"], "x");
    }
}
