//! Messages: the outbox write (the message row and its pending deliveries in the
//! same transaction, with an inbound message's dedup claim), look-ups by id or
//! `eventId`, and the message filters shared with an endpoint's message list.
//!
//! `create` is on the hot path: two cached statements, no reads; the deliveries it
//! returns are built from what it inserted.

use herald_core::{AppId, Delivery, DeliveryStatus, EndpointId, Message, MessageId, Timestamp, Trigger};
use herald_store::{MessageFilter, Page, PageQuery};
use rusqlite::{Connection, OptionalExtension, params};

use crate::rows::{self, message_columns};
use crate::sql::{DbResult, Result, Select, changed, json_list, text};

/// Inserts the message and one pending delivery per distinct endpoint, due at the
/// message's creation, leased until `lease_until` if given.
pub(crate) fn create(
    conn: &Connection,
    msg: &Message,
    endpoints: &[EndpointId],
    lease_until: Option<Timestamp>,
) -> Result<Vec<Delivery>> {
    if let Some(origin) = &msg.inbound {
        crate::sources::claim_dedup_key(conn, msg, origin)?;
    }
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO message
               (id, app_id, event_type, event_id, payload, channels, tags, created_at, expires_at, inbound)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .db()?;
    insert
        .execute(params![
            msg.id.as_str(),
            msg.app_id.as_str(),
            msg.event_type,
            msg.event_id,
            msg.payload.as_deref(),
            rows::encode_list(msg.channels.as_ref()),
            rows::encode_list(msg.tags.as_ref()),
            msg.created_at.millis(),
            msg.expires_at.map(Timestamp::millis),
            herald_store::codec::encode_inbound(msg.inbound.as_ref()),
        ])
        .or_conflict("message id", "message eventId")?;
    // A repeated endpoint id is skipped by ON CONFLICT rather than failing the message.
    let mut deliver = conn
        .prepare_cached(
            "INSERT INTO delivery (msg_id, endpoint_id, app_id, status, attempts, next_attempt_at,
               next_trigger, lease_until, created_at, updated_at)
             VALUES (?1, ?2, ?3, 1, 0, ?4, 0, ?5, ?4, ?4)
             ON CONFLICT DO NOTHING",
        )
        .db()?;
    let mut deliveries = Vec::with_capacity(endpoints.len());
    for endpoint in endpoints {
        let at = msg.created_at.millis();
        let lease = lease_until.map(Timestamp::millis);
        if deliver
            .execute(params![msg.id.as_str(), endpoint.as_str(), msg.app_id.as_str(), at, lease])
            .db()?
            == 1
        {
            deliveries.push(pending(msg, endpoint));
        }
    }
    Ok(deliveries)
}

fn pending(msg: &Message, endpoint: &EndpointId) -> Delivery {
    Delivery {
        msg_id: msg.id.clone(),
        endpoint_id: endpoint.clone(),
        app_id: msg.app_id.clone(),
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: Some(msg.created_at),
        next_trigger: Trigger::Scheduled,
        created_at: msg.created_at,
        updated_at: msg.created_at,
    }
}

/// By id, else by `eventId`, within the application.
pub(crate) fn get(conn: &Connection, app: &AppId, key: &str) -> Result<Option<Message>> {
    let sql = concat!(
        "SELECT ",
        message_columns!("m."),
        " FROM message m WHERE m.app_id = ?1 AND (m.id = ?2 OR m.event_id = ?2)",
        " ORDER BY m.id = ?2 DESC LIMIT 1"
    );
    let mut stmt = conn.prepare_cached(sql).db()?;
    stmt.query_row([app.as_str(), key], |row| Ok(rows::message(row, 0))).optional().db()?.transpose()
}

pub(crate) fn by_id(conn: &Connection, ids: &[MessageId]) -> Result<Vec<Message>> {
    let head = concat!(
        "SELECT ",
        message_columns!("m."),
        " FROM message m WHERE m.id IN (SELECT value FROM json_each(?))"
    );
    Select::new(head, [json_list(ids.iter().map(MessageId::as_str))]).fetch(conn, |r| rows::message(r, 0))
}

pub(crate) fn list(
    conn: &Connection,
    app: &AppId,
    filter: &MessageFilter,
    page: &PageQuery,
) -> Result<Page<Message>> {
    let mut select = Select::new(
        concat!("SELECT ", message_columns!("m."), " FROM message m WHERE m.app_id = ?"),
        [text(app.as_str())],
    );
    filter_messages(&mut select, filter);
    let rows = select.page("m.id", page).fetch(conn, |r| rows::message(r, 0))?;
    Ok(Page::from_overfetch(rows, page))
}

/// Adds a [`MessageFilter`] on the table aliased `m`.
pub(crate) fn filter_messages(select: &mut Select, filter: &MessageFilter) {
    if let Some(types) = &filter.event_types {
        select.and(
            "m.event_type IN (SELECT value FROM json_each(?))",
            [json_list(types.iter().map(String::as_str))],
        );
    }
    select
        .and_if("EXISTS (SELECT 1 FROM json_each(m.channels) WHERE value = ?)", filter.channel.clone())
        .and_if("EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = ?)", filter.tag.clone())
        .and_if("m.created_at < ?", filter.before.map(Timestamp::millis))
        .and_if("m.created_at > ?", filter.after.map(Timestamp::millis));
}

pub(crate) fn expunge_payload(conn: &Connection, app: &AppId, id: &MessageId) -> Result<()> {
    let mut stmt =
        conn.prepare_cached("UPDATE message SET payload = NULL WHERE id = ?1 AND app_id = ?2").db()?;
    changed(stmt.execute([id.as_str(), app.as_str()]).db()?)
}
