//! The template form on the real minijinja engine: each field, the JSON helpers, skip,
//! errors with their field and line, and the fuel limit.

mod common;

use common::{Sample, form_body, header, json_body, sent};
use herald_transform::{Compiled, Kind, Limits, Outcome, TransformError};
use serde_json::json;

fn template(code: &str) -> Compiled {
    Compiled::new(Kind::Template, code).expect("the template compiles")
}

fn run(code: &str) -> Result<Outcome, TransformError> {
    template(code).run(&Sample::invoice().input(), &Limits::default())
}

#[test]
fn an_empty_template_sends_the_default_request() {
    let request = sent(run("{}").unwrap());
    assert_eq!(request, herald_transform::default_request(&Sample::invoice().input()));
}

#[test]
fn a_template_sets_every_field() {
    let request = sent(
        run(r#"{
            "method": "put",
            "url": "{{ url }}/{{ payload.id }}?type={{ event_type | urlencode }}&tag={{ tags[0] }}",
            "headers": {"X-Msg": "{{ msg_id }}", "X-Team": "", "Content-Type": "text/plain; charset=utf-8"},
            "body": "{{ event_type }} for {{ payload.customer.name }}: {{ payload.amount / 100 }} {{ payload.currency }}"
        }"#)
        .unwrap(),
    );
    assert_eq!(request.method, "PUT");
    assert_eq!(request.url, "https://hooks.example.com/in/inv_42?type=invoice.paid&tag=vip");
    assert_eq!(header(&request, "x-msg"), Some("msg_2abc"));
    assert_eq!(header(&request, "x-team"), None, "an empty value removes the header");
    assert_eq!(header(&request, "content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(String::from_utf8(request.body).unwrap(), "invoice.paid for Ada: 12.5 EUR");
}

#[test]
fn json_strings_are_templates_and_single_expressions_keep_their_type() {
    let request = sent(
        run(r##"{
            "vars": {"title": "{{ event_type }}: {{ payload.summary }}"},
            "json": {
                "text": "{{ vars.title }}",
                "amount": "{{ payload.amount }}",
                "customer": "{{ payload.customer }}",
                "skus": "{{ payload['items'] | map(attribute='sku') | list }}",
                "missing": "{{ payload.nothing.here }}",
                "literal": [1, true, null, "plain"],
                "when": "{{ timestamp | isoformat }}",
                "channel": "#{{ channels[0] }}"
            }
        }"##)
        .unwrap(),
    );
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    assert_eq!(
        json_body(&request),
        json!({
            "text": "invoice.paid: Invoice inv_42 paid",
            "amount": 1250,
            "customer": {"name": "Ada", "email": "ada@example.com"},
            "skus": ["a", "b"],
            "missing": null,
            "literal": [1, true, null, "plain"],
            "when": "2023-11-14T22:13:20Z",
            "channel": "#billing"
        })
    );
}

#[test]
fn json_helpers_round_trip() {
    let request = sent(
        run(r#"{
            "body": "{{ {'a': payload.amount, 'b': ('{\"x\": [1, 2]}' | fromjson).x} | tojson }}|{{ {'k': 1} | pretty }}|{{ 'Ada:s3cret' | b64encode }}|{{ 'QWRhOnMzY3JldA==' | b64decode }}|{{ basic_auth('AC1', 'tok') }}|{{ payload.summary | truncate(10) }}|{{ payload.nope | default('none') }}"
        }"#)
        .unwrap(),
    );
    let body = String::from_utf8(request.body).unwrap();
    let parts: Vec<&str> = body.split('|').collect();
    assert_eq!(serde_json::from_str::<serde_json::Value>(parts[0]).unwrap(), json!({"a": 1250, "b": [1, 2]}));
    assert_eq!(parts[1], "{\n  \"k\": 1\n}");
    assert_eq!(parts[2], "QWRhOnMzY3JldA==");
    assert_eq!(parts[3], "Ada:s3cret");
    assert_eq!(parts[4], "Basic QUMxOnRvaw==");
    assert_eq!(parts[5], "Invoice i…");
    assert_eq!(parts[6], "none");
}

#[test]
fn form_encodes_a_map() {
    let request = sent(
        run(r#"{
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            "body": "{{ {'To': '+15550001', 'Body': payload.summary ~ ' & more', 'Skip': none, 'Tag': tags} | form }}"
        }"#)
        .unwrap(),
    );
    assert_eq!(
        String::from_utf8(request.body.clone()).unwrap(),
        "Body=Invoice+inv_42+paid+%26+more&Tag=vip&To=%2B15550001"
    );
    assert_eq!(
        form_body(&request),
        vec![
            ("Body".to_owned(), "Invoice inv_42 paid & more".to_owned()),
            ("Tag".to_owned(), "vip".to_owned()),
            ("To".to_owned(), "+15550001".to_owned())
        ]
    );
}

#[test]
fn skip_renders_a_condition() {
    let code = template(
        r#"{"skip": "{{ payload.amount < 2000 }}", "skipReason": "small invoice {{ payload.id }}"}"#,
    );
    let outcome = code.run(&Sample::invoice().input(), &Limits::default()).unwrap();
    assert_eq!(outcome, Outcome::Skip { reason: "small invoice inv_42".to_owned() });
    let big = Sample::new(json!({"amount": 5000, "id": "inv_43"}));
    assert!(matches!(code.run(&big.input(), &Limits::default()).unwrap(), Outcome::Send(_)));
    let err = run(r#"{"skip": "maybe"}"#).unwrap_err();
    assert!(matches!(err, TransformError::BadOutput(_)), "{err:?}");
}

#[test]
fn an_empty_body_drops_the_default_content_type() {
    let request = sent(run(r#"{"body": ""}"#).unwrap());
    assert!(request.body.is_empty());
    assert_eq!(header(&request, "content-type"), None);
    assert_eq!(header(&request, "x-team"), Some("core"));
}

#[test]
fn inbound_headers_are_addressable_lowercased() {
    let mut sample = Sample::invoice();
    sample.inbound_headers = Some(vec![("X-GitHub-Event".to_owned(), "push".to_owned())]);
    let code = template(r#"{"body": "{{ inbound_headers['x-github-event'] }}"}"#);
    let request = sent(code.run(&sample.input(), &Limits::default()).unwrap());
    assert_eq!(request.body, b"push");
}

#[test]
fn bad_code_is_refused_at_save_time_saying_where() {
    let err = Compiled::new(Kind::Template, "{\"url\": \"x\",\n \"body\": }").unwrap_err();
    assert!(matches!(err, TransformError::Invalid { line: Some(2), column: Some(10), .. }), "{err:?}");
    let err = Compiled::new(Kind::Template, r#"{"body": "line one\n{{ payload.id "}"#).unwrap_err();
    assert!(matches!(err, TransformError::Invalid { line: Some(2), .. }), "{err:?}");
    assert!(err.to_string().starts_with("invalid transformation: template \"body\": syntax error"), "{err}");
    let err = Compiled::new(Kind::Template, r#"{"headers": {"X-A": "{% if %}"}}"#).unwrap_err();
    assert!(err.to_string().contains("\"headers.X-A\""), "{err}");
    for (code, needle) in [
        (r#"{"bdy": "x"}"#, "unknown field \"bdy\""),
        (r#"{"body": "x", "json": {}}"#, "not both"),
        (r#"{"url": 42}"#, "must be a string"),
        (r#"{"headers": ["x"]}"#, "must be an object"),
        ("[]", "must be a JSON object"),
    ] {
        let err = Compiled::new(Kind::Template, code).unwrap_err();
        assert!(err.to_string().contains(needle), "{code}: {err}");
    }
}

#[test]
fn a_render_error_fails_the_run_with_its_field() {
    let err = run(r#"{"body": "{{ payload.amount + 'x' }}"}"#).unwrap_err();
    assert!(matches!(err, TransformError::Failed { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("transformation failed: template \"body\": invalid operation"),
        "{err}"
    );
    let err = run(r#"{"body": "{{ 'nope' | fromjson }}"}"#).unwrap_err();
    assert!(err.to_string().contains("fromjson"), "{err}");
}

#[test]
fn an_invalid_rendered_request_is_refused() {
    for code in [
        r#"{"url": "not a url"}"#,
        r#"{"url": "ftp://example.com/x"}"#,
        r#"{"method": "{{ 'GE T' }}"}"#,
        r#"{"headers": {"X-A": "a\r\nInjected: yes"}}"#,
        r#"{"headers": {"Bad Name": "x"}}"#,
    ] {
        let err = run(code).unwrap_err();
        assert!(matches!(err, TransformError::BadOutput(_)), "{code}: {err:?}");
    }
}

#[test]
fn a_runaway_template_runs_out_of_fuel_and_the_next_run_works() {
    let code = template(
        r#"{"body": "{% for i in range(10000) %}{% for j in range(10000) %}{{ i }}{% endfor %}{% endfor %}"}"#,
    );
    let err = code.run(&Sample::invoice().input(), &Limits::default()).unwrap_err();
    assert!(matches!(err, TransformError::OutOfFuel { .. }), "{err:?}");
    assert!(err.is_limit());
    // Big allocations burn fuel too.
    let err = run(r#"{"body": "{{ ('x' * 10000000) ~ ('y' * 10000000) }}"}"#).unwrap_err();
    assert!(err.is_limit(), "{err:?}");
    assert!(sent(run("{}").unwrap()).body.len() > 10);
}

#[test]
fn a_smaller_memory_limit_means_less_fuel() {
    let code = template(r#"{"body": "{% for i in range(2000) %}{{ i }},{% endfor %}"}"#);
    let sample = Sample::invoice();
    assert!(code.run(&sample.input(), &Limits::default()).is_ok());
    let tight = Limits { memory_bytes: 64 * 1024, ..Limits::default() };
    let err = code.run(&sample.input(), &tight).unwrap_err();
    assert!(matches!(err, TransformError::OutOfFuel { .. }), "{err:?}");
}

#[test]
fn omit_leaves_out_a_key_or_an_element() {
    let request = sent(
        run(r#"{"json": {
            "keep": "{{ payload.id }}",
            "link": "{{ payload.link or omit }}",
            "text": "{{ omit }}",
            "list": ["a", "{{ omit if payload.amount > 10 else 'small' }}", "{{ payload.amount if payload.amount > 10 else omit }}"]
        }}"#)
        .unwrap(),
    );
    assert_eq!(json_body(&request), json!({"keep": "inv_42", "list": ["a", 1250]}));
}

#[test]
fn deeply_nested_template_code_is_an_error_not_a_crash() {
    let deep = format!("{}1{}", "(".repeat(50_000), ")".repeat(50_000));
    let code = serde_json::to_string(&json!({"body": format!("{{{{ {deep} }}}}")})).unwrap();
    let err = Compiled::new(Kind::Template, &code).unwrap_err();
    assert!(matches!(err, TransformError::Invalid { .. }), "{err:?}");
    let deep_json = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let err = Compiled::new(Kind::Template, &format!("{{\"json\": {deep_json}}}")).unwrap_err();
    assert!(matches!(err, TransformError::Invalid { .. }), "{err:?}");
}

#[test]
fn a_payload_at_herald_s_default_size_cap_fits_the_default_limits() {
    let items: Vec<serde_json::Value> = (0..15_000)
        .map(|i| json!({"id": i, "name": "item-name-xxxxxxxx", "ok": true, "tags": ["a", "b"]}))
        .collect();
    let sample = Sample::new(json!({"items": items}));
    let size = sample.payload.to_string().len();
    assert!((900_000..=1_048_576).contains(&size), "{size}");
    let code = template(r#"{"json": {"data": "{{ payload }}", "count": "{{ payload['items'] | length }}"}}"#);
    let request = sent(code.run(&sample.input(), &Limits::default()).unwrap());
    assert_eq!(json_body(&request)["count"], 15_000);
}
