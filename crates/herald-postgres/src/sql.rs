//! Small SQL helpers shared by the table modules: mapping sqlx errors to
//! [`StoreError`] (unique violations by SQLSTATE and constraint name, never by message
//! text), integer conversions between domain and column types, and a builder for the
//! list queries, whose `WHERE` clause depends on the filters given and whose cursor,
//! order and limit follow one rule for every list.

use herald_store::{Cursor, Order, PageQuery, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{Encode, PgPool, Postgres, QueryBuilder, Type};

pub(crate) type Result<T, E = StoreError> = std::result::Result<T, E>;

/// SQLSTATE `unique_violation`.
const UNIQUE_VIOLATION: &str = "23505";

/// The unique constraints of the schema (`migrations/*.sql`) and the key each one
/// names in [`StoreError::Conflict`]. Keep in step with the migrations: a unique
/// violation on a constraint missing here is reported as a backend error.
const CONFLICTS: &[(&str, &str)] = &[
    ("application_pkey", "application id"),
    ("application_uid", "application uid"),
    ("event_type_pkey", "event type"),
    ("endpoint_pkey", "endpoint id"),
    ("endpoint_uid", "endpoint uid"),
    ("message_pkey", "message id"),
    ("message_event_id", "message eventId"),
    ("delivery_pkey", "delivery"),
    ("attempt_pkey", "attempt id"),
    ("idempotency_pkey", "idempotency key"),
    ("app_token_pkey", "app token"),
    ("source_pkey", "source id"),
    ("source_uid", "source uid"),
    ("source_rejection_pkey", "source rejection id"),
];

/// Maps a sqlx error: a unique violation on a known constraint is a `Conflict` naming
/// its key; anything else is a backend error (with its source kept).
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e
        && d.code().as_deref() == Some(UNIQUE_VIOLATION)
        && let Some(key) = d.constraint().and_then(conflict_key)
    {
        return StoreError::Conflict(key);
    }
    StoreError::Backend(Box::new(e))
}

fn conflict_key(constraint: &str) -> Option<&'static str> {
    CONFLICTS.iter().find(|(name, _)| *name == constraint).map(|(_, key)| *key)
}

/// `NotFound` unless a statement changed at least one row.
pub(crate) fn changed(rows: u64) -> Result<()> {
    if rows == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// A count or limit as PostgreSQL's BIGINT, saturating.
pub(crate) fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored integer converted to a narrower or unsigned domain type; out of range is
/// corrupt data.
pub(crate) fn narrow<T: TryFrom<i64>>(value: i64, what: &'static str) -> Result<T> {
    T::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} out of range: {value}")))
}

/// A `SELECT` assembled from optional filters, with `$n` parameters bound in the order
/// the clauses are added.
pub(crate) struct Select {
    query: QueryBuilder<Postgres>,
}

impl Select {
    /// Starts from a statement that ends inside its `WHERE` clause (`WHERE TRUE` when
    /// there is no fixed condition), so every filter is an `AND`.
    pub(crate) fn new(head: &'static str) -> Self {
        Self { query: QueryBuilder::new(head) }
    }

    /// Adds `AND clause`, a condition without parameters.
    pub(crate) fn and(&mut self, clause: &'static str) -> &mut Self {
        self.query.push(" AND ").push(clause);
        self
    }

    /// Adds `AND before $n after`, binding `value` as `$n`.
    pub(crate) fn and_bind<'t, V>(&mut self, before: &'static str, value: V, after: &'static str) -> &mut Self
    where
        V: Encode<'t, Postgres> + Type<Postgres> + 't,
    {
        self.query.push(" AND ").push(before).push_bind(value).push(after);
        self
    }

    /// Adds `AND before $n` when `value` is present.
    pub(crate) fn and_if<'t, V>(&mut self, before: &'static str, value: Option<V>) -> &mut Self
    where
        V: Encode<'t, Postgres> + Type<Postgres> + 't,
    {
        if let Some(v) = value {
            self.and_bind(before, v, "");
        }
        self
    }

    /// Appends raw SQL (a `GROUP BY`, say) with no parameters.
    pub(crate) fn push(&mut self, sql: &'static str) -> &mut Self {
        self.query.push(sql);
        self
    }

    /// Adds the cursor condition, `ORDER BY key` and `LIMIT limit + 1`. A `Before`
    /// cursor walks the list backwards, so its rows come in reverse order;
    /// [`herald_store::Page::from_overfetch`] turns them back.
    pub(crate) fn page(&mut self, key: &'static str, page: &PageQuery) -> &mut Self {
        let backwards = matches!(page.cursor, Some(Cursor::Before(_)));
        let ascending = (page.order == Order::Ascending) != backwards;
        if let Some(Cursor::After(k) | Cursor::Before(k)) = &page.cursor {
            let op = if ascending { " > " } else { " < " };
            self.query.push(" AND ").push(key).push(op).push_bind(k.clone());
        }
        let dir = if ascending { " ASC" } else { " DESC" };
        self.query.push(" ORDER BY ").push(key).push(dir).push(" LIMIT ");
        self.query.push_bind(int(page.limit).saturating_add(1));
        self
    }

    /// Runs the query and maps every row.
    pub(crate) async fn fetch<T>(
        &mut self,
        pool: &PgPool,
        map: impl Fn(&PgRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let rows = self.query.build().fetch_all(pool).await.map_err(db)?;
        rows.iter().map(map).collect()
    }

    #[cfg(test)]
    fn sql(&self) -> String {
        self.query.sql().as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_cursor_walks_backwards_in_either_order() {
        let q = |order, cursor| PageQuery { limit: 2, cursor: Some(cursor), order };
        let sql = |page: &PageQuery| Select::new("SELECT id FROM t WHERE TRUE").page("id", page).sql();
        assert_eq!(
            sql(&q(Order::Ascending, Cursor::Before("b".into()))),
            "SELECT id FROM t WHERE TRUE AND id < $1 ORDER BY id DESC LIMIT $2"
        );
        assert_eq!(
            sql(&q(Order::Descending, Cursor::Before("b".into()))),
            "SELECT id FROM t WHERE TRUE AND id > $1 ORDER BY id ASC LIMIT $2"
        );
        assert_eq!(
            sql(&q(Order::Descending, Cursor::After("b".into()))),
            "SELECT id FROM t WHERE TRUE AND id < $1 ORDER BY id DESC LIMIT $2"
        );
    }

    #[test]
    fn conflicts_are_named_by_constraint() {
        assert_eq!(conflict_key("message_event_id"), Some("message eventId"));
        assert_eq!(conflict_key("application_uid"), Some("application uid"));
        assert_eq!(conflict_key("something_else"), None);
    }
}
