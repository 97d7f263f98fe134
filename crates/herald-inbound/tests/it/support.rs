//! An owned request to build in tests and lend to the verifiers as an
//! `InboundRequest`, plus small helpers every test module shares.

use herald_inbound::{InboundRequest, VerifierConfig};
use http::{HeaderMap, HeaderName, HeaderValue, Method};

/// A request the test owns; `view()` lends it out.
#[derive(Clone)]
pub struct OwnedRequest {
    pub method: Method,
    pub url: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl OwnedRequest {
    pub fn post(url: &str, body: impl Into<Vec<u8>>) -> Self {
        Self { method: Method::POST, url: url.to_owned(), headers: HeaderMap::new(), body: body.into() }
    }

    /// Appends a header (a second value of the same name is kept as a second value).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.set(name, value);
        self
    }

    pub fn set(&mut self, name: &str, value: &str) {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
        self.headers.insert(name, HeaderValue::from_str(value).expect("header value"));
    }

    pub fn without(&self, name: &str) -> Self {
        let mut copy = self.clone();
        copy.headers.remove(name);
        copy
    }

    pub fn view(&self) -> InboundRequest<'_> {
        InboundRequest { method: &self.method, url: &self.url, headers: &self.headers, body: &self.body }
    }
}

/// A configuration from its stored JSON form.
pub fn config(json: serde_json::Value) -> VerifierConfig {
    serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("config {json} does not parse: {e}"))
}

pub fn hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(bytes)
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
