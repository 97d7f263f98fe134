//! `herald send`: post one event to an application and say where it goes.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use reqwest::Method;
use serde_json::{Value, json};

use super::conn::ConnArgs;
use super::output::{OutputArgs, Table, cell};
use super::{Ctx, Usage, json_arg};

#[derive(clap::Args, Debug)]
pub struct SendArgs {
    /// The application (id or uid).
    #[arg(long)]
    app: String,
    #[arg(long)]
    event_type: String,
    /// The payload as JSON (default: read from --data-file, else stdin).
    #[arg(long, conflicts_with = "data_file")]
    data: Option<String>,
    /// A file holding the JSON payload (`-` for stdin).
    #[arg(long)]
    data_file: Option<std::path::PathBuf>,
    /// Your id for the event: sending the same one twice creates one message.
    #[arg(long)]
    event_id: Option<String>,
    /// A channel (repeat the flag for several).
    #[arg(long = "channel")]
    channels: Vec<String>,
    /// A tag (repeat the flag for several).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// An Idempotency-Key: a retried send with the same key is answered as the first.
    #[arg(long)]
    idempotency_key: Option<String>,
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    out: OutputArgs,
}

pub(crate) async fn run(args: SendArgs) -> anyhow::Result<ExitCode> {
    let payload = payload(&args)?;
    let ctx = Ctx::new(&args.conn, args.out)?;
    let mut body = json!({"eventType": args.event_type, "payload": payload});
    if let Some(id) = &args.event_id {
        body["eventId"] = id.clone().into();
    }
    if !args.channels.is_empty() {
        body["channels"] = json!(args.channels);
    }
    if !args.tags.is_empty() {
        body["tags"] = json!(args.tags);
    }
    let headers: Vec<(&str, &str)> =
        args.idempotency_key.iter().map(|k| ("idempotency-key", k.as_str())).collect();
    let path = format!("/api/v1/app/{}/msg", args.app);
    let msg = ctx.client.call_with(Method::POST, &path, Some(&body), &headers).await?;
    let id = cell(&msg["id"]);
    let dests = ctx.client.get(&format!("/api/v1/app/{}/msg/{id}/endpoint", args.app), &[]).await?;
    if ctx.out.json {
        super::output::print_json(&json!({"message": msg, "destinations": dests["data"]}));
        return Ok(ExitCode::SUCCESS);
    }
    let list: Vec<&Value> = dests["data"].as_array().into_iter().flatten().collect();
    let mut text =
        format!("{id}  accepted, {} destination{}\n", list.len(), if list.len() == 1 { "" } else { "s" });
    if !list.is_empty() {
        let mut table = Table::new(&["ENDPOINT", "UID", "URL", "STATUS"]);
        for d in list {
            table.row(vec![cell(&d["id"]), cell(&d["uid"]), cell(&d["url"]), cell(&d["statusText"])]);
        }
        text.push_str(&table.render());
    }
    super::output::print(&text);
    Ok(ExitCode::SUCCESS)
}

/// The payload from `--data`, `--data-file` or stdin, checked to be JSON.
fn payload(args: &SendArgs) -> anyhow::Result<Value> {
    let text = match (&args.data, &args.data_file) {
        (Some(data), _) => data.clone(),
        (None, Some(path)) if path.as_os_str() != "-" => std::fs::read_to_string(path)
            .map_err(|e| Usage(format!("cannot read --data-file {}: {e}", path.display())))?,
        (None, _) if std::io::stdin().is_terminal() => {
            return Err(Usage("give the payload with --data, --data-file or on stdin".into()).into());
        }
        (None, _) => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Usage(format!("cannot read stdin: {e}")))?;
            text
        }
    };
    Ok(json_arg("the payload", &text)?)
}
