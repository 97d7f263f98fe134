//! Herald's delivery engine: the SSRF-guarded HTTP client, the hand-off from the
//! API, and the workers that send, retry and record.
//!
//! The shape follows one delivery: [`pipeline::prepare`] signs the request, the
//! [`client::HttpClient`] sends it (refusing non-global destinations), and
//! [`pipeline::settle`] turns the outcome into an attempt and the delivery's next
//! state, which the [`engine`] records in one store call. The retry arithmetic is
//! `herald_core::retry`; this crate only applies it.

pub mod client;
pub mod dispatch;
pub mod egress;
pub mod engine;
pub mod pipeline;

pub use dispatch::{Dispatch, DispatchHandle};
pub use engine::{Engine, EngineConfig};
