//! The listener's side of Herald's API: finding (or creating) what to relay, and
//! opening the message stream.

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::Resume;
use super::sse::EventStream;

/// A Herald server and the token to use with it.
pub(crate) struct Server {
    base: String,
    token: String,
    /// For the short API calls: a timeout each.
    calls: reqwest::Client,
    /// For the stream: no overall timeout (silence is detected by the reader).
    streams: reqwest::Client,
}

/// The message to resume after is unknown to the server (deleted, or another server's).
#[derive(Debug, thiserror::Error)]
#[error("the server does not know {0}, the message to resume after")]
pub(crate) struct UnknownResumePoint(String);

/// What is relayed: an application's messages, or one source's.
pub(crate) struct Target {
    pub(crate) app_id: String,
    pub(crate) source_id: Option<String>,
    pub(crate) ingest_url: Option<String>,
    /// Created by this listener, deleted when it stops.
    pub(crate) throwaway: bool,
}

impl Target {
    pub(crate) fn describe(&self) -> String {
        match &self.source_id {
            Some(src) if self.throwaway => format!("the throwaway source {src}"),
            Some(src) => format!("source {src}"),
            None => format!("every message of application {}", self.app_id),
        }
    }
}

impl Server {
    pub(crate) fn new(base: &str, token: &str) -> anyhow::Result<Self> {
        // reqwest is built without a TLS provider: install ring's (as `serve` does).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let user_agent = concat!("herald-listen/", env!("CARGO_PKG_VERSION"));
        let calls = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        let streams = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), token: token.to_owned(), calls, streams })
    }

    /// The source or application named, or a throwaway source when neither is.
    pub(crate) async fn target(&self, source: Option<&str>, app: Option<&str>) -> anyhow::Result<Target> {
        if let Some(source) = source {
            let found = self.call(reqwest::Method::GET, &format!("/api/v1/source/{source}"), None).await?;
            return Ok(Target {
                app_id: text(&found, "appId")?,
                source_id: Some(text(&found, "id")?),
                ingest_url: Some(text(&found, "ingestUrl")?),
                throwaway: false,
            });
        }
        if let Some(app) = app {
            let found = self.call(reqwest::Method::GET, &format!("/api/v1/app/{app}"), None).await?;
            return Ok(Target {
                app_id: text(&found, "id")?,
                source_id: None,
                ingest_url: None,
                throwaway: false,
            });
        }
        let name = format!("herald listen {}", herald_core::Timestamp::now().to_rfc3339());
        let app = self.call(reqwest::Method::POST, "/api/v1/app", Some(json!({"name": name}))).await?;
        let app_id = text(&app, "id")?;
        let body = json!({"name": name, "appId": app_id, "verifier": {"type": "none"}});
        let source = self.call(reqwest::Method::POST, "/api/v1/source", Some(body)).await?;
        Ok(Target {
            app_id,
            source_id: Some(text(&source, "id")?),
            ingest_url: Some(text(&source, "ingestUrl")?),
            throwaway: true,
        })
    }

    /// Deletes a throwaway target (its application, which takes the source along).
    pub(crate) async fn delete_throwaway(&self, target: &Target) {
        let path = format!("/api/v1/app/{}", target.app_id);
        if let Err(e) = self.call(reqwest::Method::DELETE, &path, None).await {
            super::say(&format!("could not delete the throwaway application {}: {e:#}", target.app_id));
        }
    }

    /// Opens the target's message stream where `resume` says.
    pub(crate) async fn connect(&self, target: &Target, resume: &Resume) -> anyhow::Result<EventStream> {
        let mut url = url::Url::parse(&format!("{}/api/v1/app/{}/events/stream", self.base, target.app_id))?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(source) = &target.source_id {
                q.append_pair("source", source);
            }
            match resume {
                Resume::After(id) => q.append_pair("after", id),
                Resume::Since(t) => q.append_pair("since", &t.to_rfc3339()),
            };
        }
        let response = self
            .streams
            .get(url)
            .bearer_auth(&self.token)
            .header("accept", "text/event-stream")
            .send()
            .await
            .context("the server is unreachable")?;
        if response.status() == reqwest::StatusCode::NOT_FOUND
            && let Resume::After(id) = resume
        {
            return Err(UnknownResumePoint(id.clone()).into());
        }
        let response = check(response).await?;
        Ok(EventStream::new(response))
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut request = self.calls.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = check(request.send().await.context("the server is unreachable")?).await?;
        let bytes = response.bytes().await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// The response if it is a success, else its status and error detail as an error.
async fn check(response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("detail").map(|d| d.as_str().map_or_else(|| d.to_string(), str::to_owned)))
        .unwrap_or(body);
    bail!("the server answered {status}: {detail}")
}

fn text(value: &Value, field: &str) -> anyhow::Result<String> {
    value[field].as_str().map(str::to_owned).with_context(|| format!("the server's answer has no `{field}`"))
}
