//! A small real SMTP server on loopback for email-delivery tests: it speaks the
//! protocol (greeting, EHLO, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA with
//! dot-unstuffing, RSET, NOOP, QUIT) over TCP, answers the end of DATA as scripted
//! (250 by default) and keeps every mail it accepted. No TLS: tests use
//! `?starttls=none`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// One mail the server accepted (or rejected at the end of DATA, see [`TestSmtpServer::rejected`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The EHLO name the client gave.
    pub ehlo: String,
    /// `(user, password)` when the client authenticated.
    pub auth: Option<(String, String)>,
    pub from: String,
    pub to: Vec<String>,
    /// The DATA section as the client meant it (dot-unstuffed, CRLF line ends).
    pub data: String,
}

impl ReceivedMail {
    /// A header's value (unfolded), by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut found: Option<String> = None;
        let mut matching = false;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if matching && let Some(value) = found.as_mut() {
                    value.push_str(line.trim_start());
                }
                continue;
            }
            if found.is_some() {
                break;
            }
            let (n, v) = line.split_once(':').unwrap_or((line, ""));
            matching = n.eq_ignore_ascii_case(name);
            if matching {
                found = Some(v.trim().to_owned());
            }
        }
        found
    }

    /// The body as text, decoded when it was sent base64.
    pub fn body(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let base64 =
            self.header("content-transfer-encoding").is_some_and(|e| e.eq_ignore_ascii_case("base64"));
        if !base64 {
            return body.strip_suffix("\r\n").unwrap_or(body).to_owned();
        }
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD.decode(compact).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[derive(Default)]
struct Shared {
    accepted: Mutex<Vec<ReceivedMail>>,
    rejected: Mutex<Vec<ReceivedMail>>,
    /// Replies to the end of DATA, in order; `250 2.0.0 queued` after they run out.
    script: Mutex<VecDeque<String>>,
    connections: Mutex<usize>,
    changed: Notify,
}

/// An SMTP server on `127.0.0.1:<random port>` (stopped when dropped).
pub struct TestSmtpServer {
    pub port: u16,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl Drop for TestSmtpServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl TestSmtpServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP server");
        let port = listener.local_addr().expect("local addr").port();
        let shared = Arc::new(Shared::default());
        let stop = CancellationToken::new();
        let (state, stopped) = (shared.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = stopped.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((stream, _)) = accepted else { continue };
                *lock(&state.connections) += 1;
                tokio::spawn(serve(stream, state.clone()));
            }
        });
        Self { port, shared, stop }
    }

    /// An endpoint URL for this server (plain text, no STARTTLS) with these options
    /// (`from=…&to=…`).
    pub fn url(&self, options: &str) -> String {
        format!("smtp://127.0.0.1:{}?starttls=none&{options}", self.port)
    }

    /// Answers the end of DATA of the next mails with these replies (`"451 4.3.0 busy"`).
    pub fn script(&self, replies: impl IntoIterator<Item = &'static str>) {
        lock(&self.shared.script).extend(replies.into_iter().map(str::to_owned));
    }

    /// The mails accepted so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.accepted).clone()
    }

    /// The mails refused at the end of DATA so far.
    pub fn rejected(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.rejected).clone()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        *lock(&self.shared.connections)
    }

    /// Waits until at least `n` mails were accepted, or panics after `limit`.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.shared.changed.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {n} mails within {limit:?}, got {}", self.received().len());
            }
        }
    }
}

/// One session; ends at QUIT, at an I/O error or when the client goes away.
async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut mail = ReceivedMail::default();
    if !say(&mut write, "220 herald-testkit ESMTP").await {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply = if upper.starts_with("EHLO ") || upper.starts_with("HELO ") {
            mail = ReceivedMail { ehlo: line[5..].trim().to_owned(), ..ReceivedMail::default() };
            "250-herald-testkit\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN".to_owned()
        } else if upper.starts_with("AUTH PLAIN ") {
            let decoded = decode(&line[11..]);
            let mut parts = decoded.split('\0').skip(1);
            mail.auth = Some((parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned()));
            "235 2.7.0 ok".to_owned()
        } else if upper == "AUTH LOGIN" {
            let Some(user) = ask(&mut write, &mut lines, "334 VXNlcm5hbWU6").await else { return };
            let Some(password) = ask(&mut write, &mut lines, "334 UGFzc3dvcmQ6").await else { return };
            mail.auth = Some((user, password));
            "235 2.7.0 ok".to_owned()
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = address(&line[10..]);
            mail.to.clear();
            "250 2.1.0 ok".to_owned()
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(address(&line[8..]));
            "250 2.1.5 ok".to_owned()
        } else if upper == "DATA" {
            if !say(&mut write, "354 end with <CRLF>.<CRLF>").await {
                return;
            }
            let mut data = String::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if l == "." {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
                data.push_str("\r\n");
            }
            mail.data = data;
            let reply = lock(&shared.script).pop_front().unwrap_or_else(|| "250 2.0.0 queued".to_owned());
            let kept = if reply.starts_with("250") { &shared.accepted } else { &shared.rejected };
            lock(kept).push(mail.clone());
            shared.changed.notify_waiters();
            reply
        } else if upper == "RSET" || upper == "NOOP" {
            "250 2.0.0 ok".to_owned()
        } else if upper == "QUIT" {
            let _ = say(&mut write, "221 2.0.0 bye").await;
            return;
        } else {
            "502 5.5.2 command not recognized".to_owned()
        };
        if !say(&mut write, &reply).await {
            return;
        }
    }
}

type Lines = tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>;

async fn say(write: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> bool {
    write.write_all(format!("{text}\r\n").as_bytes()).await.is_ok()
}

/// Sends an AUTH LOGIN prompt and reads the base64 answer.
async fn ask(write: &mut tokio::net::tcp::OwnedWriteHalf, lines: &mut Lines, prompt: &str) -> Option<String> {
    if !say(write, prompt).await {
        return None;
    }
    lines.next_line().await.ok().flatten().map(|l| decode(&l))
}

/// `<a@b.c>` (with or without brackets, parameters dropped) as `a@b.c`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    let inner = arg.strip_prefix('<').and_then(|a| a.split_once('>')).map_or(arg, |(a, _)| a);
    inner.split_whitespace().next().unwrap_or_default().to_owned()
}

fn decode(b64: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64.trim()).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
