//! The helpers templates get beyond minijinja's built-ins (`tojson`, `urlencode`, `default`,
//! `join`, `replace`, …): JSON in and out, form encoding, base64 and basic auth, timestamps,
//! truncation. Each charges fuel for what it allocates, so the run's budget bounds it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use minijinja::value::{Kwargs, Serde, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Fuel charged per byte a helper allocates (minijinja charges about one unit per 64 bytes).
const BYTES_PER_FUEL: u64 = 64;

/// The value of the global `omit`: a `json` leaf that renders it is left out.
pub(super) const OMIT: &str = "__herald_omit__";

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_global("omit", OMIT);
    env.add_filter("fromjson", fromjson);
    env.add_filter("pretty", pretty);
    env.add_filter("form", form);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("truncate", truncate);
    env.add_filter("isoformat", isoformat);
    env.add_function("basic_auth", basic_auth);
}

fn charge(state: &State, bytes: usize) -> Result<(), Error> {
    state.consume_fuel(bytes as u64 / BYTES_PER_FUEL)
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// `'{"a": 1}' | fromjson` → the parsed value.
fn fromjson(state: &State, text: &str) -> Result<Value, Error> {
    charge(state, text.len())?;
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("fromjson: {e}")))?;
    Ok(Value::from(Serde(value)))
}

/// `payload | pretty` → JSON indented by two spaces.
fn pretty(state: &State, value: &Value) -> Result<String, Error> {
    let text = serde_json::to_string_pretty(value).map_err(|e| invalid(format!("pretty: {e}")))?;
    charge(state, text.len())?;
    Ok(text)
}

/// `{"To": "+1555", "Body": "hi there"} | form` → `To=%2B1555&Body=hi+there`
/// (`application/x-www-form-urlencoded`). Null and undefined values are left out; a list
/// value repeats its key.
fn form(state: &State, map: &Value) -> Result<String, Error> {
    if map.kind() != ValueKind::Map {
        return Err(invalid(format!("form: expected a map, got {}", map.kind())));
    }
    let mut out = form_urlencoded::Serializer::new(String::new());
    for key in map.try_iter()? {
        let value = map.get_item(&key)?;
        let key = key.to_string();
        if value.kind() == ValueKind::Seq {
            for item in value.try_iter()? {
                out.append_pair(&key, &item.to_string());
            }
        } else if !(value.is_none() || value.is_undefined()) {
            out.append_pair(&key, &value.to_string());
        }
    }
    let text = out.finish();
    charge(state, text.len())?;
    Ok(text)
}

/// `"user:pass" | b64encode` → standard base64 of the UTF-8 text.
fn b64encode(state: &State, text: &str) -> Result<String, Error> {
    charge(state, text.len() * 4 / 3)?;
    Ok(STANDARD.encode(text))
}

/// Standard base64 → UTF-8 text.
fn b64decode(state: &State, text: &str) -> Result<String, Error> {
    charge(state, text.len())?;
    let bytes = STANDARD.decode(text.trim()).map_err(|e| invalid(format!("b64decode: {e}")))?;
    String::from_utf8(bytes).map_err(|_| invalid("b64decode: the decoded bytes are not UTF-8"))
}

/// `basic_auth("AC123", token)` → `Basic QUMxMjM6…`, an `Authorization` header value.
fn basic_auth(state: &State, user: &str, password: &str) -> Result<String, Error> {
    charge(state, (user.len() + password.len()) * 4 / 3)?;
    Ok(format!("Basic {}", STANDARD.encode(format!("{user}:{password}"))))
}

/// `text | truncate(100)` → at most 100 characters, ending in `…` when cut
/// (`truncate(100, end="...")` to choose the ending). Counts characters, not bytes.
fn truncate(text: &str, length: usize, kwargs: Kwargs) -> Result<String, Error> {
    let end: Option<String> = kwargs.get("end")?;
    kwargs.assert_all_used()?;
    let end = end.unwrap_or_else(|| "…".to_owned());
    if text.chars().count() <= length {
        return Ok(text.to_owned());
    }
    let keep = length.saturating_sub(end.chars().count());
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(&end);
    Ok(out)
}

/// `timestamp | isoformat` → `2026-11-27T08:30:00Z` (RFC 3339, UTC) from unix seconds.
fn isoformat(seconds: i64) -> Result<String, Error> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .ok_or_else(|| invalid(format!("isoformat: {seconds} is not a unix timestamp")))
}
