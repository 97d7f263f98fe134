//! `herald`: parse the command line, set up logging, bind, and hand over to the library.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use herald::{Config, Role, ServeArgs, Server};
use tokio_util::sync::CancellationToken;

/// Herald: self-hosted webhooks in one binary. It sends your application's events to
/// the endpoints your customers register — signed (Standard Webhooks), retried with
/// backoff, every attempt logged — through an API compatible with Svix's, on an
/// embedded SQLite store (or PostgreSQL to run several processes).
#[derive(Parser, Debug)]
#[command(
    name = "herald",
    version,
    after_help = "Quick start:\n  herald serve              start on ./herald-data (SQLite); prints the API address and the admin token\n  herald serve --help       every setting, with its HERALD_* environment variable\n  herald listen --forward-to http://localhost:3000/webhooks\n                            relay events to your machine (see herald listen --help)\n  herald app list, herald send, herald tail, herald verify, …\n                            operate a running server (docs/CLI.md)\n\nDocs: README.md and docs/ in the source tree."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server: the API (Svix-compatible, under /api/v1) and the delivery workers.
    ///
    /// Every option can also be set with its HERALD_* environment variable or in a
    /// TOML file given with --config; flags beat the environment, which beats the file.
    Serve(ServeArgs),
    /// Relay the events reaching a Herald server to a local URL (local development).
    ///
    /// Prints one line per event. With no --source or --app it creates a throwaway
    /// source (no verification) and prints its URL; reconnects by itself and replays
    /// what it missed; --since replays history first.
    Listen(herald::listen::ListenArgs),
    /// Check a webhook's signature: give it the secret, the headers and the body.
    ///
    /// Prints `valid`, or exactly why not. Exit code 0 valid, 1 invalid, 2 usage error.
    Verify(herald::cli::verify::VerifyArgs),
    #[command(flatten)]
    Server(herald::cli::ServerCommand),
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.is::<herald::cli::Usage>() { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            let config = Config::load(args)?;
            init_logging(config.json_logs);
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(serve(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Listen(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(async {
                let shutdown = CancellationToken::new();
                tokio::spawn(stop_on_signal(shutdown.clone()));
                herald::listen::run(args, shutdown).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify(args) => Ok(herald::cli::verify::run(args)?),
        // Ctrl-C ends these as it ends any command: nothing needs to be given back.
        Command::Server(command) => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(herald::cli::run(command))
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (set --listen or HERALD_LISTEN)", config.listen))?;
    let server = Server::start(config).await?;
    print_banner(&server, listener.local_addr()?);
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    server.run(listener, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

fn print_banner(server: &Server, addr: std::net::SocketAddr) {
    let base = server.config().public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let token = server.admin_token();
    let store = server.config().database.describe();
    let role = match server.config().role {
        Role::All => "API and delivery workers",
        Role::ApiOnly => "API only (--no-workers): other processes deliver",
        Role::WorkersOnly => "delivery workers only (--workers-only): no API here",
    };
    println!("Herald {} is running.", env!("CARGO_PKG_VERSION"));
    println!("  API        {base}/api/v1   (OpenAPI: {base}/api/v1/openapi.json)");
    println!("  Dashboard  {base}/   (sign in with the admin token below)");
    println!("  Store      {store}");
    println!("  Runs       {role}");
    println!("  Auth       Authorization: Bearer {token}");
    for ep in server.operational_endpoints() {
        println!(
            "  Ops hooks  {}   (secret: GET {base}/api/v1/app/{}/endpoint/{}/secret)",
            ep.url,
            herald_delivery::OPERATIONAL_APP_UID,
            ep.id
        );
    }
    println!("             ({})", server.token_origin());
    println!("  Try        curl -H 'Authorization: Bearer {token}' {base}/api/v1/app");
    println!("Stop with Ctrl-C (in-flight deliveries finish; the rest resume on the next start).");
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                shutdown.cancel();
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
    shutdown.cancel();
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HERALD_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
