//! One endpoint: its settings (URL, event types, channels, headers, rate limit,
//! payload filter), its transformation (see `transform`),
//! enabling and disabling, its signing secret (revealed on request, rotated), a test
//! event, recovering failed messages, its delivery counts and its latest attempts
//! (refreshed live). Every change is a call to the API (see `crate::api`).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::Response;
use herald_core::url_password::redact_password;
use herald_core::{Application, Endpoint, Timestamp};
use herald_store::{AttemptFilter, Order, PageQuery};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::apps::{Choice, catalogue, render_app};
use super::{FormData, Layout, done, html_status};
use crate::ctx::Ctx;
use crate::{api, view};

#[derive(Debug, Deserialize)]
pub(crate) struct EpPath {
    pub(super) app: String,
    pub(super) ep: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQueryIn {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    reveal: Option<String>,
}

pub(crate) struct AttemptRow {
    pub when: String,
    pub ago: String,
    pub msg_href: String,
    pub msg_id: String,
    pub class: &'static str,
    pub code: String,
    pub duration: String,
    pub trigger: &'static str,
}

#[derive(Template)]
#[template(path = "endpoint.html")]
struct EndpointPage {
    l: Layout,
    app: Application,
    base: String,
    here: String,
    ep: Endpoint,
    health: String,
    health_class: &'static str,
    event_types: Vec<Choice>,
    channels: String,
    headers: String,
    rate: String,
    secret: Option<String>,
    counts: Vec<(&'static str, u64, &'static str)>,
    attempts: Vec<AttemptRow>,
    test_types: Vec<String>,
    recover_since: String,
    portal: bool,
    /// The payload filter as editable JSON; empty when it has none.
    filter: String,
    /// The transformation editor: kind, code, enabled.
    t_kind: &'static str,
    t_code: String,
    t_enabled: bool,
    presets: Vec<super::transform::PresetChoice>,
}

/// Loads the application and endpoint named in the path, as this caller may see them.
pub(super) async fn load(ctx: &Ctx, p: &EpPath) -> Result<(Application, Endpoint), Response> {
    let app = ctx.app(&p.app).await?;
    match ctx.state.store.get_endpoint(&app.id, &p.ep).await {
        Ok(Some(ep)) => Ok((app, ep)),
        Ok(None) => Err(super::error_page(ctx, StatusCode::NOT_FOUND, "No such endpoint.")),
        Err(e) => Err(super::failure(ctx, &e)),
    }
}

pub(crate) async fn page(ctx: Ctx, Path(p): Path<EpPath>, Query(q): Query<PageQueryIn>) -> Response {
    match load(&ctx, &p).await {
        Ok((app, ep)) => render(&ctx, app, ep, q.done.as_deref(), q.reveal.is_some(), None).await,
        Err(r) => r,
    }
}

async fn render(
    ctx: &Ctx,
    app: Application,
    ep: Endpoint,
    done: Option<&str>,
    reveal: bool,
    error: Option<String>,
) -> Response {
    let now = Timestamp::now();
    let base = ctx.app_base(&app.id);
    let store = &ctx.state.store;
    let stats = store.endpoint_stats(&ep.id, None, None).await.unwrap_or_default();
    let filter = AttemptFilter { endpoint: Some(ep.id.clone()), ..AttemptFilter::default() };
    let attempts = store.list_attempts(&app.id, &filter, &PageQuery::first(25, Order::Descending)).await;
    let attempts = attempts.map(|p| p.items).unwrap_or_default();
    let attempts = attempts.iter().map(|a| attempt_row(&base, a, now)).collect();
    let event_types = catalogue(ctx, ep.event_types.as_deref()).await;
    let test_types = match &ep.event_types {
        Some(t) => t.clone(),
        None => event_types.iter().map(|c| c.name.clone()).collect(),
    };
    let (health_class, health) = view::health(&ep, now);
    let presets = super::transform::presets(ctx).await;
    let mut l = ctx.layout("Endpoint", "apps").with_notice(done);
    l.error = error;
    let status = if error_status(&l) { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = EndpointPage {
        here: format!("{base}/endpoints/{}", ep.id),
        l,
        base,
        health,
        health_class,
        event_types,
        channels: ep.channels.as_deref().unwrap_or_default().join(", "),
        headers: ep.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n"),
        rate: ep.throttle_rate.map(|r| r.to_string()).unwrap_or_default(),
        secret: reveal.then(|| ep.secrets.current.expose()),
        counts: vec![
            ("delivered", stats.success, "ok"),
            ("pending", stats.pending + stats.sending, "wait"),
            ("failed", stats.failed, "bad"),
            ("filtered", stats.filtered, "off"),
        ],
        attempts,
        test_types,
        recover_since: view::local_value(now.minus(std::time::Duration::from_secs(86_400))),
        portal: ctx.is_portal(),
        filter: ep.filter.as_ref().and_then(|f| serde_json::to_string_pretty(f).ok()).unwrap_or_default(),
        t_kind: ep.transformation.as_ref().map_or("template", |t| t.kind.as_str()),
        t_code: ep.transformation.as_ref().map(|t| t.code.clone()).unwrap_or_default(),
        t_enabled: ep.transformation.as_ref().is_none_or(|t| t.enabled),
        presets,
        app,
        // Shown and edited without its URL's password (the API keeps the stored one
        // when the form sends the shown URL back).
        ep: Endpoint { url: redact_password(&ep.url).into_owned(), ..ep },
    };
    html_status(status, &page)
}

fn error_status(l: &Layout) -> bool {
    l.error.is_some()
}

pub(crate) fn attempt_row(base: &str, a: &herald_core::Attempt, now: Timestamp) -> AttemptRow {
    AttemptRow {
        when: view::time(a.created_at),
        ago: view::ago(a.created_at, now),
        msg_href: format!("{base}/messages/{}", a.msg_id),
        msg_id: a.msg_id.to_string(),
        class: if a.status == herald_core::DeliveryStatus::Success { "ok" } else { "bad" },
        code: if a.response_status_code == 0 { "—".to_owned() } else { a.response_status_code.to_string() },
        duration: view::duration(a.duration_ms),
        trigger: if a.trigger == herald_core::Trigger::Manual { "manual" } else { "scheduled" },
    }
}

/// `None` (every event) when no box is checked.
fn event_types(form: &FormData) -> Value {
    let types = form.all("event_types");
    if types.is_empty() { Value::Null } else { json!(types) }
}

pub(crate) async fn create(ctx: Ctx, Path(app): Path<String>, form: FormData) -> Response {
    let app = match ctx.app(&app).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let body = json!({
        "url": form.get("url"),
        "description": form.get("description"),
        "filterTypes": event_types(&form),
    });
    let path = format!("/api/v1/app/{}/endpoint", app.id);
    match api::call(&ctx.state, &ctx.bearer, Method::POST, &path, Some(body)).await {
        Ok(v) => {
            let id = v.get("id").and_then(Value::as_str).unwrap_or_default();
            done(&format!("{}/endpoints/{id}", ctx.app_base(&app.id)), "created")
        }
        Err(e) => render_app(&ctx, app, None, Some(e), None).await,
    }
}

pub(crate) async fn update(ctx: Ctx, Path(p): Path<EpPath>, form: FormData) -> Response {
    let (app, ep) = match load(&ctx, &p).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let channels: Vec<&str> =
        form.get("channels").split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
    let rate = form.get("rate_limit");
    let rate: Value =
        if rate.is_empty() { Value::Null } else { rate.parse::<u64>().map_or(json!(rate), |n| json!(n)) };
    let headers = match parse_headers(form.get("headers")) {
        Ok(h) => h,
        Err(e) => return render(&ctx, app, ep, None, false, Some(e)).await,
    };
    let filter: Value = match form.get("filter") {
        "" => Value::Null,
        text => match serde_json::from_str(text) {
            Ok(f) => f,
            Err(e) => {
                return render(&ctx, app, ep, None, false, Some(format!("filter: not JSON ({e})"))).await;
            }
        },
    };
    let patch = json!({
        "url": form.get("url"),
        "description": form.get("description"),
        "filterTypes": event_types(&form),
        "channels": if channels.is_empty() { Value::Null } else { json!(channels) },
        "rateLimit": rate,
        "filter": filter,
    });
    let path = format!("/api/v1/app/{}/endpoint/{}", app.id, ep.id);
    let result = match api::call(&ctx.state, &ctx.bearer, Method::PATCH, &path, Some(patch)).await {
        Ok(_) => {
            let headers_path = format!("{path}/headers");
            api::call(
                &ctx.state,
                &ctx.bearer,
                Method::PUT,
                &headers_path,
                Some(json!({ "headers": headers })),
            )
            .await
        }
        Err(e) => Err(e),
    };
    after(&ctx, app, ep, result, "saved").await
}

/// `Name: value` per line.
fn parse_headers(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut headers = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("headers: “{line}” is not “Name: value”"));
        };
        headers.insert(name.trim().to_owned(), value.trim().to_owned());
    }
    Ok(headers)
}

