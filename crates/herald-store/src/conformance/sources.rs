//! Inbound sources: the source rows (verifier and rules round trip, uid look-ups and
//! conflicts, paging), inbound messages with their origin, the dedup claim taken in
//! the outbox write, the rejected-requests log, and what deleting removes.

use std::time::Duration;

use herald_core::{DedupClaim, InboundOrigin, RejectionId, SourceId};
use herald_inbound::{CustomResponse, Locator, RejectedRequest, Source, VerifierConfig};

use super::*;
use crate::StoreError;

fn source(app: &AppId) -> Source {
    let verifier = serde_json::json!({
        "type": "generic_hmac", "header": "X-Signature", "secret": "s3cret", "prefix": "sha256="
    });
    Source {
        id: SourceId::generate(),
        app_id: app.clone(),
        uid: None,
        name: "Conformance source".into(),
        verifier: serde_json::from_value(verifier).expect("a valid verifier"),
        event_type: Some(Locator::JsonPointer { pointer: "/meta/event".into() }),
        dedup_key: Some(Locator::Header { name: "X-Request-Id".into() }),
        dedup_window: Duration::from_secs(3600),
        response: Some(CustomResponse {
            status: 202,
            content_type: "text/plain".into(),
            body: "thanks".into(),
        }),
        max_body_bytes: 1024,
        rejected_total: 0,
        created_at: ts(T),
        updated_at: ts(T),
    }
}

async fn new_source(store: &Shared, app: &AppId) -> Source {
    let src = source(app);
    store.create_source(&src).await.expect("create_source");
    src
}

/// A message received by `source`, claiming `key` until `until` when given.
fn inbound(app: &AppId, source: &SourceId, at: i64, claim: Option<(&str, i64)>) -> Message {
    let mut msg = message(app, at);
    msg.payload = Some(bytes::Bytes::from_static(b"a=1&b=2"));
    msg.inbound = Some(InboundOrigin {
        source: source.clone(),
        path: "/in/src_1/github?attempt=1".into(),
        headers: vec![
            ("content-type".into(), "application/x-www-form-urlencoded".into()),
            ("x-signature".into(), "sha256=00ff".into()),
            ("x-signature".into(), "sha256=second value".into()),
        ],
        dedup: claim.map(|(key, until)| DedupClaim { key: key.into(), until: ts(until) }),
    });
    msg
}

fn rejection(source: &SourceId, at: i64) -> RejectedRequest {
    RejectedRequest {
        id: RejectionId::generate(),
        source_id: source.clone(),
        received_at: ts(at),
        code: "signature_mismatch".into(),
        reason: "signature mismatch: no signature in X-Signature matches".into(),
        method: "POST".into(),
        url: "https://herald.example.com/in/src_1/github?x=1".into(),
        headers: vec![("x-signature".into(), "sha256=bad".into())],
        body: b"{\"start\": ".to_vec(),
        body_size: 4096,
    }
}

