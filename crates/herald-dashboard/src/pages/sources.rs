//! Inbound sources (operator only): every source with its ingest URL and verifier,
//! and one source's page — its settings, the messages it received and the requests
//! it refused, with why.
//!
//! Sources are read through the API, in process, like the pages' writes: its answer
//! already carries the ingest URL (the public URL, else the caller's `Host`) and the
//! verifier without its secrets, so nothing here can show a secret by mistake. The
//! received messages come from the store: an inbound message is tagged with its
//! source's id.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use herald_core::{AppId, Timestamp};
use herald_store::{MessageFilter, Order, PageQuery};
use http::{HeaderMap, Method, StatusCode};
use serde_json::Value;

use super::messages::{Row, row};
use super::{Layout, html};
use crate::ctx::Ctx;
use crate::{api, view};

/// Sources listed on one page (the API's largest page).
const LIST_LIMIT: usize = 250;
/// Received messages and rejected requests shown on a source's page.
const RECENT: usize = 20;

pub(crate) struct SourceRow {
    pub name: String,
    pub href: String,
    pub app: String,
    pub app_href: String,
    pub verifier: String,
    pub ingest_url: String,
    pub rejected: u64,
    pub created: String,
}

#[derive(Template)]
#[template(path = "sources.html")]
struct ListPage {
    l: Layout,
    sources: Vec<SourceRow>,
    more: bool,
}

/// `/sources`.
pub(crate) async fn list(ctx: Ctx, headers: HeaderMap) -> Response {
    let path = format!("/api/v1/source?limit={LIST_LIMIT}");
    let found = match api::call_as(&ctx.state, &ctx.bearer, Method::GET, &path, None, host(&headers)).await {
        Ok(v) => v,
        Err(e) => return super::error_page(&ctx, StatusCode::BAD_GATEWAY, &e),
    };
    let items = found.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut names = AppNames::default();
    let mut sources = Vec::with_capacity(items.len());
    for s in &items {
        let app = text(s, "appId");
        sources.push(SourceRow {
            name: text(s, "name"),
            href: format!("/sources/{}", text(s, "id")),
            app: names.name(&ctx, &app).await,
            app_href: format!("/apps/{app}"),
            verifier: verifier_kind(s),
            ingest_url: text(s, "ingestUrl"),
            rejected: s.get("rejectedTotal").and_then(Value::as_u64).unwrap_or(0),
            created: created(s),
        });
    }
    let more = found.get("done").and_then(Value::as_bool) == Some(false);
    html(&ListPage { l: ctx.layout("Sources", "sources"), sources, more })
}

/// One refused request, as its log keeps it.
pub(crate) struct Rejected {
    pub when: String,
    pub ago: String,
    pub code: String,
    pub reason: String,
    pub request: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub body_size: u64,
}

