//! Trailing slashes are optional on every route (`/api/v1/app/` is `/api/v1/app`).
//!
//! The path is rewritten before routing: the routed router is wrapped as the
//! fallback service of an empty outer router, so the rewrite runs first and every
//! route is registered once.

use axum::Router;
use axum::extract::Request;
use http::Uri;
use http::uri::PathAndQuery;
use tower::ServiceExt;

/// Wraps `routes` so that requests are routed with their trailing slashes removed.
pub(crate) fn without_trailing_slash(routes: Router) -> Router {
    Router::new().fallback_service(routes.map_request(strip_trailing_slash))
}

fn strip_trailing_slash(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.len() > 1
        && path.ends_with('/')
        && let Some(uri) = rewritten(req.uri())
    {
        *req.uri_mut() = uri;
    }
    req
}

fn rewritten(uri: &Uri) -> Option<Uri> {
    let trimmed = uri.path().trim_end_matches('/');
    let path = if trimmed.is_empty() { "/" } else { trimmed };
    let pq = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(pq).ok()?);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_trailing_slashes_and_keeps_the_query() {
        let uri: Uri = "/api/v1/app/?limit=2".parse().expect("uri");
        assert_eq!(rewritten(&uri).expect("rewritten"), "/api/v1/app?limit=2");
        let uri: Uri = "http://h/api/v1/health//".parse().expect("uri");
        assert_eq!(rewritten(&uri).expect("rewritten").path(), "/api/v1/health");
    }
}
