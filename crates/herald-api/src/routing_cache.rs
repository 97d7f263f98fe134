//! A short-lived cache of what message creation reads on every request: the
//! application (by the id or uid in the path) and its endpoints.
//!
//! Without it each accepted message costs two reads before its one write; with it,
//! a burst of messages to one application reads once per `ttl`. The cache is
//! cleared by every write this process makes through the API other than message
//! creation (see [`crate::router`]), so a process sees its own changes at once.
//! Changes made elsewhere — another process on the same PostgreSQL, or the delivery
//! engine disabling an endpoint — are seen within `ttl` (default 1 s). The endpoints
//! are shared (`Arc`) with the deliveries handed to the workers, so an accepted
//! message no longer copies its destinations.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald_core::{Application, Endpoint};
use herald_store::Store;

/// An application and all its endpoints, as read together.
#[derive(Clone, Debug)]
pub(crate) struct Routing {
    pub app: Application,
    pub endpoints: Arc<Vec<Arc<Endpoint>>>,
}

impl Routing {
    /// `app` with its endpoints as the store has them now.
    pub(crate) async fn load(store: &dyn Store, app: Application) -> herald_store::Result<Routing> {
        let endpoints = store.all_endpoints(&app.id).await?;
        Ok(Routing { app, endpoints: Arc::new(endpoints.into_iter().map(Arc::new).collect()) })
    }
}

#[derive(Debug)]
pub(crate) struct RoutingCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Routing)>>,
}

/// Entries kept at most; past it the cache starts over (a flood of distinct
/// applications must not grow memory without bound).
const MAX_ENTRIES: usize = 10_000;

impl RoutingCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()) }
    }

    /// The cached routing for `key` (an application id or uid), if still fresh.
    pub(crate) fn get(&self, key: &str) -> Option<Routing> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (at, routing) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| routing.clone())
    }

    pub(crate) fn put(&self, key: &str, routing: Routing) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key.to_owned(), (Instant::now(), routing));
    }

    /// Forgets everything: called after any API write that may change routing.
    pub(crate) fn clear(&self) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
