//! Who is calling, and what they may touch — decided in extractors, before any
//! handler runs.
//!
//! `Authorization: Bearer <token>`. The admin token (compared in constant time)
//! may do everything. An app-portal token (minted by
//! `POST /api/v1/auth/app-portal-access/{app_id}`, stored only as its SHA-256)
//! may only touch routes under `/api/v1/app/{that app}/…` and read the event-type
//! catalogue; anything else is 403, and a token for one application never learns
//! whether another application exists (403 whatever the path names).

use axum::extract::{FromRequestParts, RawPathParams};
use herald_core::{AppId, Application, Endpoint, Timestamp};
use http::request::Parts;
use http::{HeaderMap, header};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::ApiError;

/// The authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    Admin,
    /// An app-portal token, scoped to one application.
    App(AppId),
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let caller = authenticate(&parts.headers, state).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

async fn authenticate(headers: &HeaderMap, state: &AppState) -> Result<Caller, ApiError> {
    let token = bearer(headers).ok_or_else(|| ApiError::Unauthorized("Missing bearer token".to_owned()))?;
    let digest = Sha256::digest(token.as_bytes());
    let admin = state.config.admin_token.as_bytes();
    if !admin.is_empty() && bool::from(Sha256::digest(admin).ct_eq(&digest)) {
        return Ok(Caller::Admin);
    }
    match state.store.app_for_token(&hex(&digest), Timestamp::now()).await? {
        Some(app) => Ok(Caller::App(app)),
        None => Err(ApiError::Unauthorized("Invalid or expired token".to_owned())),
    }
}

/// The token of an `Authorization: Bearer …` header (the scheme is case-insensitive).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Lower-case hex, for token hashes and idempotency keys.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The stored form of an app-portal token.
pub(crate) fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A fresh app-portal token: `appsk_` and 32 random alphanumerics (~190 bits).
pub(crate) fn new_app_token() -> String {
    let tail: String =
        rand::rngs::OsRng.sample_iter(&rand::distributions::Alphanumeric).take(32).map(char::from).collect();
    format!("appsk_{tail}")
}

/// Only the admin token gets through.
#[derive(Debug)]
pub(crate) struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Admin => Ok(Admin),
            Caller::App(_) => Err(ApiError::forbidden()),
        }
    }
}

/// The application named by the `{app_id}` path parameter (id or uid), which the
/// caller may touch. 404 when it does not exist (for the admin).
#[derive(Debug)]
pub(crate) struct AppAccess {
    pub app: Application,
    pub caller: Caller,
}

impl FromRequestParts<AppState> for AppAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let id_or_uid = path_param(parts, state, "app_id").await?;
        if let Caller::App(own) = &caller {
            // Another application's path: refuse before looking it up, so the
            // answer does not depend on whether it exists.
            if AppId::parse(&id_or_uid).is_some_and(|id| id != *own) {
                return Err(ApiError::forbidden());
            }
        }
        let found = state.store.get_app(&id_or_uid).await?;
        match (&caller, found) {
            (Caller::App(own), Some(app)) if app.id != *own => Err(ApiError::forbidden()),
            (Caller::App(_), None) => Err(ApiError::forbidden()),
            (_, None) => Err(ApiError::NotFound("Application not found".to_owned())),
            (_, Some(app)) => Ok(AppAccess { app, caller }),
        }
    }
}

/// An endpoint (`{endpoint_id}`, id or uid) of the application in the path.
#[derive(Debug)]
pub(crate) struct EndpointAccess {
    pub app: Application,
    pub endpoint: Endpoint,
}

impl FromRequestParts<AppState> for EndpointAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let AppAccess { app, .. } = AppAccess::from_request_parts(parts, state).await?;
        let id_or_uid = path_param(parts, state, "endpoint_id").await?;
        match state.store.get_endpoint(&app.id, &id_or_uid).await? {
            Some(endpoint) => Ok(EndpointAccess { app, endpoint }),
            None => Err(ApiError::NotFound("Endpoint not found".to_owned())),
        }
    }
}

/// One path parameter by name.
pub(crate) async fn path_param(parts: &mut Parts, state: &AppState, name: &str) -> Result<String, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::invalid(&["path"], e.body_text()))?;
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .ok_or_else(|| ApiError::internal(format!("route has no `{name}` parameter")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().expect("value"));
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "bearer  abc ".parse().expect("value"));
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().expect("value"));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn app_tokens_are_random_and_hashed() {
        let (a, b) = (new_app_token(), new_app_token());
        assert_ne!(a, b);
        assert!(a.starts_with("appsk_") && a.len() == 38);
        assert_eq!(token_hash(&a).len(), 64);
    }
}
