//! Herald's delivery engine: the SSRF-guarded HTTP client, the hand-off from the
//! API, and the workers that send, retry and record.
//!
//! The shape follows one delivery: [`pipeline::prepare`] signs the request, the
//! [`client::HttpClient`] sends it (refusing non-global destinations), and
//! [`pipeline::settle`] turns the outcome into an attempt and the delivery's next
//! state, which the [`engine`] records in one store call. The retry arithmetic and
//! the endpoint-health rules are `herald_core::retry` and `herald_core::health`;
//! this crate only applies them.
//!
//! Around that: per-endpoint lanes and [`flow`] control keep a slow, hanging or
//! rate-limited endpoint from delaying the others, and [`operational`] webhooks
//! (`endpoint.disabled`, `message.attempt.exhausted`, …) go out as messages of a
//! reserved application, through the same engine.

pub mod client;
pub mod dispatch;
pub mod egress;
pub mod engine;
pub mod flow;
mod lanes;
pub mod operational;
pub mod pipeline;
pub mod smtp;
pub mod telemetry;
pub mod transform;

#[cfg(test)]
mod fixtures;

pub use dispatch::{Dispatch, DispatchHandle};
pub use engine::{Engine, EngineConfig};
pub use operational::{OPERATIONAL_APP_UID, Operational, OperationalEvent};
