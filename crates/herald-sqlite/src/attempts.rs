//! Attempts: one row per HTTP try, inserted with the delivery update by
//! [`crate::queue::record_attempt`], listed per application with filters that may
//! reach into the attempt's message (event type, channel).

use herald_core::{AppId, Attempt, DeliveryStatus, Timestamp};
use herald_store::{AttemptFilter, MessageFilter, Page, PageQuery, codec};
use rusqlite::{Connection, OptionalExtension, params};

use crate::messages::filter_messages;
use crate::rows::{self, attempt_columns};
use crate::sql::{DbResult, Result, Select, changed, text};

pub(crate) fn insert(conn: &Connection, attempt: &Attempt) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO attempt (id, msg_id, endpoint_id, app_id, url, status, response_status_code,
               response, duration_ms, trigger_type, created_at, request_method, request_headers,
               request_body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .db()?;
    let (method, headers, body) = codec::encode_sent_request(attempt.request.as_ref());
    stmt.execute(params![
        attempt.id.as_str(),
        attempt.msg_id.as_str(),
        attempt.endpoint_id.as_str(),
        attempt.app_id.as_str(),
        attempt.url,
        attempt.status.code(),
        attempt.response_status_code,
        attempt.response,
        attempt.duration_ms,
        attempt.trigger.code(),
        attempt.created_at.millis(),
        method,
        headers,
        body,
    ])
    .or_conflict("attempt id", "attempt id")
    .map(drop)
}

pub(crate) fn list(
    conn: &Connection,
    app: Option<&AppId>,
    filter: &AttemptFilter,
    page: &PageQuery,
) -> Result<Page<Attempt>> {
    let needs_message = filter.event_types.is_some() || filter.channel.is_some();
    let head = if needs_message {
        concat!(
            "SELECT ",
            attempt_columns!("t."),
            " FROM attempt t JOIN message m ON m.id = t.msg_id WHERE 1"
        )
    } else {
        concat!("SELECT ", attempt_columns!("t."), " FROM attempt t WHERE 1")
    };
    let mut select = Select::new(head, []);
    select
        .and_if("t.app_id = ?", app.map(|a| text(a.as_str())))
        .and_if("t.endpoint_id = ?", filter.endpoint.as_ref().map(|e| e.as_str().to_owned()))
        .and_if("t.msg_id = ?", filter.msg.as_ref().map(|m| m.as_str().to_owned()))
        .and_if("t.status = ?", filter.status.map(DeliveryStatus::code))
        // Integer division: 404 / 100 * 100 = 400, and "no response" (0) is class 0.
        .and_if("t.response_status_code / 100 * 100 = ?", filter.status_code_class.map(i64::from))
        .and_if("t.created_at < ?", filter.before.map(Timestamp::millis))
        .and_if("t.created_at > ?", filter.after.map(Timestamp::millis));
    if needs_message {
        let on_message = MessageFilter {
            event_types: filter.event_types.clone(),
            channel: filter.channel.clone(),
            ..MessageFilter::default()
        };
        filter_messages(&mut select, &on_message);
    }
    let rows = select.page("t.id", page).fetch(conn, rows::attempt)?;
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) fn get(conn: &Connection, app: &AppId, id: &str) -> Result<Option<Attempt>> {
    let sql = concat!("SELECT ", attempt_columns!("t."), " FROM attempt t WHERE t.id = ?1 AND t.app_id = ?2");
    let mut stmt = conn.prepare_cached(sql).db()?;
    stmt.query_row([id, app.as_str()], |row| Ok(rows::attempt(row))).optional().db()?.transpose()
}

pub(crate) fn expunge_content(conn: &Connection, app: &AppId, id: &str) -> Result<()> {
    let mut stmt = conn
        .prepare_cached("UPDATE attempt SET response = '', request_body = NULL WHERE id = ?1 AND app_id = ?2")
        .db()?;
    changed(stmt.execute([id, app.as_str()]).db()?)
}
