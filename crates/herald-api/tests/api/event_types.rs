//! The event-type catalogue: archive versus expunge, PUT/PATCH, validation, pagination by name.

use serde_json::json;

use crate::support::{Api, assert_fields, required};

fn names(list: &serde_json::Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn lifecycle_with_archive_and_expunge() {
    let api = Api::new();
    let schemas = json!({"1": {"type": "object", "examples": [{"id": 1}]}});
    let body = json!({"name": "order.paid", "description": "Paid", "schemas": schemas});
    let created = api.post("/api/v1/event-type", body.clone()).await.expect(201).body;
    assert_fields(&created, required::EVENT_TYPE);
    assert_eq!(created["archived"], false);
    api.post("/api/v1/event-type", body).await.expect_error(409, "conflict");
    api.post("/api/v1/event-type", json!({"name": "order.refunded", "description": "Refunded"}))
        .await
        .expect(201);

    let list = api.get("/api/v1/event-type").await.expect(200).body;
    assert_eq!(names(&list), ["order.paid", "order.refunded"]);
    assert!(list["data"][0].get("schemas").is_none(), "schemas only with_content");
    let full = api.get("/api/v1/event-type?with_content=true").await.expect(200).body;
    assert_eq!(full["data"][0]["schemas"], schemas);

    api.delete("/api/v1/event-type/order.paid").await.expect(204);
    assert_eq!(names(&api.get("/api/v1/event-type").await.body), ["order.refunded"]);
    let all = api.get("/api/v1/event-type?include_archived=true").await.body;
    assert_eq!(names(&all), ["order.paid", "order.refunded"]);
    assert_eq!(api.get("/api/v1/event-type/order.paid").await.expect(200).body["archived"], true);

    api.delete("/api/v1/event-type/order.paid?expunge=true").await.expect(204);
    api.get("/api/v1/event-type/order.paid").await.expect_error(404, "not_found");
}

#[tokio::test]
async fn put_creates_then_updates_and_patch_changes_fields() {
    let api = Api::new();
    let created =
        api.put("/api/v1/event-type/user.signup", json!({"description": "Signed up"})).await.expect(201);
    assert_eq!(created.body["name"], "user.signup");
    let updated =
        api.put("/api/v1/event-type/user.signup", json!({"description": "New", "deprecated": true})).await;
    assert_eq!(updated.expect(200).body["deprecated"], true);
    let patched =
        api.patch("/api/v1/event-type/user.signup", json!({"description": "Patched"})).await.expect(200);
    assert_eq!(
        (patched.body["description"].as_str(), patched.body["deprecated"].as_bool()),
        (Some("Patched"), Some(true))
    );
    api.patch("/api/v1/event-type/nope", json!({})).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn names_and_schemas_are_validated() {
    let api = Api::new();
    api.post("/api/v1/event-type", json!({"name": "bad name", "description": ""}))
        .await
        .expect_invalid(&["body", "name"]);
    let body = json!({"name": "ok", "description": "", "schemas": [1]});
    api.post("/api/v1/event-type", body).await.expect_invalid(&["body", "schemas"]);
}

#[tokio::test]
async fn pagination_is_by_name() {
    let api = Api::new();
    for n in ["c", "a", "b"] {
        api.post("/api/v1/event-type", json!({"name": n, "description": ""})).await.expect(201);
    }
    let first = api.get("/api/v1/event-type?limit=2").await.expect(200).body;
    assert_eq!(names(&first), ["a", "b"]);
    assert_eq!(first["done"], false);
    let next = api.get("/api/v1/event-type?limit=2&iterator=b").await.expect(200).body;
    assert_eq!((names(&next), next["done"].as_bool()), (vec!["c".to_owned()], Some(true)));
    let back = api.get("/api/v1/event-type?limit=2&iterator=-c").await.expect(200).body;
    assert_eq!(names(&back), ["a", "b"]);
}
