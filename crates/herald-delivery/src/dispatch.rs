//! The hand-off between whoever creates due deliveries (the API) and the workers
//! that send them.
//!
//! A freshly accepted message's deliveries are committed already leased to this
//! process and handed straight to the local workers through [`DispatchHandle::submit`]:
//! no poll delay and no second read of rows the API has in memory. Anything else
//! that becomes due (a resend, a recover, a retry whose time came) is found by the
//! scheduler, which [`DispatchHandle::wake`] prods.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use herald_core::{Delivery, Endpoint, Message, Timestamp};
use herald_store::{Store, StoreError};
use tokio::sync::{Notify, mpsc};

/// One delivery ready to send, with the message and endpoint it needs.
#[derive(Clone, Debug)]
pub struct Dispatch {
    pub delivery: Delivery,
    pub message: Arc<Message>,
    pub endpoint: Arc<Endpoint>,
}

/// A cheap, cloneable handle to the local delivery workers (if any run here).
#[derive(Clone, Debug)]
pub struct DispatchHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `None` when this process runs no workers (`--no-workers`).
    local: Option<mpsc::UnboundedSender<Dispatch>>,
    wake: Arc<Notify>,
    lease: Duration,
    /// Deliveries handed over and not finished yet (queued or in flight).
    outstanding: AtomicUsize,
    /// Above this many outstanding deliveries, new ones are left unleased in the
    /// store for the scheduler to claim later: memory stays bounded under a burst.
    capacity: usize,
}

impl DispatchHandle {
    /// A handle feeding local workers through `tx`, waking the scheduler through `wake`.
    pub fn new(
        local: Option<mpsc::UnboundedSender<Dispatch>>,
        wake: Arc<Notify>,
        lease: Duration,
        capacity: usize,
    ) -> Self {
        let outstanding = AtomicUsize::new(0);
        Self { inner: Arc::new(Inner { local, wake, lease, outstanding, capacity }) }
    }

    /// A handle with no workers behind it: deliveries wait in the store for
    /// whichever process runs workers.
    pub fn detached() -> Self {
        Self::new(None, Arc::new(Notify::new()), Duration::from_secs(30), 0)
    }

    /// The lease to create new deliveries with, when this process will send them
    /// itself; `None` leaves them for any worker to claim (no local workers, or
    /// they already have all the work they can hold).
    pub fn lease_for_new(&self, now: Timestamp) -> Option<Timestamp> {
        let room = self.outstanding() < self.inner.capacity;
        self.inner.local.as_ref().filter(|_| room).map(|_| now.plus(self.inner.lease))
    }

    /// Deliveries handed to local workers and not finished yet.
    pub fn outstanding(&self) -> usize {
        self.inner.outstanding.load(Ordering::Relaxed)
    }

    /// How many more deliveries the local workers can take now.
    pub fn room(&self) -> usize {
        self.inner.capacity.saturating_sub(self.outstanding())
    }

    /// Marks one handed-over delivery finished (recorded, or abandoned at shutdown).
    pub(crate) fn finished(&self) {
        self.inner.outstanding.fetch_sub(1, Ordering::Relaxed);
    }

    /// Hands freshly committed deliveries (created with [`Self::lease_for_new`]) to
    /// the local workers. If they are gone (shutting down) the leases simply expire
    /// and the rows are claimed again later: nothing is lost.
    pub fn submit(&self, batch: impl IntoIterator<Item = Dispatch>) {
        if let Some(tx) = &self.inner.local {
            for d in batch {
                self.inner.outstanding.fetch_add(1, Ordering::Relaxed);
                if tx.send(d).is_err() {
                    self.finished();
                    break;
                }
            }
        }
    }

    /// Tells the scheduler that deliveries became due now (resend, recover).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Commits `msg` with one delivery per destination, leased to this process when
    /// its workers have room, and hands those deliveries to them.
    pub async fn commit_and_send(
        &self,
        store: &dyn Store,
        msg: Message,
        destinations: Vec<Arc<Endpoint>>,
    ) -> Result<Arc<Message>, StoreError> {
        let ids: Vec<_> = destinations.iter().map(|e| e.id.clone()).collect();
        let lease = self.lease_for_new(msg.created_at);
        let deliveries = store.create_message(&msg, &ids, lease).await?;
        let msg = Arc::new(msg);
        if lease.is_some() && !deliveries.is_empty() {
            let endpoints: HashMap<_, _> = destinations.into_iter().map(|e| (e.id.clone(), e)).collect();
            self.submit(deliveries.into_iter().filter_map(|delivery| {
                let endpoint = endpoints.get(&delivery.endpoint_id)?.clone();
                Some(Dispatch { delivery, message: msg.clone(), endpoint })
            }));
        }
        Ok(msg)
    }
}
