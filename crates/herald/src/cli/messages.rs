//! `herald message list|get`.

use std::process::ExitCode;

use clap::Subcommand;
use herald_core::Timestamp;

use super::output::{Table, ago, cell, fields};
use super::{Ctx, ListArgs, show_list, time_arg};

#[derive(Subcommand, Debug)]
pub enum MessageCmd {
    /// List an application's messages, newest first.
    List {
        #[arg(long)]
        app: String,
        /// Only this event type (repeat the flag for several).
        #[arg(long = "event-type")]
        event_types: Vec<String>,
        #[arg(long)]
        channel: Option<String>,
        /// Created since: RFC 3339, or a duration back from now (2h).
        #[arg(long)]
        since: Option<String>,
        /// Created before: RFC 3339, or a duration back from now.
        #[arg(long)]
        until: Option<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Show a message (id or eventId), its payload and where it went.
    Get {
        #[arg(long)]
        app: String,
        msg: String,
    },
}

pub(crate) async fn run(ctx: &Ctx, cmd: MessageCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        MessageCmd::List { app, event_types, channel, since, until, list } => {
            let mut q = list.query();
            q.extend(event_types.into_iter().map(|t| ("event_types", t)));
            q.extend(channel.map(|ch| ("channel", ch)));
            if let Some(s) = since {
                q.push(("after", time_arg("--since", &s)?));
            }
            if let Some(u) = until {
                q.push(("before", time_arg("--until", &u)?));
            }
            let msgs = c.get(&format!("/api/v1/app/{app}/msg"), &q).await?;
            let now = Timestamp::now();
            show_list(ctx, &msgs, &["ID", "EVENT TYPE", "EVENT ID", "CHANNELS", "CREATED"], |m| {
                let created = ago(m["timestamp"].as_str().unwrap_or(""), now);
                vec![
                    cell(&m["id"]),
                    cell(&m["eventType"]),
                    cell(&m["eventId"]),
                    cell(&m["channels"]),
                    created,
                ]
            });
        }
        MessageCmd::Get { app, msg } => {
            let found = c.get(&format!("/api/v1/app/{app}/msg/{msg}"), &[]).await?;
            if ctx.out.json {
                ctx.show(&found, |_| String::new());
                return Ok(ExitCode::SUCCESS);
            }
            let id = cell(&found["id"]);
            let dests = c.get(&format!("/api/v1/app/{app}/msg/{id}/endpoint"), &[]).await?;
            let now = Timestamp::now();
            let mut text = fields(&[
                ("id", id.clone()),
                ("event type", cell(&found["eventType"])),
                ("event id", cell(&found["eventId"])),
                ("channels", cell(&found["channels"])),
                ("created", ago(found["timestamp"].as_str().unwrap_or(""), now)),
                ("payload", found["payload"].to_string()),
            ]);
            let mut table = Table::new(&["ENDPOINT", "URL", "STATUS", "NEXT ATTEMPT"]);
            for d in dests["data"].as_array().into_iter().flatten() {
                let next = d["nextAttempt"].as_str().map_or_else(|| "-".to_owned(), |n| ago(n, now));
                table.row(vec![cell(&d["id"]), cell(&d["url"]), cell(&d["statusText"]), next]);
            }
            text.push('\n');
            text.push_str(&if table.is_empty() { "(no destinations)\n".to_owned() } else { table.render() });
            super::output::print(&text);
        }
    }
    Ok(ExitCode::SUCCESS)
}
