//! What the engine tells operators about each delivery: the metrics recorded per
//! attempt and the span its logs carry. Kept apart from the engine so the engine
//! itself only has a line or two per hook.
//!
//! Metrics go through the `metrics` facade; the binary decides where they end up
//! (Prometheus text at `/metrics`). Without a recorder installed they cost nothing.
//! No label carries a tenant's identifiers (application, endpoint, URL): the
//! outcome kinds are a handful of fixed words.

use herald_core::{Attempt, Timestamp, Trigger};

use crate::client::{FailureKind, SendOutcome};
use crate::dispatch::Dispatch;
use crate::pipeline::PrepareError;

/// `herald_attempts_total{outcome}`: attempts recorded, by outcome.
pub const ATTEMPTS: &str = "herald_attempts_total";
/// `herald_delivery_latency_seconds`: from a message's acceptance to its
/// successful delivery to one endpoint, retries included (manual resends are not
/// counted).
pub const DELIVERY_LATENCY: &str = "herald_delivery_latency_seconds";

/// The outcome of an attempt as a metrics label: `success` (2xx), `http_error`
/// (any other status), `timeout`, `refused` (the egress policy), `network` (DNS,
/// connect, TLS, body), or `not_sent` (disabled endpoint, purged payload, bad URL).
pub fn outcome_label(outcome: &Result<SendOutcome, PrepareError>) -> &'static str {
    match outcome {
        Ok(SendOutcome::Response { status: 200..=299, .. }) => "success",
        Ok(SendOutcome::Response { .. }) => "http_error",
        Ok(SendOutcome::Failed { kind: FailureKind::Timeout, .. }) => "timeout",
        Ok(SendOutcome::Failed { kind: FailureKind::Forbidden, .. }) => "refused",
        Ok(SendOutcome::Failed { .. }) => "network",
        Err(_) => "not_sent",
    }
}

/// Counts a recorded attempt and, for a scheduled success, observes the delivery
/// latency since the message was accepted.
pub(crate) fn attempt_recorded(outcome: &'static str, attempt: &Attempt, accepted_at: Timestamp) {
    metrics::counter!(ATTEMPTS, "outcome" => outcome).increment(1);
    if outcome == "success" && attempt.trigger == Trigger::Scheduled {
        let millis = attempt.created_at.millis().saturating_sub(accepted_at.millis()).max(0);
        metrics::histogram!(DELIVERY_LATENCY).record(millis as f64 / 1000.0);
    }
}

/// The span a delivery's logs carry: the message and the endpoint it goes to.
pub(crate) fn delivery_span(d: &Dispatch) -> tracing::Span {
    tracing::info_span!("delivery", msg = %d.message.id, endpoint = %d.endpoint.id)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn outcomes_are_a_few_fixed_labels() {
        let answered = |status| {
            Ok(SendOutcome::Response {
                status,
                body: String::new(),
                retry_after: None,
                duration: Duration::ZERO,
            })
        };
        let failed = |kind| Ok(SendOutcome::Failed { kind, reason: String::new(), duration: Duration::ZERO });
        assert_eq!(outcome_label(&answered(204)), "success");
        assert_eq!(outcome_label(&answered(302)), "http_error");
        assert_eq!(outcome_label(&answered(503)), "http_error");
        assert_eq!(outcome_label(&failed(FailureKind::Timeout)), "timeout");
        assert_eq!(outcome_label(&failed(FailureKind::Forbidden)), "refused");
        for kind in [FailureKind::Dns, FailureKind::Connect, FailureKind::Other] {
            assert_eq!(outcome_label(&failed(kind)), "network");
        }
        assert_eq!(outcome_label(&Err(PrepareError::Disabled)), "not_sent");
    }
}
