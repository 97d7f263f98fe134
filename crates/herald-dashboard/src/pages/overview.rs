//! The overview: activity over a time window as a chart, delivery success rate,
//! latency percentiles, queue depth, and the endpoints that need attention.

use std::time::Duration;

use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use herald_core::Timestamp;
use herald_core::url_password::redact_password;
use serde::Deserialize;

use super::{Layout, html};
use crate::ctx::Ctx;
use crate::{chart, view};

/// The windows offered: key, label, length, bucket.
const RANGES: &[(&str, &str, u64, u64)] =
    &[("1h", "1 hour", 3600, 300), ("24h", "24 hours", 86_400, 3600), ("7d", "7 days", 7 * 86_400, 6 * 3600)];
/// How many recent attempts the latency percentiles are computed from.
const LATENCY_SAMPLE: usize = 5000;

#[derive(Debug, Deserialize)]
pub(crate) struct RangeQuery {
    #[serde(default)]
    range: Option<String>,
}

pub(crate) struct Stat {
    pub label: &'static str,
    pub value: String,
    pub hint: String,
    pub class: &'static str,
}

pub(crate) struct Attention {
    pub url: String,
    pub href: String,
    pub app: String,
    pub app_href: String,
    pub health: String,
    pub class: &'static str,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    l: Layout,
    range: &'static str,
    range_label: &'static str,
    ranges: Vec<(&'static str, &'static str)>,
    stats: Vec<Stat>,
    chart: String,
    attention: Vec<Attention>,
}

pub(crate) async fn page(ctx: Ctx, Query(q): Query<RangeQuery>) -> Response {
    let (range, label, window, bucket) =
        *RANGES.iter().find(|r| Some(r.0) == q.range.as_deref()).unwrap_or(&RANGES[1]);
    let now = Timestamp::now();
    let bucket_ms = (bucket * 1000) as i64;
    // Buckets end at the next bucket boundary, so the last bar is the current one.
    let end = Timestamp((now.millis() / bucket_ms + 1) * bucket_ms);
    let since = end.minus(Duration::from_secs(window));
    let store = &ctx.state.store;
    let read = async {
        let activity = store.activity(since, end, bucket_ms).await?;
        let durations = store.attempt_durations(since, LATENCY_SAMPLE).await?;
        let totals = store.delivery_totals().await?;
        let attention = store.endpoints_needing_attention(20).await?;
        Ok::<_, herald_store::StoreError>((activity, durations, totals, attention))
    };
    let (activity, mut durations, totals, attention) = match read.await {
        Ok(found) => found,
        Err(e) => return super::failure(&ctx, &e),
    };
    let (messages, ok, failed) =
        activity.iter().fold((0, 0, 0), |(m, s, f), b| (m + b.messages, s + b.succeeded, f + b.failed));
    let p50 = view::percentile(&mut durations, 50.0);
    let p99 = view::percentile(&mut durations, 99.0);
    let latency = |p: Option<u64>| p.map_or("—".to_owned(), view::duration);
    let queue = totals.pending + totals.sending;
    let rate_class = match (ok + failed, ok * 100 / (ok + failed).max(1)) {
        (0, _) => "",
        (_, 99..) => "good",
        (_, 90..) => "warn",
        _ => "poor",
    };
    let stats = vec![
        Stat {
            label: "Messages",
            value: messages.to_string(),
            hint: format!("in the last {label}"),
            class: "",
        },
        Stat {
            label: "Success rate",
            value: view::percent(ok, ok + failed),
            hint: format!("{ok} of {} attempts", ok + failed),
            class: rate_class,
        },
        Stat {
            label: "Latency p50",
            value: latency(p50),
            hint: format!("{} attempts sampled", durations.len()),
            class: "",
        },
        Stat { label: "Latency p99", value: latency(p99), hint: "response time".to_owned(), class: "" },
        Stat {
            label: "Queue depth",
            value: queue.to_string(),
            hint: format!("{} pending, {} sending", totals.pending, totals.sending),
            class: "",
        },
        Stat {
            label: "Failed deliveries",
            value: totals.failed.to_string(),
            hint: "retries exhausted, all time".to_owned(),
            class: if totals.failed > 0 { "warn" } else { "" },
        },
    ];
    let attention = attention
        .into_iter()
        .map(|ep| {
            let (class, health) = view::health(&ep, now);
            Attention {
                href: format!("/apps/{}/endpoints/{}", ep.app_id, ep.id),
                app_href: format!("/apps/{}", ep.app_id),
                app: ep.app_id.to_string(),
                url: redact_password(&ep.url).into_owned(),
                health,
                class,
            }
        })
        .collect();
    let n = (window / bucket) as usize;
    html(&Overview {
        l: ctx.layout("Overview", "overview"),
        range,
        range_label: label,
        ranges: RANGES.iter().map(|r| (r.0, r.1)).collect(),
        stats,
        chart: chart::activity(&activity, since, bucket_ms, n),
        attention,
    })
}
