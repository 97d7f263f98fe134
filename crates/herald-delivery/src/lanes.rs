//! Lanes: the engine's per-endpoint queues, and what it knows about each endpoint.
//!
//! Every delivery handed to the engine joins its endpoint's lane. A lane has up to
//! its [`AdaptiveLimit`] of worker tasks, each sending one delivery at a time, so
//! one endpoint never has more requests on the wire than that, and workers of busy
//! endpoints queue for the engine's global permits one delivery at a time, which
//! serves the endpoints in turn (the semaphore is fair). A lane holds at most
//! [`Pace::bound`] deliveries, judged by how long its answers take (or how long its
//! oldest request has been waiting for one); beyond that [`Lanes::offer`] gives
//! deliveries back and the engine postpones their rows in the store instead of
//! holding them, so a hanging endpoint's backlog stays in the store, not in memory.
//!
//! A lane also caches the endpoint's health (`failing_since`, disabled) so that the
//! engine writes to the store only on transitions; each delivery brings a snapshot
//! of the endpoint row, which refreshes the cache when it is newer.
//!
//! One `std` mutex guards every lane: each call holds it for a few map operations
//! and never across an `await`, which is cheaper than an async lock per lane.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use herald_core::{Endpoint, EndpointId, HealthChange, HealthPolicy, Timestamp};

use crate::dispatch::Dispatch;
use crate::flow::{AdaptiveLimit, Backlog, Latency, MAX_BACKLOG, Pace, Pacer};
use crate::pipeline::Observed;

/// Every endpoint's lane.
pub(crate) struct Lanes {
    lanes: Mutex<HashMap<EndpointId, Lane>>,
    /// Requests on the wire to one endpoint, at most (`HERALD_ENDPOINT_CONCURRENCY`).
    max_concurrency: u32,
}

struct Lane {
    queue: VecDeque<Dispatch>,
    /// Worker tasks running for this lane; each holds at most one delivery.
    workers: usize,
    limit: AdaptiveLimit,
    latency: Latency,
    pacer: Option<Pacer>,
    rate: Option<u32>,
    backlog: Backlog,
    timeouts_in_a_row: u32,
    /// When each request now on the wire (or waiting for its send slot) started:
    /// the oldest one's age is a lower bound on the endpoint's latency before any
    /// answer comes back, which is what reveals a hanging endpoint early.
    sending: Vec<Instant>,
    /// `None`: healthy, as far as this process knows.
    failing_since: Option<Timestamp>,
    /// The mark this process cleared last: a snapshot read before the clear still
    /// carries it and must not bring it back.
    cleared: Option<Timestamp>,
    disabled: bool,
    /// The newest endpoint `updated_at` this lane has taken its settings from.
    seen: Timestamp,
    last_active: Instant,
}

/// What to do after offering a delivery to its lane.
#[derive(Default)]
pub(crate) struct Offer {
    /// The lane may run one more worker: start one with this job in hand (handing
    /// it over, rather than queueing it, means no worker is ever started for a
    /// delivery another worker has meanwhile taken).
    pub start: Option<Job>,
    /// Deliveries the lane may not hold (the offered one, or ones queued before the
    /// lane's bound shrank): postpone each in the store by its delay.
    pub give_back: Vec<(Dispatch, Duration)>,
}

/// A delivery a worker takes from its lane.
pub(crate) struct Job {
    pub d: Dispatch,
    /// When it may be sent: now, or its send slot; hand it back to [`Lanes::complete`].
    pub start: Instant,
    /// A rate-limited endpoint's send slot, when it is not now.
    pub not_before: Option<Instant>,
    /// The endpoint has been disabled: record the delivery failed without sending.
    pub disabled: bool,
    /// The lane has more than this worker can take: start another one.
    pub spawn_another: bool,
}

/// What the lane concluded from an attempt.
#[derive(Clone, Debug)]
pub(crate) struct Verdict {
    /// For the retry policy: timeouts in a row, this one included (0 if it did not time out).
    pub timeouts_in_a_row: u32,
    /// What to record about the endpoint's health.
    pub health: HealthChange,
}

