//! `GET /api/v1/attempt/stream`: every application's delivery attempts as they are
//! recorded, as server-sent events — what `herald tail` prints. Herald's addition
//! beside the Svix API, for operators: only the admin token gets it.
//!
//! Like the message stream it polls the store (so it sees every process's attempts on
//! a shared PostgreSQL), reading attempts by id — a primary-key range, whichever
//! application they belong to — and re-reading a few seconds behind the newest sent
//! ([`super::tail`]). Filters: `app` (id or uid), `endpoint` (an id, or a uid with
//! `app`), `event_types`, `status` (0 success, 2 failed), `status_code_class`.
//! `after=<attempt id>` (or `Last-Event-ID`) resumes after an attempt, `since=<RFC
//! 3339>` replays from a time; neither starts from now.
//!
//! Each event is `id: <attempt id>`, `event: attempt`, and an [`AttemptEventOut`].

use std::collections::HashMap;
use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use herald_core::{AppId, Application, Attempt, AttemptId, EndpointId, MessageId, Timestamp};
use herald_store::{AttemptFilter, Cursor, StoreError};
use http::HeaderMap;
use serde::Serialize;
use utoipa::ToSchema;

use super::tail::{self, Tail};
use crate::AppState;
use crate::auth::Admin;
use crate::error::ApiError;
use crate::extract::Query;
use crate::v1::attempt::{MessageAttemptOut, outcome_filter};
use crate::validate::Violations;

/// Names remembered per stream (applications' and endpoints' uids, messages' event
/// types); the maps are cleared when they grow past this.
const REMEMBERED: usize = 10_000;

/// One streamed attempt: the attempt as the attempt lists show it, and what a
/// one-line summary needs besides.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptEventOut {
    #[serde(flatten)]
    pub attempt: MessageAttemptOut,
    pub app_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_uid: Option<String>,
    /// The message's event type (empty if the message is gone).
    pub event_type: String,
}

/// Stream every application's delivery attempts as they are recorded (server-sent
/// events; admin token only).
#[utoipa::path(
    get,
    path = "/api/v1/attempt/stream",
    operation_id = "v1.message-attempt.stream",
    tag = "Message Attempt",
    params(
        ("app" = Option<String>, Query, description = "Only this application's attempts (id or uid)"),
        ("endpoint" = Option<String>, Query, description = "Only this endpoint's (an id, or a uid with `app`)"),
        ("event_types" = Option<Vec<String>>, Query),
        ("status" = Option<i64>, Query, description = "0 succeeded, 2 failed"),
        ("status_code_class" = Option<u16>, Query),
        ("after" = Option<String>, Query, description = "Resume after this attempt id (or send `Last-Event-ID`)"),
        ("since" = Option<String>, Query, description = "Replay attempts recorded since this RFC 3339 time"),
    ),
    responses(
        (status = 200, content_type = "text/event-stream", body = AttemptEventOut,
         description = "One `attempt` event per attempt, `id` being the attempt id"),
        (status = 403, body = crate::error::HttpErrorOut),
        (status = 404, body = crate::error::HttpErrorOut),
    ),
)]
pub(crate) async fn stream(
    _admin: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Query,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut filter = AttemptFilter { event_types: q.list("event_types"), ..outcome_filter(&q)? };
    let mut v = Violations::new();
    v.event_types(&["query", "event_types"], filter.event_types.as_deref());
    v.finish()?;
    let app = match q.get("app").filter(|a| !a.is_empty()) {
        Some(key) => Some(state.store.get_app(key).await?.ok_or_else(|| not_found("Application"))?),
        None => None,
    };
    if let Some(key) = q.get("endpoint").filter(|e| !e.is_empty()) {
        filter.endpoint = Some(match (&app, EndpointId::parse(key)) {
            (_, Some(id)) => id,
            (Some(app), None) => {
                state.store.get_endpoint(&app.id, key).await?.ok_or_else(|| not_found("Endpoint"))?.id
            }
            (None, None) => {
                return Err(ApiError::invalid(&["query", "endpoint"], "an endpoint uid needs `app`"));
            }
        });
    }
    let after = headers.get("last-event-id").and_then(|v| v.to_str().ok()).or(q.get("after"));
    let start = match (after.filter(|a| !a.is_empty()), q.time("since")?) {
        (Some(id), _) => {
            let id = AttemptId::parse(id)
                .ok_or_else(|| ApiError::invalid(&["query", "after"], "not an attempt id"))?;
            Tail::after(id.as_str(), id.made_at())
        }
        (None, Some(since)) => Tail::since(since),
        (None, None) => Tail::since(Timestamp::now()),
    };
    let poller = Tailing {
        state: state.clone(),
        app: app.map(|a| a.id),
        filter,
        tail: start,
        names: Names::default(),
    };
    Ok(Sse::new(tail::events(poller, state.shutdown.clone())).keep_alive(KeepAlive::default()))
}