pub(crate) async fn toggle(ctx: Ctx, Path(p): Path<EpPath>) -> Response {
    let (app, ep) = match load(&ctx, &p).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let path = format!("/api/v1/app/{}/endpoint/{}", app.id, ep.id);
    let disable = !ep.disabled;
    let result =
        api::call(&ctx.state, &ctx.bearer, Method::PATCH, &path, Some(json!({ "disabled": disable }))).await;
    after(&ctx, app, ep, result, if disable { "disabled" } else { "enabled" }).await
}

pub(crate) async fn rotate(ctx: Ctx, Path(p): Path<EpPath>) -> Response {
    let (app, ep) = match load(&ctx, &p).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let path = format!("/api/v1/app/{}/endpoint/{}/secret/rotate", app.id, ep.id);
    let result = api::call(&ctx.state, &ctx.bearer, Method::POST, &path, Some(json!({}))).await;
    after(&ctx, app, ep, result, "rotated").await
}

pub(crate) async fn send_test(ctx: Ctx, Path(p): Path<EpPath>, form: FormData) -> Response {
    let (app, ep) = match load(&ctx, &p).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let path = format!("/api/v1/app/{}/endpoint/{}/send-example", app.id, ep.id);
    let body = json!({ "eventType": form.get("event_type") });
    let result = api::call(&ctx.state, &ctx.bearer, Method::POST, &path, Some(body)).await;
    after(&ctx, app, ep, result, "tested").await
}

