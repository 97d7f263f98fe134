//! Cross-cutting answers: JSON 404/405, optional trailing slashes, non-JSON bodies, the body limit.

use axum::body::Body;
use http::Request;
use serde_json::json;

use crate::support::{ADMIN, Api};

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let api = Api::new();
    api.get("/api/v1/nothing-here").await.expect_error(404, "not_found");
    api.call("PATCH", "/api/v1/health", Some(ADMIN), None).await.expect_error(405, "method_not_allowed");
}

#[tokio::test]
async fn trailing_slashes_are_optional() {
    let api = Api::new();
    let app = api.post("/api/v1/app/", json!({"name": "slash"})).await.expect(201).body;
    let id = app["id"].as_str().expect("id");
    api.get(&format!("/api/v1/app/{id}/")).await.expect(200);
    api.get("/api/v1/app/?limit=1").await.expect(200);
    api.post(&format!("/api/v1/app/{id}/msg/"), json!({"eventType": "a", "payload": {}})).await.expect(202);
}

#[tokio::test]
async fn bodies_that_are_not_json() {
    let api = Api::new();
    let req = Request::post("/api/v1/app")
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "text/plain")
        .body(Body::from("name=x"));
    api.send(req.expect("request")).await.expect_error(400, "bad_request");

    let req = Request::post("/api/v1/app")
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json")
        .body(Body::from("{\"name\": "));
    let resp = api.send(req.expect("request")).await.expect_invalid(&["body"]);
    assert_eq!(resp.body["detail"][0]["type"], "value_error.jsondecode");
}

#[tokio::test]
async fn oversized_bodies_are_413_json() {
    let api = Api::with_config(|c| c.max_payload_bytes = 1024);
    let app = api.app("small").await;
    let big = "x".repeat(2048);
    let resp =
        api.post(&format!("/api/v1/app/{app}/msg"), json!({"eventType": "a", "payload": {"big": big}})).await;
    resp.expect_error(413, "payload_too_large");
}
