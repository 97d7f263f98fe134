//! Authentication and authorization: 401s, app-portal tokens scoped to one application, unauthenticated
//! health and OpenAPI.

use serde_json::json;

use crate::support::{ADMIN, Api};

#[tokio::test]
async fn missing_or_bad_token_is_401() {
    let api = Api::new();
    api.call("GET", "/api/v1/app", None, None).await.expect_error(401, "authentication_failed");
    api.call("GET", "/api/v1/app", Some("wrong"), None).await.expect_error(401, "authentication_failed");
    api.call("POST", "/api/v1/app", None, Some(json!({"name": "x"})))
        .await
        .expect_error(401, "authentication_failed");
    api.call("GET", "/api/v1/app", Some(ADMIN), None).await.expect(200);
}

#[tokio::test]
async fn an_empty_admin_token_grants_nothing() {
    let api = Api::with_config(|c| c.admin_token.clear());
    let req =
        http::Request::get("/api/v1/app").header("authorization", "Bearer ").body(axum::body::Body::empty());
    api.send(req.expect("request")).await.expect_error(401, "authentication_failed");
}

#[tokio::test]
async fn health_and_openapi_need_no_token() {
    let api = Api::new();
    api.call("GET", "/api/v1/health", None, None).await.expect(204);
    api.call("HEAD", "/api/v1/health", None, None).await.expect(204);
    api.call("GET", "/api/v1/health/ping/", None, None).await.expect(204);
    let doc = api.call("GET", "/api/v1/openapi.json", None, None).await.expect(200).body;
    assert!(doc["paths"]["/api/v1/app/{app_id}/msg"]["post"].is_object(), "{doc}");
    assert!(doc["components"]["schemas"]["MessageIn"].is_object());
}

#[tokio::test]
async fn app_portal_tokens_are_scoped_to_their_application() {
    let api = Api::new();
    let mine = api.app("mine").await;
    let other = api.post("/api/v1/app", json!({"name": "other", "uid": "other-uid"})).await.expect(201).body;
    let other = other["id"].as_str().expect("id").to_owned();

    let access =
        api.post(&format!("/api/v1/auth/app-portal-access/{mine}"), json!({})).await.expect(200).body;
    let token = access["token"].as_str().expect("token").to_owned();
    assert!(access["url"].as_str().expect("url").contains(&token));
    let t = Some(token.as_str());

    api.call("GET", &format!("/api/v1/app/{mine}"), t, None).await.expect(200);
    let ep = json!({"url": "https://example.com/hook"});
    api.call("POST", &format!("/api/v1/app/{mine}/endpoint"), t, Some(ep.clone())).await.expect(201);
    api.call("GET", &format!("/api/v1/app/{mine}/msg"), t, None).await.expect(200);
    api.call("GET", "/api/v1/event-type", t, None).await.expect(200);

    // Another application, by id or uid, existing or not: all the same 403.
    api.call("GET", &format!("/api/v1/app/{other}"), t, None).await.expect_error(403, "insufficient_access");
    api.call("GET", "/api/v1/app/other-uid/endpoint", t, None).await.expect_error(403, "insufficient_access");
    api.call("GET", "/api/v1/app/no-such-app", t, None).await.expect_error(403, "insufficient_access");
    api.call("POST", &format!("/api/v1/app/{other}/endpoint"), t, Some(ep)).await.expect(403);
    // Admin-only routes.
    api.call("GET", "/api/v1/app", t, None).await.expect(403);
    api.call("DELETE", &format!("/api/v1/app/{mine}"), t, None).await.expect(403);
    api.call("POST", "/api/v1/event-type", t, Some(json!({"name": "a.b", "description": ""})))
        .await
        .expect(403);
    let portal = format!("/api/v1/auth/app-portal-access/{mine}");
    api.call("POST", &portal, t, Some(json!({}))).await.expect(403);

    api.call("POST", "/api/v1/auth/logout", t, None).await.expect(204);
}

#[tokio::test]
async fn app_portal_access_can_create_the_application() {
    let api = Api::new();
    let path = "/api/v1/auth/app-portal-access/new-customer";
    api.post(path, json!({})).await.expect_error(404, "not_found");
    api.post(path, json!({"application": {"name": "New"}})).await.expect(200);
    assert_eq!(api.get("/api/v1/app/new-customer").await.expect(200).body["name"], "New");
    // An empty body is accepted too.
    api.call("POST", path, Some(ADMIN), None).await.expect(200);
}
