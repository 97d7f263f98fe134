//! The `herald` binary's library half: configuration, wiring and the server
//! lifecycle, so that `main` and the tests start Herald the same way.
//!
//! `Server::start(config)` opens the store and settles the admin token;
//! `Server::run(listener, shutdown)` serves the API and runs the delivery workers
//! until `shutdown` is cancelled, then drains: the listener stops accepting, open
//! requests finish, in-flight deliveries get a grace period, and whatever is left
//! keeps its lease in the store and is resumed on the next start.

pub mod cli;
pub mod config;
pub mod listen;
mod open;
mod secret_key;
mod telemetry;
mod token;
mod upkeep;

use std::sync::Arc;

use anyhow::Context;
use herald_api::{ApiConfig, AppState};
use herald_core::{AppId, Endpoint};
use herald_delivery::client::{ClientConfig, HttpClient};
use herald_delivery::egress::EgressPolicy;
use herald_delivery::operational::ensure_operational_app;
use herald_delivery::pipeline::USER_AGENT;
use herald_delivery::{DispatchHandle, Engine, EngineConfig, Operational};
use herald_store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::{Config, Database, Role, ServeArgs};

/// A configured server whose store is open.
pub struct Server {
    config: Config,
    store: Arc<dyn Store>,
    /// The application whose endpoints receive operational webhooks, and those of
    /// them made from the configuration.
    operational: (AppId, Vec<Endpoint>),
    /// Set on PostgreSQL: the store other processes share, whose notifications wake
    /// this process's workers.
    postgres: Option<herald_postgres::PgStore>,
    admin_token: String,
    token_origin: token::Origin,
}

impl Server {
    /// Opens (and migrates) the store and settles the admin token.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
        let key = secret_key::settle(config.secret_key.as_ref(), &config.database, &config.data_dir)?;
        let (store, postgres) = open::open_store(&config, &key).await?;
        tracing::info!("endpoint secrets are encrypted at rest with the secret key {}", key.describe());
        let (admin_token, token_origin) = token::settle(config.admin_token.as_deref(), &config.data_dir)?;
        let operational = ensure_operational_app(store.as_ref(), &config.operational_webhook_urls)
            .await
            .context("cannot set up the operational-webhooks application")?;
        Ok(Self { config, store, postgres, operational, admin_token, token_origin })
    }

    /// The endpoints made from `operational_webhook_url`, for the start-up banner.
    pub fn operational_endpoints(&self) -> &[Endpoint] {
        &self.operational.1
    }

    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Where the admin token came from, for the start-up banner.
    pub fn token_origin(&self) -> String {
        self.token_origin.describe(&self.config.data_dir)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Serves on `listener` until `shutdown` is cancelled. A workers-only process
    /// does not serve the API; it answers `/api/v1/health` on the listener only.
    pub async fn run(self, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
        let role = self.config.role;
        // Before the engine starts, so its first attempts are counted.
        let metrics = telemetry::recorder();
        let engine = match role {
            Role::ApiOnly => None,
            Role::All | Role::WorkersOnly => Some(self.engine()?),
        };
        let listener_task = match (&engine, &self.postgres) {
            (Some(engine), Some(pg)) => Some(pg.listen_due(engine.waker(), shutdown.clone())),
            _ => None,
        };
        let dispatch = engine.as_ref().map_or_else(DispatchHandle::detached, Engine::handle);
        let app = match role {
            Role::WorkersOnly => health_only(self.store.clone()),
            Role::All | Role::ApiOnly => {
                self.api(dispatch, shutdown.clone(), &self.public_url(listener.local_addr()?))
            }
        };
        let workers = engine.map(|e| tokio::spawn(e.run(shutdown.clone())));
        let upkeep = self.upkeep(role, shutdown.clone());
        let app = telemetry::wrap(app, metrics);
        let http_shutdown = shutdown.clone();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { http_shutdown.cancelled().await })
            .await
            .context("the HTTP server failed")?;
        shutdown.cancel();
        if let Some(workers) = workers {
            workers.await.context("the delivery workers panicked")?;
        }
        if let Some(task) = listener_task {
            let _ = task.await;
        }
        upkeep.close();
        upkeep.wait().await;
        Ok(())
    }

    /// Retention (where workers run) and metrics sampling, until `shutdown`.
    fn upkeep(&self, role: Role, shutdown: CancellationToken) -> tokio_util::task::TaskTracker {
        let tasks = tokio_util::task::TaskTracker::new();
        let retention =
            upkeep::Retention { period: self.config.retention, every: self.config.retention_sweep };
        let retention = (role != Role::ApiOnly).then_some(retention);
        upkeep::spawn(&tasks, self.store.clone(), retention, telemetry::recorder(), shutdown);
        tasks
    }

    fn engine(&self) -> anyhow::Result<Engine> {
        let client = HttpClient::new(ClientConfig {
            default_timeout: self.config.request_timeout,
            max_response_bytes: self.config.max_response_bytes,
            user_agent: USER_AGENT.to_owned(),
            egress: EgressPolicy::new(self.config.allow_networks.clone()),
        })?;
        let engine_config = EngineConfig {
            retry: self.config.retry.clone(),
            health: self.config.health,
            lease: self.config.lease,
            endpoint_concurrency: self.config.endpoint_concurrency,
            operational_app: Some(self.operational.0.clone()),
            ..EngineConfig::default()
        };
        Ok(Engine::new(self.store.clone(), client, engine_config))
    }

    /// Where browsers reach this server: `--public-url`, else the listening address.
    fn public_url(&self, addr: std::net::SocketAddr) -> String {
        let url = self.config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        url.trim_end_matches('/').to_owned()
    }

    /// The API under `/api/v1`, with the dashboard and the customer portal in front.
    fn api(&self, dispatch: DispatchHandle, shutdown: CancellationToken, public_url: &str) -> axum::Router {
        let api = ApiConfig {
            admin_token: self.admin_token.clone(),
            max_payload_bytes: self.config.max_payload_bytes,
            default_payload_retention: self.config.retention,
            egress: Some(EgressPolicy::new(self.config.allow_networks.clone())),
            app_portal_base_url: format!("{public_url}/portal"),
            public_url: self.config.public_url.clone(),
            ..ApiConfig::default()
        };
        let operational = Operational::new(self.store.clone(), dispatch.clone(), self.operational.0.clone());
        let state = AppState::new(self.store.clone(), dispatch, api)
            .with_operational(operational)
            .with_shutdown(shutdown);
        let dashboard = herald_dashboard::DashboardConfig::new(
            self.admin_token.clone(),
            public_url.starts_with("https://"),
        );
        herald_dashboard::router(dashboard, self.store.clone(), herald_api::router(state))
    }
}

/// The router of a workers-only process: health, so orchestrators can probe it.
fn health_only(store: Arc<dyn Store>) -> axum::Router {
    let health = move || {
        let store = store.clone();
        async move {
            match store.ping().await {
                Ok(()) => axum::http::StatusCode::NO_CONTENT,
                Err(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE,
            }
        }
    };
    axum::Router::new()
        .route("/api/v1/health", axum::routing::get(health.clone()))
        .route("/api/v1/health/", axum::routing::get(health))
}
