-- Retention: the purge (`Store::purge_expired`) finds what has expired through an
-- index, in bounded batches, never by scanning a whole table.
--
-- Payloads still held, by expiry; purged rows (payload NULL) leave the index, so it
-- only ever holds what is left to purge. Messages without an expiry are NULL entries.
CREATE INDEX message_payload_expiry ON message (expires_at) WHERE payload IS NOT NULL;
-- Attempt response bodies still held, by age.
CREATE INDEX attempt_response_age ON attempt (created_at) WHERE response <> '';
-- Expired idempotency keys and app-portal tokens.
CREATE INDEX idempotency_expiry ON idempotency (expires_at);
CREATE INDEX app_token_expiry ON app_token (expires_at);
