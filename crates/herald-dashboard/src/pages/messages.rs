//! The message log — filtered by application, event type, delivery status and time,
//! searched by message id, `eventId` or tag, refreshed live — and one message: its
//! payload, each destination with its state, every attempt, and resending.

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::Response;
use herald_core::url_password::redact_password;
use herald_core::{Application, DeliveryStatus, Message, MessageId, Timestamp};
use herald_store::{AttemptFilter, Cursor, MessageFilter, Order, PageQuery};
use http::{Method, StatusCode};
use serde::Deserialize;

use super::{Done, Layout, done, html};
use crate::ctx::Ctx;
use crate::{api, view};

const PAGE: usize = 30;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LogQuery {
    #[serde(default)]
    app: String,
    #[serde(default)]
    event_type: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    before: String,
}

pub(crate) struct Row {
    pub href: String,
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub app: String,
    pub when: String,
    pub ago: String,
    pub statuses: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "messages.html")]
struct LogPage {
    l: Layout,
    q: LogQuery,
    /// The application the log is scoped to (the path's), if any.
    scoped: bool,
    apps: Vec<(String, String)>,
    event_types: Vec<String>,
    rows: Vec<Row>,
    live_url: String,
    older: Option<String>,
    action: String,
}

/// `/messages`: every application's messages (operator).
pub(crate) async fn log(ctx: Ctx, Query(q): Query<LogQuery>) -> Response {
    let app = if q.app.is_empty() {
        None
    } else {
        match ctx.app(&q.app).await {
            Ok(a) => Some(a),
            Err(r) => return r,
        }
    };
    render_log(&ctx, q, app, false).await
}

/// `{base}/messages`: one application's messages (operator or portal).
pub(crate) async fn app_log(ctx: Ctx, Path(app): Path<String>, Query(q): Query<LogQuery>) -> Response {
    match ctx.app(&app).await {
        Ok(a) => render_log(&ctx, q, Some(a), true).await,
        Err(r) => r,
    }
}

async fn render_log(ctx: &Ctx, q: LogQuery, app: Option<Application>, scoped: bool) -> Response {
    let store = &ctx.state.store;
    let status = match q.status.as_str() {
        "delivered" => Some(DeliveryStatus::Success),
        "pending" => Some(DeliveryStatus::Pending),
        "failed" => Some(DeliveryStatus::Failed),
        _ => None,
    };
    let mut filter = MessageFilter {
        event_types: (!q.event_type.is_empty()).then(|| vec![q.event_type.clone()]),
        after: view::parse_local(&q.since),
        before: view::parse_local(&q.until),
        ..MessageFilter::default()
    };
    let cursor = (!q.before.is_empty()).then(|| Cursor::After(q.before.clone()));
    let page = PageQuery { limit: PAGE, cursor, order: Order::Descending };
    let found = match search(ctx, app.as_ref(), &q.q).await {
        Some(exact) => Ok(herald_store::Page { items: exact, done: true }),
        None => {
            filter.tag = (!q.q.is_empty()).then(|| q.q.clone());
            store.search_messages(app.as_ref().map(|a| &a.id), &filter, status, &page).await
        }
    };
    let found = match found {
        Ok(f) => f,
        Err(e) => return super::failure(ctx, &e),
    };
    let now = Timestamp::now();
    let mut rows = Vec::with_capacity(found.items.len());
    for m in &found.items {
        rows.push(row(ctx, m, now).await);
    }
    let action = match (&app, scoped) {
        (Some(a), true) => format!("{}/messages", ctx.app_base(&a.id)),
        _ => "/messages".to_owned(),
    };
    let query = serde_urlencode(&q);
    let older = (!found.done)
        .then(|| found.items.last().map(|m| format!("{action}?{query}&before={}", m.id)))
        .flatten();
    let apps = if scoped { Vec::new() } else { app_choices(ctx).await };
    let event_types = store
        .list_event_types(&PageQuery::first(500, Order::Ascending), false)
        .await
        .map(|p| p.items.into_iter().map(|t| t.name).collect())
        .unwrap_or_default();
    let title = match (&app, ctx.is_portal()) {
        (Some(a), false) => format!("Messages of {}", a.name),
        _ => "Messages".to_owned(),
    };
    html(&LogPage {
        l: ctx.layout(title, "messages"),
        live_url: format!("{action}?{query}"),
        q,
        scoped,
        apps,
        event_types,
        rows,
        older,
        action,
    })
}

