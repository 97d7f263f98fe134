#![doc = include_str!("../README.md")]
//!
//! The public surface is [`DashboardConfig`] and [`router`].

mod api;
mod assets;
mod chart;
mod ctx;
mod pages;
mod security;
mod session;
mod theme;
mod view;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use herald_store::Store;

/// Settings of the web UI, settled by the binary.
#[derive(Clone)]
pub struct DashboardConfig {
    /// The admin token: signing in as operator takes it, and session cookies are
    /// signed with a key derived from it.
    pub admin_token: String,
    /// Marks cookies `Secure` (and lets the portal's be `SameSite=None`, for
    /// cross-site iframes); true when Herald's public URL is https.
    pub secure_cookies: bool,
    /// How long a session lasts after signing in.
    pub session_ttl: Duration,
}

impl std::fmt::Debug for DashboardConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardConfig")
            .field("admin_token", &"<redacted>")
            .field("secure_cookies", &self.secure_cookies)
            .field("session_ttl", &self.session_ttl)
            .finish()
    }
}

impl DashboardConfig {
    pub fn new(admin_token: impl Into<String>, secure_cookies: bool) -> Self {
        Self { admin_token: admin_token.into(), secure_cookies, session_ttl: Duration::from_secs(12 * 3600) }
    }
}

/// What every page handler can reach.
#[derive(Clone)]
pub(crate) struct DashState {
    /// Reads (lists, counts, charts) go straight to the store.
    pub store: Arc<dyn Store>,
    /// Writes go through the API router, in process, so its validation and business
    /// rules are the only ones (see [`api`]).
    pub api: Router,
    pub sessions: Arc<session::Sessions>,
    pub config: Arc<DashboardConfig>,
}

/// The dashboard (`/`), the customer portal (`/portal/{app_id}`) and their assets
/// (`/assets/…`), with `api` — the `herald-api` router — as the fallback for every
/// other path and as the service the pages call to change anything.
pub fn router(config: DashboardConfig, store: Arc<dyn Store>, api: Router) -> Router {
    let sessions =
        Arc::new(session::Sessions::new(&config.admin_token, config.session_ttl, config.secure_cookies));
    let state = DashState { store, api: api.clone(), sessions, config: Arc::new(config) };
    pages::router()
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::layer))
        .merge(assets::router())
        .with_state(state)
        .fallback_service(api)
}
