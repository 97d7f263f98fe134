//! The event-type catalogue (`/api/v1/event-type`), ordered and keyed by name.
//!
//! Anyone authenticated may read it (the app portal shows it); only the admin
//! changes it. `DELETE` archives unless `expunge=true`.

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use herald_core::{EventType, Timestamp};
use herald_store::Order;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{double_option, time};
use crate::AppState;
use crate::auth::{Admin, Caller};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::pagination::{ListResponse, page_query};
use crate::validate::{MAX_NAME, MAX_TEXT, Violations};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/event-type", get(list).post(create))
        .route("/event-type/{event_type_name}", get(get_one).put(update).patch(patch).delete(delete))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeIn {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default)]
    pub deprecated: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub schemas: Option<serde_json::Value>,
    #[serde(default)]
    pub feature_flag: Option<String>,
    /// Newer SDKs send a set; Herald keeps one flag (the first).
    #[serde(default)]
    pub feature_flags: Option<BTreeSet<String>>,
}

/// The body of `PUT /event-type/{name}`: everything but the name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeUpdate {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default)]
    pub deprecated: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub schemas: Option<serde_json::Value>,
    #[serde(default)]
    pub feature_flag: Option<String>,
    #[serde(default)]
    pub feature_flags: Option<BTreeSet<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTypePatch {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default)]
    pub deprecated: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub schemas: Option<Option<serde_json::Value>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub feature_flag: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<String>>)]
    pub feature_flags: Option<Option<BTreeSet<String>>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeOut {
    pub name: String,
    pub description: String,
    pub archived: bool,
    pub deprecated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub schemas: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature_flag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature_flags: Option<Vec<String>>,
    pub created_at: String,
    pub updated_at: String,
}

impl EventTypeOut {
    fn new(et: EventType, with_content: bool) -> Self {
        Self {
            name: et.name,
            description: et.description,
            archived: et.archived,
            deprecated: et.deprecated,
            schemas: if with_content { et.schemas } else { None },
            feature_flags: et.feature_flag.clone().map(|f| vec![f]),
            feature_flag: et.feature_flag,
            created_at: time(et.created_at),
            updated_at: time(et.updated_at),
        }
    }
}

impl From<EventType> for EventTypeOut {
    fn from(et: EventType) -> Self {
        Self::new(et, true)
    }
}

/// The single flag Herald keeps, from either spelling.
fn one_flag(flag: Option<String>, flags: Option<BTreeSet<String>>) -> Option<String> {
    flag.or_else(|| flags.and_then(|f| f.into_iter().next()))
}

fn check_fields(
    v: &mut Violations,
    description: &str,
    schemas: Option<&serde_json::Value>,
    flag: Option<&str>,
) {
    if description.len() > MAX_TEXT {
        v.push(&["body", "description"], format!("must be at most {MAX_TEXT} characters long"));
    }
    if schemas.is_some_and(|s| !s.is_object()) {
        v.push(&["body", "schemas"], "must be an object of JSON Schemas by version");
    }
    if let Some(flag) = flag {
        v.ident(&["body", "featureFlag"], flag, MAX_NAME);
    }
}

/// List event types.
#[utoipa::path(
    get,
    path = "/api/v1/event-type",
    operation_id = "v1.event-type.list",
    tag = "Event Type",
    params(
        ("limit" = Option<u32>, Query),
        ("iterator" = Option<String>, Query),
        ("order" = Option<String>, Query),
        ("include_archived" = Option<bool>, Query),
        ("with_content" = Option<bool>, Query),
    ),
    responses(
        (status = 200, body = ListResponse<EventTypeOut>),
    ),
)]
pub(crate) async fn list(
    _: Caller,
    State(state): State<AppState>,
    q: Query,
) -> Result<Json<ListResponse<EventTypeOut>>, ApiError> {
    let include_archived = q.bool("include_archived", false)?;
    let with_content = q.bool("with_content", false)?;
    let page = state.store.list_event_types(&page_query(&q, Order::Ascending)?, include_archived).await?;
    Ok(Json(ListResponse::from_page(page, |et| et.name.clone(), |et| EventTypeOut::new(et, with_content))))
}

/// Create an event type.
#[utoipa::path(
    post,
    path = "/api/v1/event-type",
    operation_id = "v1.event-type.create",
    tag = "Event Type",
    request_body = EventTypeIn,
    responses(
        (status = 201, body = EventTypeOut),
        (status = 409, body = crate::error::HttpErrorOut),
    ),
)]
pub(crate) async fn create(
    _: Admin,
    State(state): State<AppState>,
    Json(input): Json<EventTypeIn>,
) -> Result<(StatusCode, Json<EventTypeOut>), ApiError> {
    let mut v = Violations::new();
    v.ident(&["body", "name"], &input.name, MAX_NAME);
    let flag = one_flag(input.feature_flag, input.feature_flags);
    check_fields(&mut v, &input.description, input.schemas.as_ref(), flag.as_deref());
    v.finish()?;
    let now = Timestamp::now();
    let et = EventType {
        name: input.name,
        description: input.description,
        archived: input.archived.unwrap_or(false),
        deprecated: input.deprecated.unwrap_or(false),
        feature_flag: flag,
        schemas: input.schemas,
        created_at: now,
        updated_at: now,
    };
    state.store.create_event_type(&et).await?;
    Ok((StatusCode::CREATED, Json(et.into())))
}

