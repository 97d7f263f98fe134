//! Reading the delivery queue for the API: a message's destinations, an endpoint's
//! messages, and an endpoint's delivery counts. Writes to the queue live in
//! [`crate::queue`].

use herald_core::{Delivery, DeliveryStatus, Endpoint, EndpointId, Message, MessageId, Timestamp};
use herald_store::{DeliveryCounts, MessageFilter, Page, PageQuery, SecretCipher};
use rusqlite::Connection;

use crate::messages::filter_messages;
use crate::rows::{self, DELIVERY_WIDTH, delivery_columns, endpoint_columns, message_columns};
use crate::sql::{Result, Select, text};

pub(crate) fn message_destinations(
    conn: &Connection,
    msg: &MessageId,
    page: &PageQuery,
    secrets: &SecretCipher,
) -> Result<Page<(Delivery, Endpoint)>> {
    let head = concat!(
        "SELECT ",
        delivery_columns!("d."),
        ", ",
        endpoint_columns!("e."),
        " FROM delivery d JOIN endpoint e ON e.id = d.endpoint_id WHERE d.msg_id = ?"
    );
    let rows = Select::new(head, [text(msg.as_str())])
        .page("d.endpoint_id", page)
        .fetch(conn, |r| Ok((rows::delivery(r)?, rows::endpoint(r, DELIVERY_WIDTH, secrets)?)))?;
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) fn endpoint_messages(
    conn: &Connection,
    endpoint: &EndpointId,
    filter: &MessageFilter,
    status: Option<DeliveryStatus>,
    page: &PageQuery,
) -> Result<Page<(Delivery, Message)>> {
    let head = concat!(
        "SELECT ",
        delivery_columns!("d."),
        ", ",
        message_columns!("m."),
        " FROM delivery d JOIN message m ON m.id = d.msg_id WHERE d.endpoint_id = ?"
    );
    let mut select = Select::new(head, [text(endpoint.as_str())]);
    select.and_if("d.status = ?", status.map(DeliveryStatus::code));
    filter_messages(&mut select, filter);
    let rows = select
        .page("d.msg_id", page)
        .fetch(conn, |r| Ok((rows::delivery(r)?, rows::message(r, DELIVERY_WIDTH)?)))?;
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) fn endpoint_stats(
    conn: &Connection,
    endpoint: &EndpointId,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> Result<DeliveryCounts> {
    let head = if since.is_some() || until.is_some() {
        "SELECT d.status, COUNT(*) FROM delivery d JOIN message m ON m.id = d.msg_id WHERE d.endpoint_id = ?"
    } else {
        "SELECT d.status, COUNT(*) FROM delivery d WHERE d.endpoint_id = ?"
    };
    let mut select = Select::new(head, [text(endpoint.as_str())]);
    select
        .and_if("m.created_at >= ?", since.map(Timestamp::millis))
        .and_if("m.created_at < ?", until.map(Timestamp::millis))
        .push(" GROUP BY d.status");
    let by_status = select.fetch(conn, |r| Ok((rows::status(rows::col(r, 0)?)?, rows::col::<u64>(r, 1)?)))?;
    Ok(DeliveryCounts::from_rows(by_status))
}
