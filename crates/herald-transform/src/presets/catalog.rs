//! The presets themselves: their code lives beside this file as JSON, their parameters here.

use super::{Auth, Credential, Param, Preset};
use crate::Kind;

const SUMMARY_DEFAULT: &str = "{{ payload.summary or payload.description or payload.message or event_type }}";

const SUMMARY: Param = Param {
    name: "summary",
    label: "Summary",
    description: "The message text; template syntax allowed (default: the payload's summary, description or message).",
    required: false,
    secret: false,
    default: Some(SUMMARY_DEFAULT),
};

const LINK: Param = Param {
    name: "link",
    label: "Link",
    description: "A URL to open from the message, e.g. https://app.example.com/orders/{{ payload.id }} (optional).",
    required: false,
    secret: false,
    default: None,
};

const fn plain(name: &'static str, label: &'static str, description: &'static str) -> Param {
    Param { name, label, description, required: true, secret: false, default: None }
}

const fn secret(name: &'static str, label: &'static str, description: &'static str) -> Param {
    Param { name, label, description, required: true, secret: true, default: None }
}

const EMAIL_TEXT_DEFAULT: &str =
    "{{ payload.summary or payload.description or payload.message or event_type }}\n\n{{ payload | pretty }}";

const EMAIL_FROM: Param = plain("from", "From", "Sender address, e.g. Herald <alerts@example.com>.");
const EMAIL_TO: Param = plain("to", "To", "Recipient address(es), comma-separated.");
const EMAIL_SUBJECT: Param = Param {
    name: "subject",
    label: "Subject",
    description: "Template syntax allowed (default: the event type).",
    required: false,
    secret: false,
    default: Some("{{ event_type }}"),
};
const EMAIL_TEXT: Param = Param {
    name: "text",
    label: "Text",
    description: "The plain-text body; template syntax allowed (default: the summary and the payload as JSON).",
    required: false,
    secret: false,
    default: Some(EMAIL_TEXT_DEFAULT),
};

/// A chat destination: the endpoint URL is the service's webhook, no auth, summary and link.
const fn chat(
    id: &'static str,
    name: &'static str,
    description: &'static str,
    code: &'static str,
    url_hint: &'static str,
) -> Preset {
    Preset {
        id,
        name,
        description,
        kind: Kind::Template,
        code,
        params: &[SUMMARY, LINK],
        url_hint,
        auth: Auth::None,
    }
}

/// A deploy hook that wants an empty POST to its secret URL.
const fn build_hook(
    id: &'static str,
    name: &'static str,
    description: &'static str,
    url_hint: &'static str,
) -> Preset {
    let code = include_str!("build_hook.json");
    Preset { id, name, description, kind: Kind::Template, code, params: &[], url_hint, auth: Auth::None }
}

