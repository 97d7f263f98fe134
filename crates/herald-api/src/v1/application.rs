//! Applications (`/api/v1/app`): one per customer of the sending product.
//!
//! Creating, updating and deleting an application is for the admin token; an
//! app-portal token may read its own application.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use herald_core::{AppId, Application, Timestamp};
use herald_store::{Order, StoreError};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{double_option, time};
use crate::auth::{Admin, AppAccess, Caller};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::pagination::{ListResponse, page_query};
use crate::validate::Violations;
use crate::{AppState, error::HttpErrorOut};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/app", get(list).post(create))
        .route("/app/{app_id}", get(get_one).put(update).patch(patch).delete(delete))
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationIn {
    pub name: String,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub throttle_rate: Option<u32>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationOut {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    pub name: String,
    pub metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle_rate: Option<u32>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub uid: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>)]
    pub throttle_rate: Option<Option<u32>>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

impl From<Application> for ApplicationOut {
    fn from(a: Application) -> Self {
        Self {
            id: a.id.into_string(),
            uid: a.uid,
            name: a.name,
            metadata: a.metadata,
            throttle_rate: a.throttle_rate,
            created_at: time(a.created_at),
            updated_at: time(a.updated_at),
        }
    }
}

impl ApplicationIn {
    pub(crate) fn check(&self, v: &mut Violations, loc: &[&str]) {
        let at = |field: &'static str| [loc, &[field]].concat();
        v.name(&at("name"), &self.name);
        v.uid(&at("uid"), self.uid.as_deref(), AppId::PREFIX);
        v.throttle_rate(&at("throttleRate"), self.throttle_rate);
        if let Some(m) = &self.metadata {
            v.metadata(&at("metadata"), m);
        }
    }

    fn into_app(self, now: Timestamp) -> Application {
        Application {
            id: AppId::generate(),
            uid: self.uid,
            name: self.name,
            metadata: self.metadata.unwrap_or_default(),
            throttle_rate: self.throttle_rate,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Validates and inserts a new application (also used by message creation and
/// app-portal access, which may create the application they name).
pub(crate) async fn create_app(
    state: &AppState,
    input: ApplicationIn,
    loc: &[&str],
) -> Result<Application, ApiError> {
    let mut v = Violations::new();
    input.check(&mut v, loc);
    v.finish()?;
    let app = input.into_app(Timestamp::now());
    state.store.create_app(&app).await?;
    Ok(app)
}

/// List applications.
#[utoipa::path(
    get,
    path = "/api/v1/app",
    operation_id = "v1.application.list",
    tag = "Application",
    params(
        ("limit" = Option<u32>, Query),
        ("iterator" = Option<String>, Query),
        ("order" = Option<String>, Query),
    ),
    responses(
        (status = 200, body = ListResponse<ApplicationOut>),
        (status = 401, body = HttpErrorOut),
    ),
)]
pub(crate) async fn list(
    _: Admin,
    State(state): State<AppState>,
    q: Query,
) -> Result<Json<ListResponse<ApplicationOut>>, ApiError> {
    let page = state.store.list_apps(&page_query(&q, Order::Ascending)?).await?;
    Ok(Json(ListResponse::from_page(page, |a| a.id.to_string(), ApplicationOut::from)))
}

/// Create an application; with `get_if_exists=true`, an existing application with
/// the same `uid` is returned (200) instead of a 409.
#[utoipa::path(
    post,
    path = "/api/v1/app",
    operation_id = "v1.application.create",
    tag = "Application",
    request_body = ApplicationIn,
    params(
        ("get_if_exists" = Option<bool>, Query),
    ),
    responses(
        (status = 201, body = ApplicationOut),
        (status = 200, body = ApplicationOut),
        (status = 409, body = HttpErrorOut),
        (status = 422, body = crate::error::HttpValidationError),
    ),
)]
pub(crate) async fn create(
    _: Admin,
    State(state): State<AppState>,
    q: Query,
    Json(input): Json<ApplicationIn>,
) -> Result<(StatusCode, Json<ApplicationOut>), ApiError> {
    let get_if_exists = q.bool("get_if_exists", false)?;
    let uid = input.uid.clone();
    if let (true, Some(uid)) = (get_if_exists, &uid)
        && let Some(app) = state.store.get_app(uid).await?
    {
        return Ok((StatusCode::OK, Json(app.into())));
    }
    match create_app(&state, input, &["body"]).await {
        Ok(app) => Ok((StatusCode::CREATED, Json(app.into()))),
        // Lost a race with a concurrent get-or-create: the other one's app is ours.
        Err(ApiError::Conflict(_)) if get_if_exists => {
            match state.store.get_app(uid.as_deref().unwrap_or("")).await? {
                Some(app) => Ok((StatusCode::OK, Json(app.into()))),
                None => Err(StoreError::Conflict("uid").into()),
            }
        }
        Err(e) => Err(e),
    }
}

