//! Each preset's rendered request, compared field by field with what the receiving service
//! documents (URL, method, content type, each body field, auth header), on the real engine.

mod common;

use std::collections::BTreeMap;

use base64::Engine as _;
use common::{Sample, form_body, header, json_body, sent};
use herald_transform::presets::{self, PresetError};
use herald_transform::{Compiled, Kind, Limits, Request};
use serde_json::{Value, json};

/// Instantiates a preset as the API does, stores its auth headers on the endpoint, and runs
/// it on the sample invoice sent to `url`.
fn render(id: &str, params: &[(&str, &str)], url: &str) -> Request {
    render_sample(id, params, url, Sample::invoice())
}

fn render_sample(id: &str, params: &[(&str, &str)], url: &str, mut sample: Sample) -> Request {
    let params: BTreeMap<String, String> =
        params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let (kind, code, headers) = presets::instantiate(id, &params).unwrap_or_else(|e| panic!("{id}: {e}"));
    assert_eq!(kind, Kind::Template);
    sample.url = url.to_owned();
    sample.headers = headers;
    let compiled = Compiled::new(kind, &code).expect("the preset compiles");
    sent(compiled.run(&sample.input(), &Limits::default()).unwrap_or_else(|e| panic!("{id}: {e}")))
}

fn basic_auth(request: &Request) -> String {
    let value = header(request, "authorization").expect("an Authorization header");
    let encoded = value.strip_prefix("Basic ").expect("basic auth");
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64");
    String::from_utf8(decoded).expect("UTF-8")
}

fn form(request: &Request) -> BTreeMap<String, String> {
    form_body(request).into_iter().collect()
}

const SLACK_URL: &str = "https://hooks.slack.com/services/T000/B000/XXXX";

#[test]
fn slack_sends_block_kit_with_a_text_fallback() {
    let request =
        render("slack", &[("link", "https://app.example.com/invoices/{{ payload.id }}")], SLACK_URL);
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, SLACK_URL);
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    let body = json_body(&request);
    // The top-level `text` is the notification fallback when `blocks` are given.
    assert_eq!(body["text"], "invoice.paid: Invoice inv_42 paid");
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 4);
    assert_eq!(
        blocks[0],
        json!({"type": "header", "text": {"type": "plain_text", "text": "invoice.paid", "emoji": true}})
    );
    assert_eq!(
        blocks[1],
        json!({"type": "section", "text": {"type": "mrkdwn", "text": "Invoice inv_42 paid"}})
    );
    assert_eq!(blocks[2]["type"], "context");
    assert_eq!(
        blocks[2]["elements"][0],
        json!({"type": "mrkdwn", "text": "msg_2abc · 2023-11-14T22:13:20Z"})
    );
    assert_eq!(
        blocks[3],
        json!({"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open"},
               "url": "https://app.example.com/invoices/inv_42"}]})
    );
}

#[test]
fn slack_escapes_mrkdwn_keeps_block_limits_and_drops_an_empty_link() {
    let sample = Sample::new(json!({"summary": format!("<b>Tom & Jerry</b> {}", "x".repeat(4000))}));
    let request = render_sample("slack", &[], SLACK_URL, sample);
    let body = json_body(&request);
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 3, "no actions block without a link");
    let section = blocks[1]["text"]["text"].as_str().unwrap();
    assert!(section.starts_with("&lt;b&gt;Tom &amp; Jerry&lt;/b&gt; "), "{section}");
    // Slack: a section's text is at most 3000 characters, a header's 150.
    assert_eq!(section.chars().count(), 3000);
    let long_type = Sample { event_type: "e".repeat(200), ..Sample::invoice() };
    let body = json_body(&render_sample("slack", &[], SLACK_URL, long_type));
    assert_eq!(body["blocks"][0]["text"]["text"].as_str().unwrap().chars().count(), 150);
}