/// Every preset, in the order a user would look for them.
pub static PRESETS: &[Preset] = &[
    chat(
        "slack",
        "Slack",
        "A Block Kit message (event type, summary, link) to a Slack incoming webhook.",
        include_str!("slack.json"),
        "The incoming-webhook URL Slack gives, https://hooks.slack.com/services/…",
    ),
    chat(
        "discord",
        "Discord",
        "An embed (event type, summary, link, time) to a Discord channel webhook; mentions disabled.",
        include_str!("discord.json"),
        "The channel webhook URL, https://discord.com/api/webhooks/{id}/{token}",
    ),
    chat(
        "teams",
        "Microsoft Teams",
        "An Adaptive Card to a Teams workflow (Power Automate) webhook.",
        include_str!("teams.json"),
        "The workflow's HTTP trigger URL (\"When a Teams webhook request is received\")",
    ),
    Preset {
        id: "twilio-sms",
        name: "Twilio SMS",
        description: "An SMS through Twilio's Messages API (form-encoded POST, basic auth).",
        kind: Kind::Template,
        code: include_str!("twilio_sms.json"),
        params: &[
            plain("account_sid", "Account SID", "Your Twilio account SID (AC…)."),
            secret(
                "auth_token",
                "Auth token",
                "Your Twilio auth token; stored as the endpoint's Authorization header.",
            ),
            plain(
                "from_number",
                "From",
                "A Twilio number in E.164 form (+15550001111) or a messaging sender.",
            ),
            plain("to_number", "To", "The recipient in E.164 form."),
            Param {
                name: "text",
                label: "Text",
                description: "Template syntax allowed; cut to 1,600 characters (default: event type and summary).",
                required: false,
                secret: false,
                default: Some(
                    "{{ event_type }}: {{ payload.summary or payload.description or payload.message or '' }}",
                ),
            },
        ],
        url_hint: "Any URL: the request goes to https://api.twilio.com (e.g. https://api.twilio.com/2010-04-01)",
        auth: Auth::Basic {
            user: Credential::Param("account_sid"),
            password: Credential::Param("auth_token"),
        },
    },
    Preset {
        id: "postmark",
        name: "Email (Postmark)",
        description: "An email through Postmark's /email API.",
        kind: Kind::Template,
        code: include_str!("postmark.json"),
        params: &[
            EMAIL_FROM,
            EMAIL_TO,
            EMAIL_SUBJECT,
            EMAIL_TEXT,
            secret(
                "server_token",
                "Server token",
                "The Postmark server API token; stored as X-Postmark-Server-Token.",
            ),
        ],
        url_hint: "Any URL: the request goes to https://api.postmarkapp.com/email",
        auth: Auth::Header { name: "X-Postmark-Server-Token", prefix: "", param: "server_token" },
    },
    Preset {
        id: "sendgrid",
        name: "Email (SendGrid)",
        description: "An email through SendGrid's v3 mail/send API.",
        kind: Kind::Template,
        code: include_str!("sendgrid.json"),
        params: &[
            EMAIL_FROM,
            EMAIL_TO,
            EMAIL_SUBJECT,
            EMAIL_TEXT,
            secret(
                "api_key",
                "API key",
                "A SendGrid API key with Mail Send access; stored as a Bearer Authorization header.",
            ),
        ],
        url_hint: "Any URL: the request goes to https://api.sendgrid.com/v3/mail/send",
        auth: Auth::Header { name: "Authorization", prefix: "Bearer ", param: "api_key" },
    },
    Preset {
        id: "mailgun",
        name: "Email (Mailgun)",
        description: "An email through Mailgun's messages API (form-encoded POST, basic auth api:key).",
        kind: Kind::Template,
        code: include_str!("mailgun.json"),
        params: &[
            plain("domain", "Domain", "Your Mailgun sending domain, e.g. mg.example.com."),
            EMAIL_FROM,
            EMAIL_TO,
            EMAIL_SUBJECT,
            EMAIL_TEXT,
            Param {
                name: "api_base",
                label: "API base",
                description: "https://api.mailgun.net (US) or https://api.eu.mailgun.net (EU).",
                required: false,
                secret: false,
                default: Some("https://api.mailgun.net"),
            },
            secret(
                "api_key",
                "API key",
                "The Mailgun API key; stored as a Basic Authorization header (user \"api\").",
            ),
        ],
        url_hint: "Any URL: the request goes to the Mailgun API base",
        auth: Auth::Basic { user: Credential::Literal("api"), password: Credential::Param("api_key") },
    },
    Preset {
        id: "smtp",
        name: "Email (SMTP)",
        description: "A plain-text email sent over SMTP: the body is the mail text, From/To/Subject are headers.",
        kind: Kind::Template,
        code: include_str!("smtp.json"),
        params: &[EMAIL_FROM, EMAIL_TO, EMAIL_SUBJECT, EMAIL_TEXT],
        url_hint: "smtp://user:password@mail.example.com:587 (STARTTLS) or smtps://…:465",
        auth: Auth::None,
    },
    Preset {
        id: "netlify",
        name: "Netlify build hook",
        description: "An empty POST to a Netlify build hook, titled with the event type.",
        kind: Kind::Template,
        code: include_str!("netlify.json"),
        params: &[Param {
            name: "title",
            label: "Deploy title",
            description: "Shown in Netlify's deploy list; template syntax allowed.",
            required: false,
            secret: false,
            default: Some("Herald: {{ event_type }}"),
        }],
        url_hint: "https://api.netlify.com/build_hooks/{id}",
        auth: Auth::None,
    },
    build_hook(
        "vercel",
        "Vercel deploy hook",
        "An empty POST to a Vercel deploy hook.",
        "https://api.vercel.com/v1/integrations/deploy/{project}/{hook}",
    ),
    build_hook(
        "cloudflare-pages",
        "Cloudflare Pages deploy hook",
        "An empty POST to a Cloudflare Pages deploy hook.",
        "https://api.cloudflare.com/client/v4/pages/webhooks/deploy_hooks/{id}",
    ),
    Preset {
        id: "json-mapping",
        name: "JSON to JSON",
        description: "A starting point for any HTTP API: reshape the payload into the JSON it expects.",
        kind: Kind::Template,
        code: include_str!("json_mapping.json"),
        params: &[],
        url_hint: "The API's URL",
        auth: Auth::None,
    },
];
