//! An endpoint's custom headers (`/endpoint/{endpoint_id}/headers`).
//!
//! `GET` answers `{headers, sensitive}`: credentials-like headers are listed by
//! name in `sensitive` and their values never leave the server. `PUT` replaces the
//! set; `PATCH` merges (a `null` value, or a name in `deleteHeaders`, removes).
//! Header names are matched case-insensitively.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use herald_core::Timestamp;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::EndpointAccess;
use crate::error::ApiError;
use crate::extract::Json;
use crate::validate::Violations;

/// Headers whose values are never shown.
const SENSITIVE: &[&str] =
    &["authorization", "proxy-authorization", "x-auth-token", "www-authenticate", "proxy-authenticate"];

/// Headers Herald sets itself, or that would break the request.
const RESERVED: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
];
const RESERVED_PREFIXES: &[&str] = &["webhook-", "svix-"];

#[derive(Debug, Deserialize, ToSchema)]
pub struct EndpointHeadersIn {
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointHeadersPatchIn {
    #[serde(default)]
    pub headers: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub delete_headers: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointHeadersOut {
    pub headers: BTreeMap<String, String>,
    pub sensitive: BTreeSet<String>,
}

/// Checks header names and values (`None` values are removals).
pub(crate) fn check_headers<'a>(
    v: &mut Violations,
    headers: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) {
    for (name, value) in headers {
        let loc = ["body", "headers", name];
        let lower = name.to_ascii_lowercase();
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            v.push(&loc, "not a valid HTTP header name");
        } else if RESERVED.contains(&lower.as_str()) || RESERVED_PREFIXES.iter().any(|p| lower.starts_with(p))
        {
            v.push(&loc, "this header is set by Herald and cannot be overridden");
        }
        if value.is_some_and(|val| HeaderValue::from_str(val).is_err()) {
            v.push(&loc, "not a valid HTTP header value");
        }
    }
}

/// Get the endpoint's custom headers.
#[utoipa::path(
    get,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers",
    operation_id = "v1.endpoint.get-headers",
    tag = "Endpoint",
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 200, body = EndpointHeadersOut),
    ),
)]
pub(crate) async fn get_headers(access: EndpointAccess) -> Json<EndpointHeadersOut> {
    let mut out = EndpointHeadersOut { headers: BTreeMap::new(), sensitive: BTreeSet::new() };
    for (name, value) in access.endpoint.headers {
        if SENSITIVE.contains(&name.to_ascii_lowercase().as_str()) {
            out.sensitive.insert(name);
        } else {
            out.headers.insert(name, value);
        }
    }
    Json(out)
}

/// Replace the endpoint's custom headers.
#[utoipa::path(
    put,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers",
    operation_id = "v1.endpoint.update-headers",
    tag = "Endpoint",
    request_body = EndpointHeadersIn,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 204),
    ),
)]
pub(crate) async fn put_headers(
    access: EndpointAccess,
    State(state): State<AppState>,
    Json(input): Json<EndpointHeadersIn>,
) -> Result<StatusCode, ApiError> {
    let mut v = Violations::new();
    check_headers(&mut v, input.headers.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))));
    v.finish()?;
    let mut ep = access.endpoint;
    ep.headers = input.headers;
    ep.updated_at = Timestamp::now();
    state.store.update_endpoint(&ep).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Merge into the endpoint's custom headers.
#[utoipa::path(
    patch,
    path = "/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers",
    operation_id = "v1.endpoint.patch-headers",
    tag = "Endpoint",
    request_body = EndpointHeadersPatchIn,
    params(
        ("app_id" = String, Path, description = "The application's id or uid"),
        ("endpoint_id" = String, Path, description = "The endpoint's id or uid"),
    ),
    responses(
        (status = 204),
    ),
)]
pub(crate) async fn patch_headers(
    access: EndpointAccess,
    State(state): State<AppState>,
    Json(input): Json<EndpointHeadersPatchIn>,
) -> Result<StatusCode, ApiError> {
    let mut v = Violations::new();
    check_headers(&mut v, input.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())));
    v.finish()?;
    let mut ep = access.endpoint;
    let removed = input.delete_headers.iter().map(String::as_str);
    for name in input.headers.keys().map(String::as_str).chain(removed) {
        ep.headers.retain(|k, _| !k.eq_ignore_ascii_case(name));
    }
    ep.headers.extend(input.headers.into_iter().filter_map(|(k, v)| Some((k, v?))));
    ep.updated_at = Timestamp::now();
    state.store.update_endpoint(&ep).await?;
    Ok(StatusCode::NO_CONTENT)
}
