//! Inbound sources (`/api/v1/source`): the public ingest URLs (`/in/{id}`) whose
//! verified requests become messages of an application. Herald's addition beside the
//! Svix-compatible resources, under the same conventions (admin token, paging,
//! `{code, detail}` errors, 422s in Svix's shape). Receiving itself is
//! [`crate::inbound`].

pub(crate) mod dto;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use herald_core::{AppId, SourceId, Timestamp};
use herald_inbound::Source;
use herald_store::Order;
use http::{HeaderMap, StatusCode};

pub use dto::{RejectedRequestOut, SourceIn, SourceOut, SourcePatch};

use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, HttpErrorOut, HttpValidationError};
use crate::extract::{Json, Path, Query};
use crate::inbound::base_url;
use crate::pagination::{ListResponse, page_query};
use crate::validate::Violations;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/source", get(list).post(create))
        .route("/source/{source_id}", get(get_one).put(update).patch(patch).delete(delete))
        .route("/source/{source_id}/rejected", get(list_rejected))
}

/// List sources, those of one application with `app_id`.
#[utoipa::path(
    get,
    path = "/api/v1/source",
    operation_id = "v1.source.list",
    tag = "Source",
    params(
        ("app_id" = Option<String>, Query, description = "Only this application's sources (id or uid)"),
        ("limit" = Option<u32>, Query),
        ("iterator" = Option<String>, Query),
        ("order" = Option<String>, Query),
    ),
    responses(
        (status = 200, body = ListResponse<SourceOut>),
        (status = 401, body = HttpErrorOut),
    ),
)]
pub(crate) async fn list(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Query,
) -> Result<Json<ListResponse<SourceOut>>, ApiError> {
    let app = match q.get("app_id").filter(|a| !a.is_empty()) {
        Some(key) => Some(find_app(&state, key, &["query", "app_id"]).await?),
        None => None,
    };
    let page = state.store.list_sources(app.as_ref(), &page_query(&q, Order::Ascending)?).await?;
    let base = base_url(&state, &headers);
    Ok(Json(ListResponse::from_page(page, |s| s.id.to_string(), |s| SourceOut::new(s, &base))))
}

/// Create a source in an application.
#[utoipa::path(
    post,
    path = "/api/v1/source",
    operation_id = "v1.source.create",
    tag = "Source",
    request_body = SourceIn,
    responses(
        (status = 201, body = SourceOut),
        (status = 409, body = HttpErrorOut),
        (status = 422, body = HttpValidationError),
    ),
)]
pub(crate) async fn create(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(mut input): Json<SourceIn>,
) -> Result<(StatusCode, Json<SourceOut>), ApiError> {
    let mut v = Violations::new();
    input.check(&mut v);
    let app_key = input.app_id.take();
    if app_key.is_none() {
        v.push(&["body", "appId"], "the application receiving the source's events is required");
    }
    v.finish()?;
    let app = find_app(&state, app_key.as_deref().unwrap_or_default(), &["body", "appId"]).await?;
    let source = input.into_source(SourceId::generate(), app, Timestamp::now());
    state.store.create_source(&source).await?;
    Ok((StatusCode::CREATED, Json(SourceOut::new(source, &base_url(&state, &headers)))))
}