#[test]
fn discord_sends_one_embed_without_mentions() {
    let url = "https://discord.com/api/webhooks/123/abc";
    let request = render(
        "discord",
        &[
            ("summary", "Paid {{ payload.amount / 100 }} {{ payload.currency }}"),
            ("link", "https://x.example/i"),
        ],
        url,
    );
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, url);
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    let body = json_body(&request);
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));
    let embeds = body["embeds"].as_array().unwrap();
    assert_eq!(embeds.len(), 1);
    let embed = &embeds[0];
    assert_eq!(embed["title"], "invoice.paid");
    assert_eq!(embed["description"], "Paid 12.5 EUR");
    assert_eq!(embed["url"], "https://x.example/i");
    assert!(embed["color"].is_u64(), "color is an integer");
    assert_eq!(embed["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(embed["footer"], json!({"text": "msg_2abc"}));
    // Without a link the embed has no `url` (Discord refuses an empty one).
    let embed = &json_body(&render("discord", &[], url))["embeds"][0];
    assert!(embed.get("url").is_none(), "{embed}");
    // Discord: title at most 256 characters, description 4096.
    let long = Sample { event_type: "t".repeat(300), ..Sample::new(json!({"summary": "d".repeat(5000)})) };
    let embed = &json_body(&render_sample("discord", &[], url, long))["embeds"][0];
    assert_eq!(embed["title"].as_str().unwrap().chars().count(), 256);
    assert_eq!(embed["description"].as_str().unwrap().chars().count(), 4096);
}

#[test]
fn teams_sends_an_adaptive_card_attachment() {
    let url = "https://prod-00.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=x";
    let request = render("teams", &[("link", "https://x.example/i")], url);
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, url);
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    let body = json_body(&request);
    assert_eq!(body["type"], "message");
    let attachments = body["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0]["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(attachments[0]["contentUrl"], Value::Null);
    let card = &attachments[0]["content"];
    assert_eq!(card["$schema"], "http://adaptivecards.io/schemas/adaptive-card.json");
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["body"][0]["type"], "TextBlock");
    assert_eq!(card["body"][0]["text"], "invoice.paid");
    assert_eq!(card["body"][1], json!({"type": "TextBlock", "text": "Invoice inv_42 paid", "wrap": true}));
    assert_eq!(card["body"][2]["type"], "FactSet");
    assert_eq!(card["body"][2]["facts"][0], json!({"title": "Message", "value": "msg_2abc"}));
    assert_eq!(
        card["actions"],
        json!([{"type": "Action.OpenUrl", "title": "Open", "url": "https://x.example/i"}])
    );
    let card = &json_body(&render("teams", &[], url))["attachments"][0]["content"];
    assert!(card.get("actions").is_none(), "{card}");
}

