//! Email endpoints: an `smtp://` URL receives each message as a mail, through a real
//! SMTP exchange with the testkit's SMTP server on loopback; SMTP replies become the
//! attempts' statuses; the egress policy refuses mail hosts like HTTP ones; the API
//! checks email URLs.

use herald_testkit::{Backend, TestServer, TestSmtpServer};
use serde_json::{Value, json};
use svix::api::MessageAttemptListByMsgOptions;
use svix::models::{EndpointIn, MessageIn, MessageStatus};

use crate::common::*;

/// The attempts of a message as the API's JSON (with Herald's `request` field).
async fn attempts_json(server: &TestServer, app: &str, msg: &str) -> Vec<Value> {
    let url = format!("{}/api/v1/app/{app}/attempt/msg/{msg}", server.base_url);
    let response = http().get(url).bearer_auth(&server.token).send().await.expect("list attempts");
    let page: Value = response.json().await.expect("JSON page");
    page["data"].as_array().cloned().unwrap_or_default()
}

fn header<'v>(attempt: &'v Value, name: &str) -> Option<&'v str> {
    attempt["request"]["headers"].as_array()?.iter().find(|h| h[0] == name).and_then(|h| h[1].as_str())
}

async fn an_smtp_endpoint_receives_each_message_as_a_signed_email(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let smtp = TestSmtpServer::start().await;
    let svix = sdk(&server);
    let url =
        smtp.url("from=shop@example.com&to=ops@example.org").replace("smtp://", "smtp://herald:s3cr%40t@");
    let (app, _, secret) = app_with_endpoint(&svix, &url).await;
    let msg = MessageIn::new("order.paid".into(), json!({"id": 7}));
    let msg = svix.message().create(app.clone(), msg, None).await.expect("accepted");

    let mail = smtp.wait_for(1, WAIT).await.remove(0);
    assert_eq!(
        (mail.from.as_str(), mail.to.as_slice()),
        ("shop@example.com", &["ops@example.org".to_owned()][..])
    );
    assert_eq!(mail.auth, Some(("herald".into(), "s3cr@t".into())), "AUTH with the URL's credentials");
    assert_eq!(mail.header("From").as_deref(), Some("shop@example.com"));
    assert_eq!(mail.header("To").as_deref(), Some("ops@example.org"));
    assert_eq!(mail.header("Subject").as_deref(), Some("order.paid"), "the event type by default");
    assert_eq!(mail.header("Message-ID"), Some(format!("<{}@example.com>", msg.id)));
    assert_eq!(serde_json::from_str::<Value>(&mail.body()).expect("JSON body"), json!({"id": 7}));
    // The Standard Webhooks headers travel with the mail and verify over its body.
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let value = mail.header(name).unwrap_or_else(|| panic!("{name} is a mail header"));
        headers.insert(name, value.parse().expect("header value"));
    }
    let webhook = svix::webhooks::Webhook::new(&secret).expect("the endpoint's secret");
    webhook.verify(mail.body().as_bytes(), &headers).expect("the signature verifies over the mail body");

    eventually("the attempt is recorded", || async {
        !attempts_json(&server, &app, &msg.id).await.is_empty()
    })
    .await;
    let attempt = attempts_json(&server, &app, &msg.id).await.remove(0);
    assert_eq!(attempt["responseStatusCode"], 250);
    assert!(attempt["response"].as_str().is_some_and(|r| r.starts_with("250 2.0.0 queued")), "{attempt}");
    assert_eq!(attempt["request"]["method"], "SMTP");
    assert_eq!(header(&attempt, "Subject"), Some("order.paid"));
    assert_eq!(header(&attempt, "webhook-id"), Some(msg.id.as_str()));
    let shown_url = attempt["url"].as_str().unwrap_or_default();
    assert!(
        shown_url.contains("herald:••••@") && !shown_url.contains("s3cr"),
        "password redacted: {shown_url}"
    );
}

async fn a_451_then_250_gives_a_failed_attempt_then_a_delivered_one(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let smtp = TestSmtpServer::start().await;
    smtp.script(["451 4.3.0 mailbox busy, try later"]);
    let svix = sdk(&server);
    let (app, _, _) = app_with_endpoint(&svix, &smtp.url("from=a@example.com&to=b@example.org")).await;
    let msg = MessageIn::new("job.done".into(), json!({"n": 1}));
    let msg = svix.message().create(app.clone(), msg, None).await.expect("accepted");

    smtp.wait_for(1, WAIT).await;
    assert_eq!(smtp.rejected().len(), 1, "the first try was refused with 451");
    eventually("two attempts recorded", || async {
        let list = svix.message_attempt().list_by_msg(app.clone(), msg.id.clone(), None).await.expect("list");
        list.data.len() == 2
    })
    .await;
    let opts = MessageAttemptListByMsgOptions { with_content: Some(true), ..Default::default() };
    let list =
        svix.message_attempt().list_by_msg(app.clone(), msg.id.clone(), Some(opts)).await.expect("list");
    let seen: Vec<_> = list.data.iter().map(|a| (a.response_status_code, a.status)).collect();
    assert_eq!(seen, [(250, MessageStatus::Success), (451, MessageStatus::Fail)], "newest first");
    assert_eq!(list.data[1].response, "end of DATA: 451 4.3.0 mailbox busy, try later");
}

