//! The operator CLI stories: the real `herald` binary against a real server, given
//! `--server` and `--token` (and an empty config, so nothing on the machine leaks
//! in). Applications and endpoints made with the CLI, an event sent, its attempt
//! seen by a running `herald tail`, lists as tables and as JSON; failed deliveries
//! recovered and resent in bulk with progress counted; an import run twice; and
//! `herald verify` on the signature vectors.

use std::process::{Command, Output};

use herald_testkit::{Backend, Reply, TestReceiver, TestServer};
use serde_json::{Value, json};

use crate::common::*;
use crate::forward::store_args;
use crate::process::{Node, TOKEN, Watcher};

/// `herald` with these arguments, run to its end off the test's runtime.
async fn herald(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command.args(args).env("HERALD_CLI_CONFIG", "/nonexistent/herald-cli.toml");
    for var in ["HERALD_SERVER", "HERALD_TOKEN"] {
        command.env_remove(var);
    }
    tokio::task::spawn_blocking(move || command.output().expect("herald runs")).await.expect("joined")
}

/// A server the CLI is pointed at.
struct Remote {
    base: String,
    token: String,
}

impl From<&TestServer> for Remote {
    fn from(server: &TestServer) -> Self {
        Self { base: server.base_url.clone(), token: server.token.clone() }
    }
}

/// `herald` against `server`.
async fn cli(server: &Remote, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--server", &server.base, "--token", &server.token]);
    herald(&all).await
}

