//! Who is looking, decided before any page handler runs: the [`Ctx`] extractor.
//!
//! Paths under `/portal/{app}` need a portal session for exactly that application
//! (the cookie's path already keeps other applications' cookies away; the signed
//! session's `app` is compared with the path anyway, and its token is checked
//! against the store, so an expired or foreign token opens nothing). Every other
//! page needs the operator's session. Without one, a page asks to sign in; a form
//! post is refused.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::response::{IntoResponse, Redirect, Response};
use herald_core::{AppId, Application, Timestamp};
use http::request::Parts;
use http::{Method, StatusCode};
use sha2::{Digest, Sha256};

use crate::DashState;
use crate::pages::{self, Layout};
use crate::session::{OPERATOR_COOKIE, PORTAL_COOKIE, Session};
use crate::theme::Theme;

/// Whose session this is.
#[derive(Clone, Debug)]
pub(crate) enum Mode {
    Operator,
    /// A customer of one application.
    Portal {
        app: AppId,
        theme: Option<Theme>,
    },
}

/// The signed-in caller, with what pages need to render and to call the API.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub mode: Mode,
    /// The bearer for API calls: the admin token, or the portal session's app token.
    pub bearer: String,
    pub csrf: String,
    pub state: DashState,
}

impl FromRequestParts<DashState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &DashState) -> Result<Self, Response> {
        if parts.uri.path().starts_with("/portal/") {
            portal(parts, state).await
        } else {
            operator(parts, state)
        }
    }
}

// A rejection is a whole response (a redirect); boxing it would only add a step.
#[allow(clippy::result_large_err)]
fn operator(parts: &Parts, state: &DashState) -> Result<Ctx, Response> {
    match state.sessions.read(&parts.headers, OPERATOR_COOKIE) {
        Some(s) => Ok(Ctx {
            mode: Mode::Operator,
            bearer: state.config.admin_token.clone(),
            csrf: s.csrf,
            state: state.clone(),
        }),
        None => Err(sign_in_first(parts)),
    }
}

async fn portal(parts: &mut Parts, state: &DashState) -> Result<Ctx, Response> {
    let params =
        RawPathParams::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
    let app_param = params.iter().find(|(k, _)| *k == "app").map(|(_, v)| v.to_owned()).unwrap_or_default();
    let session = state.sessions.read(&parts.headers, PORTAL_COOKIE);
    let valid = match &session {
        Some(s) if s.app.as_deref() == Some(app_param.as_str()) => token_app(state, s).await,
        _ => None,
    };
    match (session, valid) {
        (Some(s), Some(app)) => Ok(Ctx {
            mode: Mode::Portal { app, theme: s.theme },
            bearer: s.token.unwrap_or_default(),
            csrf: s.csrf,
            state: state.clone(),
        }),
        _ if parts.method == Method::GET => Err(pages::portal::opening(&app_param, parts.uri.query())),
        _ => Err((StatusCode::FORBIDDEN, "This portal session has ended: open the portal link again.")
            .into_response()),
    }
}

/// The application the session's token still belongs to, if it is unexpired.
async fn token_app(state: &DashState, s: &Session) -> Option<AppId> {
    let token = s.token.as_deref()?;
    let hash: String = Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let app = state.store.app_for_token(&hash, Timestamp::now()).await.ok()??;
    (s.app.as_deref() == Some(app.as_str())).then_some(app)
}

fn sign_in_first(parts: &Parts) -> Response {
    if parts.method != Method::GET {
        return (StatusCode::FORBIDDEN, "Sign in first.").into_response();
    }
    let next = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let to =
        format!("/signin?next={}", url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>());
    if parts.headers.contains_key("hx-request") {
        // htmx follows this header with a full page load instead of swapping a fragment.
        return ([("hx-redirect", to)], StatusCode::NO_CONTENT).into_response();
    }
    Redirect::to(&to).into_response()
}

impl Ctx {
    pub(crate) fn is_portal(&self) -> bool {
        matches!(self.mode, Mode::Portal { .. })
    }

    /// Where an application's pages live for this caller.
    pub(crate) fn app_base(&self, app: &AppId) -> String {
        match self.mode {
            Mode::Operator => format!("/apps/{app}"),
            Mode::Portal { .. } => format!("/portal/{app}"),
        }
    }

    /// The application named in the path (id or uid), if this caller may see it:
    /// 404 for the operator when it does not exist, 403 for a portal session when it
    /// is not the session's own (whether or not it exists).
    pub(crate) async fn app(&self, id_or_uid: &str) -> Result<Application, Response> {
        let found = self.state.store.get_app(id_or_uid).await.map_err(|e| pages::failure(self, &e))?;
        match (&self.mode, found) {
            (Mode::Portal { app, .. }, Some(a)) if a.id == *app => Ok(a),
            (Mode::Portal { .. }, _) => {
                Err(pages::error_page(self, StatusCode::FORBIDDEN, "This is not your application."))
            }
            (Mode::Operator, Some(a)) => Ok(a),
            (Mode::Operator, None) => {
                Err(pages::error_page(self, StatusCode::NOT_FOUND, "No such application."))
            }
        }
    }

    /// The page frame for this caller.
    pub(crate) fn layout(&self, title: impl Into<String>, current: &str) -> Layout {
        Layout::new(self, title.into(), current)
    }
}
