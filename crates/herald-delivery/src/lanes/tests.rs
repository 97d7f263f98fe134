use std::sync::Arc;

use herald_core::{AttemptResult, Trigger};

use super::*;
use crate::fixtures::{another, dispatch};

const MS: Duration = Duration::from_millis(1);

fn answered(took: Duration) -> Observed {
    Observed { result: Some(AttemptResult::Delivered), timed_out: false, answered: true, took }
}

fn failed(status_answered: bool) -> Observed {
    Observed { result: Some(AttemptResult::Failed), timed_out: false, answered: status_answered, took: MS }
}

fn timed_out() -> Observed {
    Observed { result: Some(AttemptResult::Failed), timed_out: true, answered: false, took: 15_000 * MS }
}

/// Offers `d`: the job a new worker starts with, or `None` when it was queued.
fn offer(lanes: &Lanes, d: Dispatch, now: Instant) -> Option<Job> {
    let offer = lanes.offer(d, now);
    assert!(offer.give_back.is_empty(), "unexpected give-back");
    offer.start
}

fn complete(lanes: &Lanes, job: &Job, seen: Observed, at: i64) -> Verdict {
    lanes.complete(job.start, &job.d.endpoint.id, &seen, &HealthPolicy::default(), Timestamp(at))
}

#[test]
fn a_lane_runs_at_most_its_limit_of_workers_and_hands_out_in_order() {
    let (lanes, t0) = (Lanes::new(2), Instant::now());
    let first = dispatch(0, Trigger::Scheduled);
    let ep = first.endpoint.id.clone();
    let (third, fourth) = (another(&first), another(&first));
    let started = offer(&lanes, first.clone(), t0).expect("a worker starts with it");
    assert_eq!(started.d.message.id, first.message.id);
    assert!(offer(&lanes, another(&first), t0).is_some(), "a second worker");
    assert!(offer(&lanes, third.clone(), t0).is_none(), "the limit is two: queued");
    assert!(offer(&lanes, fourth.clone(), t0).is_none());
    let queued: Vec<_> = (0..2).map(|_| lanes.next(&ep, t0).expect("job").d.message.id.clone()).collect();
    assert_eq!(queued, [third.message.id.clone(), fourth.message.id.clone()], "in order, once each");
    assert!(lanes.next(&ep, t0).is_none(), "then the first worker stops");
    assert!(lanes.next(&ep, t0).is_none(), "and the second");
    assert!(offer(&lanes, another(&first), t0).is_some(), "both workers stopped: a new one starts");
}

#[test]
fn timeouts_shrink_the_lane_so_a_hanging_endpoint_holds_one_request_and_gives_work_back() {
    let (lanes, t0) = (Lanes::new(4), Instant::now());
    let d = dispatch(0, Trigger::Scheduled);
    let ep = d.endpoint.id.clone();
    let jobs: Vec<_> = (0..4).map(|_| offer(&lanes, another(&d), t0).expect("a worker each")).collect();
    let streaks: Vec<u32> =
        jobs.iter().map(|job| complete(&lanes, job, timed_out(), 0).timeouts_in_a_row).collect();
    assert_eq!(streaks, [1, 2, 3, 4], "the retry policy is told how many in a row");
    assert!(offer(&lanes, another(&d), t0).is_none(), "four workers are still running");
    assert!(lanes.next(&ep, t0).is_none(), "the limit fell to 1: surplus workers stop");
    assert!(lanes.next(&ep, t0).is_none());
    assert!(lanes.next(&ep, t0).is_none());
    let last = lanes.next(&ep, t0).expect("the last worker takes the queued delivery");
    assert!(offer(&lanes, another(&d), t0).is_none(), "one queued delivery is allowed for a 15 s endpoint");
    let offer = lanes.offer(another(&d), t0);
    assert_eq!(
        offer.give_back.len(),
        1,
        "a hanging endpoint's second queued delivery goes back to the store"
    );
    let after = offer.give_back[0].1;
    assert!(after >= Duration::from_secs(15), "due when the lane may have room: {after:?}");
    complete(&lanes, &last, answered(MS), 0);
    let job = lanes.next(&ep, t0).expect("job");
    assert_eq!(complete(&lanes, &job, failed(true), 0).timeouts_in_a_row, 0, "an answer ends the streak");
}

#[test]
fn a_rate_limited_lane_hands_out_send_slots_one_interval_apart() {
    let (lanes, t0) = (Lanes::new(8), Instant::now());
    let mut d = dispatch(0, Trigger::Scheduled);
    Arc::make_mut(&mut d.endpoint).throttle_rate = Some(10);
    let ep = d.endpoint.id.clone();
    let slots: Vec<_> = (0..3).map(|_| offer(&lanes, another(&d), t0).expect("job").not_before).collect();
    assert_eq!(slots, [None, Some(t0 + 100 * MS), Some(t0 + 200 * MS)]);
    assert!(lanes.lock()[&ep].queue.is_empty());
}

