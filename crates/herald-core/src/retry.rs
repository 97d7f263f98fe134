//! The retry policy, as pure functions: when is the next attempt due, given how many
//! attempts were made and how the last one ended. No clock and no randomness of its
//! own: callers pass the jitter sample, so tests are exact.

use std::time::Duration;

/// Svix's default schedule of retries after the first (immediate) attempt.
pub const DEFAULT_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// A timed-out attempt waits `2^n` times its scheduled delay, `n` being the timeouts
/// in a row at that endpoint, at most this many doublings (16×).
pub const MAX_TIMEOUT_DOUBLINGS: u32 = 4;

/// The longest the timeout penalty stretches a delay to (a schedule's own longer
/// delays are kept as they are).
pub const MAX_TIMEOUT_DELAY: Duration = Duration::from_secs(24 * 3600);

/// The schedule plus the bounds that keep it sane.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Delays before retry 1, 2, …; the first attempt is always immediate, so a
    /// message gets `schedule.len() + 1` scheduled attempts in all.
    pub schedule: Vec<Duration>,
    /// Each delay is scaled by a factor drawn from `1 ± jitter`, so endpoints that
    /// failed together do not all retry in the same instant.
    pub jitter: f64,
    /// The most a `Retry-After` header may push an attempt out by.
    pub max_retry_after: Duration,
}

/// What the failed attempt said about when to try again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailureHint {
    /// The endpoint's own request (`Retry-After` on a 429 or 503).
    pub retry_after: Option<Duration>,
    /// Attempts to the endpoint that timed out in a row, this one included; 0 when
    /// this one did not time out. An endpoint that keeps hanging holds a connection
    /// for the whole timeout each time, so it is tried less and less often.
    pub timeouts_in_a_row: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { schedule: DEFAULT_SCHEDULE.to_vec(), jitter: 0.2, max_retry_after: Duration::from_secs(3600) }
    }
}

impl RetryPolicy {
    /// The delay before the next attempt after `attempts_made` failed attempts, or
    /// `None` when the schedule is exhausted. `sample` is uniform in `[0, 1)`.
    /// A timeout stretches the scheduled delay (see [`FailureHint::timeouts_in_a_row`]);
    /// `Retry-After` is honoured when it asks for longer than that, up to
    /// `max_retry_after`.
    pub fn next_delay(&self, attempts_made: u32, hint: FailureHint, sample: f64) -> Option<Duration> {
        let index = usize::try_from(attempts_made).ok()?.checked_sub(1)?;
        let base = timeout_penalty(*self.schedule.get(index)?, hint.timeouts_in_a_row);
        let factor = 1.0 + self.jitter * (2.0 * sample.clamp(0.0, 1.0) - 1.0);
        let jittered = base.mul_f64(factor.max(0.0));
        let asked = hint.retry_after.map(|d| d.min(self.max_retry_after)).unwrap_or_default();
        Some(jittered.max(asked))
    }

    /// How many attempts a delivery gets before it is marked failed.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.schedule.len()).unwrap_or(u32::MAX).saturating_add(1)
    }
}

/// `delay` doubled once per timeout in a row (at most [`MAX_TIMEOUT_DOUBLINGS`]
/// times), and not beyond [`MAX_TIMEOUT_DELAY`] unless it was already longer.
fn timeout_penalty(delay: Duration, timeouts_in_a_row: u32) -> Duration {
    let doublings = timeouts_in_a_row.min(MAX_TIMEOUT_DOUBLINGS);
    if doublings == 0 {
        return delay;
    }
    delay.saturating_mul(1 << doublings).min(MAX_TIMEOUT_DELAY.max(delay))
}

/// Parses a schedule written as `1s,2s,5m,1h,500ms` (the `HERALD_RETRY_SCHEDULE` form).
pub fn parse_schedule(s: &str) -> Result<Vec<Duration>, String> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(parse_duration).collect()
}

