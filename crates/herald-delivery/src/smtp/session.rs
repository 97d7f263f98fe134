//! One SMTP session (RFC 5321) from the greeting to QUIT: EHLO, STARTTLS (RFC 3207)
//! with a second EHLO, AUTH PLAIN or LOGIN (RFC 4954), then MAIL FROM, RCPT TO for
//! each recipient and DATA.
//!
//! Every reply is read whole (continuation lines `250-…` up to the last `250 …`),
//! within bounds on line length and count because the server is untrusted. A reply
//! other than the one expected ends the session: a 4xx or 5xx reply becomes the
//! attempt's answer ([`Answer`], its code as the status), anything else (a server
//! that is not speaking SMTP) a protocol failure. Bytes the server sends ahead of the
//! TLS handshake after STARTTLS are refused rather than carried into the encrypted
//! session (the STARTTLS command-injection attack).

use base64::Engine as _;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use url::Host;

use super::mail::Mail;
use super::{Security, SmtpTarget, failure};
use crate::client::{Answer, Failure, FailureKind};

/// Longest reply line read (RFC 5321 allows 512; servers' texts run longer).
const MAX_REPLY_LINE: u64 = 4096;
/// Most lines in one reply (an EHLO lists one extension per line).
const MAX_REPLY_LINES: usize = 64;

/// A byte stream SMTP can run over: TCP, or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A reply: its code and its text lines (without the code).
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    /// `250 first line / second line`.
    fn text(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" / ")).trim_end().to_owned()
    }
}

/// An open session past EHLO (and STARTTLS and AUTH when they apply).
pub(super) struct Session {
    io: BufReader<Box<dyn Io>>,
    /// The extensions the last EHLO reply listed, upper-cased (`STARTTLS`, `AUTH PLAIN LOGIN`).
    extensions: Vec<String>,
    tls: bool,
}

impl Session {
    /// The whole exchange for one mail: the answer (the reply that ended it, `250`
    /// after DATA when accepted) and the session to QUIT when it is still open.
    pub(super) async fn deliver(
        tcp: tokio::net::TcpStream,
        target: &SmtpTarget,
        tls: &tokio_rustls::TlsConnector,
        mail: &Mail,
    ) -> Result<(Answer, Option<Self>), Failure> {
        match Self::open(tcp, target, tls).await {
            Ok(session) => session.send(mail).await,
            Err(Step::Rejected(answer)) => Ok((answer, None)),
            Err(Step::Failed(failure)) => Err(failure),
        }
    }

    /// Greeting, EHLO, then STARTTLS and AUTH as the target asks.
    async fn open(
        tcp: tokio::net::TcpStream,
        target: &SmtpTarget,
        tls: &tokio_rustls::TlsConnector,
    ) -> Result<Self, Step> {
        let stream: Box<dyn Io> = if target.security == Security::Implicit {
            Box::new(handshake(tls, target, tcp).await?)
        } else {
            Box::new(tcp)
        };
        let mut session = Self {
            io: BufReader::new(stream),
            extensions: Vec::new(),
            tls: target.security == Security::Implicit,
        };
        session.expect("greeting", 220).await?;
        session.ehlo(target).await?;
        let offered = session.offers("STARTTLS");
        match target.security {
            Security::StartTlsRequired if !offered => {
                return Err(Step::Failed(failure(
                    FailureKind::Other,
                    "the server does not offer STARTTLS; add ?starttls=opportunistic or ?starttls=none \
                     to the endpoint URL to send without TLS",
                )));
            }
            Security::StartTlsRequired | Security::StartTlsOpportunistic if offered => {
                session = session.starttls(target, tls).await?;
            }
            _ => {}
        }
        if let Some((user, password)) = &target.credentials {
            if !session.tls && target.security != Security::Plain {
                return Err(Step::Failed(failure(
                    FailureKind::Other,
                    "the server offers no TLS and Herald does not send credentials in clear \
                     unless the endpoint URL says ?starttls=none",
                )));
            }
            session.auth(user, password).await?;
        }
        Ok(session)
    }

