//! Messages: the outbox write (the message row, its pending deliveries and an inbound
//! message's dedup claim in one statement, hence one transaction and one round trip),
//! look-ups by id or `eventId`, and the message filters shared with an endpoint's and
//! the attempts' lists.
//!
//! `create` is on the hot path: the message insert, the delivery insert (one row per
//! endpoint, from an array parameter) and the wake-up `NOTIFY` are one statement of
//! data-modifying CTEs. If any part fails (a taken `eventId`), none of it happens and
//! no notification is sent. The deliveries it returns are built from what it inserted.

use std::collections::HashSet;

use herald_core::{AppId, Delivery, DeliveryStatus, EndpointId, Message, MessageId, Timestamp, Trigger};
use herald_store::{MessageFilter, Page, PageQuery, StoreError};
use sqlx::PgPool;

use crate::listen::wake_if_any;
use crate::rows::{self, message_columns};
use crate::sql::{Result, Select, changed, db};

/// Inserts the message and one pending delivery per distinct endpoint, due at the
/// message's creation, leased until `lease_until` if given; without a lease, other
/// processes' workers are woken at commit. An inbound message with a dedup claim
/// first claims its key (`claim`): when a live claim holds it, the `ON CONFLICT`
/// update is skipped, nothing else is inserted, and the answer is a conflict. The
/// source's other expired claims are dropped on the way (`purge`).
pub(crate) async fn create(
    pool: &PgPool,
    msg: &Message,
    endpoints: &[EndpointId],
    lease_until: Option<Timestamp>,
) -> Result<Vec<Delivery>> {
    // A repeated endpoint id is skipped by ON CONFLICT rather than failing the message.
    let sql = concat!(
        "WITH claim AS (
           INSERT INTO source_dedup (source_id, dedup_key, msg_id, expires_at)
           SELECT $13, $14, $1, $15 WHERE $14::text IS NOT NULL
           ON CONFLICT (source_id, dedup_key) DO UPDATE
             SET msg_id = EXCLUDED.msg_id, expires_at = EXCLUDED.expires_at
             WHERE source_dedup.expires_at <= $8
           RETURNING msg_id),
         purge AS (
           DELETE FROM source_dedup
           WHERE $14::text IS NOT NULL AND source_id = $13 AND expires_at <= $8 AND dedup_key <> $14),
         msg AS (
           INSERT INTO message (id, app_id, event_type, event_id, payload, channels, tags, created_at,
             expires_at, inbound)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $12
           WHERE $14::text IS NULL OR EXISTS (SELECT 1 FROM claim)
           RETURNING id),
         due AS (
           INSERT INTO delivery (msg_id, endpoint_id, app_id, status, attempts, next_attempt_at,
             next_trigger, lease_until, created_at, updated_at)
           SELECT msg.id, ep, $2, 1, 0, $8, 0, $11, $8, $8 FROM msg CROSS JOIN UNNEST($10::text[]) AS ep
           ON CONFLICT DO NOTHING
           RETURNING endpoint_id, lease_until), ",
        wake_if_any!("due WHERE lease_until IS NULL"),
        " SELECT (SELECT COUNT(*) FROM msg), ARRAY(SELECT endpoint_id FROM due), (SELECT COUNT(*) FROM wake)"
    );
    let targets: Vec<&str> = endpoints.iter().map(EndpointId::as_str).collect();
    let origin = msg.inbound.as_ref();
    let claim = origin.and_then(|o| o.dedup.as_ref());
    let (stored, inserted, _woken): (i64, Vec<String>, i64) = sqlx::query_as(sql)
        .bind(msg.id.as_str())
        .bind(msg.app_id.as_str())
        .bind(&msg.event_type)
        .bind(msg.event_id.as_deref())
        .bind(msg.payload.as_deref())
        .bind(msg.channels.as_deref())
        .bind(msg.tags.as_deref())
        .bind(msg.created_at.millis())
        .bind(msg.expires_at.map(Timestamp::millis))
        .bind(targets)
        .bind(lease_until.map(Timestamp::millis))
        .bind(herald_store::codec::encode_inbound(origin))
        .bind(origin.map(|o| o.source.as_str()))
        .bind(claim.map(|c| c.key.as_str()))
        .bind(claim.map(|c| c.until.millis()))
        .fetch_one(pool)
        .await
        .map_err(db)?;
    if stored == 0 {
        return Err(StoreError::Conflict("source dedup key"));
    }
    // In the caller's order, as the SQLite store returns them.
    let mut fresh: HashSet<String> = inserted.into_iter().collect();
    Ok(endpoints.iter().filter(|e| fresh.remove(e.as_str())).map(|e| pending(msg, e)).collect())
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
pub(crate) async fn get(pool: &PgPool, app: &AppId, key: &str) -> Result<Option<Message>> {
    let sql = concat!(
        "SELECT ",
        message_columns!("m."),
        " FROM message m WHERE m.app_id = $1 AND (m.id = $2 OR m.event_id = $2)",
        " ORDER BY m.id = $2 DESC LIMIT 1"
    );
    let row = sqlx::query(sql).bind(app.as_str()).bind(key).fetch_optional(pool).await.map_err(db)?;
    row.as_ref().map(|r| rows::message(r, 0)).transpose()
}

pub(crate) async fn by_id(pool: &PgPool, ids: &[MessageId]) -> Result<Vec<Message>> {
    let sql = concat!("SELECT ", message_columns!("m."), " FROM message m WHERE m.id = ANY($1)");
    let ids: Vec<&str> = ids.iter().map(MessageId::as_str).collect();
    let found = sqlx::query(sql).bind(ids).fetch_all(pool).await.map_err(db)?;
    found.iter().map(|r| rows::message(r, 0)).collect()
}

pub(crate) async fn list(
    pool: &PgPool,
    app: &AppId,
    filter: &MessageFilter,
    page: &PageQuery,
) -> Result<Page<Message>> {
    let mut select = Select::new(concat!("SELECT ", message_columns!("m."), " FROM message m WHERE TRUE"));
    select.and_bind("m.app_id = ", app.as_str(), "");
    filter_messages(&mut select, filter);
    let rows = select.page("m.id", page).fetch(pool, |r| rows::message(r, 0)).await?;
    Ok(Page::from_overfetch(rows, page))
}

/// Adds a [`MessageFilter`] on the table aliased `m`.
pub(crate) fn filter_messages(select: &mut Select, filter: &MessageFilter) {
    if let Some(types) = &filter.event_types {
        select.and_bind("m.event_type = ANY(", types.clone(), ")");
    }
    if let Some(channel) = &filter.channel {
        select.and_bind("", channel.clone(), " = ANY(m.channels)");
    }
    if let Some(tag) = &filter.tag {
        select.and_bind("", tag.clone(), " = ANY(m.tags)");
    }
    select
        .and_if("m.created_at < ", filter.before.map(Timestamp::millis))
        .and_if("m.created_at > ", filter.after.map(Timestamp::millis));
}

pub(crate) async fn expunge_payload(pool: &PgPool, app: &AppId, id: &MessageId) -> Result<()> {
    let done = sqlx::query("UPDATE message SET payload = NULL WHERE id = $1 AND app_id = $2")
        .bind(id.as_str())
        .bind(app.as_str())
        .execute(pool)
        .await
        .map_err(db)?;
    changed(done.rows_affected())
}