/// Parses one duration: an integer followed by `ms`, `s`, `m`, `h` or `d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("`{s}` is not a duration like 5s, 500ms, 10m, 2h or 1d"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" | "" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        "d" => Duration::from_secs(n * 86_400),
        _ => return Err(format!("`{s}` has an unknown unit `{unit}` (use ms, s, m, h or d)")),
    };
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(schedule: &[u64]) -> RetryPolicy {
        RetryPolicy {
            schedule: schedule.iter().map(|s| Duration::from_secs(*s)).collect(),
            jitter: 0.0,
            max_retry_after: Duration::from_secs(60),
        }
    }

    fn plain() -> FailureHint {
        FailureHint::default()
    }

    fn asked(secs: u64) -> FailureHint {
        FailureHint { retry_after: Some(Duration::from_secs(secs)), timeouts_in_a_row: 0 }
    }

    fn timed_out(in_a_row: u32) -> FailureHint {
        FailureHint { retry_after: None, timeouts_in_a_row: in_a_row }
    }

    #[test]
    fn follows_the_schedule_then_gives_up() {
        let p = exact(&[1, 2, 5]);
        assert_eq!(p.max_attempts(), 4);
        assert_eq!(p.next_delay(1, plain(), 0.5), Some(Duration::from_secs(1)));
        assert_eq!(p.next_delay(2, plain(), 0.5), Some(Duration::from_secs(2)));
        assert_eq!(p.next_delay(3, plain(), 0.5), Some(Duration::from_secs(5)));
        assert_eq!(p.next_delay(4, plain(), 0.5), None);
        assert_eq!(p.next_delay(0, plain(), 0.5), None);
    }

    #[test]
    fn jitter_stays_within_its_band() {
        let p = RetryPolicy { jitter: 0.2, ..exact(&[100]) };
        assert_eq!(p.next_delay(1, plain(), 0.0), Some(Duration::from_secs(80)));
        assert_eq!(p.next_delay(1, plain(), 0.5), Some(Duration::from_secs(100)));
        assert!(p.next_delay(1, plain(), 0.999_999).is_some_and(|d| d < Duration::from_secs(120)));
    }

    #[test]
    fn retry_after_lengthens_but_never_past_its_cap() {
        let p = exact(&[5]);
        assert_eq!(p.next_delay(1, asked(30), 0.5), Some(Duration::from_secs(30)));
        assert_eq!(p.next_delay(1, asked(1), 0.5), Some(Duration::from_secs(5)));
        assert_eq!(p.next_delay(1, asked(99_999), 0.5), Some(Duration::from_secs(60)));
    }

    #[test]
    fn repeated_timeouts_back_off_harder_than_plain_errors() {
        let p = exact(&[5, 300]);
        assert_eq!(p.next_delay(1, plain(), 0.5), Some(Duration::from_secs(5)));
        assert_eq!(p.next_delay(1, timed_out(1), 0.5), Some(Duration::from_secs(10)));
        assert_eq!(p.next_delay(1, timed_out(2), 0.5), Some(Duration::from_secs(20)));
        assert_eq!(p.next_delay(1, timed_out(3), 0.5), Some(Duration::from_secs(40)));
        assert_eq!(p.next_delay(1, timed_out(4), 0.5), Some(Duration::from_secs(80)));
        assert_eq!(p.next_delay(1, timed_out(50), 0.5), Some(Duration::from_secs(80)), "16× at most");
        assert_eq!(p.next_delay(2, timed_out(2), 0.5), Some(Duration::from_secs(1200)));
        assert_eq!(p.next_delay(3, timed_out(2), 0.5), None, "a timeout does not add attempts");
    }

    #[test]
    fn the_timeout_penalty_stops_at_a_day_but_keeps_longer_schedules() {
        let p = exact(&[10 * 3600, 48 * 3600]);
        assert_eq!(p.next_delay(1, timed_out(4), 0.5), Some(MAX_TIMEOUT_DELAY));
        assert_eq!(p.next_delay(2, timed_out(4), 0.5), Some(Duration::from_secs(48 * 3600)));
    }

    #[test]
    fn retry_after_beats_a_shorter_timeout_penalty() {
        let p = exact(&[5]);
        let both = FailureHint { retry_after: Some(Duration::from_secs(30)), timeouts_in_a_row: 1 };
        assert_eq!(p.next_delay(1, both, 0.5), Some(Duration::from_secs(30)));
    }

    #[test]
    fn schedules_parse_with_units_and_name_what_is_wrong() {
        assert_eq!(
            parse_schedule("1s, 500ms,2m,1h"),
            Ok(vec![
                Duration::from_secs(1),
                Duration::from_millis(500),
                Duration::from_secs(120),
                Duration::from_secs(3600)
            ])
        );
        assert!(parse_schedule("1s,soon").unwrap_err().contains("soon"));
        assert!(parse_schedule("3w").unwrap_err().contains("unknown unit"));
    }
}
