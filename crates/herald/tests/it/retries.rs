//! Retries: failures follow the schedule; an exhausted delivery fails; recover and
//! resend bring it back once the endpoint is healthy.

use herald_testkit::{Backend, Reply, TestReceiver, TestServer};
use serde_json::json;
use svix::api::MessageAttemptListByMsgOptions;
use svix::models::{MessageIn, MessageStatus, RecoverIn};

use crate::common::*;

async fn two_failures_then_success_makes_three_attempts_and_a_delivered_message(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    receiver.script([Reply::status(500), Reply::status(500)]);
    let svix = sdk(&server);
    let (app, ep, secret) = app_with_endpoint(&svix, &receiver.url).await;
    let msg =
        svix.message().create(app.clone(), MessageIn::new("job.done".into(), json!({"id": 7})), None).await;
    let msg = msg.expect("accepted");

    let got = receiver.wait_for(3, WAIT).await;
    for r in &got {
        assert_eq!(r.header("webhook-id"), msg.id, "every retry carries the same webhook-id");
        verify(&secret, r).expect("each retry is freshly and validly signed");
    }
    eventually("three attempts recorded", || async {
        let list = svix.message_attempt().list_by_msg(app.clone(), msg.id.clone(), None).await.expect("list");
        list.data.len() == 3
    })
    .await;
    let list = svix.message_attempt().list_by_msg(app.clone(), msg.id.clone(), None).await.expect("list");
    let codes: Vec<_> = list.data.iter().map(|a| a.response_status_code).collect();
    assert_eq!(codes, vec![200, 500, 500], "newest first");
    assert_eq!(list.data[0].status, MessageStatus::Success);
    assert_eq!(list.data[1].status, MessageStatus::Fail);
    let dest = svix.message_attempt().list_attempted_destinations(app.clone(), msg.id.clone(), None).await;
    let dest = dest.expect("destinations");
    assert_eq!((dest.data[0].id.as_str(), dest.data[0].status), (ep.as_str(), MessageStatus::Success));
}

async fn an_exhausted_delivery_fails_then_recover_and_resend_deliver_it(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    receiver.always(Reply::status(503));
    let svix = sdk(&server);
    let (app, ep, _) = app_with_endpoint(&svix, &receiver.url).await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);
    let first = svix.message().create(app.clone(), MessageIn::new("a.b".into(), json!({"n": 1})), None).await;
    let first = first.expect("accepted");
    let second =
        svix.message().create(app.clone(), MessageIn::new("a.b".into(), json!({"n": 2})), None).await;
    let second = second.expect("accepted");

    // 1 immediate attempt + 3 retries (100/200/400 ms) per message.
    receiver.wait_for(8, WAIT).await;
    let failed = |msg: String| {
        let (svix, app, ep) = (&svix, app.clone(), ep.clone());
        async move {
            let dest =
                svix.message_attempt().list_attempted_destinations(app, msg, None).await.expect("list");
            dest.data.iter().any(|d| d.id == ep && d.status == MessageStatus::Fail)
        }
    };
    eventually("both deliveries failed", || async {
        failed(first.id.clone()).await && failed(second.id.clone()).await
    })
    .await;
    assert_eq!(receiver.received().len(), 8, "no attempt beyond the schedule");

    receiver.always(Reply::status(200));
    svix.endpoint()
        .recover(app.clone(), ep.clone(), RecoverIn::new(since), None)
        .await
        .expect("recover accepted");
    receiver.wait_for(10, WAIT).await;
    let attempts = |msg: String| {
        let opts = MessageAttemptListByMsgOptions { limit: Some(50), ..Default::default() };
        let (svix, app) = (&svix, app.clone());
        async move { svix.message_attempt().list_by_msg(app, msg, Some(opts)).await.expect("list").data }
    };
    eventually("recovered deliveries recorded", || async { attempts(second.id.clone()).await.len() == 5 })
        .await;
    let latest = &attempts(second.id.clone()).await[0];
    assert_eq!((latest.response_status_code, latest.status), (200, MessageStatus::Success));

    svix.message_attempt()
        .resend(app.clone(), first.id.clone(), ep.clone(), None)
        .await
        .expect("resend accepted");
    receiver.wait_for(11, WAIT).await;
    eventually("resend recorded", || async { attempts(first.id.clone()).await.len() == 6 }).await;
    let manual = &attempts(first.id.clone()).await[0];
    assert_eq!(manual.trigger_type, svix::models::MessageAttemptTriggerType::Manual);
    assert_eq!(receiver.received().len(), 11, "recover and resend sent exactly one request each");
}

async fn a_refused_destination_is_recorded_with_its_reason_and_never_contacted(backend: Backend) {
    let server = TestServer::start_on(&backend, |c| c.allow_networks.clear()).await;
    let receiver = TestReceiver::start().await;
    let svix = sdk(&server);
    let url = format!("http://localhost:{}/hook", receiver.port());
    let (app, _, _) = app_with_endpoint(&svix, &url).await;
    let msg =
        svix.message().create(app.clone(), MessageIn::new("a.b".into(), json!({})), None).await.expect("ok");
    eventually("the refusal is recorded", || async {
        let opts = MessageAttemptListByMsgOptions { with_content: Some(true), ..Default::default() };
        let list =
            svix.message_attempt().list_by_msg(app.clone(), msg.id.clone(), Some(opts)).await.expect("list");
        list.data.first().is_some_and(|a| a.response_status_code == 0 && a.response.contains("loopback"))
    })
    .await;
    assert!(receiver.received().is_empty(), "a refused destination gets no traffic");
}

crate::on_both_stores!(
    two_failures_then_success_makes_three_attempts_and_a_delivered_message,
    an_exhausted_delivery_fails_then_recover_and_resend_deliver_it,
    a_refused_destination_is_recorded_with_its_reason_and_never_contacted
);