impl Lanes {
    pub(crate) fn new(max_concurrency: u32) -> Self {
        Self { lanes: Mutex::new(HashMap::new()), max_concurrency: max_concurrency.max(1) }
    }

    /// Queues `d` on its endpoint's lane, or gives it back when the lane is full
    /// (with the surplus of a lane whose bound shrank).
    pub(crate) fn offer(&self, d: Dispatch, now: Instant) -> Offer {
        let mut lanes = self.lock();
        if !lanes.contains_key(&d.delivery.endpoint_id) {
            let lane = Lane::new(self.max_concurrency, &d.endpoint, now);
            lanes.insert(d.delivery.endpoint_id.clone(), lane);
        }
        let Some(lane) = lanes.get_mut(&d.delivery.endpoint_id) else { return Offer::default() };
        lane.refresh(&d.endpoint);
        lane.last_active = now;
        let mut offer = Offer::default();
        // The bound is never below the limit (nor above MAX_BACKLOG), so a short
        // queue, the usual case, needs no arithmetic.
        let short = lane.queue.len() < lane.limit.allowed().min(MAX_BACKLOG);
        let pace = (!short).then(|| lane.pace(now));
        if let Some(pace) = pace.filter(|p| lane.queue.len() >= p.bound()) {
            let bound = pace.bound();
            let after = lane.backlog.postpone(&pace, lane.queue.len(), now);
            offer.give_back.push((d, after));
            while lane.queue.len() > bound {
                let surplus = lane.queue.pop_back().map(|d| (d, lane.backlog.postpone(&pace, bound, now)));
                offer.give_back.extend(surplus);
            }
            return offer;
        }
        if lane.workers < lane.limit.allowed() {
            lane.workers += 1;
            offer.start = Some(lane.take(d, now));
        } else {
            lane.queue.push_back(d);
        }
        offer
    }

    /// The next delivery for a worker of `endpoint`'s lane; `None` tells the worker
    /// to stop (nothing queued, or the lane's limit shrank below its workers).
    pub(crate) fn next(&self, endpoint: &EndpointId, now: Instant) -> Option<Job> {
        let mut lanes = self.lock();
        let lane = lanes.get_mut(endpoint)?;
        let allowed = lane.limit.allowed();
        let next = if lane.workers > allowed { None } else { lane.queue.pop_front() };
        let Some(d) = next else {
            lane.workers = lane.workers.saturating_sub(1);
            return None;
        };
        lane.last_active = now;
        let mut job = lane.take(d, now);
        job.spawn_another = !lane.queue.is_empty() && lane.workers < allowed;
        if job.spawn_another {
            lane.workers += 1;
        }
        Some(job)
    }

    /// Learns from an attempt: the concurrency limit, latency and timeout streak, and
    /// the health change it makes (already applied to the cache when it is one this
    /// process records: started failing, recovered).
    pub(crate) fn complete(
        &self,
        job_start: Instant,
        endpoint: &EndpointId,
        seen: &Observed,
        policy: &HealthPolicy,
        at: Timestamp,
    ) -> Verdict {
        let mut lanes = self.lock();
        let Some(lane) = lanes.get_mut(endpoint) else {
            return Verdict { timeouts_in_a_row: 0, health: HealthChange::Unchanged };
        };
        if let Some(i) = lane.sending.iter().position(|s| *s == job_start) {
            lane.sending.swap_remove(i);
        }
        let Some(result) = seen.result else {
            return Verdict { timeouts_in_a_row: 0, health: HealthChange::Unchanged };
        };
        lane.latency.observe(seen.took);
        if seen.timed_out {
            lane.limit.timed_out();
            lane.timeouts_in_a_row = lane.timeouts_in_a_row.saturating_add(1);
        } else {
            lane.timeouts_in_a_row = 0;
            if seen.answered {
                lane.limit.answered();
            }
        }
        let health = policy.judge(lane.failing_since, result, at);
        match health {
            HealthChange::StartedFailing => lane.failing_since = Some(at),
            HealthChange::Recovered => lane.cleared = lane.failing_since.take(),
            HealthChange::Unchanged | HealthChange::Disable { .. } => {}
        }
        let timeouts_in_a_row = if seen.timed_out { lane.timeouts_in_a_row } else { 0 };
        Verdict { timeouts_in_a_row, health }
    }

