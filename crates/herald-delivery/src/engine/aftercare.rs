//! After an attempt is recorded: what it changes about the endpoint's health (a
//! store write only on a transition, disabling when the policy says so) and which
//! operational webhooks it calls for.
//!
//! The lane's cache decides cheaply whether anything changed; the store decides
//! whether to disable. Before disabling an endpoint for failing too long, the
//! worker marks it failing in the store, which answers with the earliest mark any
//! process made (or a fresh one, if another process saw a success meanwhile and
//! cleared it): the window is judged on that, never on a possibly stale cache.

use std::sync::Arc;

use herald_core::health::{AttemptFacts, DisableReason, attempt_event};
use herald_core::{Attempt, AttemptResult, DeliveryStatus, HealthChange, Timestamp, Trigger};
use herald_store::{DeliveryUpdate, StoreError};

use super::Ctx;
use crate::dispatch::Dispatch;
use crate::operational::OperationalEvent;
use crate::pipeline::Observed;

/// Records the health change and sends the operational events of one attempt.
pub(super) async fn after_attempt(
    ctx: &Arc<Ctx>,
    d: &Dispatch,
    attempt: Attempt,
    update: &DeliveryUpdate,
    seen: Observed,
    change: HealthChange,
    at: Timestamp,
) {
    record_health(ctx, d, change, at).await;
    let Some(result) = seen.result else { return };
    let facts = AttemptFacts {
        attempts_before: d.delivery.attempts,
        manual: d.delivery.next_trigger == Trigger::Manual,
        result,
        will_retry: update.status == DeliveryStatus::Pending,
    };
    if let Some(kind) = attempt_event(facts, ctx.cfg.retry.max_attempts()) {
        ctx.emit(OperationalEvent::Attempt { kind, message: d.message.clone(), attempt: Box::new(attempt) });
    }
}

async fn record_health(ctx: &Arc<Ctx>, d: &Dispatch, change: HealthChange, at: Timestamp) {
    match change {
        HealthChange::Unchanged => {}
        HealthChange::Recovered => {
            if let Err(e) = ctx.store.set_endpoint_failing(&d.endpoint.id, None).await {
                warn_unless_gone(&e, d, "could not record that an endpoint recovered");
            }
        }
        HealthChange::StartedFailing | HealthChange::Disable { reason: DisableReason::FailingFor(_), .. } => {
            confirm_failing(ctx, d, at).await;
        }
        HealthChange::Disable { fail_since, reason: reason @ DisableReason::Gone } => {
            disable(ctx, d, fail_since, reason).await;
        }
    }
}

/// Marks the endpoint failing in the store, learns the mark the store keeps, and
/// disables the endpoint if it has been failing for the whole window.
async fn confirm_failing(ctx: &Arc<Ctx>, d: &Dispatch, at: Timestamp) {
    let stored = match ctx.store.set_endpoint_failing(&d.endpoint.id, Some(at)).await {
        Ok(stored) => stored,
        Err(e) => return warn_unless_gone(&e, d, "could not record that an endpoint is failing"),
    };
    ctx.lanes.learn_failing_since(&d.endpoint.id, stored);
    if let HealthChange::Disable { fail_since, reason } =
        ctx.cfg.health.judge(stored, AttemptResult::Failed, at)
    {
        disable(ctx, d, fail_since, reason).await;
    }
}

/// Disables the endpoint (its pending deliveries fail with it), drops what its lane
/// held, and, if this call is the one that disabled it, sends `endpoint.disabled`.
async fn disable(ctx: &Arc<Ctx>, d: &Dispatch, fail_since: Timestamp, reason: DisableReason) {
    let now = Timestamp::now();
    let changed = match ctx.store.disable_endpoint(&d.endpoint.id, Some(&reason.to_string()), now).await {
        Ok(changed) => changed,
        Err(e) => return warn_unless_gone(&e, d, "could not disable an endpoint"),
    };
    for _dropped in ctx.lanes.disable(&d.endpoint.id, now) {
        ctx.handle.finished();
    }
    if changed {
        tracing::warn!(endpoint = %d.endpoint.id, app = %d.endpoint.app_id, %reason, "endpoint disabled");
        ctx.emit(OperationalEvent::EndpointDisabled { endpoint: d.endpoint.clone(), fail_since });
    }
}

fn warn_unless_gone(e: &StoreError, d: &Dispatch, what: &str) {
    if !matches!(e, StoreError::NotFound) {
        tracing::warn!(error = %e, endpoint = %d.endpoint.id, "{what}");
    }
}

impl Ctx {
    /// Sends an operational event in the background (it is a message write of its
    /// own, which the worker does not wait for).
    fn emit(self: &Arc<Self>, event: OperationalEvent) {
        let Some(operational) = self.operational.clone() else { return };
        self.tasks.spawn(async move { operational.emit_or_log(&event).await });
    }
}
