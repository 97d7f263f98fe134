//! When the scheduler looks at the store next, besides its poll interval: at the
//! earliest retry this process scheduled, and at each time a full lane's postponed
//! deliveries come due. Pure, so the arithmetic is tested without a store.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use herald_core::Timestamp;

#[derive(Debug, Default)]
pub(super) struct Wakeups {
    /// The earliest retry this process scheduled and has not yet claimed.
    retry: Option<Timestamp>,
    /// When postponed deliveries come due, earliest first. Every one is kept: a lane
    /// gives back a backlog with staggered due times, and remembering only the
    /// earliest left the rest waiting for the poll interval.
    postponed: BinaryHeap<Reverse<Timestamp>>,
}

impl Wakeups {
    /// Notes a retry due at `at`; true when it is earlier than any noted, so the
    /// scheduler should be woken to sleep less.
    pub(super) fn retry(&mut self, at: Timestamp) -> bool {
        let earlier = self.retry.is_none_or(|r| at < r);
        if earlier {
            self.retry = Some(at);
        }
        earlier
    }

    /// Notes postponed deliveries due at `at`.
    pub(super) fn postponed(&mut self, at: Timestamp) {
        self.postponed.push(Reverse(at));
    }

    /// Forgets what is due by `now`: the scheduler is about to claim it.
    pub(super) fn claimed_until(&mut self, now: Timestamp) {
        if self.retry.is_some_and(|r| r <= now) {
            self.retry = None;
        }
        while self.postponed.peek().is_some_and(|Reverse(at)| *at <= now) {
            self.postponed.pop();
        }
    }

    /// When to look next: the earliest noted time still ahead, or `poll` if sooner.
    pub(super) fn next(&self, poll: Timestamp) -> Timestamp {
        let postponed = self.postponed.peek().map(|Reverse(at)| *at);
        [self.retry, postponed].into_iter().flatten().fold(poll, Timestamp::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLL: i64 = 1_000;

    #[test]
    fn every_postponed_time_wakes_the_scheduler_not_only_the_earliest() {
        let mut w = Wakeups::default();
        for at in [300, 100, 200] {
            w.postponed(Timestamp(at));
        }
        let mut looks = Vec::new();
        let mut now = 0;
        while now < POLL {
            w.claimed_until(Timestamp(now));
            now = w.next(Timestamp(now + POLL)).millis();
            looks.push(now);
        }
        assert_eq!(looks, vec![100, 200, 300, 1_300], "each batch when it comes due, then the poll");
    }

    #[test]
    fn the_earliest_retry_is_kept_until_claimed() {
        let mut w = Wakeups::default();
        assert!(w.retry(Timestamp(500)), "the first retry wakes the scheduler");
        assert!(!w.retry(Timestamp(700)), "a later one does not");
        assert!(w.retry(Timestamp(400)), "an earlier one does");
        assert_eq!(w.next(Timestamp(POLL)), Timestamp(400));
        w.claimed_until(Timestamp(399));
        assert_eq!(w.next(Timestamp(POLL)), Timestamp(400), "not due yet: kept");
        w.claimed_until(Timestamp(400));
        assert_eq!(w.next(Timestamp(1_400)), Timestamp(1_400), "claimed: the poll decides");
    }
}
