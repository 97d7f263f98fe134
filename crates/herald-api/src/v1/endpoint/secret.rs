//! An endpoint's signing secret: read it, rotate it.
//!
//! Rotation keeps the previous key signing for a grace period (default
//! [`crate::ApiConfig::secret_rotation_grace`], at most 7 days), so receivers can
//! switch keys without rejecting messages in flight. Svix's document answers a
//! rotation with 204, but the current SDKs decode the new key from the body, so
//! Herald answers 200 with `{"key": …}`.

use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use herald_core::{SigningKey, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::EndpointAccess;
use crate::error::ApiError;
use crate::extract::{Json, OptionalJson};
use crate::idempotency::NotStored;
use crate::validate::Violations;

const MAX_GRACE_SECONDS: u64 = 7 * 24 * 60 * 60;

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointSecretOut {
    /// `whsec_…` (HMAC-SHA256) or `whsk_…` (ed25519).
    pub key: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSecretRotateIn {
    /// The new key; generated (of the same kind as the current one) when absent.
    #[serde(default)]
    pub key: Option<String>,
    /// How long the old key keeps signing; 0 to 604800.
    #[serde(default)]
    pub grace_period_seconds: Option<u64>,
}

/// Get the endpoint's signing secret.
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret",
    operation_id = "v1.endpoint.get-secret",
    tag = "Endpoint",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 200, body = EndpointSecretOut),
    ),
)]
pub(crate) async fn get_secret(access: EndpointAccess) -> Json<EndpointSecretOut> {
    Json(EndpointSecretOut { key: access.endpoint.secrets.current.expose() })
}

/// Rotate the endpoint's signing secret; answers the new key.
#[utoipa::path(
    post,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret/rotate",
    operation_id = "v1.endpoint.rotate-secret",
    tag = "Endpoint",
    request_body = EndpointSecretRotateIn,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 200, body = EndpointSecretOut),
    ),
)]
pub(crate) async fn rotate_secret(
    access: EndpointAccess,
    State(state): State<AppState>,
    OptionalJson(input): OptionalJson<EndpointSecretRotateIn>,
) -> Result<(Extension<NotStored>, Json<EndpointSecretOut>), ApiError> {
    let mut v = Violations::new();
    let given = input.key.as_deref().and_then(|k| v.secret(&["body", "key"], k));
    if input.grace_period_seconds.is_some_and(|s| s > MAX_GRACE_SECONDS) {
        v.push(&["body", "gracePeriodSeconds"], format!("must be between 0 and {MAX_GRACE_SECONDS}"));
    }
    v.finish()?;
    let mut ep = access.endpoint;
    let next = given.unwrap_or_else(|| match ep.secrets.current {
        SigningKey::Ed25519(_) => SigningKey::generate_ed25519(),
        SigningKey::Symmetric(_) => SigningKey::generate_symmetric(),
    });
    let grace = input.grace_period_seconds.map_or(state.config.secret_rotation_grace, Duration::from_secs);
    let now = Timestamp::now();
    ep.secrets.rotate(next, now, grace);
    ep.updated_at = now;
    state.store.update_endpoint(&ep).await?;
    // The new key must not be kept in the idempotency table, in plain text.
    Ok((Extension(NotStored), Json(EndpointSecretOut { key: ep.secrets.current.expose() })))
}
