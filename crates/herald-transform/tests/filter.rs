//! Payload filters: every operator, nesting, headers, arrays, and refused specifications.

use herald_transform::{Filter, FilterError};
use serde_json::{Value, json};

fn payload() -> Value {
    json!({
        "type": "invoice.paid",
        "data": {
            "amount": 1250,
            "ratio": 0.5,
            "currency": "EUR",
            "created": "2026-11-27T08:00:00Z",
            "paid": true,
            "note": null,
            "customer": {"name": "Ada Lovelace", "tier": "gold", "email": "ada@example.com"},
            "items": [{"sku": "a-1", "qty": 2}, {"sku": "b-7", "qty": 1}],
            "labels": ["urgent", "eu"]
        }
    })
}

fn check(spec: Value) -> bool {
    Filter::parse(&spec).unwrap_or_else(|e| panic!("{spec}: {e}")).matches(&payload(), None)
}

#[track_caller]
fn assert_cases(cases: &[(Value, bool)]) {
    for (spec, want) in cases {
        assert_eq!(check(spec.clone()), *want, "{spec}");
    }
}

#[test]
fn eq_and_neq() {
    assert_cases(&[
        (json!({"type": "invoice.paid"}), true),
        (json!({"type": "invoice.failed"}), false),
        (json!({"type": {"$eq": "invoice.paid"}}), true),
        (json!({"data.amount": 1250}), true),
        (json!({"data.amount": 1250.0}), true),
        (json!({"data.paid": true}), true),
        (json!({"data.note": null}), true),
        (json!({"data.customer.tier": {"$neq": "silver"}}), true),
        (json!({"data.customer.tier": {"$neq": "gold"}}), false),
        (json!({"data.customer.tier": {"$ne": "gold"}}), false),
        (json!({"data.missing": {"$neq": "x"}}), true),
        (json!({"data.missing": {"$eq": null}}), false),
        (
            json!({"data.customer": {"$eq": {"name": "Ada Lovelace", "tier": "gold", "email": "ada@example.com"}}}),
            true,
        ),
        (json!({"data.customer": {"$eq": {"name": "Ada Lovelace"}}}), false),
    ]);
}

#[test]
fn comparisons_on_numbers_and_strings() {
    assert_cases(&[
        (json!({"data.amount": {"$gt": 1000}}), true),
        (json!({"data.amount": {"$gt": 1250}}), false),
        (json!({"data.amount": {"$gte": 1250}}), true),
        (json!({"data.amount": {"$lt": 1250}}), false),
        (json!({"data.amount": {"$lte": 1250}}), true),
        (json!({"data.amount": {"$lt": 1250.5}}), true),
        (json!({"data.ratio": {"$gt": 0.25, "$lt": 0.75}}), true),
        (json!({"data.created": {"$gte": "2026-11-01"}}), true),
        (json!({"data.created": {"$lt": "2026-11-01"}}), false),
        // Mismatched types never compare.
        (json!({"data.amount": {"$gt": "1000"}}), false),
        (json!({"data.currency": {"$lt": 5}}), false),
        (json!({"data.missing": {"$gt": 0}}), false),
    ]);
}

#[test]
fn in_and_nin() {
    assert_cases(&[
        (json!({"data.currency": {"$in": ["USD", "EUR"]}}), true),
        (json!({"data.currency": {"$in": ["USD", "GBP"]}}), false),
        (json!({"data.currency": {"$nin": ["USD", "GBP"]}}), true),
        (json!({"data.currency": {"$nin": ["EUR"]}}), false),
        (json!({"data.amount": {"$in": [1, 1250]}}), true),
        (json!({"data.missing": {"$in": [null]}}), false),
        (json!({"data.missing": {"$nin": ["x"]}}), true),
    ]);
}

#[test]
fn exist() {
    assert_cases(&[
        (json!({"data.customer.email": {"$exist": true}}), true),
        (json!({"data.customer.phone": {"$exist": true}}), false),
        (json!({"data.customer.phone": {"$exist": false}}), true),
        (json!({"data.note": {"$exists": true}}), true),
        (json!({"data.amount.deeper": {"$exist": false}}), true),
    ]);
}

