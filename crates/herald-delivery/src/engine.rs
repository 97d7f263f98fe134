//! The delivery workers: an intake that takes what the API hands over, a scheduler
//! that claims due rows from the store (retries, resends, recovered, orphaned and
//! postponed deliveries), and per-endpoint [lanes](crate::lanes) whose workers run
//! `prepare → send → settle → record → aftercare` for one delivery at a time.
//!
//! Three bounds keep one endpoint from hurting the others. Requests on the wire to
//! one endpoint are bounded by its lane's limit (`endpoint_concurrency`, halved by
//! each timeout); all requests by the global semaphore (`max_in_flight`), which lane
//! workers queue for one delivery at a time, so busy endpoints take turns; and what
//! waits in memory for one endpoint by its lane's backlog bound, beyond which its
//! deliveries are postponed in the store rather than held. Work handed over but not
//! finished is bounded by the [`DispatchHandle`]'s capacity, beyond which new
//! deliveries stay in the store until the scheduler has room. Nothing is held in a
//! database transaction while a request is on the wire.

mod aftercare;
mod wakeups;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald_core::{AppId, Delivery, EndpointId, HealthPolicy, MessageId, RetryPolicy, Timestamp};
use herald_store::Store;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client::HttpClient;
use crate::dispatch::{Dispatch, DispatchHandle};
use crate::lanes::{Job, Lanes};
use crate::operational::Operational;
use crate::pipeline::{Observed, PrepareError, RetryInput, prepare_shaped, record, settle};
use crate::smtp;
use crate::telemetry;
use crate::transform::{Shaped, Shaper};
use wakeups::Wakeups;

/// How long a lane that has nothing to do is kept (with what it learnt about its
/// endpoint: a reduced limit, a timeout streak, a rate limiter's last slot).
const LANE_IDLE: Duration = Duration::from_secs(60);

/// How the workers behave.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub retry: RetryPolicy,
    /// When an endpoint that keeps failing is disabled.
    pub health: HealthPolicy,
    /// How long a claimed delivery is reserved for this process. Must exceed the
    /// request timeout, so a live worker never loses a row it is still sending.
    pub lease: Duration,
    /// Deliveries handed over and not yet recorded, at most.
    pub capacity: usize,
    /// HTTP requests on the wire at once, at most.
    pub max_in_flight: usize,
    /// HTTP requests on the wire to one endpoint at once, at most. A lane starts at
    /// [`crate::flow::INITIAL_LIMIT`], gains one per answer and halves on a timeout.
    pub endpoint_concurrency: u32,
    /// The scheduler looks at the store at least this often (expired leases,
    /// other processes' rows), even when nothing woke it.
    pub poll_interval: Duration,
    /// Rows claimed per store round trip.
    pub claim_batch: usize,
    /// After shutdown is requested, how long in-flight deliveries may finish.
    pub shutdown_grace: Duration,
    /// The application whose endpoints receive operational webhooks; `None` sends none.
    pub operational_app: Option<AppId>,
    /// Time and memory limits of one transformation run.
    pub transform_limits: herald_transform::Limits,
    /// JavaScript transformations running at once, at most: the engine's JavaScript
    /// threads (templates run on the calling task).
    pub transforms_at_once: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            health: HealthPolicy::default(),
            lease: Duration::from_secs(60),
            capacity: 20_000,
            max_in_flight: 512,
            endpoint_concurrency: 64,
            poll_interval: Duration::from_secs(1),
            claim_batch: 500,
            shutdown_grace: Duration::from_secs(10),
            operational_app: None,
            transform_limits: herald_transform::Limits::default(),
            transforms_at_once: std::thread::available_parallelism().map_or(2, |n| n.get()),
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
    lanes: Lanes,
    /// Endpoints' compiled filters and transformations.
    shaper: Shaper,
    operational: Option<Operational>,
    /// When the scheduler should look next: retries and postponed deliveries.
    wakeups: Mutex<Wakeups>,
    /// Deliveries full lanes gave back, to be postponed in the store by the scheduler.
    postponed: Mutex<Vec<(MessageId, EndpointId, Timestamp)>>,
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
        let operational =
            cfg.operational_app.clone().map(|app| Operational::new(store.clone(), handle.clone(), app));
        let ctx = Ctx {
            store,
            client,
            permits: Arc::new(Semaphore::new(cfg.max_in_flight)),
            lanes: Lanes::new(cfg.endpoint_concurrency),
            shaper: Shaper::new(cfg.transform_limits, cfg.transforms_at_once),
            cfg,
            handle: handle.clone(),
            tasks: TaskTracker::new(),
            wake,
            operational,
            wakeups: Mutex::new(Wakeups::default()),
            postponed: Mutex::new(Vec::new()),
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
                    Some(d) => offer(&ctx, d),
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
        for d in ctx.lanes.drain_all() {
            ctx.give_back(&d);
        }
        ctx.flush_postponed().await;
        ctx.release_unsent().await;
    }
}