    /// MAIL FROM, RCPT TO each recipient, DATA. The reply to the end of DATA is the
    /// answer; the session is handed back for QUIT.
    async fn send(mut self, mail: &Mail) -> Result<(Answer, Option<Self>), Failure> {
        let steps = async {
            self.command(&format!("MAIL FROM:<{}>", mail.from), 250).await?;
            for rcpt in &mail.to {
                self.command(&format!("RCPT TO:<{rcpt}>"), 250).await?;
            }
            self.command("DATA", 354).await?;
            let mut data = mail.data();
            data.extend_from_slice(b".\r\n");
            self.write(&data).await?;
            self.read_reply("end of DATA").await
        };
        match steps.await {
            Ok(reply) if reply.code == 250 => Ok((answer(&reply, None), Some(self))),
            Ok(reply) => rejected(&reply, "end of DATA").map(|a| (a, Some(self))),
            Err(Step::Rejected(answer)) => Ok((answer, Some(self))),
            Err(Step::Failed(failure)) => Err(failure),
        }
    }

    /// Says goodbye; the reply does not matter.
    pub(super) async fn quit(mut self) {
        if self.write(b"QUIT\r\n").await.is_ok() {
            let _ = self.read_reply("QUIT").await;
        }
        let _ = self.io.get_mut().shutdown().await;
    }

    async fn ehlo(&mut self, target: &SmtpTarget) -> Result<(), Step> {
        let reply = self.command(&format!("EHLO {}", target.ehlo), 250).await?;
        self.extensions = reply.lines.iter().skip(1).map(|l| l.trim().to_ascii_uppercase()).collect();
        Ok(())
    }

    fn offers(&self, extension: &str) -> bool {
        self.extensions.iter().any(|e| e.split_whitespace().next() == Some(extension))
    }

    /// STARTTLS, the handshake, and EHLO again (the first one's answer is void).
    async fn starttls(mut self, target: &SmtpTarget, tls: &tokio_rustls::TlsConnector) -> Result<Self, Step> {
        self.command("STARTTLS", 220).await?;
        if !self.io.buffer().is_empty() {
            return Err(failure(FailureKind::Other, "the server sent data before the TLS handshake").into());
        }
        let stream = handshake(tls, target, self.io.into_inner()).await?;
        let mut session = Self { io: BufReader::new(Box::new(stream)), extensions: Vec::new(), tls: true };
        session.ehlo(target).await?;
        Ok(session)
    }

    /// AUTH PLAIN if offered, else AUTH LOGIN.
    async fn auth(&mut self, user: &str, password: &str) -> Result<(), Step> {
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let auth = self.extensions.iter().find(|e| e.starts_with("AUTH")).cloned().unwrap_or_default();
        let mechanisms: Vec<&str> = auth.split([' ', '=']).skip(1).collect();
        if mechanisms.contains(&"PLAIN") {
            let token = b64(format!("\0{user}\0{password}").as_bytes());
            self.secret_command("AUTH PLAIN", &token, 235).await
        } else if mechanisms.contains(&"LOGIN") {
            self.command("AUTH LOGIN", 334).await?;
            self.secret_command("AUTH LOGIN (user name)", &b64(user.as_bytes()), 334).await?;
            self.secret_command("AUTH LOGIN (password)", &b64(password.as_bytes()), 235).await
        } else {
            Err(failure(FailureKind::Other, format!("the server offers no AUTH PLAIN or LOGIN ({auth:?})"))
                .into())
        }
    }

    /// A command whose text is a credential: named, not shown, in any error.
    async fn secret_command(&mut self, name: &str, token: &str, want: u16) -> Result<(), Step> {
        let line =
            if name == "AUTH PLAIN" { format!("AUTH PLAIN {token}\r\n") } else { format!("{token}\r\n") };
        self.write(line.as_bytes()).await?;
        let reply = self.read_reply(name).await?;
        if reply.code == want {
            return Ok(());
        }
        Err(Step::Rejected(rejected(&reply, name)?))
    }

