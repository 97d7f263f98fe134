//! Per-message cost of what an endpoint may do to a message, against the baseline of no
//! transformation (serialising the payload, which delivery does anyway).
//!
//! `cargo bench -p herald-transform` (a plain harness: it prints the median time of one
//! message for each case, over 15 samples of a fixed number of messages, after a warm-up).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use herald_transform::{Compiled, Filter, Input, Kind, Limits, Outcome, default_request, presets};
use serde_json::{Value, json};

const SAMPLES: usize = 15;

fn main() {
    let payload = payload();
    let channels = vec!["billing".to_owned()];
    let tags = vec!["vip".to_owned()];
    let headers = BTreeMap::from([("X-Team".to_owned(), "core".to_owned())]);
    let input = Input {
        event_type: "invoice.paid",
        payload: &payload,
        msg_id: "msg_2abcdefghijklmnopqrstuvwx",
        event_id: Some("evt_1"),
        channels: &channels,
        tags: &tags,
        timestamp: 1_700_000_000,
        url: "https://hooks.example.com/in",
        headers: &headers,
        inbound_headers: None,
    };
    let limits = Limits::default();
    println!(
        "payload: {} bytes of JSON; median per message over {SAMPLES} samples",
        payload.to_string().len()
    );

    bench("baseline: no transformation (JSON body)", 20_000, || {
        black_box(default_request(black_box(&input)));
    });

    let mapping =
        Compiled::new(Kind::Template, presets::get("json-mapping").map(|p| p.code).unwrap_or_default())
            .expect("the JSON mapping compiles");
    bench("template: JSON-to-JSON mapping preset", 5_000, || run(&mapping, &input, &limits));

    let slack = slack();
    bench("template: Slack preset (Block Kit)", 5_000, || run(&slack, &input, &limits));

    let handler = Compiled::new(
        Kind::Javascript,
        r#"function handler(webhook) {
            webhook.payload = {
                text: webhook.eventType + ": " + webhook.payload.summary,
                amount: webhook.payload.amount / 100,
                items: webhook.payload.items.map(function (i) { return i.sku; }),
            };
            webhook.headers["X-Msg"] = webhook.msgId;
            return webhook;
        }"#,
    )
    .expect("the handler compiles");
    bench("javascript: handler reshaping the payload", 1_000, || run(&handler, &input, &limits));

    let identity = Compiled::new(Kind::Javascript, "function handler(w) { return w; }").expect("compiles");
    bench("javascript: handler returning the webhook as is", 1_000, || run(&identity, &input, &limits));

    let filter = Filter::parse(&json!({
        "data.amount": {"$gte": 100},
        "data.currency": {"$in": ["EUR", "USD"]},
        "$or": [{"data.customer.tier": "gold"}, {"data.customer.email": {"$regex": "@example\\.com$"}}],
    }))
    .expect("the filter parses");
    bench("filter: 4 conditions incl. $regex and $or", 100_000, || {
        black_box(filter.matches(black_box(&payload), None));
    });
}

fn run(compiled: &Compiled, input: &Input, limits: &Limits) {
    match compiled.run(black_box(input), limits) {
        Ok(Outcome::Send(request)) => {
            black_box(request);
        }
        other => panic!("unexpected outcome: {other:?}"),
    }
}

fn slack() -> Compiled {
    let (kind, code, _) = presets::instantiate(
        "slack",
        &BTreeMap::from([(
            "link".to_owned(),
            "https://app.example.com/invoices/{{ payload.data.id }}".to_owned(),
        )]),
    )
    .expect("the Slack preset instantiates");
    Compiled::new(kind, &code).expect("the Slack preset compiles")
}

/// Runs `f` `per_sample` times per sample and prints the median time of one call.
fn bench(name: &str, per_sample: u32, mut f: impl FnMut()) {
    for _ in 0..per_sample / 10 + 1 {
        f();
    }
    let mut samples: Vec<Duration> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_sample {
                f();
            }
            start.elapsed() / per_sample
        })
        .collect();
    samples.sort();
    let median = samples[SAMPLES / 2];
    println!(
        "{name:<50} {:>10.2} µs  (min {:.2}, max {:.2})",
        micros(median),
        micros(samples[0]),
        micros(samples[SAMPLES - 1])
    );
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A realistic ~1 KB event.
fn payload() -> Value {
    json!({
        "type": "invoice.paid",
        "summary": "Invoice inv_42 paid by Ada Lovelace",
        "amount": 125_000,
        "data": {
            "id": "inv_42",
            "amount": 125_000,
            "currency": "EUR",
            "status": "paid",
            "created": "2026-11-27T08:00:00Z",
            "customer": {"id": "cus_9", "name": "Ada Lovelace", "email": "ada@example.com", "tier": "gold",
                         "address": {"line1": "12 Analytical Row", "city": "London", "postal_code": "N1 9GU", "country": "GB"}},
            "lines": [
                {"sku": "plan-pro", "description": "Pro plan, monthly", "quantity": 1, "unit_amount": 100_000},
                {"sku": "seats", "description": "Extra seats", "quantity": 5, "unit_amount": 5_000},
            ],
            "metadata": {"order": "ord_77", "region": "eu-west", "source": "checkout"},
        },
        "items": [{"sku": "plan-pro"}, {"sku": "seats"}],
    })
}
