//! The stages of one delivery, as pure functions around the HTTP call:
//! [`prepare`] builds the signed request, the client sends it, [`Observed::of`] says
//! what the outcome shows about the endpoint, and [`settle`] turns it into the
//! attempt row and the delivery's next state.

use std::time::Duration;

use bytes::Bytes;
use herald_core::url_password::redact_password;
use herald_core::{
    Attempt, AttemptId, AttemptResult, Delivery, DeliveryStatus, FailureHint, RetryPolicy, Timestamp,
    Trigger, signing,
};
use herald_store::DeliveryUpdate;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::client::{FailureKind, OutboundRequest, SendOutcome};
use crate::dispatch::Dispatch;

/// The `user-agent` every delivery carries.
pub const USER_AGENT: &str = concat!("Herald-Webhooks/", env!("CARGO_PKG_VERSION"));

/// Why a delivery could not even be attempted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PrepareError {
    #[error("the message payload was expunged; there is nothing to send")]
    NoPayload,
    #[error("the endpoint URL is not valid: {0}")]
    BadUrl(String),
    #[error("the endpoint is disabled")]
    Disabled,
    /// The endpoint's filter or transformation failed; the text says how.
    #[error("{0}")]
    Transform(String),
}

/// Builds the signed request for one delivery at `now` (or, for an inbound message
/// to an endpoint that asked for them, the provider's original headers: see
/// [`inbound`]).
pub fn prepare(d: &Dispatch, now: Timestamp) -> Result<OutboundRequest, PrepareError> {
    prepare_shaped(d, None, now)
}

/// Like [`prepare`], with the request an endpoint's transformation made
/// ([`crate::transform`]) in place of the message: its method, URL, headers and
/// body are sent as they are, and Herald adds its own headers on top —
/// `webhook-id`, `webhook-timestamp`, a `webhook-signature` computed over the body
/// actually sent, and its user agent — which the transformation cannot remove or
/// replace (a destination that does not verify them ignores them). A transformed
/// inbound message is signed by Herald too: the provider's signature would not
/// match the new body. The URL is checked by the client like any other.
pub fn prepare_shaped(
    d: &Dispatch,
    shaped: Option<herald_transform::Request>,
    now: Timestamp,
) -> Result<OutboundRequest, PrepareError> {
    if d.endpoint.disabled {
        return Err(PrepareError::Disabled);
    }
    let Some(req) = shaped else { return prepare_plain(d, now) };
    let url = url::Url::parse(&req.url).map_err(|e| PrepareError::BadUrl(format!("{e}: {}", req.url)))?;
    let method = http::Method::from_bytes(req.method.as_bytes())
        .map_err(|_| PrepareError::Transform(format!("`{}` is not an HTTP method", req.method)))?;
    let body = Bytes::from(req.body);
    let mut headers = HeaderMap::with_capacity(6 + req.headers.len());
    for (name, value) in &req.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str()))
            && !FRAMING.contains(&n)
        {
            headers.append(n, v);
        }
    }
    if !body.is_empty() && !headers.contains_key(http::header::CONTENT_TYPE) {
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    sign(&mut headers, d, &body, now);
    Ok(OutboundRequest { method, url, headers, body, timeout: None })
}

/// Headers the client sets from the request itself; a transformation's are dropped.
const FRAMING: [HeaderName; 4] = [
    http::header::HOST,
    http::header::CONTENT_LENGTH,
    http::header::TRANSFER_ENCODING,
    http::header::CONNECTION,
];

/// The message's payload as a JSON POST to the endpoint URL.
fn prepare_plain(d: &Dispatch, now: Timestamp) -> Result<OutboundRequest, PrepareError> {
    let body: Bytes = d.message.payload.clone().ok_or(PrepareError::NoPayload)?;
    let url = url::Url::parse(&d.endpoint.url).map_err(|e| PrepareError::BadUrl(e.to_string()))?;
    if let Some(origin) = inbound::passthrough(d) {
        return Ok(inbound::original_request(d, origin, url, body));
    }
    let mut headers = HeaderMap::with_capacity(6 + d.endpoint.headers.len());
    // Custom headers first, so the protocol headers below always win.
    for (name, value) in &d.endpoint.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str())) {
            headers.insert(n, v);
        }
    }
    headers.insert(http::header::CONTENT_TYPE, inbound::content_type(d));
    sign(&mut headers, d, &body, now);
    Ok(OutboundRequest { method: http::Method::POST, url, headers, body, timeout: None })
}

