//! The commands that talk to a running server — `send`, `tail`, `app`, `endpoint`,
//! `message`, `attempt`, `import` — and `verify`, which needs no server. One module
//! per command group; [`client`] is the one HTTP client they (and `herald listen`)
//! share, [`conn`] finds the server and token, [`output`] and [`progress`] print.

pub mod client;
pub mod conn;
pub mod output;
pub mod progress;
pub(crate) mod sse;

mod apps;
mod attempts;
mod endpoints;
mod import;
mod messages;
mod send;
mod tail;
pub mod verify;

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::Value;

use client::Client;
use conn::ConnArgs;
use output::OutputArgs;

/// A mistake in how a command was called: exit code 2, like clap's own.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// The commands that talk to a server.
#[derive(Subcommand, Debug)]
pub enum ServerCommand {
    /// Send an event: post a message to an application, print its id and destinations.
    Send(send::SendArgs),
    /// Follow delivery attempts live, one line each (every application, or filtered).
    Tail(tail::TailArgs),
    /// Applications: list, get, create, update, delete.
    #[command(visible_alias = "apps")]
    App(Group<apps::AppCmd>),
    /// Endpoints of an application, their secrets, recovery and bulk resends.
    #[command(visible_alias = "endpoints")]
    Endpoint(Group<endpoints::EndpointCmd>),
    /// Messages of an application: list, get.
    #[command(visible_alias = "messages")]
    Message(Group<messages::MessageCmd>),
    /// Delivery attempts: list, get, resend one.
    #[command(visible_alias = "attempts")]
    Attempt(Group<attempts::AttemptCmd>),
    /// Create or update applications and endpoints from a JSON or JSON Lines file,
    /// matched by uid (running it twice changes nothing the second time).
    Import(import::ImportArgs),
}

/// A command group: the connection and output flags, and one of its commands.
#[derive(clap::Args, Debug)]
pub struct Group<C: Subcommand> {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    out: OutputArgs,
    #[command(subcommand)]
    cmd: C,
}

/// What a command needs: the client, and how to print.
pub(crate) struct Ctx {
    pub(crate) client: Client,
    pub(crate) out: OutputArgs,
}

impl Ctx {
    fn new(conn: &ConnArgs, out: OutputArgs) -> anyhow::Result<Self> {
        Ok(Self { client: Client::new(&conn.resolve()?)?, out })
    }

    /// Prints `value` as JSON with `--json`, else as `human` renders it.
    pub(crate) fn show(&self, value: &Value, human: impl FnOnce(&Value) -> String) {
        if self.out.json { output::print_json(value) } else { output::print(&human(value)) }
    }
}

/// Runs a server command until it ends (`tail`: until Ctrl-C).
pub async fn run(command: ServerCommand) -> anyhow::Result<ExitCode> {
    match command {
        ServerCommand::Send(args) => send::run(args).await,
        ServerCommand::Tail(args) => tail::run(args).await,
        ServerCommand::App(g) => apps::run(&Ctx::new(&g.conn, g.out)?, g.cmd).await,
        ServerCommand::Endpoint(g) => endpoints::run(&Ctx::new(&g.conn, g.out)?, g.cmd).await,
        ServerCommand::Message(g) => messages::run(&Ctx::new(&g.conn, g.out)?, g.cmd).await,
        ServerCommand::Attempt(g) => attempts::run(&Ctx::new(&g.conn, g.out)?, g.cmd).await,
        ServerCommand::Import(args) => import::run(args).await,
    }
}

/// Reads a JSON argument (`--metadata '{"a":"b"}'`).
pub(crate) fn json_arg(flag: &str, text: &str) -> Result<Value, Usage> {
    serde_json::from_str(text).map_err(|e| Usage(format!("{flag} is not valid JSON: {e}")))
}

/// A time argument: RFC 3339, or a duration back from now (`2h`, `30m`, `7d`).
pub(crate) fn time_arg(flag: &str, text: &str) -> Result<String, Usage> {
    if let Some(t) = herald_core::Timestamp::parse_rfc3339(text) {
        return Ok(t.to_rfc3339());
    }
    let back = herald_core::retry::parse_duration(text)
        .map_err(|_| Usage(format!("{flag}: `{text}` is neither an RFC 3339 time nor a duration like 2h")))?;
    Ok(herald_core::Timestamp::now().minus(back).to_rfc3339())
}

/// The exit code of a batch: 0 when nothing failed.
pub(crate) fn batch_exit(counts: progress::Counts) -> ExitCode {
    if counts.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// `--limit` and `--iterator` of list commands.
#[derive(clap::Args, Debug, Clone)]
pub struct ListArgs {
    /// How many to list.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Continue a previous list (the iterator it printed).
    #[arg(long)]
    iterator: Option<String>,
}

impl ListArgs {
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![("limit", self.limit.to_string())];
        if let Some(it) = &self.iterator {
            q.push(("iterator", it.clone()));
        }
        q
    }
}

/// Prints a list answer: the table `row` builds for each item (or the JSON), and on
/// stderr how to see more.
pub(crate) fn show_list(ctx: &Ctx, list: &Value, header: &[&str], row: impl Fn(&Value) -> Vec<String>) {
    ctx.show(list, |list| {
        let mut table = output::Table::new(header);
        for item in list["data"].as_array().into_iter().flatten() {
            table.row(row(item));
        }
        if table.is_empty() { "(none)".to_owned() } else { table.render() }
    });
    if !ctx.out.json
        && list["done"] == Value::Bool(false)
        && let Some(it) = list["iterator"].as_str()
    {
        eprintln!("more: add --iterator {it}");
    }
}
