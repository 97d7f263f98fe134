//! The pages. Each module renders one area; this one holds the frame every page
//! shares ([`Layout`]), the route table, and the error pages.
//!
//! The application-scoped pages (endpoints, messages) are written once and mounted
//! twice: under `/apps/{app}` for the operator and under `/portal/{app}` for a
//! customer. [`Ctx`] says which, and links are built from [`Ctx::app_base`].

pub(crate) mod apps;
pub(crate) mod auth;
pub(crate) mod endpoint;
pub(crate) mod event_types;
pub(crate) mod messages;
pub(crate) mod overview;
pub(crate) mod portal;
pub(crate) mod sources;
pub(crate) mod transform;

use askama::Template;
use axum::Router;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::StatusCode;
use serde::Deserialize;

use crate::DashState;
use crate::ctx::{Ctx, Mode};

pub(crate) fn router() -> Router<DashState> {
    let mut router = Router::new()
        .route("/", get(overview::page))
        .route("/signin", get(auth::form).post(auth::sign_in))
        .route("/signout", post(auth::sign_out))
        .route("/apps", get(apps::list))
        .route("/messages", get(messages::log))
        .route("/event-types", get(event_types::page))
        .route("/sources", get(sources::list))
        .route("/sources/{src}", get(sources::detail))
        .route("/apps/{app}/portal-link", post(apps::portal_link))
        .route("/portal/{app}/session", post(portal::open_session))
        .route("/portal/{app}/signout", post(portal::sign_out));
    for base in ["/apps/{app}", "/portal/{app}"] {
        router = scoped(router, base);
    }
    router
}

/// The pages of one application, under `base`.
fn scoped(router: Router<DashState>, base: &str) -> Router<DashState> {
    let ep = format!("{base}/endpoints/{{ep}}");
    let msg = format!("{base}/messages/{{msg}}");
    router
        .route(base, get(apps::app_page))
        .route(&format!("{base}/endpoints"), post(endpoint::create))
        .route(&ep, get(endpoint::page).post(endpoint::update))
        .route(&format!("{ep}/toggle"), post(endpoint::toggle))
        .route(&format!("{ep}/rotate"), post(endpoint::rotate))
        .route(&format!("{ep}/test"), post(endpoint::send_test))
        .route(&format!("{ep}/recover"), post(endpoint::recover))
        .route(&format!("{ep}/delete"), post(endpoint::delete))
        .route(&format!("{ep}/transformation"), post(transform::save))
        .route(&format!("{ep}/transformation/dry-run"), post(transform::dry_run))
        .route(&format!("{ep}/transformation/preset"), post(transform::apply_preset))
        .route(&format!("{base}/messages"), get(messages::app_log))
        .route(&msg, get(messages::detail))
        .route(&format!("{msg}/resend/{{ep}}"), post(messages::resend))
}

/// One link of the navigation bar.
pub(crate) struct Nav {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// What the frame around every page shows.
pub(crate) struct Layout {
    pub title: String,
    pub portal: bool,
    pub brand: String,
    pub logo: Option<String>,
    /// `#rrggbb`, validated (see `theme`).
    pub primary: Option<String>,
    pub home: String,
    pub nav: Vec<Nav>,
    pub csrf: String,
    pub signout: String,
    pub notice: Option<&'static str>,
    pub error: Option<String>,
    pub v: &'static str,
}

impl Layout {
    pub(crate) fn new(ctx: &Ctx, title: String, current: &str) -> Self {
        let link =
            |href: String, label: &'static str, key: &str| Nav { href, label, current: key == current };
        let (portal, brand, logo, primary, home, nav, signout) = match &ctx.mode {
            Mode::Operator => (
                false,
                "Herald".to_owned(),
                None,
                None,
                "/".to_owned(),
                vec![
                    link("/".into(), "Overview", "overview"),
                    link("/apps".into(), "Applications", "apps"),
                    link("/messages".into(), "Messages", "messages"),
                    link("/event-types".into(), "Event types", "event-types"),
                    link("/sources".into(), "Sources", "sources"),
                ],
                "/signout".to_owned(),
            ),
            Mode::Portal { app, theme } => {
                let base = format!("/portal/{app}");
                let theme = theme.clone().unwrap_or_default();
                (
                    true,
                    theme.name.unwrap_or_else(|| "Webhooks".to_owned()),
                    theme.logo,
                    theme.primary,
                    base.clone(),
                    vec![
                        link(base.clone(), "Endpoints", "apps"),
                        link(format!("{base}/messages"), "Messages", "messages"),
                    ],
                    format!("{base}/signout"),
                )
            }
        };
        Self {
            title,
            portal,
            brand,
            logo,
            primary,
            home,
            nav,
            csrf: ctx.csrf.clone(),
            signout,
            notice: None,
            error: None,
            v: crate::assets::VERSION,
        }
    }

