#![doc = include_str!("../README.md")]
//!
//! # Layout
//!
//! - [`request`] — [`InboundRequest`], the borrowed view of one received request.
//! - [`config`] — [`VerifierConfig`], what a source stores about how to verify it.
//! - [`verify()`] and its per-scheme modules — the checks themselves.
//! - [`rejection`] — [`Rejection`], why a request was refused, in words users read.
//! - [`derive`](mod@derive) — [`event_type`] and [`dedup_key`].
//! - [`handshake`](mod@handshake) — answers to providers' URL-verification challenges.
//! - [`source`] — [`Source`], the record a source is stored as, and [`RejectedRequest`].

#![forbid(unsafe_code)]

pub mod config;
mod crypto;
pub mod derive;
pub mod handshake;
pub mod rejection;
pub mod request;
pub mod source;
mod verify;

pub use config::{ConfigError, HmacAlgorithm, Secret, SignatureEncoding, VerifierConfig};
pub use derive::{EventRules, Locator, Provider, dedup_key, event_type, sanitize_event_type};
pub use handshake::{HandshakeAnswer, handshake};
pub use rejection::Rejection;
pub use request::InboundRequest;
pub use source::{CustomResponse, DEFAULT_DEDUP_WINDOW, DEFAULT_MAX_BODY_BYTES, RejectedRequest, Source};
pub use verify::{Authenticity, Verified, verify};
