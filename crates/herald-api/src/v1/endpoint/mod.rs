//! Endpoints (`/api/v1/app/{app_id}/endpoint`): the URLs of an application that
//! receive its messages. CRUD lives here; the secret, the custom headers and the
//! operations (stats, send-example, recover) and the transformation have their own
//! modules.

pub(crate) mod dto;
pub(crate) mod headers;
pub(crate) mod ops;
pub(crate) mod secret;
pub(crate) mod transform;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use std::sync::Arc;

use herald_core::{Endpoint, EndpointId, SigningKey, Timestamp};
use herald_delivery::OperationalEvent;
use herald_store::Order;
use http::StatusCode;

use dto::reject_hidden_password;
pub use dto::{EndpointIn, EndpointOut, EndpointPatch};

use crate::AppState;
use crate::auth::{AppAccess, EndpointAccess};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::pagination::{ListResponse, page_query};
use headers::{get_headers, patch_headers, put_headers};
use ops::{recover, send_example, stats};
use secret::{get_secret, rotate_secret};
use transform::{apply_preset, get_transformation, list_presets, patch_transformation, simulate};

pub(crate) fn router() -> Router<AppState> {
    const ONE: &str = "/app/{app_id}/endpoint/{endpoint_id}";
    Router::new()
        .route("/app/{app_id}/endpoint", get(list).post(create))
        .route(ONE, get(get_one).put(update).patch(patch).delete(delete))
        .route(&format!("{ONE}/secret"), get(get_secret))
        .route(&format!("{ONE}/secret/rotate"), post(rotate_secret))
        .route(&format!("{ONE}/headers"), get(get_headers).put(put_headers).patch(patch_headers))
        .route(&format!("{ONE}/stats"), get(stats))
        .route(&format!("{ONE}/send-example"), post(send_example))
        .route(&format!("{ONE}/recover"), post(recover))
        .route(&format!("{ONE}/transformation"), get(get_transformation).patch(patch_transformation))
        .route(&format!("{ONE}/transformation/simulate"), post(simulate))
        .route(&format!("{ONE}/transformation/preset"), post(apply_preset))
        .route("/transformation/presets", get(list_presets))
}

/// List the application's endpoints.
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}/endpoint",
    operation_id = "v1.endpoint.list",
    tag = "Endpoint",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("limit" = Option<u32>, Query),
        ("iterator" = Option<String>, Query),
        ("order" = Option<String>, Query),
    ),
    responses(
        (status = 200, body = ListResponse<EndpointOut>),
    ),
)]
pub(crate) async fn list(
    access: AppAccess,
    State(state): State<AppState>,
    q: Query,
) -> Result<Json<ListResponse<EndpointOut>>, ApiError> {
    let page = state.store.list_endpoints(&access.app.id, &page_query(&q, Order::Ascending)?).await?;
    Ok(Json(ListResponse::from_page(page, |e| e.id.to_string(), EndpointOut::from)))
}

/// Create an endpoint.
#[utoipa::path(
    post,
    path = "/api/v1/app/{app_id}/endpoint",
    operation_id = "v1.endpoint.create",
    tag = "Endpoint",
    request_body = EndpointIn,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
    ),
    responses(
        (status = 201, body = EndpointOut),
        (status = 409, body = crate::error::HttpErrorOut),
        (status = 422, body = crate::error::HttpValidationError),
    ),
)]
pub(crate) async fn create(
    access: AppAccess,
    State(state): State<AppState>,
    Json(input): Json<EndpointIn>,
) -> Result<(StatusCode, Json<EndpointOut>), ApiError> {
    let key = input.check(&state)?.unwrap_or_else(SigningKey::generate_symmetric);
    reject_hidden_password(&input.url)?;
    let ep = input.into_endpoint(&access.app.id, key, Timestamp::now());
    state.store.create_endpoint(&ep).await?;
    Ok((StatusCode::CREATED, Json(created(&state, ep).await)))
}

/// Get an endpoint by id or uid.
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}",
    operation_id = "v1.endpoint.get",
    tag = "Endpoint",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 200, body = EndpointOut),
        (status = 404, body = crate::error::HttpErrorOut),
    ),
)]
pub(crate) async fn get_one(access: EndpointAccess) -> Json<EndpointOut> {
    Json(access.endpoint.into())
}

