//! `impl Store for SqliteStore`: every method copies its arguments into an owned
//! closure and hands it to the writer thread (writes) or the read pool (reads). The
//! SQL itself lives in the table modules.

use async_trait::async_trait;
use herald_core::{
    AppId, Application, Attempt, Delivery, DeliveryStatus, Endpoint, EndpointId, EventType, Message,
    MessageId, SourceId, Timestamp,
};
use herald_inbound::{RejectedRequest, Source};
use herald_store::{
    ActivityBucket, AttemptFilter, DeliveryCounts, DeliveryUpdate, IdempotencyClaim, MessageFilter, Page,
    PageQuery, Result, Store, StoredResponse,
};

use crate::{SqliteStore, apps, attempts, deliveries, endpoints, insights, keys, messages, queue, sources};

#[async_trait]
impl Store for SqliteStore {
    async fn create_app(&self, app: &Application) -> Result<()> {
        let app = app.clone();
        self.writer.run(move |tx| apps::insert_app(tx, &app)).await
    }

    async fn get_app(&self, id_or_uid: &str) -> Result<Option<Application>> {
        let key = id_or_uid.to_owned();
        self.readers.run(move |conn| apps::get_app(conn, &key)).await
    }

    async fn list_apps(&self, page: &PageQuery) -> Result<Page<Application>> {
        let page = page.clone();
        self.readers.run(move |conn| apps::list_apps(conn, &page)).await
    }

    async fn update_app(&self, app: &Application) -> Result<()> {
        let app = app.clone();
        self.writer.run(move |tx| apps::update_app(tx, &app)).await
    }

    async fn delete_app(&self, id: &AppId) -> Result<()> {
        let id = id.clone();
        self.writer.run(move |tx| apps::delete_app(tx, &id)).await
    }

    async fn create_event_type(&self, et: &EventType) -> Result<()> {
        let et = et.clone();
        self.writer.run(move |tx| apps::insert_event_type(tx, &et)).await
    }

    async fn get_event_type(&self, name: &str) -> Result<Option<EventType>> {
        let name = name.to_owned();
        self.readers.run(move |conn| apps::get_event_type(conn, &name)).await
    }

    async fn list_event_types(&self, page: &PageQuery, include_archived: bool) -> Result<Page<EventType>> {
        let page = page.clone();
        self.readers.run(move |conn| apps::list_event_types(conn, &page, include_archived)).await
    }

    async fn update_event_type(&self, et: &EventType) -> Result<()> {
        let et = et.clone();
        self.writer.run(move |tx| apps::update_event_type(tx, &et)).await
    }

    async fn delete_event_type(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.writer.run(move |tx| apps::delete_event_type(tx, &name)).await
    }

    async fn create_endpoint(&self, ep: &Endpoint) -> Result<()> {
        let ep = ep.clone();
        let secrets = self.secrets.clone();
        self.writer.run(move |tx| endpoints::insert(tx, &ep, &secrets)).await
    }

    async fn get_endpoint(&self, app: &AppId, id_or_uid: &str) -> Result<Option<Endpoint>> {
        let (app, key) = (app.clone(), id_or_uid.to_owned());
        let secrets = self.secrets.clone();
        self.readers.run(move |conn| endpoints::get(conn, &app, &key, &secrets)).await
    }

    async fn list_endpoints(&self, app: &AppId, page: &PageQuery) -> Result<Page<Endpoint>> {
        let (app, page) = (app.clone(), page.clone());
        let secrets = self.secrets.clone();
        self.readers.run(move |conn| endpoints::list(conn, &app, &page, &secrets)).await
    }

    async fn all_endpoints(&self, app: &AppId) -> Result<Vec<Endpoint>> {
        let app = app.clone();
        let secrets = self.secrets.clone();
        self.readers.run(move |conn| endpoints::all(conn, &app, &secrets)).await
    }

    async fn endpoints_by_id(&self, ids: &[EndpointId]) -> Result<Vec<Endpoint>> {
        let ids = ids.to_vec();
        let secrets = self.secrets.clone();
        self.readers.run(move |conn| endpoints::by_id(conn, &ids, &secrets)).await
    }

