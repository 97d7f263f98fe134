//! Small SQL helpers shared by the table modules: mapping rusqlite errors to
//! [`StoreError`] (by SQLite's extended result codes, never by message text) and a
//! builder for the list queries, whose `WHERE` clause depends on the filters given and
//! whose cursor, order and limit follow one rule for every list.

use std::fmt::Write as _;

use herald_store::{Cursor, Order, PageQuery, StoreError};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, ffi};

pub(crate) type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Wraps a database failure that has no better meaning for callers.
pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// Converts rusqlite results into store results.
pub(crate) trait DbResult<T> {
    /// Any failure is a backend error.
    fn db(self) -> Result<T>;
    /// A primary-key violation is a conflict on `primary`, a unique-index violation a
    /// conflict on `unique`; anything else is a backend error.
    fn or_conflict(self, primary: &'static str, unique: &'static str) -> Result<T>;
}

impl<T> DbResult<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T> {
        self.map_err(backend)
    }

    fn or_conflict(self, primary: &'static str, unique: &'static str) -> Result<T> {
        self.map_err(|e| match e.sqlite_error().map(|f| f.extended_code) {
            Some(ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => StoreError::Conflict(primary),
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE) => StoreError::Conflict(unique),
            _ => backend(e),
        })
    }
}

/// `NotFound` unless a statement changed at least one row.
pub(crate) fn changed(rows: usize) -> Result<()> {
    if rows == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Converts a count or limit to SQLite's integer, saturating.
pub(crate) fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `SELECT` assembled from optional filters, with positional (`?`) parameters
/// bound in the order the clauses are added.
pub(crate) struct Select {
    sql: String,
    params: Vec<Value>,
}

impl Select {
    /// Starts from a statement that already has a `WHERE` clause (use `WHERE 1` when
    /// there is no fixed condition), so every filter is an `AND`.
    pub(crate) fn new(head: &str, params: impl IntoIterator<Item = Value>) -> Self {
        Self { sql: head.to_owned(), params: params.into_iter().collect() }
    }

    /// Adds `AND clause`, binding `params` to its `?` placeholders.
    pub(crate) fn and(&mut self, clause: &str, params: impl IntoIterator<Item = Value>) -> &mut Self {
        self.sql.push_str(" AND ");
        self.sql.push_str(clause);
        self.params.extend(params);
        self
    }

    /// Adds `AND clause` with one parameter when `value` is present.
    pub(crate) fn and_if<V: Into<Value>>(&mut self, clause: &str, value: Option<V>) -> &mut Self {
        if let Some(v) = value {
            self.and(clause, [v.into()]);
        }
        self
    }

    /// Adds the cursor condition, `ORDER BY key` and `LIMIT limit + 1`. A `Before`
    /// cursor walks the list backwards, so its rows come in reverse order;
    /// [`herald_store::Page::from_overfetch`] turns them back.
    pub(crate) fn page(&mut self, key: &str, page: &PageQuery) -> &mut Self {
        let backwards = matches!(page.cursor, Some(Cursor::Before(_)));
        let ascending = (page.order == Order::Ascending) != backwards;
        if let Some(Cursor::After(k) | Cursor::Before(k)) = &page.cursor {
            let op = if ascending { ">" } else { "<" };
            self.and(&format!("{key} {op} ?"), [Value::Text(k.clone())]);
        }
        let dir = if ascending { "ASC" } else { "DESC" };
        // Writing to a String cannot fail.
        let _ = write!(self.sql, " ORDER BY {key} {dir} LIMIT ?");
        self.params.push(Value::Integer(int(page.limit).saturating_add(1)));
        self
    }

    /// Appends raw SQL (a `GROUP BY`, say) with no parameters.
    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Runs the query on a cached statement and maps every row.
    pub(crate) fn fetch<T>(&self, conn: &Connection, map: impl Fn(&Row<'_>) -> Result<T>) -> Result<Vec<T>> {
        let mut stmt = conn.prepare_cached(&self.sql).db()?;
        let mut rows = stmt.query(rusqlite::params_from_iter(self.params.iter())).db()?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().db()? {
            out.push(map(row)?);
        }
        Ok(out)
    }
}

/// A text parameter.
pub(crate) fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// A JSON array of strings, bound as one parameter and read back with `json_each`, so
/// that an `IN` list of any length is one cached statement.
pub(crate) fn json_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Value {
    let items: Vec<serde_json::Value> = items.into_iter().map(serde_json::Value::from).collect();
    Value::Text(serde_json::Value::Array(items).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_cursor_walks_backwards_in_either_order() {
        let q = |order, cursor| PageQuery { limit: 2, cursor: Some(cursor), order };
        let sql = |page: &PageQuery| Select::new("SELECT id FROM t WHERE 1", []).page("id", page).sql.clone();
        assert_eq!(
            sql(&q(Order::Ascending, Cursor::Before("b".into()))),
            "SELECT id FROM t WHERE 1 AND id < ? ORDER BY id DESC LIMIT ?"
        );
        assert_eq!(
            sql(&q(Order::Descending, Cursor::Before("b".into()))),
            "SELECT id FROM t WHERE 1 AND id > ? ORDER BY id ASC LIMIT ?"
        );
        assert_eq!(
            sql(&q(Order::Descending, Cursor::After("b".into()))),
            "SELECT id FROM t WHERE 1 AND id < ? ORDER BY id DESC LIMIT ?"
        );
    }
}
