use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::*;
use crate::egress::parse_networks;

fn parse(url: &str) -> Result<SmtpTarget, String> {
    SmtpTarget::parse(&Url::parse(url).expect("test URL parses"))
}

#[test]
fn urls_name_host_port_security_credentials_and_options() {
    let t = parse(
        "smtp://bob:p%40ss@Mail.Example.com?from=shop@example.com&to=a@x.org,b@y.org&to=c@z.org&subject=Hi",
    )
    .expect("valid");
    assert_eq!(t.host, Host::Domain("mail.example.com".to_owned()));
    assert_eq!((t.port, t.security), (587, Security::StartTlsRequired));
    assert_eq!(t.credentials, Some(("bob".into(), "p@ss".into())));
    assert_eq!(t.from.as_deref(), Some("shop@example.com"));
    assert_eq!(t.to, ["a@x.org", "b@y.org", "c@z.org"]);
    assert_eq!(t.subject.as_deref(), Some("Hi"));

    let t = parse("smtps://10.0.0.5").expect("valid");
    assert_eq!((t.host, t.port, t.security), (Host::Ipv4([10, 0, 0, 5].into()), 465, Security::Implicit));
    assert_eq!(parse("smtp://h:2525/?starttls=none").expect("valid").security, Security::Plain);
    assert_eq!(
        parse("smtp://h?starttls=opportunistic").expect("valid").security,
        Security::StartTlsOpportunistic
    );
}

#[test]
fn malformed_urls_say_what_is_wrong() {
    for (url, says) in [
        ("smtp://h?starttls=maybe", "starttls must be"),
        ("smtps://h?starttls=none", "smtp:// only"),
        ("smtp://h?from=nobody", "not an email address"),
        ("smtp://h?cc=a@b.c", "unknown smtp:// URL option `cc`"),
        ("smtp://h/inbox", "no path"),
        ("smtp://:pw@h", "needs a user name"),
        ("smtp://h?ehlo=a%20b", "not a host name"),
    ] {
        let err = parse(url).expect_err(url);
        assert!(err.contains(says), "{url}: {err}");
    }
}

fn message(payload: &'static [u8]) -> Message {
    let mut msg = (*crate::fixtures::dispatch(0, herald_core::Trigger::Scheduled).message).clone();
    msg.payload = Some(Bytes::from_static(payload));
    msg
}

fn request(url: &str, body: &'static [u8]) -> OutboundRequest {
    OutboundRequest {
        method: Method::POST,
        url: Url::parse(url).expect("url"),
        headers: HeaderMap::new(),
        body: Bytes::from_static(body),
        timeout: None,
    }
}

#[test]
fn defaults_come_from_the_url_then_the_event_type_and_never_override_headers() {
    let msg = message(b"{\"a\":1}");
    let req = with_defaults(request("smtp://h?from=f@x.org&to=t@y.org", b"{\"a\":1}"), &msg);
    let get =
        |r: &OutboundRequest, n: &str| r.headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(get(&req, "from").as_deref(), Some("f@x.org"));
    assert_eq!(get(&req, "to").as_deref(), Some("t@y.org"));
    assert_eq!(get(&req, "subject").as_deref(), Some("order.paid"));
    assert_eq!(get(&req, "content-type").as_deref(), Some("text/plain; charset=utf-8"));

    let mut transformed = request("smtp://h?from=f@x.org&to=t@y.org&subject=S", b"Hello");
    transformed.headers.insert("subject", HeaderValue::from_static("Order 42"));
    transformed.headers.insert("content-type", HeaderValue::from_static("text/html"));
    let req = with_defaults(transformed, &msg);
    assert_eq!(get(&req, "subject").as_deref(), Some("Order 42"));
    assert_eq!(get(&req, "content-type").as_deref(), Some("text/html"));

    let mut preset = request("smtp://h?from=f@x.org&to=t@y.org", b"Hello");
    preset.headers.insert("from", HeaderValue::from_static(""));
    let req = with_defaults(preset, &msg);
    assert_eq!(get(&req, "from").as_deref(), Some("f@x.org"), "an empty header is filled in");

    let http = with_defaults(request("https://example.com/", b"{\"a\":1}"), &msg);
    assert!(http.headers.is_empty(), "HTTP requests pass unchanged");
}

