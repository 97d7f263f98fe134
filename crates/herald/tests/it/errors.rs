//! The error paths an SDK user hits: 401, 403, 404, 409, 422, 413, each with a
//! JSON body the SDK can read.

use herald_testkit::{Backend, TestServer};
use serde_json::json;
use svix::models::{ApplicationIn, EndpointIn, MessageIn};

use crate::common::*;

async fn the_sdk_sees_401_404_409_and_422(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let svix = sdk(&server);
    let err = sdk_with_token(&server, "not-the-token").application().list(None).await.expect_err("bad token");
    assert_eq!(status_of(err), 401);
    assert_eq!(status_of(svix.application().get("app_missing".into()).await.expect_err("unknown")), 404);

    let app_in = || ApplicationIn { uid: Some("unique-app".into()), ..ApplicationIn::new("A".into()) };
    let app = svix.application().create(app_in(), None).await.expect("first");
    assert_eq!(status_of(svix.application().create(app_in(), None).await.expect_err("duplicate uid")), 409);

    let msg = || MessageIn { event_id: Some("evt-dup".into()), ..MessageIn::new("a.b".into(), json!({})) };
    svix.message().create(app.id.clone(), msg(), None).await.expect("first message");
    assert_eq!(
        status_of(svix.message().create(app.id.clone(), msg(), None).await.expect_err("dup eventId")),
        409
    );

    let bad_url = svix.endpoint().create(app.id.clone(), EndpointIn::new("not a url".into()), None).await;
    assert_eq!(status_of(bad_url.expect_err("bad URL")), 422);
    let bad_secret =
        EndpointIn { secret: Some("whsec_short".into()), ..EndpointIn::new("https://example.com".into()) };
    assert_eq!(
        status_of(svix.endpoint().create(app.id.clone(), bad_secret, None).await.expect_err("secret")),
        422
    );
    let not_object =
        svix.message().create(app.id.clone(), MessageIn::new("a.b".into(), json!([1, 2])), None).await;
    assert_eq!(status_of(not_object.expect_err("payload must be an object")), 422);
    let bad_type =
        svix.message().create(app.id.clone(), MessageIn::new("no spaces".into(), json!({})), None).await;
    assert_eq!(status_of(bad_type.expect_err("event type pattern")), 422);
}

async fn an_oversized_payload_is_a_json_413_and_nothing_is_stored(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let svix = sdk(&server);
    let app = svix.application().create(ApplicationIn::new("A".into()), None).await.expect("app");
    let big = "x".repeat(2 * 1024 * 1024);
    let resp = http()
        .post(format!("{}/api/v1/app/{}/msg", server.base_url, app.id))
        .bearer_auth(&server.token)
        .json(&json!({"eventType": "a.b", "payload": {"blob": big}}))
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 413);
    let body: serde_json::Value = resp.json().await.expect("a JSON error body");
    assert!(body["code"].is_string() && body["detail"].is_string(), "{body}");
    let list = svix.message().list(app.id, None).await.expect("list");
    assert!(list.data.is_empty());
}

async fn an_app_portal_token_sees_only_its_own_application(backend: Backend) {
    let server = TestServer::start_on(&backend, |_| {}).await;
    let svix = sdk(&server);
    let mine = svix.application().create(ApplicationIn::new("Mine".into()), None).await.expect("app");
    let theirs = svix.application().create(ApplicationIn::new("Theirs".into()), None).await.expect("app");
    let access = svix.authentication().app_portal_access(mine.id.clone(), Default::default(), None).await;
    let token = access.expect("portal access").token;
    let portal = sdk_with_token(&server, &token);
    portal.endpoint().list(mine.id.clone(), None).await.expect("own endpoints readable");
    portal
        .endpoint()
        .create(mine.id.clone(), EndpointIn::new("https://example.com/h".into()), None)
        .await
        .expect("own");
    let denied = portal.endpoint().list(theirs.id.clone(), None).await.expect_err("another app");
    assert!(matches!(status_of(denied), 403 | 404));
    let denied = portal.message().list(theirs.id.clone(), None).await.expect_err("another app's messages");
    assert!(matches!(status_of(denied), 403 | 404));
    assert!(matches!(status_of(portal.application().list(None).await.expect_err("no app list")), 401 | 403));

    // Logging out revokes the token at once; the admin token is not affected.
    portal.authentication().logout(None).await.expect("logout");
    let revoked = portal.endpoint().list(mine.id.clone(), None).await.expect_err("a revoked token");
    assert_eq!(status_of(revoked), 401);
    svix.authentication().logout(None).await.expect("the admin token's logout is accepted");
    svix.endpoint().list(mine.id.clone(), None).await.expect("and changes nothing");
}

crate::on_both_stores!(
    the_sdk_sees_401_404_409_and_422,
    an_oversized_payload_is_a_json_413_and_nothing_is_stored,
    an_app_portal_token_sees_only_its_own_application
);
