//! Test harness for the PostgreSQL store: a fresh schema per test (dropped when the
//! test ends, passed or failed), the skip rule when no database is configured, and
//! small domain fixtures.
//!
//! The database comes from `HERALD_TEST_DATABASE_URL`. Without it every test prints
//! that the PostgreSQL suite was skipped and passes, so `cargo test` still passes on a
//! machine without PostgreSQL; CI sets the variable.

pub mod proxy;

use std::hash::{BuildHasher, RandomState};
use std::io::Write as _;
use std::sync::Once;
use std::time::Duration;

use herald_core::{AppId, Application, Endpoint, Message, MessageId, SigningKey, Timestamp};
use herald_postgres::{PgOptions, PgStore};
use herald_store::{SecretKey, Store};
use sqlx::postgres::PgListener;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

pub const URL_VAR: &str = "HERALD_TEST_DATABASE_URL";

/// How long a test waits for something that should take milliseconds, before failing.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A schema of its own for one test, on the configured database.
pub struct TestSchema {
    pub url: String,
    pub name: String,
    /// The secret key every store of this schema is opened with.
    pub key: SecretKey,
}

impl TestSchema {
    /// `None` (after saying so on stderr) when no database is configured. The schema
    /// itself is created by the first `connect`.
    pub fn new(test: &str) -> Option<Self> {
        let Some(url) = std::env::var(URL_VAR).ok().filter(|u| !u.is_empty()) else {
            say_skipped();
            return None;
        };
        let name = format!("herald_test_{:016x}", RandomState::new().hash_one(test));
        Some(Self { url, name, key: SecretKey::generate() })
    }

    pub fn options(&self) -> PgOptions {
        PgOptions { max_connections: 4, schema: Some(self.name.clone()), secret_key: self.key.clone() }
    }

    pub async fn store(&self) -> PgStore {
        PgStore::connect(&self.url, self.options()).await.expect("connect")
    }

    /// A plain connection to the database, outside any store.
    pub async fn raw(&self) -> PgConnection {
        PgConnection::connect(&self.url).await.expect("raw connection")
    }

    /// A listener on `herald_due` that hears every schema's notifications.
    pub async fn listener(&self) -> PgListener {
        let mut listener = PgListener::connect(&self.url).await.expect("listener");
        listener.listen("herald_due").await.expect("LISTEN");
        listener
    }
}

/// Says once per run, on the real stderr (`eprintln!` would be captured by the test
/// harness and shown only on failure), that the PostgreSQL tests did not run.
fn say_skipped() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let note = format!(
            "\nherald-postgres: the PostgreSQL suite was SKIPPED because {URL_VAR} is unset; \
             its tests pass without running.\n  To run it: \
             {URL_VAR}=postgres://postgres@127.0.0.1:5432/test cargo test -p herald-postgres\n\n"
        );
        // Nothing to do if stderr is gone.
        let _ = std::io::stderr().write_all(note.as_bytes());
    });
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // Drop cannot await and may run while the test's runtime unwinds: use a thread
        // with a runtime of its own.
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            runtime.map_err(|e| e.to_string())?.block_on(async {
                let mut conn = PgConnection::connect(&url).await.map_err(|e| e.to_string())?;
                let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE");
                sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await.map_err(|e| e.to_string())?;
                conn.close().await.map_err(|e| e.to_string())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test schema {}: {dropped:?}", self.name);
        }
    }
}

pub fn app() -> Application {
    let now = Timestamp::now();
    Application {
        id: AppId::generate(),
        uid: None,
        name: "Postgres".into(),
        metadata: Default::default(),
        throttle_rate: None,
        created_at: now,
        updated_at: now,
    }
}

pub fn endpoint(app: &AppId) -> Endpoint {
    let now = Timestamp::now();
    Endpoint::new(app.clone(), "https://example.com/hook".to_owned(), SigningKey::generate_symmetric(), now)
}

/// A message created at `at` (so its deliveries are due then).
pub fn message(app: &AppId, at: i64, event_id: Option<&str>) -> Message {
    Message {
        id: MessageId::generate(),
        app_id: app.clone(),
        event_type: "user.created".into(),
        event_id: event_id.map(str::to_owned),
        payload: Some(bytes::Bytes::from_static(b"{}")),
        channels: None,
        tags: None,
        created_at: Timestamp(at),
        expires_at: None,
        inbound: None,
    }
}

/// An application with `n` endpoints, stored.
pub async fn app_with_endpoints(store: &PgStore, n: usize) -> (Application, Vec<Endpoint>) {
    let app = app();
    store.create_app(&app).await.expect("create_app");
    let mut endpoints = Vec::new();
    for _ in 0..n {
        let ep = endpoint(&app.id);
        store.create_endpoint(&ep).await.expect("create_endpoint");
        endpoints.push(ep);
    }
    (app, endpoints)
}
