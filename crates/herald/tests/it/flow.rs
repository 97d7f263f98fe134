//! Flow control: a hanging endpoint does not hold up a healthy one, a rate-limited
//! endpoint is sent to no faster than its limit, and `Retry-After` on a 429 is
//! honoured. Bounds are asserted on counts and as lower bounds on time, so a slow
//! machine cannot make them fail.

use std::time::Duration;

use herald_testkit::{Backend, Reply, TestReceiver, TestServer};
use serde_json::json;
use svix::models::{ApplicationIn, EndpointIn, MessageIn};

use crate::common::*;

/// More messages than the engine's global in-flight permits (512): if a hanging
/// endpoint could take one permit per delivery, it would starve the healthy one.
const MESSAGES: usize = 600;

async fn a_hanging_endpoint_does_not_delay_a_healthy_one(backend: Backend) {
    let server = TestServer::start_on(&backend, |c| {
        c.endpoint_concurrency = 4;
        // Longer than the test: the hanging endpoint never even times out.
        c.request_timeout = Duration::from_secs(120);
        c.lease = Duration::from_secs(300);
    })
    .await;
    let (hanging, healthy) = (TestReceiver::start().await, TestReceiver::start().await);
    hanging.always(Reply::status(200).after(Duration::from_secs(3600)));
    let svix = sdk(&server);
    let app = svix.application().create(ApplicationIn::new("Acme".into()), None).await.expect("app");
    for url in [&hanging.url, &healthy.url] {
        svix.endpoint().create(app.id.clone(), EndpointIn::new(url.clone()), None).await.expect("endpoint");
    }

    post_messages(&server, &app.id, MESSAGES).await;
    let got = healthy.wait_for(MESSAGES, Duration::from_secs(30)).await;
    let unique: std::collections::BTreeSet<_> =
        got.iter().map(|r| r.header("webhook-id").to_owned()).collect();
    assert_eq!(unique.len(), MESSAGES, "every message reached the healthy endpoint, once");
    hanging.wait_for_arrivals(1, WAIT).await;
    assert_eq!(hanging.arrivals(), 4, "the hanging endpoint holds exactly its concurrency limit");
    assert!(hanging.received().is_empty(), "and never answered");
}

async fn a_rate_limited_endpoint_receives_no_faster_than_its_limit(backend: Backend) {
    const RATE: u16 = 20;
    const N: usize = 30;
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let svix = sdk(&server);
    let app = svix.application().create(ApplicationIn::new("Acme".into()), None).await.expect("app");
    let ep_in = EndpointIn { throttle_rate: Some(RATE), ..EndpointIn::new(receiver.url.clone()) };
    svix.endpoint().create(app.id.clone(), ep_in, None).await.expect("endpoint");

    post_messages(&server, &app.id, N).await;
    let got = receiver.wait_for(N, WAIT).await;
    let mut at: Vec<_> = got.iter().map(|r| r.at).collect();
    at.sort_unstable();
    // One request per 1/RATE s (a burst of one). Counted from the second arrival:
    // the first one's connection set-up, which the receiver's clock sees late, can
    // take longer than an interval on a loaded machine; one interval of slack more.
    let span = at[N - 1].duration_since(at[1]);
    let least = Duration::from_secs(1) * (N as u32 - 3) / u32::from(RATE);
    assert!(span >= least, "{N} requests at {RATE}/s took {span:?}, less than {least:?}");
}

async fn retry_after_on_a_429_delays_the_next_attempt(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    receiver.script([Reply::status(429).header("retry-after", "2")]);
    let svix = sdk(&server);
    let (app, _, _) = app_with_endpoint(&svix, &receiver.url).await;
    svix.message().create(app, MessageIn::new("a.b".into(), json!({})), None).await.expect("accepted");
    let got = receiver.wait_for(2, WAIT).await;
    let gap = got[1].at.duration_since(got[0].at);
    assert!(
        gap >= Duration::from_secs(2),
        "the retry came {gap:?} after the 429, not after 2 s (schedule: 100 ms)"
    );
}

crate::on_both_stores!(
    a_hanging_endpoint_does_not_delay_a_healthy_one,
    a_rate_limited_endpoint_receives_no_faster_than_its_limit,
    retry_after_on_a_429_delays_the_next_attempt
);
