//! [`Filter`]: a MongoDB-like predicate on a payload and, for inbound messages, its headers.
//!
//! ```json
//! {
//!   "type": "invoice.paid",
//!   "data.amount": {"$gte": 100, "$lt": 10000},
//!   "data.items[0].sku": {"$in": ["a", "b"]},
//!   "customer": {"tier": "gold"},
//!   "$or": [{"data.currency": "EUR"}, {"data.country": {"$regex": "^(DE|FR)$"}}],
//!   "$headers.x-github-event": "push"
//! }
//! ```
//!
//! - Keys are dotted paths from the payload (`a.b.0.c` or `a.b[0].c`); `$headers.NAME`
//!   reads an inbound message's header (names case-insensitive). A path through an array
//!   without an index looks in every element (`items.sku` matches any item's `sku`).
//! - A value that is an object of `$` operators applies them all; an object without `$` keys
//!   is a nested filter on that field (Hookdeck's style: `{"customer": {"tier": "gold"}}`
//!   matches any customer whose tier is gold, whatever else it has); anything else is `$eq`.
//! - Operators: `$eq`, `$neq` (`$ne`), `$gt`, `$gte`, `$lt`, `$lte` (numbers with numbers,
//!   strings with strings), `$in`, `$nin`, `$exist` (`$exists`), `$regex` (Rust regex syntax,
//!   flags inline: `(?i)`), `$not`, and `$and` / `$or` both between fields and between
//!   operators on one field.
//! - As in MongoDB, a field that is an array matches `$eq`/`$in`/comparisons when one of its
//!   elements does; `$neq`/`$nin` match when none does; a missing field matches only `$neq`,
//!   `$nin`, `$exist: false` and `$not`.

use std::fmt;

use regex_lite::{Regex, RegexBuilder};
use serde_json::Value as Json;

/// The most a `$regex` may compile to: patterns are user input, matching is linear in the
/// text for any pattern, and this bounds the compiled program.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;
const REGEX_NEST_LIMIT: u32 = 64;
/// How deeply `$and`/`$or`/`$not`/nested filters may nest.
const MAX_DEPTH: usize = 32;

/// A parsed payload filter.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
    uses_headers: bool,
}

/// Why a filter specification was refused: which path or operator, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at {at}: {message}")]
pub struct FilterError {
    /// The path or operator at fault, e.g. `data.amount.$gt`.
    pub at: String,
    pub message: String,
}

impl Filter {
    /// Parses a specification such as `{"data.amount": {"$gt": 100}}`.
    pub fn parse(spec: &Json) -> Result<Filter, FilterError> {
        let mut parser = Parser { uses_headers: false };
        let root = parser.node(spec, &At::root(), 0, true)?;
        Ok(Filter { root, uses_headers: parser.uses_headers })
    }

    /// Whether a message with this payload (and these inbound headers) passes.
    pub fn matches(&self, payload: &Json, headers: Option<&[(String, String)]>) -> bool {
        let headers = match (self.uses_headers, headers) {
            (true, Some(headers)) => Some(Json::Object(
                headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), Json::String(v.clone()))).collect(),
            )),
            _ => None,
        };
        let scope = Scope { headers: headers.as_ref() };
        self.root.matches(&scope, payload)
    }
}

/// A predicate over a document (the payload, or a field for a nested filter).
#[derive(Debug, Clone)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Field(Path, Cond),
}

/// A predicate over the values found at one path.
#[derive(Debug, Clone)]
enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Op(Op),
    /// A nested filter: some value found at the path passes it.
    Nested(Box<Node>),
}

#[derive(Debug, Clone)]
enum Op {
    Eq(Json),
    Neq(Json),
    Cmp(Ordering, Json),
    In(Vec<Json>),
    Nin(Vec<Json>),
    Exist(bool),
    Regex(Regex),
}

#[derive(Debug, Clone, Copy)]
enum Ordering {
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone)]
struct Path {
    headers: bool,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    /// A number: an array index, or an object key when the value is an object.
    Index(usize, String),
}

/// What every path can reach besides the document it starts from.
struct Scope<'a> {
    /// The inbound headers as an object of lowercased names, when the filter reads them.
    headers: Option<&'a Json>,
}