/// Adds Herald's user agent and Standard Webhooks headers, signed over `body`.
fn sign(headers: &mut HeaderMap, d: &Dispatch, body: &[u8], now: Timestamp) {
    let msg_id = d.message.id.as_str();
    let ts = now.seconds();
    let signature = signing::sign_all(d.endpoint.secrets.signing_keys(now), msg_id, ts, body);
    headers.insert(http::header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    insert(headers, "webhook-id", msg_id);
    insert(headers, "webhook-timestamp", &ts.to_string());
    insert(headers, "webhook-signature", &signature);
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    // Ids, digits and base64 are always valid header values.
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// What one attempt showed about its endpoint, for flow control and health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    /// `None` when the endpoint was not tried (disabled, payload expunged, bad
    /// URL): nothing is learnt about its health.
    pub result: Option<AttemptResult>,
    pub timed_out: bool,
    /// An HTTP answer came (any status).
    pub answered: bool,
    pub took: Duration,
}

impl Observed {
    pub fn of(outcome: &Result<SendOutcome, PrepareError>) -> Self {
        match outcome {
            Ok(SendOutcome::Response { status, duration, .. }) => Self {
                result: Some(match status {
                    200..=299 => AttemptResult::Delivered,
                    410 => AttemptResult::Gone,
                    _ => AttemptResult::Failed,
                }),
                timed_out: false,
                answered: true,
                took: *duration,
            },
            Ok(SendOutcome::Failed { kind, duration, .. }) => Self {
                result: Some(AttemptResult::Failed),
                timed_out: *kind == FailureKind::Timeout,
                answered: false,
                took: *duration,
            },
            Err(_) => Self { result: None, timed_out: false, answered: false, took: Duration::ZERO },
        }
    }
}

/// What the retry policy is told besides the outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryInput {
    /// Timeouts in a row at this endpoint, this attempt included (0 if it did not time out).
    pub timeouts_in_a_row: u32,
    /// A uniform draw in `[0, 1)` for the jitter.
    pub sample: f64,
}

/// The attempt that was made and the delivery's next state. A `410 Gone` or a
/// disabled endpoint ends the delivery: there is no one to retry for. The attempt
/// names the endpoint's URL and no request; the engine puts in what it recorded
/// before sending ([`record::Sent`]).
pub fn settle(
    policy: &RetryPolicy,
    d: &Dispatch,
    outcome: Result<SendOutcome, PrepareError>,
    now: Timestamp,
    retry: RetryInput,
) -> (Attempt, DeliveryUpdate) {
    let final_failure = matches!(outcome, Err(PrepareError::Disabled))
        || matches!(outcome, Ok(SendOutcome::Response { status: 410, .. }));
    let (status_code, response, duration, retry_after) = match outcome {
        Ok(SendOutcome::Response { status, body, retry_after, duration }) => {
            (status, body, duration, retry_after.filter(|_| status == 429 || status == 503))
        }
        Ok(SendOutcome::Failed { reason, duration, .. }) => (0, reason, duration, None),
        Err(e) => (0, e.to_string(), Duration::ZERO, None),
    };
    let ok = (200..300).contains(&status_code);
    let attempt = Attempt {
        id: AttemptId::generate(),
        msg_id: d.message.id.clone(),
        endpoint_id: d.endpoint.id.clone(),
        app_id: d.message.app_id.clone(),
        url: redact_password(&d.endpoint.url).into_owned(),
        request: None,
        status: if ok { DeliveryStatus::Success } else { DeliveryStatus::Failed },
        response_status_code: status_code,
        response,
        duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        trigger: d.delivery.next_trigger,
        created_at: now,
    };
    let update = if ok {
        DeliveryUpdate { status: DeliveryStatus::Success, next_attempt_at: None }
    } else if final_failure {
        DeliveryUpdate { status: DeliveryStatus::Failed, next_attempt_at: None }
    } else {
        let hint = FailureHint { retry_after, timeouts_in_a_row: retry.timeouts_in_a_row };
        next_after_failure(policy, &d.delivery, hint, now, retry.sample)
    };
    (attempt, update)
}

/// A failed scheduled attempt is retried on the schedule; a failed manual one
/// (resend) is not: the operator asked for exactly one more try.
fn next_after_failure(
    policy: &RetryPolicy,
    delivery: &Delivery,
    hint: FailureHint,
    now: Timestamp,
    sample: f64,
) -> DeliveryUpdate {
    let made = delivery.attempts.saturating_add(1);
    let delay = match delivery.next_trigger {
        Trigger::Manual => None,
        Trigger::Scheduled => policy.next_delay(made, hint, sample),
    };
    match delay {
        Some(d) => DeliveryUpdate { status: DeliveryStatus::Pending, next_attempt_at: Some(now.plus(d)) },
        None => DeliveryUpdate { status: DeliveryStatus::Failed, next_attempt_at: None },
    }
}

pub mod inbound;
pub mod record;
#[cfg(test)]
mod tests;