/// Get an event type (archived ones too).
#[utoipa::path(
    get,
    path = "/api/v1/event-type/{event_type_name}",
    operation_id = "v1.event-type.get",
    tag = "Event Type",
    params(
        ("event_type_name" = String, Path, description = "The event type's name"),
    ),
    responses(
        (status = 200, body = EventTypeOut),
        (status = 404, body = crate::error::HttpErrorOut),
    ),
)]
pub(crate) async fn get_one(
    _: Caller,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<EventTypeOut>, ApiError> {
    Ok(Json(find(&state, &name).await?.into()))
}

async fn find(state: &AppState, name: &str) -> Result<EventType, ApiError> {
    (state.store.get_event_type(name).await?)
        .ok_or_else(|| ApiError::NotFound("Event type not found".to_owned()))
}

/// Replace an event type, creating it (201) when it does not exist.
#[utoipa::path(
    put,
    path = "/api/v1/event-type/{event_type_name}",
    operation_id = "v1.event-type.update",
    tag = "Event Type",
    request_body = EventTypeUpdate,
    params(
        ("event_type_name" = String, Path, description = "The event type's name"),
    ),
    responses(
        (status = 200, body = EventTypeOut),
        (status = 201, body = EventTypeOut),
    ),
)]
pub(crate) async fn update(
    _: Admin,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Json(input): Json<EventTypeUpdate>,
) -> Result<(StatusCode, Json<EventTypeOut>), ApiError> {
    let mut v = Violations::new();
    v.ident(&["path", "event_type_name"], &name, MAX_NAME);
    let flag = one_flag(input.feature_flag, input.feature_flags);
    check_fields(&mut v, &input.description, input.schemas.as_ref(), flag.as_deref());
    v.finish()?;
    let now = Timestamp::now();
    let existing = state.store.get_event_type(&name).await?;
    let et = EventType {
        name,
        description: input.description,
        archived: input.archived.unwrap_or(false),
        deprecated: input.deprecated.unwrap_or(false),
        feature_flag: flag,
        schemas: input.schemas,
        created_at: existing.as_ref().map_or(now, |e| e.created_at),
        updated_at: now,
    };
    if existing.is_some() {
        state.store.update_event_type(&et).await?;
        Ok((StatusCode::OK, Json(et.into())))
    } else {
        state.store.create_event_type(&et).await?;
        Ok((StatusCode::CREATED, Json(et.into())))
    }
}

/// Change some fields of an event type.
#[utoipa::path(
    patch,
    path = "/api/v1/event-type/{event_type_name}",
    operation_id = "v1.event-type.patch",
    tag = "Event Type",
    request_body = EventTypePatch,
    params(
        ("event_type_name" = String, Path, description = "The event type's name"),
    ),
    responses(
        (status = 200, body = EventTypeOut),
    ),
)]
pub(crate) async fn patch(
    _: Admin,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Json(p): Json<EventTypePatch>,
) -> Result<Json<EventTypeOut>, ApiError> {
    let mut et = find(&state, &name).await?;
    if let Some(d) = p.description {
        et.description = d;
    }
    if let Some(a) = p.archived {
        et.archived = a;
    }
    if let Some(d) = p.deprecated {
        et.deprecated = d;
    }
    if let Some(s) = p.schemas {
        et.schemas = s;
    }
    match (p.feature_flag, p.feature_flags) {
        (Some(flag), _) => et.feature_flag = flag,
        (None, Some(flags)) => et.feature_flag = flags.and_then(|f| f.into_iter().next()),
        (None, None) => {}
    }
    let mut v = Violations::new();
    check_fields(&mut v, &et.description, et.schemas.as_ref(), et.feature_flag.as_deref());
    v.finish()?;
    et.updated_at = Timestamp::now();
    state.store.update_event_type(&et).await?;
    Ok(Json(et.into()))
}

/// Archive an event type, or remove it for good with `expunge=true`.
#[utoipa::path(
    delete,
    path = "/api/v1/event-type/{event_type_name}",
    operation_id = "v1.event-type.delete",
    tag = "Event Type",
    params(
        ("event_type_name" = String, Path, description = "The event type's name"),
        ("expunge" = Option<bool>, Query),
    ),
    responses(
        (status = 204),
    ),
)]
pub(crate) async fn delete(
    _: Admin,
    State(state): State<AppState>,
    Path(name): Path<String>,
    q: Query,
) -> Result<StatusCode, ApiError> {
    if q.bool("expunge", false)? {
        state.store.delete_event_type(&name).await?;
    } else {
        let mut et = find(&state, &name).await?;
        et.archived = true;
        et.updated_at = Timestamp::now();
        state.store.update_event_type(&et).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
