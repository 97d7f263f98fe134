//! Herald's integration tests: one binary, real parts only — a real server on a
//! port-0 listener and a temporary SQLite file, driven with the official Svix Rust
//! SDK, delivering to a recording receiver on loopback, with signatures checked by
//! the SDK's own verifier.

mod common;
mod errors;
mod restart;
mod retries;
mod rotation;
mod send;