#[test]
fn health_is_written_only_on_transitions() {
    let (lanes, t0, policy) = (Lanes::new(4), Instant::now(), HealthPolicy::default());
    let d = dispatch(0, Trigger::Scheduled);
    let ep = d.endpoint.id.clone();
    lanes.offer(d.clone(), t0);
    let health = |seen: Observed, at: i64| lanes.complete(t0, &ep, &seen, &policy, Timestamp(at)).health;
    assert_eq!(health(answered(MS), 1), HealthChange::Unchanged);
    assert_eq!(health(failed(true), 2), HealthChange::StartedFailing);
    assert_eq!(health(failed(false), 3), HealthChange::Unchanged, "already known to be failing");
    assert_eq!(health(answered(MS), 4), HealthChange::Recovered);
    assert_eq!(health(answered(MS), 5), HealthChange::Unchanged);

    let mut stale = another(&d);
    Arc::make_mut(&mut stale.endpoint).failing_since = Some(Timestamp(2));
    lanes.offer(stale.clone(), t0);
    assert_eq!(health(answered(MS), 6), HealthChange::Unchanged, "a snapshot from before the recovery");
    Arc::make_mut(&mut stale.endpoint).failing_since = Some(Timestamp(7));
    lanes.offer(stale, t0);
    assert_eq!(health(answered(MS), 8), HealthChange::Recovered, "another process marked it failing");
    let not_tried = Observed { result: None, timed_out: false, answered: false, took: Duration::ZERO };
    assert_eq!(health(not_tried, 9), HealthChange::Unchanged);
}

#[test]
fn a_disabled_lane_hands_back_its_queue_and_only_a_newer_snapshot_enables_it() {
    let (lanes, t0) = (Lanes::new(1), Instant::now());
    let d = dispatch(0, Trigger::Scheduled);
    let ep = d.endpoint.id.clone();
    let running = offer(&lanes, another(&d), t0).expect("job");
    assert!(!running.disabled);
    for _ in 0..2 {
        assert!(offer(&lanes, another(&d), t0).is_none());
    }
    let held = lanes.disable(&ep, Timestamp(d.endpoint.updated_at.0 + 10));
    assert_eq!(held.len(), 2, "what was queued is handed back");
    lanes.offer(another(&d), t0);
    assert!(lanes.next(&ep, t0).expect("job").disabled, "an older snapshot does not enable it");
    let mut enabled = another(&d);
    Arc::make_mut(&mut enabled.endpoint).updated_at = Timestamp(d.endpoint.updated_at.0 + 20);
    lanes.offer(enabled, t0);
    assert!(!lanes.next(&ep, t0).expect("job").disabled, "re-enabled through the API");
}

#[test]
fn idle_lanes_are_forgotten_and_shutdown_drains_every_queue() {
    let (lanes, t0) = (Lanes::new(1), Instant::now());
    let (a, b) = (dispatch(0, Trigger::Scheduled), dispatch(0, Trigger::Scheduled));
    for d in [a.clone(), another(&a), b.clone()] {
        lanes.offer(d, t0);
    }
    assert_eq!(lanes.drain_all().len(), 1, "only what waits in a queue, not what workers hold");
    assert!(lanes.next(&a.endpoint.id, t0).is_none());
    assert!(lanes.next(&b.endpoint.id, t0).is_none());
    lanes.sweep(t0 + Duration::from_secs(61), Duration::from_secs(60));
    assert!(lanes.lock().is_empty(), "no worker, nothing queued, idle for long: gone");
}

#[test]
fn a_request_left_unanswered_shrinks_the_lane_before_any_timeout_and_the_surplus_goes_back() {
    let (lanes, t0) = (Lanes::new(2), Instant::now());
    let d = dispatch(0, Trigger::Scheduled);
    let ep = d.endpoint.id.clone();
    let stuck: Vec<_> = (0..102).filter_map(|_| lanes.offer(another(&d), t0).start).collect();
    assert_eq!(stuck.len(), 2, "two on the wire, a hundred queued");
    assert!(stuck.iter().all(|j| j.start == t0));
    let later = t0 + Duration::from_secs(4);
    let offer = lanes.offer(another(&d), later);
    assert!(offer.start.is_none());
    assert_eq!(offer.give_back.len(), 99, "4 s without an answer: only one delivery per slot may wait");
    assert!(
        offer.give_back.iter().all(|(_, after)| *after >= Duration::from_secs(2)),
        "{:?}",
        offer.give_back[0].1
    );
    assert_eq!(lanes.lock()[&ep].queue.len(), 2);
}
