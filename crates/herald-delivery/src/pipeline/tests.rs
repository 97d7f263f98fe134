use std::sync::Arc;

use herald_core::{AppId, Endpoint, EndpointId, EndpointSecrets, Message, MessageId, SigningKey};

use super::*;

fn dispatch(attempts: u32, trigger: Trigger) -> Dispatch {
    let app_id = AppId::generate();
    let now = Timestamp(1_700_000_000_000);
    let endpoint = Endpoint {
        id: EndpointId::generate(),
        app_id: app_id.clone(),
        uid: None,
        url: "https://hooks.example.com/in".into(),
        description: String::new(),
        event_types: None,
        channels: None,
        disabled: false,
        throttle_rate: None,
        metadata: Default::default(),
        headers: [("x-team".to_owned(), "blue".to_owned()), ("webhook-id".to_owned(), "spoof".to_owned())]
            .into_iter()
            .collect(),
        secrets: EndpointSecrets::new(SigningKey::generate_symmetric()),
        failing_since: None,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    };
    let message = Message {
        id: MessageId::generate(),
        app_id: app_id.clone(),
        event_type: "order.paid".into(),
        event_id: None,
        payload: Some(Bytes::from_static(br#"{"amount":42}"#)),
        channels: None,
        tags: None,
        created_at: now,
        expires_at: None,
    };
    let delivery = Delivery {
        msg_id: message.id.clone(),
        endpoint_id: endpoint.id.clone(),
        app_id,
        status: DeliveryStatus::Pending,
        attempts,
        next_attempt_at: Some(now),
        next_trigger: trigger,
        created_at: now,
        updated_at: now,
    };
    Dispatch { delivery, message: Arc::new(message), endpoint: Arc::new(endpoint) }
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
    let (attempt, update) = settle(&policy(), &d, response(204, None), Timestamp(10_000), 0.5);
    assert_eq!(attempt.status, DeliveryStatus::Success);
    assert_eq!(attempt.response_status_code, 204);
    assert_eq!(attempt.duration_ms, 12);
    assert_eq!(update, DeliveryUpdate { status: DeliveryStatus::Success, next_attempt_at: None });
}

#[test]
fn failures_follow_the_schedule_until_it_is_exhausted() {
    let now = Timestamp(10_000);
    let (_, first) = settle(&policy(), &dispatch(0, Trigger::Scheduled), response(500, None), now, 0.5);
    assert_eq!(first.next_attempt_at, Some(Timestamp(11_000)));
    let (_, second) = settle(&policy(), &dispatch(1, Trigger::Scheduled), response(302, None), now, 0.5);
    assert_eq!(second.next_attempt_at, Some(Timestamp(12_000)), "a redirect is a failure");
    let (_, last) = settle(&policy(), &dispatch(2, Trigger::Scheduled), response(500, None), now, 0.5);
    assert_eq!(last, DeliveryUpdate { status: DeliveryStatus::Failed, next_attempt_at: None });
}

#[test]
fn retry_after_counts_only_on_429_and_503() {
    let now = Timestamp(0);
    let d = dispatch(0, Trigger::Scheduled);
    let (_, on_429) = settle(&policy(), &d, response(429, Some(20)), now, 0.5);
    assert_eq!(on_429.next_attempt_at, Some(Timestamp(20_000)));
    let (_, on_500) = settle(&policy(), &d, response(500, Some(20)), now, 0.5);
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
    let (attempt, update) = settle(&policy(), &d, failed, Timestamp(0), 0.5);
    assert_eq!(attempt.response_status_code, 0);
    assert_eq!(attempt.response, "connection refused");
    assert_eq!(attempt.trigger, Trigger::Manual);
    assert_eq!(update.status, DeliveryStatus::Failed);
}
