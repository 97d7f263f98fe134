//! Email delivery: an endpoint whose URL is `smtp://` or `smtps://` receives each
//! message as an email, sent by Herald's own small SMTP client (EHLO, STARTTLS,
//! AUTH PLAIN/LOGIN, MAIL/RCPT/DATA with dot-stuffing, QUIT; `session`) over the
//! same rustls (ring) as HTTPS and through the same egress policy. Users' guide:
//! `docs/SMTP.md`.
//!
//! `smtp://[user[:password]@]host[:port][?from=…&to=…&subject=…&starttls=…&ehlo=…]`
//! (port 587, STARTTLS required unless `starttls=opportunistic` or `none`), or
//! `smtps://…` (port 465, TLS from the first byte). The mail's `From`, `To`, `Cc`,
//! `Subject` and `Content-Type` are the request's headers of those names when a
//! transformation set them, else the URL's options, else (subject) the event type;
//! the body is the request body ([`mail`]).
//!
//! What an SMTP exchange means for the delivery ([`Mailer::send`]): the reply to the
//! end of DATA is the attempt's status and response (`250 …` is a success); a 4xx or
//! 5xx reply at any step ends the exchange and is recorded the same way (4xx and 5xx
//! are both retried on the schedule, like HTTP 5xx: a permanent rejection costs a few
//! more connections, a configuration error the operator fixes is not lost); no reply
//! at all (refused address, DNS, connection, TLS, timeout) is a failure like HTTP's.

mod mail;
mod session;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use herald_core::Message;
use http::{HeaderName, HeaderValue};
use url::{Host, Url};

use crate::client::{Answer, Failure, FailureKind, OutboundRequest};
use crate::egress::EgressPolicy;

/// How long Herald waits for the server's answer to `QUIT` after a mail was accepted;
/// the mail is delivered whatever happens then.
const QUIT_WAIT: Duration = Duration::from_secs(2);

/// Whether `url` is an email destination.
pub fn handles(url: &Url) -> bool {
    matches!(url.scheme(), "smtp" | "smtps")
}

/// How the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://` (default): STARTTLS, or no mail at all.
    StartTlsRequired,
    /// `starttls=opportunistic`: STARTTLS when the server offers it, else plain text
    /// (and then no AUTH: credentials never travel in clear unless `none` was chosen).
    StartTlsOpportunistic,
    /// `starttls=none`: plain text throughout.
    Plain,
}

/// An `smtp://` or `smtps://` endpoint URL, understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: Host<String>,
    pub port: u16,
    pub security: Security,
    /// User name and password for AUTH, percent-decoded.
    pub credentials: Option<(String, String)>,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub subject: Option<String>,
    /// The name Herald gives itself in EHLO.
    pub ehlo: String,
}

impl SmtpTarget {
    /// Reads an endpoint URL; the error says what is wrong in words for an API caller.
    pub fn parse(url: &Url) -> Result<Self, String> {
        let (port, mut security) = match url.scheme() {
            "smtp" => (587, Security::StartTlsRequired),
            "smtps" => (465, Security::Implicit),
            other => return Err(format!("`{other}` is not an email URL scheme (smtp, smtps)")),
        };
        let host = match url.host().ok_or("an smtp:// URL needs a host")? {
            // Hosts of URLs with a scheme the url crate does not know stay text:
            // an address written as one is read as one, so it is checked as one.
            Host::Domain(name) => match name.parse::<IpAddr>() {
                Ok(IpAddr::V4(v4)) => Host::Ipv4(v4),
                Ok(IpAddr::V6(v6)) => Host::Ipv6(v6),
                Err(_) if name.is_empty() => return Err("an smtp:// URL needs a host".into()),
                Err(_) => Host::Domain(name.to_ascii_lowercase()),
            },
            other => other.to_owned(),
        };
        if !matches!(url.path(), "" | "/") {
            return Err("an smtp:// URL has no path: put options in the query (?from=…&to=…)".into());
        }
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| "the user name or password is not valid UTF-8".to_owned())
        };
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            ("", Some(_)) => return Err("an smtp:// URL with a password needs a user name".into()),
            (user, password) => Some((decode(user)?, decode(password.unwrap_or_default())?)),
        };
        let mut target = Self {
            host,
            port: url.port().unwrap_or(port),
            security,
            credentials,
            from: None,
            to: Vec::new(),
            subject: None,
            ehlo: "localhost".into(),
        };
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "from" => target.from = Some(mail::checked_mailbox(&value)?),
                "to" => {
                    for mailbox in mail::split_mailboxes(&value) {
                        target.to.push(mail::checked_mailbox(&mailbox)?);
                    }
                }
                "subject" => target.subject = Some(mail::checked_text("subject", &value)?),
                "ehlo" => target.ehlo = mail::checked_ehlo(&value)?,
                "starttls" => {
                    if security == Security::Implicit {
                        return Err("starttls applies to smtp:// only; smtps:// is TLS from the start".into());
                    }
                    security = match value.as_ref() {
                        "required" => Security::StartTlsRequired,
                        "opportunistic" => Security::StartTlsOpportunistic,
                        "none" => Security::Plain,
                        other => {
                            return Err(format!(
                                "starttls must be required, opportunistic or none, not `{other}`"
                            ));
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "unknown smtp:// URL option `{other}` (known: from, to, subject, starttls, ehlo)"
                    ));
                }
            }
        }
        target.security = security;
        Ok(target)
    }
}

