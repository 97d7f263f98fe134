//! Applications: the list (operator), and one application's page — its endpoints
//! with their health, success rate and last attempts, and the form to add one.
//! The same application page is the customer portal's home.

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::Response;
use herald_core::url_password::redact_password;
use herald_core::{AppId, Application, Attempt, DeliveryStatus, Endpoint, EventType, Timestamp};
use herald_store::{AttemptFilter, Cursor, Order, PageQuery};
use http::Method;
use serde::Deserialize;

use super::{Done, Layout, html};
use crate::ctx::Ctx;
use crate::{api, view};

const PAGE: usize = 50;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    after: Option<String>,
}

pub(crate) struct AppRow {
    pub name: String,
    pub id: String,
    pub uid: String,
    pub href: String,
    pub endpoints: usize,
    pub created: String,
}

#[derive(Template)]
#[template(path = "apps.html")]
struct AppsPage {
    l: Layout,
    apps: Vec<AppRow>,
    next: Option<String>,
}

pub(crate) async fn list(ctx: Ctx, Query(q): Query<ListQuery>) -> Response {
    let page = PageQuery { limit: PAGE, cursor: q.after.map(Cursor::After), order: Order::Descending };
    let found = match ctx.state.store.list_apps(&page).await {
        Ok(p) => p,
        Err(e) => return super::failure(&ctx, &e),
    };
    let mut apps = Vec::with_capacity(found.items.len());
    for app in &found.items {
        let endpoints = ctx.state.store.all_endpoints(&app.id).await.map_or(0, |e| e.len());
        apps.push(AppRow {
            name: app.name.clone(),
            id: app.id.to_string(),
            uid: app.uid.clone().unwrap_or_default(),
            href: format!("/apps/{}", app.id),
            endpoints,
            created: view::time(app.created_at),
        });
    }
    let next = (!found.done).then(|| found.items.last().map(|a| format!("/apps?after={}", a.id))).flatten();
    html(&AppsPage { l: ctx.layout("Applications", "apps"), apps, next })
}

/// One endpoint in an application's list.
pub(crate) struct EndpointRow {
    pub url: String,
    pub href: String,
    pub description: String,
    pub health: String,
    pub class: &'static str,
    pub rate: String,
    pub filters: String,
    pub last: Vec<Dot>,
}

/// A recent attempt, drawn as a small coloured mark.
pub(crate) struct Dot {
    pub class: &'static str,
    pub title: String,
}

/// An event type offered in an endpoint form.
pub(crate) struct Choice {
    pub name: String,
    pub description: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "app.html")]
struct AppPage {
    l: Layout,
    app: Application,
    base: String,
    endpoints: Vec<EndpointRow>,
    event_types: Vec<Choice>,
    portal_link: Option<String>,
    portal: bool,
}

pub(crate) async fn app_page(ctx: Ctx, Path(app): Path<String>, Query(d): Query<Done>) -> Response {
    let app = match ctx.app(&app).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    render_app(&ctx, app, d.done.as_deref(), None, None).await
}

/// The application page, with an optional error (a failed create) or portal link.
pub(crate) async fn render_app(
    ctx: &Ctx,
    app: Application,
    done: Option<&str>,
    error: Option<String>,
    portal_link: Option<String>,
) -> Response {
    let base = ctx.app_base(&app.id);
    let now = Timestamp::now();
    let endpoints = match ctx.state.store.all_endpoints(&app.id).await {
        Ok(e) => e,
        Err(e) => return super::failure(ctx, &e),
    };
    let mut rows = Vec::with_capacity(endpoints.len());
    for ep in endpoints {
        rows.push(endpoint_row(ctx, &app.id, &base, ep, now).await);
    }
    let event_types = catalogue(ctx, None).await;
    let title = if ctx.is_portal() { "Endpoints".to_owned() } else { app.name.clone() };
    let mut l = ctx.layout(title, "apps").with_notice(done);
    l.error = error;
    html(&AppPage { l, base, endpoints: rows, event_types, portal_link, portal: ctx.is_portal(), app })
}

async fn endpoint_row(ctx: &Ctx, app: &AppId, base: &str, ep: Endpoint, now: Timestamp) -> EndpointRow {
    let store = &ctx.state.store;
    let week = now.minus(Duration::from_secs(7 * 86_400));
    let stats = store.endpoint_stats(&ep.id, Some(week), None).await.unwrap_or_default();
    let filter = AttemptFilter { endpoint: Some(ep.id.clone()), ..AttemptFilter::default() };
    let last = store.list_attempts(app, &filter, &PageQuery::first(8, Order::Descending)).await;
    let mut last: Vec<Dot> = last.map(|p| p.items).unwrap_or_default().iter().map(|a| dot(a, now)).collect();
    last.reverse();
    let (class, health) = view::health(&ep, now);
    let settled = stats.success + stats.failed;
    EndpointRow {
        href: format!("{base}/endpoints/{}", ep.id),
        description: ep.description.clone(),
        rate: view::percent(stats.success, settled),
        filters: ep.event_types.as_ref().map_or("all events".to_owned(), |t| t.join(", ")),
        url: redact_password(&ep.url).into_owned(),
        health,
        class,
        last,
    }
}

pub(crate) fn dot(a: &Attempt, now: Timestamp) -> Dot {
    let class = if a.status == DeliveryStatus::Success { "ok" } else { "bad" };
    let code = if a.response_status_code == 0 {
        "no response".to_owned()
    } else {
        a.response_status_code.to_string()
    };
    Dot {
        class,
        title: format!("{code}, {} — {}", view::duration(a.duration_ms), view::ago(a.created_at, now)),
    }
}

/// The event-type catalogue as form choices, those in `selected` checked.
pub(crate) async fn catalogue(ctx: &Ctx, selected: Option<&[String]>) -> Vec<Choice> {
    let types: Vec<EventType> = ctx
        .state
        .store
        .list_event_types(&PageQuery::first(500, Order::Ascending), false)
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    let mut choices: Vec<Choice> = types
        .into_iter()
        .map(|t| Choice {
            checked: selected.is_some_and(|s| s.contains(&t.name)),
            name: t.name,
            description: t.description,
        })
        .collect();
    // Types the endpoint filters on that are not (or no longer) in the catalogue.
    for name in selected.unwrap_or_default() {
        if !choices.iter().any(|c| &c.name == name) {
            choices.push(Choice {
                name: name.clone(),
                description: "not in the catalogue".into(),
                checked: true,
            });
        }
    }
    choices
}

/// Mints an app-portal link for the application (operator only) and shows it.
pub(crate) async fn portal_link(ctx: Ctx, Path(app): Path<String>) -> Response {
    let app = match ctx.app(&app).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if ctx.is_portal() {
        return super::error_page(
            &ctx,
            http::StatusCode::FORBIDDEN,
            "Only the operator can make portal links.",
        );
    }
    let path = format!("/api/v1/auth/app-portal-access/{}", app.id);
    match api::call(&ctx.state, &ctx.bearer, Method::POST, &path, Some(serde_json::json!({}))).await {
        Ok(v) => {
            let url = v.get("url").and_then(|u| u.as_str()).map(str::to_owned);
            render_app(&ctx, app, None, None, url).await
        }
        Err(e) => render_app(&ctx, app, None, Some(e), None).await,
    }
}
