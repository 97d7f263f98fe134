//! `herald attempt list|get|resend`: one application's delivery attempts.

use std::process::ExitCode;

use clap::Subcommand;
use herald_core::Timestamp;
use reqwest::Method;
use serde_json::Value;

use super::output::{ago, cell, fields};
use super::{Ctx, ListArgs, Usage, show_list};

#[derive(Subcommand, Debug)]
pub enum AttemptCmd {
    /// List attempts to an endpoint, or of a message, newest first.
    List {
        #[arg(long)]
        app: String,
        /// The endpoint's attempts (id or uid).
        #[arg(long, conflicts_with = "msg")]
        endpoint: Option<String>,
        /// The message's attempts (id or eventId).
        #[arg(long)]
        msg: Option<String>,
        /// Only successes or only failures.
        #[arg(long, value_enum)]
        status: Option<Outcome>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Show one attempt, with the response.
    Get {
        #[arg(long)]
        app: String,
        #[arg(long)]
        msg: String,
        attempt: String,
    },
    /// Send a message to an endpoint again, now.
    Resend {
        #[arg(long)]
        app: String,
        #[arg(long)]
        msg: String,
        #[arg(long)]
        endpoint: String,
    },
}

/// An attempt's outcome, as a filter.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Outcome {
    Success,
    Failed,
}

impl Outcome {
    /// Svix's status number.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Success => "0",
            Self::Failed => "2",
        }
    }
}

pub(crate) async fn run(ctx: &Ctx, cmd: AttemptCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        AttemptCmd::List { app, endpoint, msg, status, list } => {
            let path = match (endpoint, msg) {
                (Some(ep), _) => format!("/api/v1/app/{app}/attempt/endpoint/{ep}"),
                (None, Some(msg)) => format!("/api/v1/app/{app}/attempt/msg/{msg}"),
                (None, None) => return Err(Usage("attempt list needs --endpoint or --msg".into()).into()),
            };
            let mut q = list.query();
            q.extend(status.map(|s| ("status", s.code().to_owned())));
            let attempts = c.get(&path, &q).await?;
            let now = Timestamp::now();
            show_list(
                ctx,
                &attempts,
                &["ID", "MESSAGE", "ENDPOINT", "STATUS", "CODE", "DURATION", "WHEN"],
                |a| {
                    vec![
                        cell(&a["id"]),
                        cell(&a["msgId"]),
                        cell(&a["endpointId"]),
                        cell(&a["statusText"]),
                        code(a),
                        format!("{} ms", cell(&a["responseDurationMs"])),
                        ago(a["timestamp"].as_str().unwrap_or(""), now),
                    ]
                },
            );
        }
        AttemptCmd::Get { app, msg, attempt } => {
            let a = c.get(&format!("/api/v1/app/{app}/msg/{msg}/attempt/{attempt}"), &[]).await?;
            ctx.show(&a, |a| {
                fields(&[
                    ("id", cell(&a["id"])),
                    ("message", cell(&a["msgId"])),
                    ("endpoint", cell(&a["endpointId"])),
                    ("url", cell(&a["url"])),
                    ("status", cell(&a["statusText"])),
                    ("code", code(a)),
                    ("duration", format!("{} ms", cell(&a["responseDurationMs"]))),
                    ("trigger", if a["triggerType"] == 1 { "manual" } else { "scheduled" }.to_owned()),
                    ("when", ago(a["timestamp"].as_str().unwrap_or(""), Timestamp::now())),
                    ("response", cell(&a["response"])),
                ])
            });
        }
        AttemptCmd::Resend { app, msg, endpoint } => {
            c.call(Method::POST, &format!("/api/v1/app/{app}/msg/{msg}/endpoint/{endpoint}/resend"), None)
                .await?;
            eprintln!("resending {msg} to {endpoint}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The response status, or `-` when no response came.
fn code(a: &Value) -> String {
    match a["responseStatusCode"].as_u64() {
        Some(0) | None => "-".to_owned(),
        Some(code) => code.to_string(),
    }
}
