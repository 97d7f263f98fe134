//! App-portal access: `POST /api/v1/auth/app-portal-access/{app_id}` mints a token
//! scoped to one application (creating the application when the body carries one
//! and it does not exist yet), and `POST /api/v1/auth/logout`.
//!
//! The token is random, shown once, and stored only as its SHA-256. Logout with an
//! app-portal token deletes it: every later request with it is refused (401),
//! dashboard portal sessions opened with it included. The admin token cannot be
//! logged out (204, nothing changes).

use std::time::Duration;

use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use herald_core::Timestamp;
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Admin, Caller, bearer, new_app_token, token_hash};
use crate::error::ApiError;
use crate::extract::{Json, OptionalJson, Path};
use crate::idempotency::NotStored;
use crate::v1::application::ApplicationIn;
use crate::v1::message::create::resolve_app;

/// The longest token lifetime a request may ask for: one year.
const MAX_EXPIRY_SECONDS: u64 = 365 * 24 * 60 * 60;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/app-portal-access/{app_id}", post(app_portal_access))
        .route("/auth/logout", post(logout))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppPortalAccessIn {
    /// Creates the application if the path names a uid that does not exist yet.
    #[serde(default)]
    pub application: Option<ApplicationIn>,
    /// Token lifetime in seconds (default 7 days, at most one year).
    #[serde(default)]
    pub expiry: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppPortalAccessOut {
    /// The application portal, with the token in the fragment.
    pub url: String,
    /// A bearer token for `/api/v1/app/{app_id}/…` and the event-type catalogue.
    pub token: String,
}

/// Mint an app-portal token for one application.
#[utoipa::path(
    post,
    path = "/api/v1/auth/app-portal-access/{app_id}",
    operation_id = "v1.authentication.app-portal-access",
    tag = "Authentication",
    request_body = AppPortalAccessIn,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
    ),
    responses(
        (status = 200, body = AppPortalAccessOut),
    ),
)]
pub(crate) async fn app_portal_access(
    _: Admin,
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    OptionalJson(input): OptionalJson<AppPortalAccessIn>,
) -> Result<(Extension<NotStored>, Json<AppPortalAccessOut>), ApiError> {
    let ttl = match input.expiry {
        None => state.config.app_portal_token_ttl,
        Some(s) if (1..=MAX_EXPIRY_SECONDS).contains(&s) => Duration::from_secs(s),
        Some(_) => {
            return Err(ApiError::invalid(&["body", "expiry"], "must be between 1 second and one year"));
        }
    };
    let app = resolve_app(&state, &Caller::Admin, &app_id, input.application).await?;
    let token = new_app_token();
    state.store.create_app_token(&token_hash(&token), &app.id, Timestamp::now().plus(ttl)).await?;
    let base = state.config.app_portal_base_url.trim_end_matches('/');
    // The token is kept only as its hash: its answer must not be kept for replay either.
    let out = AppPortalAccessOut { url: format!("{base}/{}#key={token}", app.id), token };
    Ok((Extension(NotStored), Json(out)))
}

/// Log out an app-portal token: it stops working at once.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    operation_id = "v1.authentication.logout",
    tag = "Authentication",
    responses(
        (status = 204),
    ),
)]
pub(crate) async fn logout(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    if let (Caller::App(_), Some(token)) = (caller, bearer(&headers)) {
        state.store.delete_app_token(&token_hash(token)).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
