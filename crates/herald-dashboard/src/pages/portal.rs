//! Opening the customer portal: the page a portal link lands on without a session,
//! and the exchange of the link's token for a portal session.
//!
//! A portal link is `{public url}/portal/{app_id}#key={token}` (what
//! `POST /api/v1/auth/app-portal-access/{app_id}` returns), optionally with theme
//! parameters (`?primary=%23hex&name=…&logo=…`). The token is in the fragment, so it
//! never reaches a server log or a `Referer`: `app.js` reads it and posts it here,
//! and the portal then runs on a cookie scoped to `/portal/{app_id}`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use herald_core::Timestamp;
use http::{StatusCode, Uri, header};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Layout, html_status};
use crate::DashState;
use crate::session::PORTAL_COOKIE;
use crate::theme::Theme;

#[derive(Template)]
#[template(path = "portal_open.html")]
struct Opening {
    l: Layout,
    action: String,
}

/// The page shown at `/portal/{app}` without a valid session (401: not signed in).
pub(crate) fn opening(app: &str, query: Option<&str>) -> Response {
    let theme = query.and_then(Theme::from_query).unwrap_or_default();
    let mut l = Layout::bare("Webhooks portal", theme.name.as_deref().unwrap_or("Webhooks"));
    l.primary.clone_from(&theme.primary);
    l.logo.clone_from(&theme.logo);
    l.portal = true;
    let encoded: String = url::form_urlencoded::byte_serialize(app.as_bytes()).collect();
    let action = match query {
        Some(q) if !q.is_empty() => format!("/portal/{encoded}/session?{q}"),
        _ => format!("/portal/{encoded}/session"),
    };
    let mut r = html_status(StatusCode::UNAUTHORIZED, &Opening { l, action });
    if let Some(origin) = theme.logo_origin()
        && let Ok(v) = origin.parse()
    {
        r.headers_mut().insert("x-herald-img-src", v);
    }
    r
}

#[derive(Debug, Deserialize)]
pub(crate) struct OpenIn {
    key: String,
}

/// Exchanges an app-portal token for a portal session of the application in the path.
pub(crate) async fn open_session(
    State(state): State<DashState>,
    Path(app): Path<String>,
    uri: Uri,
    Form(input): Form<OpenIn>,
) -> Response {
    let hash: String =
        Sha256::digest(input.key.trim().as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let owner = state.store.app_for_token(&hash, Timestamp::now()).await.ok().flatten();
    match owner {
        Some(owner) if owner.as_str() == app => {
            // The application's theme (its metadata), then the link's parameters.
            let metadata = state.store.get_app(owner.as_str()).await.ok().flatten().map(|a| a.metadata);
            let base = metadata.as_ref().and_then(Theme::from_metadata);
            let link = uri.query().and_then(Theme::from_query);
            let theme = match base {
                Some(base) => Some(base.overridden_by(link)),
                None => link,
            };
            let cookie = state.sessions.portal(&owner, input.key.trim(), theme);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&format!("/portal/{owner}"))).into_response()
        }
        // The same answer whether the token is unknown, expired or another
        // application's: nothing to learn from it.
        _ => (StatusCode::FORBIDDEN, "This access key does not open this portal (it may have expired).")
            .into_response(),
    }
}

pub(crate) async fn sign_out(State(state): State<DashState>, Path(app): Path<String>) -> Response {
    let encoded: String = url::form_urlencoded::byte_serialize(app.as_bytes()).collect();
    let cookie = state.sessions.clear(PORTAL_COOKIE, &format!("/portal/{encoded}"));
    ([(header::SET_COOKIE, cookie)], Redirect::to(&format!("/portal/{encoded}"))).into_response()
}
