//! The outbound HTTP client: one attempt to deliver one webhook, reported as a value.
//!
//! This module owns every byte Herald sends to tenant endpoints, so it is where the
//! untrusted side of the product is contained. It enforces the [`EgressPolicy`] (IP-literal
//! URLs are checked before sending, host names by a DNS resolver that drops refused
//! addresses, so DNS rebinding cannot slip through between check and connect), never
//! follows redirects, never uses a proxy, reads at most `max_response_bytes` of a response
//! and bounds the whole attempt by one deadline. It does not decide what an outcome means
//! (success, retry, back-off): [`SendOutcome`] is plain data for the dispatch pipeline.
//!
//! One pooled `reqwest::Client` serves every endpoint, because Herald sends thousands of
//! requests per second to comparatively few hosts and reusing connections is what makes
//! that cheap.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::HeaderMap;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use crate::egress::{EgressError, EgressPolicy};
use crate::smtp::{self, Mailer};

/// How long an idle pooled connection is kept. Below the usual 120 s server-side idle
/// limits, so Herald rarely picks a connection the endpoint is about to close.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Idle connections kept per host. High because a few busy endpoints receive most of the
/// traffic, and every connection dropped here is a TCP (and TLS) handshake later.
const POOL_MAX_IDLE_PER_HOST: usize = 1024;

/// TCP keep-alive probes notice endpoints that vanished without closing the connection.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// Settings for [`HttpClient::new`], already validated by the caller's config layer.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Deadline for a whole attempt (connect, headers and body) when the request names none.
    pub default_timeout: Duration,
    /// Bytes of response body kept; the rest is never read.
    pub max_response_bytes: usize,
    pub user_agent: String,
    pub egress: EgressPolicy,
}

/// The SSRF-guarded, pooled client. Cheap to clone: clones share the connection pool.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    mailer: Mailer,
    egress: Arc<EgressPolicy>,
    default_timeout: Duration,
    max_response_bytes: usize,
}

/// One webhook delivery attempt: an HTTP request, or an email when the URL is
/// `smtp://` or `smtps://` (see [`crate::smtp`]).
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    /// `POST` unless a transformation chose another method; ignored for email.
    pub method: http::Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Overrides [`ClientConfig::default_timeout`] for this attempt (per-endpoint setting).
    pub timeout: Option<Duration>,
}

/// What happened to an attempt. Neither variant is an error of Herald's: both are facts
/// about the endpoint to record and act upon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The endpoint answered (any status). `body` is the response body read up to the cap, lossy UTF-8.
    Response { status: u16, body: String, retry_after: Option<Duration>, duration: Duration },
    /// No HTTP answer: refused by the egress policy, DNS failure, connect failure, timeout, TLS, body read error...
    Failed { kind: FailureKind, reason: String, duration: Duration },
}

impl SendOutcome {
    /// Time from the start of [`HttpClient::send`] to the outcome, whichever the variant.
    pub fn duration(&self) -> Duration {
        match self {
            Self::Response { duration, .. } | Self::Failed { duration, .. } => *duration,
        }
    }
}

/// Coarse cause of a failed attempt, for retry decisions and metrics labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The egress policy refused the destination; retrying will not help.
    Forbidden,
    Dns,
    Connect,
    Timeout,
    /// TLS, protocol and body-read errors.
    Other,
}

