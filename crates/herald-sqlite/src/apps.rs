//! Applications and event types: plain rows, looked up by id or `uid` (applications)
//! or by name (event types). Deleting an application deletes everything it owns here,
//! since the schema declares no foreign keys.

use herald_core::{AppId, Application, EventType};
use herald_store::{Page, PageQuery};
use rusqlite::{Connection, OptionalExtension, params};

use crate::rows::{self, app_columns, event_type_columns};
use crate::sql::{DbResult, Result, Select, changed};

const APP_KEYS: (&str, &str) = ("application id", "application uid");

pub(crate) fn insert_app(conn: &Connection, app: &Application) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO application (id, uid, name, metadata, throttle_rate, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .db()?;
    stmt.execute(params![
        app.id.as_str(),
        app.uid,
        app.name,
        herald_store::codec::encode_map(&app.metadata),
        app.throttle_rate,
        app.created_at.millis(),
        app.updated_at.millis(),
    ])
    .or_conflict(APP_KEYS.0, APP_KEYS.1)
    .map(drop)
}

/// By id or uid; an id match wins over a uid that happens to look like it.
pub(crate) fn get_app(conn: &Connection, key: &str) -> Result<Option<Application>> {
    let sql = concat!(
        "SELECT ",
        app_columns!("a."),
        " FROM application a WHERE a.id = ?1 OR a.uid = ?1 ORDER BY a.id = ?1 DESC LIMIT 1"
    );
    let mut stmt = conn.prepare_cached(sql).db()?;
    stmt.query_row([key], |row| Ok(rows::app(row))).optional().db()?.transpose()
}

pub(crate) fn list_apps(conn: &Connection, page: &PageQuery) -> Result<Page<Application>> {
    let rows = Select::new(concat!("SELECT ", app_columns!("a."), " FROM application a WHERE 1"), [])
        .page("a.id", page)
        .fetch(conn, rows::app)?;
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) fn update_app(conn: &Connection, app: &Application) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE application SET uid = ?2, name = ?3, metadata = ?4, throttle_rate = ?5, updated_at = ?6
             WHERE id = ?1",
        )
        .db()?;
    let n = stmt
        .execute(params![
            app.id.as_str(),
            app.uid,
            app.name,
            herald_store::codec::encode_map(&app.metadata),
            app.throttle_rate,
            app.updated_at.millis(),
        ])
        .or_conflict(APP_KEYS.0, APP_KEYS.1)?;
    changed(n)
}

/// Deletes the application, then what it owns: attempts and deliveries (found through
/// its messages, by index), messages, endpoints, access tokens and sources.
pub(crate) fn delete_app(conn: &Connection, id: &AppId) -> Result<()> {
    changed(conn.prepare_cached("DELETE FROM application WHERE id = ?1").db()?.execute([id.as_str()]).db()?)?;
    for sql in [
        "DELETE FROM attempt WHERE msg_id IN (SELECT id FROM message WHERE app_id = ?1)",
        "DELETE FROM delivery WHERE msg_id IN (SELECT id FROM message WHERE app_id = ?1)",
        "DELETE FROM message WHERE app_id = ?1",
        "DELETE FROM endpoint WHERE app_id = ?1",
        "DELETE FROM app_token WHERE app_id = ?1",
    ] {
        conn.prepare_cached(sql).db()?.execute([id.as_str()]).db()?;
    }
    crate::sources::delete_of_app(conn, id)
}

pub(crate) fn insert_event_type(conn: &Connection, et: &EventType) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO event_type
               (name, description, archived, deprecated, feature_flag, schemas, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .db()?;
    stmt.execute(params![
        et.name,
        et.description,
        et.archived,
        et.deprecated,
        et.feature_flag,
        et.schemas.as_ref().map(|s| s.to_string()),
        et.created_at.millis(),
        et.updated_at.millis(),
    ])
    .or_conflict("event type", "event type")
    .map(drop)
}

pub(crate) fn get_event_type(conn: &Connection, name: &str) -> Result<Option<EventType>> {
    let sql = concat!("SELECT ", event_type_columns!("t."), " FROM event_type t WHERE t.name = ?1");
    let mut stmt = conn.prepare_cached(sql).db()?;
    stmt.query_row([name], |row| Ok(rows::event_type(row))).optional().db()?.transpose()
}

pub(crate) fn list_event_types(
    conn: &Connection,
    page: &PageQuery,
    include_archived: bool,
) -> Result<Page<EventType>> {
    let mut select =
        Select::new(concat!("SELECT ", event_type_columns!("t."), " FROM event_type t WHERE 1"), []);
    if !include_archived {
        select.and("t.archived = 0", []);
    }
    let rows = select.page("t.name", page).fetch(conn, rows::event_type)?;
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) fn update_event_type(conn: &Connection, et: &EventType) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE event_type SET description = ?2, archived = ?3, deprecated = ?4, feature_flag = ?5,
               schemas = ?6, updated_at = ?7
             WHERE name = ?1",
        )
        .db()?;
    let n = stmt
        .execute(params![
            et.name,
            et.description,
            et.archived,
            et.deprecated,
            et.feature_flag,
            et.schemas.as_ref().map(|s| s.to_string()),
            et.updated_at.millis(),
        ])
        .db()?;
    changed(n)
}

pub(crate) fn delete_event_type(conn: &Connection, name: &str) -> Result<()> {
    changed(conn.prepare_cached("DELETE FROM event_type WHERE name = ?1").db()?.execute([name]).db()?)
}
