-- Herald's first SQLite schema.
--
-- Ids are text (prefixed KSUIDs, which sort by creation time), timestamps are integer
-- milliseconds since the Unix epoch, payloads are BLOBs, and lists and maps are JSON
-- text. Foreign keys are not declared: the store deletes what an application or an
-- endpoint owns itself, which keeps the hot inserts (message, delivery, attempt) free
-- of per-row parent look-ups.

CREATE TABLE application (
    id            TEXT PRIMARY KEY NOT NULL,
    uid           TEXT UNIQUE,
    name          TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    throttle_rate INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE event_type (
    name         TEXT PRIMARY KEY NOT NULL,
    description  TEXT NOT NULL,
    archived     INTEGER NOT NULL,
    deprecated   INTEGER NOT NULL,
    feature_flag TEXT,
    schemas      TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE endpoint (
    id            TEXT PRIMARY KEY NOT NULL,
    app_id        TEXT NOT NULL,
    uid           TEXT,
    url           TEXT NOT NULL,
    description   TEXT NOT NULL,
    event_types   TEXT,
    channels      TEXT,
    disabled      INTEGER NOT NULL,
    throttle_rate INTEGER,
    metadata      TEXT NOT NULL,
    headers       TEXT NOT NULL,
    secrets       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (app_id, uid)
);
-- Listing an application's endpoints in id order.
CREATE INDEX endpoint_by_app ON endpoint (app_id, id);

CREATE TABLE message (
    id         TEXT PRIMARY KEY NOT NULL,
    app_id     TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_id   TEXT,
    payload    BLOB,
    channels   TEXT,
    tags       TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);
-- `eventId` is unique per application; most messages have none, so the index is partial.
CREATE UNIQUE INDEX message_event_id ON message (app_id, event_id) WHERE event_id IS NOT NULL;
-- Listing an application's messages in id (creation) order.
CREATE INDEX message_by_app ON message (app_id, id);

-- The delivery queue: one row per (message, endpoint). WITHOUT ROWID keeps the row in
-- its primary-key b-tree, one b-tree fewer to write per delivery.
CREATE TABLE delivery (
    msg_id          TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL,
    app_id          TEXT NOT NULL,
    status          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER,
    next_trigger    INTEGER NOT NULL,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (msg_id, endpoint_id)
) WITHOUT ROWID;
-- `claim_due` and `next_due`: only pending rows (status 1) are ever due.
CREATE INDEX delivery_due ON delivery (next_attempt_at) WHERE status = 1;
-- An endpoint's deliveries, newest message first; also endpoint deletion and stats.
CREATE INDEX delivery_by_endpoint ON delivery (endpoint_id, msg_id);

CREATE TABLE attempt (
    id                   TEXT PRIMARY KEY NOT NULL,
    msg_id               TEXT NOT NULL,
    endpoint_id          TEXT NOT NULL,
    app_id               TEXT NOT NULL,
    url                  TEXT NOT NULL,
    status               INTEGER NOT NULL,
    response_status_code INTEGER NOT NULL,
    response             TEXT NOT NULL,
    duration_ms          INTEGER NOT NULL,
    trigger_type         INTEGER NOT NULL,
    created_at           INTEGER NOT NULL
);
CREATE INDEX attempt_by_endpoint ON attempt (endpoint_id, id);
CREATE INDEX attempt_by_message ON attempt (msg_id, id);

CREATE TABLE idempotency (
    key        TEXT PRIMARY KEY NOT NULL,
    status     INTEGER NOT NULL,
    body       BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE app_token (
    hash       TEXT PRIMARY KEY NOT NULL,
    app_id     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