impl FailureKind {
    /// A stable lowercase name, for storage and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::Dns => "dns",
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Other => "other",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("could not build the outbound HTTP client")]
    Build(#[source] reqwest::Error),
    #[error("could not set up TLS for email delivery")]
    Tls(#[source] rustls::Error),
}

impl HttpClient {
    /// Builds the pooled client. Installs rustls' ring provider as the process default if
    /// none is installed yet, because reqwest is built without one and would panic at the
    /// first TLS handshake otherwise.
    pub fn new(cfg: ClientConfig) -> Result<Self, ClientError> {
        // An error only means a provider is already installed, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let egress = Arc::new(cfg.egress);
        let resolver = GuardedResolver { egress: Arc::clone(&egress) };
        let inner = reqwest::Client::builder()
            .user_agent(cfg.user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(resolver)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
            .tcp_keepalive(TCP_KEEPALIVE)
            .tcp_nodelay(true)
            .build()
            .map_err(ClientError::Build)?;
        let mailer = Mailer::new().map_err(ClientError::Tls)?;
        Ok(Self {
            inner,
            mailer,
            egress,
            default_timeout: cfg.default_timeout,
            max_response_bytes: cfg.max_response_bytes,
        })
    }

    /// Makes one attempt. Never returns an error: every way an attempt can end is a
    /// [`SendOutcome`], so the caller records it the same way whatever happened.
    pub async fn send(&self, req: OutboundRequest) -> SendOutcome {
        let started = Instant::now();
        let result = if smtp::handles(&req.url) {
            let timeout = req.timeout.unwrap_or(self.default_timeout);
            self.mailer.send(&self.egress, req, timeout).await
        } else {
            match self.egress.check_url(&req.url) {
                Ok(()) => self.attempt_with_deadline(req).await,
                Err(refusal) => Err(Failure::forbidden(&refusal)),
            }
        };
        let duration = started.elapsed();
        match result {
            Ok(answer) => SendOutcome::Response {
                status: answer.status,
                body: answer.body,
                retry_after: answer.retry_after,
                duration,
            },
            Err(failure) => SendOutcome::Failed { kind: failure.kind, reason: failure.reason, duration },
        }
    }

    /// One deadline around connect, headers and body, so a slow-drip endpoint cannot hold
    /// a worker longer than its timeout.
    async fn attempt_with_deadline(&self, req: OutboundRequest) -> Result<Answer, Failure> {
        let timeout = req.timeout.unwrap_or(self.default_timeout);
        match tokio::time::timeout(timeout, self.attempt(req)).await {
            Ok(result) => result,
            Err(_elapsed) => Err(Failure {
                kind: FailureKind::Timeout,
                reason: format!("no complete response within {timeout:?}"),
            }),
        }
    }

    async fn attempt(&self, req: OutboundRequest) -> Result<Answer, Failure> {
        let mut response = self
            .inner
            .request(req.method, req.url)
            .headers(req.headers)
            .body(req.body)
            .send()
            .await
            .map_err(Failure::from_reqwest)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| parse_retry_after(value, SystemTime::now()));
        let body =
            read_capped(&mut response, self.max_response_bytes).await.map_err(Failure::from_reqwest)?;
        Ok(Answer { status, body: lossy_utf8(body), retry_after })
    }
}

/// A successful exchange (any status) before the duration is attached.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) retry_after: Option<Duration>,
}

/// A failed exchange before the duration is attached.
pub(crate) struct Failure {
    pub(crate) kind: FailureKind,
    pub(crate) reason: String,
}

impl Failure {
    fn forbidden(refusal: &EgressError) -> Self {
        Self { kind: FailureKind::Forbidden, reason: refusal.to_string() }
    }

    /// Classifies a reqwest error. A refusal by [`GuardedResolver`] travels up as the
    /// source of a DNS error; it is looked for first so it reads as `Forbidden`, not as
    /// a DNS or connect problem the user might try to fix on the wrong side.
    fn from_reqwest(err: reqwest::Error) -> Self {
        let err = err.without_url();
        if let Some(refusal) = find_source::<EgressError>(&err) {
            return Self::forbidden(refusal);
        }
        let kind = if err.is_timeout() {
            FailureKind::Timeout
        } else if err.is_dns() {
            FailureKind::Dns
        } else if err.is_connect() {
            FailureKind::Connect
        } else {
            FailureKind::Other
        };
        Self { kind, reason: error_chain(&err) }
    }
}