fn not_found(what: &str) -> ApiError {
    ApiError::NotFound(format!("{what} not found"))
}

struct Tailing {
    state: AppState,
    app: Option<AppId>,
    filter: AttemptFilter,
    tail: Tail,
    names: Names,
}

impl tail::Poll for Tailing {
    async fn poll(&mut self) -> Vec<Event> {
        match self.read().await {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!(%error, "attempt stream could not read; retrying");
                Vec::new()
            }
        }
    }
}

impl Tailing {
    async fn read(&mut self) -> Result<Vec<Event>, StoreError> {
        let start = Cursor::After(AttemptId::first_at(self.tail.read_from()).into_string());
        let (store, app, filter) = (&self.state.store, &self.app, &self.filter);
        let read = tail::read_all(Some(start), |q| async move {
            match app {
                Some(app) => store.list_attempts(app, filter, &q).await,
                None => store.list_all_attempts(filter, &q).await,
            }
        })
        .await?;
        let fresh = self.tail.fresh(read);
        self.names.learn(&self.state, &fresh).await?;
        Ok(fresh.into_iter().map(|a| self.names.event(a)).collect())
    }
}

/// What the attempts' ids name, looked up once per stream.
#[derive(Default)]
struct Names {
    apps: HashMap<AppId, Option<String>>,
    endpoints: HashMap<EndpointId, Option<String>>,
    event_types: HashMap<MessageId, String>,
}

impl Names {
    /// Looks up the names of `attempts` not known yet.
    async fn learn(&mut self, state: &AppState, attempts: &[Attempt]) -> Result<(), StoreError> {
        if self.apps.len() + self.endpoints.len() + self.event_types.len() > REMEMBERED {
            *self = Self::default();
        }
        let mut msgs: Vec<MessageId> =
            attempts.iter().map(|a| a.msg_id.clone()).filter(|m| !self.event_types.contains_key(m)).collect();
        msgs.sort();
        msgs.dedup();
        if !msgs.is_empty() {
            for m in state.store.messages_by_id(&msgs).await? {
                self.event_types.insert(m.id, m.event_type);
            }
        }
        let mut eps: Vec<EndpointId> = attempts
            .iter()
            .map(|a| a.endpoint_id.clone())
            .filter(|e| !self.endpoints.contains_key(e))
            .collect();
        eps.sort();
        eps.dedup();
        if !eps.is_empty() {
            for ep in state.store.endpoints_by_id(&eps).await? {
                self.endpoints.insert(ep.id, ep.uid);
            }
        }
        for a in attempts {
            if !self.apps.contains_key(&a.app_id) {
                let app: Option<Application> = state.store.get_app(a.app_id.as_str()).await?;
                self.apps.insert(a.app_id.clone(), app.and_then(|a| a.uid));
            }
        }
        Ok(())
    }

    fn event(&self, a: Attempt) -> Event {
        let out = AttemptEventOut {
            app_id: a.app_id.to_string(),
            app_uid: self.apps.get(&a.app_id).cloned().flatten(),
            endpoint_uid: self.endpoints.get(&a.endpoint_id).cloned().flatten(),
            event_type: self.event_types.get(&a.msg_id).cloned().unwrap_or_default(),
            attempt: MessageAttemptOut::new(a, true),
        };
        let data = serde_json::to_string(&out).unwrap_or_default();
        Event::default().id(out.attempt.id.as_str()).event("attempt").data(data)
    }
}
