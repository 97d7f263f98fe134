//! Reading the delivery queue for the API: a message's destinations, an endpoint's
//! messages, and an endpoint's delivery counts. Writes to the queue live in
//! [`crate::queue`].

use herald_core::{Delivery, DeliveryStatus, Endpoint, EndpointId, Message, MessageId, Timestamp};
use herald_store::{DeliveryCounts, MessageFilter, Page, PageQuery, SecretCipher};
use sqlx::PgPool;

use crate::messages::filter_messages;
use crate::rows::{self, DELIVERY_WIDTH, delivery_columns, endpoint_columns, message_columns};
use crate::sql::{Result, Select, narrow};

pub(crate) async fn message_destinations(
    pool: &PgPool,
    msg: &MessageId,
    page: &PageQuery,
    secrets: &SecretCipher,
) -> Result<Page<(Delivery, Endpoint)>> {
    let head = concat!(
        "SELECT ",
        delivery_columns!("d."),
        ", ",
        endpoint_columns!("e."),
        " FROM delivery d JOIN endpoint e ON e.id = d.endpoint_id WHERE TRUE"
    );
    let rows = Select::new(head)
        .and_bind("d.msg_id = ", msg.as_str(), "")
        .page("d.endpoint_id", page)
        .fetch(pool, |r| Ok((rows::delivery(r)?, rows::endpoint(r, DELIVERY_WIDTH, secrets)?)))
        .await?;
    Ok(Page::from_overfetch(rows, page))
}

pub(crate) async fn endpoint_messages(
    pool: &PgPool,
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
        " FROM delivery d JOIN message m ON m.id = d.msg_id WHERE TRUE"
    );
    let mut select = Select::new(head);
    select
        .and_bind("d.endpoint_id = ", endpoint.as_str(), "")
        .and_if("d.status = ", status.map(|s| rows::code(s.code())));
    filter_messages(&mut select, filter);
    let rows = select
        .page("d.msg_id", page)
        .fetch(pool, |r| Ok((rows::delivery(r)?, rows::message(r, DELIVERY_WIDTH)?)))
        .await?;
    Ok(Page::from_overfetch(rows, page))
}

/// Counts by status; the message table is joined only when a creation window is given.
pub(crate) async fn endpoint_stats(
    pool: &PgPool,
    endpoint: &EndpointId,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> Result<DeliveryCounts> {
    let head = if since.is_some() || until.is_some() {
        "SELECT d.status, COUNT(*) FROM delivery d JOIN message m ON m.id = d.msg_id WHERE TRUE"
    } else {
        "SELECT d.status, COUNT(*) FROM delivery d WHERE TRUE"
    };
    let mut select = Select::new(head);
    select
        .and_bind("d.endpoint_id = ", endpoint.as_str(), "")
        .and_if("m.created_at >= ", since.map(Timestamp::millis))
        .and_if("m.created_at < ", until.map(Timestamp::millis))
        .push(" GROUP BY d.status");
    let by_status = select
        .fetch(pool, |r| Ok((rows::status(rows::col(r, 0)?)?, narrow::<u64>(rows::col(r, 1)?, "count")?)))
        .await?;
    Ok(DeliveryCounts::from_rows(by_status))
}
