-- Inbound sources: the same tables, columns and meanings as the SQLite store's
-- `004_sources.sql`, in PostgreSQL's types. The JSON columns hold the text
-- herald-store's `codec` writes, as in SQLite.
CREATE TABLE source (
    id              TEXT NOT NULL CONSTRAINT source_pkey PRIMARY KEY,
    app_id          TEXT NOT NULL,
    uid             TEXT CONSTRAINT source_uid UNIQUE,
    name            TEXT NOT NULL,
    verifier        TEXT NOT NULL,
    event_type      TEXT,
    dedup_key       TEXT,
    dedup_window_ms BIGINT NOT NULL,
    response        TEXT,
    max_body_bytes  BIGINT NOT NULL,
    rejected_total  BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
-- Listing an application's sources in id order; deleting an application's sources.
CREATE INDEX source_by_app ON source (app_id, id);

-- Dedup claims, written in the same statement as the message (see `messages::create`).
CREATE TABLE source_dedup (
    source_id  TEXT NOT NULL,
    dedup_key  TEXT NOT NULL,
    msg_id     TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    CONSTRAINT source_dedup_pkey PRIMARY KEY (source_id, dedup_key)
);
-- Purging a source's expired claims.
CREATE INDEX source_dedup_expiry ON source_dedup (source_id, expires_at);

-- The rejected-requests log.
CREATE TABLE source_rejection (
    id          TEXT NOT NULL CONSTRAINT source_rejection_pkey PRIMARY KEY,
    source_id   TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    code        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    method      TEXT NOT NULL,
    url         TEXT NOT NULL,
    headers     TEXT NOT NULL,
    body        BYTEA NOT NULL,
    body_size   BIGINT NOT NULL
);
CREATE INDEX source_rejection_by_source ON source_rejection (source_id, id);

-- An inbound message's origin as JSON text; NULL for messages created through the API.
ALTER TABLE message ADD COLUMN inbound TEXT;
