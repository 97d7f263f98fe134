//! What every page response and every form post goes through: security headers
//! (a strict Content-Security-Policy; framing refused for the operator dashboard and
//! allowed for the portal, which is meant to be embedded), and the CSRF check.
//!
//! CSRF: a POST must come from a page Herald served — its `Origin` (when the browser
//! sends one) must be this host, `Sec-Fetch-Site` must not be `cross-site`, and it
//! must carry the session's CSRF token (the `_csrf` form field, or the
//! `X-CSRF-Token` header htmx adds). Signing in and opening a portal session are
//! the two POSTs made before a session exists; they get the origin checks only.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::DashState;
use crate::session::{OPERATOR_COOKIE, PORTAL_COOKIE, same_secret};

/// Largest form body a page posts (an endpoint's headers are the biggest field).
const MAX_FORM_BYTES: usize = 256 * 1024;

pub(crate) async fn layer(State(state): State<DashState>, request: Request, next: Next) -> Response {
    let portal = request.uri().path().starts_with("/portal/");
    // A themed portal shows its logo: allow that one origin for images.
    let logo_origin = portal
        .then(|| state.sessions.read(request.headers(), PORTAL_COOKIE))
        .flatten()
        .and_then(|s| s.theme)
        .and_then(|t| t.logo_origin());
    let request = if request.method() == Method::POST {
        match check_post(&state, request, portal).await {
            Ok(request) => request,
            Err(refusal) => return refusal,
        }
    } else {
        request
    };
    let mut response = next.run(request).await;
    if let Some(v) = logo_origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        response.headers_mut().entry("x-herald-img-src").or_insert(v);
    }
    add_headers(response.headers_mut(), portal);
    response
}

fn add_headers(headers: &mut HeaderMap, portal: bool) {
    let csp_img = headers
        .remove("x-herald-img-src")
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .map(|origin| format!(" {origin}"))
        .unwrap_or_default();
    let frame = if portal { "*" } else { "'none'" };
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:{csp_img}; \
         connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors {frame}"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if !portal {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
}

async fn check_post(state: &DashState, request: Request, portal: bool) -> Result<Request, Response> {
    if !same_origin(request.headers()) {
        return Err(refuse("This form was posted from another site."));
    }
    let path = request.uri().path();
    let exempt = path == "/signin" || (portal && path.ends_with("/session"));
    if exempt {
        return Ok(request);
    }
    let cookie = if portal { PORTAL_COOKIE } else { OPERATOR_COOKIE };
    let Some(session) = state.sessions.read(request.headers(), cookie) else {
        return Err(refuse("Your session has ended: sign in again."));
    };
    let header_token = (request.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()))
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response())?;
    let form_token =
        url::form_urlencoded::parse(&bytes).find(|(k, _)| k == "_csrf").map(|(_, v)| v.into_owned());
    match form_token.or(header_token) {
        Some(token) if same_secret(&token, &session.csrf) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(refuse("The form's security token is missing or stale: reload the page and try again.")),
    }
}

/// False when the browser says the request comes from another origin or site.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if text(header::HeaderName::from_static("sec-fetch-site")) == Some("cross-site") {
        return false;
    }
    match (text(header::ORIGIN), text(header::HOST)) {
        (None, _) => true,
        (Some(origin), Some(host)) => url::Url::parse(origin).ok().is_some_and(|o| {
            let port = o.port().map(|p| format!(":{p}")).unwrap_or_default();
            o.host_str().is_some_and(|h| format!("{h}{port}").eq_ignore_ascii_case(host))
        }),
        (Some(_), None) => false,
    }
}

fn refuse(why: &str) -> Response {
    (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], why.to_owned())
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("value"));
        }
        h
    }

    #[test]
    fn origins() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8071")])));
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8071"), ("origin", "http://127.0.0.1:8071")])));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:8071"), ("origin", "http://evil.test")])));
        assert!(!same_origin(&headers(&[("host", "h"), ("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[("host", "h"), ("origin", "null")])));
    }
}