/// A server that answers each line it reads with the next scripted reply (the first
/// one is the greeting) and keeps what it read.
async fn scripted(replies: &'static [&'static str]) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = heard.clone();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        for reply in replies {
            write.write_all(reply.as_bytes()).await.expect("write");
            match lines.next_line().await {
                Ok(Some(line)) => log.lock().expect("log").push(line),
                _ => return,
            }
        }
    });
    (addr, heard)
}

async fn send(url: &str) -> Result<Answer, Failure> {
    let egress = EgressPolicy::new(parse_networks("127.0.0.0/8").expect("allow-list"));
    let mut req = request(url, b"{}");
    for (n, v) in [("from", "f@x.org"), ("to", "t@y.org")] {
        req.headers.insert(n, HeaderValue::from_static(v));
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    Mailer::new().expect("mailer").send(&egress, req, Duration::from_secs(5)).await
}

#[tokio::test]
async fn without_starttls_on_offer_nothing_is_sent_unless_the_url_allows_it() {
    let (addr, heard) = scripted(&["220 hi\r\n", "250-hi\r\n250 8BITMIME\r\n"]).await;
    let failure = send(&format!("smtp://{addr}")).await.err().expect("refused");
    assert!(failure.reason.contains("does not offer STARTTLS"), "{}", failure.reason);
    assert_eq!(*heard.lock().expect("log"), ["EHLO localhost"], "no MAIL FROM in clear");
}

#[tokio::test]
async fn credentials_never_go_out_in_clear_when_tls_was_only_opportunistic() {
    let (addr, heard) = scripted(&["220 hi\r\n", "250-hi\r\n250 AUTH PLAIN\r\n"]).await;
    let failure = send(&format!("smtp://u:p@{addr}?starttls=opportunistic")).await.err().expect("refused");
    assert!(failure.reason.contains("credentials in clear"), "{}", failure.reason);
    assert_eq!(*heard.lock().expect("log"), ["EHLO localhost"]);
}

#[tokio::test]
async fn a_rejected_recipient_is_the_answer_with_its_code() {
    let (addr, heard) =
        scripted(&["220 hi\r\n", "250 hi\r\n", "250 ok\r\n", "550 5.1.1 no such user\r\n", "221 bye\r\n"])
            .await;
    let answer = send(&format!("smtp://{addr}?starttls=none")).await.ok().expect("answered");
    assert_eq!(answer.status, 550);
    assert_eq!(answer.body, "RCPT TO: 550 5.1.1 no such user");
    let heard = heard.lock().expect("log").clone();
    assert_eq!(heard[..3], ["EHLO localhost", "MAIL FROM:<f@x.org>", "RCPT TO:<t@y.org>"]);
}

#[tokio::test]
async fn a_refused_address_is_never_contacted() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let strict = EgressPolicy::default();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mailer = Mailer::new().expect("mailer");
    for host in ["127.0.0.1", "localhost", "[::1]"] {
        let mut req = request(&format!("smtp://{host}:{port}?starttls=none"), b"{}");
        req.headers.insert("from", HeaderValue::from_static("f@x.org"));
        req.headers.insert("to", HeaderValue::from_static("t@y.org"));
        let failure = mailer.send(&strict, req, Duration::from_secs(5)).await.err().expect("refused");
        assert_eq!(failure.kind, FailureKind::Forbidden, "{host}: {}", failure.reason);
    }
    // Any connection Herald made would be queued before ours: the first one
    // accepted must be this probe.
    let probe = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("probe connects");
    let (_, peer) = listener.accept().await.expect("accept");
    assert_eq!(peer, probe.local_addr().expect("probe address"), "no connection was made before the probe");
}
