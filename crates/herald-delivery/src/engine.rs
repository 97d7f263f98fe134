//! The delivery workers: an intake that sends what the API hands over, a scheduler
//! that claims due rows from the store (retries, resends, recovered and orphaned
//! deliveries), and the per-delivery task `prepare → send → settle → record`.
//!
//! In-flight HTTP calls are bounded by a semaphore; work handed over but not yet
//! finished is bounded by the [`DispatchHandle`]'s capacity, beyond which new
//! deliveries stay in the store until the scheduler has room. Nothing is held in a
//! database transaction while a request is on the wire.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use herald_core::{Delivery, EndpointId, MessageId, RetryPolicy, Timestamp};
use herald_store::Store;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client::HttpClient;
use crate::dispatch::{Dispatch, DispatchHandle};
use crate::pipeline::{prepare, settle};

/// How the workers behave.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub retry: RetryPolicy,
    /// How long a claimed delivery is reserved for this process. Must exceed the
    /// request timeout, so a live worker never loses a row it is still sending.
    pub lease: Duration,
    /// Deliveries handed over and not yet recorded, at most.
    pub capacity: usize,
    /// HTTP requests on the wire at once, at most.
    pub max_in_flight: usize,
    /// The scheduler looks at the store at least this often (expired leases,
    /// other processes' rows), even when nothing woke it.
    pub poll_interval: Duration,
    /// Rows claimed per store round trip.
    pub claim_batch: usize,
    /// After shutdown is requested, how long in-flight deliveries may finish.
    pub shutdown_grace: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            lease: Duration::from_secs(60),
            capacity: 20_000,
            max_in_flight: 512,
            poll_interval: Duration::from_secs(1),
            claim_batch: 500,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The running workers.
pub struct Engine {
    handle: DispatchHandle,
    ctx: Arc<Ctx>,
    intake: mpsc::UnboundedReceiver<Dispatch>,
}

struct Ctx {
    store: Arc<dyn Store>,
    client: HttpClient,
    cfg: EngineConfig,
    handle: DispatchHandle,
    permits: Arc<Semaphore>,
    tasks: TaskTracker,
    wake: Arc<Notify>,
    /// The earliest retry this process scheduled and has not yet claimed.
    next_hint: Mutex<Option<Timestamp>>,
    /// Cancelled at shutdown: deliveries not started by then are given back.
    stopping: CancellationToken,
    /// Deliveries taken but not started before shutdown; their leases are released.
    unsent: Mutex<Vec<(MessageId, EndpointId)>>,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, client: HttpClient, cfg: EngineConfig) -> Self {
        let (tx, intake) = mpsc::unbounded_channel();
        let wake = Arc::new(Notify::new());
        let handle = DispatchHandle::new(Some(tx), wake.clone(), cfg.lease, cfg.capacity);
        let permits = Arc::new(Semaphore::new(cfg.max_in_flight));
        let tasks = TaskTracker::new();
        let ctx = Ctx {
            store,
            client,
            cfg,
            handle: handle.clone(),
            permits,
            tasks,
            wake,
            next_hint: Mutex::new(None),
            stopping: CancellationToken::new(),
            unsent: Mutex::new(Vec::new()),
        };
        Self { handle, ctx: Arc::new(ctx), intake }
    }

    /// The handle the API uses to hand deliveries over.
    pub fn handle(&self) -> DispatchHandle {
        self.handle.clone()
    }

    /// What wakes the scheduler: a store that hears of due work from other
    /// processes (PostgreSQL `NOTIFY`) pokes it.
    pub fn waker(&self) -> Arc<Notify> {
        self.ctx.wake.clone()
    }

    /// Runs until `shutdown` is cancelled, then lets in-flight deliveries finish
    /// within the grace period. Deliveries taken but not started are given back
    /// (their leases released); ones still on the wire when the grace ends keep their
    /// lease and are resumed, by any process, once it expires.
    pub async fn run(self, shutdown: CancellationToken) {
        let Self { ctx, mut intake, .. } = self;
        let scheduler = tokio::spawn(schedule(ctx.clone(), shutdown.clone()));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                next = intake.recv() => match next {
                    Some(d) => spawn_delivery(&ctx, d),
                    None => break,
                },
            }
        }
        ctx.stopping.cancel();
        let _ = scheduler.await;
        intake.close();
        while let Ok(d) = intake.try_recv() {
            ctx.give_back(&d);
        }
        ctx.tasks.close();
        if tokio::time::timeout(ctx.cfg.shutdown_grace, ctx.tasks.wait()).await.is_err() {
            tracing::warn!(
                left = ctx.tasks.len(),
                "shutdown grace over; unfinished deliveries resume after their lease"
            );
        }
        ctx.release_unsent().await;
    }
}

fn spawn_delivery(ctx: &Arc<Ctx>, d: Dispatch) {
    let ctx2 = ctx.clone();
    ctx.tasks.spawn(async move {
        if let Ok(_permit) = ctx2.permits.clone().acquire_owned().await {
            if ctx2.stopping.is_cancelled() {
                ctx2.give_back(&d);
            } else {
                deliver(&ctx2, d).await;
            }
        }
        ctx2.handle.finished();
    });
}

