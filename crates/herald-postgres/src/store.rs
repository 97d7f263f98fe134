//! `impl Store for PgStore`: every method is one call into the table module that holds
//! its SQL, on the shared pool. No method opens a transaction spanning several round
//! trips: each write is a single statement (data-modifying CTEs where a write touches
//! several tables), so it is atomic by itself.

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

use crate::{PgStore, apps, attempts, deliveries, endpoints, insights, keys, messages, queue, sources, sql};

#[async_trait]
impl Store for PgStore {
    async fn create_app(&self, app: &Application) -> Result<()> {
        apps::insert_app(&self.pool, app).await
    }

    async fn get_app(&self, id_or_uid: &str) -> Result<Option<Application>> {
        apps::get_app(&self.pool, id_or_uid).await
    }

    async fn list_apps(&self, page: &PageQuery) -> Result<Page<Application>> {
        apps::list_apps(&self.pool, page).await
    }

    async fn update_app(&self, app: &Application) -> Result<()> {
        apps::update_app(&self.pool, app).await
    }

    async fn delete_app(&self, id: &AppId) -> Result<()> {
        apps::delete_app(&self.pool, id).await
    }

    async fn create_event_type(&self, et: &EventType) -> Result<()> {
        apps::insert_event_type(&self.pool, et).await
    }

    async fn get_event_type(&self, name: &str) -> Result<Option<EventType>> {
        apps::get_event_type(&self.pool, name).await
    }

    async fn list_event_types(&self, page: &PageQuery, include_archived: bool) -> Result<Page<EventType>> {
        apps::list_event_types(&self.pool, page, include_archived).await
    }

    async fn update_event_type(&self, et: &EventType) -> Result<()> {
        apps::update_event_type(&self.pool, et).await
    }

    async fn delete_event_type(&self, name: &str) -> Result<()> {
        apps::delete_event_type(&self.pool, name).await
    }

    async fn create_endpoint(&self, ep: &Endpoint) -> Result<()> {
        endpoints::insert(&self.pool, ep, &self.secrets).await
    }

    async fn get_endpoint(&self, app: &AppId, id_or_uid: &str) -> Result<Option<Endpoint>> {
        endpoints::get(&self.pool, app, id_or_uid, &self.secrets).await
    }

    async fn list_endpoints(&self, app: &AppId, page: &PageQuery) -> Result<Page<Endpoint>> {
        endpoints::list(&self.pool, app, page, &self.secrets).await
    }

    async fn all_endpoints(&self, app: &AppId) -> Result<Vec<Endpoint>> {
        endpoints::all(&self.pool, app, &self.secrets).await
    }

    async fn endpoints_by_id(&self, ids: &[EndpointId]) -> Result<Vec<Endpoint>> {
        endpoints::by_id(&self.pool, ids, &self.secrets).await
    }

    async fn update_endpoint(&self, ep: &Endpoint) -> Result<()> {
        endpoints::update(&self.pool, ep, &self.secrets).await
    }

    async fn delete_endpoint(&self, app: &AppId, id: &EndpointId) -> Result<()> {
        endpoints::delete(&self.pool, app, id).await
    }

    async fn set_endpoint_failing(
        &self,
        id: &EndpointId,
        since: Option<Timestamp>,
    ) -> Result<Option<Timestamp>> {
        endpoints::set_failing(&self.pool, id, since).await
    }

    async fn disable_endpoint(&self, id: &EndpointId, reason: Option<&str>, now: Timestamp) -> Result<bool> {
        endpoints::disable(&self.pool, id, reason, now).await
    }

    async fn create_message(
        &self,
        msg: &Message,
        endpoints: &[EndpointId],
        lease_until: Option<Timestamp>,
    ) -> Result<Vec<Delivery>> {
        messages::create(&self.pool, msg, endpoints, lease_until).await
    }

    async fn get_message(&self, app: &AppId, id_or_event_id: &str) -> Result<Option<Message>> {
        messages::get(&self.pool, app, id_or_event_id).await
    }

    async fn messages_by_id(&self, ids: &[MessageId]) -> Result<Vec<Message>> {
        messages::by_id(&self.pool, ids).await
    }

    async fn list_messages(
        &self,
        app: &AppId,
        filter: &MessageFilter,
        page: &PageQuery,
    ) -> Result<Page<Message>> {
        messages::list(&self.pool, app, filter, page).await
    }

    async fn expunge_payload(&self, app: &AppId, id: &MessageId) -> Result<()> {
        messages::expunge_payload(&self.pool, app, id).await
    }

    async fn claim_due(&self, now: Timestamp, lease_until: Timestamp, limit: usize) -> Result<Vec<Delivery>> {
        queue::claim_due(&self.pool, now, lease_until, limit).await
    }

    async fn release_leases(&self, deliveries: &[(MessageId, EndpointId)]) -> Result<()> {
        queue::release_leases(&self.pool, deliveries).await
    }

    async fn postpone(&self, deliveries: &[(MessageId, EndpointId, Timestamp)]) -> Result<()> {
        queue::postpone(&self.pool, deliveries).await
    }

    async fn next_due(&self) -> Result<Option<Timestamp>> {
        queue::next_due(&self.pool).await
    }

    async fn record_attempt(&self, attempt: &Attempt, update: &DeliveryUpdate) -> Result<()> {
        queue::record_attempt(&self.pool, attempt, update).await
    }

    async fn record_filtered(&self, msg: &MessageId, endpoint: &EndpointId, now: Timestamp) -> Result<()> {
        queue::record_filtered(&self.pool, msg, endpoint, now).await
    }

    async fn schedule_resend(
        &self,
        msg: &Message,
        endpoint: &EndpointId,
        now: Timestamp,
    ) -> Result<Delivery> {
        queue::schedule_resend(&self.pool, msg, endpoint, now).await
    }

