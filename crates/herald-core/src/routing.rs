//! Which endpoints receive a message: event-type and channel filters.

use crate::model::Endpoint;

/// True when `endpoint` wants a message of `event_type` sent on `channels`.
/// A disabled endpoint wants nothing. An endpoint without an event-type list wants
/// every type; one without channels listens to every message, while one with
/// channels only gets messages sent on at least one of them.
pub fn endpoint_wants(endpoint: &Endpoint, event_type: &str, channels: Option<&[String]>) -> bool {
    if endpoint.disabled {
        return false;
    }
    if let Some(types) = &endpoint.event_types
        && !types.is_empty()
        && !types.iter().any(|t| t == event_type)
    {
        return false;
    }
    match (&endpoint.channels, channels) {
        (None, _) => true,
        (Some(wanted), _) if wanted.is_empty() => true,
        (Some(wanted), Some(sent)) => sent.iter().any(|c| wanted.contains(c)),
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AppId, SigningKey, Timestamp};

    fn endpoint(types: Option<&[&str]>, channels: Option<&[&str]>) -> Endpoint {
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        Endpoint {
            event_types: types.map(owned),
            channels: channels.map(owned),
            ..Endpoint::new(
                AppId::generate(),
                "https://example.com/hook".to_owned(),
                SigningKey::generate_symmetric(),
                Timestamp(0),
            )
        }
    }

    #[test]
    fn event_type_filter() {
        let ep = endpoint(Some(&["order.paid"]), None);
        assert!(endpoint_wants(&ep, "order.paid", None));
        assert!(!endpoint_wants(&ep, "order.refunded", None));
        assert!(endpoint_wants(&endpoint(None, None), "anything", None));
    }

    #[test]
    fn channel_filter() {
        let ep = endpoint(None, Some(&["eu"]));
        let eu = ["eu".to_owned(), "x".to_owned()];
        let us = ["us".to_owned()];
        assert!(endpoint_wants(&ep, "t", Some(&eu)));
        assert!(!endpoint_wants(&ep, "t", Some(&us)));
        assert!(!endpoint_wants(&ep, "t", None));
        assert!(endpoint_wants(&endpoint(None, None), "t", Some(&us)));
    }

    #[test]
    fn disabled_endpoints_want_nothing() {
        let mut ep = endpoint(None, None);
        ep.disabled = true;
        assert!(!endpoint_wants(&ep, "t", None));
    }
}
