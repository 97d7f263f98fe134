//! Shared helpers: an SDK client for a test server, and small setup steps.

use std::time::Duration;

use herald_testkit::TestServer;
use svix::api::{Svix, SvixOptions};
use svix::models::{ApplicationIn, EndpointIn};

pub const WAIT: Duration = Duration::from_secs(10);

/// The official SDK pointed at the test server, with its own retries off so a
/// failure shows as it happened.
pub fn sdk(server: &TestServer) -> Svix {
    sdk_with_token(server, &server.token)
}

pub fn sdk_with_token(server: &TestServer, token: &str) -> Svix {
    install_crypto();
    let options = SvixOptions {
        server_url: Some(server.base_url.clone()),
        num_retries: Some(0),
        ..SvixOptions::default()
    };
    Svix::new(token.to_owned(), Some(options))
}

/// Creates an application and one endpoint at `url`; returns (app id, endpoint id, secret).
pub async fn app_with_endpoint(svix: &Svix, url: &str) -> (String, String, String) {
    let app = svix.application().create(ApplicationIn::new("Acme".into()), None).await.expect("app created");
    let ep = svix
        .endpoint()
        .create(app.id.clone(), EndpointIn::new(url.to_owned()), None)
        .await
        .expect("endpoint");
    let secret = svix.endpoint().get_secret(app.id.clone(), ep.id.clone()).await.expect("secret").key;
    (app.id, ep.id, secret)
}

/// The HTTP status of an SDK error.
pub fn status_of(err: svix::error::Error) -> u16 {
    match err {
        svix::error::Error::Http(e) => e.status.as_u16(),
        svix::error::Error::Validation(e) => e.status.as_u16(),
        other => panic!("expected an HTTP error, got {other:?}"),
    }
}

/// Waits until `check` returns true, polling the API; panics after `WAIT`.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Verifies a received request with the SDK's Standard Webhooks verifier.
pub fn verify(secret: &str, received: &herald_testkit::Received) -> Result<(), String> {
    let wh = svix::webhooks::Webhook::new(secret).map_err(|e| format!("{e:?}"))?;
    let mut headers = http::HeaderMap::new();
    for (name, value) in &received.headers {
        headers.insert(name.clone(), value.clone());
    }
    wh.verify(&received.body, &headers).map_err(|e| format!("{e:?}"))
}

/// Test builds link rustls with two providers (ring for Herald, aws-lc-rs through
/// the SDK's defaults), so none is picked implicitly: choose ring, as `main` does.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A plain HTTP client for requests the SDK cannot make.
pub fn http() -> reqwest::Client {
    install_crypto();
    reqwest::Client::new()
}

/// Posts `n` messages (event type `load.test`) to `app` through the HTTP API, 16 at
/// a time, and returns their ids; every one must be accepted.
pub async fn post_messages(server: &TestServer, app: &str, n: usize) -> Vec<String> {
    let client = http();
    let url = format!("{}/api/v1/app/{app}/msg", server.base_url);
    let mut tasks = tokio::task::JoinSet::new();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        if tasks.len() >= 16 {
            ids.push(tasks.join_next().await.expect("a task").expect("posted"));
        }
        let (client, url, token) = (client.clone(), url.clone(), server.token.clone());
        tasks.spawn(async move {
            let body = serde_json::json!({"eventType": "load.test", "payload": {"i": i}});
            let response = client.post(&url).bearer_auth(token).json(&body).send().await.expect("post");
            assert_eq!(response.status(), 202, "message {i} accepted");
            let out: serde_json::Value = response.json().await.expect("JSON answer");
            out["id"].as_str().expect("an id").to_owned()
        });
    }
    while let Some(done) = tasks.join_next().await {
        ids.push(done.expect("posted"));
    }
    ids
}
