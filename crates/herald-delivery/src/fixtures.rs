//! Test fixtures shared by the unit tests of this crate.

use std::sync::Arc;

use bytes::Bytes;
use herald_core::{
    AppId, Delivery, DeliveryStatus, Endpoint, Message, MessageId, SigningKey, Timestamp, Trigger,
};

use crate::dispatch::Dispatch;

/// A pending delivery of a small message to an endpoint with custom headers, after
/// `attempts` attempts, the next one `trigger`ed.
pub(crate) fn dispatch(attempts: u32, trigger: Trigger) -> Dispatch {
    let app_id = AppId::generate();
    let now = Timestamp(1_700_000_000_000);
    let mut endpoint = Endpoint::new(
        app_id.clone(),
        "https://hooks.example.com/in".into(),
        SigningKey::generate_symmetric(),
        now,
    );
    endpoint.headers =
        [("x-team".to_owned(), "blue".to_owned()), ("webhook-id".to_owned(), "spoof".to_owned())]
            .into_iter()
            .collect();
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
        inbound: None,
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

/// Another delivery to the same endpoint.
pub(crate) fn another(d: &Dispatch) -> Dispatch {
    let mut next = dispatch(0, Trigger::Scheduled);
    next.endpoint = d.endpoint.clone();
    next.delivery.endpoint_id = d.endpoint.id.clone();
    next
}
