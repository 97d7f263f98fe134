//! The test harness: the API router on a real SQLite store in a temporary
//! directory, driven with `oneshot` requests. No listener, no delivery workers.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use herald_api::{ApiConfig, AppState, router};
use herald_delivery::DispatchHandle;
use herald_sqlite::SqliteStore;
use herald_store::{SecretKey, Store};
use http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const ADMIN: &str = "test-admin-token";

/// Fields the official svix 2.9 crate requires when it decodes each answer.
pub mod required {
    pub const APPLICATION: &[&str] = &["id", "name", "metadata", "createdAt", "updatedAt"];
    pub const ENDPOINT: &[&str] = &["id", "metadata", "url", "description", "createdAt", "updatedAt"];
    pub const EVENT_TYPE: &[&str] = &["name", "description", "deprecated", "createdAt", "updatedAt"];
    pub const MESSAGE: &[&str] = &["id", "eventType", "payload", "timestamp"];
    pub const ATTEMPT: &[&str] = &[
        "id",
        "msgId",
        "endpointId",
        "url",
        "response",
        "responseStatusCode",
        "responseDurationMs",
        "status",
        "statusText",
        "triggerType",
        "timestamp",
    ];
    pub const MESSAGE_ENDPOINT: &[&str] =
        &["id", "status", "statusText", "url", "description", "createdAt", "updatedAt"];
    pub const ENDPOINT_MESSAGE: &[&str] =
        &["id", "status", "statusText", "eventType", "payload", "timestamp"];
    pub const STATS: &[&str] = &["success", "pending", "sending", "fail", "canceled"];
    pub const RECOVER: &[&str] = &["id", "status", "task", "updatedAt"];
    pub const LIST: &[&str] = &["data", "done"];
}

/// Asserts that `value` carries every one of `fields` (non-null).
#[track_caller]
pub fn assert_fields(value: &Value, fields: &[&str]) {
    for f in fields {
        assert!(value.get(f).is_some_and(|v| !v.is_null()), "missing `{f}` in {value}");
    }
}

/// One answer: status and body (JSON, or `Null` when empty), as text too.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub text: String,
    pub body: Value,
}

impl Resp {
    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        self
    }

    /// Asserts an error answer: the status and the JSON `code`.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Self {
        let resp = self.expect(status);
        assert_eq!(resp.body["code"], code, "body: {}", resp.text);
        assert!(resp.body["detail"].is_string(), "body: {}", resp.text);
        resp
    }

    /// Asserts a 422 in Svix's `HTTPValidationError` shape naming `loc`.
    #[track_caller]
    pub fn expect_invalid(self, loc: &[&str]) -> Self {
        let resp = self.expect(422);
        let items = resp.body["detail"].as_array().expect("detail is a list");
        let locs: Vec<Value> = items.iter().map(|i| i["loc"].clone()).collect();
        assert!(locs.contains(&json!(loc)), "no {loc:?} in {}", resp.text);
        for i in items {
            assert!(i["msg"].is_string() && i["type"].is_string(), "{}", resp.text);
        }
        resp
    }
}

pub struct Api {
    pub router: Router,
    pub store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

impl Api {
    pub fn new() -> Self {
        Self::with_config(|_| {})
    }

    pub fn with_config(tweak: impl FnOnce(&mut ApiConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&dir.path().join("herald.db"), &SecretKey::generate()).expect("store opens"),
        );
        let mut config = ApiConfig { admin_token: ADMIN.to_owned(), ..ApiConfig::default() };
        tweak(&mut config);
        let state = AppState::new(store.clone(), DispatchHandle::detached(), config);
        Self { router: router(state), store, _dir: dir }
    }

    /// Sends a request built by the caller.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let content_type =
            resp.headers().get(http::header::CONTENT_TYPE).map(|v| v.to_str().expect("ascii").to_owned());
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        let text = String::from_utf8(bytes.to_vec()).expect("utf-8");
        let body = if text.is_empty() {
            Value::Null
        } else {
            assert_eq!(content_type.as_deref(), Some("application/json"), "non-JSON answer: {text}");
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON answer ({e}): {text}"))
        };
        Resp { status, text, body }
    }

    /// A request with an optional bearer token and JSON body.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, Some(ADMIN), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call("POST", path, Some(ADMIN), Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call("PUT", path, Some(ADMIN), Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.call("PATCH", path, Some(ADMIN), Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call("DELETE", path, Some(ADMIN), None).await
    }

    /// Creates an application; returns its id.
    pub async fn app(&self, name: &str) -> String {
        let resp = self.post("/api/v1/app", json!({ "name": name })).await.expect(201);
        resp.body["id"].as_str().expect("id").to_owned()
    }

    /// Creates an endpoint of `app` from `body`; returns its id.
    pub async fn endpoint(&self, app: &str, body: Value) -> String {
        let resp = self.post(&format!("/api/v1/app/{app}/endpoint"), body).await.expect(201);
        resp.body["id"].as_str().expect("id").to_owned()
    }

    /// Sends a message to `app`; returns the answer's body.
    pub async fn message(&self, app: &str, body: Value) -> Value {
        self.post(&format!("/api/v1/app/{app}/msg"), body).await.expect(202).body
    }
}