/// Hands a delivery to its endpoint's lane, starting a worker for it if the lane
/// may run one more, or postponing it in the store if the lane is full.
fn offer(ctx: &Arc<Ctx>, d: Dispatch) {
    let offer = ctx.lanes.offer(d, Instant::now());
    if let Some(job) = offer.start {
        spawn_worker(ctx, job.d.delivery.endpoint_id.clone(), Some(job));
    }
    for (d, after) in offer.give_back {
        ctx.postpone(&d, after);
        ctx.handle.finished();
    }
}

fn spawn_worker(ctx: &Arc<Ctx>, endpoint: EndpointId, first: Option<Job>) {
    let ctx2 = ctx.clone();
    ctx.tasks.spawn(work_lane(ctx2, endpoint, first));
}

/// One worker of a lane: runs the job it was started with, if any, then takes the
/// lane's deliveries one at a time until there are none.
async fn work_lane(ctx: Arc<Ctx>, endpoint: EndpointId, first: Option<Job>) {
    let mut job = first;
    loop {
        let Some(current) = job.take().or_else(|| ctx.lanes.next(&endpoint, Instant::now())) else { break };
        if current.spawn_another {
            spawn_worker(&ctx, endpoint.clone(), None);
        }
        run_job(&ctx, current).await;
        ctx.handle.finished();
    }
}

/// Waits for the job's send slot (rate limit) and a global permit, then delivers;
/// gives the job back instead if shutdown comes first.
async fn run_job(ctx: &Arc<Ctx>, job: Job) {
    if let Some(slot) = job.not_before {
        tokio::select! {
            _ = ctx.stopping.cancelled() => {}
            _ = tokio::time::sleep_until(slot.into()) => {}
        }
    }
    // The fast path takes a free permit without registering for cancellation (a
    // shared lock per delivery); only a worker that has to wait listens for shutdown.
    let permit = match ctx.permits.clone().try_acquire_owned() {
        Ok(permit) => Some(permit),
        Err(_) => tokio::select! {
            _ = ctx.stopping.cancelled() => None,
            permit = ctx.permits.clone().acquire_owned() => permit.ok(),
        },
    };
    match permit {
        Some(_permit) if !ctx.stopping.is_cancelled() => {
            let span = telemetry::delivery_span(&job.d);
            tracing::Instrument::instrument(deliver(ctx, job), span).await
        }
        _ => ctx.give_back(&job.d),
    }
}

/// One delivery, start to finish.
async fn deliver(ctx: &Arc<Ctx>, job: Job) {
    let Job { d, start, disabled, .. } = job;
    let started = Timestamp::now();
    let Some(prepared) = shape(ctx, &d, start, disabled, started).await else { return };
    let (outcome, sent) = match prepared {
        Ok(request) => {
            let request = smtp::with_defaults(request, &d.message);
            let sent = record::sent(&request, d.message.payload.as_ref());
            (Ok(ctx.client.send(request).await), Some(sent))
        }
        Err(e) => (Err(e), None),
    };
    let seen = Observed::of(&outcome);
    let outcome_label = telemetry::outcome_label(&outcome);
    let ended = Timestamp::now();
    let verdict = ctx.lanes.complete(start, &d.endpoint.id, &seen, &ctx.cfg.health, ended);
    let retry = RetryInput { timeouts_in_a_row: verdict.timeouts_in_a_row, sample: rand::random::<f64>() };
    let (mut attempt, update) = settle(&ctx.cfg.retry, &d, outcome, started, retry);
    if let Some(sent) = sent {
        attempt.url = sent.url;
        attempt.request = Some(sent.request);
    }
    if let Err(e) = ctx.store.record_attempt(&attempt, &update).await {
        // The lease will expire and the delivery be tried again: a duplicate, never a loss.
        tracing::error!(error = %e, msg = %d.message.id, endpoint = %d.endpoint.id, "could not record an attempt");
        return;
    }
    tracing::debug!(msg = %d.message.id, endpoint = %d.endpoint.id, status = attempt.response_status_code, "attempt");
    telemetry::attempt_recorded(outcome_label, &attempt, d.message.created_at);
    if let Some(at) = update.next_attempt_at {
        ctx.hint(at);
    }
    aftercare::after_attempt(ctx, &d, attempt, &update, seen, verdict.health, ended).await;
}

