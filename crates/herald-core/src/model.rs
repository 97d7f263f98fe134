//! Domain types: what Herald stores and reasons about. They carry no database or
//! wire derives; the API crate maps them to Svix-shaped DTOs, the store crates to rows.

use std::collections::BTreeMap;

use crate::id::{AppId, AttemptId, EndpointId, MessageId, SourceId};
use crate::signing::SigningKey;
use crate::time::Timestamp;

/// Free-form string labels kept with an object (`metadata` in the API).
pub type Metadata = BTreeMap<String, String>;

/// One customer (tenant) of the sending product.
#[derive(Clone, Debug, PartialEq)]
pub struct Application {
    pub id: AppId,
    /// Optional caller-chosen identifier, unique; usable wherever the id is.
    pub uid: Option<String>,
    pub name: String,
    pub metadata: Metadata,
    pub throttle_rate: Option<u32>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A catalogue entry such as `order.paid`.
#[derive(Clone, Debug, PartialEq)]
pub struct EventType {
    pub name: String,
    pub description: String,
    pub archived: bool,
    pub deprecated: bool,
    pub feature_flag: Option<String>,
    /// JSON Schemas by version, kept as given (`{"1": {...}}`).
    pub schemas: Option<serde_json::Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A URL inside an application that receives messages.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub id: EndpointId,
    pub app_id: AppId,
    pub uid: Option<String>,
    pub url: String,
    pub description: String,
    /// Event types it wants; `None` means all.
    pub event_types: Option<Vec<String>>,
    /// Channels it listens to; `None` means every message regardless of channel.
    pub channels: Option<Vec<String>>,
    pub disabled: bool,
    /// Messages per second, at most.
    pub throttle_rate: Option<u32>,
    pub metadata: Metadata,
    /// Extra headers sent with every request to this endpoint.
    pub headers: BTreeMap<String, String>,
    pub secrets: EndpointSecrets,
    /// Since when every attempt to it has failed (no success in between); `None`
    /// while healthy. Set and cleared by the delivery engine, only on transitions.
    pub failing_since: Option<Timestamp>,
    /// Why Herald disabled it (`410 Gone`, failing for too long); `None` when enabled
    /// or disabled through the API.
    pub disabled_reason: Option<String>,
    /// Code that turns each message into the request actually sent (or skips it).
    pub transformation: Option<Transformation>,
    /// A payload filter (`herald_transform::Filter`'s JSON form): a message it does
    /// not match is not sent to this endpoint and its delivery reads `Filtered`.
    /// Kept as given; the API checks it before storing.
    pub filter: Option<serde_json::Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The language of an endpoint's transformation (`herald_transform::Kind` is this type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransformKind {
    /// A minijinja template rendering the request.
    Template,
    /// A JavaScript `handler(webhook)` function.
    Javascript,
}

impl TransformKind {
    /// The name used in the API and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Template => "template",
            Self::Javascript => "javascript",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "template" => Some(Self::Template),
            "javascript" => Some(Self::Javascript),
            _ => None,
        }
    }
}

/// An endpoint's transformation as stored: its source, compiled by the delivery
/// engine (`herald-transform`) when used. `enabled: false` keeps the code but sends
/// messages untransformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transformation {
    pub kind: TransformKind,
    pub code: String,
    pub enabled: bool,
}

impl Endpoint {
    /// An enabled endpoint of `app_id` at `url`, signed with `key`, created `now`,
    /// with no uid, description, filters, rate limit, metadata or headers.
    pub fn new(app_id: AppId, url: String, key: SigningKey, now: Timestamp) -> Self {
        Self {
            id: EndpointId::generate(),
            app_id,
            uid: None,
            url,
            description: String::new(),
            event_types: None,
            channels: None,
            disabled: false,
            throttle_rate: None,
            metadata: Metadata::new(),
            headers: BTreeMap::new(),
            secrets: EndpointSecrets::new(key),
            failing_since: None,
            disabled_reason: None,
            transformation: None,
            filter: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The transformation to apply, if there is one and it is enabled.
    pub fn active_transformation(&self) -> Option<&Transformation> {
        self.transformation.as_ref().filter(|t| t.enabled)
    }
}

/// The current signing key and the previous ones still honoured after a rotation.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointSecrets {
    pub current: SigningKey,
    /// Keys replaced by a rotation, each with the moment it stops signing.
    pub previous: Vec<(SigningKey, Timestamp)>,
}

impl EndpointSecrets {
    pub fn new(current: SigningKey) -> Self {
        Self { current, previous: Vec::new() }
    }

    /// The keys that sign a request sent at `now`: the current one first.
    pub fn signing_keys(&self, now: Timestamp) -> impl Iterator<Item = &SigningKey> {
        std::iter::once(&self.current)
            .chain(self.previous.iter().filter(move |(_, until)| *until > now).map(|(k, _)| k))
    }

