#![doc = include_str!("../README.md")]
//!
//! The public surface is three items: [`ApiConfig`], [`AppState`] and [`router`]
//! (and the names of the metrics the inbound routes record, [`describe_metrics`]).

mod auth;
mod error;
mod extract;
mod idempotency;
mod inbound;
mod openapi;
mod pagination;
mod path;
mod routing_cache;
mod v1;
mod validate;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use herald_delivery::egress::EgressPolicy;
use herald_delivery::{DispatchHandle, Operational, OperationalEvent};
use herald_store::Store;

pub use error::{ApiError, ValidationItem};
pub use inbound::{INBOUND_REJECTED, INBOUND_REQUESTS, describe_metrics};
pub use openapi::ApiDoc;

/// Settings of the API layer, validated by the binary before it builds the router.
#[derive(Clone)]
pub struct ApiConfig {
    /// The bearer token that may do everything. An empty token grants nothing.
    pub admin_token: String,
    /// Largest request body accepted, in bytes; larger bodies get a JSON 413.
    pub max_payload_bytes: usize,
    /// How long an endpoint's previous secret keeps signing after a rotation,
    /// when the request does not say (`gracePeriodSeconds`).
    pub secret_rotation_grace: Duration,
    /// Where the application portal lives. The URL returned by
    /// `POST /api/v1/auth/app-portal-access/{app_id}` is `{base}/{app_id}#key={token}`.
    pub app_portal_base_url: String,
    /// Lifetime of an app-portal token when the request gives no `expiry`.
    pub app_portal_token_ttl: Duration,
    /// How long a response is kept for replay to a retry with the same `Idempotency-Key`.
    pub idempotency_ttl: Duration,
    /// How long a message payload is kept when the message does not say
    /// (`payloadRetentionPeriod` days / `payloadRetentionHours`).
    pub default_payload_retention: Duration,
    /// Refuses endpoint URLs that can never be delivered to (loopback, private
    /// ranges, …) at creation time. `None` accepts any absolute http(s) URL; the
    /// delivery client still enforces its own policy at send time.
    pub egress: Option<EgressPolicy>,
    /// How long message creation may reuse an application's endpoint list read
    /// earlier. This process's own API writes clear it at once; other processes'
    /// writes are seen within this time. Zero disables the cache.
    pub routing_cache_ttl: Duration,
    /// The URL this server is reached at from outside (`--public-url`), for source
    /// ingest URLs and for rebuilding the URL a provider signed (Twilio). `None`:
    /// `http://` and the request's `Host`.
    pub public_url: Option<String>,
}

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            admin_token: String::new(),
            max_payload_bytes: 1024 * 1024,
            secret_rotation_grace: DAY,
            app_portal_base_url: "http://localhost:8080/portal".to_owned(),
            app_portal_token_ttl: 7 * DAY,
            idempotency_ttl: DAY,
            default_payload_retention: 90 * DAY,
            egress: None,
            routing_cache_ttl: Duration::from_secs(1),
            public_url: None,
        }
    }
}

impl fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiConfig")
            .field("admin_token", &"<redacted>")
            .field("max_payload_bytes", &self.max_payload_bytes)
            .field("secret_rotation_grace", &self.secret_rotation_grace)
            .field("app_portal_base_url", &self.app_portal_base_url)
            .field("app_portal_token_ttl", &self.app_portal_token_ttl)
            .field("idempotency_ttl", &self.idempotency_ttl)
            .field("default_payload_retention", &self.default_payload_retention)
            .field("egress", &self.egress)
            .field("routing_cache_ttl", &self.routing_cache_ttl)
            .field("public_url", &self.public_url)
            .finish()
    }
}

/// Transformation dry runs running at once, at most; more wait their turn.
const DRY_RUNS_AT_ONCE: usize = 2;

/// What every handler can reach: the store, the hand-off to the delivery workers,
/// the configuration and the operational-webhook sender. Cheap to clone (a few
/// reference-counted pointers).
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub dispatch: DispatchHandle,
    pub config: Arc<ApiConfig>,
    routing: Arc<routing_cache::RoutingCache>,
    /// Runs the transformation dry runs (`…/transformation/simulate`), a few at once.
    shaper: Arc<herald_delivery::transform::Shaper>,
    /// Where `endpoint.created`, `.updated` and `.deleted` go; `None` sends none.
    operational: Option<Operational>,
    /// Cancelled when the server shuts down: ends the open event streams, which would
    /// otherwise keep a graceful shutdown waiting forever.
    shutdown: tokio_util::sync::CancellationToken,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, dispatch: DispatchHandle, config: ApiConfig) -> Self {
        let routing = Arc::new(routing_cache::RoutingCache::new(config.routing_cache_ttl));
        let shutdown = tokio_util::sync::CancellationToken::new();
        let shaper = Arc::new(herald_delivery::transform::Shaper::new(
            herald_transform::Limits::default(),
            DRY_RUNS_AT_ONCE,
        ));
        Self { store, dispatch, config: Arc::new(config), routing, shaper, operational: None, shutdown }
    }

    /// Ends long-lived responses (event streams) when `shutdown` is cancelled.
    pub fn with_shutdown(mut self, shutdown: tokio_util::sync::CancellationToken) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Sends operational webhooks about endpoint changes through `operational`.
    pub fn with_operational(mut self, operational: Operational) -> Self {
        self.operational = Some(operational);
        self
    }

    /// Sends an operational event; failing to is logged, never the request's error.
    pub(crate) async fn emit(&self, event: OperationalEvent) {
        if let Some(operational) = &self.operational {
            operational.emit_or_log(&event).await;
        }
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Clears the routing cache after every write except message creation (the one
/// write that reads it), so this process always routes by its own latest changes.
async fn clear_routing_on_write(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let creates_message =
        method == http::Method::POST && request.uri().path().trim_end_matches('/').ends_with("/msg");
    let response = next.run(request).await;
    if method != http::Method::GET && method != http::Method::HEAD && !creates_message {
        state.routing.clear();
    }
    response
}

/// Every route of the API under `/api/v1`, with trailing slashes optional, JSON
/// errors for unknown routes and methods, the body limit and `Idempotency-Key`
/// replay applied; and beside them, without those layers, the inbound sources'
/// ingest routes `/in/{source_id}…` (the `inbound` module).
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_payload_bytes;
    let ingest = inbound::router().with_state(state.clone());
    let routes = Router::new()
        .nest("/api/v1", v1::router())
        .fallback(error::not_found_fallback)
        .method_not_allowed_fallback(error::method_not_allowed_fallback)
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::layer))
        .layer(axum::middleware::from_fn_with_state(state.clone(), clear_routing_on_write))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state);
    ingest.merge(path::without_trailing_slash(routes))
}
