//! A TCP proxy in front of the test database that a test can take down and bring back,
//! to see how the store behaves when the database becomes unreachable: taking it down
//! cuts every proxied connection and refuses new ones until it is brought back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub struct Proxy {
    /// The database URL, pointed at the proxy.
    pub url: String,
    state: Arc<State>,
    stop: CancellationToken,
}

struct State {
    upstream: SocketAddr,
    up: AtomicBool,
    /// Cancelled to cut the connections proxied since the last cut.
    cut: Mutex<CancellationToken>,
    /// Poked for every connection refused while down.
    refused: Notify,
}

impl Proxy {
    /// Starts a proxy to the database of `url` (a TCP `postgres://` URL).
    pub async fn start(url: &str) -> Self {
        let mut proxied = url::Url::parse(url).expect("database URL");
        let host = proxied.host_str().expect("the database URL names a TCP host").to_owned();
        let port = proxied.port().unwrap_or(5432);
        let upstream = tokio::net::lookup_host((host.as_str(), port)).await.expect("resolve").next();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let local = listener.local_addr().expect("local addr");
        proxied.set_host(Some("127.0.0.1")).expect("host");
        proxied.set_port(Some(local.port())).expect("port");
        let state = Arc::new(State {
            upstream: upstream.expect("an address"),
            up: AtomicBool::new(true),
            cut: Mutex::new(CancellationToken::new()),
            refused: Notify::new(),
        });
        let stop = CancellationToken::new();
        tokio::spawn(accept(listener, Arc::clone(&state), stop.clone()));
        Self { url: proxied.into(), state, stop }
    }

    /// Cuts every connection and refuses new ones.
    pub fn down(&self) {
        self.state.up.store(false, Ordering::SeqCst);
        let mut cut = self.state.cut.lock().expect("cut");
        cut.cancel();
        *cut = CancellationToken::new();
    }

    pub fn up(&self) {
        self.state.up.store(true, Ordering::SeqCst);
    }

    /// Waits until a connection attempt has been refused while down.
    pub async fn refused(&self) {
        self.state.refused.notified().await;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.down();
    }
}

async fn accept(listener: TcpListener, state: Arc<State>, stop: CancellationToken) {
    loop {
        let client = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => client,
                Err(_) => return,
            },
        };
        if !state.up.load(Ordering::SeqCst) {
            drop(client);
            state.refused.notify_one();
            continue;
        }
        let cut = state.cut.lock().expect("cut").clone();
        tokio::spawn(relay(client, state.upstream, cut));
    }
}

async fn relay(mut client: TcpStream, upstream: SocketAddr, cut: CancellationToken) {
    let Ok(mut server) = TcpStream::connect(upstream).await else { return };
    tokio::select! {
        () = cut.cancelled() => {}
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
    }
}
