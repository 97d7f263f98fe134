//! `GET /api/v1/app/{app_id}/events/stream`: an application's messages as they are
//! created, as server-sent events — what `herald listen` relays to a developer's
//! machine. Herald's addition beside the Svix API; the application's token (admin or
//! app-portal) authenticates it.
//!
//! It is backed by store reads, not by an in-memory feed, so it sees messages created
//! by any process on a shared PostgreSQL and survives nothing special: the server
//! polls the message list every [`POLL`]. Ids (KSUIDs) and `created_at` order
//! messages only to within a few milliseconds, and a message may commit a moment
//! after a later one, so each poll re-reads the last [`GRACE`] and skips what it
//! already sent. Where to start: `after=<msg id>` (or the `Last-Event-ID` header an
//! `EventSource` resends) resumes after a message — the few seconds before it are
//! sent again and clients drop what they already have, by id; `since=<RFC 3339>`
//! replays history from that time; neither starts from now.
//!
//! Each event is `id: <msg id>`, `event: message`, and a [`StreamEventOut`] as data.
//! The stream ends when the server shuts down.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use futures::Stream;
use herald_core::{AppId, Message, Timestamp};
use herald_store::{Cursor, MessageFilter, Order, PageQuery};
use http::HeaderMap;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::AppAccess;
use crate::error::ApiError;
use crate::extract::Query;
use crate::v1::common::{RawJson, stored_payload, time};
use crate::v1::message::find_message;
use crate::v1::source::find_source;
use crate::validate::{MAX_NAME, Violations};

/// How often the message list is read.
const POLL: Duration = Duration::from_millis(250);
/// How far back each read reaches behind the newest message sent.
const GRACE: Duration = Duration::from_secs(5);
/// Messages read per page.
const PAGE: usize = 100;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/app/{app_id}/events/stream", get(stream))
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
        (Some(id), _) => Tail::after(&find_message(&state, &access.app, id).await?),
        (None, Some(since)) => Tail::since(since),
        (None, None) => Tail::since(Timestamp::now()),
    };
    let tail =
        Tailing { state: state.clone(), app: access.app.id, filter, tail: start, ready: VecDeque::new() };
    let shutdown = state.shutdown.clone();
    let events = futures::stream::unfold(tail, move |t| next_event(t, shutdown.clone()));
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// Where the stream stands: what it sent lately and how far back it reads.
#[derive(Debug)]
struct Tail {
    /// Nothing created at or before this is ever sent.
    floor: Timestamp,
    /// The newest `created_at` sent (or the start).
    high: Timestamp,
    /// Messages sent whose `created_at` is still inside the read window.
    sent: BTreeMap<String, Timestamp>,
}

impl Tail {
    /// Messages created from `t` on (`since`), or from now on.
    fn since(t: Timestamp) -> Self {
        Self { floor: Timestamp(t.millis() - 1), high: t, sent: BTreeMap::new() }
    }

    /// Messages after `msg`, re-reading the grace window before it.
    fn after(msg: &Message) -> Self {
        let sent = BTreeMap::from([(msg.id.to_string(), msg.created_at)]);
        Self { floor: msg.created_at.minus(GRACE), high: msg.created_at, sent }
    }

    /// Messages created after this may still be unsent.
    fn read_from(&self) -> Timestamp {
        self.floor.max(self.high.minus(GRACE))
    }

    /// Keeps the messages not sent yet and remembers them as sent.
    fn fresh(&mut self, read: Vec<Message>) -> Vec<Message> {
        let fresh: Vec<Message> =
            read.into_iter().filter(|m| !self.sent.contains_key(m.id.as_str())).collect();
        for m in &fresh {
            self.sent.insert(m.id.to_string(), m.created_at);
            self.high = self.high.max(m.created_at);
        }
        let from = self.read_from();
        self.sent.retain(|_, at| *at > from);
        fresh
    }
}

struct Tailing {
    state: AppState,
    app: AppId,
    filter: MessageFilter,
    tail: Tail,
    ready: VecDeque<Message>,
}

/// The next event: a message read earlier, else the next poll's; `None` at shutdown.
async fn next_event(
    mut t: Tailing,
    shutdown: CancellationToken,
) -> Option<(Result<Event, Infallible>, Tailing)> {
    loop {
        if let Some(msg) = t.ready.pop_front() {
            return Some((Ok(event(&msg)), t));
        }
        match read_new(&t).await {
            Ok(read) => t.ready.extend(t.tail.fresh(read)),
            Err(error) => tracing::warn!(%error, app = %t.app, "message stream could not read; retrying"),
        }
        if t.ready.is_empty() {
            tokio::select! {
                () = shutdown.cancelled() => return None,
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

/// Every message of the window, oldest id first.
async fn read_new(t: &Tailing) -> Result<Vec<Message>, herald_store::StoreError> {
    let filter = MessageFilter { after: Some(t.tail.read_from()), ..t.filter.clone() };
    let mut query = PageQuery::first(PAGE, Order::Ascending);
    let mut all = Vec::new();
    loop {
        let page = t.state.store.list_messages(&t.app, &filter, &query).await?;
        let done = page.done;
        all.extend(page.items);
        match (done, all.last()) {
            (false, Some(last)) => query.cursor = Some(Cursor::After(last.id.to_string())),
            _ => return Ok(all),
        }
    }
}

fn event(msg: &Message) -> Event {
    let data = serde_json::to_string(&StreamEventOut::from(msg)).unwrap_or_default();
    Event::default().id(msg.id.as_str()).event("message").data(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(at: i64) -> Message {
        Message {
            id: herald_core::MessageId::generate(),
            app_id: AppId::generate(),
            event_type: "a.b".into(),
            event_id: None,
            payload: Some(bytes::Bytes::from_static(b"{}")),
            channels: None,
            tags: None,
            created_at: Timestamp(at),
            expires_at: None,
            inbound: None,
        }
    }

    #[test]
    fn each_message_is_sent_once_while_the_window_rereads() {
        let mut tail = Tail::since(Timestamp(10_000));
        let (a, b, late) = (msg(10_000), msg(12_000), msg(11_000));
        assert_eq!(tail.read_from(), Timestamp(9_999), "`since` includes its first millisecond");
        assert_eq!(tail.fresh(vec![a.clone(), b.clone()]).len(), 2);
        assert_eq!(tail.read_from(), Timestamp(9_999), "the window reaches back GRACE behind the newest");
        let again = tail.fresh(vec![a.clone(), late.clone(), b.clone()]);
        assert_eq!(again.iter().map(|m| &m.id).collect::<Vec<_>>(), [&late.id], "only the late commit");
        let newer = msg(30_000);
        tail.fresh(vec![newer]);
        assert_eq!(tail.read_from(), Timestamp(25_000));
        assert_eq!(tail.sent.len(), 1, "what fell out of the window is forgotten");
    }

    #[test]
    fn resuming_rereads_the_grace_window_but_not_the_message_itself() {
        let last = msg(50_000);
        let mut tail = Tail::after(&last);
        assert_eq!(tail.read_from(), Timestamp(45_000));
        let read = tail.fresh(vec![msg(47_000), last.clone(), msg(51_000)]);
        assert_eq!(read.len(), 2, "the resumed-after message is not sent again");
    }
}