impl Node {
    fn matches(&self, scope: &Scope, doc: &Json) -> bool {
        match self {
            Node::All(nodes) => nodes.iter().all(|n| n.matches(scope, doc)),
            Node::Any(nodes) => nodes.iter().any(|n| n.matches(scope, doc)),
            Node::Field(path, cond) => {
                let start = match path.headers {
                    true => scope.headers,
                    false => Some(doc),
                };
                let mut found = Vec::new();
                if let Some(start) = start {
                    resolve(start, &path.segments, &mut found);
                }
                cond.matches(scope, &found)
            }
        }
    }
}

impl Cond {
    fn matches(&self, scope: &Scope, found: &[&Json]) -> bool {
        match self {
            Cond::All(conds) => conds.iter().all(|c| c.matches(scope, found)),
            Cond::Any(conds) => conds.iter().any(|c| c.matches(scope, found)),
            Cond::Not(cond) => !cond.matches(scope, found),
            Cond::Op(op) => op.matches(found),
            Cond::Nested(node) => with_elements(found).any(|v| v.is_object() && node.matches(scope, v)),
        }
    }
}

impl Op {
    fn matches(&self, found: &[&Json]) -> bool {
        let candidates = || with_elements(found);
        match self {
            Op::Eq(want) => candidates().any(|v| equal(v, want)),
            Op::Neq(want) => !candidates().any(|v| equal(v, want)),
            Op::Cmp(ordering, want) => candidates().any(|v| compare(v, *ordering, want)),
            Op::In(list) => candidates().any(|v| list.iter().any(|w| equal(v, w))),
            Op::Nin(list) => !candidates().any(|v| list.iter().any(|w| equal(v, w))),
            Op::Exist(want) => found.is_empty() != *want,
            Op::Regex(regex) => candidates().any(|v| v.as_str().is_some_and(|s| regex.is_match(s))),
        }
    }
}

/// The values found, and the elements of those that are arrays: an array field matches when
/// one of its elements does, as in MongoDB.
fn with_elements<'a>(found: &'a [&'a Json]) -> impl Iterator<Item = &'a Json> + 'a {
    found.iter().flat_map(|v| {
        let elements = v.as_array().map(|a| a.iter()).into_iter().flatten();
        std::iter::once(*v).chain(elements)
    })
}

/// Collects the values at `segments` below `value`, looking into every element of an array
/// that a key (not an index) meets.
fn resolve<'a>(value: &'a Json, segments: &[Segment], found: &mut Vec<&'a Json>) {
    let Some((first, rest)) = segments.split_first() else {
        found.push(value);
        return;
    };
    match (value, first) {
        (Json::Object(map), Segment::Key(key) | Segment::Index(_, key)) => {
            if let Some(next) = map.get(key) {
                resolve(next, rest, found);
            }
        }
        (Json::Array(items), Segment::Index(i, _)) => {
            if let Some(next) = items.get(*i) {
                resolve(next, rest, found);
            }
        }
        (Json::Array(items), Segment::Key(_)) => {
            for item in items.iter().filter(|i| i.is_object()) {
                resolve(item, segments, found);
            }
        }
        _ => {}
    }
}

fn equal(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

fn compare(value: &Json, ordering: Ordering, bound: &Json) -> bool {
    let order = match (value, bound) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => x.as_f64().zip(y.as_f64()).and_then(|(x, y)| x.partial_cmp(&y)),
        },
        (Json::String(x), Json::String(y)) => Some(x.cmp(y)),
        _ => None,
    };
    let Some(order) = order else { return false };
    match ordering {
        Ordering::Gt => order.is_gt(),
        Ordering::Gte => order.is_ge(),
        Ordering::Lt => order.is_lt(),
        Ordering::Lte => order.is_le(),
    }
}

/// Where in the specification the parser is: for error messages.
#[derive(Clone)]
struct At(String);

impl At {
    fn root() -> At {
        At(String::new())
    }

    fn join(&self, part: &str) -> At {
        match self.0.is_empty() {
            true => At(part.to_owned()),
            false => At(format!("{}.{part}", self.0)),
        }
    }

