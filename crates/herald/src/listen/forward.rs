//! Forwarding one event to the local URL, and the line that reports it.

use std::time::{Duration, Instant};

use anyhow::Context;
use herald_core::{SigningKey, Timestamp, signing};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::api::StreamEvent;

/// How long the local handler may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Never forwarded: they describe the hop to Herald, not the event.
const HOP_HEADERS: &[&str] = &["host", "content-length", "connection", "transfer-encoding"];

/// Which headers go with a forwarded event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HeaderMode {
    /// The provider's original headers, when the event came through a source.
    Original,
    /// Always a Standard Webhooks signature under the listener's secret.
    Herald,
}

/// POSTs events to the local URL.
pub(crate) struct Forwarder {
    url: String,
    mode: HeaderMode,
    key: SigningKey,
    client: reqwest::Client,
}

impl Forwarder {
    pub(crate) fn new(url: &str, mode: HeaderMode, secret: Option<&str>) -> anyhow::Result<Self> {
        url::Url::parse(url).with_context(|| format!("--forward-to {url:?} is not a URL"))?;
        let key = match secret {
            Some(s) => SigningKey::parse(s).map_err(|e| anyhow::anyhow!("--secret: {e}"))?,
            None => SigningKey::generate_symmetric(),
        };
        // Local development: the handler is on this machine, redirects are not followed.
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()?;
        Ok(Self { url: url.to_owned(), mode, key, client })
    }

    /// What the banner says about signing.
    pub(crate) fn describe(&self) -> String {
        let signed = format!("Standard Webhooks signature with {}", self.key.expose());
        match self.mode {
            HeaderMode::Original => format!("the provider's original headers; otherwise a {signed}"),
            HeaderMode::Herald => format!("a {signed}"),
        }
    }

    /// Forwards the event; the line to print about it.
    pub(crate) async fn forward(&self, event: &StreamEvent) -> String {
        let started = Instant::now();
        let outcome = self.send(event).await;
        let ms = started.elapsed().as_millis();
        let result = match outcome {
            Ok(status) => format!("{status}"),
            Err(e) => format!("error: {e:#}"),
        };
        format!(
            "{}  {:<32}  {}  -> {result}  {ms} ms",
            Timestamp::now().to_rfc3339(),
            event.event_type,
            event.id
        )
    }

    async fn send(&self, event: &StreamEvent) -> anyhow::Result<u16> {
        let body = event.body()?;
        let headers = match (&event.original_headers, self.mode) {
            (Some(original), HeaderMode::Original) => original_headers(original),
            (original, _) => self.signed_headers(event, &body, original.as_deref()),
        };
        let response = self.client.post(&self.url).headers(headers).body(body).send().await?;
        Ok(response.status().as_u16())
    }

    fn signed_headers(
        &self,
        event: &StreamEvent,
        body: &[u8],
        original: Option<&[(String, String)]>,
    ) -> HeaderMap {
        let ts = Timestamp::now().seconds();
        let signature = signing::sign_all(std::iter::once(&self.key), &event.id, ts, body);
        let content_type = original
            .and_then(|h| h.iter().find(|(n, _)| n == "content-type"))
            .map_or("application/json", |(_, v)| v.as_str());
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("content-type", content_type),
            ("webhook-id", event.id.as_str()),
            ("webhook-timestamp", &ts.to_string()),
            ("webhook-signature", &signature),
        ] {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        headers
    }
}

fn original_headers(original: &[(String, String)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in original.iter().filter(|(n, _)| !HOP_HEADERS.contains(&n.as_str())) {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str())) {
            headers.append(n, v);
        }
    }
    headers
}