/// Resolves host names with the system resolver and keeps only the addresses the policy
/// permits, so the connector never sees a refused address.
struct GuardedResolver {
    egress: Arc<EgressPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let egress = Arc::clone(&self.egress);
        Box::pin(async move {
            let host = name.as_str();
            let found = tokio::net::lookup_host((host, 0)).await?;
            let permitted = egress.filter_resolved(host, found)?;
            if permitted.is_empty() {
                return Err(format!("no addresses found for {host}").into());
            }
            let addrs: Addrs = Box::new(permitted.into_iter());
            Ok(addrs)
        })
    }
}

/// Reads the body chunk by chunk and stops at `cap`: the endpoint is untrusted and may
/// send gigabytes. Dropping the unread rest closes the connection instead of pooling it.
async fn read_capped(response: &mut reqwest::Response, cap: usize) -> reqwest::Result<Vec<u8>> {
    let hint =
        response.content_length().and_then(|len| usize::try_from(len).ok()).map_or(0, |len| len.min(cap));
    let mut body = Vec::with_capacity(hint);
    while body.len() < cap {
        let Some(chunk) = response.chunk().await? else {
            break;
        };
        let room = cap - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(body)
}

/// Converts without copying when the body is valid UTF-8, which it almost always is.
fn lossy_utf8(body: Vec<u8>) -> String {
    String::from_utf8(body).unwrap_or_else(|invalid| String::from_utf8_lossy(invalid.as_bytes()).into_owned())
}

/// Parses `Retry-After` as delta-seconds or as an HTTP-date relative to `now`. A date in
/// the past means "now". No clamping here: the retry policy decides what it honours.
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The error itself, then each of its sources in turn.
fn chain<'a>(err: &'a (dyn StdError + 'static)) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&err: &&'a (dyn StdError + 'static)| err.source())
}

fn find_source<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    chain(err).find_map(|err| err.downcast_ref::<T>())
}

/// The error and its causes on one line; reqwest's top-level message alone ("error
/// sending request") does not tell the user what went wrong.
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut reason = err.to_string();
    for cause in chain(err).skip(1) {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
    }
    reason
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::body::Body;
    use axum::extract::State;
    use axum::http::{Method, StatusCode, Uri};
    use axum::response::{IntoResponse, Response};
    use futures::StreamExt;
    use http::header::{HeaderValue, LOCATION, RETRY_AFTER};
    use tokio::net::TcpListener;

    use super::*;
    use crate::egress::parse_networks;

    const CAP: usize = 1024;

    /// A loopback endpoint that counts every request it receives.
    struct Receiver {
        addr: SocketAddr,
        hits: Arc<AtomicUsize>,
    }

    impl Receiver {
        async fn start() -> Self {
            let hits = Arc::new(AtomicUsize::new(0));
            let app = Router::new().fallback(respond).with_state(Arc::clone(&hits));
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
            let addr = listener.local_addr().expect("listener address");
            tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
            Self { addr, hits }
        }

        fn url(&self, path: &str) -> String {
            format!("http://{}{path}", self.addr)
        }

        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }
    }

    async fn respond(
        State(hits): State<Arc<AtomicUsize>>,
        method: Method,
        uri: Uri,
        headers: axum::http::HeaderMap,
        body: Bytes,
    ) -> Response {
        hits.fetch_add(1, Ordering::SeqCst);
        match uri.path() {
            "/ok" => (StatusCode::OK, "hello").into_response(),
            "/echo" => echo(&method, &headers, &body).into_response(),
            "/fail" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
            "/redirect" => (StatusCode::FOUND, [(LOCATION, "/target")]).into_response(),
            "/big" => "x".repeat(CAP * 10).into_response(),
            "/busy" => (StatusCode::TOO_MANY_REQUESTS, [(RETRY_AFTER, "7")]).into_response(),
            "/slow" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late".into_response()
            }
            "/stall" => stalled_body().into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }

    fn echo(method: &Method, headers: &axum::http::HeaderMap, body: &Bytes) -> String {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        format!(
            "{method} {} {} {}",
            header("user-agent").unwrap_or("-"),
            header("x-herald-test").unwrap_or("-"),
            String::from_utf8_lossy(body)
        )
    }

    /// Headers and a first chunk at once, then nothing ever again.
    fn stalled_body() -> Body {
        let first = futures::stream::once(async { Ok::<_, std::io::Error>(Bytes::from("partial")) });
        Body::from_stream(first.chain(futures::stream::pending()))
    }

    fn client(allow: &str) -> HttpClient {
        HttpClient::new(ClientConfig {
            default_timeout: Duration::from_secs(5),
            max_response_bytes: CAP,
            user_agent: "herald-test/1".into(),
            egress: EgressPolicy::new(parse_networks(allow).expect("valid allow-list")),
        })
        .expect("client builds")
    }

    fn loopback_client() -> HttpClient {
        client("127.0.0.0/8")
    }

    fn request(url: &str) -> OutboundRequest {
        OutboundRequest {
            method: http::Method::POST,
            url: Url::parse(url).expect("test URL parses"),
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"{\"type\":\"test\"}"),
            timeout: None,
        }
    }

    fn expect_response(outcome: SendOutcome) -> (u16, String, Option<Duration>) {
        match outcome {
            SendOutcome::Response { status, body, retry_after, .. } => (status, body, retry_after),
            failed @ SendOutcome::Failed { .. } => panic!("expected a response, got {failed:?}"),
        }
    }

    fn expect_failure(outcome: SendOutcome) -> (FailureKind, String) {
        match outcome {
            SendOutcome::Failed { kind, reason, .. } => (kind, reason),
            answered @ SendOutcome::Response { .. } => {
                panic!("expected a failure, got {answered:?}")
            }
        }
    }

    #[tokio::test]
    async fn returns_status_and_body_of_a_200() {
        let receiver = Receiver::start().await;
        let outcome = loopback_client().send(request(&receiver.url("/ok"))).await;
        assert_eq!(expect_response(outcome), (200, "hello".into(), None));
    }

    #[tokio::test]
    async fn sends_a_post_with_headers_body_and_user_agent() {
        let receiver = Receiver::start().await;
        let mut req = request(&receiver.url("/echo"));
        req.headers.insert("x-herald-test", HeaderValue::from_static("sig-1"));
        let (status, body, _) = expect_response(loopback_client().send(req).await);
        assert_eq!(status, 200);
        assert_eq!(body, "POST herald-test/1 sig-1 {\"type\":\"test\"}");
    }

    #[tokio::test]
    async fn sends_the_method_the_request_names() {
        let receiver = Receiver::start().await;
        let mut req = request(&receiver.url("/echo"));
        req.method = http::Method::PUT;
        let (_, body, _) = expect_response(loopback_client().send(req).await);
        assert!(body.starts_with("PUT "), "{body}");
    }

    #[tokio::test]
    async fn a_500_is_a_response_not_a_failure() {
        let receiver = Receiver::start().await;
        let outcome = loopback_client().send(request(&receiver.url("/fail"))).await;
        assert_eq!(expect_response(outcome), (500, "boom".into(), None));
    }

    #[tokio::test]
    async fn redirects_are_returned_not_followed() {
        let receiver = Receiver::start().await;
        let outcome = loopback_client().send(request(&receiver.url("/redirect"))).await;
        assert_eq!(expect_response(outcome).0, 302);
        assert_eq!(receiver.hits(), 1, "the redirect target must not be requested");
    }

    #[tokio::test]
    async fn response_body_is_truncated_to_the_cap() {
        let receiver = Receiver::start().await;
        let outcome = loopback_client().send(request(&receiver.url("/big"))).await;
        let (status, body, _) = expect_response(outcome);
        assert_eq!(status, 200);
        assert_eq!(body, "x".repeat(CAP));
    }

    #[tokio::test]
    async fn retry_after_seconds_are_reported() {
        let receiver = Receiver::start().await;
        let outcome = loopback_client().send(request(&receiver.url("/busy"))).await;
        let (status, _, retry_after) = expect_response(outcome);
        assert_eq!(status, 429);
        assert_eq!(retry_after, Some(Duration::from_secs(7)));
    }

    #[tokio::test]
    async fn slow_headers_time_out() {
        let receiver = Receiver::start().await;
        let mut req = request(&receiver.url("/slow"));
        req.timeout = Some(Duration::from_millis(200));
        let outcome = loopback_client().send(req).await;
        assert!(outcome.duration() < Duration::from_secs(5), "{outcome:?}");
        assert_eq!(expect_failure(outcome).0, FailureKind::Timeout);
    }

    #[tokio::test]
    async fn a_stalled_body_counts_against_the_timeout() {
        let receiver = Receiver::start().await;
        let mut req = request(&receiver.url("/stall"));
        req.timeout = Some(Duration::from_millis(200));
        let outcome = loopback_client().send(req).await;
        assert_eq!(expect_failure(outcome).0, FailureKind::Timeout);
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connect_failure() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("listener address");
        drop(listener);
        let outcome = loopback_client().send(request(&format!("http://{addr}/"))).await;
        let (kind, reason) = expect_failure(outcome);
        assert_eq!(kind, FailureKind::Connect, "{reason}");
        assert!(reason.contains("connect error"), "the cause is spelled out: {reason}");
    }

    #[tokio::test]
    async fn non_global_destinations_are_forbidden_and_never_contacted() {
        let receiver = Receiver::start().await;
        let port = receiver.addr.port();
        let strict = client("");
        for host in
            ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433", "0x7f.0.0.1", "017700000001"]
        {
            let outcome = strict.send(request(&format!("http://{host}:{port}/ok"))).await;
            let (kind, reason) = expect_failure(outcome);
            assert_eq!(kind, FailureKind::Forbidden, "{host}: {reason}");
            assert!(reason.contains("HERALD_ALLOW_NETWORKS"), "{host}: {reason}");
        }
        assert_eq!(receiver.hits(), 0);
    }

    #[tokio::test]
    async fn a_refused_resolution_names_the_host_and_the_address() {
        let receiver = Receiver::start().await;
        let url = format!("http://localhost:{}/ok", receiver.addr.port());
        let (kind, reason) = expect_failure(client("").send(request(&url)).await);
        assert_eq!(kind, FailureKind::Forbidden);
        assert!(
            reason.starts_with(
                "host localhost resolves only to refused addresses (127.0.0.1 is a loopback address)"
            ),
            "{reason}"
        );
        assert_eq!(receiver.hits(), 0);
    }

    #[tokio::test]
    async fn the_allow_list_lets_loopback_through() {
        let receiver = Receiver::start().await;
        let port = receiver.addr.port();
        let allowed = loopback_client();
        for host in ["127.0.0.1", "localhost", "2130706433"] {
            let outcome = allowed.send(request(&format!("http://{host}:{port}/ok"))).await;
            assert_eq!(expect_response(outcome).0, 200, "{host}");
        }
        assert_eq!(receiver.hits(), 3);
    }

    #[tokio::test]
    async fn other_schemes_are_forbidden_without_a_connection() {
        let outcome = loopback_client().send(request("ftp://127.0.0.1/")).await;
        assert_eq!(expect_failure(outcome).0, FailureKind::Forbidden);
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let in_two_minutes = httpdate::fmt_http_date(now + Duration::from_secs(120));
        let an_hour_ago = httpdate::fmt_http_date(now - Duration::from_secs(3600));
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 86400 ", now), Some(Duration::from_secs(86400)));
        assert_eq!(parse_retry_after(&in_two_minutes, now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(&an_hour_ago, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_rejected() {
        assert_eq!(lossy_utf8(b"ok".to_vec()), "ok");
        assert_eq!(lossy_utf8(vec![b'a', 0xff, b'b']), "a\u{fffd}b");
    }
}
