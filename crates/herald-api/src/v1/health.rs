//! Liveness: `GET|HEAD /api/v1/health` (checks the store answers) and
//! `/api/v1/health/ping` (checks nothing). No authentication. Both answer 204 as
//! Svix's document says; the SDK's `health().get()` accepts any 2xx.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use http::StatusCode;

use crate::AppState;
use crate::error::ApiError;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/health/ping", get(ping))
}

/// 204 when the store answers, 503 when it does not.
#[utoipa::path(
    get,
    path = "/api/v1/health",
    operation_id = "v1.health.get",
    tag = "Health",
    responses(
        (status = 204),
        (status = 503, body = crate::error::HttpErrorOut),
    ),
)]
pub(crate) async fn health(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "health check: the store does not answer");
        return Err(ApiError::Unavailable("The store does not answer".to_owned()));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// 204 whenever the server runs.
#[utoipa::path(
    get,
    path = "/api/v1/health/ping",
    operation_id = "v1.health.ping",
    tag = "Health",
    responses(
        (status = 204),
    ),
)]
pub(crate) async fn ping() -> StatusCode {
    StatusCode::NO_CONTENT
}