/// A search term that names one message: its id, or its `eventId` in the chosen
/// application. `None` when the term is empty or names none (then it is a tag).
async fn search(ctx: &Ctx, app: Option<&Application>, term: &str) -> Option<Vec<Message>> {
    let term = term.trim();
    if term.is_empty() {
        return None;
    }
    let store = &ctx.state.store;
    let found = match (app, MessageId::parse(term)) {
        (Some(a), _) => store.get_message(&a.id, term).await.ok().flatten(),
        (None, Some(id)) => store.messages_by_id(&[id]).await.ok().and_then(|m| m.into_iter().next()),
        (None, None) => None,
    };
    found.map(|m| vec![m])
}

pub(crate) async fn row(ctx: &Ctx, m: &Message, now: Timestamp) -> Row {
    let destinations =
        ctx.state.store.message_destinations(&m.id, &PageQuery::first(100, Order::Ascending)).await;
    let mut counts: Vec<(&'static str, &'static str, usize)> = Vec::new();
    for (d, _) in destinations.map(|p| p.items).unwrap_or_default() {
        let (class, label) = view::status(d.status);
        match counts.iter_mut().find(|c| c.1 == label) {
            Some(c) => c.2 += 1,
            None => counts.push((class, label, 1)),
        }
    }
    let statuses = if counts.is_empty() {
        vec![("off", "no endpoint".to_owned())]
    } else {
        counts.into_iter().map(|(class, label, n)| (class, format!("{n} {label}"))).collect()
    };
    Row {
        href: format!("{}/messages/{}", ctx.app_base(&m.app_id), m.id),
        id: m.id.to_string(),
        event_id: m.event_id.clone().unwrap_or_default(),
        event_type: m.event_type.clone(),
        app: m.app_id.to_string(),
        when: view::time(m.created_at),
        ago: view::ago(m.created_at, now),
        statuses,
    }
}

async fn app_choices(ctx: &Ctx) -> Vec<(String, String)> {
    let apps = ctx.state.store.list_apps(&PageQuery::first(200, Order::Ascending)).await;
    apps.map(|p| p.items.into_iter().map(|a| (a.id.to_string(), a.name)).collect()).unwrap_or_default()
}

fn serde_urlencode(q: &LogQuery) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("app", &q.app),
        ("event_type", &q.event_type),
        ("status", &q.status),
        ("since", &q.since),
        ("until", &q.until),
        ("q", &q.q),
    ] {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

// ---- one message -------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub(crate) struct MsgPath {
    app: String,
    msg: String,
}

pub(crate) struct Destination {
    pub url: String,
    pub href: String,
    pub class: &'static str,
    pub status: &'static str,
    pub attempts: u32,
    pub next: String,
    pub resend: String,
}

pub(crate) struct AttemptView {
    pub id: String,
    pub when: String,
    pub ago: String,
    pub url: String,
    pub class: &'static str,
    pub code: String,
    pub duration: String,
    pub trigger: &'static str,
    pub response: String,
    pub request: Option<RequestView>,
}

/// What an attempt sent (credentials already redacted by the engine).
pub(crate) struct RequestView {
    pub method: String,
    pub headers: Vec<(String, String)>,
    /// Only when a transformation made the body differ from the payload.
    pub body: Option<String>,
}

