//! `GET /api/v1/app/{app_id}/events/stream`: an application's messages as they are
//! created, as server-sent events — what `herald listen` relays to a developer's
//! machine. Herald's addition beside the Svix API; the application's token (admin or
//! app-portal) authenticates it.
//!
//! It is backed by store reads, not by an in-memory feed, so it sees messages created
//! by any process on a shared PostgreSQL and survives nothing special: the server
//! polls the message list every [`POLL`], re-reading a few seconds behind the newest
//! message sent ([`tail`]). Where to start: `after=<msg id>` (or the `Last-Event-ID` header an
//! `EventSource` resends) resumes after a message — the few seconds before it ([`tail::GRACE`]) are
//! sent again and clients drop what they already have, by id; `since=<RFC 3339>`
//! replays history from that time; neither starts from now.
//!
//! Each event is `id: <msg id>`, `event: message`, and a [`StreamEventOut`] as data.
//! The stream ends when the server shuts down.

pub(crate) mod attempts;
mod tail;

use std::convert::Infallible;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use futures::Stream;
use herald_core::{AppId, Message, Timestamp};
use herald_store::MessageFilter;
use http::HeaderMap;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::AppAccess;
use crate::error::ApiError;
use crate::extract::Query;
use crate::v1::common::{RawJson, stored_payload, time};
use crate::v1::message::find_message;
use crate::v1::source::find_source;
use crate::validate::{MAX_NAME, Violations};
use tail::{Streamed, Tail};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/app/{app_id}/events/stream", get(stream))
        .route("/attempt/stream", get(attempts::stream))
}

/// One streamed message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamEventOut {
    pub id: String,
    pub event_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// As `GET …/msg/{id}` shows it.
    #[schema(value_type = Object)]
    pub payload: RawJson,
    /// The exact bytes delivered (base64): what a relay forwards.
    pub body: String,
    /// The inbound source the message came from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// The path and query the provider called, for an inbound message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The provider's original headers (`[name, value]` pairs) of an inbound message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_headers: Option<Vec<(String, String)>>,
}

impl From<&Message> for StreamEventOut {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id.to_string(),
            event_type: m.event_type.clone(),
            event_id: m.event_id.clone(),
            timestamp: time(m.created_at),
            tags: m.tags.clone(),
            payload: stored_payload(m.payload.as_ref(), true),
            body: B64.encode(m.payload.as_deref().unwrap_or_default()),
            source_id: m.inbound.as_ref().map(|o| o.source.to_string()),
            path: m.inbound.as_ref().map(|o| o.path.clone()),
            original_headers: m.inbound.as_ref().map(|o| o.headers.clone()),
        }
    }
}

/// Stream the application's messages as they are created (server-sent events).
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}/events/stream",
    operation_id = "v1.message.stream",
    tag = "Message",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("after" = Option<String>, Query, description = "Resume after this message id (or send `Last-Event-ID`)"),
        ("since" = Option<String>, Query, description = "Replay messages created since this RFC 3339 time"),
        ("source" = Option<String>, Query, description = "Only messages received by this source (id or uid)"),
        ("event_types" = Option<Vec<String>>, Query),
    ),
    responses(
        (status = 200, content_type = "text/event-stream", body = StreamEventOut,
         description = "One `message` event per message, `id` being the message id"),
        (status = 404, body = crate::error::HttpErrorOut),
    ),
)]
pub(crate) async fn stream(
    access: AppAccess,
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Query,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut filter = MessageFilter { event_types: q.list("event_types"), ..MessageFilter::default() };
    let mut v = Violations::new();
    v.event_types(&["query", "event_types"], filter.event_types.as_deref());
    v.finish()?;
    if let Some(key) = q.get("source").filter(|s| !s.is_empty() && s.len() <= MAX_NAME) {
        let source = find_source(&state, key).await?;
        if source.app_id != access.app.id {
            return Err(ApiError::NotFound("Source not found".to_owned()));
        }
        // Inbound messages are tagged with their source's id.
        filter.tag = Some(source.id.to_string());
    }
    let after = headers.get("last-event-id").and_then(|v| v.to_str().ok()).or(q.get("after"));
    let start = match (after.filter(|a| !a.is_empty()), q.time("since")?) {
        (Some(id), _) => {
            let msg = find_message(&state, &access.app, id).await?;
            Tail::after(msg.key(), msg.at())
        }
        (None, Some(since)) => Tail::since(since),
        (None, None) => Tail::since(Timestamp::now()),
    };
    let tailing = Tailing { state: state.clone(), app: access.app.id, filter, tail: start };
    Ok(Sse::new(tail::events(tailing, state.shutdown.clone())).keep_alive(KeepAlive::default()))
}

struct Tailing {
    state: AppState,
    app: AppId,
    filter: MessageFilter,
    tail: Tail,
}

impl tail::Poll for Tailing {
    async fn poll(&mut self) -> Vec<Event> {
        let filter = MessageFilter { after: Some(self.tail.read_from()), ..self.filter.clone() };
        let (store, app, filter) = (&self.state.store, &self.app, &filter);
        let read = tail::read_all(None, |q| async move { store.list_messages(app, filter, &q).await }).await;
        match read {
            Ok(read) => self.tail.fresh(read).iter().map(event).collect(),
            Err(error) => {
                tracing::warn!(%error, app = %self.app, "message stream could not read; retrying");
                Vec::new()
            }
        }
    }
}

fn event(msg: &Message) -> Event {
    let data = serde_json::to_string(&StreamEventOut::from(msg)).unwrap_or_default();
    Event::default().id(msg.id.as_str()).event("message").data(data)
}
