//! A sample message to run transformations on.
#![allow(dead_code)] // Each test binary uses a part.

use std::collections::BTreeMap;

use herald_transform::{Input, Outcome, Request};
use serde_json::{Value, json};

/// Owns what an [`Input`] borrows.
pub struct Sample {
    pub event_type: String,
    pub payload: Value,
    pub msg_id: String,
    pub event_id: Option<String>,
    pub channels: Vec<String>,
    pub tags: Vec<String>,
    pub timestamp: i64,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub inbound_headers: Option<Vec<(String, String)>>,
}

impl Sample {
    pub fn new(payload: Value) -> Sample {
        Sample {
            event_type: "invoice.paid".to_owned(),
            payload,
            msg_id: "msg_2abc".to_owned(),
            event_id: Some("evt_1".to_owned()),
            channels: vec!["billing".to_owned()],
            tags: vec!["vip".to_owned()],
            timestamp: 1_700_000_000,
            url: "https://hooks.example.com/in".to_owned(),
            headers: BTreeMap::from([("X-Team".to_owned(), "core".to_owned())]),
            inbound_headers: None,
        }
    }

    pub fn invoice() -> Sample {
        Sample::new(json!({
            "id": "inv_42",
            "amount": 1250,
            "currency": "EUR",
            "summary": "Invoice inv_42 paid",
            "customer": {"name": "Ada", "email": "ada@example.com"},
            "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}],
        }))
    }

    pub fn input(&self) -> Input<'_> {
        Input {
            event_type: &self.event_type,
            payload: &self.payload,
            msg_id: &self.msg_id,
            event_id: self.event_id.as_deref(),
            channels: &self.channels,
            tags: &self.tags,
            timestamp: self.timestamp,
            url: &self.url,
            headers: &self.headers,
            inbound_headers: self.inbound_headers.as_deref(),
        }
    }
}

/// The request of a `Send` outcome; panics on `Skip`.
pub fn sent(outcome: Outcome) -> Request {
    match outcome {
        Outcome::Send(request) => request,
        Outcome::Skip { reason } => panic!("expected a request, got skip: {reason}"),
    }
}

/// The value of a header (case-insensitive), if the request has it.
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// The body parsed as JSON.
pub fn json_body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("the body is JSON")
}

/// The body parsed as `application/x-www-form-urlencoded` pairs.
pub fn form_body(request: &Request) -> Vec<(String, String)> {
    form_urlencoded::parse(&request.body).into_owned().collect()
}
