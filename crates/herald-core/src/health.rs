//! Endpoint health and the operational events an attempt calls for, as pure
//! functions. The delivery engine keeps, per endpoint, since when it has been failing
//! and asks [`HealthPolicy::judge`] after each attempt what changes; it writes to the
//! store only when the answer is a change, so a healthy endpoint costs no write at all
//! and a failing one costs one when it starts failing and one when it recovers.

use std::fmt;
use std::time::Duration;

use crate::time::Timestamp;

/// Svix's default: an endpoint failing for five days without a success is disabled.
pub const DEFAULT_DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 3600);

/// Svix sends `message.attempt.failing` when this many attempts of a message failed.
pub const FAILING_EVENT_AFTER: u32 = 4;

/// How an attempt ended, as far as the endpoint's health goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptResult {
    /// A 2xx.
    Delivered,
    /// Any other answer, or none (timeout, refused, …).
    Failed,
    /// `410 Gone`: the receiver says the endpoint no longer exists.
    Gone,
}

/// When Herald disables an endpoint by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthPolicy {
    /// How long an endpoint may fail without a single success; `None` never disables.
    pub disable_after: Option<Duration>,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        Self { disable_after: Some(DEFAULT_DISABLE_AFTER) }
    }
}

/// What an attempt changes about its endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HealthChange {
    /// Nothing to record.
    Unchanged,
    /// The first failure after a success: it is failing since now.
    StartedFailing,
    /// The first success after failures: it is healthy again.
    Recovered,
    /// Disable it; `fail_since` is when it started failing (now for a first `410`).
    Disable { fail_since: Timestamp, reason: DisableReason },
}

/// Why Herald disabled an endpoint; its `Display` is the stored `disabled_reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisableReason {
    /// It answered `410 Gone`.
    Gone,
    /// Every attempt failed for at least this long.
    FailingFor(Duration),
}

impl fmt::Display for DisableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gone => f.write_str("the endpoint answered 410 Gone"),
            Self::FailingFor(d) => {
                write!(f, "every attempt failed for {} without a success", human(*d))
            }
        }
    }
}

impl HealthPolicy {
    /// What the attempt's `result` at `now` changes for an endpoint failing since
    /// `failing_since` (`None`: healthy).
    pub fn judge(
        &self,
        failing_since: Option<Timestamp>,
        result: AttemptResult,
        now: Timestamp,
    ) -> HealthChange {
        match (result, failing_since) {
            (AttemptResult::Delivered, None) => HealthChange::Unchanged,
            (AttemptResult::Delivered, Some(_)) => HealthChange::Recovered,
            (AttemptResult::Gone, since) => {
                HealthChange::Disable { fail_since: since.unwrap_or(now), reason: DisableReason::Gone }
            }
            (AttemptResult::Failed, None) => HealthChange::StartedFailing,
            (AttemptResult::Failed, Some(since)) => match self.disable_after {
                Some(window) if now.millis() - since.millis() >= millis(window) => {
                    HealthChange::Disable { fail_since: since, reason: DisableReason::FailingFor(window) }
                }
                _ => HealthChange::Unchanged,
            },
        }
    }
}

/// Facts about one attempt of one delivery, for [`attempt_event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptFacts {
    /// Attempts the delivery had before this one.
    pub attempts_before: u32,
    /// A resend asked for by an operator, not a scheduled attempt.
    pub manual: bool,
    pub result: AttemptResult,
    /// Another attempt is scheduled.
    pub will_retry: bool,
}

/// The `message.attempt.*` operational events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptEvent {
    /// The fourth scheduled attempt failed and more will follow.
    Failing,
    /// The last scheduled attempt failed.
    Exhausted,
    /// A success after a failure event was sent.
    Recovered,
}

impl AttemptEvent {
    /// The Svix event type.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Failing => "message.attempt.failing",
            Self::Exhausted => "message.attempt.exhausted",
            Self::Recovered => "message.attempt.recovered",
        }
    }
}

