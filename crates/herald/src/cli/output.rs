//! How the commands print: aligned tables with wide cells truncated, times said
//! the way people say them ("3 min ago"), and `--json` for scripts. Everything here
//! is a pure function of its input, so the formats are unit-tested.

use std::fmt::Write as _;
use std::io::Write as _;

use herald_core::Timestamp;
use serde_json::Value;

/// The widest a cell may be before it is cut with `…`.
pub const MAX_CELL: usize = 48;

/// `--json`: print the API's JSON instead of a table.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct OutputArgs {
    /// Print the API's JSON (for scripts) instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// A table: a header row and rows of cells, printed with aligned columns.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self { header: header.iter().map(|h| (*h).to_owned()).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text: columns padded to their widest cell (cells cut to
    /// [`MAX_CELL`] characters), two spaces apart, no trailing spaces.
    pub fn render(&self) -> String {
        let cut: Vec<Vec<String>> = std::iter::once(&self.header)
            .chain(&self.rows)
            .map(|row| row.iter().map(|c| truncate(c, MAX_CELL)).collect())
            .collect();
        let columns = cut.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|i| cut.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for row in &cut {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                let _ = write!(line, "{cell}{:pad$}  ", "");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `s` cut to `max` characters, the last one `…` when anything was cut; line breaks
/// become spaces so one cell stays on one line.
pub fn truncate(s: &str, max: usize) -> String {
    let flat: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// How long before `now` an RFC 3339 time was, in words: "12 s ago", "5 min ago",
/// "3 h ago", "2 d ago", else the date; times in the future read "in …". Anything
/// unreadable is shown as it is.
pub fn ago(time: &str, now: Timestamp) -> String {
    let Some(t) = Timestamp::parse_rfc3339(time) else { return time.to_owned() };
    let secs = (now.millis() - t.millis()) / 1000;
    let (n, unit) = match secs.unsigned_abs() {
        s if s < 60 => (s, "s"),
        s if s < 3_600 => (s / 60, "min"),
        s if s < 86_400 => (s / 3_600, "h"),
        s if s < 30 * 86_400 => (s / 86_400, "d"),
        _ => return time.get(..10).unwrap_or(time).to_owned(),
    };
    if secs < 0 { format!("in {n} {unit}") } else { format!("{n} {unit} ago") }
}

/// A JSON field as a cell: strings as they are, lists joined with commas, nothing as `-`.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) if s.is_empty() => "-".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "-".to_owned(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Prints a JSON value, pretty, on stdout.
pub fn print_json(v: &Value) {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

/// Prints text on stdout as it is (it ends with a newline already, or gets one).
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = if text.ends_with('\n') { write!(out, "{text}") } else { writeln!(out, "{text}") };
    let _ = out.flush();
}

/// Field, value lines for one object: the names padded to align.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs.iter().map(|(k, v)| format!("{k:width$}  {v}\n")).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tables_align_columns_and_cut_wide_cells() {
        let mut t = Table::new(&["ID", "URL", "CREATED"]);
        t.row(vec!["ep_1".into(), "https://a.example/hook".into(), "1 s ago".into()]);
        t.row(vec!["ep_22".into(), format!("https://b.example/{}", "x".repeat(60)), "-".into()]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("ID     URL{}CREATED", " ".repeat(MAX_CELL - 3 + 2)));
        assert!(lines[1].starts_with("ep_1   https://a.example/hook  "), "{:?}", lines[1]);
        assert_eq!(lines[2].chars().filter(|c| *c == '…').count(), 1, "the wide URL is cut");
        assert_eq!(lines[2].chars().count(), lines[0].chars().count() - "CREATED".len() + "-".len());
        assert!(lines.iter().all(|l| !l.ends_with(' ')), "no trailing spaces");
    }

    #[test]
    fn truncation_counts_characters_and_flattens_lines() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
        assert_eq!(truncate("a\nb", 10), "a b");
    }

    #[test]
    fn times_are_humanised_relative_to_now() {
        let now = Timestamp::parse_rfc3339("2026-11-27T10:00:00Z").expect("time");
        assert_eq!(ago("2026-11-27T09:59:48Z", now), "12 s ago");
        assert_eq!(ago("2026-11-27T09:54:59.500Z", now), "5 min ago");
        assert_eq!(ago("2026-11-27T07:00:00Z", now), "3 h ago");
        assert_eq!(ago("2026-11-25T10:00:00Z", now), "2 d ago");
        assert_eq!(ago("2026-01-02T10:00:00Z", now), "2026-01-02");
        assert_eq!(ago("2026-11-27T10:05:00Z", now), "in 5 min");
        assert_eq!(ago("yesterday", now), "yesterday");
    }

    #[test]
    fn json_values_become_cells() {
        assert_eq!(cell(&json!(null)), "-");
        assert_eq!(cell(&json!(["a.b", "c.d"])), "a.b,c.d");
        assert_eq!(cell(&json!(3)), "3");
        assert_eq!(cell(&json!("x")), "x");
        assert_eq!(fields(&[("id", "app_1".into()), ("name", "Acme".into())]), "id    app_1\nname  Acme\n");
    }
}
