//! Calls into the API router, in process. Every change the pages make — creating an
//! endpoint, rotating a secret, resending — is one request to the same handlers the
//! Svix-compatible API serves, with the operator's admin token or the portal's
//! app-scoped token as bearer. The dashboard therefore has no business rules of its
//! own: validation, secrets, routing-cache invalidation, dispatch and wake-ups stay
//! in `herald-api`, and a portal session can do exactly what its token can.

use axum::body::Body;
use http::{HeaderValue, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use crate::DashState;

/// Largest API answer a page reads (lists are paged; this is far above any).
const MAX_REPLY_BYTES: usize = 8 * 1024 * 1024;

/// Calls `method path` with `body` as JSON. `Ok` holds a 2xx answer's JSON (`null`
/// for an empty body); `Err` a sentence for the page, built from the API's error.
pub(crate) async fn call(
    state: &DashState,
    bearer: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    call_as(state, bearer, method, path, body, None).await
}

/// [`call`], passing the page request's `Host` on, for answers that hold this
/// server's own URL (a source's ingest URL).
pub(crate) async fn call_as(
    state: &DashState,
    bearer: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    host: Option<&HeaderValue>,
) -> Result<Value, String> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(host) = host {
        request = request.header(header::HOST, host);
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .map_err(|e| format!("could not build the request: {e}"))?;
    let Ok(response) = state.api.clone().oneshot(request).await;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), MAX_REPLY_BYTES)
        .await
        .map_err(|e| format!("could not read the answer: {e}"))?;
    let json: Value =
        if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    if status.is_success() { Ok(json) } else { Err(explain(status, &json)) }
}

/// A readable sentence from `{code, detail}` (detail a string, or Svix's list of
/// `{loc, msg}` for a 422).
fn explain(status: StatusCode, body: &Value) -> String {
    match body.get("detail") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let loc = (item.get("loc").and_then(Value::as_array).into_iter().flatten())
                    .filter_map(Value::as_str)
                    .filter(|s| *s != "body")
                    .collect::<Vec<_>>()
                    .join(".");
                let msg = item.get("msg").and_then(Value::as_str).unwrap_or("is not valid");
                if loc.is_empty() { msg.to_owned() } else { format!("{loc}: {msg}") }
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => format!("the API answered {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_sentences() {
        let v: Value =
            serde_json::json!({"detail": [{"loc": ["body", "url"], "msg": "must be https", "type": "x"}]});
        assert_eq!(explain(StatusCode::UNPROCESSABLE_ENTITY, &v), "url: must be https");
        let v: Value = serde_json::json!({"code": "not_found", "detail": "Endpoint not found"});
        assert_eq!(explain(StatusCode::NOT_FOUND, &v), "Endpoint not found");
    }
}
