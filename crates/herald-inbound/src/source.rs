//! [`Source`]: one inbound URL (`/in/{id}`) and everything that decides what becomes
//! of the requests it receives — the verifier, the event-type and dedup rules, the
//! dedup window, the answer providers get, the body limit — and [`RejectedRequest`],
//! the entry a refused request leaves in the source's log.
//!
//! These are plain data, like `herald-core`'s domain types: the stores persist them
//! (the verifier as its JSON storage form, which holds its secrets) and the API maps
//! them to and from its DTOs.

use std::time::Duration;

use herald_core::{AppId, RejectionId, SourceId, Timestamp};

use crate::config::VerifierConfig;
use crate::derive::{EventRules, Locator};

/// How long a dedup key recognises a provider's retry, unless the source says.
pub const DEFAULT_DEDUP_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// The largest body a source accepts, unless it says: 25 MiB (GitHub sends up to 25 MB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// A source: where verified requests of one provider account become messages of
/// one application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub id: SourceId,
    /// The application whose endpoints receive this source's events.
    pub app_id: AppId,
    /// Optional caller-chosen identifier, unique; usable in `/in/{uid}` and the API.
    pub uid: Option<String>,
    pub name: String,
    pub verifier: VerifierConfig,
    /// Where to read the event type, before the provider's own rule.
    pub event_type: Option<Locator>,
    /// Where to read the dedup key, before the provider's own rule.
    pub dedup_key: Option<Locator>,
    /// How long a dedup key, once seen, makes a request with the same key a retry.
    pub dedup_window: Duration,
    /// What accepted requests are answered with, instead of `200 {"id": …}`.
    pub response: Option<CustomResponse>,
    /// Bodies larger than this are refused with 413.
    pub max_body_bytes: usize,
    /// Requests refused so far (the log keeps only the latest; this counts them all).
    /// Kept by the store, which ignores it on update.
    pub rejected_total: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Source {
    /// The rules [`event_type`](crate::event_type) and [`dedup_key`](crate::dedup_key)
    /// apply to this source's requests.
    pub fn rules(&self) -> EventRules {
        EventRules {
            provider: self.verifier.provider(),
            event_type: self.event_type.clone(),
            dedup_key: self.dedup_key.clone(),
        }
    }
}

/// A fixed answer for accepted requests (and recognised retries), for providers
/// that expect a particular status or body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomResponse {
    /// A 2xx status: anything else would make the provider retry.
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// One request a source refused, as its log keeps it: why, and enough of the
/// request to see what was wrong — never credentials, at most the start of the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedRequest {
    pub id: RejectionId,
    pub source_id: SourceId,
    pub received_at: Timestamp,
    /// [`Rejection::code`](crate::Rejection::code), or `payload_too_large`.
    pub code: String,
    /// The rejection in words.
    pub reason: String,
    pub method: String,
    /// The URL as the provider called it.
    pub url: String,
    /// A few of the request's headers, credentials redacted.
    pub headers: Vec<(String, String)>,
    /// The start of the body.
    pub body: Vec<u8>,
    /// The size of the whole body, in bytes.
    pub body_size: u64,
}
