//! A real Herald on a temporary store, for tests.

use std::path::{Path, PathBuf};

use herald::{Config, Database, Server};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running Herald. Its data directory outlives [`TestServer::stop`] so a test can
/// start another server on the same store.
pub struct TestServer {
    pub base_url: String,
    pub token: String,
    pub data_dir: PathBuf,
    /// The store it runs on, for a restart on the same data.
    pub database: Database,
    _dir: Option<tempfile::TempDir>,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow_free::Result>>,
}

mod anyhow_free {
    /// The server task's outcome, as text (keeps anyhow out of this crate's API).
    pub type Result = std::result::Result<(), String>;
}

/// Which store a test server runs on.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A fresh SQLite file in the server's temporary data directory.
    Sqlite,
    /// A fresh schema in the PostgreSQL database at this URL.
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when `HERALD_TEST_DATABASE_URL` is set, else `None` after saying
    /// on stderr (once per process) that the PostgreSQL variants were not run.
    pub fn postgres_from_env() -> Option<Self> {
        match std::env::var("HERALD_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Self::Postgres(url)),
            _ => {
                static SAID: std::sync::Once = std::sync::Once::new();
                SAID.call_once(|| {
                    eprintln!(
                        "NOTE: HERALD_TEST_DATABASE_URL is unset: the PostgreSQL variants of the \
                         integration stories were NOT run (they pass vacuously)."
                    )
                });
                None
            }
        }
    }

    fn database(&self, data_dir: &Path) -> Database {
        match self {
            Self::Sqlite => Database::Sqlite(data_dir.join("herald.db")),
            Self::Postgres(url) => {
                Database::Postgres { url: url.clone(), schema: Some(fresh_schema()), max_connections: 4 }
            }
        }
    }
}

/// A schema name no other test uses (`.ci/run` drops `herald_it_%` schemas first).
fn fresh_schema() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!(
        "herald_it_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A stopped server's store, ready to serve again.
pub struct Stopped {
    data_dir: PathBuf,
    database: Database,
    dir: Option<tempfile::TempDir>,
}

impl Stopped {
    /// Starts a new server on the same store (and data directory).
    pub async fn restart(self, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let database = self.database.clone();
        let mut server = TestServer::start_in(&self.data_dir, |c| {
            c.database = database;
            tweak(c);
        })
        .await;
        server._dir = self.dir;
        server
    }
}

impl TestServer {
    /// A server on a fresh temporary SQLite store with test-friendly settings:
    /// loopback allowed as a destination, a short retry schedule (100ms, 200ms, 400ms).
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Like [`TestServer::start`], with the configuration adjusted by `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_on(&Backend::Sqlite, tweak).await
    }

    /// A server on a fresh store of the given backend.
    pub async fn start_on(backend: &Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = backend.database(dir.path());
        let mut server = Self::start_in(dir.path(), |c| {
            c.database = database;
            tweak(c);
        })
        .await;
        server._dir = Some(dir);
        server
    }

    /// A server with its data directory at `data_dir` (which may hold an earlier
    /// server's data); SQLite there unless `tweak` picks another database.
    pub async fn start_in(data_dir: &Path, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_data_dir(data_dir);
        config.admin_token = Some("test-admin-token".into());
        config.allow_networks = vec!["127.0.0.0/8".parse().expect("cidr"), "::1/128".parse().expect("cidr")];
        config.retry.schedule = herald_core_schedule();
        config.retry.jitter = 0.0;
        tweak(&mut config);
        if matches!(config.database, Database::Postgres { .. }) && config.secret_key.is_none() {
            config.secret_key = Some(postgres_test_key());
        }
        let database = config.database.clone();
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
            database,
            _dir: None,
            shutdown,
            task: Some(task),
        }
    }

    /// Stops gracefully and waits for the server to finish; the store stays, ready
    /// for [`Stopped::restart`].
    pub async fn stop(mut self) -> Stopped {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ran cleanly");
        }
        Stopped { data_dir: self.data_dir.clone(), database: self.database.clone(), dir: self._dir.take() }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The secret key of servers on PostgreSQL, which must be configured there (on
/// SQLite the server keeps its own in the data directory). One fixed key, so a
/// restart on the same schema reads what the first server wrote.
pub fn postgres_test_key() -> herald_store::SecretKey {
    herald_store::SecretKey::from_base64("aGVyYWxkLXRlc3RraXQtcG9zdGdyZXMta2V5LTMyYiE=")
        .unwrap_or_else(|e| unreachable!("a valid constant key: {e}"))
}

fn herald_core_schedule() -> Vec<std::time::Duration> {
    [100, 200, 400].into_iter().map(std::time::Duration::from_millis).collect()
}
