//! Message attempts: one HTTP try each. Listed by endpoint
//! (`/attempt/endpoint/{endpoint_id}`) or by message (`/attempt/msg/{msg_id}`),
//! read one at a time, and their response bodies expunged.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::routing::{delete, get};
use herald_core::{Attempt, DeliveryStatus, EndpointId, Message};
use herald_store::{AttemptFilter, Order, Page};
use http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{AppAccess, EndpointAccess};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::pagination::{ListResponse, page_query};
use crate::v1::common::time;
use crate::v1::message::{MessageOut, find_message};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/app/{app_id}/attempt/endpoint/{endpoint_id}", get(list_by_endpoint))
        .route("/app/{app_id}/attempt/msg/{msg_id}", get(list_by_msg))
        .route("/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}", get(get_one))
        .route("/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}/content", delete(expunge_content))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageAttemptOut {
    pub id: String,
    pub msg_id: String,
    pub endpoint_id: String,
    pub url: String,
    /// The response body (capped), or why no response came.
    pub response: String,
    /// 0 when no response came.
    pub response_status_code: u16,
    pub response_duration_ms: u64,
    /// 0 success, 1 pending, 2 failed, 3 sending.
    pub status: i64,
    pub status_text: String,
    pub timestamp: String,
    /// 0 scheduled, 1 manual.
    pub trigger_type: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<MessageOut>,
    /// Herald's addition: the request this attempt sent. Absent when nothing was
    /// sent (a disabled endpoint, an expunged payload) and on attempts recorded
    /// before Herald kept requests. Svix's SDKs ignore it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<AttemptRequestOut>,
}

/// What an attempt sent: for an email endpoint the method is `SMTP` and the headers
/// are the mail's.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptRequestOut {
    pub method: String,
    /// `[name, value]` pairs in the order sent; credentials (`Authorization`,
    /// cookies, tokens, API keys) read `••••`.
    #[schema(value_type = Vec<Vec<String>>)]
    pub headers: Vec<(String, String)>,
    /// The body sent, when a transformation made it differ from the message
    /// payload (capped at 8 KiB); absent when it was the payload, or with
    /// `with_content=false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl MessageAttemptOut {
    pub(crate) fn new(a: Attempt, with_content: bool) -> Self {
        Self {
            id: a.id.into_string(),
            msg_id: a.msg_id.into_string(),
            endpoint_id: a.endpoint_id.into_string(),
            url: a.url,
            response: if with_content { a.response } else { String::new() },
            response_status_code: a.response_status_code,
            response_duration_ms: a.duration_ms,
            status: a.status.code(),
            status_text: a.status.text().to_owned(),
            timestamp: time(a.created_at),
            trigger_type: a.trigger.code(),
            msg: None,
            request: a.request.map(|r| AttemptRequestOut {
                method: r.method,
                headers: r.headers,
                body: r.body.filter(|_| with_content),
            }),
        }
    }
}

/// `status`, `status_code_class`, `event_types`, `channel`, `before`, `after`.
fn attempt_filter(q: &Query) -> Result<AttemptFilter, ApiError> {
    let msg_filter = crate::v1::message::message_filter(q)?;
    Ok(AttemptFilter {
        event_types: msg_filter.event_types,
        channel: msg_filter.channel,
        before: msg_filter.before,
        after: msg_filter.after,
        ..outcome_filter(q)?
    })
}

/// `status` and `status_code_class`: the filters on an attempt's own outcome.
pub(crate) fn outcome_filter(q: &Query) -> Result<AttemptFilter, ApiError> {
    let status = status_param(q)?;
    let status_code_class = q.number::<u16>("status_code_class")?;
    if status_code_class.is_some_and(|c| ![0, 100, 200, 300, 400, 500].contains(&c)) {
        return Err(ApiError::invalid(
            &["query", "status_code_class"],
            "must be 0, 100, 200, 300, 400 or 500",
        ));
    }
    Ok(AttemptFilter { status, status_code_class, ..AttemptFilter::default() })
}

/// The `status` query parameter (Svix's `MessageStatus` numbers).
pub(crate) fn status_param(q: &Query) -> Result<Option<DeliveryStatus>, ApiError> {
    match q.number::<i64>("status")? {
        None => Ok(None),
        Some(code) => DeliveryStatus::from_code(code)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(&["query", "status"], "must be 0, 1, 2 or 3")),
    }
}

/// Maps a page of attempts, attaching their messages when `with_msg=true`.
async fn attempt_page(
    state: &AppState,
    page: Page<Attempt>,
    q: &Query,
) -> Result<ListResponse<MessageAttemptOut>, ApiError> {
    let with_content = q.bool("with_content", true)?;
    let mut msgs: HashMap<String, Message> = HashMap::new();
    if q.bool("with_msg", false)? {
        let mut ids: Vec<_> = page.items.iter().map(|a| a.msg_id.clone()).collect();
        ids.sort();
        ids.dedup();
        msgs = state.store.messages_by_id(&ids).await?.into_iter().map(|m| (m.id.to_string(), m)).collect();
    }
    Ok(ListResponse::from_page(
        page,
        |a| a.id.to_string(),
        |a| {
            let msg = msgs.get(a.msg_id.as_str()).map(|m| MessageOut::stored(m, with_content));
            MessageAttemptOut { msg, ..MessageAttemptOut::new(a, with_content) }
        },
    ))
}

