//! The JavaScript form on the real QuickJS engine: each field, skip, errors with positions,
//! the sandbox, and the limits (time, memory, stack) with the next run still working.

mod common;

use common::{Sample, header, json_body, sent};
use herald_transform::{Compiled, Kind, Limits, Outcome, TransformError};
use serde_json::json;
use std::time::Duration;

fn js(code: &str) -> Compiled {
    Compiled::new(Kind::Javascript, code).expect("the code compiles")
}

/// Limits with time to spare, for the tests that are not about time: a loaded machine
/// running an unoptimised build must not turn them into timeouts.
fn roomy() -> Limits {
    Limits { time: Duration::from_secs(30), ..Limits::default() }
}

fn run(code: &str) -> Result<Outcome, TransformError> {
    js(code).run(&Sample::invoice().input(), &roomy())
}

/// Runs with the default limits (100 ms): for code that never ends.
fn run_default(code: &str) -> Result<Outcome, TransformError> {
    js(code).run(&Sample::invoice().input(), &Limits::default())
}

#[test]
fn returning_the_webhook_unchanged_sends_the_default_request() {
    let request = sent(run("function handler(webhook) { return webhook; }").unwrap());
    assert_eq!(request, herald_transform::default_request(&Sample::invoice().input()));
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://hooks.example.com/in");
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    assert_eq!(header(&request, "x-team"), Some("core"));
    assert_eq!(json_body(&request), Sample::invoice().payload);
}

