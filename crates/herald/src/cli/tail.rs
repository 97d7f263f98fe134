//! `herald tail`: every delivery attempt as it is recorded, one line each, from the
//! server's attempt stream (`GET /api/v1/attempt/stream`, admin token). Filters go
//! to the server. The stream is followed like `herald listen` follows messages: a
//! stream silent for [`SILENCE`] counts as lost, it reconnects with backoff and
//! resumes after the last attempt printed, dropping what the server sends again.

use std::process::ExitCode;
use std::time::Duration;

use herald_core::Timestamp;
use serde::Deserialize;

use super::attempts::Outcome;
use super::client::{CallError, Client};
use super::conn::ConnArgs;
use super::output::{OutputArgs, print, truncate};
use super::sse::{EventStream, Seen};
use super::time_arg;

/// A stream with no bytes (not even a keep-alive comment) for this long is lost.
const SILENCE: Duration = Duration::from_secs(45);
/// Reconnection waits: from the first to the longest, doubling.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(5));

#[derive(clap::Args, Debug)]
pub struct TailArgs {
    /// Only this application's attempts (id or uid).
    #[arg(long)]
    app: Option<String>,
    /// Only this endpoint's (an id, or a uid with --app).
    #[arg(long)]
    endpoint: Option<String>,
    /// Only attempts of messages of this event type (repeat the flag for several).
    #[arg(long = "event-type")]
    event_types: Vec<String>,
    /// Only successes or only failures.
    #[arg(long, value_enum)]
    status: Option<Outcome>,
    /// First print the attempts of this past window (RFC 3339, or a duration like 10m).
    #[arg(long)]
    since: Option<String>,
    #[command(flatten)]
    conn: ConnArgs,
    /// `--json`: print each attempt as one line of JSON.
    #[command(flatten)]
    out: OutputArgs,
}

/// One streamed attempt: the fields a line shows.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AttemptLine {
    id: String,
    timestamp: String,
    status_text: String,
    response_status_code: u16,
    response_duration_ms: u64,
    app_id: String,
    #[serde(default)]
    app_uid: Option<String>,
    endpoint_id: String,
    #[serde(default)]
    endpoint_uid: Option<String>,
    url: String,
    event_type: String,
    msg_id: String,
    #[serde(default)]
    response: String,
}

impl AttemptLine {
    /// `time  status code  duration  app  endpoint url  event type  message`, and
    /// for a failure without a response, why.
    pub(crate) fn render(&self) -> String {
        let time = self.timestamp.get(..19).unwrap_or(&self.timestamp).replace('T', " ");
        let code = if self.response_status_code == 0 {
            "---".to_owned()
        } else {
            self.response_status_code.to_string()
        };
        let app = self.app_uid.as_deref().unwrap_or(&self.app_id);
        let endpoint = self.endpoint_uid.as_deref().unwrap_or(&self.endpoint_id);
        let mut line = format!(
            "{time}  {:<7} {code}  {:>5} ms  {app}  {endpoint} {}  {}  {}",
            self.status_text,
            self.response_duration_ms,
            truncate(&self.url, 60),
            self.event_type,
            self.msg_id
        );
        if self.response_status_code == 0 && !self.response.is_empty() {
            line.push_str(&format!("  ({})", truncate(&self.response, 80)));
        }
        line
    }
}

pub(crate) async fn run(args: TailArgs) -> anyhow::Result<ExitCode> {
    let conn = args.conn.resolve()?;
    let client = Client::new(&conn)?;
    let mut query: Vec<(&str, String)> = Vec::new();
    query.extend(args.app.clone().map(|a| ("app", a)));
    query.extend(args.endpoint.clone().map(|e| ("endpoint", e)));
    query.extend(args.event_types.iter().map(|t| ("event_types", t.clone())));
    query.extend(args.status.map(|s| ("status", s.code().to_owned())));
    let since = args.since.as_deref().map(|s| time_arg("--since", s)).transpose()?;
    eprintln!("following delivery attempts on {}; Ctrl-C to stop", client.base());
    follow(&client, &query, since, args.out.json).await
}

/// Connects, prints until the stream is lost, and reconnects — until an error that
/// retrying cannot fix (a refused token, an unknown application).
async fn follow(
    client: &Client,
    filters: &[(&str, String)],
    since: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let started = Timestamp::now().to_rfc3339();
    let mut seen = Seen::default();
    let mut last: Option<String> = None;
    let mut wait = BACKOFF.0;
    loop {
        let mut query = filters.to_vec();
        match &last {
            Some(id) => query.push(("after", id.clone())),
            None => query.push(("since", since.clone().unwrap_or_else(|| started.clone()))),
        }
        match client.stream(client.url("/api/v1/attempt/stream", &query)?).await {
            Ok(response) => {
                wait = BACKOFF.0;
                let mut stream = EventStream::new(response);
                let lost = loop {
                    let event = match tokio::time::timeout(SILENCE, stream.next_event()).await {
                        Err(_) => break format!("nothing received for {} s", SILENCE.as_secs()),
                        Ok(Err(e)) => break format!("{e:#}"),
                        Ok(Ok(None)) => break "the server closed the stream".to_owned(),
                        Ok(Ok(Some(event))) if event.kind == "attempt" => event,
                        Ok(Ok(Some(_))) => continue,
                    };
                    let attempt: AttemptLine = event.decode()?;
                    last = Some(attempt.id.clone());
                    if seen.first_time(&attempt.id) {
                        print(&if json { event.data } else { attempt.render() });
                    }
                };
                eprintln!("disconnected: {lost}; reconnecting");
            }
            Err(e @ (CallError::Unreachable { .. } | CallError::Refused { status: 500.., .. })) => {
                eprintln!("{e}; retrying in {} ms", wait.as_millis());
            }
            Err(e) => return Err(e.into()),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(BACKOFF.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_is_one_line_with_uids_preferred() {
        let data = r#"{"id":"atmpt_1","msgId":"msg_1","endpointId":"ep_1","url":"https://a.example/hook",
            "response":"ok","responseStatusCode":200,"responseDurationMs":31,"status":0,"statusText":"success",
            "timestamp":"2026-11-27T08:30:01.123Z","triggerType":0,"appId":"app_1","appUid":"acme",
            "endpointUid":"main","eventType":"order.paid"}"#;
        let a: AttemptLine = serde_json::from_str(data).expect("parses");
        assert_eq!(
            a.render(),
            "2026-11-27 08:30:01  success 200     31 ms  acme  main https://a.example/hook  order.paid  msg_1"
        );
        let failed = AttemptLine {
            response_status_code: 0,
            status_text: "fail".into(),
            response: "connection refused".into(),
            app_uid: None,
            endpoint_uid: None,
            ..a
        };
        assert_eq!(
            failed.render(),
            "2026-11-27 08:30:01  fail    ---     31 ms  app_1  ep_1 https://a.example/hook  order.paid  msg_1  (connection refused)"
        );
    }
}