/// Applies the endpoint's filter and transformation and prepares the request; `None`
/// when the message is not to be sent (filtered or skipped), which is then recorded
/// as such, with no attempt. A transformation that fails makes the attempt fail
/// with its error, retried like any failure: the code may be fixed meanwhile, and a
/// retry uses the endpoint as it is then.
async fn shape(
    ctx: &Arc<Ctx>,
    d: &Dispatch,
    start: Instant,
    disabled: bool,
    now: Timestamp,
) -> Option<Result<crate::client::OutboundRequest, PrepareError>> {
    if disabled {
        return Some(Err(PrepareError::Disabled));
    }
    match ctx.shaper.shape(&d.endpoint, &d.message).await {
        Shaped::Plain => Some(prepare_shaped(d, None, now)),
        Shaped::Transformed(request) => Some(prepare_shaped(d, Some(request), now)),
        Shaped::Failed(error) => Some(Err(PrepareError::Transform(error))),
        Shaped::Filtered(reason) => {
            // Nothing was tried: the lane frees its slot and learns nothing.
            let seen = Observed { result: None, timed_out: false, answered: false, took: Duration::ZERO };
            ctx.lanes.complete(start, &d.endpoint.id, &seen, &ctx.cfg.health, Timestamp::now());
            match ctx.store.record_filtered(&d.message.id, &d.endpoint.id, Timestamp::now()).await {
                Ok(()) => {
                    tracing::debug!(msg = %d.message.id, endpoint = %d.endpoint.id, %reason, "filtered")
                }
                Err(e) => {
                    tracing::error!(error = %e, msg = %d.message.id, endpoint = %d.endpoint.id, "could not record a filtered delivery")
                }
            }
            None
        }
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

    /// Queues a full lane's delivery to be postponed by about `after` (stretched by
    /// up to a tenth, so a large backlog does not come back in one instant).
    fn postpone(&self, d: &Dispatch, after: Duration) {
        let at = Timestamp::now().plus(after.mul_f64(1.0 + 0.1 * rand::random::<f64>()));
        let key = (d.delivery.msg_id.clone(), d.delivery.endpoint_id.clone(), at);
        self.postponed.lock().unwrap_or_else(|p| p.into_inner()).push(key);
        self.wakeups().postponed(at);
        self.wake.notify_one();
    }

    /// Writes the postponements queued so far, in one store call. If it fails the
    /// rows keep their lease and come back when it expires.
    async fn flush_postponed(&self) {
        let batch = std::mem::take(&mut *self.postponed.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.postpone(&batch).await {
            tracing::warn!(error = %e, count = batch.len(), "could not postpone deliveries; they resume after their lease");
        }
    }

    fn wakeups(&self) -> std::sync::MutexGuard<'_, Wakeups> {
        self.wakeups.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn hint(&self, at: Timestamp) {
        if self.wakeups().retry(at) {
            self.wake.notify_one();
        }
    }

    /// When the scheduler should look again if nothing wakes it.
    fn next_look(&self, now: Timestamp) -> Timestamp {
        self.wakeups().next(now.plus(self.cfg.poll_interval))
    }

    fn clear_hint_until(&self, now: Timestamp) {
        self.wakeups().claimed_until(now);
    }
}

/// Writes postponements and claims due rows whenever woken, at each hinted retry
/// time, and at least every poll interval; hands the rows over like fresh deliveries.
async fn schedule(ctx: Arc<Ctx>, shutdown: CancellationToken) {
    let mut swept = Instant::now();
    loop {
        let now = Timestamp::now();
        ctx.clear_hint_until(now);
        ctx.flush_postponed().await;
        if let Err(e) = claim_all_due(&ctx, now).await {
            tracing::error!(error = %e, "claiming due deliveries failed; will retry");
        }
        if swept.elapsed() >= LANE_IDLE {
            swept = Instant::now();
            ctx.lanes.sweep(swept, LANE_IDLE);
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

async fn claim_all_due(ctx: &Arc<Ctx>, now: Timestamp) -> Result<(), herald_store::StoreError> {
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