pub(super) async fn sources_crud_uid_lookup_and_paging(store: Shared) {
    let (app, other) = (new_app(&store).await, new_app(&store).await);
    let mut src = source(&app.id);
    src.uid = Some(unique("stripe"));
    store.create_source(&src).await.expect("create_source");
    let get = async |key: &str| store.get_source(key).await.expect("get_source");
    assert_eq!(get(src.id.as_str()).await, Some(src.clone()), "by id, every field round trips");
    assert_eq!(get(src.uid.as_deref().expect("uid")).await, Some(src.clone()), "by uid");
    assert_eq!(get(&unique("nobody")).await, None, "unknown");

    let mut clash = source(&other.id);
    clash.uid = src.uid.clone();
    let refused = store.create_source(&clash).await;
    assert!(matches!(refused, Err(StoreError::Conflict("source uid"))), "{refused:?}");

    let mut changed = src.clone();
    changed.name = "Renamed".into();
    changed.verifier = VerifierConfig::None;
    changed.event_type = None;
    changed.response = None;
    changed.dedup_window = Duration::from_secs(60);
    changed.max_body_bytes = 25 * 1024 * 1024;
    changed.rejected_total = 99;
    changed.updated_at = ts(T + 5);
    store.update_source(&changed).await.expect("update_source");
    let expected = Source { rejected_total: 0, ..changed.clone() };
    assert_eq!(get(src.id.as_str()).await, Some(expected), "updated; rejected_total is the store's");
    let taken = Source { uid: src.uid.clone(), ..new_source(&store, &other.id).await };
    let refused = store.update_source(&taken).await;
    assert!(matches!(refused, Err(StoreError::Conflict("source uid"))), "{refused:?}");
    let ghost = store.update_source(&source(&app.id)).await;
    assert!(matches!(ghost, Err(StoreError::NotFound)), "update a missing source: {ghost:?}");

    let more = [new_source(&store, &app.id).await, new_source(&store, &app.id).await];
    let ids = sorted([&src, &more[0], &more[1]].iter().map(|s| s.id.to_string()).collect());
    check_paging("list_sources", &ids, async |q: PageQuery| {
        keys(store.list_sources(Some(&app.id), &q).await.expect("list_sources"), |s| s.id.to_string())
    })
    .await;
    let all = store.list_sources(None, &PageQuery::first(1000, Order::Ascending)).await.expect("list all");
    let listed: Vec<&SourceId> = all.items.iter().map(|s| &s.id).collect();
    assert!(listed.contains(&&src.id) && listed.contains(&&taken.id), "without an app, every source");

    store.delete_source(&src.id).await.expect("delete_source");
    assert_eq!(get(src.id.as_str()).await, None, "deleted");
    let again = store.delete_source(&src.id).await;
    assert!(matches!(again, Err(StoreError::NotFound)), "delete twice: {again:?}");
    for id in [&app.id, &other.id] {
        store.delete_app(id).await.expect("delete_app");
    }
}

