//! Input checks that serde cannot express, collected into one 422 answer.
//!
//! Patterns and limits follow Svix's document: identifiers (`uid`, `eventId`,
//! event type names, channels) match `^[a-zA-Z0-9\-_.]+$`; endpoint URLs are
//! absolute http(s) URLs or email destinations (`smtp://`, `smtps://`), and refused
//! up front when the configured egress policy can never deliver to them.

use std::collections::BTreeMap;

use herald_core::SigningKey;
use herald_delivery::egress::EgressPolicy;
use herald_delivery::smtp;

use crate::error::{ApiError, ValidationItem};

pub(crate) const MAX_NAME: usize = 256;
pub(crate) const MAX_CHANNEL: usize = 128;
pub(crate) const MAX_CHANNELS: usize = 10;
pub(crate) const MAX_URL: usize = 65_536;
/// Names and descriptions.
pub(crate) const MAX_TEXT: usize = 4096;

/// Collects failures; [`Violations::finish`] turns them into a 422.
#[derive(Debug, Default)]
pub(crate) struct Violations(Vec<ValidationItem>);

impl Violations {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn push(&mut self, loc: &[&str], msg: impl Into<String>) {
        self.0.push(ValidationItem::new(loc, msg));
    }

    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() { Ok(()) } else { Err(ApiError::Validation(self.0)) }
    }

    /// An identifier: non-empty, at most `max` characters, `[a-zA-Z0-9-_.]`.
    pub(crate) fn ident(&mut self, loc: &[&str], value: &str, max: usize) {
        if value.is_empty() || value.len() > max {
            self.push(loc, format!("must be between 1 and {max} characters long"));
        } else if !is_ident(value) {
            self.push(loc, "must match the pattern ^[a-zA-Z0-9\\-_.]+$");
        }
    }

    /// A `uid` of an object whose ids carry `id_prefix`: an identifier that cannot be
    /// mistaken for an id.
    pub(crate) fn uid(&mut self, loc: &[&str], value: Option<&str>, id_prefix: &str) {
        let Some(value) = value else { return };
        self.ident(loc, value, MAX_NAME);
        if value.starts_with(id_prefix) {
            self.push(loc, format!("must not start with `{id_prefix}` (the prefix of ids)"));
        }
    }

    pub(crate) fn name(&mut self, loc: &[&str], value: &str) {
        if value.trim().is_empty() {
            self.push(loc, "must not be empty");
        } else if value.len() > MAX_TEXT {
            self.push(loc, format!("must be at most {MAX_TEXT} characters long"));
        }
    }

    /// Messages per second: 1 to 65535 (Svix's `uint16`, minimum 1).
    pub(crate) fn throttle_rate(&mut self, loc: &[&str], value: Option<u32>) {
        if value.is_some_and(|v| !(1..=u32::from(u16::MAX)).contains(&v)) {
            self.push(loc, "must be between 1 and 65535");
        }
    }

    /// Channels: at most ten identifiers of up to 128 characters.
    pub(crate) fn channels(&mut self, loc: &[&str], channels: Option<&[String]>) {
        let Some(channels) = channels else { return };
        if channels.len() > MAX_CHANNELS {
            self.push(loc, format!("at most {MAX_CHANNELS} channels are allowed"));
        }
        for c in channels {
            self.ident(loc, c, MAX_CHANNEL);
        }
    }

    /// Event type names used as filters.
    pub(crate) fn event_types(&mut self, loc: &[&str], types: Option<&[String]>) {
        for t in types.unwrap_or_default() {
            self.ident(loc, t, MAX_NAME);
        }
    }

    /// Free-form string labels: bounded sizes only.
    pub(crate) fn metadata(&mut self, loc: &[&str], metadata: &BTreeMap<String, String>) {
        let size: usize = metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
        if metadata.len() > 100 || size > 64 * 1024 {
            self.push(loc, "metadata is too large (at most 100 entries and 64 KiB)");
        }
    }

    /// An endpoint URL: absolute http(s), or an email destination
    /// (`smtp://`, `smtps://`, see `herald_delivery::smtp`), and not refused by the
    /// egress policy.
    pub(crate) fn url(&mut self, loc: &[&str], value: &str, egress: Option<&EgressPolicy>) {
        if value.len() > MAX_URL {
            return self.push(loc, "URL is too long");
        }
        let url = match url::Url::parse(value) {
            Ok(url) => url,
            Err(e) => return self.push(loc, format!("invalid URL: {e}")),
        };
        if smtp::handles(&url) {
            return self.email_url(loc, &url, egress);
        }
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return self.push(loc, "URL must be an absolute http://, https://, smtp:// or smtps:// URL");
        }
        if let Some(Err(refused)) = egress.map(|p| p.check_url(&url)) {
            self.push(loc, refused.to_string());
        }
    }

    /// An `smtp://` or `smtps://` URL: well formed, and an IP-literal host permitted.
    fn email_url(&mut self, loc: &[&str], url: &url::Url, egress: Option<&EgressPolicy>) {
        let target = match smtp::SmtpTarget::parse(url) {
            Ok(target) => target,
            Err(e) => return self.push(loc, format!("invalid email URL: {e}")),
        };
        let ip = match target.host {
            url::Host::Ipv4(v4) => Some(std::net::IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(std::net::IpAddr::V6(v6)),
            url::Host::Domain(_) => None,
        };
        if let (Some(ip), Some(egress)) = (ip, egress)
            && let Err(refused) = egress.check_ip(ip)
        {
            self.push(loc, refused.to_string());
        }
    }

    /// A signing secret given by the caller (`whsec_…`, `whsk_…` or bare base64).
    pub(crate) fn secret(&mut self, loc: &[&str], value: &str) -> Option<SigningKey> {
        match SigningKey::parse(value) {
            Ok(key) => Some(key),
            Err(e) => {
                self.push(loc, e.to_string());
                None
            }
        }
    }
}