/// List the attempts made to an endpoint, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}/attempt/endpoint/{endpoint_id}",
    operation_id = "v1.message-attempt.list-by-endpoint",
    tag = "Message Attempt",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
        ("limit" = Option<u32>, Query),
        ("iterator" = Option<String>, Query),
        ("status" = Option<i64>, Query),
        ("status_code_class" = Option<u16>, Query),
        ("event_types" = Option<Vec<String>>, Query),
        ("channel" = Option<String>, Query),
        ("before" = Option<String>, Query),
        ("after" = Option<String>, Query),
        ("with_content" = Option<bool>, Query),
        ("with_msg" = Option<bool>, Query),
    ),
    responses(
        (status = 200, body = ListResponse<MessageAttemptOut>),
    ),
)]
pub(crate) async fn list_by_endpoint(
    access: EndpointAccess,
    State(state): State<AppState>,
    q: Query,
) -> Result<Json<ListResponse<MessageAttemptOut>>, ApiError> {
    let filter = AttemptFilter { endpoint: Some(access.endpoint.id), ..attempt_filter(&q)? };
    let page =
        state.store.list_attempts(&access.app.id, &filter, &page_query(&q, Order::Descending)?).await?;
    Ok(Json(attempt_page(&state, page, &q).await?))
}

/// List the attempts made for a message, newest first (`endpoint_id` narrows).
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}/attempt/msg/{msg_id}",
    operation_id = "v1.message-attempt.list-by-msg",
    tag = "Message Attempt",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("msg_id" = String, Path, description = "The message's id or eventId"),
        ("limit" = Option<u32>, Query),
        ("iterator" = Option<String>, Query),
        ("endpoint_id" = Option<String>, Query),
        ("status" = Option<i64>, Query),
        ("status_code_class" = Option<u16>, Query),
        ("with_content" = Option<bool>, Query),
    ),
    responses(
        (status = 200, body = ListResponse<MessageAttemptOut>),
    ),
)]
pub(crate) async fn list_by_msg(
    access: AppAccess,
    State(state): State<AppState>,
    Path((_, msg_id)): Path<(String, String)>,
    q: Query,
) -> Result<Json<ListResponse<MessageAttemptOut>>, ApiError> {
    let msg = find_message(&state, &access.app, &msg_id).await?;
    let endpoint = match q.get("endpoint_id").filter(|e| !e.is_empty()) {
        None => None,
        Some(e) => Some(resolve_endpoint(&state, &access, e).await?),
    };
    let filter = AttemptFilter { msg: Some(msg.id), endpoint, ..attempt_filter(&q)? };
    let page =
        state.store.list_attempts(&access.app.id, &filter, &page_query(&q, Order::Descending)?).await?;
    Ok(Json(attempt_page(&state, page, &q).await?))
}

/// An endpoint id from an id or uid given in a query parameter.
async fn resolve_endpoint(
    state: &AppState,
    access: &AppAccess,
    id_or_uid: &str,
) -> Result<EndpointId, ApiError> {
    if let Some(id) = EndpointId::parse(id_or_uid) {
        return Ok(id);
    }
    match state.store.get_endpoint(&access.app.id, id_or_uid).await? {
        Some(ep) => Ok(ep.id),
        None => Err(ApiError::NotFound("Endpoint not found".to_owned())),
    }
}

/// Get one attempt.
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}",
    operation_id = "v1.message-attempt.get",
    tag = "Message Attempt",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("msg_id" = String, Path, description = "The message's id or eventId"),
        ("attempt_id" = String, Path, description = "The attempt's id"),
    ),
    responses(
        (status = 200, body = MessageAttemptOut),
        (status = 404, body = crate::error::HttpErrorOut),
    ),
)]
pub(crate) async fn get_one(
    access: AppAccess,
    State(state): State<AppState>,
    Path((_, msg_id, attempt_id)): Path<(String, String, String)>,
) -> Result<Json<MessageAttemptOut>, ApiError> {
    let attempt = find_attempt(&state, &access, &msg_id, &attempt_id).await?;
    Ok(Json(MessageAttemptOut::new(attempt, true)))
}

async fn find_attempt(
    state: &AppState,
    access: &AppAccess,
    msg_id: &str,
    id: &str,
) -> Result<Attempt, ApiError> {
    let msg = find_message(state, &access.app, msg_id).await?;
    match state.store.get_attempt(&access.app.id, id).await? {
        Some(a) if a.msg_id == msg.id => Ok(a),
        _ => Err(ApiError::NotFound("Message attempt not found".to_owned())),
    }
}

/// Remove an attempt's response body for good.
#[utoipa::path(
    delete,
    path = "/api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}/content",
    operation_id = "v1.message-attempt.expunge-content",
    tag = "Message Attempt",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("msg_id" = String, Path, description = "The message's id or eventId"),
        ("attempt_id" = String, Path, description = "The attempt's id"),
    ),
    responses(
        (status = 204),
    ),
)]
pub(crate) async fn expunge_content(
    access: AppAccess,
    State(state): State<AppState>,
    Path((_, msg_id, attempt_id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let attempt = find_attempt(&state, &access, &msg_id, &attempt_id).await?;
    state.store.expunge_attempt_content(&access.app.id, attempt.id.as_str()).await?;
    Ok(StatusCode::NO_CONTENT)
}