#[test]
fn regex() {
    assert_cases(&[
        (json!({"data.customer.email": {"$regex": "@example\\.com$"}}), true),
        (json!({"data.customer.name": {"$regex": "^ada"}}), false),
        (json!({"data.customer.name": {"$regex": "(?i)^ada"}}), true),
        (json!({"data.amount": {"$regex": "1250"}}), false),
        (json!({"data.labels": {"$regex": "^urg"}}), true),
    ]);
}

#[test]
fn and_or_not_between_fields_and_on_one_field() {
    assert_cases(&[
        (json!({"$and": [{"type": "invoice.paid"}, {"data.amount": {"$gt": 100}}]}), true),
        (json!({"$and": [{"type": "invoice.paid"}, {"data.amount": {"$gt": 5000}}]}), false),
        (json!({"$or": [{"type": "x"}, {"data.currency": "EUR"}]}), true),
        (json!({"$or": [{"type": "x"}, {"data.currency": "USD"}]}), false),
        (
            json!({"$or": [{"type": "x"}, {"$and": [{"data.paid": true}, {"data.customer.tier": {"$in": ["gold"]}}]}]}),
            true,
        ),
        (
            json!({"$or": [{"type": "x"}, {"$and": [{"data.paid": true}, {"data.customer.tier": {"$in": ["silver"]}}]}]}),
            false,
        ),
        (json!({"data.amount": {"$or": [{"$lt": 10}, {"$gt": 1000}]}}), true),
        (json!({"data.amount": {"$or": [{"$lt": 10}, {"$gt": 2000}]}}), false),
        (json!({"data.amount": {"$and": [{"$gt": 10}, {"$lt": 2000}]}}), true),
        (json!({"data.amount": {"$not": {"$gt": 1000}}}), false),
        (json!({"data.amount": {"$not": {"$in": [1, 2]}}}), true),
        (json!({"$not": {"type": "invoice.paid"}}), false),
        (json!({"$not": {"type": "invoice.failed"}}), true),
        // Several keys: all must hold.
        (json!({"type": "invoice.paid", "data.currency": "EUR", "data.amount": {"$gte": 1000}}), true),
        (json!({"type": "invoice.paid", "data.currency": "USD"}), false),
    ]);
}

#[test]
fn nested_filters_and_arrays() {
    assert_cases(&[
        (json!({"data": {"customer": {"tier": "gold"}}}), true),
        (json!({"data": {"customer": {"tier": "silver"}}}), false),
        (json!({"data": {"amount": {"$gt": 100}, "customer": {"name": {"$regex": "Ada"}}}}), true),
        (json!({"data.items[0].sku": "a-1"}), true),
        (json!({"data.items.1.sku": "b-7"}), true),
        (json!({"data.items[1].sku": "a-1"}), false),
        (json!({"data.items[5].sku": {"$exist": false}}), true),
        (json!({"data.items.sku": "b-7"}), true),
        (json!({"data.items.sku": {"$nin": ["c-0"]}}), true),
        (json!({"data.items.qty": {"$gt": 1}}), true),
        (json!({"data.items.qty": {"$gt": 2}}), false),
        (json!({"data.labels": "eu"}), true),
        (json!({"data.labels": {"$in": ["x", "urgent"]}}), true),
        (json!({"data.labels": {"$neq": "eu"}}), false),
        (json!({"data.labels": ["urgent", "eu"]}), true),
        (json!({"data.items": {"sku": "b-7", "qty": 1}}), true),
        (json!({"data.items": {"sku": "b-7", "qty": 2}}), false),
    ]);
}

