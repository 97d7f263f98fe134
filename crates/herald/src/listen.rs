//! `herald listen`: relays the events reaching a Herald server to a developer's
//! machine, like `stripe listen` or smee, with history and replay.
//!
//! It follows an application's message stream (`GET /api/v1/app/{app}/events/stream`,
//! server-sent events), filtered to one source when given one, and POSTs each event
//! to `--forward-to`: the exact body, with the provider's original headers (so code
//! that verifies Stripe's or GitHub's signature works unchanged) or with a Standard
//! Webhooks signature under the listener's own secret. One line per event on stdout.
//!
//! It never goes quiet on a broken connection: the server sends a comment every 15 s,
//! and a stream silent for [`SILENCE`] counts as lost. It reconnects with backoff and
//! resumes after the last message it saw (`after=`), so nothing that arrived in
//! between is missed; messages the server sends again are recognised by id and
//! dropped. The last id relayed is also kept in a small file per source
//! ([`cursor`]), so a listener started again — after Ctrl-C, a crash, a reboot —
//! first replays what arrived while none ran. Without a source it creates a
//! throwaway one (verifier `none`) in a throwaway application, prints its ingest
//! URL, and deletes both on Ctrl-C.

mod api;
mod cursor;
mod forward;

use std::io::Write as _;
use std::time::Duration;

use herald_core::Timestamp;
use tokio_util::sync::CancellationToken;

use api::Target;
use forward::{Forwarder, HeaderMode};

use crate::cli::client::Client;
use crate::cli::conn::ConnArgs;
use crate::cli::sse::Seen;

/// A stream with no bytes (not even a keep-alive comment) for this long is lost.
const SILENCE: Duration = Duration::from_secs(45);
/// Reconnection waits: from the first to the longest, doubling.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(5));

/// The options of `herald listen`.
#[derive(clap::Args, Debug, Clone)]
pub struct ListenArgs {
    /// Where each event is POSTed, e.g. http://localhost:3000/webhooks.
    #[arg(long)]
    pub forward_to: String,
    /// Relay this source's events (id or uid).
    #[arg(long, conflicts_with = "app")]
    pub source: Option<String>,
    /// Relay every message of this application (id or uid).
    #[arg(long)]
    pub app: Option<String>,
    /// First replay what arrived in this past window, e.g. `2h`, `30m`.
    #[arg(long)]
    pub since: Option<String>,
    #[command(flatten)]
    pub conn: ConnArgs,
    /// `original`: forward a source's events with the provider's headers (its
    /// signature included); `herald`: sign every event with --secret instead.
    /// Messages created through the API are always signed with --secret.
    #[arg(long, value_enum, default_value = "original")]
    pub headers: HeaderMode,
    /// The `whsec_…` secret forwarded requests are signed with (generated when absent).
    #[arg(long, env = "HERALD_LISTEN_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Where the last relayed id of each source is kept, to resume after a restart.
    /// Default: $XDG_STATE_HOME/herald/listen (~/.local/state/herald/listen).
    #[arg(long, env = "HERALD_LISTEN_STATE_DIR")]
    pub state_dir: Option<std::path::PathBuf>,
}

/// Runs until `shutdown`: relays events, reconnecting as often as needed.
pub async fn run(args: ListenArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let conn = args.conn.resolve()?;
    let since = args.since.as_deref().map(herald_core::retry::parse_duration).transpose();
    let since = since.map_err(|e| anyhow::anyhow!("--since: {e}"))?.map(|d| Timestamp::now().minus(d));
    let server = Client::new(&conn)?;
    let forwarder = Forwarder::new(&args.forward_to, args.headers, args.secret.as_deref())?;
    let target = api::target(&server, args.source.as_deref(), args.app.as_deref()).await?;
    let cursor = cursor::Cursor::new(args.state_dir.clone(), &conn.server, &target);
    let relayed_before = cursor.load();
    let resume_after = relayed_before.last().filter(|_| since.is_none()).cloned();
    print_banner(&args, &target, &forwarder, resume_after.as_deref());
    let relay = Relay {
        server: &server,
        target: &target,
        forwarder: &forwarder,
        since,
        cursor,
        resume_after,
        relayed_before,
    };
    let outcome = tokio::select! {
        outcome = relay.run() => outcome,
        () = shutdown.cancelled() => Ok(()),
    };
    if target.throwaway {
        api::delete_throwaway(&server, &target).await;
        say(&format!("deleted the throwaway source {}", target.source_id.as_deref().unwrap_or_default()));
    }
    outcome
}

fn print_banner(args: &ListenArgs, target: &Target, forwarder: &Forwarder, resume_after: Option<&str>) {
    let mut out = format!("Herald listen: relaying {} to {}\n", target.describe(), args.forward_to);
    if let Some(url) = &target.ingest_url {
        out.push_str(&format!("  Ingest URL  {url}\n"));
    }
    out.push_str(&format!("  Signing     {}\n", forwarder.describe()));
    if let Some(since) = &args.since {
        out.push_str(&format!("  Replaying   the last {since} first\n"));
    }
    if let Some(id) = resume_after {
        out.push_str(&format!("  Resuming    after {id}, the last event relayed before\n"));
    }
    out.push_str("Ctrl-C to stop.");
    say(&out);
}

/// One line on stdout, flushed at once (the output is often piped).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

struct Relay<'a> {
    server: &'a Client,
    target: &'a Target,
    forwarder: &'a Forwarder,
    since: Option<Timestamp>,
    cursor: cursor::Cursor,
    /// The last id a previous run relayed.
    resume_after: Option<String>,
    /// The ids it relayed last, which the resumed stream may send again.
    relayed_before: Vec<String>,
}

impl Relay<'_> {
    /// Connects, relays until the stream is lost, and reconnects — forever.
    async fn run(&self) -> anyhow::Result<()> {
        let started = Timestamp::now();
        let mut seen = Seen::default();
        for id in &self.relayed_before {
            seen.first_time(id);
        }
        let mut last: Option<String> = self.resume_after.clone();
        let mut wait = BACKOFF.0;
        loop {
            let resume = match &last {
                Some(id) => Resume::After(id.clone()),
                None => Resume::Since(self.since.unwrap_or(started)),
            };
            match api::connect(self.server, self.target, &resume).await {
                Err(e) if e.is::<api::UnknownResumePoint>() => {
                    say(&format!("{e}; starting from when this listener started"));
                    last = None;
                    continue;
                }
                Ok(mut stream) => {
                    wait = BACKOFF.0;
                    let lost = loop {
                        let event = match tokio::time::timeout(SILENCE, stream.next()).await {
                            Err(_) => break format!("nothing received for {} s", SILENCE.as_secs()),
                            Ok(Err(e)) => break format!("{e:#}"),
                            Ok(Ok(None)) => break "the server closed the stream".to_owned(),
                            Ok(Ok(Some(event))) => event,
                        };
                        last = Some(event.id.clone());
                        if seen.first_time(&event.id) {
                            let line = self.forwarder.forward(&event).await;
                            // Kept before it is reported: a printed event is never replayed.
                            self.cursor.save(&event.id);
                            say(&line);
                        }
                    };
                    say(&format!("disconnected: {lost}; reconnecting"));
                }
                Err(e) => say(&format!("cannot connect: {e:#}; retrying in {} ms", wait.as_millis())),
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(BACKOFF.1);
        }
    }
}

/// Where a (re)connected stream starts.
pub(crate) enum Resume {
    After(String),
    Since(Timestamp),
}
