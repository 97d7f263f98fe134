use std::sync::Arc;

use super::*;
use crate::fixtures::dispatch;

fn plain() -> RetryInput {
    RetryInput { timeouts_in_a_row: 0, sample: 0.5 }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        schedule: vec![Duration::from_secs(1), Duration::from_secs(2)],
        jitter: 0.0,
        max_retry_after: Duration::from_secs(30),
    }
}

fn response(status: u16, retry_after: Option<u64>) -> Result<SendOutcome, PrepareError> {
    Ok(SendOutcome::Response {
        status,
        body: "ok".into(),
        retry_after: retry_after.map(Duration::from_secs),
        duration: Duration::from_millis(12),
    })
}

#[test]
fn prepared_requests_are_signed_over_the_exact_body() {
    let d = dispatch(0, Trigger::Scheduled);
    let now = Timestamp(1_700_000_000_500);
    let req = prepare(&d, now).expect("prepares");
    let h = |n: &str| req.headers.get(n).and_then(|v| v.to_str().ok()).expect("header present").to_owned();
    assert_eq!(h("webhook-id"), d.message.id.as_str(), "protocol headers beat custom ones");
    assert_eq!(h("webhook-timestamp"), "1700000000");
    assert_eq!(h("content-type"), "application/json");
    assert_eq!(h("x-team"), "blue");
    assert!(h("user-agent").starts_with("Herald-Webhooks/"));
    assert_eq!(&req.body[..], br#"{"amount":42}"#);
    let verdict = signing::verify(
        &d.endpoint.secrets.current,
        d.message.id.as_str(),
        1_700_000_000,
        &req.body,
        &h("webhook-signature"),
        None,
    );
    assert_eq!(verdict, Ok(()));
}

#[test]
fn nothing_is_prepared_for_a_disabled_endpoint_or_an_expunged_payload() {
    let mut d = dispatch(0, Trigger::Scheduled);
    Arc::make_mut(&mut d.message).payload = None;
    assert_eq!(prepare(&d, Timestamp(0)).err(), Some(PrepareError::NoPayload));
    Arc::make_mut(&mut d.endpoint).disabled = true;
    assert_eq!(prepare(&d, Timestamp(0)).err(), Some(PrepareError::Disabled));
}

#[test]
fn a_2xx_settles_the_delivery() {
    let d = dispatch(0, Trigger::Scheduled);
    let (attempt, update) = settle(&policy(), &d, response(204, None), Timestamp(10_000), plain());
    assert_eq!(attempt.status, DeliveryStatus::Success);
    assert_eq!(attempt.response_status_code, 204);
    assert_eq!(attempt.duration_ms, 12);
    assert_eq!(update, DeliveryUpdate { status: DeliveryStatus::Success, next_attempt_at: None });
}

#[test]
fn failures_follow_the_schedule_until_it_is_exhausted() {
    let now = Timestamp(10_000);
    let (_, first) = settle(&policy(), &dispatch(0, Trigger::Scheduled), response(500, None), now, plain());
    assert_eq!(first.next_attempt_at, Some(Timestamp(11_000)));
    let (_, second) = settle(&policy(), &dispatch(1, Trigger::Scheduled), response(302, None), now, plain());
    assert_eq!(second.next_attempt_at, Some(Timestamp(12_000)), "a redirect is a failure");
    let (_, last) = settle(&policy(), &dispatch(2, Trigger::Scheduled), response(500, None), now, plain());
    assert_eq!(last, DeliveryUpdate { status: DeliveryStatus::Failed, next_attempt_at: None });
}

#[test]
fn retry_after_counts_only_on_429_and_503() {
    let now = Timestamp(0);
    let d = dispatch(0, Trigger::Scheduled);
    let (_, on_429) = settle(&policy(), &d, response(429, Some(20)), now, plain());
    assert_eq!(on_429.next_attempt_at, Some(Timestamp(20_000)));
    let (_, on_500) = settle(&policy(), &d, response(500, Some(20)), now, plain());
    assert_eq!(on_500.next_attempt_at, Some(Timestamp(1_000)));
}

#[test]
fn a_failed_resend_is_not_retried_and_network_errors_are_recorded_with_their_reason() {
    let d = dispatch(0, Trigger::Manual);
    let failed = Ok(SendOutcome::Failed {
        kind: crate::client::FailureKind::Connect,
        reason: "connection refused".into(),
        duration: Duration::from_millis(3),
    });
    let (attempt, update) = settle(&policy(), &d, failed, Timestamp(0), plain());
    assert_eq!(attempt.response_status_code, 0);
    assert_eq!(attempt.response, "connection refused");
    assert_eq!(attempt.trigger, Trigger::Manual);
    assert_eq!(update.status, DeliveryStatus::Failed);
}

#[test]
fn a_410_or_a_disabled_endpoint_ends_the_delivery() {
    let d = dispatch(0, Trigger::Scheduled);
    let (attempt, gone) = settle(&policy(), &d, response(410, None), Timestamp(0), plain());
    assert_eq!(attempt.response_status_code, 410);
    assert_eq!(gone, DeliveryUpdate { status: DeliveryStatus::Failed, next_attempt_at: None });
    let (attempt, off) = settle(&policy(), &d, Err(PrepareError::Disabled), Timestamp(0), plain());
    assert_eq!(attempt.response, "the endpoint is disabled");
    assert_eq!(off.status, DeliveryStatus::Failed);
}

#[test]
fn a_timeout_waits_longer_than_the_schedule() {
    let d = dispatch(0, Trigger::Scheduled);
    let timeout = Ok(SendOutcome::Failed {
        kind: crate::client::FailureKind::Timeout,
        reason: "no complete response within 15s".into(),
        duration: Duration::from_secs(15),
    });
    let seen = Observed::of(&timeout);
    assert_eq!((seen.result, seen.timed_out, seen.answered), (Some(AttemptResult::Failed), true, false));
    let third_in_a_row = RetryInput { timeouts_in_a_row: 3, sample: 0.5 };
    let (_, update) = settle(&policy(), &d, timeout, Timestamp(0), third_in_a_row);
    assert_eq!(update.next_attempt_at, Some(Timestamp(8_000)), "1 s scheduled, 2^3 times");
}

#[test]
fn observations_say_what_the_endpoint_did() {
    let of = |status| Observed::of(&response(status, None)).result;
    assert_eq!(of(204), Some(AttemptResult::Delivered));
    assert_eq!(of(410), Some(AttemptResult::Gone));
    assert_eq!(of(302), Some(AttemptResult::Failed));
    assert_eq!(Observed::of(&Err(PrepareError::NoPayload)).result, None, "not the endpoint's doing");
}
