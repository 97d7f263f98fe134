//! Signing in with the admin token, and signing out.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{StatusCode, header};
use serde::Deserialize;

use super::{Layout, html, html_status};
use crate::DashState;
use crate::session::{OPERATOR_COOKIE, same_secret};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignIn {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: String,
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    l: Layout,
    next: String,
}

fn page(next: &str, error: Option<String>) -> SignInPage {
    let mut l = Layout::bare("Sign in", "Herald");
    l.error = error;
    SignInPage { l, next: safe_next(next).to_owned() }
}

pub(crate) async fn form(Query(q): Query<SignIn>) -> Response {
    html(&page(&q.next, None))
}

pub(crate) async fn sign_in(State(state): State<DashState>, Form(f): Form<SignIn>) -> Response {
    let admin = &state.config.admin_token;
    if admin.is_empty() || !same_secret(f.token.trim(), admin) {
        return html_status(
            StatusCode::UNAUTHORIZED,
            &page(&f.next, Some("That is not the admin token.".into())),
        );
    }
    let cookie = state.sessions.operator();
    ([(header::SET_COOKIE, cookie)], Redirect::to(safe_next(&f.next))).into_response()
}

pub(crate) async fn sign_out(State(state): State<DashState>) -> Response {
    let cookie = state.sessions.clear(OPERATOR_COOKIE, "/");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/signin")).into_response()
}

/// Only a path on this site (never `//other.host` or a full URL) is followed after
/// signing in.
fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.starts_with("/portal/");
    if ok { next } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/apps?x=1"), "/apps?x=1");
        assert_eq!(safe_next("//evil.test/"), "/");
        assert_eq!(safe_next("https://evil.test/"), "/");
        assert_eq!(safe_next("/\\evil.test"), "/");
    }
}
