//! Pagination and filters shared by the list methods of [`crate::Store`].

use herald_core::{DeliveryStatus, EndpointId, MessageId, Timestamp};

/// Sort direction of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    Ascending,
    Descending,
}

/// Where a page starts: strictly after, or strictly before, the given key (an id,
/// or an event type name), in the list's own order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cursor {
    After(String),
    Before(String),
}

/// A page request. Items are always returned in `order`, also for a `Before` cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageQuery {
    pub limit: usize,
    pub cursor: Option<Cursor>,
    pub order: Order,
}

impl PageQuery {
    pub fn first(limit: usize, order: Order) -> Self {
        Self { limit, cursor: None, order }
    }
}

/// One page. `done` is true when nothing lies beyond it in the direction of travel.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub done: bool,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched rows: the extra row only proves
    /// there is more. For a `Before` cursor the rows were fetched in reverse order
    /// and are turned back here.
    pub fn from_overfetch(mut rows: Vec<T>, query: &PageQuery) -> Self {
        let done = rows.len() <= query.limit;
        rows.truncate(query.limit);
        if matches!(query.cursor, Some(Cursor::Before(_))) {
            rows.reverse();
        }
        Self { items: rows, done }
    }
}

/// Filters on messages (`/msg`, `/endpoint/{id}/msg`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageFilter {
    pub event_types: Option<Vec<String>>,
    pub channel: Option<String>,
    /// Created strictly before / after.
    pub before: Option<Timestamp>,
    pub after: Option<Timestamp>,
    pub tag: Option<String>,
}

/// Filters on attempts (`/attempt/endpoint/{id}`, `/attempt/msg/{id}`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttemptFilter {
    pub endpoint: Option<EndpointId>,
    pub msg: Option<MessageId>,
    pub status: Option<DeliveryStatus>,
    /// 100, 200, 300, 400 or 500 for a class of status codes; 0 for "no response".
    pub status_code_class: Option<u16>,
    pub event_types: Option<Vec<String>>,
    pub channel: Option<String>,
    pub before: Option<Timestamp>,
    pub after: Option<Timestamp>,
}