    fn error(&self, message: impl Into<String>) -> FilterError {
        let at = if self.0.is_empty() { "the top level".to_owned() } else { self.0.clone() };
        FilterError { at, message: message.into() }
    }
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

struct Parser {
    uses_headers: bool,
}

impl Parser {
    /// A filter object: every key must hold. `root`: on the payload itself (not a nested
    /// filter on one of its fields), where `$headers` may be used.
    fn node(&mut self, spec: &Json, at: &At, depth: usize, root: bool) -> Result<Node, FilterError> {
        if depth > MAX_DEPTH {
            return Err(at.error(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        let map = spec.as_object().ok_or_else(|| at.error("a filter must be a JSON object"))?;
        let mut nodes = Vec::with_capacity(map.len());
        for (key, value) in map {
            let here = at.join(key);
            let node = match key.as_str() {
                "$and" => Node::All(self.node_list(value, &here, depth, root)?),
                "$or" => Node::Any(self.node_list(value, &here, depth, root)?),
                "$not" => {
                    let inner = self.node(value, &here, depth + 1, root)?;
                    Node::Field(
                        Path { headers: false, segments: Vec::new() },
                        Cond::Not(Box::new(node_cond(inner))),
                    )
                }
                op if op.starts_with('$') && !is_header_path(op) => {
                    return Err(
                        here.error(format!("{op} is not a field or a logical operator ($and, $or, $not)"))
                    );
                }
                _ => {
                    let path = self.path(key, &here, root)?;
                    Node::Field(path, self.cond(value, &here, depth + 1)?)
                }
            };
            nodes.push(node);
        }
        Ok(if nodes.len() == 1 { nodes.remove(0) } else { Node::All(nodes) })
    }

    fn node_list(
        &mut self,
        spec: &Json,
        at: &At,
        depth: usize,
        root: bool,
    ) -> Result<Vec<Node>, FilterError> {
        let items = non_empty_array(spec, at)?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.node(item, &at.join(&i.to_string()), depth + 1, root))
            .collect()
    }

    /// What a field's value must satisfy.
    fn cond(&mut self, spec: &Json, at: &At, depth: usize) -> Result<Cond, FilterError> {
        if depth > MAX_DEPTH {
            return Err(at.error(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        let Some(map) = spec.as_object() else { return Ok(Cond::Op(Op::Eq(spec.clone()))) };
        let operators = map.keys().filter(|k| k.starts_with('$')).count();
        if operators == 0 && !map.is_empty() {
            return Ok(Cond::Nested(Box::new(self.node(spec, at, depth, false)?)));
        }
        if operators != map.len() {
            return Err(at.error("mixes operators ($…) and field names; put the fields in a nested filter"));
        }
        if map.is_empty() {
            return Err(
                at.error("an empty object matches nothing useful; use {\"$eq\": {}} for an empty object")
            );
        }
        let mut conds = map
            .iter()
            .map(|(op, operand)| self.operator(op, operand, &at.join(op), depth))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(match conds.len() {
            1 => conds.remove(0),
            _ => Cond::All(conds),
        })
    }

    fn operator(&mut self, op: &str, operand: &Json, at: &At, depth: usize) -> Result<Cond, FilterError> {
        let cmp = |ordering| -> Result<Cond, FilterError> {
            match operand {
                Json::Number(_) | Json::String(_) => Ok(Cond::Op(Op::Cmp(ordering, operand.clone()))),
                _ => Err(at.error("compares with a number or a string")),
            }
        };
        Ok(match op {
            "$eq" => Cond::Op(Op::Eq(operand.clone())),
            "$neq" | "$ne" => Cond::Op(Op::Neq(operand.clone())),
            "$gt" => cmp(Ordering::Gt)?,
            "$gte" => cmp(Ordering::Gte)?,
            "$lt" => cmp(Ordering::Lt)?,
            "$lte" => cmp(Ordering::Lte)?,
            "$in" => Cond::Op(Op::In(list(operand, at)?)),
            "$nin" => Cond::Op(Op::Nin(list(operand, at)?)),
            "$exist" | "$exists" => {
                Cond::Op(Op::Exist(operand.as_bool().ok_or_else(|| at.error("takes true or false"))?))
            }
            "$regex" => Cond::Op(Op::Regex(regex(operand, at)?)),
            "$not" => Cond::Not(Box::new(self.cond(operand, at, depth + 1)?)),
            "$and" | "$or" => {
                let items = non_empty_array(operand, at)?;
                let conds = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.cond(item, &at.join(&i.to_string()), depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                if op == "$and" { Cond::All(conds) } else { Cond::Any(conds) }
            }
            other => {
                return Err(at.error(format!(
                    "unknown operator {other} (known: $eq, $neq, $gt, $gte, $lt, $lte, $in, $nin, $exist, $regex, $not, $and, $or)"
                )));
            }
        })
    }

    fn path(&mut self, key: &str, at: &At, root: bool) -> Result<Path, FilterError> {
        let (headers, rest) = match key.strip_prefix("$headers") {
            Some(rest) if is_header_path(key) && root => (true, rest.strip_prefix('.').unwrap_or(rest)),
            Some(_) if is_header_path(key) => {
                return Err(
                    at.error("$headers can only be used on the message, not inside a nested field filter")
                );
            }
            _ => (false, key),
        };
        self.uses_headers |= headers;
        if headers {
            // A header name is one segment (names may hold dots), matched lowercased.
            if rest.is_empty() {
                return Err(at.error("name a header: $headers.x-github-event"));
            }
            return Ok(Path { headers, segments: vec![Segment::Key(rest.to_ascii_lowercase())] });
        }
        let mut segments = Vec::new();
        for part in rest.split('.') {
            let (name, indexes) =
                split_indexes(part).ok_or_else(|| at.error(format!("bad index in {part:?}")))?;
            if name.is_empty() && indexes.is_empty() {
                return Err(at.error("a path has an empty segment"));
            }
            if !name.is_empty() {
                segments.push(match name.parse::<usize>() {
                    Ok(i) => Segment::Index(i, name.to_owned()),
                    Err(_) => Segment::Key(name.to_owned()),
                });
            }
            segments.extend(indexes.into_iter().map(|i| Segment::Index(i, i.to_string())));
        }
        Ok(Path { headers, segments })
    }
}

fn is_header_path(key: &str) -> bool {
    key == "$headers" || key.starts_with("$headers.")
}

/// `items[0][1]` → (`items`, [0, 1]).
fn split_indexes(part: &str) -> Option<(&str, Vec<usize>)> {
    let Some(open) = part.find('[') else { return Some((part, Vec::new())) };
    let (name, mut rest) = part.split_at(open);
    let mut indexes = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        indexes.push(inner[..close].trim().parse().ok()?);
        rest = &inner[close + 1..];
    }
    Some((name, indexes))
}

/// A node used where a condition on the whole document is expected (`$not` at the top).
fn node_cond(node: Node) -> Cond {
    Cond::Nested(Box::new(node))
}

fn non_empty_array<'a>(spec: &'a Json, at: &At) -> Result<&'a Vec<Json>, FilterError> {
    match spec.as_array() {
        Some(items) if !items.is_empty() => Ok(items),
        _ => Err(at.error("takes a non-empty array")),
    }
}

fn list(spec: &Json, at: &At) -> Result<Vec<Json>, FilterError> {
    spec.as_array().cloned().ok_or_else(|| at.error("takes an array of values"))
}

fn regex(spec: &Json, at: &At) -> Result<Regex, FilterError> {
    let pattern = spec.as_str().ok_or_else(|| at.error("takes a pattern string"))?;
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|e| at.error(format!("bad pattern: {e}")))
}

#[cfg(test)]
mod tests {
    use super::split_indexes;

    #[test]
    fn bracket_indexes_split_off_a_segment() {
        assert_eq!(split_indexes("items"), Some(("items", vec![])));
        assert_eq!(split_indexes("items[0]"), Some(("items", vec![0])));
        assert_eq!(split_indexes("m[1][ 2 ]"), Some(("m", vec![1, 2])));
        assert_eq!(split_indexes("[3]"), Some(("", vec![3])));
        assert_eq!(split_indexes("items[x]"), None);
        assert_eq!(split_indexes("items[1"), None);
        assert_eq!(split_indexes("items[1]x"), None);
    }
}
