//! The one HTTP client of Herald's commands that talk to a running server (`herald
//! listen`, `send`, `tail`, `app`, …): the server's base URL and token, JSON calls
//! with a timeout each, and streams without one. Failures become [`CallError`]s whose
//! messages say what to do next.

use std::time::Duration;

use serde_json::Value;

use super::conn::Connection;

/// A Herald server and the token to use with it.
pub struct Client {
    base: String,
    token: String,
    /// For the short API calls: a timeout each.
    calls: reqwest::Client,
    /// For streams: no overall timeout (silence is detected by the reader).
    streams: reqwest::Client,
}

/// Why a call failed, worded for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(
        "cannot reach {server} ({reason}); is `herald serve` running there? (set --server or HERALD_SERVER)"
    )]
    Unreachable { server: String, reason: String },
    #[error(
        "the token was refused (401); pass --token or set HERALD_TOKEN (the admin token is in herald-data/admin-token)"
    )]
    Unauthorized,
    #[error("this token may not do that (403: {detail}); use the admin token")]
    Forbidden { detail: String },
    #[error("not found (404): {detail}")]
    NotFound { detail: String },
    #[error("the server refused it ({status}): {detail}")]
    Refused { status: u16, code: String, detail: String },
    #[error("the server's answer could not be read: {0}")]
    BadAnswer(String),
}

impl Client {
    pub fn new(conn: &Connection) -> anyhow::Result<Self> {
        // reqwest is built without a TLS provider: install ring's (as `serve` does).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let user_agent = concat!("herald-cli/", env!("CARGO_PKG_VERSION"));
        let calls =
            reqwest::Client::builder().user_agent(user_agent).timeout(Duration::from_secs(30)).build()?;
        let streams = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        let base = conn.server.trim_end_matches('/').to_owned();
        Ok(Self { base, token: conn.token.clone(), calls, streams })
    }

    /// The server's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `path` (from `/api/v1/…`) with its query, percent-encoded.
    pub fn url(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<url::Url> {
        let mut url = url::Url::parse(&format!("{}{path}", self.base))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, CallError> {
        let url = self.url(path, query).map_err(|e| CallError::BadAnswer(e.to_string()))?;
        self.send(self.calls.get(url)).await
    }

    /// A call with an optional JSON body; `Null` for an empty answer.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, CallError> {
        self.call_with(method, path, body, &[]).await
    }

    /// [`Self::call`] with extra request headers (`idempotency-key`).
    pub async fn call_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Value, CallError> {
        let mut request = self.calls.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        self.send(request).await
    }

    /// Opens a server-sent-events stream; the response is returned on any 2xx.
    pub async fn stream(&self, url: url::Url) -> Result<reqwest::Response, CallError> {
        let request = self.streams.get(url).header("accept", "text/event-stream");
        let response = request.bearer_auth(&self.token).send().await.map_err(|e| self.unreachable(&e))?;
        check(response).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, CallError> {
        let response = request.bearer_auth(&self.token).send().await.map_err(|e| self.unreachable(&e))?;
        let bytes = check(response).await?.bytes().await.map_err(|e| CallError::BadAnswer(e.to_string()))?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| CallError::BadAnswer(e.to_string()))
    }

    fn unreachable(&self, e: &reqwest::Error) -> CallError {
        let reason = if e.is_connect() {
            "connection refused or no route".to_owned()
        } else if e.is_timeout() {
            "timed out".to_owned()
        } else {
            e.to_string()
        };
        CallError::Unreachable { server: self.base.clone(), reason }
    }
}

/// The response if it is a success, else a [`CallError`] from its status and body.
async fn check(response: reqwest::Response) -> Result<reqwest::Response, CallError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(error_for(status.as_u16(), &body))
}

/// The error an unsuccessful answer stands for: `{code, detail}` bodies are read,
/// validation details (`[{loc, msg}]`) become `loc: msg` lines.
pub(crate) fn error_for(status: u16, body: &str) -> CallError {
    let json = serde_json::from_str::<Value>(body).ok();
    let code = json.as_ref().and_then(|v| v["code"].as_str()).unwrap_or_default().to_owned();
    let detail = match json.as_ref().map(|v| &v["detail"]) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                let loc: Vec<String> = (i["loc"].as_array().into_iter().flatten())
                    .map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_owned))
                    .collect();
                format!("{}: {}", loc.join("."), i["msg"].as_str().unwrap_or_default())
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => body.trim().chars().take(300).collect(),
    };
    match status {
        401 => CallError::Unauthorized,
        403 => CallError::Forbidden { detail },
        404 => CallError::NotFound { detail },
        _ => CallError::Refused { status, code, detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_to_do_next() {
        assert!(error_for(401, "").to_string().contains("pass --token or set HERALD_TOKEN"));
        let invalid = r#"{"code":"validation","detail":[{"loc":["body","url"],"msg":"not a URL","type":"value_error"}]}"#;
        assert_eq!(error_for(422, invalid).to_string(), "the server refused it (422): body.url: not a URL");
        let conflict = r#"{"code":"conflict","detail":"uid taken"}"#;
        assert!(
            matches!(error_for(409, conflict), CallError::Refused { status: 409, ref code, .. } if code == "conflict")
        );
        assert_eq!(
            error_for(404, r#"{"code":"not_found","detail":"Application not found"}"#).to_string(),
            "not found (404): Application not found"
        );
        assert_eq!(error_for(500, "plain text").to_string(), "the server refused it (500): plain text");
    }
}
