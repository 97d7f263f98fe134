//! `herald verify`: does this request carry a valid webhook signature? Give it the
//! secret, the headers and the body; it runs the same verifier a Herald source runs
//! (`herald_inbound::verify`, on the raw bytes) and prints `valid` or exactly why
//! not. Exit code 0 valid, 1 invalid, 2 a usage error (a secret that cannot be a
//! secret of that scheme, an unreadable file, a malformed header line).

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use herald_core::Timestamp;
use herald_inbound::{InboundRequest, Rejection, VerifierConfig};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::{Value, json};

use super::Usage;

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The signing secret (`whsec_…`, or `whpk_…` for `v1a`; the provider's secret
    /// or, for Discord, the application's public key in hex).
    #[arg(long, env = "HERALD_VERIFY_SECRET", hide_env_values = true)]
    secret: String,
    /// The signature scheme.
    #[arg(long, value_enum, default_value = "standard-webhooks")]
    provider: Scheme,
    /// A request header, `Name: value` (repeat the flag).
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// A file of headers: `Name: value` lines, or a JSON object.
    #[arg(long)]
    headers_file: Option<PathBuf>,
    /// The file holding the exact body (default: stdin).
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// The URL the request was sent to (Twilio and Contentful sign it).
    #[arg(long, default_value = "http://localhost/")]
    url: String,
    #[arg(long, default_value = "POST")]
    method: String,
    /// Verify as of this time (Unix seconds or RFC 3339) instead of now: for a
    /// request captured earlier.
    #[arg(long)]
    at: Option<String>,
    /// How old (or how far in the future) a signed timestamp may be, in seconds
    /// [default: the provider's own].
    #[arg(long)]
    tolerance: Option<u32>,
}

/// The schemes `herald verify` knows (those of Herald's inbound sources).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scheme {
    #[value(alias = "svix", alias = "standard")]
    StandardWebhooks,
    Stripe,
    Github,
    Shopify,
    Slack,
    Twilio,
    Paddle,
    Discord,
    Gitlab,
    Contentful,
    Zoom,
}

impl Scheme {
    /// The verifier configuration, as a source stores it.
    fn config(self, secret: &str, tolerance: Option<u32>) -> Result<VerifierConfig, Usage> {
        let (tag, key, timed) = match self {
            Self::StandardWebhooks => ("standard_webhooks", "secret", true),
            Self::Stripe => ("stripe", "secret", true),
            Self::Github => ("github", "secret", false),
            Self::Shopify => ("shopify", "secret", false),
            Self::Slack => ("slack", "secret", true),
            Self::Twilio => ("twilio", "secret", false),
            Self::Paddle => ("paddle", "secret", true),
            Self::Discord => ("discord", "public_key", true),
            Self::Gitlab => ("gitlab", "secret", false),
            Self::Contentful => ("contentful", "secret", true),
            Self::Zoom => ("zoom", "secret", true),
        };
        let mut config = json!({"type": tag, key: secret});
        match (tolerance, timed) {
            (Some(t), true) => config["tolerance_secs"] = t.into(),
            (Some(_), false) => return Err(Usage(format!("--tolerance: {tag} signs no timestamp"))),
            (None, _) => {}
        }
        let config: VerifierConfig =
            serde_json::from_value(config).map_err(|e| Usage(format!("cannot build the verifier: {e}")))?;
        config.validate().map_err(|e| Usage(format!("bad secret format: {e}")))?;
        Ok(config)
    }
}