pub(crate) fn is_ident(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(f: impl FnOnce(&mut Violations)) -> bool {
        let mut v = Violations::new();
        f(&mut v);
        v.finish().is_err()
    }

    #[test]
    fn identifiers() {
        assert!(!fails(|v| v.ident(&["x"], "order.paid-v2_x", MAX_NAME)));
        assert!(fails(|v| v.ident(&["x"], "order paid", MAX_NAME)));
        assert!(fails(|v| v.ident(&["x"], "", MAX_NAME)));
        assert!(fails(|v| v.ident(&["x"], &"a".repeat(257), MAX_NAME)));
        assert!(fails(|v| v.uid(&["x"], Some("app_123"), "app_")));
    }

    #[test]
    fn urls() {
        assert!(!fails(|v| v.url(&["u"], "https://example.com/hook", None)));
        assert!(fails(|v| v.url(&["u"], "example.com/hook", None)));
        assert!(fails(|v| v.url(&["u"], "ftp://example.com/", None)));
        assert!(!fails(|v| v.url(&["u"], "smtp://u:p@mail.example.com?from=a@b.c&to=d@e.f", None)));
        assert!(!fails(|v| v.url(&["u"], "smtps://mail.example.com:2465", None)));
        assert!(fails(|v| v.url(&["u"], "smtp://mail.example.com?starttls=maybe", None)));
        assert!(fails(|v| v.url(&["u"], "smtp://mail.example.com/path", None)));
        let strict = EgressPolicy::default();
        assert!(fails(|v| v.url(&["u"], "http://127.0.0.1:9/", Some(&strict))));
        assert!(!fails(|v| v.url(&["u"], "http://127.0.0.1:9/", None)));
    }

    #[test]
    fn throttle_rates() {
        assert!(fails(|v| v.throttle_rate(&["r"], Some(0))));
        assert!(fails(|v| v.throttle_rate(&["r"], Some(70_000))));
        assert!(!fails(|v| v.throttle_rate(&["r"], Some(10))));
    }
}
