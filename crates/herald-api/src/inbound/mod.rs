//! Receiving webhooks: `POST /in/{source_id_or_uid}[/any/sub/path][?query]`.
//!
//! The source's verifier is the authentication (no bearer token). One request goes:
//! read the raw body up to the source's limit (413 beyond) → verify it on those
//! bytes (`herald_inbound::verify`; 401 with the reason, logged in the source's
//! rejected-requests log, nothing stored) → answer a provider's URL-verification
//! handshake if it is one (nothing stored) → derive the event type and the dedup key
//! → store the message with its deliveries *and* the dedup claim in one outbox write
//! (the same `dispatch_new` as `POST /msg`, which hands the deliveries to the local
//! workers) → answer 2xx. A provider's retry within the dedup window is answered the
//! same 2xx and stores nothing. No destination is called on the request path.
//!
//! These routes live outside `/api/v1` and its layers on purpose: no trailing-slash
//! rewrite (providers sign the URL they call), no `Idempotency-Key` replay (GitLab
//! sends that header with its own meaning), no API body limit (the source's applies).

mod capture;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use herald_core::routing::endpoint_wants;
use herald_core::{AppId, DedupClaim, Endpoint, InboundOrigin, Message, MessageId, Timestamp};
use herald_inbound::{InboundRequest, Source, handshake, verify};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;

use crate::AppState;
use crate::auth::path_param;
use crate::error::ApiError;
use crate::routing_cache::Routing;
use crate::v1::message::dispatch_new;
use crate::v1::source::find_source;

/// `herald_inbound_requests_total{outcome}`: requests to `/in/…` by what became of
/// them: `accepted`, `duplicate` (a provider's retry), `handshake`, `rejected`,
/// `too_large`, `unknown_source`. No label names a source (metrics name no tenant).
pub const INBOUND_REQUESTS: &str = "herald_inbound_requests_total";
/// `herald_inbound_rejected_total{reason}`: refused requests by reason code
/// (`signature_mismatch`, `timestamp_outside_tolerance`, `missing_header`, …).
pub const INBOUND_REJECTED: &str = "herald_inbound_rejected_total";

/// Describes this module's metrics to the installed recorder.
pub fn describe_metrics() {
    metrics::describe_counter!(INBOUND_REQUESTS, "Requests to source URLs (/in/...), by outcome.");
    metrics::describe_counter!(INBOUND_REJECTED, "Source requests refused, by reason.");
}

fn count(outcome: &'static str) {
    metrics::counter!(INBOUND_REQUESTS, "outcome" => outcome).increment(1);
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/in/{source_id}", post(receive))
        .route("/in/{source_id}/", post(receive))
        .route("/in/{source_id}/{*rest}", post(receive))
        .method_not_allowed_fallback(crate::error::method_not_allowed_fallback)
        .layer(DefaultBodyLimit::disable())
}

/// Where this server is reached from outside: the configured public URL, else
/// `http://` and the request's `Host`.
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}

/// Receive a webhook from a provider. No bearer token: the source's verifier is the
/// authentication. Any sub-path and query string may follow the source's id or uid
/// (`/in/{source_id}/github?x=1`); they are kept, and signed URLs verify as called.
#[utoipa::path(
    post,
    path = "/in/{source_id}",
    operation_id = "inbound.receive",
    tag = "Source",
    security(()),
    params(("source_id" = String, Path, description = "The source's id or uid")),
    request_body(content = Vec<u8>, content_type = "*/*", description = "The provider's request, any content"),
    responses(
        (status = 200, description = "Stored (or a recognised retry): `{\"id\": \"msg_…\"}`, or the source's custom response"),
        (status = 401, body = crate::error::HttpErrorOut, description = "Verification failed; logged in the source's rejected requests"),
        (status = 404, body = crate::error::HttpErrorOut),
        (status = 413, body = crate::error::HttpErrorOut),
    ),
)]
pub(crate) async fn receive(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let key = path_param(&mut parts, &state, "source_id").await?;
    let source = find_source(&state, &key).await.inspect_err(|_| count("unknown_source"))?;
    let url = format!(
        "{}{}",
        base_url(&state, &parts.headers),
        parts.uri.path_and_query().map_or("/", |pq| pq.as_str())
    );
    let body = match capture::read_body(body, &parts.headers, source.max_body_bytes).await? {
        Ok(body) => body,
        Err(too_large) => {
            let req = InboundRequest { method: &parts.method, url: &url, headers: &parts.headers, body: &[] };
            let refusal = too_large.refusal();
            capture::log_rejection(&state, &source, &req, too_large.at_least, &refusal).await;
            count("too_large");
            return Err(ApiError::PayloadTooLarge(refusal.reason));
        }
    };
    let req = InboundRequest { method: &parts.method, url: &url, headers: &parts.headers, body: &body };
    let now = Timestamp::now();
    if let Err(rejection) = verify(&source.verifier, &req, now.seconds()) {
        let refusal = capture::Refusal::from(&rejection);
        capture::log_rejection(&state, &source, &req, body.len() as u64, &refusal).await;
        count("rejected");
        metrics::counter!(INBOUND_REJECTED, "reason" => refusal.code).increment(1);
        return Err(ApiError::Unauthorized(refusal.reason));
    }
    if let Some(answer) = handshake(&source.verifier, &req) {
        count("handshake");
        return Ok(answer_with(StatusCode::OK, answer.content_type, answer.body));
    }
    let accepted = accept(&state, &source, &req, &body, now).await?;
    count(if accepted.duplicate { "duplicate" } else { "accepted" });
    Ok(answer(&source, &accepted))
}