pub(crate) async fn recover(ctx: Ctx, Path(p): Path<EpPath>, form: FormData) -> Response {
    let (app, ep) = match load(&ctx, &p).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Some(since) = view::parse_local(form.get("since")) else {
        return render(&ctx, app, ep, None, false, Some("since: choose a date and time".into())).await;
    };
    let path = format!("/api/v1/app/{}/endpoint/{}/recover", app.id, ep.id);
    let body = json!({ "since": since.to_rfc3339() });
    let result = api::call(&ctx.state, &ctx.bearer, Method::POST, &path, Some(body)).await;
    after(&ctx, app, ep, result, "recovered").await
}

pub(crate) async fn delete(ctx: Ctx, Path(p): Path<EpPath>) -> Response {
    let (app, ep) = match load(&ctx, &p).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let path = format!("/api/v1/app/{}/endpoint/{}", app.id, ep.id);
    match api::call(&ctx.state, &ctx.bearer, Method::DELETE, &path, None).await {
        Ok(_) => done(&ctx.app_base(&app.id), "deleted"),
        Err(e) => render(&ctx, app, ep, None, false, Some(e)).await,
    }
}

/// After a change: back to the endpoint page with a notice, or the page with the error.
pub(super) async fn after(
    ctx: &Ctx,
    app: Application,
    ep: Endpoint,
    result: Result<Value, String>,
    what: &str,
) -> Response {
    match result {
        Ok(_) => done(&format!("{}/endpoints/{}", ctx.app_base(&app.id), ep.id), what),
        Err(e) => {
            // Show the endpoint as it is now, with the error.
            let fresh =
                ctx.state.store.get_endpoint(&app.id, ep.id.as_str()).await.ok().flatten().unwrap_or(ep);
            render(ctx, app, fresh, None, false, Some(e)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_name_colon_value_lines() {
        let h = parse_headers("X-Tenant: acme\n\n  Authorization: Bearer a:b ").expect("valid");
        assert_eq!(h.get("X-Tenant").map(String::as_str), Some("acme"));
        assert_eq!(h.get("Authorization").map(String::as_str), Some("Bearer a:b"));
        assert!(parse_headers("no colon here").is_err());
    }
}
