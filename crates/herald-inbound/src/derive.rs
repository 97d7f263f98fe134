//! What a verified request *is*: its event type ([`event_type`]) and the key that
//! recognises a provider's retry of it ([`dedup_key`]).
//!
//! Each provider has a default rule (Stripe's body `type` and `id`, GitHub's
//! `X-GitHub-Event` + `action` and `X-GitHub-Delivery`, …). A source may configure a
//! [`Locator`] — a JSON pointer into the body, a header, or a form field — which is
//! tried first, so a user can always override what Herald guessed. Event types are
//! sanitised to `^[a-zA-Z0-9\-_.]+$`, the alphabet of Herald's event-type catalogue;
//! a request nothing can name becomes `source.received`.
//!
//! These functions run after verification, so parsing the body as JSON here is
//! safe; they never fail, because a request's name must not decide whether it is
//! accepted.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::request::InboundRequest;

/// The event type of a request nothing else names.
pub const DEFAULT_EVENT_TYPE: &str = "source.received";

/// Longest event type kept (longer names are cut).
const MAX_EVENT_TYPE_LEN: usize = 256;

/// Whose conventions name and identify a source's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Stripe,
    #[serde(rename = "github")]
    GitHub,
    Shopify,
    Slack,
    Twilio,
    StandardWebhooks,
    Paddle,
    Discord,
    #[serde(rename = "gitlab")]
    GitLab,
    Contentful,
    Zoom,
    /// No provider conventions: only configured locators apply.
    Generic,
}

/// Where in a request to find a value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case", deny_unknown_fields)]
pub enum Locator {
    /// An RFC 6901 pointer into a JSON body, such as `/data/object/id`. Strings and
    /// numbers are taken; anything else counts as absent.
    JsonPointer { pointer: String },
    /// A request header.
    Header { name: String },
    /// A field of an `application/x-www-form-urlencoded` body.
    FormField { name: String },
}

/// How a source derives event types and dedup keys: its provider's defaults, and
/// the locators its owner configured, which take precedence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRules {
    pub provider: Provider,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<Locator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<Locator>,
}

impl From<Provider> for EventRules {
    fn from(provider: Provider) -> Self {
        Self { provider, event_type: None, dedup_key: None }
    }
}

/// The request's event type: the configured locator's value, else the provider's
/// rule, else `source.received`; always sanitised.
pub fn event_type(rules: &EventRules, req: &InboundRequest<'_>) -> String {
    let mut body = LazyJson::new(req);
    rules
        .event_type
        .as_ref()
        .and_then(|loc| locate(loc, req, &mut body))
        .or_else(|| provider_event_type(rules.provider, req, &mut body))
        .and_then(|raw| sanitize_event_type(&raw))
        .unwrap_or_else(|| DEFAULT_EVENT_TYPE.to_owned())
}

/// The request's dedup key: the configured locator's value, else the provider's
/// rule; `None` when neither finds one (the request is then never deduplicated).
pub fn dedup_key(rules: &EventRules, req: &InboundRequest<'_>) -> Option<String> {
    let mut body = LazyJson::new(req);
    rules
        .dedup_key
        .as_ref()
        .and_then(|loc| locate(loc, req, &mut body))
        .or_else(|| provider_dedup_key(rules.provider, req, &mut body))
}

/// Maps a provider's name for an event onto `^[a-zA-Z0-9\-_.]+$`: `/`, `:` and
/// whitespace become `.` (`orders/create` → `orders.create`), other characters `_`;
/// repeated, leading and trailing dots are dropped. `None` when nothing is left.
pub fn sanitize_event_type(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len().min(MAX_EVENT_TYPE_LEN));
    for c in raw.chars() {
        let mapped = match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            '/' | ':' => '.',
            c if c.is_whitespace() => '.',
            _ => '_',
        };
        if mapped == '.' && (out.is_empty() || out.ends_with('.')) {
            continue;
        }
        if out.len() == MAX_EVENT_TYPE_LEN {
            break;
        }
        out.push(mapped);
    }
    while out.ends_with('.') {
        out.pop();
    }
    if out.is_empty() { None } else { Some(out) }
}