/// Get a source by id or uid.
#[utoipa::path(
    get,
    path = "/api/v1/source/{source_id}",
    operation_id = "v1.source.get",
    tag = "Source",
    params(("source_id" = String, Path, description = "The source's id or uid")),
    responses(
        (status = 200, body = SourceOut),
        (status = 404, body = HttpErrorOut),
    ),
)]
pub(crate) async fn get_one(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Json<SourceOut>, ApiError> {
    let source = find_source(&state, &key).await?;
    Ok(Json(SourceOut::new(source, &base_url(&state, &headers))))
}

/// Replace a source's settings (its application stays).
#[utoipa::path(
    put,
    path = "/api/v1/source/{source_id}",
    operation_id = "v1.source.update",
    tag = "Source",
    request_body = SourceIn,
    params(("source_id" = String, Path, description = "The source's id or uid")),
    responses(
        (status = 200, body = SourceOut),
        (status = 404, body = HttpErrorOut),
        (status = 422, body = HttpValidationError),
    ),
)]
pub(crate) async fn update(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Json(mut input): Json<SourceIn>,
) -> Result<Json<SourceOut>, ApiError> {
    let existing = find_source(&state, &key).await?;
    let mut v = Violations::new();
    input.check(&mut v);
    v.finish()?;
    if let Some(app_key) = input.app_id.take() {
        let app = find_app(&state, &app_key, &["body", "appId"]).await?;
        if app != existing.app_id {
            return Err(ApiError::invalid(&["body", "appId"], "a source cannot move to another application"));
        }
    }
    let mut source = input.into_source(existing.id, existing.app_id, Timestamp::now());
    source.created_at = existing.created_at;
    source.rejected_total = existing.rejected_total;
    state.store.update_source(&source).await?;
    Ok(Json(SourceOut::new(source, &base_url(&state, &headers))))
}

/// Change some of a source's settings.
#[utoipa::path(
    patch,
    path = "/api/v1/source/{source_id}",
    operation_id = "v1.source.patch",
    tag = "Source",
    request_body = SourcePatch,
    params(("source_id" = String, Path, description = "The source's id or uid")),
    responses(
        (status = 200, body = SourceOut),
        (status = 404, body = HttpErrorOut),
        (status = 422, body = HttpValidationError),
    ),
)]
pub(crate) async fn patch(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Json(p): Json<SourcePatch>,
) -> Result<Json<SourceOut>, ApiError> {
    let mut source = find_source(&state, &key).await?;
    let mut v = Violations::new();
    p.apply(&mut source, &mut v);
    v.finish()?;
    source.updated_at = Timestamp::now();
    state.store.update_source(&source).await?;
    Ok(Json(SourceOut::new(source, &base_url(&state, &headers))))
}

/// Delete a source: its URL stops answering; the messages it received stay.
#[utoipa::path(
    delete,
    path = "/api/v1/source/{source_id}",
    operation_id = "v1.source.delete",
    tag = "Source",
    params(("source_id" = String, Path, description = "The source's id or uid")),
    responses(
        (status = 204),
        (status = 404, body = HttpErrorOut),
    ),
)]
pub(crate) async fn delete(
    _: Admin,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    let source = find_source(&state, &key).await?;
    state.store.delete_source(&source.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The requests the source refused, newest first: why, when, and a redacted excerpt.
#[utoipa::path(
    get,
    path = "/api/v1/source/{source_id}/rejected",
    operation_id = "v1.source.list-rejected",
    tag = "Source",
    params(
        ("source_id" = String, Path, description = "The source's id or uid"),
        ("limit" = Option<u32>, Query),
        ("iterator" = Option<String>, Query),
        ("order" = Option<String>, Query),
    ),
    responses(
        (status = 200, body = ListResponse<RejectedRequestOut>),
        (status = 404, body = HttpErrorOut),
    ),
)]
pub(crate) async fn list_rejected(
    _: Admin,
    State(state): State<AppState>,
    Path(key): Path<String>,
    q: Query,
) -> Result<Json<ListResponse<RejectedRequestOut>>, ApiError> {
    let source = find_source(&state, &key).await?;
    let page = state.store.list_rejections(&source.id, &page_query(&q, Order::Descending)?).await?;
    Ok(Json(ListResponse::from_page(page, |r| r.id.to_string(), RejectedRequestOut::from)))
}

/// A source by id or uid, or 404.
pub(crate) async fn find_source(state: &AppState, key: &str) -> Result<Source, ApiError> {
    (state.store.get_source(key).await?).ok_or_else(|| ApiError::NotFound("Source not found".to_owned()))
}

/// The id of the application named in a body or query field, or 422 there.
async fn find_app(state: &AppState, key: &str, loc: &[&str]) -> Result<AppId, ApiError> {
    match state.store.get_app(key).await? {
        Some(app) => Ok(app.id),
        None => Err(ApiError::invalid(loc, "no such application")),
    }
}