    /// Replaces the current key, keeping the old one valid for `grace`.
    pub fn rotate(&mut self, next: SigningKey, now: Timestamp, grace: std::time::Duration) {
        let old = std::mem::replace(&mut self.current, next);
        self.previous.retain(|(_, until)| *until > now);
        self.previous.push((old, now.plus(grace)));
    }
}

/// One event sent to one application.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: MessageId,
    pub app_id: AppId,
    pub event_type: String,
    /// Caller's idempotency id, unique per application.
    pub event_id: Option<String>,
    /// The body exactly as it will be sent: a JSON object for messages created
    /// through the API, the provider's raw bytes (any content type) for inbound
    /// messages. `None` once expunged or purged by retention.
    pub payload: Option<bytes::Bytes>,
    pub channels: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub created_at: Timestamp,
    /// When the payload may be purged.
    pub expires_at: Option<Timestamp>,
    /// Set when the message was received by an inbound source rather than created
    /// through the API.
    pub inbound: Option<InboundOrigin>,
}

/// Where an inbound message came from: the source that received and verified it, and
/// the provider's request headers, kept so that an endpoint can receive them as they
/// were (and verify the provider's own signature) instead of Herald's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundOrigin {
    pub source: SourceId,
    /// The path and query the provider called (`/in/src_…/github?x=1`), as received.
    pub path: String,
    /// `(name, value)` in the order received, names lower-case. Hop-by-hop headers and
    /// credentials meant for Herald (`Authorization`, cookies, a source's API-key or
    /// token header) are never kept.
    pub headers: Vec<(String, String)>,
    /// The key that recognises the provider's retries of this request, when it has
    /// one. Storing the message claims the key for the source until `until`: a
    /// second message claiming it before then is refused as a duplicate.
    pub dedup: Option<DedupClaim>,
}

/// A dedup key claimed by an inbound message, and until when the claim holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DedupClaim {
    pub key: String,
    pub until: Timestamp,
}

impl InboundOrigin {
    /// The first value of a header (`name` in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Where a (message, endpoint) delivery stands. Numbered as Svix's `MessageStatus`;
/// `Filtered` is Herald's own (the endpoint's filter or transformation chose not to
/// send this message: no attempt was made) and never appears as a number in the
/// Svix-compatible API, whose SDKs know only 0 to 3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Success = 0,
    Pending = 1,
    Failed = 2,
    Sending = 3,
    Filtered = 4,
}

impl DeliveryStatus {
    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            0 => Self::Success,
            1 => Self::Pending,
            2 => Self::Failed,
            3 => Self::Sending,
            4 => Self::Filtered,
            _ => return None,
        })
    }

    /// Svix's `statusText`.
    pub fn text(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Pending => "pending",
            Self::Failed => "fail",
            Self::Sending => "sending",
            Self::Filtered => "filtered",
        }
    }

    /// The status Svix's SDKs can read: a filtered delivery is settled without an
    /// error, so it reads as a success there (Herald's `filtered` field says more).
    pub fn svix(self) -> Self {
        match self {
            Self::Filtered => Self::Success,
            other => other,
        }
    }
}

/// Why an attempt was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Scheduled = 0,
    Manual = 1,
}

impl Trigger {
    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Self {
        if code == 1 { Self::Manual } else { Self::Scheduled }
    }
}

/// The state of one (message, endpoint) pair: the queue row.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub msg_id: MessageId,
    pub endpoint_id: EndpointId,
    pub app_id: AppId,
    pub status: DeliveryStatus,
    /// Attempts made so far (scheduled and manual).
    pub attempts: u32,
    /// When the next attempt is due; `None` once settled.
    pub next_attempt_at: Option<Timestamp>,
    /// Why the next attempt will be made (a resend is manual).
    pub next_trigger: Trigger,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One try at delivering a message to an endpoint (an HTTP request or an email).
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub id: AttemptId,
    pub msg_id: MessageId,
    pub endpoint_id: EndpointId,
    pub app_id: AppId,
    /// The URL called, with any password in it replaced by [`REDACTED`].
    pub url: String,
    /// What was sent; `None` when nothing was (the endpoint was disabled, the payload
    /// expunged) and for attempts recorded before Herald kept requests.
    pub request: Option<SentRequest>,
    /// `Success` or `Failed`.
    pub status: DeliveryStatus,
    /// The HTTP status, or 0 when no response came (refused, timeout, connect error).
    pub response_status_code: u16,
    /// Response body up to the cap, or the reason no response came.
    pub response: String,
    pub duration_ms: u64,
    pub trigger: Trigger,
    pub created_at: Timestamp,
}

/// What replaces a credential in a recorded request: the value of an `Authorization`
/// or token header, the password of a URL.
pub const REDACTED: &str = "••••";

/// The request an attempt sent, as the logs show it: nothing in it is a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentRequest {
    /// The HTTP method, or `SMTP` for an email.
    pub method: String,
    /// In the order sent (repeats kept); credential values are [`REDACTED`].
    pub headers: Vec<(String, String)>,
    /// The body sent, capped, only when it is not the message's payload (a
    /// transformation rewrote it); `None` means "the payload, as stored".
    pub body: Option<String>,
}
