#![doc = include_str!("../README.md")]
//!
//! # Layout
//!
//! - [`Input`], [`Outcome`], [`Request`] — what a transformation sees and what it answers.
//! - [`Compiled`] — a checked transformation of either [`Kind`], run with [`Limits`].
//! - [`Filter`] — a payload (and header) predicate.
//! - [`presets`] — ready-made destinations.
//! - [`view`] — the serialisable dry-run answer.

#![forbid(unsafe_code)]

mod error;
pub mod filter;
mod javascript;
pub mod presets;
mod request;
mod template;
pub mod view;

use std::collections::BTreeMap;
use std::time::Duration;

pub use error::TransformError;
pub use filter::{Filter, FilterError};
pub use presets::PresetError;
pub use view::{OutcomeView, RequestView};

/// What a transformation sees (Svix Cloud's `webhook` object shape for JavaScript:
/// `{ method, url, headers, payload, eventType, msgId, eventId, channels, tags, timestamp, cancel }`).
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub event_type: &'a str,
    /// The JSON payload (for an inbound message whose body is not JSON: a string).
    pub payload: &'a serde_json::Value,
    pub msg_id: &'a str,
    pub event_id: Option<&'a str>,
    pub channels: &'a [String],
    pub tags: &'a [String],
    /// When the message was created, unix seconds.
    pub timestamp: i64,
    /// The endpoint URL: the default target.
    pub url: &'a str,
    /// The endpoint's custom headers: the default request headers.
    pub headers: &'a BTreeMap<String, String>,
    /// The provider's headers, for an inbound message.
    pub inbound_headers: Option<&'a [(String, String)]>,
}

/// The request to send instead of the default JSON POST.
///
/// `headers` are the complete custom headers of the request: the endpoint's headers as the
/// transformation left them, with `Content-Type` when the request has a body. The delivery
/// engine adds its own (signature, `webhook-id`, user agent) on top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What a run decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Send(Request),
    /// Do not send this message to this endpoint (a transformation's `cancel`/`skip`).
    Skip {
        reason: String,
    },
}

/// The two forms of transformation code: a JSON object of minijinja templates
/// (`docs/TRANSFORMATIONS.md`), or `function handler(webhook) { …; return webhook }` as in
/// Svix Cloud. The same type as the kind an endpoint stores.
pub use herald_core::TransformKind as Kind;

/// What one run may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time of a JavaScript run. A template run is bounded by fuel instead
    /// ([`Limits::template_fuel`]), which does not depend on the machine's speed or load.
    pub time: Duration,
    /// Memory a JavaScript run may allocate (the engine's baseline included); a template's
    /// fuel and the cap on its rendered output derive from it. (QuickJS reads 0 as "no
    /// limit": do not configure 0.)
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { time: Duration::from_millis(100), memory_bytes: 16 * 1024 * 1024 }
    }
}

impl Limits {
    /// The minijinja fuel a template run gets. Fuel counts both instructions and allocations
    /// (about one unit per 64 bytes), so deriving it from the memory limit bounds a template's
    /// memory and, at a few nanoseconds an instruction, its time: 16 MiB gives 1,048,576
    /// units, enough to re-serialise a 1 MiB payload (Herald's default cap) with room to
    /// spare, yet tens of milliseconds at most — nothing for a runaway loop.
    pub fn template_fuel(&self) -> u64 {
        (self.memory_bytes as u64 / 16).max(1_000)
    }
}

/// A checked transformation, ready to run many times.
///
/// `Send + Sync`: the delivery engine keeps one per endpoint and runs it from many tasks.
/// [`Compiled::run`] is blocking CPU work: a template's is bounded by fuel (microseconds
/// usually, tens of milliseconds at worst), a JavaScript run's only by [`Limits::time`], so
/// run JavaScript on a thread that may block (`spawn_blocking`, a thread of one's own).
#[derive(Debug)]
pub struct Compiled {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Template(Box<template::Program>),
    Javascript(javascript::Program),
}

impl Compiled {
    /// Checks the source (at save time); the error says where (line/column) and why.
    pub fn new(kind: Kind, code: &str) -> Result<Compiled, TransformError> {
        let inner = match kind {
            Kind::Template => Inner::Template(Box::new(template::Program::new(code)?)),
            Kind::Javascript => Inner::Javascript(javascript::Program::new(code)?),
        };
        Ok(Compiled { inner })
    }

    /// The form of this transformation.
    pub fn kind(&self) -> Kind {
        match self.inner {
            Inner::Template(_) => Kind::Template,
            Inner::Javascript(_) => Kind::Javascript,
        }
    }

    /// Runs the transformation on one message. Errors carry a text fit for an attempt's
    /// response field; they never poison this value or other runs.
    pub fn run(&self, input: &Input, limits: &Limits) -> Result<Outcome, TransformError> {
        match &self.inner {
            Inner::Template(program) => program.run(input, limits),
            Inner::Javascript(program) => program.run(input, limits),
        }
    }
}

/// The request sent when an endpoint has no transformation: a JSON POST of the payload to
/// the endpoint URL with the endpoint's headers. Transformations start from this.
pub fn default_request(input: &Input) -> Request {
    request::default_request(input)
}
