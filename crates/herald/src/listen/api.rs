//! The listener's side of Herald's API, on the shared [`Client`]: finding (or
//! creating) what to relay, and opening the message stream.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Resume;
use crate::cli::client::{CallError, Client};
use crate::cli::sse::EventStream;

/// The message to resume after is unknown to the server (deleted, or another server's).
#[derive(Debug, thiserror::Error)]
#[error("the server does not know {0}, the message to resume after")]
pub(crate) struct UnknownResumePoint(String);

/// One message, as the stream describes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StreamEvent {
    pub(crate) id: String,
    pub(crate) event_type: String,
    /// Base64 of the exact bytes to forward.
    body: String,
    #[serde(default)]
    pub(crate) original_headers: Option<Vec<(String, String)>>,
}

impl StreamEvent {
    pub(crate) fn body(&self) -> anyhow::Result<Bytes> {
        Ok(Bytes::from(B64.decode(&self.body).context("the event's body is not base64")?))
    }
}

/// A stream of messages.
pub(crate) struct Messages(EventStream);

impl Messages {
    /// The next message; `None` when the server ended the stream.
    pub(crate) async fn next(&mut self) -> anyhow::Result<Option<StreamEvent>> {
        while let Some(event) = self.0.next_event().await? {
            if event.kind == "message" {
                return event.decode().map(Some);
            }
        }
        Ok(None)
    }
}

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

/// The source or application named, or a throwaway source when neither is.
pub(crate) async fn target(
    client: &Client,
    source: Option<&str>,
    app: Option<&str>,
) -> anyhow::Result<Target> {
    if let Some(source) = source {
        let found = client.get(&format!("/api/v1/source/{source}"), &[]).await?;
        return Ok(Target {
            app_id: text(&found, "appId")?,
            source_id: Some(text(&found, "id")?),
            ingest_url: Some(text(&found, "ingestUrl")?),
            throwaway: false,
        });
    }
    if let Some(app) = app {
        let found = client.get(&format!("/api/v1/app/{app}"), &[]).await?;
        return Ok(Target {
            app_id: text(&found, "id")?,
            source_id: None,
            ingest_url: None,
            throwaway: false,
        });
    }
    let name = format!("herald listen {}", herald_core::Timestamp::now().to_rfc3339());
    let app = client.call(Method::POST, "/api/v1/app", Some(&json!({"name": name}))).await?;
    let app_id = text(&app, "id")?;
    let body = json!({"name": name, "appId": app_id, "verifier": {"type": "none"}});
    let source = client.call(Method::POST, "/api/v1/source", Some(&body)).await?;
    Ok(Target {
        app_id,
        source_id: Some(text(&source, "id")?),
        ingest_url: Some(text(&source, "ingestUrl")?),
        throwaway: true,
    })
}

/// Deletes a throwaway target (its application, which takes the source along).
pub(crate) async fn delete_throwaway(client: &Client, target: &Target) {
    let path = format!("/api/v1/app/{}", target.app_id);
    if let Err(e) = client.call(Method::DELETE, &path, None).await {
        super::say(&format!("could not delete the throwaway application {}: {e}", target.app_id));
    }
}

/// Opens the target's message stream where `resume` says.
pub(crate) async fn connect(client: &Client, target: &Target, resume: &Resume) -> anyhow::Result<Messages> {
    let mut query = Vec::new();
    if let Some(source) = &target.source_id {
        query.push(("source", source.clone()));
    }
    match resume {
        Resume::After(id) => query.push(("after", id.clone())),
        Resume::Since(t) => query.push(("since", t.to_rfc3339())),
    }
    let url = client.url(&format!("/api/v1/app/{}/events/stream", target.app_id), &query)?;
    match (client.stream(url).await, resume) {
        (Ok(response), _) => Ok(Messages(EventStream::new(response))),
        (Err(CallError::NotFound { .. }), Resume::After(id)) => Err(UnknownResumePoint(id.clone()).into()),
        (Err(e), _) => Err(e.into()),
    }
}

fn text(value: &Value, field: &str) -> anyhow::Result<String> {
    value[field].as_str().map(str::to_owned).with_context(|| format!("the server's answer has no `{field}`"))
}
