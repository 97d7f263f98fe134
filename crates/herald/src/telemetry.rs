//! Operability at the HTTP edge: Prometheus metrics at `/metrics`, and a request id
//! on every request (`x-request-id`, taken from the caller when it sends a sane one,
//! else made up) that every log line of the request carries and the response echoes.
//!
//! `/metrics` needs no token: Prometheus scrapers expect an open endpoint, and no
//! metric names a tenant (no application, endpoint or URL in any label), so it tells
//! a reader how busy Herald is but nothing about whom it serves. Operators who do not
//! want it public block the path at their proxy, like the rest of the admin surface.
//!
//! The recorder is process-wide: the `metrics` facade has one global recorder by
//! design, which the engine and the store tasks report to without being handed
//! anything. It is installed once ([`recorder`]); several servers in one process
//! (tests) share it.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{self, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics::Counter;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

/// `herald_messages_accepted_total`: messages the API accepted (202).
pub const MESSAGES_ACCEPTED: &str = "herald_messages_accepted_total";
/// `herald_http_responses_total{class}`: API answers by status class (`2xx`, …).
pub const HTTP_RESPONSES: &str = "herald_http_responses_total";

const REQUEST_ID: &str = "x-request-id";

/// Buckets of the delivery latency histogram, in seconds: milliseconds for the
/// first attempt, up to the hours a retry schedule spans.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
    7200.0, 36_000.0, 86_400.0,
];

/// The process's Prometheus recorder, installed on first use.
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let latency = Matcher::Full(herald_delivery::telemetry::DELIVERY_LATENCY.to_owned());
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(latency, LATENCY_BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was installed already; /metrics shows none of Herald's");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use herald_delivery::telemetry::{ATTEMPTS, DELIVERY_LATENCY};
    metrics::describe_counter!(MESSAGES_ACCEPTED, "Messages the API accepted (202).");
    metrics::describe_counter!(HTTP_RESPONSES, "API answers by status class.");
    metrics::describe_counter!(ATTEMPTS, "Delivery attempts recorded, by outcome.");
    metrics::describe_histogram!(
        DELIVERY_LATENCY,
        metrics::Unit::Seconds,
        "From a message's acceptance to its successful delivery to one endpoint, retries included."
    );
    crate::upkeep::describe();
    herald_api::describe_metrics();
}

/// The HTTP edge's counters, registered once: on the hot path a request costs an
/// atomic increment each, not a registry look-up.
struct Counters {
    accepted: Counter,
    /// By status class, `1xx` to `5xx`.
    classes: [Counter; 5],
}

impl Counters {
    fn register() -> Self {
        let class = |c: &'static str| metrics::counter!(HTTP_RESPONSES, "class" => c);
        Self {
            accepted: metrics::counter!(MESSAGES_ACCEPTED),
            classes: [class("1xx"), class("2xx"), class("3xx"), class("4xx"), class("5xx")],
        }
    }

    fn class(&self, status: StatusCode) -> &Counter {
        let i = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        &self.classes[i]
    }
}

/// Adds `/metrics` and the request-id and metrics middleware around `app`. Call
/// [`recorder`] first: the counters are registered with the recorder of the moment.
pub fn wrap(app: axum::Router, handle: PrometheusHandle) -> axum::Router {
    let counters = Arc::new(Counters::register());
    let metrics = move || {
        let handle = handle.clone();
        async move {
            let headers = [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")];
            (headers, handle.render())
        }
    };
    app.route("/metrics", axum::routing::get(metrics))
        .layer(axum::middleware::from_fn_with_state(counters, observe))
}

/// The middleware: a span with the request id around the request, the id on the
/// response, the counters after it.
async fn observe(State(counters): State<Arc<Counters>>, request: Request, next: Next) -> Response {
    let id = request_id(&request);
    let accepts_message = request.method() == Method::POST && is_message_create(request.uri().path());
    let span =
        tracing::info_span!("request", id = %id, method = %request.method(), path = %request.uri().path());
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.in_scope(|| {
        let elapsed_ms = started.elapsed().as_millis();
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), elapsed_ms, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), elapsed_ms, "request");
        }
    });
    if accepts_message && status == StatusCode::ACCEPTED {
        counters.accepted.increment(1);
    }
    counters.class(status).increment(1);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The caller's id if it is short printable ASCII, else a fresh one.
fn request_id(request: &Request) -> String {
    let given = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok());
    match given {
        Some(id) if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()) => {
            id.to_owned()
        }
        _ => format!("req_{:016x}", rand::random::<u64>()),
    }
}

/// `POST /api/v1/app/{app}/msg` (trailing slash optional).
fn is_message_create(path: &str) -> bool {
    let rest = path.trim_end_matches('/').strip_prefix("/api/v1/app/");
    rest.and_then(|r| r.split_once('/')).is_some_and(|(app, tail)| !app.is_empty() && tail == "msg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_creation_is_recognised_by_its_path() {
        assert!(is_message_create("/api/v1/app/app_123/msg"));
        assert!(is_message_create("/api/v1/app/acme/msg/"));
        assert!(!is_message_create("/api/v1/app/acme/msg/msg_1"));
        assert!(!is_message_create("/api/v1/app//msg"));
        assert!(!is_message_create("/api/v1/app/acme/endpoint"));
    }

    #[test]
    fn a_sane_request_id_is_kept_and_others_replaced() {
        let with = |id: &str| {
            let request = Request::builder().header(REQUEST_ID, id).body(axum::body::Body::empty());
            request_id(&request.expect("request"))
        };
        assert_eq!(with("abc-123"), "abc-123");
        assert!(with("has space").starts_with("req_"));
        assert!(with(&"x".repeat(200)).starts_with("req_"));
        let none = Request::builder().body(axum::body::Body::empty()).expect("request");
        assert_eq!(request_id(&none).len(), "req_".len() + 16);
    }
}
