//! Row ↔ domain mapping: the column lists every `SELECT` uses, the functions that turn
//! a row back into a domain value, and the JSON encodings of lists and maps. Endpoint
//! secrets are sealed and opened by [`herald_store::secrets`], the same in both stores.
//!
//! Column lists are macros taking a table alias (`cols!("m.")`), so the SQL stays a
//! compile-time `&'static str` that `prepare_cached` can key on, and joined queries
//! read the second table from a known offset (`*_WIDTH`).

use herald_core::{
    AppId, Application, Attempt, AttemptId, Delivery, DeliveryStatus, Endpoint, EndpointId, EventType,
    Message, MessageId, Timestamp, Trigger,
};
use herald_store::{SecretCipher, StoreError, codec};
use rusqlite::Row;
use rusqlite::types::FromSql;

use crate::sql::Result;

/// `columns!("m.": "id", "app_id")` is `"m.id, m.app_id"`, as a literal.
macro_rules! columns {
    ($p:literal: $first:literal $(, $rest:literal)*) => { concat!($p, $first $(, ", ", $p, $rest)*) };
}
macro_rules! app_columns {
    ($p:literal) => {
        $crate::rows::columns!($p: "id", "uid", "name", "metadata", "throttle_rate", "created_at",
            "updated_at")
    };
}
macro_rules! event_type_columns {
    ($p:literal) => {
        $crate::rows::columns!($p: "name", "description", "archived", "deprecated", "feature_flag",
            "schemas", "created_at", "updated_at")
    };
}
macro_rules! endpoint_columns {
    ($p:literal) => {
        $crate::rows::columns!($p: "id", "app_id", "uid", "url", "description", "event_types", "channels",
            "disabled", "throttle_rate", "metadata", "headers", "secrets", "created_at", "updated_at",
            "failing_since", "disabled_reason", "transformation", "payload_filter")
    };
}
macro_rules! message_columns {
    ($p:literal) => {
        $crate::rows::columns!($p: "id", "app_id", "event_type", "event_id", "payload", "channels", "tags",
            "created_at", "expires_at", "inbound")
    };
}
macro_rules! delivery_columns {
    ($p:literal) => {
        $crate::rows::columns!($p: "msg_id", "endpoint_id", "app_id", "status", "attempts",
            "next_attempt_at", "next_trigger", "created_at", "updated_at")
    };
}
macro_rules! attempt_columns {
    ($p:literal) => {
        $crate::rows::columns!($p: "id", "msg_id", "endpoint_id", "app_id", "url", "status",
            "response_status_code", "response", "duration_ms", "trigger_type", "created_at",
            "request_method", "request_headers", "request_body")
    };
}
pub(crate) use {
    app_columns, attempt_columns, columns, delivery_columns, endpoint_columns, event_type_columns,
    message_columns,
};

/// Columns in `delivery_columns!`: where a joined table's columns start.
pub(crate) const DELIVERY_WIDTH: usize = 9;

pub(crate) fn app(row: &Row<'_>) -> Result<Application> {
    Ok(Application {
        id: AppId::from_trusted(col(row, 0)?),
        uid: col(row, 1)?,
        name: col(row, 2)?,
        metadata: codec::decode_map(&col::<String>(row, 3)?)?,
        throttle_rate: col(row, 4)?,
        created_at: Timestamp(col(row, 5)?),
        updated_at: Timestamp(col(row, 6)?),
    })
}

pub(crate) fn event_type(row: &Row<'_>) -> Result<EventType> {
    let schemas: Option<String> = col(row, 5)?;
    Ok(EventType {
        name: col(row, 0)?,
        description: col(row, 1)?,
        archived: col(row, 2)?,
        deprecated: col(row, 3)?,
        feature_flag: col(row, 4)?,
        schemas: schemas
            .map(|s| serde_json::from_str(&s).map_err(corrupt("event type schemas")))
            .transpose()?,
        created_at: Timestamp(col(row, 6)?),
        updated_at: Timestamp(col(row, 7)?),
    })
}