async fn a_refused_mail_host_is_never_contacted(backend: Backend) {
    let server = TestServer::start_on(&backend, |c| c.allow_networks.clear()).await;
    let smtp = TestSmtpServer::start().await;
    let svix = sdk(&server);
    let literal = smtp.url("from=a@example.com&to=b@example.org");
    let (app, _, _) = app_with_endpoint(&svix, &literal.replace("127.0.0.1", "localhost")).await;
    let refused = svix.endpoint().create(app.clone(), EndpointIn::new(literal), None).await;
    assert_eq!(status_of(refused.expect_err("a loopback IP is refused up front")), 422);

    let msg = svix.message().create(app.clone(), MessageIn::new("a.b".into(), json!({})), None).await;
    let msg = msg.expect("accepted");
    eventually("the refusal is recorded", || async {
        let attempts = attempts_json(&server, &app, &msg.id).await;
        attempts.first().is_some_and(|a| {
            a["responseStatusCode"] == 0 && a["response"].as_str().is_some_and(|r| r.contains("loopback"))
        })
    })
    .await;
    assert_eq!(smtp.connections(), 0, "a refused mail host gets no connection");
}

async fn malformed_email_urls_are_refused_with_the_reason(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let svix = sdk(&server);
    let (app, _, _) = app_with_endpoint(&svix, "smtps://mail.example.com?from=a@example.com").await;
    for (url, says) in [
        ("smtp://mail.example.com?starttls=maybe", "starttls must be"),
        ("smtp://mail.example.com?to=not-an-address", "not an email address"),
        ("smtp://mail.example.com/inbox", "no path"),
        ("smtp://mail.example.com?bcc=a@b.c", "unknown smtp:// URL option"),
    ] {
        let response = http()
            .post(format!("{}/api/v1/app/{app}/endpoint", server.base_url))
            .bearer_auth(&server.token)
            .json(&json!({"url": url}))
            .send()
            .await
            .expect("create endpoint");
        assert_eq!(response.status(), 422, "{url}");
        let body: Value = response.json().await.expect("JSON error");
        assert!(body.to_string().contains(says), "{url}: {body}");
    }
}

async fn the_smtp_preset_writes_the_mail_and_the_attempt_keeps_the_text_sent(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let smtp = TestSmtpServer::start().await;
    let svix = sdk(&server);
    let (app, ep, _) = app_with_endpoint(&svix, &smtp.url("from=url@example.com&to=url@example.org")).await;
    let preset = http()
        .post(format!("{}/api/v1/app/{app}/endpoint/{ep}/transformation/preset", server.base_url))
        .bearer_auth(&server.token)
        .json(&json!({"preset": "smtp", "params": {
            "from": "Shop <shop@example.com>",
            "to": "ops@example.org",
            "subject": "Paid: {{ payload.invoice }}"
        }}))
        .send()
        .await
        .expect("apply the preset");
    assert_eq!(preset.status(), 200, "{}", preset.text().await.unwrap_or_default());
    let msg =
        MessageIn::new("invoice.paid".into(), json!({"invoice": "in_1", "summary": "Invoice in_1 paid"}));
    let msg = svix.message().create(app.clone(), msg, None).await.expect("accepted");

    let mail = smtp.wait_for(1, WAIT).await.remove(0);
    assert_eq!(
        (mail.from.as_str(), mail.to.as_slice()),
        ("shop@example.com", &["ops@example.org".to_owned()][..])
    );
    assert_eq!(mail.header("From").as_deref(), Some("Shop <shop@example.com>"), "the preset's headers win");
    assert_eq!(mail.header("Subject").as_deref(), Some("Paid: in_1"));
    assert_eq!(mail.header("Content-Type").as_deref(), Some("text/plain; charset=utf-8"));
    assert!(mail.body().starts_with("Invoice in_1 paid\r\n\r\n{"), "CRLF line ends: {:?}", mail.body());

    eventually("the attempt is recorded", || async {
        !attempts_json(&server, &app, &msg.id).await.is_empty()
    })
    .await;
    let attempt = attempts_json(&server, &app, &msg.id).await.remove(0);
    assert_eq!(attempt["responseStatusCode"], 250);
    let body = attempt["request"]["body"].as_str().unwrap_or_default();
    assert!(body.starts_with("Invoice in_1 paid"), "a transformed body is kept with the attempt: {attempt}");
}

crate::on_both_stores!(
    an_smtp_endpoint_receives_each_message_as_a_signed_email,
    the_smtp_preset_writes_the_mail_and_the_attempt_keeps_the_text_sent,
    a_451_then_250_gives_a_failed_attempt_then_a_delivered_one,
    a_refused_mail_host_is_never_contacted,
    malformed_email_urls_are_refused_with_the_reason
);
