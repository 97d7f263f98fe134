//! Per-endpoint flow control as small state machines, with the clock passed in:
//! how many requests may be on the wire to one endpoint ([`AdaptiveLimit`]), how
//! fast it may be sent to ([`Pacer`], its `throttleRate`), how long its answers take
//! ([`Latency`]), and from these how much of its work may wait in memory and when
//! the rest should come back from the store ([`Backlog`]).
//!
//! The point of all four is isolation: an endpoint that hangs ends up holding one
//! connection and a handful of queued deliveries, whatever its traffic, so it cannot
//! take the global in-flight permits or the engine's capacity from the others.

use std::time::{Duration, Instant};

/// How much work, in seconds of an endpoint's own pace, may wait in memory for it.
/// Beyond that its deliveries go back to the store, due when it will have room.
pub const HOLD: Duration = Duration::from_secs(2);

/// The most deliveries one endpoint may have waiting in memory, however fast it is.
pub const MAX_BACKLOG: usize = 1024;

/// The soonest a delivery given back to the store comes due again, so that giving
/// back never turns into claiming the same rows in a tight loop.
pub const MIN_POSTPONE: Duration = Duration::from_millis(50);

/// The latest: an endpoint that has been hanging for a long while is looked at again
/// at least this often.
pub const MAX_POSTPONE: Duration = Duration::from_secs(300);

/// Requests a lane may have on the wire before its endpoint has answered any.
pub const INITIAL_LIMIT: u32 = 8;

/// Requests on the wire to one endpoint, at most. It starts at [`INITIAL_LIMIT`] (an
/// endpoint has to answer before it gets more), grows by one per answer up to the
/// configured maximum, and halves on every timeout down to one (AIMD, as TCP does
/// with its window). A new endpoint that hangs holds a few connections, not the
/// maximum, and any hanging endpoint is down to one after a few timeouts; a fast
/// one reaches the maximum within its first hundred answers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaptiveLimit {
    max: u32,
    current: f64,
}

impl AdaptiveLimit {
    pub fn new(max: u32) -> Self {
        let max = max.max(1);
        Self { max, current: f64::from(max.min(INITIAL_LIMIT)) }
    }

    /// Requests allowed on the wire now (at least one).
    pub fn allowed(&self) -> usize {
        (self.current.floor() as usize).max(1)
    }

    /// The attempt timed out: halve.
    pub fn timed_out(&mut self) {
        self.current = (self.current / 2.0).max(1.0);
    }

    /// The endpoint answered (any status): one more.
    pub fn answered(&mut self) {
        self.current = (self.current + 1.0).min(f64::from(self.max));
    }
}

/// At most one request every `1 / rate` seconds: send slots handed out in order, so
/// any number of workers can each reserve the next one and sleep until it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pacer {
    interval: Duration,
    next_free: Option<Instant>,
}

impl Pacer {
    /// A pacer for `rate` requests per second (`rate` ≥ 1).
    pub fn new(rate: u32) -> Self {
        Self { interval: Duration::from_secs(1) / rate.max(1), next_free: None }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reserves the first free slot at or after `now` and returns it.
    pub fn reserve(&mut self, now: Instant) -> Instant {
        let slot = self.next_free.map_or(now, |free| free.max(now));
        self.next_free = Some(slot + self.interval);
        slot
    }

    /// Whether slots are reserved beyond `now`.
    pub fn busy(&self, now: Instant) -> bool {
        self.next_free.is_some_and(|free| free > now)
    }
}

/// A moving average of how long the endpoint's attempts take.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Latency {
    average: Option<Duration>,
}

impl Latency {
    /// Weight of the newest sample: about the last ten attempts count.
    const WEIGHT: f64 = 0.2;

    pub fn observe(&mut self, took: Duration) {
        self.average = Some(match self.average {
            None => took,
            Some(avg) => avg.mul_f64(1.0 - Self::WEIGHT) + took.mul_f64(Self::WEIGHT),
        });
    }

    pub fn average(&self) -> Option<Duration> {
        self.average
    }
}

/// How much of an endpoint's work waits in memory, and when the rest comes back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    /// The last time handed out to a delivery given back: later ones queue after it.
    cursor: Option<Instant>,
}

/// The pace an endpoint is served at: concurrency over latency, or its rate limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pace {
    pub allowed: usize,
    pub latency: Option<Duration>,
    pub interval: Option<Duration>,
}

impl Pace {
    /// Time one more delivery adds to the endpoint's queue. Unknown latency counts
    /// as fast: a new endpoint gets the benefit of the doubt until it answers.
    pub fn per_delivery(&self) -> Duration {
        let by_concurrency = self.latency.unwrap_or(Duration::from_millis(1)) / self.allowed.max(1) as u32;
        self.interval.map_or(by_concurrency, |i| i.max(by_concurrency))
    }

