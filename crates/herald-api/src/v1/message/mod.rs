//! Messages (`/api/v1/app/{app_id}/msg`): list, get (by id or `eventId`), expunge
//! the content. Creation, the hot path, is in [`create`].

pub(crate) mod create;

use axum::Router;
use axum::extract::State;
use axum::routing::{delete, get};
use herald_core::{Application, Message};
use herald_store::{MessageFilter, Order};
use http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

pub(crate) use create::dispatch_new;

use crate::AppState;
use crate::auth::AppAccess;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::pagination::{ListResponse, page_query};
use crate::v1::common::{RawJson, stored_payload, time};
use crate::validate::{MAX_CHANNEL, MAX_NAME, Violations};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/app/{app_id}/msg", get(list).post(create::create))
        .route("/app/{app_id}/msg/{msg_id}", get(get_one))
        .route("/app/{app_id}/msg/{msg_id}/content", delete(expunge_content))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageOut {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub event_type: String,
    /// The payload as sent; `{}` with `with_content=false`, `{"expired": true}`
    /// once expunged.
    #[schema(value_type = Object)]
    pub payload: RawJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    pub timestamp: String,
}

impl MessageOut {
    pub(crate) fn new(msg: &Message, payload: RawJson) -> Self {
        Self {
            id: msg.id.to_string(),
            event_id: msg.event_id.clone(),
            event_type: msg.event_type.clone(),
            payload,
            channels: msg.channels.clone(),
            tags: msg.tags.clone(),
            timestamp: time(msg.created_at),
        }
    }

    pub(crate) fn stored(msg: &Message, with_content: bool) -> Self {
        Self::new(msg, stored_payload(msg.payload.as_ref(), with_content))
    }
}

/// The filters shared by message and endpoint-message lists.
pub(crate) fn message_filter(q: &Query) -> Result<MessageFilter, ApiError> {
    let mut v = Violations::new();
    let event_types = q.list("event_types");
    v.event_types(&["query", "event_types"], event_types.as_deref());
    let channel = q.get("channel").filter(|c| !c.is_empty()).map(str::to_owned);
    if let Some(c) = &channel {
        v.ident(&["query", "channel"], c, MAX_CHANNEL);
    }
    let tag = q.get("tag").filter(|t| !t.is_empty()).map(str::to_owned);
    if tag.as_ref().is_some_and(|t| t.len() > MAX_NAME) {
        v.push(&["query", "tag"], "too long");
    }
    v.finish()?;
    Ok(MessageFilter { event_types, channel, before: q.time("before")?, after: q.time("after")?, tag })
}

/// A message of `app` by id or `eventId`, or 404.
pub(crate) async fn find_message(state: &AppState, app: &Application, id: &str) -> Result<Message, ApiError> {
    (state.store.get_message(&app.id, id).await?)
        .ok_or_else(|| ApiError::NotFound("Message not found".to_owned()))
}

/// List the application's messages, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}/msg",
    operation_id = "v1.message.list",
    tag = "Message",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("limit" = Option<u32>, Query),
        ("iterator" = Option<String>, Query),
        ("event_types" = Option<Vec<String>>, Query),
        ("channel" = Option<String>, Query),
        ("before" = Option<String>, Query),
        ("after" = Option<String>, Query),
        ("tag" = Option<String>, Query),
        ("with_content" = Option<bool>, Query),
    ),
    responses(
        (status = 200, body = ListResponse<MessageOut>),
    ),
)]
pub(crate) async fn list(
    access: AppAccess,
    State(state): State<AppState>,
    q: Query,
) -> Result<Json<ListResponse<MessageOut>>, ApiError> {
    let with_content = q.bool("with_content", true)?;
    let filter = message_filter(&q)?;
    let page =
        state.store.list_messages(&access.app.id, &filter, &page_query(&q, Order::Descending)?).await?;
    Ok(Json(ListResponse::from_page(page, |m| m.id.to_string(), |m| MessageOut::stored(&m, with_content))))
}

/// Get a message by id or `eventId`.
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}/msg/{msg_id}",
    operation_id = "v1.message.get",
    tag = "Message",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("msg_id" = String, Path, description = "The message's id or eventId"),
        ("with_content" = Option<bool>, Query),
    ),
    responses(
        (status = 200, body = MessageOut),
        (status = 404, body = crate::error::HttpErrorOut),
    ),
)]
pub(crate) async fn get_one(
    access: AppAccess,
    State(state): State<AppState>,
    Path((_, msg_id)): Path<(String, String)>,
    q: Query,
) -> Result<Json<MessageOut>, ApiError> {
    let msg = find_message(&state, &access.app, &msg_id).await?;
    Ok(Json(MessageOut::stored(&msg, q.bool("with_content", true)?)))
}

/// Remove a message's payload for good.
#[utoipa::path(
    delete,
    path = "/api/v1/app/{app_id}/msg/{msg_id}/content",
    operation_id = "v1.message.expunge-content",
    tag = "Message",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("msg_id" = String, Path, description = "The message's id or eventId"),
    ),
    responses(
        (status = 204),
    ),
)]
pub(crate) async fn expunge_content(
    access: AppAccess,
    State(state): State<AppState>,
    Path((_, msg_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let msg = find_message(&state, &access.app, &msg_id).await?;
    state.store.expunge_payload(&access.app.id, &msg.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