    /// The frame of a page shown before any session exists (sign-in, portal opening).
    pub(crate) fn bare(title: &str, brand: &str) -> Self {
        Self {
            title: title.to_owned(),
            portal: false,
            brand: brand.to_owned(),
            logo: None,
            primary: None,
            home: "/".to_owned(),
            nav: Vec::new(),
            csrf: String::new(),
            signout: String::new(),
            notice: None,
            error: None,
            v: crate::assets::VERSION,
        }
    }

    pub(crate) fn with_notice(mut self, done: Option<&str>) -> Self {
        self.notice = done.and_then(notice);
        self
    }
}

/// `?done=…` after a redirect: which change just succeeded. Only these fixed
/// sentences are shown, never text from the URL.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    pub done: Option<String>,
}

fn notice(key: &str) -> Option<&'static str> {
    Some(match key {
        "created" => "Endpoint created.",
        "saved" => "Changes saved.",
        "enabled" => "Endpoint enabled.",
        "disabled" => "Endpoint disabled.",
        "rotated" => "Secret rotated. The previous secret keeps signing for 24 hours.",
        "tested" => "Test event sent. Its attempt appears below within seconds.",
        "recovered" => "Failed messages are being sent again.",
        "deleted" => "Endpoint deleted.",
        "resent" => "Message queued to be sent again.",
        _ => return None,
    })
}

/// Renders a template as an HTML response.
pub(crate) fn html<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a dashboard template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be rendered.").into_response()
        }
    }
}

/// Like [`html`], with a status other than 200.
pub(crate) fn html_status<T: Template>(status: StatusCode, page: &T) -> Response {
    let mut r = html(page);
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
}

/// 303 to `to` with a `done` notice.
pub(crate) fn done(to: &str, what: &str) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}done={what}")).into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    l: Layout,
    status: u16,
    message: String,
}

pub(crate) fn error_page(ctx: &Ctx, status: StatusCode, message: &str) -> Response {
    let page = ErrorPage { l: ctx.layout("Error", ""), status: status.as_u16(), message: message.to_owned() };
    html_status(status, &page)
}

/// A store failure, logged with its source and shown without it.
pub(crate) fn failure(ctx: &Ctx, e: &herald_store::StoreError) -> Response {
    tracing::error!(error = %e, source = ?std::error::Error::source(e), "dashboard read failed");
    error_page(ctx, StatusCode::SERVICE_UNAVAILABLE, "The store did not answer. Try again in a moment.")
}

/// A urlencoded form body as name/value pairs: repeated names (checkboxes) kept.
pub(crate) struct FormData(Vec<(String, String)>);

impl<S: Send + Sync> axum::extract::FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let bytes = <bytes::Bytes as axum::extract::FromRequest<S>>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self(url::form_urlencoded::parse(&bytes).into_owned().collect()))
    }
}

impl FormData {
    /// The last value of `name`, trimmed; empty when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.iter().rev().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
    }

    /// Every non-empty value of `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }
}
