//! A recording webhook receiver with programmable replies.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: http::Method,
    pub path: String,
    /// The query string, without `?`, when there was one.
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    /// A header as text (empty when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// How to answer one request.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self { status, headers: Vec::new(), delay: Duration::ZERO }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[derive(Default)]
struct Shared {
    /// Requests that came in, answered yet or not (a reply may be delayed).
    arrivals: Mutex<usize>,
    received: Mutex<Vec<Received>>,
    /// Replies used in order, one per request; `fallback` after they run out.
    script: Mutex<VecDeque<Reply>>,
    fallback: Mutex<Option<Reply>>,
    arrived: Notify,
}

/// A webhook endpoint on `127.0.0.1:<random port>` (stopped when dropped).
pub struct TestReceiver {
    pub url: String,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl Drop for TestReceiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl TestReceiver {
    /// Starts a receiver answering 200 to everything.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    /// Starts a receiver on a chosen address (to bring one back on the same port).
    pub async fn start_on(addr: &str) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind receiver");
        let port = listener.local_addr().expect("local addr").port();
        let shared = Arc::new(Shared::default());
        let stop = CancellationToken::new();
        let app = axum::Router::new().fallback(record).with_state(shared.clone());
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).with_graceful_shutdown(stopped.cancelled_owned()).await;
        });
        Self { url: format!("http://127.0.0.1:{port}/hook"), shared, stop }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.url.split(':').nth(2).and_then(|p| p.split('/').next()).and_then(|p| p.parse().ok()).unwrap_or(0)
    }

    /// Answers the next requests with these replies, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.shared.script).extend(replies);
    }

    /// Answers every request not covered by the script with `reply`.
    pub fn always(&self, reply: Reply) {
        *lock(&self.shared.fallback) = Some(reply);
    }

    /// Everything received so far (recorded when the reply goes out).
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// Requests that arrived so far, including those whose reply is still delayed.
    pub fn arrivals(&self) -> usize {
        *lock(&self.shared.arrivals)
    }

    /// Waits until at least `n` requests arrived (answered or not), or panics after `limit`.
    pub async fn wait_for_arrivals(&self, n: usize, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.shared.arrived.notified();
            if self.arrivals() >= n {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {n} arrivals within {limit:?}, got {}", self.arrivals());
            }
        }
    }

    /// Waits until at least `n` requests arrived, or panics after `limit`.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.shared.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {n} requests within {limit:?}, got {}", self.received().len());
            }
        }
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    method: http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let reply = lock(&shared.script).pop_front().or_else(|| lock(&shared.fallback).clone());
    let reply = reply.unwrap_or_else(|| Reply::status(200));
    *lock(&shared.arrivals) += 1;
    shared.arrived.notify_waiters();
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let (path, query) = (uri.path().to_owned(), uri.query().map(str::to_owned));
    lock(&shared.received).push(Received { method, path, query, headers, body, at: Instant::now() });
    shared.arrived.notify_waiters();
    let mut response = axum::response::Response::new(axum::body::Body::from("ok"));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    for (name, value) in reply.headers {
        if let (Ok(n), Ok(v)) = (name.parse::<http::HeaderName>(), value.parse::<http::HeaderValue>()) {
            response.headers_mut().insert(n, v);
        }
    }
    response
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
