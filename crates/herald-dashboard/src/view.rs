//! Small formatting helpers shared by the pages: times, durations, statuses,
//! percentages, pretty JSON, percentiles.

use herald_core::{DeliveryStatus, Endpoint, Timestamp};

/// `2026-03-01 12:34:56 UTC` (pages turn it into local time with `app.js`).
pub(crate) fn time(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    format!("{} {} UTC", &s[..10], &s[11..19])
}

/// `3 min ago`, `2 h ago`, `in 5 s`.
pub(crate) fn ago(t: Timestamp, now: Timestamp) -> String {
    let d = now.millis() - t.millis();
    let (future, s) = (d < 0, d.unsigned_abs() / 1000);
    let text = match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    };
    if future { format!("in {text}") } else { format!("{text} ago") }
}

/// `120 ms`, `1.4 s`.
pub(crate) fn duration(ms: u64) -> String {
    if ms < 1000 { format!("{ms} ms") } else { format!("{:.1} s", ms as f64 / 1000.0) }
}

/// The CSS class and label of a delivery status.
pub(crate) fn status(s: DeliveryStatus) -> (&'static str, &'static str) {
    match s {
        DeliveryStatus::Success => ("ok", "delivered"),
        DeliveryStatus::Pending => ("wait", "pending"),
        DeliveryStatus::Sending => ("wait", "sending"),
        DeliveryStatus::Failed => ("bad", "failed"),
        DeliveryStatus::Filtered => ("off", "filtered"),
    }
}

/// The CSS class and label of an endpoint's health.
pub(crate) fn health(ep: &Endpoint, now: Timestamp) -> (&'static str, String) {
    match (&ep.disabled, ep.failing_since) {
        (true, _) => {
            ("off", ep.disabled_reason.as_ref().map_or("disabled".to_owned(), |r| format!("disabled: {r}")))
        }
        (false, Some(since)) => ("bad", format!("failing since {}", ago(since, now))),
        (false, None) => ("ok", "healthy".to_owned()),
    }
}

/// `97.5%`, or `—` when there is nothing to divide.
pub(crate) fn percent(part: u64, whole: u64) -> String {
    if whole == 0 { "—".to_owned() } else { format!("{:.1}%", part as f64 * 100.0 / whole as f64) }
}

/// The JSON, indented; the raw text when it is not JSON.
pub(crate) fn pretty(raw: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(raw) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(raw).into_owned(),
    }
}

/// The `p`-th percentile (0–100) of `samples` by nearest rank; `None` when empty.
pub(crate) fn percentile(samples: &mut [u64], p: f64) -> Option<u64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    Some(samples[rank.clamp(1, samples.len()) - 1])
}

/// A `datetime-local` input's value (`2026-03-01T12:34`, taken as UTC) as a timestamp.
pub(crate) fn parse_local(v: &str) -> Option<Timestamp> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    let full = match v.len() {
        16 => format!("{v}:00Z"),
        19 => format!("{v}Z"),
        _ => v.to_owned(),
    };
    Timestamp::parse_rfc3339(&full)
}

/// A timestamp as a `datetime-local` value (UTC).
pub(crate) fn local_value(t: Timestamp) -> String {
    t.to_rfc3339()[..16].to_owned()
}

/// `s` encoded for a URL path segment or query value.
pub(crate) fn url_part(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(time(Timestamp(1_700_000_000_123)), "2023-11-14 22:13:20 UTC");
        assert_eq!(ago(Timestamp(0), Timestamp(90_000)), "1 min ago");
        assert_eq!(ago(Timestamp(5_000), Timestamp(0)), "in 5 s");
        assert_eq!(duration(1500), "1.5 s");
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(0, 0), "—");
        assert_eq!(pretty(br#"{"a":1}"#), "{\n  \"a\": 1\n}");
        assert_eq!(parse_local("2023-11-14T22:13"), Some(Timestamp(1_699_999_980_000)));
        assert_eq!(local_value(Timestamp(1_699_999_980_000)), "2023-11-14T22:13");
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentile(&mut v, 50.0), Some(50));
        assert_eq!(percentile(&mut v, 99.0), Some(99));
        assert_eq!(percentile(&mut [7], 99.0), Some(7));
        assert_eq!(percentile(&mut [], 50.0), None);
    }
}
