//! Handler tests: every resource's happy path and the error paths an SDK can hit,
//! through the real router on a real SQLite store (one test binary).

mod support;

mod applications;
mod attempts;
mod auth;
mod endpoints;
mod errors;
mod event_types;
mod messages;