    /// Deliveries that may wait in memory: [`HOLD`] worth of work, at least one per
    /// allowed request, at most [`MAX_BACKLOG`].
    pub fn bound(&self) -> usize {
        let per = self.per_delivery().max(Duration::from_micros(1));
        let fits = (HOLD.as_micros() / per.as_micros()).min(MAX_BACKLOG as u128) as usize;
        fits.clamp(self.allowed.clamp(1, MAX_BACKLOG), MAX_BACKLOG)
    }
}

impl Backlog {
    /// When a delivery given back now should come due: after the `queued` ones in
    /// memory and the ones given back before it, at the endpoint's pace, within
    /// [`MIN_POSTPONE`] and [`MAX_POSTPONE`]. Returns the delay from `now`.
    pub fn postpone(&mut self, pace: &Pace, queued: usize, now: Instant) -> Duration {
        let per = pace.per_delivery();
        let after_queue = now + per.saturating_mul(u32::try_from(queued).unwrap_or(u32::MAX));
        let slot = self.cursor.map_or(after_queue, |c| c.max(after_queue)) + per;
        let slot = slot.clamp(now + MIN_POSTPONE, now + MAX_POSTPONE);
        self.cursor = Some(slot);
        slot - now
    }

    /// Whether deliveries given back are still due in the future.
    pub fn busy(&self, now: Instant) -> bool {
        self.cursor.is_some_and(|c| c > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_limit_starts_small_grows_with_answers_and_halves_on_timeouts() {
        let mut limit = AdaptiveLimit::new(64);
        assert_eq!(limit.allowed(), 8, "an endpoint that never answered gets a few requests");
        for _ in 0..100 {
            limit.answered();
        }
        assert_eq!(limit.allowed(), 64, "one more per answer, never above the maximum");
        for expected in [32, 16, 8, 4, 2, 1, 1] {
            limit.timed_out();
            assert_eq!(limit.allowed(), expected);
        }
        limit.answered();
        assert_eq!(limit.allowed(), 2);
        assert_eq!(AdaptiveLimit::new(4).allowed(), 4, "a maximum below the start");
    }

    #[test]
    fn the_pacer_hands_out_slots_one_interval_apart() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(20);
        assert_eq!(pacer.interval(), 50 * MS);
        assert_eq!(pacer.reserve(t0), t0, "the first slot is now");
        assert_eq!(pacer.reserve(t0), t0 + 50 * MS);
        assert_eq!(pacer.reserve(t0 + 10 * MS), t0 + 100 * MS, "reservations queue up");
        assert!(pacer.busy(t0 + 100 * MS));
        assert_eq!(pacer.reserve(t0 + 500 * MS), t0 + 500 * MS, "idle time is not saved up as a burst");
        assert!(!pacer.busy(t0 + 550 * MS));
    }

    #[test]
    fn latency_is_a_moving_average() {
        let mut latency = Latency::default();
        assert_eq!(latency.average(), None);
        latency.observe(100 * MS);
        assert_eq!(latency.average(), Some(100 * MS));
        latency.observe(200 * MS);
        assert_eq!(latency.average(), Some(120 * MS));
    }

    #[test]
    fn a_fast_endpoint_may_queue_the_maximum_and_a_hanging_one_almost_nothing() {
        let fast = Pace { allowed: 16, latency: Some(2 * MS), interval: None };
        assert_eq!(fast.bound(), MAX_BACKLOG);
        let unknown = Pace { allowed: 16, latency: None, interval: None };
        assert_eq!(unknown.bound(), MAX_BACKLOG, "a new endpoint is presumed fast");
        let hanging = Pace { allowed: 1, latency: Some(Duration::from_secs(15)), interval: None };
        assert_eq!(hanging.bound(), 1);
        let slow = Pace { allowed: 16, latency: Some(Duration::from_secs(1)), interval: None };
        assert_eq!(slow.bound(), 32, "two seconds of its work");
        let throttled = Pace { allowed: 16, latency: Some(2 * MS), interval: Some(50 * MS) };
        assert_eq!(throttled.bound(), 40, "two seconds at 20/s");
    }

    #[test]
    fn given_back_work_comes_due_at_the_endpoints_pace() {
        let t0 = Instant::now();
        let throttled = Pace { allowed: 16, latency: Some(2 * MS), interval: Some(50 * MS) };
        let mut backlog = Backlog::default();
        assert_eq!(backlog.postpone(&throttled, 40, t0), 2050 * MS, "after the 40 queued, one slot later");
        assert_eq!(backlog.postpone(&throttled, 40, t0), 2100 * MS, "the next one a slot after that");
        assert!(backlog.busy(t0 + 2 * Duration::from_secs(1)));
        let fast = Pace { allowed: 16, latency: Some(MS), interval: None };
        assert_eq!(Backlog::default().postpone(&fast, 0, t0), MIN_POSTPONE);
        let hanging = Pace { allowed: 1, latency: Some(Duration::from_secs(15)), interval: None };
        assert_eq!(Backlog::default().postpone(&hanging, 100, t0), MAX_POSTPONE);
    }
}