/// Which operational event, if any, the attempt calls for, as Svix sends them. A
/// failed resend calls for none (an operator is watching), nor does a `410` (the
/// endpoint is disabled instead, which has its own event). `max_attempts` is the
/// schedule's: a schedule shorter than [`FAILING_EVENT_AFTER`] sends `exhausted`
/// before any `failing`, and a later success is still a recovery.
pub fn attempt_event(facts: AttemptFacts, max_attempts: u32) -> Option<AttemptEvent> {
    let made = facts.attempts_before.saturating_add(1);
    match facts.result {
        AttemptResult::Delivered => (facts.attempts_before >= FAILING_EVENT_AFTER.min(max_attempts))
            .then_some(AttemptEvent::Recovered),
        AttemptResult::Gone => None,
        AttemptResult::Failed if facts.manual => None,
        AttemptResult::Failed if !facts.will_retry => Some(AttemptEvent::Exhausted),
        AttemptResult::Failed => (made == FAILING_EVENT_AFTER).then_some(AttemptEvent::Failing),
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `5d`, `36h`, `90s`, `250ms`: the largest unit that divides the duration.
fn human(d: Duration) -> String {
    let ms = d.as_millis();
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_000_000);

    fn window(secs: u64) -> HealthPolicy {
        HealthPolicy { disable_after: Some(Duration::from_secs(secs)) }
    }

    #[test]
    fn only_transitions_are_changes() {
        let p = window(60);
        assert_eq!(p.judge(None, AttemptResult::Delivered, NOW), HealthChange::Unchanged);
        assert_eq!(p.judge(None, AttemptResult::Failed, NOW), HealthChange::StartedFailing);
        assert_eq!(p.judge(Some(Timestamp(999_000)), AttemptResult::Failed, NOW), HealthChange::Unchanged);
        assert_eq!(p.judge(Some(Timestamp(999_000)), AttemptResult::Delivered, NOW), HealthChange::Recovered);
    }

    #[test]
    fn failing_for_the_whole_window_disables() {
        let p = window(60);
        let since = Timestamp(NOW.0 - 60_000);
        let reason = DisableReason::FailingFor(Duration::from_secs(60));
        assert_eq!(
            p.judge(Some(since), AttemptResult::Failed, NOW),
            HealthChange::Disable { fail_since: since, reason }
        );
        assert_eq!(
            p.judge(Some(Timestamp(since.0 + 1)), AttemptResult::Failed, NOW),
            HealthChange::Unchanged
        );
        assert_eq!(reason.to_string(), "every attempt failed for 1m without a success");
        let never = HealthPolicy { disable_after: None };
        assert_eq!(never.judge(Some(Timestamp(0)), AttemptResult::Failed, NOW), HealthChange::Unchanged);
    }

    #[test]
    fn gone_disables_at_once_and_keeps_an_earlier_fail_since() {
        let p = HealthPolicy::default();
        let gone = DisableReason::Gone;
        assert_eq!(
            p.judge(None, AttemptResult::Gone, NOW),
            HealthChange::Disable { fail_since: NOW, reason: gone }
        );
        assert_eq!(
            p.judge(Some(Timestamp(5)), AttemptResult::Gone, NOW),
            HealthChange::Disable { fail_since: Timestamp(5), reason: gone }
        );
        assert_eq!(gone.to_string(), "the endpoint answered 410 Gone");
    }

    fn facts(attempts_before: u32, result: AttemptResult, will_retry: bool) -> AttemptFacts {
        AttemptFacts { attempts_before, manual: false, result, will_retry }
    }

    #[test]
    fn failing_is_sent_on_the_fourth_failure_and_exhausted_on_the_last() {
        use AttemptResult::*;
        let events: Vec<_> = (0..8).map(|n| attempt_event(facts(n, Failed, n < 7), 8)).collect();
        assert_eq!(
            events,
            [None, None, None, Some(AttemptEvent::Failing), None, None, None, Some(AttemptEvent::Exhausted)]
        );
        let manual = AttemptFacts { manual: true, ..facts(3, Failed, false) };
        assert_eq!(attempt_event(manual, 8), None, "a failed resend sends nothing");
        assert_eq!(attempt_event(facts(3, Gone, false), 8), None, "410 disables the endpoint instead");
    }

    #[test]
    fn recovered_follows_only_a_failure_event() {
        use AttemptResult::Delivered;
        assert_eq!(attempt_event(facts(0, Delivered, false), 8), None);
        assert_eq!(attempt_event(facts(3, Delivered, false), 8), None, "no failure event was sent yet");
        assert_eq!(attempt_event(facts(4, Delivered, false), 8), Some(AttemptEvent::Recovered));
        assert_eq!(
            attempt_event(facts(2, Delivered, false), 2),
            Some(AttemptEvent::Recovered),
            "after `exhausted` on a two-attempt schedule (recover, resend)"
        );
    }

    #[test]
    fn durations_read_in_their_largest_whole_unit() {
        assert_eq!(human(Duration::from_secs(5 * 86_400)), "5d");
        assert_eq!(human(Duration::from_secs(90)), "90s");
        assert_eq!(human(Duration::from_millis(1500)), "1500ms");
    }
}
