//! Request extractors whose failures are JSON errors, never axum's text/plain
//! rejections: [`Json`] bodies (422 in Svix's shape for bad JSON, 400 for a
//! non-JSON content type, 413 past the body limit), [`Path`] parameters and the
//! [`Query`] string (which also reads Svix's comma-separated array parameters such as
//! `event_types=a,b`).

use std::str::FromStr;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use herald_core::Timestamp;
use http::request::Parts;
use http::{HeaderMap, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ValidationItem};

/// A JSON request body (or a JSON response).
#[derive(Debug)]
pub(crate) struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = json_bytes(req, state).await?;
        parse_json(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A JSON body that may be absent: an empty body reads as `T::default()`.
#[derive(Debug)]
pub(crate) struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = json_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    check_content_type(req.headers())?;
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge("The request body is larger than this server accepts".to_owned())
        } else {
            ApiError::BadRequest(format!("Could not read the request body: {rejection}"))
        }
    })
}

/// A body labelled as something other than JSON is refused; an unlabelled one is
/// read as JSON (curl without `-H content-type` should still work).
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else { return Ok(()) };
    let mime = value.to_str().unwrap_or_default().split(';').next().unwrap_or_default().trim();
    let mime = mime.to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "Expected a JSON body (content-type: application/json), got `{mime}`"
        )))
    }
}

/// Parses a JSON body, locating the failure (`["body", "channels", "2"]`) on error.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(|e| ApiError::Validation(vec![decode_error(&e)]))?;
    Ok(value)
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    use serde_path_to_error::Segment;
    let inner = e.inner();
    if inner.is_syntax() || inner.is_eof() || inner.is_io() {
        return ApiError::Validation(vec![decode_error(inner)]);
    }
    let mut loc = vec!["body".to_owned()];
    for seg in e.path().iter() {
        loc.push(match seg {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => key.clone(),
            Segment::Enum { variant } => variant.clone(),
            Segment::Unknown => "?".to_owned(),
        });
    }
    let msg = without_position(&inner.to_string());
    let kind = match missing_field(&msg) {
        Some(field) => {
            loc.push(field.to_owned());
            "value_error.missing"
        }
        None => "type_error",
    };
    ApiError::Validation(vec![ValidationItem { loc, msg, kind: kind.to_owned() }])
}

fn decode_error(e: &serde_json::Error) -> ValidationItem {
    ValidationItem::typed(&["body"], format!("The body is not valid JSON: {e}"), "value_error.jsondecode")
}

/// serde_json appends " at line 1 column 12"; the location is given by `loc`.
fn without_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

fn missing_field(msg: &str) -> Option<&str> {
    msg.strip_prefix("missing field `")?.strip_suffix('`')
}

/// Path parameters, every one a string (ids, uids and names are all strings).
#[derive(Debug)]
pub(crate) struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(rejection) => Err(ApiError::invalid(&["path"], rejection.body_text())),
        }
    }
}

/// The query string as name/value pairs, with typed accessors that fail as 422.
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(Self::parse(parts.uri.query().unwrap_or_default()))
    }
}

impl Query {
    pub(crate) fn parse(query: &str) -> Self {
        Self(url::form_urlencoded::parse(query.as_bytes()).into_owned().collect())
    }

    /// The last value given for `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// An array parameter: `name=a,b`, `name=a&name=b` and `name[]=a` all read as a
    /// list. `None` when the parameter is absent or empty.
    pub(crate) fn list(&self, name: &str) -> Option<Vec<String>> {
        let bracketed = format!("{name}[]");
        let items: Vec<String> = (self.0.iter())
            .filter(|(k, _)| *k == name || *k == bracketed)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        (!items.is_empty()).then_some(items)
    }

    pub(crate) fn bool(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None | Some("") => Ok(default),
            Some("true" | "1") => Ok(true),
            Some("false" | "0") => Ok(false),
            Some(_) => Err(ApiError::invalid(&["query", name], "value could not be parsed to a boolean")),
        }
    }

    pub(crate) fn number<T: FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        match self.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid(&["query", name], "value is not a valid integer")),
        }
    }

    /// An RFC 3339 date-time parameter (`before`, `after`, `since`, `until`).
    pub(crate) fn time(&self, name: &str) -> Result<Option<Timestamp>, ApiError> {
        match self.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => Timestamp::parse_rfc3339(v).map(Some).ok_or_else(|| {
                ApiError::invalid(&["query", name], "invalid datetime format (expected RFC 3339)")
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct In {
        url: String,
        channels: Option<Vec<String>>,
    }

    fn items(e: ApiError) -> Vec<ValidationItem> {
        match e {
            ApiError::Validation(items) => items,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn json_errors_are_located() {
        let e = items(parse_json::<In>(br#"{"channels": ["a"]}"#).expect_err("missing url"));
        assert_eq!(e[0].loc, ["body", "url"]);
        assert_eq!(e[0].kind, "value_error.missing");
        let e = items(parse_json::<In>(br#"{"url": "x", "channels": ["a", 3]}"#).expect_err("bad item"));
        assert_eq!(e[0].loc, ["body", "channels", "1"]);
        let e = items(parse_json::<In>(b"{not json").expect_err("syntax"));
        assert_eq!(e[0].kind, "value_error.jsondecode");
        let e = items(parse_json::<In>(br#"{"url": "x"} trailing"#).expect_err("trailing"));
        assert_eq!(e[0].loc, ["body"]);
    }

    #[test]
    fn query_lists_accept_commas_and_repeats() {
        let q = Query::parse("event_types=a,b&event_types=c&event_types%5B%5D=d&limit=3");
        assert_eq!(q.list("event_types").expect("list"), ["a", "b", "c", "d"]);
        assert_eq!(q.number::<usize>("limit").expect("ok"), Some(3));
        assert!(q.list("channel").is_none());
        assert!(Query::parse("with_content=maybe").bool("with_content", true).is_err());
        assert!(Query::parse("before=2024-01-01T00:00:00%2B00:00").time("before").expect("ok").is_some());
    }
}