#[test]
fn twilio_posts_a_form_to_the_messages_api_with_basic_auth() {
    let params = [
        ("account_sid", "AC0123"),
        ("auth_token", "s3cret"),
        ("from_number", "+15550001111"),
        ("to_number", "+15552223333"),
    ];
    let request = render("twilio-sms", &params, "https://api.twilio.com/2010-04-01");
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://api.twilio.com/2010-04-01/Accounts/AC0123/Messages.json");
    assert_eq!(header(&request, "content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(basic_auth(&request), "AC0123:s3cret");
    assert_eq!(
        form(&request),
        BTreeMap::from([
            ("To".to_owned(), "+15552223333".to_owned()),
            ("From".to_owned(), "+15550001111".to_owned()),
            ("Body".to_owned(), "invoice.paid: Invoice inv_42 paid".to_owned()),
        ])
    );
    // Twilio: a body is at most 1,600 characters.
    let long = Sample::new(json!({"summary": "z".repeat(2000)}));
    let request = render_sample("twilio-sms", &params, "https://api.twilio.com/2010-04-01", long);
    assert_eq!(form(&request)["Body"].chars().count(), 1600);
}

#[test]
fn postmark_posts_the_email_json_with_the_server_token() {
    let params =
        [("from", "Herald <alerts@example.com>"), ("to", "ops@example.com"), ("server_token", "pm-token")];
    let request = render("postmark", &params, "https://api.postmarkapp.com");
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://api.postmarkapp.com/email");
    assert_eq!(header(&request, "accept"), Some("application/json"));
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    assert_eq!(header(&request, "x-postmark-server-token"), Some("pm-token"));
    let body = json_body(&request);
    assert_eq!(body["From"], "Herald <alerts@example.com>");
    assert_eq!(body["To"], "ops@example.com");
    assert_eq!(body["Subject"], "invoice.paid");
    assert_eq!(body["MessageStream"], "outbound");
    let text = body["TextBody"].as_str().unwrap();
    assert!(text.starts_with("Invoice inv_42 paid\n\n{\n  \"amount\": 1250,"), "{text}");
    assert_eq!(body.as_object().unwrap().len(), 5);
}

#[test]
fn sendgrid_posts_mail_send_with_personalizations_and_a_bearer_key() {
    let params = [
        ("from", "alerts@example.com"),
        ("to", "ops@example.com"),
        ("subject", "Paid: {{ payload.id }}"),
        ("api_key", "SG.key"),
    ];
    let request = render("sendgrid", &params, "https://api.sendgrid.com");
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://api.sendgrid.com/v3/mail/send");
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    assert_eq!(header(&request, "authorization"), Some("Bearer SG.key"));
    let body = json_body(&request);
    assert_eq!(body["personalizations"], json!([{"to": [{"email": "ops@example.com"}]}]));
    assert_eq!(body["from"], json!({"email": "alerts@example.com"}));
    assert_eq!(body["subject"], "Paid: inv_42");
    assert_eq!(body["content"][0]["type"], "text/plain");
    assert!(body["content"][0]["value"].as_str().unwrap().starts_with("Invoice inv_42 paid"));
}

#[test]
fn mailgun_posts_a_form_with_api_basic_auth() {
    let params = [
        ("domain", "mg.example.com"),
        ("from", "alerts@mg.example.com"),
        ("to", "ops@example.com"),
        ("api_key", "key-1"),
    ];
    let request = render("mailgun", &params, "https://api.mailgun.net");
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://api.mailgun.net/v3/mg.example.com/messages");
    assert_eq!(header(&request, "content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(basic_auth(&request), "api:key-1");
    let fields = form(&request);
    assert_eq!(fields["from"], "alerts@mg.example.com");
    assert_eq!(fields["to"], "ops@example.com");
    assert_eq!(fields["subject"], "invoice.paid");
    assert!(fields["text"].starts_with("Invoice inv_42 paid\n\n"));
    assert_eq!(fields.len(), 4);
    let eu = [
        ("api_base", "https://api.eu.mailgun.net"),
        ("domain", "mg.example.com"),
        ("from", "a@b.c"),
        ("to", "d@e.f"),
        ("api_key", "k"),
    ];
    assert_eq!(
        render("mailgun", &eu, "https://api.eu.mailgun.net").url,
        "https://api.eu.mailgun.net/v3/mg.example.com/messages"
    );
}

#[test]
fn smtp_gives_the_mail_text_and_its_headers() {
    let url = "smtp://user:pass@mail.example.com:587";
    let params = [
        ("from", "Herald <alerts@example.com>"),
        ("to", "ops@example.com"),
        ("text", "Paid: {{ payload.id }}"),
    ];
    let request = render("smtp", &params, url);
    assert_eq!(request.url, url);
    assert_eq!(header(&request, "from"), Some("Herald <alerts@example.com>"));
    assert_eq!(header(&request, "to"), Some("ops@example.com"));
    assert_eq!(header(&request, "subject"), Some("invoice.paid"));
    assert_eq!(header(&request, "content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(request.body, b"Paid: inv_42");
}

#[test]
fn build_hooks_are_empty_posts() {
    for (id, url) in [
        ("vercel", "https://api.vercel.com/v1/integrations/deploy/prj_1/hook_2"),
        ("cloudflare-pages", "https://api.cloudflare.com/client/v4/pages/webhooks/deploy_hooks/abc-123"),
    ] {
        let request = render(id, &[], url);
        assert_eq!(request.method, "POST", "{id}");
        assert_eq!(request.url, url, "{id}");
        assert!(request.body.is_empty(), "{id}");
        assert_eq!(header(&request, "content-type"), None, "{id}");
        assert!(request.headers.is_empty(), "{id}: {:?}", request.headers);
    }
    let request = render("netlify", &[], "https://api.netlify.com/build_hooks/5c23354f454e1350f8543e78");
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.url,
        "https://api.netlify.com/build_hooks/5c23354f454e1350f8543e78?trigger_title=Herald%3A%20invoice.paid"
    );
    assert!(request.body.is_empty());
    assert_eq!(header(&request, "content-type"), None);
}

#[test]
fn json_mapping_reshapes_the_payload() {
    let request = render("json-mapping", &[], "https://api.example.com/events");
    assert_eq!(request.method, "POST");
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    assert_eq!(
        json_body(&request),
        json!({"type": "invoice.paid", "id": "msg_2abc", "eventId": "evt_1", "occurredAt": "2023-11-14T22:13:20Z",
               "data": Sample::invoice().payload})
    );
}

#[test]
fn every_preset_compiles_as_written_and_its_defaults_match_its_code() {
    assert_eq!(presets::all().len(), 12);
    for preset in presets::all() {
        assert_eq!(presets::get(preset.id).map(|p| p.id), Some(preset.id));
        Compiled::new(preset.kind, preset.code).unwrap_or_else(|e| panic!("{}: {e}", preset.id));
        let code: Value = serde_json::from_str(preset.code).unwrap();
        for param in preset.params {
            let in_code = code["vars"].get(param.name);
            match (param.secret, param.default) {
                (true, _) => {
                    assert!(in_code.is_none(), "{}: secret {} is in the code", preset.id, param.name)
                }
                (false, Some(default)) => {
                    assert_eq!(in_code, Some(&json!(default)), "{}.{}", preset.id, param.name)
                }
                (false, None) => assert!(in_code.is_some(), "{}: {} is not a var", preset.id, param.name),
            }
        }
    }
}

#[test]
fn instantiation_checks_params_and_keeps_secrets_out_of_the_code() {
    let missing =
        presets::instantiate("twilio-sms", &BTreeMap::from([("account_sid".to_owned(), "AC1".to_owned())]));
    assert!(
        matches!(missing, Err(PresetError::MissingParam { ref param, .. }) if param == "auth_token"),
        "{missing:?}"
    );
    let unknown = presets::instantiate("slack", &BTreeMap::from([("channel".to_owned(), "#x".to_owned())]));
    assert!(matches!(unknown, Err(PresetError::UnknownParam { .. })), "{unknown:?}");
    assert!(matches!(presets::instantiate("pager", &BTreeMap::new()), Err(PresetError::Unknown(_))));
    let invalid =
        presets::instantiate("slack", &BTreeMap::from([("summary".to_owned(), "{{ oops".to_owned())]));
    assert!(matches!(invalid, Err(PresetError::Invalid { .. })), "{invalid:?}");
    let params = BTreeMap::from([
        ("server_token".to_owned(), "TOKEN-123".to_owned()),
        ("from".to_owned(), "a@b.c".to_owned()),
        ("to".to_owned(), "d@e.f".to_owned()),
    ]);
    let (_, code, headers) = presets::instantiate("postmark", &params).unwrap();
    assert!(!code.contains("TOKEN-123"));
    assert_eq!(headers, BTreeMap::from([("X-Postmark-Server-Token".to_owned(), "TOKEN-123".to_owned())]));
    // The code keeps its layout: only `vars` changed.
    assert!(code.starts_with("{\n  \"vars\": {\n    \"from\": \"a@b.c\","), "{code}");
    assert!(code.ends_with(include_str!("../src/presets/postmark.json").split_once("\"method\"").unwrap().1));
}