    /// Sends `line` and reads the reply, which must be `want`.
    async fn command(&mut self, line: &str, want: u16) -> Result<Reply, Step> {
        self.write(format!("{line}\r\n").as_bytes()).await?;
        let name = line.split(':').next().unwrap_or(line);
        let reply = self.read_reply(name).await?;
        if reply.code == want {
            return Ok(reply);
        }
        Err(Step::Rejected(rejected(&reply, name)?))
    }

    async fn expect(&mut self, what: &str, want: u16) -> Result<Reply, Step> {
        let reply = self.read_reply(what).await?;
        if reply.code == want {
            return Ok(reply);
        }
        Err(Step::Rejected(rejected(&reply, what)?))
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Step> {
        let io = self.io.get_mut();
        io.write_all(bytes).await.map_err(|e| io_failure("write", &e))?;
        io.flush().await.map_err(|e| io_failure("write", &e))?;
        Ok(())
    }

    /// One whole reply; `what` names the step in errors.
    async fn read_reply(&mut self, what: &str) -> Result<Reply, Step> {
        let mut lines = Vec::new();
        loop {
            let mut raw = Vec::new();
            let n = (&mut self.io)
                .take(MAX_REPLY_LINE)
                .read_until(b'\n', &mut raw)
                .await
                .map_err(|e| io_failure(what, &e))?;
            let protocol = |why: &str| failure(FailureKind::Other, format!("{what}: {why}"));
            if n == 0 {
                return Err(protocol("the server closed the connection").into());
            }
            if !raw.ends_with(b"\n") {
                return Err(protocol("reply line too long").into());
            }
            let line = String::from_utf8_lossy(&raw).trim_end_matches(['\r', '\n']).to_owned();
            let code = line.get(..3).and_then(|c| c.parse::<u16>().ok()).filter(|c| (200..600).contains(c));
            let Some(code) = code else {
                return Err(protocol(&format!("not an SMTP reply: {line:?}")).into());
            };
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line.get(4..).unwrap_or_default().to_owned());
            if last {
                return Ok(Reply { code, lines });
            }
            if lines.len() >= MAX_REPLY_LINES {
                return Err(protocol("reply too long").into());
            }
        }
    }
}

/// Why a step did not continue: the server said no (a reply to record), or the
/// exchange broke.
enum Step {
    Rejected(Answer),
    Failed(Failure),
}

impl From<Failure> for Step {
    fn from(f: Failure) -> Self {
        Self::Failed(f)
    }
}

/// A 4xx/5xx reply as the attempt's answer; any other unexpected reply is a protocol failure.
fn rejected(reply: &Reply, step: &str) -> Result<Answer, Failure> {
    if (400..600).contains(&reply.code) {
        Ok(answer(reply, Some(step)))
    } else {
        Err(failure(FailureKind::Other, format!("{step}: unexpected reply {}", reply.text())))
    }
}

fn answer(reply: &Reply, step: Option<&str>) -> Answer {
    let body = match step {
        Some(step) => format!("{step}: {}", reply.text()),
        None => reply.text(),
    };
    Answer { status: reply.code, body, retry_after: None }
}

fn io_failure(what: &str, e: &std::io::Error) -> Failure {
    failure(FailureKind::Other, format!("{what}: {e}"))
}

async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    tls: &tokio_rustls::TlsConnector,
    target: &SmtpTarget,
    stream: S,
) -> Result<tokio_rustls::client::TlsStream<S>, Failure> {
    let name = match &target.host {
        Host::Domain(d) => ServerName::try_from(d.clone()),
        Host::Ipv4(v4) => Ok(ServerName::from(std::net::IpAddr::V4(*v4))),
        Host::Ipv6(v6) => Ok(ServerName::from(std::net::IpAddr::V6(*v6))),
    }
    .map_err(|e| failure(FailureKind::Other, format!("TLS: invalid server name: {e}")))?;
    tls.connect(name, stream).await.map_err(|e| failure(FailureKind::Other, format!("TLS handshake: {e}")))
}
