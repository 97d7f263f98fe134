-- Herald's first PostgreSQL schema: the same tables, columns and meanings as the
-- SQLite store's `001_initial.sql`, in PostgreSQL's own types.
--
-- Ids are TEXT (prefixed KSUIDs, which sort by creation time), timestamps are BIGINT
-- milliseconds since the Unix epoch, payloads and stored bodies are BYTEA. Lists
-- (event types, channels, tags) are TEXT[] — NULL means "no list", '{}' an empty one;
-- maps (metadata, headers), secrets and event-type schemas are JSON text, encoded
-- exactly as the SQLite store encodes them.
--
-- Unique keys carry explicit names: the store turns a unique violation into
-- `StoreError::Conflict` by the constraint name PostgreSQL reports (see `src/sql.rs`).
--
-- Foreign keys are not declared, as in SQLite: the store deletes what an application
-- or an endpoint owns itself, and the hot inserts (message, delivery, attempt) take no
-- row locks on their parents.

CREATE TABLE application (
    id            TEXT NOT NULL CONSTRAINT application_pkey PRIMARY KEY,
    uid           TEXT CONSTRAINT application_uid UNIQUE,
    name          TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    throttle_rate BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE event_type (
    name         TEXT NOT NULL CONSTRAINT event_type_pkey PRIMARY KEY,
    description  TEXT NOT NULL,
    archived     BOOLEAN NOT NULL,
    deprecated   BOOLEAN NOT NULL,
    feature_flag TEXT,
    schemas      TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE endpoint (
    id            TEXT NOT NULL CONSTRAINT endpoint_pkey PRIMARY KEY,
    app_id        TEXT NOT NULL,
    uid           TEXT,
    url           TEXT NOT NULL,
    description   TEXT NOT NULL,
    event_types   TEXT[],
    channels      TEXT[],
    disabled      BOOLEAN NOT NULL,
    throttle_rate BIGINT,
    metadata      TEXT NOT NULL,
    headers       TEXT NOT NULL,
    secrets       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    CONSTRAINT endpoint_uid UNIQUE (app_id, uid)
);
-- Listing an application's endpoints in id order.
CREATE INDEX endpoint_by_app ON endpoint (app_id, id);

CREATE TABLE message (
    id         TEXT NOT NULL CONSTRAINT message_pkey PRIMARY KEY,
    app_id     TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_id   TEXT,
    payload    BYTEA,
    channels   TEXT[],
    tags       TEXT[],
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
-- `eventId` is unique per application; most messages have none, so the index is partial.
CREATE UNIQUE INDEX message_event_id ON message (app_id, event_id) WHERE event_id IS NOT NULL;
-- Listing an application's messages in id (creation) order.
CREATE INDEX message_by_app ON message (app_id, id);

-- The delivery queue: one row per (message, endpoint).
CREATE TABLE delivery (
    msg_id          TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL,
    app_id          TEXT NOT NULL,
    status          SMALLINT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT,
    next_trigger    SMALLINT NOT NULL,
    lease_until     BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    CONSTRAINT delivery_pkey PRIMARY KEY (msg_id, endpoint_id)
) WITH (fillfactor = 85);
-- The free space per page lets `claim_due`'s lease updates, which touch no indexed
-- column, be HOT updates: no new index entries, less bloat on the busiest table.
-- `claim_due` and `next_due`: only pending rows (status 1) are ever due, and they are
-- few next to the settled ones, so the index holds the pending rows alone.
CREATE INDEX delivery_due ON delivery (next_attempt_at) WHERE status = 1;
-- An endpoint's deliveries, newest message first; also endpoint deletion and stats.
CREATE INDEX delivery_by_endpoint ON delivery (endpoint_id, msg_id);

CREATE TABLE attempt (
    id                   TEXT NOT NULL CONSTRAINT attempt_pkey PRIMARY KEY,
    msg_id               TEXT NOT NULL,
    endpoint_id          TEXT NOT NULL,
    app_id               TEXT NOT NULL,
    url                  TEXT NOT NULL,
    status               SMALLINT NOT NULL,
    response_status_code INTEGER NOT NULL,
    response             TEXT NOT NULL,
    duration_ms          BIGINT NOT NULL,
    trigger_type         SMALLINT NOT NULL,
    created_at           BIGINT NOT NULL
);
-- `list_attempts` is always scoped to an application, newest first.
CREATE INDEX attempt_by_app ON attempt (app_id, id);
CREATE INDEX attempt_by_endpoint ON attempt (endpoint_id, id);
CREATE INDEX attempt_by_message ON attempt (msg_id, id);

CREATE TABLE idempotency (
    key        TEXT NOT NULL CONSTRAINT idempotency_pkey PRIMARY KEY,
    status     INTEGER NOT NULL,
    body       BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE app_token (
    hash       TEXT NOT NULL CONSTRAINT app_token_pkey PRIMARY KEY,
    app_id     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
-- Deleting an application deletes its tokens.
CREATE INDEX app_token_by_app ON app_token (app_id);
