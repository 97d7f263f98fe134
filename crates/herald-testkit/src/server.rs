//! A real Herald on a temporary store, for tests.

use std::path::{Path, PathBuf};

use herald::{Config, Server};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running Herald. Its data directory outlives [`TestServer::stop`] so a test can
/// start another server on the same store.
pub struct TestServer {
    pub base_url: String,
    pub token: String,
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow_free::Result>>,
}

mod anyhow_free {
    /// The server task's outcome, as text (keeps anyhow out of this crate's API).
    pub type Result = std::result::Result<(), String>;
}

impl TestServer {
    /// A server on a fresh temporary store with test-friendly settings: loopback
    /// allowed as a destination, a short retry schedule (100ms, 200ms, 400ms).
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Like [`TestServer::start`], with the configuration adjusted by `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Self::start_in(dir.path(), tweak).await;
        server._dir = Some(dir);
        server
    }

    /// A server on the store in `data_dir` (which may hold an earlier server's data).
    pub async fn start_in(data_dir: &Path, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_data_dir(data_dir);
        config.admin_token = Some("test-admin-token".into());
        config.allow_networks = vec!["127.0.0.0/8".parse().expect("cidr"), "::1/128".parse().expect("cidr")];
        config.retry.schedule = herald_core_schedule();
        config.retry.jitter = 0.0;
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = Server::start(config).await.expect("server starts");
        let token = server.admin_token().to_owned();
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let task =
            tokio::spawn(async move { server.run(listener, stop).await.map_err(|e| format!("{e:#}")) });
        Self {
            base_url: format!("http://{addr}"),
            token,
            data_dir: data_dir.to_owned(),
            _dir: None,
            shutdown,
            task: Some(task),
        }
    }

    /// Stops gracefully and waits for the server to finish; returns the data
    /// directory's owner (keep it alive to restart on the same store).
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ran cleanly");
        }
        self._dir.take()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn herald_core_schedule() -> Vec<std::time::Duration> {
    [100, 200, 400].into_iter().map(std::time::Duration::from_millis).collect()
}