impl RequestView {
    fn of(r: herald_core::SentRequest) -> Self {
        let body =
            r.body.map(|b| if b.is_empty() { "(empty body)".to_owned() } else { view::pretty(b.as_bytes()) });
        Self { method: r.method, headers: r.headers, body }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    l: Layout,
    base: String,
    here: String,
    app: Application,
    msg: Message,
    created: String,
    payload: String,
    channels: String,
    tags: String,
    destinations: Vec<Destination>,
    attempts: Vec<AttemptView>,
    portal: bool,
}

pub(crate) async fn detail(ctx: Ctx, Path(p): Path<MsgPath>, Query(d): Query<Done>) -> Response {
    let app = match ctx.app(&p.app).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let store = &ctx.state.store;
    let msg = match store.get_message(&app.id, &p.msg).await {
        Ok(Some(m)) => m,
        Ok(None) => return super::error_page(&ctx, StatusCode::NOT_FOUND, "No such message."),
        Err(e) => return super::failure(&ctx, &e),
    };
    let base = ctx.app_base(&app.id);
    let here = format!("{base}/messages/{}", msg.id);
    let now = Timestamp::now();
    let dests = store.message_destinations(&msg.id, &PageQuery::first(100, Order::Ascending)).await;
    let dests = dests.map(|p| p.items).unwrap_or_default();
    let destinations = dests
        .iter()
        .map(|(d, ep)| {
            let (class, status) = view::status(d.status);
            Destination {
                url: redact_password(&ep.url).into_owned(),
                href: format!("{base}/endpoints/{}", ep.id),
                class,
                status,
                attempts: d.attempts,
                next: d.next_attempt_at.map(|t| view::ago(t, now)).unwrap_or_default(),
                resend: format!("{here}/resend/{}", ep.id),
            }
        })
        .collect();
    let filter = AttemptFilter { msg: Some(msg.id.clone()), ..AttemptFilter::default() };
    let attempts = store.list_attempts(&app.id, &filter, &PageQuery::first(100, Order::Descending)).await;
    let attempts = attempts
        .map(|p| p.items)
        .unwrap_or_default()
        .into_iter()
        .map(|a| AttemptView {
            id: a.id.to_string(),
            when: view::time(a.created_at),
            ago: view::ago(a.created_at, now),
            url: a.url.clone(),
            class: if a.status == DeliveryStatus::Success { "ok" } else { "bad" },
            code: if a.response_status_code == 0 {
                "no response".to_owned()
            } else {
                a.response_status_code.to_string()
            },
            duration: view::duration(a.duration_ms),
            trigger: if a.trigger == herald_core::Trigger::Manual { "manual" } else { "scheduled" },
            response: if a.response.is_empty() {
                "(empty body)".to_owned()
            } else {
                view::pretty(a.response.as_bytes())
            },
            request: a.request.map(RequestView::of),
        })
        .collect();
    let payload = msg.payload.as_ref().map_or("(expunged)".to_owned(), |p| view::pretty(p));
    html(&MessagePage {
        l: ctx.layout("Message", "messages").with_notice(d.done.as_deref()),
        created: view::time(msg.created_at),
        channels: msg.channels.as_deref().unwrap_or_default().join(", "),
        tags: msg.tags.as_deref().unwrap_or_default().join(", "),
        base,
        here,
        payload,
        destinations,
        attempts,
        portal: ctx.is_portal(),
        app,
        msg,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResendPath {
    app: String,
    msg: String,
    ep: String,
}

pub(crate) async fn resend(ctx: Ctx, Path(p): Path<ResendPath>) -> Response {
    let app = match ctx.app(&p.app).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (msg, ep) = (view::url_part(&p.msg), view::url_part(&p.ep));
    let path = format!("/api/v1/app/{}/msg/{msg}/endpoint/{ep}/resend", app.id);
    let here = format!("{}/messages/{msg}", ctx.app_base(&app.id));
    match api::call(&ctx.state, &ctx.bearer, Method::POST, &path, None).await {
        Ok(_) => done(&here, "resent"),
        Err(e) => super::error_page(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &e),
    }
}
