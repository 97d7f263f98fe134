//! [`TransformError`]: why a transformation could not be saved or could not run, in words
//! that go into an attempt's response field.

use std::time::Duration;

/// Why a transformation was refused at save time or failed a run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// The code does not compile or has the wrong shape (at save time).
    #[error("invalid transformation: {}", located(.message, *.line, *.column))]
    Invalid { message: String, line: Option<u32>, column: Option<u32> },
    /// The code threw or a template failed to render.
    #[error("transformation failed: {}", located(.message, *.line, *.column))]
    Failed { message: String, line: Option<u32>, column: Option<u32> },
    /// A JavaScript run exceeded [`crate::Limits::time`].
    #[error("transformation stopped: ran longer than {} ms", .limit.as_millis())]
    Timeout { limit: Duration },
    /// A template run used up its fuel (a runaway loop).
    #[error("transformation stopped: used up its instruction budget ({fuel} steps)")]
    OutOfFuel { fuel: u64 },
    /// A run exceeded [`crate::Limits::memory_bytes`] (or a template's output did).
    #[error("transformation stopped: used more than {}", mebibytes(*.limit))]
    OutOfMemory { limit: usize },
    /// Recursion deeper than the engine's stack allows.
    #[error("transformation stopped: recursion too deep (stack overflow)")]
    StackOverflow,
    /// The code ran but what it returned cannot be sent (bad method, URL, header, body).
    #[error("transformation returned an invalid request: {0}")]
    BadOutput(String),
}

impl TransformError {
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        TransformError::Failed { message: message.into(), line: None, column: None }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        TransformError::Invalid { message: message.into(), line: None, column: None }
    }

    /// True for the errors that stopped a run at one of its limits.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            TransformError::Timeout { .. }
                | TransformError::OutOfFuel { .. }
                | TransformError::OutOfMemory { .. }
                | TransformError::StackOverflow
        )
    }
}

fn located(message: &str, line: Option<u32>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!("{message} at line {line}, column {column}"),
        (Some(line), None) => format!("{message} at line {line}"),
        _ => message.to_owned(),
    }
}

fn mebibytes(bytes: usize) -> String {
    if bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_fit_an_attempt_response() {
        let failed =
            TransformError::Failed { message: "TypeError: x".into(), line: Some(3), column: Some(7) };
        assert_eq!(failed.to_string(), "transformation failed: TypeError: x at line 3, column 7");
        let invalid = TransformError::Invalid { message: "bad".into(), line: Some(2), column: None };
        assert_eq!(invalid.to_string(), "invalid transformation: bad at line 2");
        assert_eq!(
            TransformError::Timeout { limit: Duration::from_millis(250) }.to_string(),
            "transformation stopped: ran longer than 250 ms"
        );
        assert_eq!(
            TransformError::OutOfMemory { limit: 32 * 1024 * 1024 }.to_string(),
            "transformation stopped: used more than 32 MiB"
        );
        assert_eq!(
            TransformError::OutOfMemory { limit: 1000 }.to_string(),
            "transformation stopped: used more than 1000 bytes"
        );
        assert!(TransformError::StackOverflow.is_limit());
        assert!(!TransformError::failed("x").is_limit());
    }
}