    /// Takes the `failing_since` the store holds (another process may have marked
    /// the endpoint first).
    pub(crate) fn learn_failing_since(&self, endpoint: &EndpointId, stored: Option<Timestamp>) {
        if let Some(lane) = self.lock().get_mut(endpoint) {
            lane.failing_since = stored;
        }
    }

    /// Marks the endpoint disabled as of `at` (the `updated_at` the store gave it) and
    /// returns what its lane held: the store has failed those deliveries already.
    pub(crate) fn disable(&self, endpoint: &EndpointId, at: Timestamp) -> Vec<Dispatch> {
        let mut lanes = self.lock();
        let Some(lane) = lanes.get_mut(endpoint) else { return Vec::new() };
        lane.disabled = true;
        lane.seen = lane.seen.max(at);
        lane.queue.drain(..).collect()
    }

    /// Everything queued in every lane (at shutdown: to be given back).
    pub(crate) fn drain_all(&self) -> Vec<Dispatch> {
        self.lock().values_mut().flat_map(|lane| lane.queue.drain(..)).collect()
    }

    /// Forgets lanes that have had nothing to do for `idle`.
    pub(crate) fn sweep(&self, now: Instant, idle: Duration) {
        self.lock().retain(|_, lane| {
            lane.workers > 0 || !lane.queue.is_empty() || now.duration_since(lane.last_active) < idle
        });
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<EndpointId, Lane>> {
        self.lanes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Lane {
    fn new(max_concurrency: u32, ep: &Endpoint, now: Instant) -> Self {
        Self {
            queue: VecDeque::new(),
            workers: 0,
            limit: AdaptiveLimit::new(max_concurrency),
            latency: Latency::default(),
            pacer: ep.throttle_rate.filter(|r| *r > 0).map(Pacer::new),
            rate: ep.throttle_rate,
            backlog: Backlog::default(),
            timeouts_in_a_row: 0,
            sending: Vec::new(),
            failing_since: ep.failing_since,
            cleared: None,
            disabled: ep.disabled,
            seen: ep.updated_at,
            last_active: now,
        }
    }

    /// Makes `d` a worker's job: its send slot if the endpoint is rate-limited, and
    /// it counts as on the wire from then on.
    fn take(&mut self, d: Dispatch, now: Instant) -> Job {
        let disabled = self.disabled || d.endpoint.disabled;
        let not_before = match (&mut self.pacer, disabled) {
            (Some(pacer), false) => Some(pacer.reserve(now)).filter(|slot| *slot > now),
            _ => None,
        };
        let start = not_before.unwrap_or(now);
        self.sending.push(start);
        Job { d, start, not_before, disabled, spawn_another: false }
    }

    /// Takes settings and health from a newer snapshot of the endpoint. An older one
    /// can only tell that it is failing (another process marked it), unless that is
    /// the very mark this process cleared.
    fn refresh(&mut self, ep: &Endpoint) {
        if ep.updated_at > self.seen {
            self.seen = ep.updated_at;
            self.disabled = ep.disabled;
            self.failing_since = ep.failing_since;
            self.cleared = None;
            if ep.throttle_rate != self.rate {
                self.rate = ep.throttle_rate;
                self.pacer = ep.throttle_rate.filter(|r| *r > 0).map(Pacer::new);
            }
        } else if self.failing_since.is_none()
            && ep.failing_since.is_some()
            && ep.failing_since != self.cleared
        {
            self.failing_since = ep.failing_since;
        }
    }

    /// The lane's pace at `now`: its average latency, or the age of its oldest
    /// unanswered request if that is longer.
    fn pace(&self, now: Instant) -> Pace {
        let waiting = self.sending.iter().map(|s| now.saturating_duration_since(*s)).max();
        let latency = match (self.latency.average(), waiting) {
            (Some(avg), Some(w)) => Some(avg.max(w)),
            (avg, w) => avg.or(w.filter(|w| !w.is_zero())),
        };
        Pace { allowed: self.limit.allowed(), latency, interval: self.pacer.map(|p| p.interval()) }
    }
}

#[cfg(test)]
mod tests;