#[derive(Template)]
#[template(path = "source.html")]
struct DetailPage {
    l: Layout,
    id: String,
    ingest_url: String,
    app: String,
    app_href: String,
    verifier_kind: String,
    /// The verifier's settings (secrets already removed by the API), pretty JSON.
    verifier: String,
    settings: Vec<(&'static str, String)>,
    received: Vec<Row>,
    all_received: String,
    rejected: Vec<Rejected>,
    rejected_total: u64,
}

/// `/sources/{src}` (id or uid).
pub(crate) async fn detail(ctx: Ctx, Path(src): Path<String>, headers: HeaderMap) -> Response {
    let host = host(&headers);
    let path = format!("/api/v1/source/{}", view::url_part(&src));
    let s = match api::call_as(&ctx.state, &ctx.bearer, Method::GET, &path, None, host).await {
        Ok(v) => v,
        Err(e) => return super::error_page(&ctx, StatusCode::NOT_FOUND, &e),
    };
    let id = text(&s, "id");
    let app = text(&s, "appId");
    let log_path = format!("/api/v1/source/{id}/rejected?limit={RECENT}");
    let log = api::call_as(&ctx.state, &ctx.bearer, Method::GET, &log_path, None, host).await;
    let rejected = log
        .ok()
        .and_then(|v| v.get("data").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .map(rejected)
        .collect();
    let received = match AppId::parse(&app) {
        Some(app_id) => received(&ctx, &app_id, &id).await,
        None => Vec::new(),
    };
    let mut names = AppNames::default();
    let name = text(&s, "name");
    html(&DetailPage {
        l: ctx.layout(format!("Source {name}"), "sources"),
        ingest_url: text(&s, "ingestUrl"),
        app: names.name(&ctx, &app).await,
        app_href: format!("/apps/{app}"),
        verifier_kind: verifier_kind(&s),
        verifier: serde_json::to_string_pretty(s.get("verifier").unwrap_or(&Value::Null)).unwrap_or_default(),
        settings: settings(&s),
        all_received: format!("/messages?app={app}&q={id}"),
        rejected_total: s.get("rejectedTotal").and_then(Value::as_u64).unwrap_or(0),
        received,
        rejected,
        id,
    })
}

/// The newest messages the source turned requests into.
async fn received(ctx: &Ctx, app: &AppId, source: &str) -> Vec<Row> {
    let filter = MessageFilter { tag: Some(source.to_owned()), ..MessageFilter::default() };
    let page = PageQuery::first(RECENT, Order::Descending);
    let found = ctx.state.store.search_messages(Some(app), &filter, None, &page).await;
    let now = Timestamp::now();
    let mut rows = Vec::new();
    for m in found.map(|p| p.items).unwrap_or_default() {
        rows.push(row(ctx, &m, now).await);
    }
    rows
}

fn rejected(r: &Value) -> Rejected {
    let when = r.get("timestamp").and_then(Value::as_str).and_then(Timestamp::parse_rfc3339);
    let headers = r
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
        .unwrap_or_default();
    Rejected {
        when: when.map(view::time).unwrap_or_default(),
        ago: when.map(|t| view::ago(t, Timestamp::now())).unwrap_or_default(),
        code: text(r, "code"),
        reason: text(r, "reason"),
        request: format!("{} {}", text(r, "method"), text(r, "url")),
        headers,
        body: text(r, "body"),
        body_size: r.get("bodySize").and_then(Value::as_u64).unwrap_or(0),
    }
}

/// The settings worth a line each, as the API gives them.
fn settings(s: &Value) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(uid) = s.get("uid").and_then(Value::as_str) {
        out.push(("uid", uid.to_owned()));
    }
    if let Some(secs) = s.get("dedupWindowSeconds").and_then(Value::as_u64) {
        out.push(("Dedup window", span(secs)));
    }
    for (label, field) in
        [("Event type from", "eventType"), ("Dedup key from", "dedupKey"), ("Answer", "response")]
    {
        if let Some(v) = s.get(field) {
            out.push((label, v.to_string()));
        }
    }
    if let Some(max) = s.get("maxPayloadBytes").and_then(Value::as_u64) {
        out.push(("Largest body", size(max)));
    }
    out.push(("Created", created(s)));
    out
}

/// `24 h`, `90 min`, `45 s`: the largest unit that divides `secs`.
fn span(secs: u64) -> String {
    match secs {
        0 => "none".to_owned(),
        s if s.is_multiple_of(86_400) => format!("{} d", s / 86_400),
        s if s.is_multiple_of(3600) => format!("{} h", s / 3600),
        s if s.is_multiple_of(60) => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// `25 MiB`, `512 KiB`, `300 bytes`.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b.is_multiple_of(1 << 20) => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b.is_multiple_of(1 << 10) => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// `stripe`, `github`, `hmac`, … (the verifier's `type`).
fn verifier_kind(s: &Value) -> String {
    s.get("verifier").and_then(|v| v.get("type")).and_then(Value::as_str).unwrap_or("?").to_owned()
}

fn created(s: &Value) -> String {
    s.get("createdAt")
        .and_then(Value::as_str)
        .and_then(Timestamp::parse_rfc3339)
        .map(view::time)
        .unwrap_or_default()
}

fn text(v: &Value, field: &str) -> String {
    v.get(field).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn host(headers: &HeaderMap) -> Option<&http::HeaderValue> {
    headers.get(http::header::HOST)
}

/// Application names by id, each looked up once per page.
#[derive(Default)]
struct AppNames(Vec<(String, String)>);

impl AppNames {
    async fn name(&mut self, ctx: &Ctx, id: &str) -> String {
        if let Some((_, name)) = self.0.iter().find(|(i, _)| i == id) {
            return name.clone();
        }
        let name = match ctx.state.store.get_app(id).await {
            Ok(Some(app)) => app.name,
            _ => id.to_owned(),
        };
        self.0.push((id.to_owned(), name.clone()));
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_sizes_read_in_their_largest_whole_unit() {
        assert_eq!(span(86_400), "1 d");
        assert_eq!(span(7200), "2 h");
        assert_eq!(span(5400), "90 min");
        assert_eq!(span(61), "61 s");
        assert_eq!(span(0), "none");
        assert_eq!(size(25 * 1024 * 1024), "25 MiB");
        assert_eq!(size(1536), "1536 bytes");
        assert_eq!(size(512 * 1024), "512 KiB");
        assert_eq!(size(300), "300 bytes");
    }
}
