//! `Idempotency-Key` replay for POST requests.
//!
//! A POST carrying the header is looked up by (key, method, path, credential): if a
//! response was stored for it, that response is replayed (same status, same body)
//! and the handler does not run. Otherwise the handler runs and a successful (2xx)
//! answer is stored for [`crate::ApiConfig::idempotency_ttl`]. Errors are not
//! stored, so a retry after a 5xx or a 409 runs again. The Svix SDKs send a key
//! on every POST (`auto_<uuid>` unless the caller gives one) and reuse it when they
//! retry, which makes a retried message create return the first message.
//!
//! The credential is part of the key, so a stored answer is never replayed to a
//! different caller.
//!
//! Concurrent tries with one key run once, on one process or many: before running,
//! a request claims the key in the store ([`Store::claim_idempotent`], atomic in the
//! database). A try that finds the key claimed waits — polling every
//! [`POLL`] — for the first one's answer and replays it; if the first one fails, its
//! claim is released and a waiting try claims the key and runs. A claim whose
//! holder died expires after [`CLAIM_TTL`]; a try still waiting after [`WAIT`] is
//! answered 409 (`conflict`), saying so.
//!
//! [`Store::claim_idempotent`]: herald_store::Store::claim_idempotent
//!
//! Stored answers are plain rows. A handler whose answer carries a credential (a
//! rotated signing secret, an app-portal token) marks it [`NotStored`], so the
//! credential is never written to the database; a retry of such a request runs again.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

use herald_core::Timestamp;
use herald_store::{IdempotencyClaim, StoredResponse};
use http::{HeaderValue, Method, header};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::hex;
use crate::error::ApiError;

const HEADER: &str = "idempotency-key";
/// How long a claim lives without an answer: longer than any request takes.
const CLAIM_TTL: Duration = Duration::from_secs(60);
/// How long a concurrent try waits for the first one's answer.
const WAIT: Duration = Duration::from_secs(10);
/// How often it looks.
const POLL: Duration = Duration::from_millis(20);

/// A response extension: this answer carries a credential and is not kept for
/// replay (see the module docs). Return `(Extension(NotStored), Json(out))`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NotStored;

/// The middleware (installed with `axum::middleware::from_fn_with_state`).
pub(crate) async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = scoped_key(&req) else {
        return next.run(req).await;
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = Timestamp::now();
        match state.store.claim_idempotent(&key, now, now.plus(CLAIM_TTL)).await {
            Ok(IdempotencyClaim::Claimed) => break,
            Ok(IdempotencyClaim::Stored(stored)) => return replay(stored),
            Ok(IdempotencyClaim::InProgress) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(POLL).await;
            }
            Ok(IdempotencyClaim::InProgress) => {
                let detail = "A request with this Idempotency-Key is still being processed; retry it later.";
                return ApiError::Conflict(detail.to_owned()).into_response();
            }
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    let now = Timestamp::now();
    let response = next.run(req).await;
    if !response.status().is_success() || response.extensions().get::<NotStored>().is_some() {
        release(&state, &key).await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            release(&state, &key).await;
            return ApiError::internal(e).into_response();
        }
    };
    let stored = StoredResponse { status: parts.status.as_u16(), body: bytes.to_vec() };
    let expires_at = now.plus(state.config.idempotency_ttl);
    if let Err(e) = state.store.put_idempotent(&key, &stored, expires_at).await {
        // The request itself succeeded; only a later retry loses its replay.
        tracing::warn!(error = %e, "could not store an idempotent response");
        release(&state, &key).await;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Gives up a claim that will get no stored answer, so retries run again.
async fn release(state: &AppState, key: &str) {
    if let Err(e) = state.store.release_idempotent(key).await {
        // The claim expires by itself; until then retries of this key wait.
        tracing::warn!(error = %e, "could not release an idempotency claim");
    }
}

/// SHA-256 over the key, method, path and the presented credential.
fn scoped_key(req: &Request) -> Option<String> {
    let key = req.headers().get(HEADER)?.as_bytes();
    if key.is_empty() {
        return None;
    }
    let credential = req.headers().get(header::AUTHORIZATION).map(HeaderValue::as_bytes).unwrap_or_default();
    let mut h = Sha256::new();
    for part in [key, req.method().as_str().as_bytes(), req.uri().path().as_bytes(), credential] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    Some(format!("idem:{}", hex(&h.finalize())))
}

fn replay(stored: StoredResponse) -> Response {
    let status = http::StatusCode::from_u16(stored.status).unwrap_or(http::StatusCode::OK);
    let has_body = !stored.body.is_empty();
    let mut response = Response::new(Body::from(stored.body));
    *response.status_mut() = status;
    if has_body {
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    response
}
