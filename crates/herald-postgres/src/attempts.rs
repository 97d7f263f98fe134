//! Attempts: one row per HTTP try, inserted with the delivery update by
//! [`crate::queue::record_attempt`], listed per application with filters that may
//! reach into the attempt's message (event type, channel).

use herald_core::{AppId, Attempt, Timestamp};
use herald_store::{AttemptFilter, MessageFilter, Page, PageQuery};
use sqlx::PgPool;

use crate::messages::filter_messages;
use crate::rows::{self, attempt_columns};
use crate::sql::{Result, Select, changed, db};

pub(crate) async fn list(
    pool: &PgPool,
    app: Option<&AppId>,
    filter: &AttemptFilter,
    page: &PageQuery,
) -> Result<Page<Attempt>> {
    let needs_message = filter.event_types.is_some() || filter.channel.is_some();
    let head = if needs_message {
        concat!(
            "SELECT ",
            attempt_columns!("t."),
            " FROM attempt t JOIN message m ON m.id = t.msg_id WHERE TRUE"
        )
    } else {
        concat!("SELECT ", attempt_columns!("t."), " FROM attempt t WHERE TRUE")
    };
    let mut select = Select::new(head);
    select
        .and_if("t.app_id = ", app.map(|a| a.as_str().to_owned()))
        .and_if("t.endpoint_id = ", filter.endpoint.as_ref().map(|e| e.as_str().to_owned()))
        .and_if("t.msg_id = ", filter.msg.as_ref().map(|m| m.as_str().to_owned()))
        .and_if("t.status = ", filter.status.map(|s| rows::code(s.code())))
        // Integer division: 404 / 100 * 100 = 400, and "no response" (0) is class 0.
        .and_if("t.response_status_code / 100 * 100 = ", filter.status_code_class.map(i32::from))
        .and_if("t.created_at < ", filter.before.map(Timestamp::millis))
        .and_if("t.created_at > ", filter.after.map(Timestamp::millis));
    if needs_message {
        let on_message = MessageFilter {
            event_types: filter.event_types.clone(),
            channel: filter.channel.clone(),
            ..MessageFilter::default()
        };
        filter_messages(&mut select, &on_message);
    }
    let rows = select.page("t.id", page).fetch(pool, rows::attempt).await?;
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) async fn get(pool: &PgPool, app: &AppId, id: &str) -> Result<Option<Attempt>> {
    let sql = concat!("SELECT ", attempt_columns!("t."), " FROM attempt t WHERE t.id = $1 AND t.app_id = $2");
    let row = sqlx::query(sql).bind(id).bind(app.as_str()).fetch_optional(pool).await.map_err(db)?;
    row.as_ref().map(rows::attempt).transpose()
}

pub(crate) async fn expunge_content(pool: &PgPool, app: &AppId, id: &str) -> Result<()> {
    let done =
        sqlx::query("UPDATE attempt SET response = '', request_body = NULL WHERE id = $1 AND app_id = $2")
            .bind(id)
            .bind(app.as_str())
            .execute(pool)
            .await
            .map_err(db)?;
    changed(done.rows_affected())
}
