//! The overview's chart, drawn on the server as inline SVG: one slot per time bucket,
//! a bar of messages created and beside it a bar of attempts (delivered in green,
//! failed in red, stacked). It scales with its container (`viewBox`), needs no
//! script, and carries a text summary for screen readers. Only numbers and fixed
//! labels go into the markup, so it is safe to embed unescaped.

use std::fmt::Write as _;

use herald_core::Timestamp;
use herald_store::ActivityBucket;

const W: f64 = 720.0;
const H: f64 = 220.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 10.0;

/// The chart for `[since, since + n * bucket_ms)`, empty buckets included.
pub(crate) fn activity(buckets: &[ActivityBucket], since: Timestamp, bucket_ms: i64, n: usize) -> String {
    let slots: Vec<(i64, u64, u64, u64)> = (0..n as i64)
        .map(|i| {
            let start = since.millis() + i * bucket_ms;
            let b = buckets.iter().find(|b| b.start.millis() == start);
            (start, b.map_or(0, |b| b.messages), b.map_or(0, |b| b.succeeded), b.map_or(0, |b| b.failed))
        })
        .collect();
    let max = slots.iter().map(|&(_, m, s, f)| m.max(s + f)).max().unwrap_or(0).max(1);
    let scale = nice_ceiling(max);
    let (plot_w, plot_h) = (W - LEFT - 8.0, H - BOTTOM - TOP);
    let slot_w = plot_w / n.max(1) as f64;
    let bar_w = (slot_w * 0.38).max(1.0);
    let y = |v: u64| TOP + plot_h - (v as f64 / scale as f64) * plot_h;
    let (total_m, total_s, total_f) =
        slots.iter().fold((0, 0, 0), |(a, b, c), &(_, m, s, f)| (a + m, b + s, c + f));

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="chart-t chart-d" preserveAspectRatio="none">"#
    );
    let _ = write!(
        svg,
        r#"<title id="chart-t">Messages and attempts over time</title><desc id="chart-d">{total_m} messages, {total_s} attempts delivered, {total_f} failed in this window.</desc>"#
    );
    for frac in [0.0, 0.5, 1.0] {
        let v = (scale as f64 * frac).round() as u64;
        let yy = y(v);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{v}</text>"#,
            W - 8.0,
            LEFT - 6.0,
            yy + 4.0
        );
    }
    let label_every = (n / 6).max(1);
    for (i, &(start, m, s, f)) in slots.iter().enumerate() {
        let x = LEFT + i as f64 * slot_w + slot_w * 0.08;
        let when = Timestamp(start).to_rfc3339();
        let label = format!("{} {}: {m} messages, {s} delivered, {f} failed", &when[..10], &when[11..16]);
        let _ = write!(svg, r#"<g><title>{label} (UTC)</title>"#);
        bar(&mut svg, "msg", x, y(m), bar_w, TOP + plot_h);
        bar(&mut svg, "ok", x + bar_w, y(s), bar_w, TOP + plot_h);
        bar(&mut svg, "bad", x + bar_w, y(s + f), bar_w, y(s));
        svg.push_str("</g>");
        if i % label_every == 0 {
            let _ =
                write!(svg, r#"<text class="axis" x="{:.1}" y="{}">{}</text>"#, x, H - 6.0, &when[11..16]);
        }
    }
    svg.push_str("</svg>");
    svg
}

fn bar(svg: &mut String, class: &str, x: f64, top: f64, w: f64, bottom: f64) {
    let h = bottom - top;
    if h > 0.0 {
        let _ =
            write!(svg, r#"<rect class="{class}" x="{x:.1}" y="{top:.1}" width="{w:.1}" height="{h:.1}"/>"#);
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `v`, so axis labels are round.
fn nice_ceiling(v: u64) -> u64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= v {
                return m * step;
            }
        }
        step *= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_slot_and_rounds_the_scale() {
        assert_eq!((nice_ceiling(1), nice_ceiling(3), nice_ceiling(7), nice_ceiling(101)), (1, 5, 10, 200));
        let b = ActivityBucket { start: Timestamp(3_600_000), messages: 4, succeeded: 3, failed: 1 };
        let svg = activity(&[b], Timestamp(0), 3_600_000, 4);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<g>").count(), 4, "one group per slot");
        assert!(svg.contains("4 messages, 3 delivered, 1 failed"));
    }
}
