//! Svix's list pagination: `limit` (default 50, at most 250), `iterator`, `order`
//! in; `{data, iterator, prevIterator, done}` out.
//!
//! `iterator` is the key (id, or event type name) of the last item of the page and
//! continues forwards; `prevIterator` is `-` followed by the key of the first item
//! and goes back. An incoming iterator starting with `-` is therefore a
//! [`Cursor::Before`].

use herald_store::{Cursor, Order, Page, PageQuery};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::Query;

pub(crate) const DEFAULT_LIMIT: usize = 50;
pub(crate) const MAX_LIMIT: usize = 250;

/// Reads `limit`, `iterator` and `order`; `default_order` is the list's natural
/// order (ascending for applications and endpoints, newest first for messages).
pub(crate) fn page_query(q: &Query, default_order: Order) -> Result<PageQuery, ApiError> {
    let limit = match q.number::<i64>("limit")? {
        None => DEFAULT_LIMIT,
        Some(n) if n < 1 => return Err(ApiError::invalid(&["query", "limit"], "limit must be at least 1")),
        Some(n) => (n as u64).min(MAX_LIMIT as u64) as usize,
    };
    let order = match q.get("order") {
        None | Some("") => default_order,
        Some("ascending") => Order::Ascending,
        Some("descending") => Order::Descending,
        Some(_) => {
            return Err(ApiError::invalid(&["query", "order"], "order must be `ascending` or `descending`"));
        }
    };
    let cursor = match q.get("iterator").filter(|s| !s.is_empty()) {
        None => None,
        Some(it) => match it.strip_prefix('-') {
            Some(before) if !before.is_empty() => Some(Cursor::Before(before.to_owned())),
            Some(_) => return Err(ApiError::invalid(&["query", "iterator"], "invalid iterator")),
            None => Some(Cursor::After(it.to_owned())),
        },
    };
    Ok(PageQuery { limit, cursor, order })
}

/// Svix's list envelope.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    pub data: Vec<T>,
    pub iterator: Option<String>,
    pub prev_iterator: Option<String>,
    pub done: bool,
}

impl<T> ListResponse<T> {
    /// Maps a store page, keying each item with `key` for the iterators.
    pub(crate) fn from_page<I>(page: Page<I>, key: impl Fn(&I) -> String, map: impl FnMut(I) -> T) -> Self {
        let iterator = page.items.last().map(&key);
        let prev_iterator = page.items.first().map(|first| format!("-{}", key(first)));
        Self { data: page.items.into_iter().map(map).collect(), iterator, prev_iterator, done: page.done }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_limit_iterator_and_order() {
        let q = Query::parse("limit=1000&iterator=-app_1&order=descending");
        let pq = page_query(&q, Order::Ascending).expect("valid");
        assert_eq!(pq.limit, MAX_LIMIT);
        assert_eq!(pq.cursor, Some(Cursor::Before("app_1".to_owned())));
        assert_eq!(pq.order, Order::Descending);
        let pq = page_query(&Query::parse(""), Order::Descending).expect("valid");
        assert_eq!((pq.limit, pq.cursor, pq.order), (DEFAULT_LIMIT, None, Order::Descending));
        assert!(page_query(&Query::parse("limit=0"), Order::Ascending).is_err());
        assert!(page_query(&Query::parse("order=sideways"), Order::Ascending).is_err());
    }

    #[test]
    fn iterators_name_the_last_and_first_items() {
        let page = Page { items: vec![1, 2, 3], done: false };
        let list = ListResponse::from_page(page, |n| format!("k{n}"), |n| n * 10);
        assert_eq!(list.data, [10, 20, 30]);
        assert_eq!(list.iterator.as_deref(), Some("k3"));
        assert_eq!(list.prev_iterator.as_deref(), Some("-k1"));
    }
}