    async fn recover_failed(
        &self,
        endpoint: &EndpointId,
        since: Timestamp,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<u64> {
        queue::recover_failed(&self.pool, endpoint, since, until, now).await
    }

    async fn message_destinations(
        &self,
        msg: &MessageId,
        page: &PageQuery,
    ) -> Result<Page<(Delivery, Endpoint)>> {
        deliveries::message_destinations(&self.pool, msg, page, &self.secrets).await
    }

    async fn endpoint_messages(
        &self,
        endpoint: &EndpointId,
        filter: &MessageFilter,
        status: Option<DeliveryStatus>,
        page: &PageQuery,
    ) -> Result<Page<(Delivery, Message)>> {
        deliveries::endpoint_messages(&self.pool, endpoint, filter, status, page).await
    }

    async fn list_attempts(
        &self,
        app: &AppId,
        filter: &AttemptFilter,
        page: &PageQuery,
    ) -> Result<Page<Attempt>> {
        attempts::list(&self.pool, Some(app), filter, page).await
    }

    async fn list_all_attempts(&self, filter: &AttemptFilter, page: &PageQuery) -> Result<Page<Attempt>> {
        attempts::list(&self.pool, None, filter, page).await
    }

    async fn get_attempt(&self, app: &AppId, id: &str) -> Result<Option<Attempt>> {
        attempts::get(&self.pool, app, id).await
    }

    async fn expunge_attempt_content(&self, app: &AppId, id: &str) -> Result<()> {
        attempts::expunge_content(&self.pool, app, id).await
    }

    async fn endpoint_stats(
        &self,
        endpoint: &EndpointId,
        since: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> Result<DeliveryCounts> {
        deliveries::endpoint_stats(&self.pool, endpoint, since, until).await
    }

    async fn get_idempotent(&self, key: &str, now: Timestamp) -> Result<Option<StoredResponse>> {
        keys::get_idempotent(&self.pool, key, now).await
    }

    async fn put_idempotent(
        &self,
        key: &str,
        response: &StoredResponse,
        expires_at: Timestamp,
    ) -> Result<()> {
        keys::put_idempotent(&self.pool, key, response, expires_at).await
    }

    async fn claim_idempotent(
        &self,
        key: &str,
        now: Timestamp,
        claim_until: Timestamp,
    ) -> Result<IdempotencyClaim> {
        keys::claim_idempotent(&self.pool, key, now, claim_until).await
    }

    async fn release_idempotent(&self, key: &str) -> Result<()> {
        keys::release_idempotent(&self.pool, key).await
    }

    async fn create_app_token(&self, token_hash: &str, app: &AppId, expires_at: Timestamp) -> Result<()> {
        keys::create_app_token(&self.pool, token_hash, app, expires_at).await
    }

    async fn app_for_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<AppId>> {
        keys::app_for_token(&self.pool, token_hash, now).await
    }

    async fn delete_app_token(&self, token_hash: &str) -> Result<()> {
        keys::delete_app_token(&self.pool, token_hash).await
    }

    async fn purge_expired(&self, request: &herald_store::PurgeRequest) -> Result<herald_store::PurgeCounts> {
        crate::upkeep::purge(&self.pool, request).await
    }

    async fn queue_stats(&self, now: Timestamp) -> Result<herald_store::QueueStats> {
        crate::upkeep::queue_stats(&self.pool, now).await
    }

    async fn activity(
        &self,
        since: Timestamp,
        until: Timestamp,
        bucket_ms: i64,
    ) -> Result<Vec<ActivityBucket>> {
        insights::activity(&self.pool, since, until, bucket_ms).await
    }

    async fn attempt_durations(&self, since: Timestamp, limit: usize) -> Result<Vec<u64>> {
        insights::attempt_durations(&self.pool, since, limit).await
    }

    async fn delivery_totals(&self) -> Result<DeliveryCounts> {
        insights::delivery_totals(&self.pool).await
    }

    async fn endpoints_needing_attention(&self, limit: usize) -> Result<Vec<Endpoint>> {
        insights::endpoints_needing_attention(&self.pool, limit, &self.secrets).await
    }

    async fn search_messages(
        &self,
        app: Option<&AppId>,
        filter: &MessageFilter,
        status: Option<DeliveryStatus>,
        page: &PageQuery,
    ) -> Result<Page<Message>> {
        insights::search_messages(&self.pool, app, filter, status, page).await
    }

    async fn create_source(&self, source: &Source) -> Result<()> {
        sources::insert(&self.pool, source, &self.secrets).await
    }

    async fn get_source(&self, id_or_uid: &str) -> Result<Option<Source>> {
        sources::get(&self.pool, id_or_uid, &self.secrets).await
    }

    async fn list_sources(&self, app: Option<&AppId>, page: &PageQuery) -> Result<Page<Source>> {
        sources::list(&self.pool, app, page, &self.secrets).await
    }

    async fn update_source(&self, source: &Source) -> Result<()> {
        sources::update(&self.pool, source, &self.secrets).await
    }

    async fn delete_source(&self, id: &SourceId) -> Result<()> {
        sources::delete(&self.pool, id).await
    }

    async fn dedup_claimant(
        &self,
        source: &SourceId,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<MessageId>> {
        sources::dedup_claimant(&self.pool, source, key, now).await
    }

    async fn record_rejection(&self, rejected: &RejectedRequest, keep: usize) -> Result<()> {
        sources::record_rejection(&self.pool, rejected, keep).await
    }

    async fn list_rejections(&self, source: &SourceId, page: &PageQuery) -> Result<Page<RejectedRequest>> {
        sources::list_rejections(&self.pool, source, page).await
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(sql::db).map(drop)
    }
}
