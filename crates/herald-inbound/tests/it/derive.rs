//! Event types and dedup keys per provider, configured locators taking precedence,
//! and event-type sanitising.

use herald_inbound::{EventRules, Locator, Provider, dedup_key, event_type, sanitize_event_type};
use serde_json::json;

use crate::support::{OwnedRequest, config};

fn req(body: &str) -> OwnedRequest {
    OwnedRequest::post("https://herald.example.com/in/src_1", body)
}

fn derive(provider: Provider, req: &OwnedRequest) -> (String, Option<String>) {
    let rules = EventRules::from(provider);
    (event_type(&rules, &req.view()), dedup_key(&rules, &req.view()))
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

#[test]
fn stripe_uses_the_body_type_and_event_id() {
    let r = req(r#"{"id":"evt_1N","type":"invoice.paid","data":{}}"#);
    assert_eq!(derive(Provider::Stripe, &r), ("invoice.paid".into(), some("evt_1N")));
}

#[test]
fn github_joins_the_event_header_and_the_action() {
    let r = req(r#"{"action":"opened","number":1}"#)
        .header("X-GitHub-Event", "pull_request")
        .header("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    assert_eq!(
        derive(Provider::GitHub, &r),
        ("pull_request.opened".into(), some("72d3162e-cc78-11e3-81ab-4c9367dc0958"))
    );
    let push = req(r#"{"ref":"refs/heads/main"}"#).header("X-GitHub-Event", "push");
    assert_eq!(derive(Provider::GitHub, &push), ("push".into(), None));
}

#[test]
fn shopify_sanitises_the_topic() {
    let r = req("{}").header("X-Shopify-Topic", "orders/create").header("X-Shopify-Webhook-Id", "b54557e4");
    assert_eq!(derive(Provider::Shopify, &r), ("orders.create".into(), some("b54557e4")));
}

#[test]
fn slack_events_interactivity_and_slash_commands() {
    let event = req(r#"{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"app_mention"}}"#);
    assert_eq!(derive(Provider::Slack, &event), ("app_mention".into(), some("Ev08MFMKH6")));
    let challenge = req(r#"{"type":"url_verification","challenge":"abc"}"#);
    assert_eq!(derive(Provider::Slack, &challenge).0, "url_verification");
    let interactive = req("payload=%7B%22type%22%3A%22block_actions%22%7D");
    assert_eq!(derive(Provider::Slack, &interactive).0, "block_actions");
    let command = req("token=x&command=%2Fwebhook-collect&text=");
    assert_eq!(derive(Provider::Slack, &command).0, "slash_command");
}

#[test]
fn standard_webhooks_uses_the_body_type_and_the_message_id() {
    let r = req(r#"{"type":"invoice.paid"}"#).header("webhook-id", "msg_1");
    assert_eq!(derive(Provider::StandardWebhooks, &r), ("invoice.paid".into(), some("msg_1")));
    let svix = req(r#"{"data":{}}"#).header("svix-id", "msg_2");
    assert_eq!(derive(Provider::StandardWebhooks, &svix), ("source.received".into(), some("msg_2")));
}

#[test]
fn twilio_dedups_on_the_idempotency_token() {
    let r = req("MessageSid=SM1&MessageStatus=delivered").header("I-Twilio-Idempotency-Token", "tok-1");
    assert_eq!(derive(Provider::Twilio, &r), ("source.received".into(), some("tok-1")));
    let rules = EventRules {
        provider: Provider::Twilio,
        event_type: Some(Locator::FormField { name: "MessageStatus".into() }),
        dedup_key: None,
    };
    assert_eq!(event_type(&rules, &r.view()), "delivered");
}

#[test]
fn paddle_uses_event_type_and_notification_id() {
    let r = req(r#"{"event_id":"evt_01","event_type":"transaction.completed","notification_id":"ntf_01"}"#);
    assert_eq!(derive(Provider::Paddle, &r), ("transaction.completed".into(), some("ntf_01")));
    let no_ntf = req(r#"{"event_id":"evt_01","event_type":"transaction.completed"}"#);
    assert_eq!(derive(Provider::Paddle, &no_ntf).1, some("evt_01"));
}

#[test]
fn gitlab_uses_object_kind_and_action_then_the_event_header() {
    let mr = req(r#"{"object_kind":"merge_request","object_attributes":{"action":"open"}}"#)
        .header("Idempotency-Key", "idem-1")
        .header("X-Gitlab-Event-UUID", "uuid-1");
    assert_eq!(derive(Provider::GitLab, &mr), ("merge_request.open".into(), some("idem-1")));
    let push = req(r#"{"object_kind":"push"}"#).header("X-Gitlab-Event-UUID", "uuid-2");
    assert_eq!(derive(Provider::GitLab, &push), ("push".into(), some("uuid-2")));
    let not_json = req("").header("X-Gitlab-Event", "System Hook");
    assert_eq!(derive(Provider::GitLab, &not_json).0, "System.Hook");
}

#[test]
fn contentful_zoom_and_discord() {
    let cf = req("{}").header("X-Contentful-Topic", "ContentManagement.Entry.publish");
    assert_eq!(derive(Provider::Contentful, &cf), ("ContentManagement.Entry.publish".into(), None));
    let zoom = req(r#"{"event":"meeting.started","event_ts":1626230691572}"#);
    assert_eq!(derive(Provider::Zoom, &zoom), ("meeting.started".into(), None));
    let command = req(r#"{"id":"1130","type":2}"#);
    assert_eq!(derive(Provider::Discord, &command), ("interaction.application_command".into(), some("1130")));
    let event = req(r#"{"type":1,"event":{"type":"APPLICATION_AUTHORIZED"}}"#);
    assert_eq!(derive(Provider::Discord, &event).0, "APPLICATION_AUTHORIZED");
}

#[test]
fn generic_sources_use_configured_locators_or_the_default() {
    let r = req(r#"{"meta":{"event":"build/finished","seq":42}}"#).header("X-Event", "deploy");
    assert_eq!(derive(Provider::Generic, &r), ("source.received".into(), None));
    let by_pointer = EventRules {
        provider: Provider::Generic,
        event_type: Some(Locator::JsonPointer { pointer: "/meta/event".into() }),
        dedup_key: Some(Locator::JsonPointer { pointer: "/meta/seq".into() }),
    };
    assert_eq!(event_type(&by_pointer, &r.view()), "build.finished");
    assert_eq!(dedup_key(&by_pointer, &r.view()), some("42"));
    let by_header = EventRules {
        provider: Provider::Generic,
        event_type: Some(Locator::Header { name: "X-Event".into() }),
        dedup_key: Some(Locator::Header { name: "X-Missing".into() }),
    };
    assert_eq!(event_type(&by_header, &r.view()), "deploy");
    assert_eq!(dedup_key(&by_header, &r.view()), None);
}

#[test]
fn a_configured_locator_wins_and_falls_back_when_it_finds_nothing() {
    let r = req(r#"{"id":"evt_1","type":"invoice.paid","kind":"billing"}"#);
    let rules = EventRules {
        provider: Provider::Stripe,
        event_type: Some(Locator::JsonPointer { pointer: "/kind".into() }),
        dedup_key: Some(Locator::Header { name: "X-Request-Id".into() }),
    };
    assert_eq!(event_type(&rules, &r.view()), "billing");
    assert_eq!(dedup_key(&rules, &r.view()), some("evt_1"), "no X-Request-Id: Stripe's rule");
}

#[test]
fn a_body_that_is_not_json_still_gets_a_name() {
    assert_eq!(derive(Provider::Stripe, &req("not json")), ("source.received".into(), None));
}

#[test]
fn event_types_are_sanitised_into_the_catalogue_alphabet() {
    for (raw, expected) in [
        ("orders/create", Some("orders.create")),
        ("ContentManagement.Entry.publish", Some("ContentManagement.Entry.publish")),
        ("Push Hook", Some("Push.Hook")),
        ("a//b::c", Some("a.b.c")),
        ("/leading/and/trailing/", Some("leading.and.trailing")),
        ("price@tier!", Some("price_tier_")),
        ("café", Some("caf_")),
        ("snake_case-and-dash", Some("snake_case-and-dash")),
        ("///", None),
        ("", None),
    ] {
        assert_eq!(sanitize_event_type(raw).as_deref(), expected, "{raw:?}");
    }
    let long = "x".repeat(1000);
    assert_eq!(sanitize_event_type(&long).map(|s| s.len()), Some(256));
    let wild: String = (0u8..=127).map(char::from).collect();
    let cleaned = sanitize_event_type(&wild).expect("something is left");
    assert!(cleaned.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)), "{cleaned}");
}

#[test]
fn a_verifier_names_its_provider() {
    for (cfg, provider) in [
        (json!({"type": "stripe", "secret": "s"}), Provider::Stripe),
        (json!({"type": "github", "secret": "s"}), Provider::GitHub),
        (json!({"type": "gitlab", "secret": "s"}), Provider::GitLab),
        (
            json!({"type": "svix", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
            Provider::StandardWebhooks,
        ),
        (json!({"type": "none"}), Provider::Generic),
    ] {
        assert_eq!(config(cfg).provider(), provider);
    }
}

#[test]
fn event_rules_are_stored_as_json() {
    let rules = EventRules {
        provider: Provider::GitHub,
        event_type: None,
        dedup_key: Some(Locator::JsonPointer { pointer: "/hook_id".into() }),
    };
    let stored = json!({"provider": "github", "dedup_key": {"from": "json_pointer", "pointer": "/hook_id"}});
    assert_eq!(serde_json::to_value(&rules).expect("serialize"), stored);
    assert_eq!(serde_json::from_value::<EventRules>(stored).expect("parse"), rules);
}