/// What became of an accepted request.
struct Accepted {
    /// The message holding it: a new one, or the one a retry duplicates.
    id: Option<MessageId>,
    duplicate: bool,
}

/// Stores the verified request as a message with its deliveries and dedup claim.
async fn accept(
    state: &AppState,
    source: &Source,
    req: &InboundRequest<'_>,
    body: &Bytes,
    now: Timestamp,
) -> Result<Accepted, ApiError> {
    let rules = source.rules();
    let event_type = herald_inbound::event_type(&rules, req);
    let dedup = (herald_inbound::dedup_key(&rules, req))
        .filter(|_| !source.dedup_window.is_zero())
        .map(|key| DedupClaim { key: capture::bounded_key(key), until: now.plus(source.dedup_window) });
    let destinations = destinations(state, &source.app_id, &event_type).await?;
    let msg = Message {
        id: MessageId::generate(),
        app_id: source.app_id.clone(),
        event_type,
        event_id: None,
        payload: Some(body.clone()),
        channels: None,
        tags: Some(vec![source.id.to_string()]),
        created_at: now,
        expires_at: Some(now.plus(state.config.default_payload_retention)),
        inbound: Some(InboundOrigin {
            source: source.id.clone(),
            path: req.path_and_query().into_owned(),
            headers: capture::kept_headers(req.headers, &source.verifier),
            dedup: dedup.clone(),
        }),
    };
    let id = msg.id.clone();
    match (dispatch_new(state, msg, destinations).await, dedup) {
        (Ok(_), _) => Ok(Accepted { id: Some(id), duplicate: false }),
        // An inbound message has no eventId and a fresh id: the one key that can
        // conflict is the dedup claim, held by the message this request repeats.
        (Err(ApiError::Conflict(_)), Some(claim)) => {
            let original = state.store.dedup_claimant(&source.id, &claim.key, now).await?;
            Ok(Accepted { id: original, duplicate: true })
        }
        (Err(e), _) => Err(e),
    }
}

/// The application's endpoints that want `event_type`, from the routing cache when fresh.
async fn destinations(
    state: &AppState,
    app: &AppId,
    event_type: &str,
) -> Result<Vec<Arc<Endpoint>>, ApiError> {
    let routing = match state.routing.get(app.as_str()) {
        Some(routing) => routing,
        None => {
            let app = (state.store.get_app(app.as_str()).await?)
                .ok_or_else(|| ApiError::NotFound("Source not found".to_owned()))?;
            let routing = Routing::load(state.store.as_ref(), app).await?;
            state.routing.put(routing.app.id.as_str(), routing.clone());
            routing
        }
    };
    Ok(routing.endpoints.iter().filter(|ep| endpoint_wants(ep, event_type, None)).cloned().collect())
}

/// The source's custom response, else `200 {"id": "msg_…"}` (with `"duplicate": true`
/// for a recognised retry).
fn answer(source: &Source, accepted: &Accepted) -> Response {
    if let Some(custom) = &source.response {
        let status = StatusCode::from_u16(custom.status).unwrap_or(StatusCode::OK);
        return answer_with(status, &custom.content_type, custom.body.clone().into_bytes());
    }
    let mut body = json!({ "id": accepted.id.as_ref().map(MessageId::as_str) });
    if accepted.duplicate {
        body["duplicate"] = json!(true);
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn answer_with(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let content_type = HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("text/plain"));
    response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    response
}
