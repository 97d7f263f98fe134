//! `herald endpoint …`: an application's endpoints — the usual reads and writes,
//! enabling and disabling, secrets, `send-example`, and the long operations with
//! progress: `recover` (make failed deliveries since a time due again, then follow
//! them with `--wait`) and `resend-failed` (resend every failed message in a window).

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use herald_core::Timestamp;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::client::Client;
use super::output::{ago, cell, fields};
use super::progress::Progress;
use super::{Ctx, ListArgs, Usage, batch_exit, json_arg, show_list, time_arg};

#[derive(Subcommand, Debug)]
pub enum EndpointCmd {
    /// List an application's endpoints.
    List {
        #[arg(long)]
        app: String,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Show one endpoint (id or uid).
    Get(On),
    /// Create an endpoint.
    Create {
        #[arg(long)]
        app: String,
        #[command(flatten)]
        fields: EndpointFields,
    },
    /// Change an endpoint (only what is given).
    Update {
        #[command(flatten)]
        on: On,
        #[command(flatten)]
        fields: EndpointFields,
    },
    /// Delete an endpoint and its delivery history.
    Delete(On),
    /// Enable an endpoint (clears its failure state).
    Enable(On),
    /// Disable an endpoint: nothing is delivered to it until it is enabled.
    Disable(On),
    /// Print the endpoint's signing secret.
    Secret(On),
    /// Rotate the signing secret (the old one stays valid for a grace period).
    RotateSecret {
        #[command(flatten)]
        on: On,
        /// The new `whsec_…` secret (default: a new random one).
        #[arg(long)]
        key: Option<String>,
    },
    /// Make the endpoint's failed deliveries since a time due again.
    Recover {
        #[command(flatten)]
        on: On,
        #[command(flatten)]
        window: Window,
        /// Then follow the recovered deliveries until none is pending.
        #[arg(long)]
        wait: bool,
    },
    /// Resend every message whose delivery to the endpoint failed, in a window.
    ResendFailed {
        #[command(flatten)]
        on: On,
        #[command(flatten)]
        window: Window,
    },
    /// Show the request the endpoint would be sent for a message, after its filter
    /// and transformation (or the code in --code-file), without sending anything.
    DryRun(DryRun),
    /// Send the endpoint an example event of a type.
    SendExample {
        #[command(flatten)]
        on: On,
        #[arg(long)]
        event_type: String,
    },
}

/// Which endpoint.
#[derive(clap::Args, Debug)]
pub struct On {
    /// The application (id or uid).
    #[arg(long)]
    app: String,
    /// The endpoint (id or uid).
    endpoint: String,
}

impl On {
    fn path(&self, rest: &str) -> String {
        format!("/api/v1/app/{}/endpoint/{}{rest}", self.app, self.endpoint)
    }
}

/// A window of message times: `--since` (required) and `--until`.
#[derive(clap::Args, Debug)]
pub struct Window {
    /// From this time: RFC 3339, or a duration back from now (2h, 7d).
    #[arg(long)]
    since: String,
    /// Up to this time (default: now).
    #[arg(long)]
    until: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct DryRun {
    #[command(flatten)]
    on: On,
    /// An existing message (id or eventId).
    #[arg(long, conflicts_with_all = ["event_type", "data"])]
    msg: Option<String>,
    /// A sample message's event type.
    #[arg(long)]
    event_type: Option<String>,
    /// A sample message's payload (JSON).
    #[arg(long)]
    data: Option<String>,
    /// Try this transformation code instead of the endpoint's own.
    #[arg(long)]
    code_file: Option<std::path::PathBuf>,
    /// The code's kind, `template` or `javascript` (default: the endpoint's).
    #[arg(long, requires = "code_file")]
    kind: Option<String>,
}

impl DryRun {
    /// The simulate request: the message or sample, and the code to try.
    fn body(&self) -> Result<Value, Usage> {
        let mut body = json!({});
        if let Some(m) = &self.msg {
            body["msgId"] = m.clone().into();
        }
        if let Some(t) = &self.event_type {
            body["eventType"] = t.clone().into();
        }
        if let Some(d) = &self.data {
            body["payload"] = json_arg("--data", d)?;
        }
        if let Some(path) = &self.code_file {
            let code = std::fs::read_to_string(path)
                .map_err(|e| Usage(format!("cannot read --code-file {}: {e}", path.display())))?;
            body["code"] = code.into();
        }
        if let Some(k) = &self.kind {
            body["kind"] = k.clone().into();
        }
        Ok(body)
    }
}

#[derive(clap::Args, Debug)]
pub struct EndpointFields {
    #[arg(long)]
    url: Option<String>,
    #[arg(long)]
    uid: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// An event type it wants (repeat the flag; none: every event).
    #[arg(long = "event-type")]
    event_types: Vec<String>,
    /// A channel it wants (repeat the flag).
    #[arg(long = "channel")]
    channels: Vec<String>,
    /// Messages per second, at most.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Its signing secret (`whsec_…`; default: a new random one).
    #[arg(long)]
    secret: Option<String>,
    /// A JSON object of string values.
    #[arg(long)]
    metadata: Option<String>,
}

impl EndpointFields {
    fn body(&self) -> Result<Value, Usage> {
        let mut b = Map::new();
        let mut put = |k: &str, v: Value| {
            b.insert(k.to_owned(), v);
        };
        if let Some(v) = &self.url {
            put("url", v.clone().into());
        }
        if let Some(v) = &self.uid {
            put("uid", v.clone().into());
        }
        if let Some(v) = &self.description {
            put("description", v.clone().into());
        }
        if !self.event_types.is_empty() {
            put("filterTypes", json!(self.event_types));
        }
        if !self.channels.is_empty() {
            put("channels", json!(self.channels));
        }
        if let Some(v) = self.rate_limit {
            put("rateLimit", v.into());
        }
        if let Some(v) = &self.secret {
            put("secret", v.clone().into());
        }
        if let Some(m) = &self.metadata {
            put("metadata", json_arg("--metadata", m)?);
        }
        Ok(Value::Object(b))
    }
}

pub(crate) async fn run(ctx: &Ctx, cmd: EndpointCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        EndpointCmd::List { app, list } => {
            let eps = c.get(&format!("/api/v1/app/{app}/endpoint"), &list.query()).await?;
            let now = Timestamp::now();
            show_list(ctx, &eps, &["ID", "UID", "URL", "EVENT TYPES", "STATE", "CREATED"], |e| {
                vec![
                    cell(&e["id"]),
                    cell(&e["uid"]),
                    cell(&e["url"]),
                    cell(&e["filterTypes"]),
                    state(e),
                    ago(e["createdAt"].as_str().unwrap_or(""), now),
                ]
            });
        }
        EndpointCmd::Get(on) => ctx.show(&c.get(&on.path(""), &[]).await?, describe),
        EndpointCmd::Create { app, fields } => {
            if fields.url.is_none() {
                return Err(Usage("endpoint create needs --url".into()).into());
            }
            let path = format!("/api/v1/app/{app}/endpoint");
            ctx.show(&c.call(Method::POST, &path, Some(&fields.body()?)).await?, describe);
        }
        EndpointCmd::Update { on, fields } => {
            ctx.show(&c.call(Method::PATCH, &on.path(""), Some(&fields.body()?)).await?, describe);
        }
        EndpointCmd::Delete(on) => {
            c.call(Method::DELETE, &on.path(""), None).await?;
            eprintln!("deleted endpoint {}", on.endpoint);
        }
        EndpointCmd::Enable(on) => set_disabled(ctx, &on, false).await?,
        EndpointCmd::Disable(on) => set_disabled(ctx, &on, true).await?,
        EndpointCmd::Secret(on) => {
            ctx.show(&c.get(&on.path("/secret"), &[]).await?, |s| cell(&s["key"]));
        }
        EndpointCmd::RotateSecret { on, key } => {
            let body = key.map_or_else(|| json!({}), |k| json!({"key": k}));
            let answer = c.call(Method::POST, &on.path("/secret/rotate"), Some(&body)).await?;
            let answer = if answer.is_null() { c.get(&on.path("/secret"), &[]).await? } else { answer };
            ctx.show(&answer, |s| {
                format!("{}\n(the previous secret stays valid for the grace period)", cell(&s["key"]))
            });
        }
        EndpointCmd::SendExample { on, event_type } => {
            let body = json!({"eventType": event_type});
            let msg = c.call(Method::POST, &on.path("/send-example"), Some(&body)).await?;
            ctx.show(&msg, |m| format!("sent {} ({})", cell(&m["id"]), cell(&m["eventType"])));
        }
        EndpointCmd::DryRun(args) => {
            let path = args.on.path("/transformation/simulate");
            ctx.show(&c.call(Method::POST, &path, Some(&args.body()?)).await?, dry_run);
        }
        EndpointCmd::Recover { on, window, wait } => return recover(ctx, &on, &window, wait).await,
        EndpointCmd::ResendFailed { on, window } => return resend_failed(ctx, &on, &window).await,
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_disabled(ctx: &Ctx, on: &On, disabled: bool) -> anyhow::Result<()> {
    let ep = ctx.client.call(Method::PATCH, &on.path(""), Some(&json!({"disabled": disabled}))).await?;
    ctx.show(&ep, |e| format!("{} is {}", cell(&e["id"]), state(e)));
    Ok(())
}

/// A dry run: the request line, headers and body, or why nothing would be sent.
fn dry_run(out: &Value) -> String {
    if out["skip"] == true {
        return format!("skipped: {}", cell(&out["reason"]));
    }
    let mut text = format!("{} {}\n", cell(&out["method"]), cell(&out["url"]));
    for (name, value) in out["headers"].as_object().into_iter().flatten() {
        text.push_str(&format!("{name}: {}\n", value.as_str().unwrap_or_default()));
    }
    text.push('\n');
    text.push_str(out["body"].as_str().unwrap_or_default());
    text
}

fn state(e: &Value) -> String {
    if e["disabled"] == Value::Bool(true) { "disabled".to_owned() } else { "enabled".to_owned() }
}

fn describe(e: &Value) -> String {
    let now = Timestamp::now();
    let mut pairs = vec![
        ("id", cell(&e["id"])),
        ("uid", cell(&e["uid"])),
        ("url", cell(&e["url"])),
        ("description", cell(&e["description"])),
        ("state", state(e)),
        ("event types", cell(&e["filterTypes"])),
        ("channels", cell(&e["channels"])),
        ("rate limit", cell(&e["rateLimit"])),
        ("metadata", e["metadata"].to_string()),
        ("created", ago(e["createdAt"].as_str().unwrap_or(""), now)),
    ];
    if let Some(reason) = e["disabledReason"].as_str() {
        pairs.insert(5, ("disabled because", reason.to_owned()));
    }
    fields(&pairs)
}

/// The ids of the messages whose delivery to the endpoint failed, in the window.
async fn failed_in(
    c: &Client,
    on: &On,
    window: &Window,
    progress: &mut Progress,
) -> anyhow::Result<Vec<String>> {
    let mut query = vec![("status", "2".to_owned()), ("with_content", "false".to_owned())];
    query.push(("after", time_arg("--since", &window.since)?));
    if let Some(until) = &window.until {
        query.push(("before", time_arg("--until", until)?));
    }
    let ids: Vec<String> =
        all_pages(c, &on.path("/msg"), &query).await?.iter().map(|m| cell(&m["id"])).collect();
    progress.set_total(ids.len() as u64);
    Ok(ids)
}

/// Every item of a list, page after page.
pub(crate) async fn all_pages(
    c: &Client,
    path: &str,
    query: &[(&str, String)],
) -> anyhow::Result<Vec<Value>> {
    let mut query: Vec<(&str, String)> = query.to_vec();
    query.push(("limit", "250".to_owned()));
    let mut items = Vec::new();
    loop {
        let page = c.get(path, &query).await?;
        items.extend(page["data"].as_array().into_iter().flatten().cloned());
        match (page["done"].as_bool(), page["iterator"].as_str()) {
            (Some(false), Some(it)) => {
                query.retain(|(k, _)| *k != "iterator");
                query.push(("iterator", it.to_owned()));
            }
            _ => return Ok(items),
        }
    }
}

async fn resend_failed(ctx: &Ctx, on: &On, window: &Window) -> anyhow::Result<ExitCode> {
    let mut progress = Progress::new("resend", None);
    let ids = failed_in(&ctx.client, on, window, &mut progress).await?;
    for id in &ids {
        let path = format!("/api/v1/app/{}/msg/{id}/endpoint/{}/resend", on.app, on.endpoint);
        match ctx.client.call(Method::POST, &path, None).await {
            Ok(_) => progress.done(),
            Err(e) => progress.failed(id, &e.to_string()),
        }
    }
    Ok(batch_exit(progress.finish()))
}

async fn recover(ctx: &Ctx, on: &On, window: &Window, wait: bool) -> anyhow::Result<ExitCode> {
    let mut counting = Progress::new("recover", None);
    let ids = failed_in(&ctx.client, on, window, &mut counting).await?;
    let mut body = json!({"since": time_arg("--since", &window.since)?});
    if let Some(until) = &window.until {
        body["until"] = time_arg("--until", until)?.into();
    }
    // Attempts started after this are the recovered deliveries'.
    let started = Timestamp::now();
    ctx.client.call(Method::POST, &on.path("/recover"), Some(&body)).await?;
    eprintln!("recover: {} failed deliveries made due again", ids.len());
    if !wait || ids.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    follow(ctx, on, &ids, started).await
}

/// Follows the recovered deliveries through the endpoint's attempts made since
/// `started`: each counts as done when an attempt succeeds, failed when its first
/// attempt fails (later retries follow the endpoint's schedule).
async fn follow(ctx: &Ctx, on: &On, ids: &[String], started: Timestamp) -> anyhow::Result<ExitCode> {
    let mut progress = Progress::new("redelivery", Some(ids.len() as u64));
    let mut open: std::collections::BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let path = format!("/api/v1/app/{}/attempt/endpoint/{}", on.app, on.endpoint);
    let query = [("after", started.to_rfc3339()), ("with_content", "false".to_owned())];
    while !open.is_empty() {
        let attempts = all_pages(&ctx.client, &path, &query).await?;
        // Newest first: the oldest attempt of each message decides.
        for a in attempts.iter().rev() {
            let msg = a["msgId"].as_str().unwrap_or_default();
            if open.remove(msg) {
                match a["status"].as_i64() {
                    Some(0) => progress.done(),
                    _ => progress.failed(
                        msg,
                        &format!("attempted again and failed (status {})", cell(&a["responseStatusCode"])),
                    ),
                }
            }
        }
        if !open.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(batch_exit(progress.finish()))
}
