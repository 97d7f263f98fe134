//! Secret rotation: the new secret signs at once, the old one keeps signing during
//! the grace period, as a second space-separated signature.

use herald_testkit::{Backend, TestReceiver, TestServer};
use serde_json::json;
use svix::models::{EndpointSecretRotateIn, MessageIn};

use crate::common::*;

async fn after_rotation_both_the_new_and_the_previous_secret_verify(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let receiver = TestReceiver::start().await;
    let svix = sdk(&server);
    let (app, ep, old) = app_with_endpoint(&svix, &receiver.url).await;
    assert!(old.starts_with("whsec_"));

    let rotated =
        svix.endpoint().rotate_secret(app.clone(), ep.clone(), EndpointSecretRotateIn::default(), None).await;
    let new = rotated.expect("rotation answers with the new key").key;
    assert_ne!(new, old);
    assert_eq!(svix.endpoint().get_secret(app.clone(), ep.clone()).await.expect("secret").key, new);

    svix.message()
        .create(app.clone(), MessageIn::new("a.b".into(), json!({"x": 1})), None)
        .await
        .expect("sent");
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(
        got[0].header("webhook-signature").split(' ').count(),
        2,
        "two signatures during the grace period"
    );
    verify(&new, &got[0]).expect("the new secret verifies");
    verify(&old, &got[0]).expect("the previous secret still verifies");

    let chosen = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let rotate_in = EndpointSecretRotateIn { key: Some(chosen.into()), ..Default::default() };
    let rotated =
        svix.endpoint().rotate_secret(app.clone(), ep.clone(), rotate_in, None).await.expect("rotated");
    assert_eq!(rotated.key, chosen);
}

crate::on_both_stores!(after_rotation_both_the_new_and_the_previous_secret_verify);