/// Get an application by id or uid.
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}",
    operation_id = "v1.application.get",
    tag = "Application",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
    ),
    responses(
        (status = 200, body = ApplicationOut),
        (status = 404, body = HttpErrorOut),
    ),
)]
pub(crate) async fn get_one(access: AppAccess) -> Json<ApplicationOut> {
    Json(access.app.into())
}

/// Update an application, creating it (201) when the path names a `uid` that does
/// not exist yet.
#[utoipa::path(
    put,
    path = "/api/v1/app/{app_id}",
    operation_id = "v1.application.update",
    tag = "Application",
    request_body = ApplicationIn,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
    ),
    responses(
        (status = 200, body = ApplicationOut),
        (status = 201, body = ApplicationOut),
    ),
)]
pub(crate) async fn update(
    _: Admin,
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Json(mut input): Json<ApplicationIn>,
) -> Result<(StatusCode, Json<ApplicationOut>), ApiError> {
    let Some(existing) = state.store.get_app(&app_id).await? else {
        if AppId::parse(&app_id).is_some() {
            return Err(ApiError::NotFound("Application not found".to_owned()));
        }
        input.uid = Some(input.uid.unwrap_or(app_id));
        let app = create_app(&state, input, &["body"]).await?;
        return Ok((StatusCode::CREATED, Json(app.into())));
    };
    let mut v = Violations::new();
    input.check(&mut v, &["body"]);
    v.finish()?;
    let app = Application {
        uid: input.uid.or(existing.uid),
        name: input.name,
        metadata: input.metadata.unwrap_or_default(),
        throttle_rate: input.throttle_rate,
        updated_at: Timestamp::now(),
        ..existing
    };
    state.store.update_app(&app).await?;
    Ok((StatusCode::OK, Json(app.into())))
}

/// Change some fields of an application.
#[utoipa::path(
    patch,
    path = "/api/v1/app/{app_id}",
    operation_id = "v1.application.patch",
    tag = "Application",
    request_body = ApplicationPatch,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
    ),
    responses(
        (status = 200, body = ApplicationOut),
    ),
)]
pub(crate) async fn patch(
    access: AppAccess,
    State(state): State<AppState>,
    Json(p): Json<ApplicationPatch>,
) -> Result<Json<ApplicationOut>, ApiError> {
    require_admin(&access)?;
    let mut app = access.app;
    let mut v = Violations::new();
    if let Some(name) = p.name {
        v.name(&["body", "name"], &name);
        app.name = name;
    }
    if let Some(uid) = p.uid {
        v.uid(&["body", "uid"], uid.as_deref(), AppId::PREFIX);
        app.uid = uid;
    }
    if let Some(rate) = p.throttle_rate {
        v.throttle_rate(&["body", "throttleRate"], rate);
        app.throttle_rate = rate;
    }
    if let Some(metadata) = p.metadata {
        v.metadata(&["body", "metadata"], &metadata);
        app.metadata = metadata;
    }
    v.finish()?;
    app.updated_at = Timestamp::now();
    state.store.update_app(&app).await?;
    Ok(Json(app.into()))
}

/// Delete an application and everything it owns.
#[utoipa::path(
    delete,
    path = "/api/v1/app/{app_id}",
    operation_id = "v1.application.delete",
    tag = "Application",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
    ),
    responses(
        (status = 204),
    ),
)]
pub(crate) async fn delete(access: AppAccess, State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    require_admin(&access)?;
    state.store.delete_app(&access.app.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn require_admin(access: &AppAccess) -> Result<(), ApiError> {
    match access.caller {
        Caller::Admin => Ok(()),
        Caller::App(_) => Err(ApiError::forbidden()),
    }
}
