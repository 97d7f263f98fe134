//! Deliveries — (message, endpoint) pairs and where they stand: the destinations
//! of a message (`/msg/{msg_id}/endpoint`), the messages of an endpoint
//! (`/endpoint/{endpoint_id}/msg`), and resending a message to an endpoint.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use herald_core::{Delivery, DeliveryStatus, Endpoint, Message, Timestamp};
use herald_store::{Order, PageQuery};
use http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{AppAccess, EndpointAccess};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::pagination::{ListResponse, page_query};
use crate::v1::attempt::status_param;
use crate::v1::common::{RawJson, stored_payload, time};
use crate::v1::endpoint::EndpointOut;
use crate::v1::message::{find_message, message_filter};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/app/{app_id}/msg/{msg_id}/endpoint", get(list_destinations))
        .route("/app/{app_id}/endpoint/{endpoint_id}/msg", get(list_endpoint_messages))
        .route("/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend", post(resend))
}

/// An endpoint as a destination of a message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageEndpointOut {
    #[serde(flatten)]
    pub endpoint: EndpointOut,
    pub status: i64,
    pub status_text: String,
    /// True when the endpoint's filter or transformation chose not to send the
    /// message (no attempt was made); `status` then reads 0, as Svix's SDKs know
    /// only 0 to 3. Herald's own field.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub filtered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt: Option<String>,
}

/// A message as delivered to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointMessageOut {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub event_type: String,
    #[schema(value_type = Object)]
    pub payload: RawJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    pub timestamp: String,
    pub status: i64,
    pub status_text: String,
    /// As in [`MessageEndpointOut`]: not sent, by the endpoint's choice.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub filtered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt: Option<String>,
}

/// Svix's answer to a resend: an empty object.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmptyResponse {}

fn destination(d: Delivery, ep: Endpoint) -> MessageEndpointOut {
    MessageEndpointOut {
        endpoint: ep.into(),
        status: d.status.svix().code(),
        status_text: d.status.svix().text().to_owned(),
        filtered: d.status == DeliveryStatus::Filtered,
        next_attempt: d.next_attempt_at.map(time),
    }
}

fn endpoint_message(d: Delivery, m: Message, with_content: bool) -> EndpointMessageOut {
    EndpointMessageOut {
        payload: stored_payload(m.payload.as_ref(), with_content),
        id: m.id.into_string(),
        event_id: m.event_id,
        event_type: m.event_type,
        channels: m.channels,
        tags: m.tags,
        timestamp: time(m.created_at),
        status: d.status.svix().code(),
        status_text: d.status.svix().text().to_owned(),
        filtered: d.status == DeliveryStatus::Filtered,
        next_attempt: d.next_attempt_at.map(time),
    }
}

/// List the endpoints a message goes to, with the state of each delivery.
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}/msg/{msg_id}/endpoint",
    operation_id = "v1.message-attempt.list-attempted-destinations",
    tag = "Message Attempt",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("msg_id" = String, Path, description = "The message's id or eventId"),
        ("limit" = Option<u32>, Query),
        ("iterator" = Option<String>, Query),
    ),
    responses(
        (status = 200, body = ListResponse<MessageEndpointOut>),
    ),
)]
pub(crate) async fn list_destinations(
    access: AppAccess,
    State(state): State<AppState>,
    Path((_, msg_id)): Path<(String, String)>,
    q: Query,
) -> Result<Json<ListResponse<MessageEndpointOut>>, ApiError> {
    let msg = find_message(&state, &access.app, &msg_id).await?;
    let pq = PageQuery { order: Order::Ascending, ..page_query(&q, Order::Ascending)? };
    let page = state.store.message_destinations(&msg.id, &pq).await?;
    Ok(Json(ListResponse::from_page(page, |(_, ep)| ep.id.to_string(), |(d, ep)| destination(d, ep))))
}

/// List the messages sent to an endpoint, newest first, with the delivery state.
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/msg",
    operation_id = "v1.message-attempt.list-attempted-messages",
    tag = "Message Attempt",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
        ("limit" = Option<u32>, Query),
        ("iterator" = Option<String>, Query),
        ("status" = Option<i64>, Query),
        ("event_types" = Option<Vec<String>>, Query),
        ("channel" = Option<String>, Query),
        ("before" = Option<String>, Query),
        ("after" = Option<String>, Query),
        ("with_content" = Option<bool>, Query),
    ),
    responses(
        (status = 200, body = ListResponse<EndpointMessageOut>),
    ),
)]
pub(crate) async fn list_endpoint_messages(
    access: EndpointAccess,
    State(state): State<AppState>,
    q: Query,
) -> Result<Json<ListResponse<EndpointMessageOut>>, ApiError> {
    let with_content = q.bool("with_content", true)?;
    let status = status_param(&q)?;
    let filter = message_filter(&q)?;
    let pq = page_query(&q, Order::Descending)?;
    let page = state.store.endpoint_messages(&access.endpoint.id, &filter, status, &pq).await?;
    Ok(Json(ListResponse::from_page(
        page,
        |(_, m)| m.id.to_string(),
        |(d, m)| endpoint_message(d, m, with_content),
    )))
}

/// Send a message to an endpoint again (as a manual attempt), now.
#[utoipa::path(
    post,
    path = "/api/v1/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend",
    operation_id = "v1.message-attempt.resend",
    tag = "Message Attempt",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("msg_id" = String, Path, description = "The message's id or eventId"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 202, body = EmptyResponse),
    ),
)]
pub(crate) async fn resend(
    access: EndpointAccess,
    State(state): State<AppState>,
    Path((_, msg_id, _)): Path<(String, String, String)>,
) -> Result<(StatusCode, Json<EmptyResponse>), ApiError> {
    let msg = find_message(&state, &access.app, &msg_id).await?;
    state.store.schedule_resend(&msg, &access.endpoint.id, Timestamp::now()).await?;
    state.dispatch.wake();
    Ok((StatusCode::ACCEPTED, Json(EmptyResponse {})))
}