fn provider_event_type(provider: Provider, req: &InboundRequest<'_>, body: &mut LazyJson) -> Option<String> {
    match provider {
        Provider::Stripe | Provider::StandardWebhooks => body.string("/type"),
        Provider::GitHub => {
            let event = non_empty(req.header("X-GitHub-Event"))?;
            Some(match body.string("/action") {
                Some(action) => format!("{event}.{action}"),
                None => event.to_owned(),
            })
        }
        Provider::Shopify => non_empty(req.header("X-Shopify-Topic")).map(str::to_owned),
        Provider::Slack => slack_event_type(req, body),
        Provider::Paddle => body.string("/event_type"),
        Provider::GitLab => match body.string("/object_kind") {
            Some(kind) => Some(match body.string("/object_attributes/action") {
                Some(action) => format!("{kind}.{action}"),
                None => kind,
            }),
            None => non_empty(req.header("X-Gitlab-Event")).map(str::to_owned),
        },
        Provider::Contentful => non_empty(req.header("X-Contentful-Topic")).map(str::to_owned),
        Provider::Zoom => body.string("/event"),
        Provider::Discord => discord_event_type(body),
        Provider::Twilio | Provider::Generic => None,
    }
}

/// Events API: `event.type` (`app_mention`), else `type` (`url_verification`).
/// Interactivity posts a form whose `payload` field is JSON with a `type`; slash
/// commands post a form with a `command` field.
fn slack_event_type(req: &InboundRequest<'_>, body: &mut LazyJson) -> Option<String> {
    if let Some(t) = body.string("/event/type").or_else(|| body.string("/type")) {
        return Some(t);
    }
    let form = req.form_pairs();
    if let Some((_, payload)) = form.iter().find(|(k, _)| k == "payload") {
        let json: Value = serde_json::from_str(payload).ok()?;
        return json.get("type").and_then(Value::as_str).map(str::to_owned);
    }
    form.iter().any(|(k, _)| k == "command").then(|| "slash_command".to_owned())
}

/// Webhook events carry `event.type` (`APPLICATION_AUTHORIZED`); interactions a
/// numeric `type`, named after Discord's interaction types.
fn discord_event_type(body: &mut LazyJson) -> Option<String> {
    if let Some(t) = body.string("/event/type") {
        return Some(t);
    }
    let name = match body.value("/type")?.as_u64()? {
        0 => "ping",
        1 => "interaction.ping",
        2 => "interaction.application_command",
        3 => "interaction.message_component",
        4 => "interaction.application_command_autocomplete",
        5 => "interaction.modal_submit",
        _ => return None,
    };
    Some(name.to_owned())
}

fn provider_dedup_key(provider: Provider, req: &InboundRequest<'_>, body: &mut LazyJson) -> Option<String> {
    let header = |name: &str| non_empty(req.header(name)).map(str::to_owned);
    match provider {
        Provider::Stripe | Provider::Discord => body.string("/id"),
        Provider::GitHub => header("X-GitHub-Delivery"),
        Provider::Shopify => header("X-Shopify-Webhook-Id"),
        Provider::StandardWebhooks => header("webhook-id").or_else(|| header("svix-id")),
        Provider::Slack => body.string("/event_id"),
        Provider::Twilio => header("I-Twilio-Idempotency-Token"),
        Provider::Paddle => body.string("/notification_id").or_else(|| body.string("/event_id")),
        Provider::GitLab => header("Idempotency-Key").or_else(|| header("X-Gitlab-Event-UUID")),
        Provider::Contentful | Provider::Zoom | Provider::Generic => None,
    }
}

fn locate(loc: &Locator, req: &InboundRequest<'_>, body: &mut LazyJson) -> Option<String> {
    match loc {
        Locator::JsonPointer { pointer } => body.string(pointer),
        Locator::Header { name } => non_empty(req.header(name)).map(str::to_owned),
        Locator::FormField { name } => req
            .form_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.trim().is_empty()),
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// The body parsed as JSON at most once, and only if a rule looks into it.
struct LazyJson<'r> {
    body: &'r [u8],
    parsed: Option<Option<Value>>,
}

impl<'r> LazyJson<'r> {
    fn new(req: &InboundRequest<'r>) -> Self {
        Self { body: req.body, parsed: None }
    }

    fn value(&mut self, pointer: &str) -> Option<&Value> {
        let body = self.body;
        self.parsed.get_or_insert_with(|| serde_json::from_slice(body).ok()).as_ref()?.pointer(pointer)
    }

    /// A non-empty string, or a number written out, at `pointer`.
    fn string(&mut self, pointer: &str) -> Option<String> {
        match self.value(pointer)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}