#[test]
fn a_handler_sets_every_field() {
    let request = sent(
        run(r#"
        function handler(webhook) {
            webhook.method = "put";
            webhook.url = webhook.url + "/" + webhook.payload.id + "?type=" + webhook.eventType;
            webhook.headers["X-Msg"] = webhook.msgId;
            webhook.headers["X-Count"] = webhook.payload.items.length;
            delete webhook.headers["X-Team"];
            webhook.payload = { text: webhook.eventType + ": " + webhook.payload.summary,
                                channel: webhook.channels[0], tag: webhook.tags[0],
                                at: new Date(webhook.timestamp * 1000).toISOString(),
                                event: webhook.eventId };
            return webhook;
        }"#)
        .unwrap(),
    );
    assert_eq!(request.method, "PUT");
    assert_eq!(request.url, "https://hooks.example.com/in/inv_42?type=invoice.paid");
    assert_eq!(header(&request, "x-msg"), Some("msg_2abc"));
    assert_eq!(header(&request, "x-count"), Some("2"));
    assert_eq!(header(&request, "x-team"), None);
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    assert_eq!(
        json_body(&request),
        json!({"text": "invoice.paid: Invoice inv_42 paid", "channel": "billing", "tag": "vip",
               "at": "2023-11-14T22:13:20.000Z", "event": "evt_1"})
    );
}

#[test]
fn a_string_payload_is_sent_as_is() {
    let request = sent(
        run(r#"function handler(w) { w.payload = "amount=" + w.payload.amount; w.headers["Content-Type"] = "text/plain"; return w; }"#)
            .unwrap(),
    );
    assert_eq!(request.body, b"amount=1250");
    assert_eq!(header(&request, "content-type"), Some("text/plain"));
}

#[test]
fn an_undefined_payload_is_an_empty_body() {
    let request =
        sent(run("function handler(w) { w.payload = undefined; w.headers = {}; return w; }").unwrap());
    assert!(request.body.is_empty());
    assert!(request.headers.is_empty(), "{:?}", request.headers);
}

#[test]
fn cancel_skips_the_message() {
    let outcome = run("function handler(w) { w.cancel = w.payload.amount > 1000; return w; }").unwrap();
    assert!(matches!(outcome, Outcome::Skip { .. }), "{outcome:?}");
    let outcome = run("function handler(w) { w.cancel = w.payload.amount > 5000; return w; }").unwrap();
    assert!(matches!(outcome, Outcome::Send(_)), "{outcome:?}");
}

#[test]
fn inbound_headers_are_visible_lowercased() {
    let mut sample = Sample::invoice();
    sample.inbound_headers = Some(vec![("X-GitHub-Event".to_owned(), "push".to_owned())]);
    let code = js(r#"function handler(w) { w.payload = w.inboundHeaders["x-github-event"]; return w; }"#);
    let request = sent(code.run(&sample.input(), &roomy()).unwrap());
    assert_eq!(request.body, b"push");
}

#[test]
fn a_syntax_error_is_refused_at_save_time_with_its_line() {
    let err = Compiled::new(Kind::Javascript, "function handler(w) {\n  return w +;\n}").unwrap_err();
    match &err {
        TransformError::Invalid { message, line, .. } => {
            assert!(message.starts_with("SyntaxError"), "{message}");
            assert_eq!(*line, Some(2), "{err}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(err.to_string().starts_with("invalid transformation: SyntaxError"), "{err}");
}

#[test]
fn a_handler_may_be_declared_as_a_const_or_let_arrow_function() {
    for code in [
        "const handler = (w) => { w.payload = 1; return w; };",
        "let handler = function (w) { w.payload = 1; return w; };",
    ] {
        assert_eq!(sent(run(code).unwrap()).body, b"1", "{code}");
    }
}

#[test]
fn the_webhook_has_every_field_in_one_order() {
    let mut sample = Sample::invoice();
    sample.inbound_headers = Some(vec![("X-A".to_owned(), "1".to_owned())]);
    let code = js("function handler(w) { w.payload = Object.keys(w).join(','); return w; }");
    let request = sent(code.run(&sample.input(), &roomy()).unwrap());
    assert_eq!(
        String::from_utf8_lossy(&request.body),
        "cancel,channels,eventId,eventType,headers,inboundHeaders,method,msgId,payload,tags,timestamp,url"
    );
}

#[test]
fn code_ending_in_a_comment_or_an_open_expression_runs() {
    for code in [
        "function handler(w) { w.payload = 1; return w; } // the end",
        "const handler = (w) => { w.payload = 1; return w; }",
        "var handler = function (w) { w.payload = 1; return w; }\nvar unused = 1 + 1",
    ] {
        assert_eq!(sent(run(code).unwrap()).body, b"1", "{code}");
    }
}

#[test]
fn code_without_a_handler_is_refused() {
    let err = Compiled::new(Kind::Javascript, "function transform(w) { return w; }").unwrap_err();
    assert!(matches!(err, TransformError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("handler"), "{err}");
}

#[test]
fn a_thrown_error_fails_the_run_with_its_name_message_and_line() {
    let err = run("function handler(w) {\n  var x = 1;\n  return foo.bar;\n}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "transformation failed: ReferenceError: foo is not defined at line 3, column 10"
    );
}

#[test]
fn returning_something_else_than_the_webhook_is_an_invalid_output() {
    for code in [
        "function handler(w) { }",
        "function handler(w) { return 42; }",
        "function handler(w) { w.url = 'not a url'; return w; }",
        "function handler(w) { w.url = 'file:///etc/passwd'; return w; }",
        "function handler(w) { w.method = 'GE T'; return w; }",
        "function handler(w) { w.headers = {'X-A': 'a\\r\\nInjected: 1'}; return w; }",
        "function handler(w) { w.url = 42; return w; }",
    ] {
        let err = run(code).unwrap_err();
        assert!(matches!(err, TransformError::BadOutput(_)), "{code}: {err:?}");
    }
}

#[test]
fn the_sandbox_has_no_module_network_file_or_process_access() {
    for global in
        ["require", "fetch", "XMLHttpRequest", "std", "os", "process", "Deno", "setTimeout", "import_meta"]
    {
        let code = format!("function handler(w) {{ w.payload = typeof {global}; return w; }}");
        let request = sent(run(&code).unwrap());
        assert_eq!(request.body, b"undefined", "{global} is reachable");
    }
    let err = run("function handler(w) { return import('os'); }").unwrap_err();
    assert!(matches!(err, TransformError::Failed { .. } | TransformError::BadOutput(_)), "{err:?}");
    // What is there: the language core, Date, RegExp, JSON.
    let request = sent(
        run("function handler(w) { w.payload = [typeof Date.now(), /a+/.test('caa'), JSON.stringify({a: 1})]; return w; }")
            .unwrap(),
    );
    assert_eq!(json_body(&request), json!(["number", true, "{\"a\":1}"]));
}

#[test]
fn globals_do_not_leak_from_one_message_to_the_next() {
    let code = js(
        "var seen = seen || 0; function handler(w) { seen += 1; globalThis.count = (globalThis.count || 0) + 1; w.payload = [seen, count]; return w; }",
    );
    let sample = Sample::invoice();
    for _ in 0..3 {
        let request = sent(code.run(&sample.input(), &roomy()).unwrap());
        assert_eq!(json_body(&request), json!([1, 1]));
    }
}

#[test]
fn an_infinite_loop_is_stopped_and_the_next_run_works() {
    let code = js("function handler(w) { while (true) {} }");
    let err = code.run(&Sample::invoice().input(), &Limits::default()).unwrap_err();
    assert!(matches!(err, TransformError::Timeout { .. }), "{err:?}");
    assert_eq!(err.to_string(), "transformation stopped: ran longer than 100 ms");
    // A loop that catches what it can still does not escape the limit.
    let err =
        run_default("function handler(w) { for (;;) { try { while (true) {} } catch (e) {} } }").unwrap_err();
    assert!(matches!(err, TransformError::Timeout { .. }), "{err:?}");
    assert_eq!(sent(run("function handler(w) { return w; }").unwrap()).url, "https://hooks.example.com/in");
}

#[test]
fn a_runaway_regular_expression_is_stopped() {
    let err =
        run_default("function handler(w) { w.payload = /^(a+)+$/.test('a'.repeat(40) + 'b'); return w; }")
            .unwrap_err();
    assert!(matches!(err, TransformError::Timeout { .. }), "{err:?}");
}

#[test]
fn a_memory_bomb_is_stopped_and_the_next_run_works() {
    // Time enough that memory, not time, stops each of them.
    let limits = Limits { time: Duration::from_secs(60), ..Limits::default() };
    let bombs = [
        "function handler(w) { var a = []; while (true) { a.push(new Array(1000).fill(w)); } }",
        "function handler(w) { var a = []; for (var i = 0; ; i++) { a.push('x'.repeat(65536) + i); } }",
        "function handler(w) { return new ArrayBuffer(64 * 1024 * 1024); }",
    ];
    let sample = Sample::invoice();
    for bomb in bombs {
        let err = js(bomb).run(&sample.input(), &limits).unwrap_err();
        assert!(matches!(err, TransformError::OutOfMemory { .. }), "{bomb}: {err:?}");
        assert_eq!(err.to_string(), "transformation stopped: used more than 16 MiB", "{bomb}");
        assert!(sent(run("function handler(w) { return w; }").unwrap()).body.len() > 10);
    }
}

#[test]
fn deep_recursion_is_stopped_and_the_next_run_works() {
    let err = run("function handler(w) { function f(n) { return f(n + 1) + 1; } return f(0); }").unwrap_err();
    assert!(matches!(err, TransformError::StackOverflow), "{err:?}");
    let err = run("function handler(w) { var o = {}; o.toJSON = function () { return [this]; }; w.payload = o; return w; }")
        .unwrap_err();
    assert!(err.is_limit() || matches!(err, TransformError::Failed { .. }), "{err:?}");
    assert!(sent(run("function handler(w) { return w; }").unwrap()).body.len() > 10);
}

#[test]
fn top_level_code_that_never_ends_is_refused_at_save_time() {
    let err =
        Compiled::new(Kind::Javascript, "while (true) {}\nfunction handler(w) { return w; }").unwrap_err();
    assert!(matches!(err, TransformError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("ran longer than"), "{err}");
}

#[test]
fn compiled_code_runs_from_many_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Compiled>();
    let code = std::sync::Arc::new(js("function handler(w) { w.payload = w.payload.id; return w; }"));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let code = code.clone();
            std::thread::spawn(move || {
                let sample = Sample::invoice();
                (0..50)
                    .map(|_| sent(code.run(&sample.input(), &roomy()).unwrap()).body)
                    .all(|body| body == b"inv_42")
            })
        })
        .collect();
    for thread in threads {
        assert!(thread.join().unwrap());
    }
}

#[test]
fn a_thread_that_ran_every_kind_of_failure_exits_cleanly() {
    // The runtime is freed when its thread ends: objects a failed run leaked would show there.
    let failures = [
        "function handler(w) { while (true) {} }",
        "function handler(w) { var a = []; for (var i = 0; ; i++) { a.push('x'.repeat(1024) + i); } }",
        "function handler(w) { var a = []; while (true) { a.push({w: w, n: [1, 2, 3]}); } }",
        "function handler(w) { function f(n) { return [f(n + 1)]; } return f(0); }",
        "function handler(w) { return import('os'); }",
        "function handler(w) { async function f() { while (true) {} } f(); return w; }",
        "function handler(w) { Promise.resolve(1).then(function () { throw new Error('late'); }); return w; }",
        "function handler(w) { throw { not: 'an error' }; }",
        "function handler(w) { var a = new Array(1e6); a.fill({}); return a.map(function (x) { return [x]; }); }",
    ];
    std::thread::spawn(move || {
        let sample = Sample::invoice();
        for _ in 0..3 {
            for code in failures {
                let _ = js(code).run(&sample.input(), &Limits::default());
            }
        }
        assert!(matches!(
            js("function handler(w) { return w; }").run(&sample.input(), &roomy()),
            Ok(Outcome::Send(_))
        ));
    })
    .join()
    .unwrap();
}

#[test]
fn deeply_nested_source_and_data_are_errors_not_crashes() {
    let deep = format!(
        "function handler(w) {{ w.payload = {}1{}; return w; }}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(Compiled::new(Kind::Javascript, &deep).is_err());
    let err = run("function handler(w) { var o = {}; for (var i = 0; i < 100000; i++) { o = {o: o}; } w.payload = o; return w; }")
        .unwrap_err();
    assert!(err.is_limit() || matches!(err, TransformError::Failed { .. }), "{err:?}");
    assert!(sent(run("function handler(w) { return w; }").unwrap()).body.len() > 10);
}

#[test]
fn a_payload_at_herald_s_default_size_cap_fits_the_default_memory_limit() {
    let items: Vec<serde_json::Value> = (0..15_000)
        .map(|i| json!({"id": i, "name": "item-name-xxxxxxxx", "ok": true, "tags": ["a", "b"]}))
        .collect();
    let sample = Sample::new(json!({"items": items}));
    // Time enough for an unoptimised test build: this is about memory.
    let limits = Limits { time: Duration::from_secs(60), ..Limits::default() };
    let code =
        js("function handler(w) { w.payload = {count: w.payload.items.length, all: w.payload}; return w; }");
    let request = sent(code.run(&sample.input(), &limits).unwrap());
    assert_eq!(json_body(&request)["count"], 15_000);
}
