//! [`Filter`]: a MongoDB-like predicate on a payload and, for inbound messages, its headers.

/// A parsed payload filter.
#[derive(Debug, Clone)]
pub struct Filter {
    _private: (),
}

/// Why a filter specification was refused: which path or operator, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at {at}: {message}")]
pub struct FilterError {
    /// The path or operator at fault, e.g. `data.amount.$gt`.
    pub at: String,
    pub message: String,
}

impl Filter {
    /// Parses a specification such as `{"data.amount": {"$gt": 100}}`.
    pub fn parse(_spec: &serde_json::Value) -> Result<Filter, FilterError> {
        Err(FilterError { at: "$".to_owned(), message: "filters are not implemented yet".to_owned() })
    }

    /// Whether a message with this payload (and these inbound headers) passes.
    pub fn matches(&self, _payload: &serde_json::Value, _headers: Option<&[(String, String)]>) -> bool {
        false
    }
}