/// Replace an endpoint's fields, creating it (201) when the path names a `uid`
/// that does not exist yet.
#[utoipa::path(
    put,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}",
    operation_id = "v1.endpoint.update",
    tag = "Endpoint",
    request_body = EndpointIn,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 200, body = EndpointOut),
        (status = 201, body = EndpointOut),
    ),
)]
pub(crate) async fn update(
    access: AppAccess,
    State(state): State<AppState>,
    Path((_, id_or_uid)): Path<(String, String)>,
    Json(mut input): Json<EndpointIn>,
) -> Result<(StatusCode, Json<EndpointOut>), ApiError> {
    let now = Timestamp::now();
    let Some(mut ep) = state.store.get_endpoint(&access.app.id, &id_or_uid).await? else {
        if EndpointId::parse(&id_or_uid).is_some() {
            return Err(ApiError::NotFound("Endpoint not found".to_owned()));
        }
        input.uid = Some(input.uid.unwrap_or(id_or_uid));
        let key = input.check(&state)?.unwrap_or_else(SigningKey::generate_symmetric);
        reject_hidden_password(&input.url)?;
        let ep = input.into_endpoint(&access.app.id, key, now);
        state.store.create_endpoint(&ep).await?;
        return Ok((StatusCode::CREATED, Json(created(&state, ep).await)));
    };
    if input.check(&state)?.is_some() {
        return Err(ApiError::invalid(
            &["body", "secret"],
            "rotate an existing endpoint's secret with secret/rotate",
        ));
    }
    let was_disabled = ep.disabled;
    input.replace(&mut ep);
    reject_hidden_password(&ep.url)?;
    ep.updated_at = now;
    let ep = updated(&state, ep, was_disabled).await?;
    Ok((StatusCode::OK, Json(ep.into())))
}

/// Change some fields of an endpoint.
#[utoipa::path(
    patch,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}",
    operation_id = "v1.endpoint.patch",
    tag = "Endpoint",
    request_body = EndpointPatch,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 200, body = EndpointOut),
    ),
)]
pub(crate) async fn patch(
    access: EndpointAccess,
    State(state): State<AppState>,
    Json(p): Json<EndpointPatch>,
) -> Result<Json<EndpointOut>, ApiError> {
    let mut ep = access.endpoint;
    let was_disabled = ep.disabled;
    p.apply(&mut ep, &state)?;
    reject_hidden_password(&ep.url)?;
    ep.updated_at = Timestamp::now();
    let ep = updated(&state, ep, was_disabled).await?;
    Ok(Json(ep.into()))
}

/// Delete an endpoint with its deliveries and attempts.
#[utoipa::path(
    delete,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}",
    operation_id = "v1.endpoint.delete",
    tag = "Endpoint",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 204),
    ),
)]
pub(crate) async fn delete(
    access: EndpointAccess,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_endpoint(&access.app.id, &access.endpoint.id).await?;
    state.emit(OperationalEvent::EndpointDeleted(Arc::new(access.endpoint))).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends `endpoint.created` for a new endpoint and returns it.
async fn created(state: &AppState, ep: Endpoint) -> EndpointOut {
    let ep = Arc::new(ep);
    state.emit(OperationalEvent::EndpointCreated(ep.clone())).await;
    EndpointOut::from(Arc::unwrap_or_clone(ep))
}

/// Stores an endpoint's new fields and sends `endpoint.updated`. Disabling it
/// fails its pending deliveries (they are not attempted; `recover` brings them back
/// after it is enabled again); re-enabling it clears its health record, in the
/// store and in the returned endpoint.
pub(crate) async fn updated(
    state: &AppState,
    mut ep: Endpoint,
    was_disabled: bool,
) -> Result<Endpoint, ApiError> {
    state.store.update_endpoint(&ep).await?;
    if ep.disabled && !was_disabled {
        state.store.disable_endpoint(&ep.id, None, ep.updated_at).await?;
    }
    if was_disabled && !ep.disabled {
        (ep.failing_since, ep.disabled_reason) = (None, None);
    }
    let ep = Arc::new(ep);
    state.emit(OperationalEvent::EndpointUpdated(ep.clone())).await;
    Ok(Arc::unwrap_or_clone(ep))
}
