//! The serialisable dry-run answer: what would be sent, with the body as text when it is
//! UTF-8 and as base64 otherwise.

use base64::Engine as _;
use serde::Serialize;

use crate::{Outcome, Request};

/// A request as the API shows it (`transformation/simulate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
    pub method: String,
    pub url: String,
    /// Header name → value, in the order the request carries them (`[[name, value], …]`:
    /// names may repeat).
    pub headers: Vec<(String, String)>,
    /// The body as UTF-8 text, when it is valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body in standard base64, when it is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

/// A run's outcome as the API shows it: `{"skip": false, "request": {…}}` or
/// `{"skip": true, "reason": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeView {
    pub skip: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestView>,
}

impl Request {
    /// The serialisable view of this request.
    pub fn view(&self) -> RequestView {
        let (body, body_base64) = match std::str::from_utf8(&self.body) {
            Ok(text) => (Some(text.to_owned()), None),
            Err(_) => (None, Some(base64::engine::general_purpose::STANDARD.encode(&self.body))),
        };
        RequestView {
            method: self.method.clone(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            body,
            body_base64,
        }
    }
}

impl Outcome {
    /// The serialisable view of this outcome (the dry run's answer).
    pub fn view(&self) -> OutcomeView {
        match self {
            Outcome::Send(request) => {
                OutcomeView { skip: false, reason: None, request: Some(request.view()) }
            }
            Outcome::Skip { reason } => {
                OutcomeView { skip: true, reason: Some(reason.clone()), request: None }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &[u8]) -> Request {
        Request {
            method: "POST".into(),
            url: "https://example.com/".into(),
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: body.to_vec(),
        }
    }

    #[test]
    fn a_text_body_is_shown_as_text_and_bytes_as_base64() {
        let view = request(b"hello").view();
        assert_eq!((view.body.as_deref(), view.body_base64), (Some("hello"), None));
        let view = request(&[0xff, 0x00]).view();
        assert_eq!((view.body, view.body_base64.as_deref()), (None, Some("/wA=")));
    }

    #[test]
    fn outcomes_serialise_for_the_api() {
        let sent = serde_json::to_value(Outcome::Send(request(b"hi")).view()).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({"skip": false, "request": {"method": "POST", "url": "https://example.com/",
                "headers": [["Content-Type", "text/plain"]], "body": "hi"}})
        );
        let skipped = serde_json::to_value(Outcome::Skip { reason: "small".into() }.view()).unwrap();
        assert_eq!(skipped, serde_json::json!({"skip": true, "reason": "small"}));
    }
}
