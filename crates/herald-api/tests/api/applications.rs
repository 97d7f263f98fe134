//! Applications: CRUD, get-or-create, PUT-creates-by-uid, validation, pagination both ways.

use serde_json::json;

use crate::support::{Api, assert_fields, required};

#[tokio::test]
async fn create_get_update_patch_delete() {
    let api = Api::new();
    let created =
        api.post("/api/v1/app", json!({"name": "Acme", "uid": "acme", "metadata": {"tier": "gold"}})).await;
    let created = created.expect(201).body;
    assert_fields(&created, required::APPLICATION);
    let id = created["id"].as_str().expect("id");
    assert!(id.starts_with("app_"));
    assert_eq!(created["metadata"]["tier"], "gold");

    let by_uid = api.get("/api/v1/app/acme").await.expect(200).body;
    assert_eq!(by_uid["id"], id);
    assert_eq!(api.get(&format!("/api/v1/app/{id}")).await.expect(200).body["uid"], "acme");

    let updated = api.put(&format!("/api/v1/app/{id}"), json!({"name": "Acme Inc", "throttleRate": 5})).await;
    let updated = updated.expect(200).body;
    assert_eq!((updated["name"].as_str(), updated["uid"].as_str()), (Some("Acme Inc"), Some("acme")));
    assert_eq!(updated["throttleRate"], 5);

    let patched =
        api.patch("/api/v1/app/acme", json!({"uid": null, "throttleRate": null})).await.expect(200).body;
    assert!(patched.get("uid").is_none() && patched.get("throttleRate").is_none(), "{patched}");
    assert_eq!(patched["name"], "Acme Inc");

    api.delete(&format!("/api/v1/app/{id}")).await.expect(204);
    api.get(&format!("/api/v1/app/{id}")).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn duplicate_uid_is_a_conflict_unless_get_if_exists() {
    let api = Api::new();
    let first = api.post("/api/v1/app", json!({"name": "A", "uid": "same"})).await.expect(201).body;
    api.post("/api/v1/app", json!({"name": "B", "uid": "same"})).await.expect_error(409, "conflict");
    let again =
        api.post("/api/v1/app?get_if_exists=true", json!({"name": "B", "uid": "same"})).await.expect(200);
    assert_eq!(again.body["id"], first["id"]);
    api.post("/api/v1/app?get_if_exists=true", json!({"name": "C", "uid": "new-one"})).await.expect(201);
}

#[tokio::test]
async fn put_creates_by_uid() {
    let api = Api::new();
    let created = api.put("/api/v1/app/by-put", json!({"name": "Put"})).await.expect(201).body;
    assert_eq!(created["uid"], "by-put");
    api.put("/api/v1/app/by-put", json!({"name": "Put 2"})).await.expect(200);
    api.put("/api/v1/app/app_2b1xxxxxxxxxxxxxxxxxxxxxxxx", json!({"name": "X"}))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn invalid_input_is_422() {
    let api = Api::new();
    api.post("/api/v1/app", json!({"name": "A", "uid": "has space"})).await.expect_invalid(&["body", "uid"]);
    api.post("/api/v1/app", json!({"uid": "x"})).await.expect_invalid(&["body", "name"]);
    api.post("/api/v1/app", json!({"name": "A", "throttleRate": 0}))
        .await
        .expect_invalid(&["body", "throttleRate"]);
    api.post("/api/v1/app", json!({"name": 12})).await.expect_invalid(&["body", "name"]);
    api.post("/api/v1/app", json!({"name": "A", "uid": "app_123"})).await.expect_invalid(&["body", "uid"]);
}

#[tokio::test]
async fn pagination_goes_both_ways() {
    let api = Api::new();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(api.app(&format!("app {i}")).await);
    }
    // Lists are in id order; ids sort by creation time only to about 4 ms.
    ids.sort();
    let page1 = api.get("/api/v1/app?limit=2").await.expect(200).body;
    assert_fields(&page1, required::LIST);
    let got: Vec<&str> =
        page1["data"].as_array().expect("data").iter().map(|a| a["id"].as_str().expect("id")).collect();
    assert_eq!(got, [&ids[0], &ids[1]]);
    assert_eq!(page1["done"], false);
    assert_eq!(page1["iterator"], ids[1].as_str());

    let it = page1["iterator"].as_str().expect("iterator");
    let page2 = api.get(&format!("/api/v1/app?limit=2&iterator={it}")).await.expect(200).body;
    let got: Vec<&str> =
        page2["data"].as_array().expect("data").iter().map(|a| a["id"].as_str().expect("id")).collect();
    assert_eq!(got, [&ids[2], &ids[3]]);
    assert_eq!(page2["prevIterator"], format!("-{}", ids[2]));

    let prev = page2["prevIterator"].as_str().expect("prev");
    let back = api.get(&format!("/api/v1/app?limit=2&iterator={prev}")).await.expect(200).body;
    let got: Vec<&str> =
        back["data"].as_array().expect("data").iter().map(|a| a["id"].as_str().expect("id")).collect();
    assert_eq!(got, [&ids[0], &ids[1]]);

    let last = api.get(&format!("/api/v1/app?limit=2&iterator={}", ids[3])).await.expect(200).body;
    assert_eq!(last["data"].as_array().expect("data").len(), 1);
    assert_eq!(last["done"], true);

    let desc = api.get("/api/v1/app?limit=1&order=descending").await.expect(200).body;
    assert_eq!(desc["data"][0]["id"], ids[4].as_str());
}
