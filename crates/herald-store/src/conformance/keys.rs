//! Idempotency keys, application tokens and the health check. Expiries are far in the
//! future so that a backend checking them against the wall clock agrees with one
//! using the `now` passed in.

use super::*;
use crate::StoredResponse;

pub(super) async fn idempotency_first_writer_wins(store: Shared) {
    let key = unique("idem");
    assert_eq!(store.get_idempotent(&key, ts(T)).await.expect("get_idempotent"), None, "unknown key");
    let first = StoredResponse { status: 202, body: br#"{"id":"msg_1"}"#.to_vec() };
    let second = StoredResponse { status: 409, body: b"{}".to_vec() };
    store.put_idempotent(&key, &first, ts(FAR)).await.expect("put_idempotent");
    store.put_idempotent(&key, &second, ts(FAR + 1_000)).await.expect("a second put is not an error");
    let get = async |now: i64| store.get_idempotent(&key, ts(now)).await.expect("get_idempotent");
    assert_eq!(get(T).await, Some(first.clone()), "the first writer wins");
    assert_eq!(get(FAR - 1).await, Some(first), "kept until it expires");
    assert_eq!(get(FAR).await, None, "an expired key is ignored");
}

pub(super) async fn app_tokens_expire(store: Shared) {
    let app = new_app(&store).await;
    let hash = unique("token-hash");
    store.create_app_token(&hash, &app.id, ts(FAR)).await.expect("create_app_token");
    let lookup =
        async |hash: &str, now: i64| store.app_for_token(hash, ts(now)).await.expect("app_for_token");
    assert_eq!(lookup(&hash, FAR - 1).await, Some(app.id.clone()), "a live token names its application");
    assert_eq!(lookup(&hash, FAR).await, None, "an expired token names nothing");
    assert_eq!(lookup(&unique("token-hash"), T).await, None, "an unknown token names nothing");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn ping_answers(store: Shared) {
    store.ping().await.expect("ping");
}