    async fn update_endpoint(&self, ep: &Endpoint) -> Result<()> {
        let ep = ep.clone();
        let secrets = self.secrets.clone();
        self.writer.run(move |tx| endpoints::update(tx, &ep, &secrets)).await
    }

    async fn delete_endpoint(&self, app: &AppId, id: &EndpointId) -> Result<()> {
        let (app, id) = (app.clone(), id.clone());
        self.writer.run(move |tx| endpoints::delete(tx, &app, &id)).await
    }

    async fn set_endpoint_failing(
        &self,
        id: &EndpointId,
        since: Option<Timestamp>,
    ) -> Result<Option<Timestamp>> {
        let id = id.clone();
        self.writer.run(move |tx| endpoints::set_failing(tx, &id, since)).await
    }

    async fn disable_endpoint(&self, id: &EndpointId, reason: Option<&str>, now: Timestamp) -> Result<bool> {
        let (id, reason) = (id.clone(), reason.map(str::to_owned));
        self.writer.run(move |tx| endpoints::disable(tx, &id, reason.as_deref(), now)).await
    }

    async fn create_message(
        &self,
        msg: &Message,
        endpoints: &[EndpointId],
        lease_until: Option<Timestamp>,
    ) -> Result<Vec<Delivery>> {
        let (msg, endpoints) = (msg.clone(), endpoints.to_vec());
        self.writer.run(move |tx| messages::create(tx, &msg, &endpoints, lease_until)).await
    }

    async fn get_message(&self, app: &AppId, id_or_event_id: &str) -> Result<Option<Message>> {
        let (app, key) = (app.clone(), id_or_event_id.to_owned());
        self.readers.run(move |conn| messages::get(conn, &app, &key)).await
    }

    async fn messages_by_id(&self, ids: &[MessageId]) -> Result<Vec<Message>> {
        let ids = ids.to_vec();
        self.readers.run(move |conn| messages::by_id(conn, &ids)).await
    }

    async fn list_messages(
        &self,
        app: &AppId,
        filter: &MessageFilter,
        page: &PageQuery,
    ) -> Result<Page<Message>> {
        let (app, filter, page) = (app.clone(), filter.clone(), page.clone());
        self.readers.run(move |conn| messages::list(conn, &app, &filter, &page)).await
    }

    async fn expunge_payload(&self, app: &AppId, id: &MessageId) -> Result<()> {
        let (app, id) = (app.clone(), id.clone());
        self.writer.run(move |tx| messages::expunge_payload(tx, &app, &id)).await
    }

    async fn claim_due(&self, now: Timestamp, lease_until: Timestamp, limit: usize) -> Result<Vec<Delivery>> {
        self.writer.run(move |tx| queue::claim_due(tx, now, lease_until, limit)).await
    }

    async fn release_leases(&self, deliveries: &[(MessageId, EndpointId)]) -> Result<()> {
        let deliveries = deliveries.to_vec();
        self.writer.run(move |tx| queue::release_leases(tx, &deliveries)).await
    }

    async fn postpone(&self, deliveries: &[(MessageId, EndpointId, Timestamp)]) -> Result<()> {
        let deliveries = deliveries.to_vec();
        self.writer.run(move |tx| queue::postpone(tx, &deliveries)).await
    }

    async fn next_due(&self) -> Result<Option<Timestamp>> {
        self.readers.run(queue::next_due).await
    }

    async fn record_attempt(&self, attempt: &Attempt, update: &DeliveryUpdate) -> Result<()> {
        let (attempt, update) = (attempt.clone(), update.clone());
        self.writer.run(move |tx| queue::record_attempt(tx, &attempt, &update)).await
    }

    async fn record_filtered(&self, msg: &MessageId, endpoint: &EndpointId, now: Timestamp) -> Result<()> {
        let (msg, endpoint) = (msg.clone(), endpoint.clone());
        self.writer.run(move |tx| queue::record_filtered(tx, &msg, &endpoint, now)).await
    }

    async fn schedule_resend(
        &self,
        msg: &Message,
        endpoint: &EndpointId,
        now: Timestamp,
    ) -> Result<Delivery> {
        let (msg, endpoint) = (msg.clone(), endpoint.clone());
        self.writer.run(move |tx| queue::schedule_resend(tx, &msg, &endpoint, now)).await
    }