/// Fills in, for an email endpoint, the mail headers neither the endpoint's
/// transformation nor anything else set (or set empty): `From`, `To` and `Subject` from the URL's
/// options (the subject defaults to the event type), and for a body that is still the
/// message's payload a plain-text `Content-Type`, so mail clients show the JSON
/// instead of offering it as an attachment. Other requests pass unchanged.
pub fn with_defaults(mut req: OutboundRequest, message: &Message) -> OutboundRequest {
    if !handles(&req.url) {
        return req;
    }
    let Ok(target) = SmtpTarget::parse(&req.url) else { return req };
    let mut fill = |name: &'static str, value: Option<String>| {
        let name = HeaderName::from_static(name);
        // A transformation's empty header (a preset's unset `from`) counts as unset.
        let set = req.headers.get(&name).is_some_and(|v| !v.as_bytes().trim_ascii().is_empty());
        if set {
            return;
        }
        if let Some(value) = value.and_then(|v| HeaderValue::try_from(v).ok()) {
            req.headers.insert(name, value);
        }
    };
    fill("from", target.from.clone());
    fill("to", (!target.to.is_empty()).then(|| target.to.join(", ")));
    fill("subject", Some(target.subject.clone().unwrap_or_else(|| message.event_type.clone())));
    if message.payload.as_ref() == Some(&req.body) {
        req.headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    }
    req
}

/// The headers of the mail `req` becomes, as the attempt records them (or, when it
/// cannot become one, the request's headers that would have been used).
pub fn recorded_headers(req: &OutboundRequest) -> Vec<(String, String)> {
    match mail::compose(req) {
        Ok(mail) => mail.headers,
        Err(_) => req
            .headers
            .iter()
            .map(|(n, v)| {
                (n.as_str().to_owned(), crate::pipeline::record::shown_value(n.as_str(), v.as_bytes()))
            })
            .collect(),
    }
}

/// The email side of [`crate::client::HttpClient`]: TLS settings built once.
#[derive(Clone)]
pub(crate) struct Mailer {
    tls: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mailer")
    }
}

impl Mailer {
    /// Certificates are checked by the platform verifier, as reqwest does for HTTPS.
    pub(crate) fn new() -> Result<Self, rustls::Error> {
        use rustls_platform_verifier::ConfigVerifierExt;
        let config = rustls::ClientConfig::with_platform_verifier()?;
        Ok(Self { tls: tokio_rustls::TlsConnector::from(Arc::new(config)) })
    }

    /// One email, bounded by `timeout` from the first DNS query to the reply to DATA.
    pub(crate) async fn send(
        &self,
        egress: &EgressPolicy,
        req: OutboundRequest,
        timeout: Duration,
    ) -> Result<Answer, Failure> {
        let target = SmtpTarget::parse(&req.url).map_err(|e| failure(FailureKind::Other, e))?;
        let mail = mail::compose(&req).map_err(|e| failure(FailureKind::Other, e))?;
        let exchange = async {
            let addrs = resolve(egress, &target).await?;
            let stream = connect(&addrs).await?;
            session::Session::deliver(stream, &target, &self.tls, &mail).await
        };
        let (answer, session) = match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result?,
            Err(_elapsed) => {
                return Err(failure(
                    FailureKind::Timeout,
                    format!("no complete SMTP exchange within {timeout:?}"),
                ));
            }
        };
        if let Some(session) = session {
            let _ = tokio::time::timeout(QUIT_WAIT, session.quit()).await;
        }
        Ok(answer)
    }
}

/// The addresses Herald may connect to for the target, refused exactly like an HTTP
/// destination's: IP literals checked, host names resolved and filtered.
async fn resolve(egress: &EgressPolicy, target: &SmtpTarget) -> Result<Vec<SocketAddr>, Failure> {
    let forbidden = |e: crate::egress::EgressError| failure(FailureKind::Forbidden, e.to_string());
    let ip = match &target.host {
        Host::Ipv4(v4) => Some(IpAddr::V4(*v4)),
        Host::Ipv6(v6) => Some(IpAddr::V6(*v6)),
        Host::Domain(_) => None,
    };
    if let Some(ip) = ip {
        egress.check_ip(ip).map_err(forbidden)?;
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    let host = target.host.to_string();
    let found = tokio::net::lookup_host((host.as_str(), target.port))
        .await
        .map_err(|e| failure(FailureKind::Dns, format!("could not resolve {host}: {e}")))?;
    let permitted = egress.filter_resolved(&host, found).map_err(forbidden)?;
    if permitted.is_empty() {
        return Err(failure(FailureKind::Dns, format!("no addresses found for {host}")));
    }
    Ok(permitted)
}

/// The first address that accepts a connection, in resolver order.
async fn connect(addrs: &[SocketAddr]) -> Result<tokio::net::TcpStream, Failure> {
    let mut last = None;
    for addr in addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some(format!("connect error: {addr}: {e}")),
        }
    }
    Err(failure(FailureKind::Connect, last.unwrap_or_else(|| "no address to connect to".into())))
}

fn failure(kind: FailureKind, reason: impl Into<String>) -> Failure {
    Failure { kind, reason: reason.into() }
}

/// `%XX` sequences decoded; `None` when the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests;