/// Runs the check; `Err` only for usage errors.
pub fn run(args: VerifyArgs) -> Result<ExitCode, Usage> {
    let config = args.provider.config(&args.secret, args.tolerance)?;
    let mut headers = HeaderMap::new();
    if let Some(path) = &args.headers_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Usage(format!("cannot read --headers-file {}: {e}", path.display())))?;
        for (name, value) in headers_from_file(&text)? {
            add(&mut headers, &name, &value)?;
        }
    }
    for line in &args.headers {
        let (name, value) = header_line(line)?;
        add(&mut headers, name, value)?;
    }
    let body = match &args.body_file {
        Some(path) if path.as_os_str() != "-" => std::fs::read(path)
            .map_err(|e| Usage(format!("cannot read --body-file {}: {e}", path.display())))?,
        _ if std::io::stdin().is_terminal() => {
            return Err(Usage("give the body with --body-file FILE or on stdin".into()));
        }
        _ => {
            let mut body = Vec::new();
            std::io::stdin().read_to_end(&mut body).map_err(|e| Usage(format!("cannot read stdin: {e}")))?;
            body
        }
    };
    let method = Method::from_bytes(args.method.as_bytes())
        .map_err(|_| Usage("--method: not an HTTP method".into()))?;
    let now = match &args.at {
        Some(at) => parse_at(at)?,
        None => Timestamp::now().seconds(),
    };
    let req = InboundRequest { method: &method, url: &args.url, headers: &headers, body: &body };
    match herald_inbound::verify(&config, &req, now) {
        Ok(_) => {
            println!("valid");
            Ok(ExitCode::SUCCESS)
        }
        Err(Rejection::InvalidConfig(e)) => Err(Usage(format!("bad secret format: {e}"))),
        Err(rejection) => {
            println!("invalid: {rejection}");
            Ok(ExitCode::from(1))
        }
    }
}

/// `Name: value` split at the first colon, both trimmed.
fn header_line(line: &str) -> Result<(&str, &str), Usage> {
    let (name, value) =
        line.split_once(':').ok_or_else(|| Usage(format!("header `{line}` is not `Name: value`")))?;
    Ok((name.trim(), value.trim()))
}

/// A headers file: a JSON object of names to values, or `Name: value` lines (blank
/// lines and a leading HTTP request or status line are skipped).
fn headers_from_file(text: &str) -> Result<Vec<(String, String)>, Usage> {
    if text.trim_start().starts_with('{') {
        let map: serde_json::Map<String, Value> = serde_json::from_str(text)
            .map_err(|e| Usage(format!("--headers-file is not a JSON object: {e}")))?;
        return Ok(map
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect());
    }
    let lines = text.lines().map(str::trim_end).filter(|l| !l.is_empty());
    let lines = lines.filter(|l| !(l.starts_with("HTTP/") || l.contains(" HTTP/")));
    lines.map(|l| header_line(l).map(|(n, v)| (n.to_owned(), v.to_owned()))).collect()
}

fn add(headers: &mut HeaderMap, name: &str, value: &str) -> Result<(), Usage> {
    let n = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| Usage(format!("`{name}` is not a header name")))?;
    let v = HeaderValue::from_str(value)
        .map_err(|_| Usage(format!("the value of {name} is not a header value")))?;
    headers.append(n, v);
    Ok(())
}

/// `--at`: Unix seconds or RFC 3339.
fn parse_at(at: &str) -> Result<i64, Usage> {
    at.parse::<i64>()
        .ok()
        .or_else(|| Timestamp::parse_rfc3339(at).map(Timestamp::seconds))
        .ok_or_else(|| Usage(format!("--at: `{at}` is neither Unix seconds nor an RFC 3339 time")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_files_are_lines_or_json() {
        let lines = "POST /hook HTTP/1.1\nwebhook-id: msg_1\nwebhook-timestamp:  1700000000 \n\n";
        assert_eq!(
            headers_from_file(lines).expect("lines"),
            [
                ("webhook-id".to_owned(), "msg_1".to_owned()),
                ("webhook-timestamp".to_owned(), "1700000000".to_owned())
            ]
        );
        let json = r#"{"webhook-id": "msg_1", "x": 3}"#;
        assert_eq!(headers_from_file(json).expect("json")[1], ("x".to_owned(), "3".to_owned()));
        assert!(headers_from_file("no colon here").is_err());
    }

    #[test]
    fn secrets_are_checked_before_any_request() {
        assert!(Scheme::StandardWebhooks.config("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", None).is_ok());
        let bad = Scheme::StandardWebhooks.config("not-a-secret", None).expect_err("refused");
        assert!(bad.0.starts_with("bad secret format: secret:"), "{bad}");
        assert!(Scheme::Github.config("s", Some(5)).is_err(), "GitHub signs no timestamp");
        assert_eq!(parse_at("1700000000").expect("seconds"), 1_700_000_000);
        assert_eq!(parse_at("2023-11-14T22:13:20Z").expect("rfc3339"), 1_700_000_000);
    }
}