pub(super) async fn inbound_messages_keep_their_origin_and_claim_dedup_keys(store: Shared) {
    let app = new_app(&store).await;
    let ep = new_endpoint(&store, &app.id).await;
    let (src, other_src) = (new_source(&store, &app.id).await, new_source(&store, &app.id).await);
    let first = inbound(&app.id, &src.id, T, Some(("delivery-1", T + 1_000)));
    assert_eq!(send(&store, &first, &[&ep]).await.len(), 1, "an inbound message has its deliveries");
    let found = store.get_message(&app.id, first.id.as_str()).await.expect("get_message");
    assert_eq!(found, Some(first.clone()), "origin, headers (repeated ones too) and claim round trip");
    let claimant = async |source: &SourceId, key: &str, now: i64| {
        store.dedup_claimant(source, key, ts(now)).await.expect("dedup_claimant")
    };
    assert_eq!(claimant(&src.id, "delivery-1", T + 999).await, Some(first.id.clone()), "claimed");
    assert_eq!(claimant(&src.id, "delivery-1", T + 1_000).await, None, "the claim ends at `until`");
    assert_eq!(claimant(&other_src.id, "delivery-1", T).await, None, "claims are per source");

    let retry = inbound(&app.id, &src.id, T + 999, Some(("delivery-1", T + 2_000)));
    let refused = store.create_message(&retry, std::slice::from_ref(&ep.id), None).await;
    assert!(matches!(refused, Err(StoreError::Conflict("source dedup key"))), "{refused:?}");
    let stored = store.messages_by_id(std::slice::from_ref(&retry.id)).await.expect("messages_by_id");
    assert!(stored.is_empty(), "a duplicate is not stored");
    let dest = store.message_destinations(&retry.id, &PageQuery::first(10, Order::Ascending)).await;
    assert!(dest.expect("message_destinations").items.is_empty(), "nor are its deliveries");

    let elsewhere = inbound(&app.id, &other_src.id, T + 1, Some(("delivery-1", T + 1_000)));
    send(&store, &elsewhere, &[]).await;
    let unkeyed = [inbound(&app.id, &src.id, T + 2, None), inbound(&app.id, &src.id, T + 3, None)];
    for msg in &unkeyed {
        send(&store, msg, &[]).await;
    }
    let later = inbound(&app.id, &src.id, T + 1_000, Some(("delivery-1", T + 5_000)));
    send(&store, &later, &[]).await;
    assert_eq!(claimant(&src.id, "delivery-1", T + 1_500).await, Some(later.id.clone()), "claim renewed");
    let all = [&first, &elsewhere, &unkeyed[0], &unkeyed[1], &later].map(|m| m.id.clone());
    assert_eq!(store.messages_by_id(&all).await.expect("messages_by_id").len(), 5, "all stored");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn rejections_are_logged_newest_first_counted_and_pruned(store: Shared) {
    let app = new_app(&store).await;
    let (src, quiet) = (new_source(&store, &app.id).await, new_source(&store, &app.id).await);
    // Sorted by id: ids made within the same 4 ms need not sort in creation order.
    let mut logged: Vec<RejectedRequest> = (0..5).map(|i| rejection(&src.id, T + i)).collect();
    logged.sort_by(|a, b| a.id.cmp(&b.id));
    for r in &logged {
        store.record_rejection(r, 3).await.expect("record_rejection");
    }
    let page = PageQuery::first(10, Order::Descending);
    let listed = store.list_rejections(&src.id, &page).await.expect("list_rejections");
    let newest: Vec<RejectedRequest> = logged[2..].iter().rev().cloned().collect();
    assert_eq!(listed, Page { items: newest, done: true }, "the newest three, whole, newest first");
    let count = store.get_source(src.id.as_str()).await.expect("get_source").expect("source").rejected_total;
    assert_eq!(count, 5, "every rejection is counted, pruned or not");
    let ids = sorted(logged[2..].iter().map(|r| r.id.to_string()).collect());
    check_paging("list_rejections", &ids, async |q: PageQuery| {
        keys(store.list_rejections(&src.id, &q).await.expect("list_rejections"), |r| r.id.to_string())
    })
    .await;
    let none = store.list_rejections(&quiet.id, &page).await.expect("list_rejections");
    assert_eq!(none, Page { items: vec![], done: true }, "another source's log is its own");

    store.delete_source(&src.id).await.expect("delete_source");
    store.record_rejection(&rejection(&src.id, T + 9), 3).await.expect("a deleted source's rejection");
    let gone = store.list_rejections(&src.id, &page).await.expect("list_rejections");
    assert!(gone.items.is_empty(), "deleting a source deletes its log, and nothing is added after");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn deleting_an_app_deletes_its_sources(store: Shared) {
    let (app, kept) = (new_app(&store).await, new_app(&store).await);
    let (src, kept_src) = (new_source(&store, &app.id).await, new_source(&store, &kept.id).await);
    send(&store, &inbound(&app.id, &src.id, T, Some(("k", FAR))), &[]).await;
    store.record_rejection(&rejection(&src.id, T), 10).await.expect("record_rejection");
    store.delete_app(&app.id).await.expect("delete_app");
    assert_eq!(store.get_source(src.id.as_str()).await.expect("get_source"), None, "the source");
    assert_eq!(store.dedup_claimant(&src.id, "k", ts(T)).await.expect("claimant"), None, "its claims");
    let page = PageQuery::first(10, Order::Descending);
    assert!(store.list_rejections(&src.id, &page).await.expect("log").items.is_empty(), "its log");
    let still = store.get_source(kept_src.id.as_str()).await.expect("get_source");
    assert_eq!(still, Some(kept_src), "another application's source stays");
    store.delete_app(&kept.id).await.expect("delete_app");
}