/// One delivery, start to finish.
async fn deliver(ctx: &Ctx, d: Dispatch) {
    let started = Timestamp::now();
    let outcome = match prepare(&d, started) {
        Ok(request) => Ok(ctx.client.send(request).await),
        Err(e) => Err(e),
    };
    let (attempt, update) = settle(&ctx.cfg.retry, &d, outcome, started, rand::random::<f64>());
    if let Err(e) = ctx.store.record_attempt(&attempt, &update).await {
        // The lease will expire and the delivery be tried again: a duplicate, never a loss.
        tracing::error!(error = %e, msg = %d.message.id, endpoint = %d.endpoint.id, "could not record an attempt");
        return;
    }
    tracing::debug!(msg = %d.message.id, endpoint = %d.endpoint.id, status = attempt.response_status_code, "attempt");
    if let Some(at) = update.next_attempt_at {
        ctx.hint(at);
    }
}

impl Ctx {
    /// Releases the leases of what was given back, so any process resumes it now.
    async fn release_unsent(&self) {
        let unsent = std::mem::take(&mut *self.unsent.lock().unwrap_or_else(|p| p.into_inner()));
        if unsent.is_empty() {
            return;
        }
        match self.store.release_leases(&unsent).await {
            Ok(()) => {
                tracing::info!(count = unsent.len(), "gave back deliveries not started before shutdown")
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not give back unstarted deliveries; they resume after their lease")
            }
        }
    }

    fn give_back(&self, d: &Dispatch) {
        let key = (d.delivery.msg_id.clone(), d.delivery.endpoint_id.clone());
        self.unsent.lock().unwrap_or_else(|p| p.into_inner()).push(key);
    }

    fn hint(&self, at: Timestamp) {
        let mut next = self.next_hint.lock().unwrap_or_else(|p| p.into_inner());
        if next.is_none_or(|n| at < n) {
            *next = Some(at);
            self.wake.notify_one();
        }
    }

    /// When the scheduler should look again if nothing wakes it.
    fn next_look(&self, now: Timestamp) -> Timestamp {
        let poll = now.plus(self.cfg.poll_interval);
        let hint = *self.next_hint.lock().unwrap_or_else(|p| p.into_inner());
        hint.map_or(poll, |h| h.min(poll))
    }

    fn clear_hint_until(&self, now: Timestamp) {
        let mut next = self.next_hint.lock().unwrap_or_else(|p| p.into_inner());
        if next.is_some_and(|n| n <= now) {
            *next = None;
        }
    }
}

/// Claims due rows whenever woken, at each hinted retry time, and at least every
/// poll interval; hands them to the intake like fresh deliveries.
async fn schedule(ctx: Arc<Ctx>, shutdown: CancellationToken) {
    loop {
        let now = Timestamp::now();
        ctx.clear_hint_until(now);
        if let Err(e) = claim_all_due(&ctx, now).await {
            tracing::error!(error = %e, "claiming due deliveries failed; will retry");
        }
        let wait =
            Duration::from_millis(u64::try_from(ctx.next_look(now).millis() - now.millis()).unwrap_or(0));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ctx.wake.notified() => {},
            _ = tokio::time::sleep(wait) => {},
        }
    }
}

async fn claim_all_due(ctx: &Ctx, now: Timestamp) -> Result<(), herald_store::StoreError> {
    loop {
        let limit = ctx.cfg.claim_batch.min(ctx.handle.room());
        if limit == 0 {
            return Ok(());
        }
        let claimed = ctx.store.claim_due(now, now.plus(ctx.cfg.lease), limit).await?;
        let full = claimed.len() == limit;
        let dispatches = load(ctx.store.as_ref(), claimed).await?;
        ctx.handle.submit(dispatches);
        if !full {
            return Ok(());
        }
    }
}

/// Pairs claimed rows with their message and endpoint. A row whose message or
/// endpoint vanished meanwhile (deleted) is skipped; deletion removes it anyway.
async fn load(store: &dyn Store, claimed: Vec<Delivery>) -> Result<Vec<Dispatch>, herald_store::StoreError> {
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let msg_ids: Vec<_> = claimed.iter().map(|d| d.msg_id.clone()).collect();
    let ep_ids: Vec<_> = claimed.iter().map(|d| d.endpoint_id.clone()).collect();
    let messages = store.messages_by_id(&msg_ids).await?;
    let endpoints = store.endpoints_by_id(&ep_ids).await?;
    let messages: std::collections::HashMap<_, _> =
        messages.into_iter().map(|m| (m.id.clone(), Arc::new(m))).collect();
    let endpoints: std::collections::HashMap<_, _> =
        endpoints.into_iter().map(|e| (e.id.clone(), Arc::new(e))).collect();
    Ok(claimed
        .into_iter()
        .filter_map(|delivery| {
            let message = messages.get(&delivery.msg_id)?.clone();
            let endpoint = endpoints.get(&delivery.endpoint_id)?.clone();
            Some(Dispatch { delivery, message, endpoint })
        })
        .collect())
}
