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

pub(super) async fn idempotency_claims_let_one_request_run(store: Shared) {
    use crate::IdempotencyClaim::{Claimed, InProgress, Stored};
    let key = unique("idem-claim");
    let claim = async |now: i64, until: i64| {
        store.claim_idempotent(&key, ts(now), ts(until)).await.expect("claim_idempotent")
    };
    assert_eq!(claim(T, FAR).await, Claimed, "a new key is claimed");
    assert_eq!(claim(T, FAR).await, InProgress, "a second claim waits for the first");
    assert_eq!(store.get_idempotent(&key, ts(T)).await.expect("get"), None, "a claim is no answer");
    store.release_idempotent(&key).await.expect("release_idempotent");
    assert_eq!(claim(T, FAR).await, Claimed, "a released key is claimed again");
    let answer = StoredResponse { status: 202, body: br#"{"id":"msg_2"}"#.to_vec() };
    store.put_idempotent(&key, &answer, ts(FAR + 1_000)).await.expect("put completes the claim");
    assert_eq!(claim(T, FAR).await, Stored(answer.clone()), "then the answer is replayed");
    store.release_idempotent(&key).await.expect("release_idempotent");
    assert_eq!(claim(T, FAR).await, Stored(answer), "release leaves a stored answer alone");
    assert_eq!(claim(FAR + 1_000, FAR + 2_000).await, Claimed, "an expired answer is taken over");

    let stale = unique("idem-stale");
    let first = store.claim_idempotent(&stale, ts(T), ts(T + 1_000)).await.expect("claim");
    let later = store.claim_idempotent(&stale, ts(T + 1_000), ts(FAR)).await.expect("claim");
    assert_eq!((first, later), (Claimed, Claimed), "a claim whose holder died expires");
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
    store.delete_app_token(&hash).await.expect("delete_app_token");
    assert_eq!(lookup(&hash, T).await, None, "a revoked token names nothing");
    store.delete_app_token(&hash).await.expect("revoking twice is no error");
    store.delete_app(&app.id).await.expect("delete_app");
}

pub(super) async fn ping_answers(store: Shared) {
    store.ping().await.expect("ping");
}