    async fn recover_failed(
        &self,
        endpoint: &EndpointId,
        since: Timestamp,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<u64> {
        let endpoint = endpoint.clone();
        self.writer.run(move |tx| queue::recover_failed(tx, &endpoint, since, until, now)).await
    }

    async fn message_destinations(
        &self,
        msg: &MessageId,
        page: &PageQuery,
    ) -> Result<Page<(Delivery, Endpoint)>> {
        let (msg, page) = (msg.clone(), page.clone());
        let secrets = self.secrets.clone();
        self.readers.run(move |conn| deliveries::message_destinations(conn, &msg, &page, &secrets)).await
    }

    async fn endpoint_messages(
        &self,
        endpoint: &EndpointId,
        filter: &MessageFilter,
        status: Option<DeliveryStatus>,
        page: &PageQuery,
    ) -> Result<Page<(Delivery, Message)>> {
        let (endpoint, filter, page) = (endpoint.clone(), filter.clone(), page.clone());
        self.readers
            .run(move |conn| deliveries::endpoint_messages(conn, &endpoint, &filter, status, &page))
            .await
    }

    async fn list_attempts(
        &self,
        app: &AppId,
        filter: &AttemptFilter,
        page: &PageQuery,
    ) -> Result<Page<Attempt>> {
        let (app, filter, page) = (app.clone(), filter.clone(), page.clone());
        self.readers.run(move |conn| attempts::list(conn, Some(&app), &filter, &page)).await
    }

    async fn list_all_attempts(&self, filter: &AttemptFilter, page: &PageQuery) -> Result<Page<Attempt>> {
        let (filter, page) = (filter.clone(), page.clone());
        self.readers.run(move |conn| attempts::list(conn, None, &filter, &page)).await
    }

    async fn get_attempt(&self, app: &AppId, id: &str) -> Result<Option<Attempt>> {
        let (app, id) = (app.clone(), id.to_owned());
        self.readers.run(move |conn| attempts::get(conn, &app, &id)).await
    }

    async fn expunge_attempt_content(&self, app: &AppId, id: &str) -> Result<()> {
        let (app, id) = (app.clone(), id.to_owned());
        self.writer.run(move |tx| attempts::expunge_content(tx, &app, &id)).await
    }

    async fn endpoint_stats(
        &self,
        endpoint: &EndpointId,
        since: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> Result<DeliveryCounts> {
        let endpoint = endpoint.clone();
        self.readers.run(move |conn| deliveries::endpoint_stats(conn, &endpoint, since, until)).await
    }

    async fn get_idempotent(&self, key: &str, now: Timestamp) -> Result<Option<StoredResponse>> {
        let key = key.to_owned();
        self.readers.run(move |conn| keys::get_idempotent(conn, &key, now)).await
    }

    async fn put_idempotent(
        &self,
        key: &str,
        response: &StoredResponse,
        expires_at: Timestamp,
    ) -> Result<()> {
        let (key, response) = (key.to_owned(), response.clone());
        self.writer.run(move |tx| keys::put_idempotent(tx, &key, &response, expires_at)).await
    }

    async fn claim_idempotent(
        &self,
        key: &str,
        now: Timestamp,
        claim_until: Timestamp,
    ) -> Result<IdempotencyClaim> {
        let key = key.to_owned();
        self.writer.run(move |tx| keys::claim_idempotent(tx, &key, now, claim_until)).await
    }

    async fn release_idempotent(&self, key: &str) -> Result<()> {
        let key = key.to_owned();
        self.writer.run(move |tx| keys::release_idempotent(tx, &key)).await
    }

    async fn create_app_token(&self, token_hash: &str, app: &AppId, expires_at: Timestamp) -> Result<()> {
        let (hash, app) = (token_hash.to_owned(), app.clone());
        self.writer.run(move |tx| keys::create_app_token(tx, &hash, &app, expires_at)).await
    }

    async fn app_for_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<AppId>> {
        let hash = token_hash.to_owned();
        self.readers.run(move |conn| keys::app_for_token(conn, &hash, now)).await
    }

    async fn delete_app_token(&self, token_hash: &str) -> Result<()> {
        let hash = token_hash.to_owned();
        self.writer.run(move |tx| keys::delete_app_token(tx, &hash)).await
    }

    async fn purge_expired(&self, request: &herald_store::PurgeRequest) -> Result<herald_store::PurgeCounts> {
        let request = *request;
        self.writer.run(move |tx| crate::upkeep::purge(tx, &request)).await
    }

    async fn queue_stats(&self, now: Timestamp) -> Result<herald_store::QueueStats> {
        self.readers.run(move |conn| crate::upkeep::queue_stats(conn, now)).await
    }

    /// One read and one (empty) write batch: both halves of the store answer.
    async fn activity(
        &self,
        since: Timestamp,
        until: Timestamp,
        bucket_ms: i64,
    ) -> Result<Vec<ActivityBucket>> {
        self.readers.run(move |conn| insights::activity(conn, since, until, bucket_ms)).await
    }

    async fn attempt_durations(&self, since: Timestamp, limit: usize) -> Result<Vec<u64>> {
        self.readers.run(move |conn| insights::attempt_durations(conn, since, limit)).await
    }

    async fn delivery_totals(&self) -> Result<DeliveryCounts> {
        self.readers.run(insights::delivery_totals).await
    }

    async fn endpoints_needing_attention(&self, limit: usize) -> Result<Vec<Endpoint>> {
        let secrets = self.secrets.clone();
        self.readers.run(move |conn| insights::endpoints_needing_attention(conn, limit, &secrets)).await
    }

    async fn search_messages(
        &self,
        app: Option<&AppId>,
        filter: &MessageFilter,
        status: Option<DeliveryStatus>,
        page: &PageQuery,
    ) -> Result<Page<Message>> {
        let (app, filter, page) = (app.cloned(), filter.clone(), page.clone());
        self.readers
            .run(move |conn| insights::search_messages(conn, app.as_ref(), &filter, status, &page))
            .await
    }

    async fn create_source(&self, source: &Source) -> Result<()> {
        let (source, secrets) = (source.clone(), self.secrets.clone());
        self.writer.run(move |tx| sources::insert(tx, &source, &secrets)).await
    }

    async fn get_source(&self, id_or_uid: &str) -> Result<Option<Source>> {
        let (key, secrets) = (id_or_uid.to_owned(), self.secrets.clone());
        self.readers.run(move |conn| sources::get(conn, &key, &secrets)).await
    }

    async fn list_sources(&self, app: Option<&AppId>, page: &PageQuery) -> Result<Page<Source>> {
        let (app, page, secrets) = (app.cloned(), page.clone(), self.secrets.clone());
        self.readers.run(move |conn| sources::list(conn, app.as_ref(), &page, &secrets)).await
    }

    async fn update_source(&self, source: &Source) -> Result<()> {
        let (source, secrets) = (source.clone(), self.secrets.clone());
        self.writer.run(move |tx| sources::update(tx, &source, &secrets)).await
    }

    async fn delete_source(&self, id: &SourceId) -> Result<()> {
        let id = id.clone();
        self.writer.run(move |tx| sources::delete(tx, &id)).await
    }

    async fn dedup_claimant(
        &self,
        source: &SourceId,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<MessageId>> {
        let (source, key) = (source.clone(), key.to_owned());
        self.readers.run(move |conn| sources::dedup_claimant(conn, &source, &key, now)).await
    }

    async fn record_rejection(&self, rejected: &RejectedRequest, keep: usize) -> Result<()> {
        let rejected = rejected.clone();
        self.writer.run(move |tx| sources::record_rejection(tx, &rejected, keep)).await
    }

    async fn list_rejections(&self, source: &SourceId, page: &PageQuery) -> Result<Page<RejectedRequest>> {
        let (source, page) = (source.clone(), page.clone());
        self.readers.run(move |conn| sources::list_rejections(conn, &source, &page)).await
    }

    async fn ping(&self) -> Result<()> {
        self.readers
            .run(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(crate::sql::backend))
            .await?;
        self.writer.run(|_| Ok(())).await
    }
}
