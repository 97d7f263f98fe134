//! The one error type of the API and how it becomes an HTTP answer.
//!
//! Every failure is JSON: `{"code": "...", "detail": "..."}` as Svix's
//! `HttpErrorOut`, except validation failures (422), which use Svix's
//! `HTTPValidationError` shape `{"detail": [{"loc", "msg", "type"}]}` so the SDKs
//! decode them as validation errors. Internal errors are logged with their source and
//! answered without it.

use axum::Json;
use axum::response::{IntoResponse, Response};
use herald_store::StoreError;
use http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

/// Why a request failed, in terms of the answer it gets.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("validation failed")]
    Validation(Vec<ValidationItem>),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One failed check, located like Svix does: `["body", "url"]`, `["query", "limit"]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct ValidationItem {
    pub loc: Vec<String>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl ValidationItem {
    pub fn new(loc: &[&str], msg: impl Into<String>) -> Self {
        Self::typed(loc, msg, "value_error")
    }

    pub fn typed(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        Self { loc: loc.iter().map(|s| (*s).to_owned()).collect(), msg: msg.into(), kind: kind.to_owned() }
    }
}

/// Svix's `HttpErrorOut`.
#[derive(Serialize, ToSchema)]
pub struct HttpErrorOut {
    pub code: String,
    pub detail: String,
}

/// Svix's `HTTPValidationError`.
#[derive(Serialize, ToSchema)]
pub struct HttpValidationError {
    pub detail: Vec<ValidationItem>,
}

impl ApiError {
    pub fn not_found() -> Self {
        Self::NotFound("Entity not found".to_owned())
    }

    pub fn forbidden() -> Self {
        Self::Forbidden("Insufficient access for the given operation.".to_owned())
    }

    /// A single validation failure.
    pub fn invalid(loc: &[&str], msg: impl Into<String>) -> Self {
        Self::Validation(vec![ValidationItem::new(loc, msg)])
    }

    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(source.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "authentication_failed",
            Self::Forbidden(_) => "insufficient_access",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Validation(_) => "validation",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "server_error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match self {
            Self::Validation(items) => {
                return (status, Json(HttpValidationError { detail: items })).into_response();
            }
            Self::Internal(ref source) => {
                tracing::error!(error = %source, source = ?source, "request failed");
                "Internal Server Error".to_owned()
            }
            ref other => other.to_string(),
        };
        (status, Json(HttpErrorOut { code: self.code().to_owned(), detail })).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => {
                Self::Conflict(format!("An entity with this {what} already exists"))
            }
            StoreError::NotFound => Self::not_found(),
            other => Self::internal(other),
        }
    }
}

/// Unknown routes answer a JSON 404.
pub(crate) async fn not_found_fallback() -> ApiError {
    ApiError::NotFound("No such route".to_owned())
}

/// Known routes with an unsupported method answer a JSON 405.
pub(crate) async fn method_not_allowed_fallback() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(e: ApiError) -> (StatusCode, serde_json::Value) {
        let resp = e.into_response();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        (status, serde_json::from_slice(&bytes).expect("json"))
    }

    #[tokio::test]
    async fn errors_are_json_with_code_and_detail() {
        let (status, body) = body_of(StoreError::Conflict("uid").into()).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["code"], "conflict");
        let (status, body) = body_of(ApiError::internal("secret database detail")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("secret"));
    }

    #[tokio::test]
    async fn validation_errors_use_svix_shape() {
        let (status, body) = body_of(ApiError::invalid(&["body", "url"], "bad url")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["detail"][0]["loc"], serde_json::json!(["body", "url"]));
        assert_eq!(body["detail"][0]["type"], "value_error");
    }
}