#[test]
fn headers_are_matched_case_insensitively() {
    let headers = vec![
        ("X-GitHub-Event".to_owned(), "push".to_owned()),
        ("Content-Type".to_owned(), "application/json".to_owned()),
    ];
    let filter = Filter::parse(&json!({"$headers.x-github-event": "push", "type": "invoice.paid"})).unwrap();
    assert!(filter.matches(&payload(), Some(&headers)));
    let filter = Filter::parse(&json!({"$headers.X-GitHub-Event": {"$in": ["push", "release"]}})).unwrap();
    assert!(filter.matches(&payload(), Some(&headers)));
    let filter = Filter::parse(&json!({"$headers.x-github-event": "release"})).unwrap();
    assert!(!filter.matches(&payload(), Some(&headers)));
    // An outbound message has no provider headers: the header is missing.
    let filter = Filter::parse(&json!({"$headers.x-github-event": {"$exist": false}})).unwrap();
    assert!(filter.matches(&payload(), None));
    let filter =
        Filter::parse(&json!({"$or": [{"$headers.x-github-event": "push"}, {"type": "x"}]})).unwrap();
    assert!(filter.matches(&payload(), Some(&headers)));
    assert!(!filter.matches(&payload(), None));
}

#[test]
fn a_non_object_payload_only_matches_what_is_missing() {
    let filter = Filter::parse(&json!({"data.amount": {"$exist": false}})).unwrap();
    assert!(filter.matches(&json!("a raw text body"), None));
    let filter = Filter::parse(&json!({"data.amount": 1})).unwrap();
    assert!(!filter.matches(&json!("a raw text body"), None));
}

#[test]
fn bad_specifications_say_where_and_why() {
    let cases: &[(Value, &str, &str)] = &[
        (json!([]), "the top level", "JSON object"),
        (json!({"data.amount": {"$gt": [1]}}), "data.amount.$gt", "number or a string"),
        (json!({"data.amount": {"$between": [1, 2]}}), "data.amount.$between", "unknown operator"),
        (json!({"data.amount": {"$in": 5}}), "data.amount.$in", "array"),
        (json!({"data.amount": {"$nin": "x"}}), "data.amount.$nin", "array"),
        (json!({"data.amount": {"$exist": "yes"}}), "data.amount.$exist", "true or false"),
        (json!({"data.name": {"$regex": "(unclosed"}}), "data.name.$regex", "bad pattern"),
        (json!({"data.name": {"$regex": 5}}), "data.name.$regex", "pattern string"),
        (json!({"data.name": {"$regex": "a{1000}{1000}"}}), "data.name.$regex", "bad pattern"),
        (json!({"$or": []}), "$or", "non-empty array"),
        (json!({"$and": {"a": 1}}), "$and", "non-empty array"),
        (json!({"$or": [{"a": 1}, 5]}), "$or.1", "JSON object"),
        (json!({"$where": "1"}), "$where", "not a field"),
        (json!({"data": {"amount": 1, "$gt": 2}}), "data", "mixes operators"),
        (json!({"data": {}}), "data", "empty object"),
        (json!({"data..amount": 1}), "data..amount", "empty segment"),
        (json!({"data.items[x]": 1}), "data.items[x]", "bad index"),
        (json!({"data": {"$headers.x": "1"}}), "data.$headers.x", "unknown operator"),
        (json!({"data": {"a": {"$headers.x": "1"}}}), "data.a.$headers.x", "unknown operator"),
        (json!({"data": {"a": 1, "$headers.x": "1"}}), "data", "mixes operators"),
        (json!({"$headers": "push"}), "$headers", "name a header"),
        (
            json!({"data.amount": {"$and": [{"$gt": 1}, {"$lt": "x", "$in": 3}]}}),
            "data.amount.$and.1.$in",
            "array",
        ),
    ];
    for (spec, at, needle) in cases {
        let err: FilterError = Filter::parse(spec).expect_err(&spec.to_string());
        assert_eq!(err.at, *at, "{spec}: {err}");
        assert!(err.message.contains(needle), "{spec}: {err}");
        assert!(err.to_string().starts_with("invalid filter at "), "{err}");
    }
}

#[test]
fn deeply_nested_specifications_are_refused() {
    let mut spec = json!({"a": 1});
    for _ in 0..40 {
        spec = json!({"$and": [spec]});
    }
    let err = Filter::parse(&spec).unwrap_err();
    assert!(err.message.contains("nested more than"), "{err}");
}
