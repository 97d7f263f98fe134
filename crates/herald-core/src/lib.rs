//! Herald's vocabulary: prefixed ids, domain types, Standard Webhooks signing, the
//! retry and endpoint-health policies and routing rules.
//!
//! This crate does no I/O: no network, no files, no clock reads except
//! [`Timestamp::now`]. Everything here is plain data and pure functions, tested
//! without a runtime. The store, delivery and API crates build on it.

pub mod health;
pub mod id;
pub mod model;
pub mod retry;
pub mod routing;
pub mod signing;
pub mod time;
pub mod url_password;

pub use health::{AttemptEvent, AttemptResult, HealthChange, HealthPolicy};
pub use id::{AppId, AttemptId, EndpointId, MessageId, RejectionId, SourceId, TaskId};
pub use model::{
    Application, Attempt, DedupClaim, Delivery, DeliveryStatus, Endpoint, EndpointSecrets, EventType,
    InboundOrigin, Message, Metadata, REDACTED, SentRequest, TransformKind, Transformation, Trigger,
};
pub use retry::{FailureHint, RetryPolicy};
pub use signing::SigningKey;
pub use time::Timestamp;