/// Runs a command that must succeed; its stdout.
async fn ok(server: &Remote, args: &[&str]) -> String {
    let out = cli(server, args).await;
    assert!(out.status.success(), "herald {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs a command with `--json` that must succeed; its JSON.
async fn json_of(server: &Remote, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    serde_json::from_str(&ok(server, &all).await).expect("--json prints JSON")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A running `herald tail` against `server`.
fn tail(server: &Remote, args: &[&str]) -> Watcher {
    let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    all.extend(["--server".to_owned(), server.base.clone(), "--token".to_owned(), server.token.clone()]);
    Watcher::spawn("tail", &all)
}

async fn an_operator_sets_up_sends_tails_and_lists_with_the_cli(backend: Backend) {
    let running = TestServer::start_on(&backend, |_| {}).await;
    let server = Remote::from(&running);
    let receiver = TestReceiver::start().await;

    let app = json_of(&server, &["app", "create", "--name", "Acme", "--uid", "acme"]).await;
    assert!(app["id"].as_str().is_some_and(|id| id.starts_with("app_")), "{app}");
    let ep = json_of(
        &server,
        &[
            "endpoint",
            "create",
            "--app",
            "acme",
            "--url",
            &receiver.url,
            "--uid",
            "main",
            "--event-type",
            "order.paid",
        ],
    )
    .await;
    assert_eq!(ep["filterTypes"], json!(["order.paid"]));
    // Another application's attempts, which a filtered tail must not print.
    ok(&server, &["app", "create", "--name", "Other", "--uid", "other"]).await;
    ok(&server, &["endpoint", "create", "--app", "other", "--url", &receiver.url]).await;

    let all = tail(&server, &["--since", "10m"]);
    let acme_only = tail(&server, &["--app", "acme", "--status", "success", "--since", "10m"]);
    let sent =
        ok(&server, &["send", "--app", "acme", "--event-type", "order.paid", "--data", r#"{"n": 1}"#]).await;
    let msg_id = sent.split_whitespace().next().expect("the id first").to_owned();
    assert!(msg_id.starts_with("msg_") && sent.contains("1 destination"), "{sent}");
    assert!(sent.contains(ep["id"].as_str().expect("id")), "its destination is listed: {sent}");
    ok(&server, &["send", "--app", "other", "--event-type", "x.y", "--data", "{}"]).await;

    let line = acme_only.wait_for_line("the attempt in tail", |l| l.contains(&msg_id)).await;
    for part in ["success", " 200 ", " acme ", " main ", &receiver.url, "order.paid"] {
        assert!(line.contains(part), "`{part}` in {line:?}");
    }
    all.wait_for_line("the other application's attempt in the unfiltered tail", |l| l.contains(" x.y "))
        .await;
    assert!(!acme_only.lines().iter().any(|l| l.contains(" x.y ")), "filtered: {:?}", acme_only.lines());

    let table = ok(&server, &["app", "list"]).await;
    let header = table.lines().next().expect("a header");
    assert!(header.starts_with("ID") && header.contains("  UID") && header.contains("  NAME"), "{table}");
    assert!(table.lines().any(|l| l.contains(" acme ") && l.contains("Acme")), "{table}");
    let apps = json_of(&server, &["apps", "list"]).await;
    let uids: Vec<&str> =
        apps["data"].as_array().expect("data").iter().filter_map(|a| a["uid"].as_str()).collect();
    assert!(uids.contains(&"acme") && uids.contains(&"other"), "{apps}");

    let msgs = json_of(&server, &["message", "list", "--app", "acme"]).await;
    assert_eq!(msgs["data"][0]["id"], msg_id.as_str());
    let attempts = json_of(&server, &["attempt", "list", "--app", "acme", "--endpoint", "main"]).await;
    assert_eq!(attempts["data"][0]["responseStatusCode"], 200);
    assert_eq!(attempts["data"][0]["msgId"], msg_id.as_str());
    let shown = ok(&server, &["message", "get", "--app", "acme", &msg_id]).await;
    assert!(shown.contains("order.paid") && shown.contains(r#"{"n":1}"#), "{shown}");

    let disabled = json_of(&server, &["endpoint", "disable", "--app", "acme", "main"]).await;
    assert_eq!(disabled["disabled"], true);
    let secret = ok(&server, &["endpoint", "secret", "--app", "acme", "main"]).await;
    assert!(secret.trim().starts_with("whsec_"), "{secret}");
}

async fn errors_say_what_to_do_next(backend: Backend) {
    let running = TestServer::start_on(&backend, |_| {}).await;
    let server = Remote::from(&running);
    let refused = herald(&["app", "list", "--server", &server.base, "--token", "wrong"]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("the token was refused (401); pass --token or set HERALD_TOKEN"),
        "{refused:?}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let down = herald(&["app", "list", "--server", &url, "--token", "t"]).await;
    assert_eq!(down.status.code(), Some(1));
    assert!(stderr(&down).contains("is `herald serve` running there?"), "{down:?}");

    let missing = cli(&server, &["app", "get", "nobody"]).await;
    assert!(stderr(&missing).contains("not found (404)"), "{missing:?}");
    let usage = cli(&server, &["send", "--app", "a", "--event-type", "t", "--data", "{not json"]).await;
    assert_eq!(usage.status.code(), Some(2), "a usage error: {usage:?}");
}

async fn failed_deliveries_are_recovered_and_resent_in_bulk_with_progress(backend: Backend) {
    // One attempt each: a failure is final at once.
    let running = TestServer::start_on(&backend, |c| c.retry.schedule = vec![]).await;
    let server = Remote::from(&running);
    let receiver = TestReceiver::start().await;
    receiver.always(Reply::status(500));
    ok(&server, &["app", "create", "--name", "Bulk", "--uid", "bulk"]).await;
    ok(&server, &["endpoint", "create", "--app", "bulk", "--url", &receiver.url, "--uid", "flaky"]).await;
    for i in 0..3 {
        ok(
            &server,
            &["send", "--app", "bulk", "--event-type", "job.done", "--data", &format!(r#"{{"i": {i}}}"#)],
        )
        .await;
    }
    let failed = || async {
        json_of(&server, &["attempt", "list", "--app", "bulk", "--endpoint", "flaky", "--status", "failed"])
            .await
    };
    eventually("three failed deliveries", || async {
        failed().await["data"].as_array().map_or(0, Vec::len) >= 3
    })
    .await;
    let failed_msgs = json_of(&server, &["message", "list", "--app", "bulk"]).await;
    assert_eq!(failed_msgs["data"].as_array().map(Vec::len), Some(3));

    receiver.always(Reply::status(200));
    let recovered =
        cli(&server, &["endpoint", "recover", "--app", "bulk", "flaky", "--since", "1h", "--wait"]).await;
    assert!(recovered.status.success(), "{recovered:?}");
    let report = stderr(&recovered);
    assert!(report.contains("recover: 3 failed deliveries made due again"), "{report}");
    assert!(report.contains("redelivery: 3 done, 0 failed"), "{report}");
    assert_eq!(receiver.arrivals(), 6, "three failures, three recoveries");

    receiver.always(Reply::status(503));
    for i in 3..5 {
        ok(
            &server,
            &["send", "--app", "bulk", "--event-type", "job.done", "--data", &format!(r#"{{"i": {i}}}"#)],
        )
        .await;
    }
    eventually("two more failures", || async { receiver.arrivals() >= 8 }).await;
    eventually("recorded as failed", || async { failed().await["data"].as_array().map_or(0, Vec::len) >= 5 })
        .await;
    receiver.always(Reply::status(200));
    let resent =
        cli(&server, &["endpoint", "resend-failed", "--app", "bulk", "flaky", "--since", "1h"]).await;
    assert!(resent.status.success(), "{resent:?}");
    assert!(stderr(&resent).ends_with("resend: 2 done, 0 failed\n"), "{}", stderr(&resent));
    receiver.wait_for_arrivals(10, WAIT).await;
}

async fn an_import_creates_then_changes_nothing_and_counts_failures(backend: Backend) {
    let running = TestServer::start_on(&backend, |_| {}).await;
    let server = Remote::from(&running);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("config.jsonl");
    let lines = [
        json!({"uid": "imp-a", "name": "A", "endpoints": [
            {"uid": "a1", "url": "https://a.example/hook", "filterTypes": ["x.y", "a.b"]},
            {"uid": "a2", "url": "https://a.example/other", "channels": ["eu"]}]}),
        json!({"uid": "imp-b", "name": "B", "metadata": {"team": "ops"}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, &text).expect("write");
    let path = file.to_str().expect("utf-8 path");

    let first = cli(&server, &["import", path]).await;
    assert!(first.status.success(), "{first:?}");
    assert!(
        stderr(&first).ends_with("import: 4 done, 0 failed; 4 created, 0 updated, 0 unchanged\n"),
        "{}",
        stderr(&first)
    );
    let again = cli(&server, &["import", path]).await;
    assert!(again.status.success(), "{again:?}");
    assert!(
        stderr(&again).ends_with("import: 4 done, 0 failed; 0 created, 0 updated, 4 unchanged\n"),
        "{}",
        stderr(&again)
    );
    let eps = json_of(&server, &["endpoint", "list", "--app", "imp-a"]).await;
    assert_eq!(eps["data"].as_array().map(Vec::len), Some(2), "no duplicates: {eps}");

    let changed = text.replace("https://a.example/other", "https://a.example/moved")
        + &format!(
            "{}\n",
            json!({"uid": "imp-c", "name": "C", "endpoints": [{"uid": "bad", "url": "not a url"}]})
        );
    std::fs::write(&file, changed).expect("write");
    let third = cli(&server, &["import", path]).await;
    let report = stderr(&third);
    assert_eq!(third.status.code(), Some(1), "a failed item fails the run: {report}");
    assert!(report.contains("endpoint #1 (bad) of imp-c failed: the server refused it (422)"), "{report}");
    assert!(report.ends_with("import: 5 done, 1 failed; 1 created, 1 updated, 3 unchanged\n"), "{report}");
    let moved = json_of(&server, &["endpoint", "get", "--app", "imp-a", "a2"]).await;
    assert_eq!(moved["url"], "https://a.example/moved");
}

async fn tail_follows_a_server_through_a_crash_and_restart(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut node = Node::spawn(dir.path(), &store_args(&backend));
    node.ready().await;
    let server = Remote { base: node.base.clone(), token: TOKEN.to_owned() };
    let receiver = TestReceiver::start().await;
    ok(&server, &["app", "create", "--name", "Crash", "--uid", "crash"]).await;
    ok(&server, &["endpoint", "create", "--app", "crash", "--url", &receiver.url]).await;
    let watcher = tail(&server, &["--app", "crash", "--since", "10m"]);
    let send = async |n: u32| {
        let sent = ok(
            &server,
            &["send", "--app", "crash", "--event-type", "e.t", "--data", &format!("{{\"n\": {n}}}")],
        )
        .await;
        sent.split_whitespace().next().expect("an id").to_owned()
    };
    let before = send(1).await;
    watcher.wait_for_line("the first attempt", |l| l.contains(&before)).await;

    node.crash_and_restart();
    node.ready().await;
    let after = send(2).await;
    watcher.wait_for_line("an attempt after the restart", |l| l.contains(&after)).await;
    let lines = watcher.lines();
    assert_eq!(lines.iter().filter(|l| l.contains(&before)).count(), 1, "printed once: {lines:?}");
    assert_eq!(lines.len(), 2, "one line per attempt: {lines:?}");
}

async fn a_dry_run_shows_the_request_a_transformation_makes(backend: Backend) {
    let running = TestServer::start_on(&backend, |_| {}).await;
    let server = Remote::from(&running);
    ok(&server, &["app", "create", "--name", "Dry", "--uid", "dry"]).await;
    ok(
        &server,
        &["endpoint", "create", "--app", "dry", "--url", "https://dry.example/hook", "--uid", "main"],
    )
    .await;
    let plain = ok(
        &server,
        &["endpoint", "dry-run", "--app", "dry", "main", "--event-type", "a.b", "--data", r#"{"amount": 5}"#],
    )
    .await;
    assert!(plain.starts_with("POST https://dry.example/hook\n"), "{plain}");
    assert!(plain.contains("webhook-signature: v1,") && plain.ends_with("\n\n{\"amount\":5}\n"), "{plain}");

    let dir = tempfile::tempdir().expect("tempdir");
    let code = dir.path().join("shape.json");
    let template = json!({"json": {"cents": "{{ payload.amount * 100 }}"}, "skip": "{{ payload.amount < 10 }}",
                          "skipReason": "amount {{ payload.amount }} is below 10"});
    std::fs::write(&code, template.to_string()).expect("write");
    let code = code.to_str().expect("utf-8 path");
    let try_it = async |amount: u32| {
        let data = format!(r#"{{"amount": {amount}}}"#);
        let args = ["endpoint", "dry-run", "--app", "dry", "main", "--event-type", "a.b", "--data", &data];
        ok(&server, &[&args[..], &["--code-file", code, "--kind", "template"]].concat()).await
    };
    assert_eq!(try_it(5).await, "skipped: amount 5 is below 10\n");
    assert!(try_it(50).await.ends_with("\n\n{\"cents\":5000}\n"), "the transformed body");
    let json = json_of(
        &server,
        &["endpoint", "dry-run", "--app", "dry", "main", "--event-type", "a.b", "--data", "{}"],
    )
    .await;
    assert_eq!(json["method"], "POST");
}

crate::on_both_stores!(
    a_dry_run_shows_the_request_a_transformation_makes,
    an_operator_sets_up_sends_tails_and_lists_with_the_cli,
    tail_follows_a_server_through_a_crash_and_restart,
    errors_say_what_to_do_next,
    failed_deliveries_are_recovered_and_resent_in_bulk_with_progress,
    an_import_creates_then_changes_nothing_and_counts_failures,
);

/// Every vector `herald verify` has a scheme for is valid; each one changed is not,
/// and says why; a bad secret is a usage error.
#[tokio::test]
async fn verify_accepts_the_vectors_and_says_why_it_refuses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/webhook-signatures.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("vectors")).expect("JSON");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut checked = 0;
    for (i, v) in doc["vectors"].as_array().expect("vectors").iter().enumerate() {
        let scheme = v["scheme"].as_str().expect("scheme");
        let Some((provider, secret)) = provider_of(scheme, v) else { continue };
        let (body, form) = vector_body(v);
        let body_file = dir.path().join(format!("body-{i}"));
        std::fs::write(&body_file, &body).expect("write");
        let verify = async |secret: &str, body_file: &std::path::Path| {
            let mut args: Vec<String> =
                vec!["verify".into(), "--provider".into(), provider.into(), "--secret".into(), secret.into()];
            for (name, value) in v["headers"].as_object().expect("headers") {
                args.extend(["--header".into(), format!("{name}: {}", value.as_str().expect("text"))]);
            }
            if form {
                args.extend(["--header".into(), "content-type: application/x-www-form-urlencoded".into()]);
            }
            let url = v["url"].as_str().map(str::to_owned);
            let url = url.or_else(|| v["path"].as_str().map(|p| format!("https://herald.example.com{p}")));
            args.extend(url.map(|u| ["--url".into(), u]).into_iter().flatten());
            args.extend(v["method"].as_str().map(|m| ["--method".into(), m.into()]).into_iter().flatten());
            let at = signed_at(v).unwrap_or(1_700_000_000);
            args.extend([
                "--at".into(),
                at.to_string(),
                "--body-file".into(),
                body_file.display().to_string(),
            ]);
            herald(&args.iter().map(String::as_str).collect::<Vec<_>>()).await
        };
        let valid = verify(&secret, &body_file).await;
        assert_eq!(valid.status.code(), Some(0), "{scheme}: {valid:?}");
        assert_eq!(String::from_utf8_lossy(&valid.stdout), "valid\n", "{scheme}");
        let invalid = if provider == "gitlab" {
            // A token proves who sent it, not what: a wrong token is what fails.
            verify("another-token", &body_file).await
        } else {
            let tampered = dir.path().join(format!("tampered-{i}"));
            std::fs::write(&tampered, format!("{body} ")).expect("write");
            verify(&secret, &tampered).await
        };
        assert_eq!(invalid.status.code(), Some(1), "{scheme}: {invalid:?}");
        let said = String::from_utf8_lossy(&invalid.stdout).into_owned();
        let why = ["invalid: signature mismatch", "invalid: body hash mismatch", "invalid: token mismatch"];
        assert!(why.iter().any(|w| said.starts_with(w)), "{scheme}: {said}");
        checked += 1;
    }
    assert_eq!(checked, doc["vectors"].as_array().map_or(0, Vec::len), "every vector is checked");

    let v = &doc["vectors"][0];
    let body_file = dir.path().join("body-0");
    let headers: Vec<String> = (v["headers"].as_object().expect("headers").iter())
        .flat_map(|(k, val)| ["--header".to_owned(), format!("{k}: {}", val.as_str().expect("text"))])
        .collect();
    let base = |secret: &str, at: &str| {
        let mut a =
            vec!["verify", "--secret", secret, "--at", at, "--body-file", body_file.to_str().expect("path")];
        a.extend(headers.iter().map(String::as_str));
        a.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>()
    };
    let secret = v["secret"].as_str().expect("secret");
    let late = herald(&base(secret, "1614265930").iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(late.status.code(), Some(1));
    let said = String::from_utf8_lossy(&late.stdout);
    assert!(said.contains("timestamp outside tolerance by 300 s") && said.contains("600 s ago"), "{said}");
    let bad_secret = herald(&base("nope", "1614265330").iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(bad_secret.status.code(), Some(2));
    assert!(stderr(&bad_secret).contains("bad secret format"), "{bad_secret:?}");
    let no_header =
        herald(&["verify", "--secret", secret, "--body-file", body_file.to_str().expect("path")]).await;
    assert_eq!(no_header.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&no_header.stdout),
        "invalid: missing header webhook-id (or svix-id)\n"
    );
}

/// `herald verify`'s provider and secret for a vector's scheme.
fn provider_of(scheme: &str, v: &Value) -> Option<(&'static str, String)> {
    let secret = |k: &str| v[k].as_str().map(str::to_owned);
    Some(match scheme {
        "standard-webhooks v1" => ("standard-webhooks", secret("secret")?),
        s if s.starts_with("standard-webhooks v1a") => ("standard-webhooks", secret("public_key")?),
        "paddle billing" => ("paddle", secret("secret")?),
        s if s.starts_with("discord") => ("discord", secret("public_key")?),
        s if s.starts_with("twilio") => ("twilio", secret("secret")?),
        s if s.starts_with("gitlab") => ("gitlab", secret("secret")?),
        "stripe" => ("stripe", secret("secret")?),
        "github" => ("github", secret("secret")?),
        "shopify" => ("shopify", secret("secret")?),
        "slack" => ("slack", secret("secret")?),
        "zoom" => ("zoom", secret("secret")?),
        "contentful" => ("contentful", secret("secret")?),
        _ => return None,
    })
}

/// A vector's exact body, and whether it is a form (its `params` encoded).
fn vector_body(v: &Value) -> (String, bool) {
    match v["params"].as_object() {
        Some(params) => {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (k, val) in params {
                form.append_pair(k, val.as_str().expect("text"));
            }
            (form.finish(), true)
        }
        None => (v["body"].as_str().unwrap_or_default().to_owned(), false),
    }
}

/// The time a vector was signed at, from whichever header carries it.
fn signed_at(v: &Value) -> Option<i64> {
    let h = v["headers"].as_object()?;
    let find =
        |name: &str| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str());
    for name in
        ["webhook-timestamp", "x-slack-request-timestamp", "x-zm-request-timestamp", "x-signature-timestamp"]
    {
        if let Some(t) = find(name).and_then(|t| t.parse().ok()) {
            return Some(t);
        }
    }
    if let Some(ms) = find("x-contentful-timestamp").and_then(|t| t.parse::<i64>().ok()) {
        return Some(ms / 1000);
    }
    let stamped = find("stripe-signature").or(find("paddle-signature"))?;
    stamped
        .split([',', ';'])
        .find_map(|p| p.strip_prefix("t=").or(p.strip_prefix("ts=")))
        .and_then(|t| t.parse().ok())
}
