//! The integration tests of `herald-inbound`, one binary: the published signature
//! vectors (`vectors`), signatures produced here with each provider's documented
//! algorithm (`documented`), event types and dedup keys (`derive`), configuration
//! serde and redaction (`config`), and handshakes (`handshake`).

mod config;
mod derive;
mod documented;
mod handshake;
mod support;
mod vectors;
