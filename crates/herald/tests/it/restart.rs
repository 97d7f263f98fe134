//! Restart: messages accepted (202) before a stop are all delivered after a
//! restart on the same data directory.

use std::collections::BTreeSet;

use herald_testkit::{Backend, TestReceiver, TestServer};
use serde_json::json;
use svix::models::MessageIn;

use crate::common::*;

async fn accepted_messages_survive_a_stop_and_are_delivered_after_restart(backend: Backend) {
    // Reserve a port for the receiver, but keep it closed while the first server runs.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    let server =
        TestServer::start_on(&backend, |c| c.retry.schedule = vec![std::time::Duration::from_secs(1); 5])
            .await;
    let svix = sdk(&server);
    let (app, _, _) = app_with_endpoint(&svix, &url).await;
    let mut accepted = BTreeSet::new();
    for i in 0..20 {
        let msg =
            svix.message().create(app.clone(), MessageIn::new("a.b".into(), json!({"i": i})), None).await;
        accepted.insert(msg.expect("accepted").id);
    }
    let stopped = server.stop().await;

    let receiver = TestReceiver::start_on(&format!("127.0.0.1:{port}")).await;
    let server = stopped.restart(|_| {}).await;
    let got = receiver.wait_for(accepted.len(), WAIT).await;
    let delivered: BTreeSet<_> = got.iter().map(|r| r.header("webhook-id").to_owned()).collect();
    assert_eq!(delivered, accepted, "every accepted message is delivered after the restart");
    server.stop().await;
}

crate::on_both_stores!(accepted_messages_survive_a_stop_and_are_delivered_after_restart);