/// An endpoint whose columns start at `at`, its secrets opened with `secrets`.
pub(crate) fn endpoint(row: &Row<'_>, at: usize, secrets: &SecretCipher) -> Result<Endpoint> {
    let id = EndpointId::from_trusted(col(row, at)?);
    Ok(Endpoint {
        secrets: secrets.open(&id, &col::<String>(row, at + 11)?)?,
        id,
        app_id: AppId::from_trusted(col(row, at + 1)?),
        uid: col(row, at + 2)?,
        url: col(row, at + 3)?,
        description: col(row, at + 4)?,
        event_types: decode_list(col(row, at + 5)?)?,
        channels: decode_list(col(row, at + 6)?)?,
        disabled: col(row, at + 7)?,
        throttle_rate: col(row, at + 8)?,
        metadata: codec::decode_map(&col::<String>(row, at + 9)?)?,
        headers: codec::decode_map(&col::<String>(row, at + 10)?)?,
        failing_since: col::<Option<i64>>(row, at + 14)?.map(Timestamp),
        disabled_reason: col(row, at + 15)?,
        transformation: codec::decode_transformation(col::<Option<String>>(row, at + 16)?.as_deref())?,
        filter: codec::decode_filter(col::<Option<String>>(row, at + 17)?.as_deref())?,
        created_at: Timestamp(col(row, at + 12)?),
        updated_at: Timestamp(col(row, at + 13)?),
    })
}

/// A message whose columns start at `at`.
pub(crate) fn message(row: &Row<'_>, at: usize) -> Result<Message> {
    let payload: Option<Vec<u8>> = col(row, at + 4)?;
    Ok(Message {
        id: MessageId::from_trusted(col(row, at)?),
        app_id: AppId::from_trusted(col(row, at + 1)?),
        event_type: col(row, at + 2)?,
        event_id: col(row, at + 3)?,
        payload: payload.map(bytes::Bytes::from),
        channels: decode_list(col(row, at + 5)?)?,
        tags: decode_list(col(row, at + 6)?)?,
        created_at: Timestamp(col(row, at + 7)?),
        expires_at: col::<Option<i64>>(row, at + 8)?.map(Timestamp),
        inbound: herald_store::codec::decode_inbound(col::<Option<String>>(row, at + 9)?.as_deref())?,
    })
}

/// A delivery from the first columns of a row.
pub(crate) fn delivery(row: &Row<'_>) -> Result<Delivery> {
    Ok(Delivery {
        msg_id: MessageId::from_trusted(col(row, 0)?),
        endpoint_id: EndpointId::from_trusted(col(row, 1)?),
        app_id: AppId::from_trusted(col(row, 2)?),
        status: status(col(row, 3)?)?,
        attempts: col(row, 4)?,
        next_attempt_at: col::<Option<i64>>(row, 5)?.map(Timestamp),
        next_trigger: Trigger::from_code(col(row, 6)?),
        created_at: Timestamp(col(row, 7)?),
        updated_at: Timestamp(col(row, 8)?),
    })
}

pub(crate) fn attempt(row: &Row<'_>) -> Result<Attempt> {
    Ok(Attempt {
        id: AttemptId::from_trusted(col(row, 0)?),
        msg_id: MessageId::from_trusted(col(row, 1)?),
        endpoint_id: EndpointId::from_trusted(col(row, 2)?),
        app_id: AppId::from_trusted(col(row, 3)?),
        url: col(row, 4)?,
        status: status(col(row, 5)?)?,
        response_status_code: col(row, 6)?,
        response: col(row, 7)?,
        duration_ms: col(row, 8)?,
        trigger: Trigger::from_code(col(row, 9)?),
        created_at: Timestamp(col(row, 10)?),
        request: codec::decode_sent_request(
            col(row, 11)?,
            col::<Option<String>>(row, 12)?.as_deref(),
            col(row, 13)?,
        )?,
    })
}

pub(crate) fn status(code: i64) -> Result<DeliveryStatus> {
    DeliveryStatus::from_code(code)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown delivery status {code}")))
}

/// An optional list as a JSON array, `None` as SQL NULL.
pub(crate) fn encode_list(list: Option<&Vec<String>>) -> Option<String> {
    // A list of strings always serializes.
    list.map(|items| serde_json::to_string(items).unwrap_or_default())
}

fn decode_list(text: Option<String>) -> Result<Option<Vec<String>>> {
    text.map(|t| serde_json::from_str(&t).map_err(corrupt("JSON list"))).transpose()
}

/// One column, a type mismatch being corrupt data.
pub(crate) fn col<T: FromSql>(row: &Row<'_>, index: usize) -> Result<T> {
    row.get(index).map_err(corrupt("column"))
}

fn corrupt<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}
