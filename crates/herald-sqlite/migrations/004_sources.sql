-- Inbound sources: a public URL (`/in/{id}`) per source, whose verified requests
-- become messages of the source's application.
--
-- `verifier` is the verifier's JSON storage form (herald-store's `codec`), secrets
-- included; `event_type`, `dedup_key` (locators) and `response` are JSON too, NULL
-- when not configured. `rejected_total` counts every refused request, while the log
-- (`source_rejection`) keeps only the newest ones.
CREATE TABLE source (
    id              TEXT PRIMARY KEY NOT NULL,
    app_id          TEXT NOT NULL,
    uid             TEXT UNIQUE,
    name            TEXT NOT NULL,
    verifier        TEXT NOT NULL,
    event_type      TEXT,
    dedup_key       TEXT,
    dedup_window_ms INTEGER NOT NULL,
    response        TEXT,
    max_body_bytes  INTEGER NOT NULL,
    rejected_total  INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- Listing an application's sources in id order; deleting an application's sources.
CREATE INDEX source_by_app ON source (app_id, id);

-- Dedup claims: the message that claimed a source's dedup key, until when. Written
-- in the same transaction as the message (see `messages::create`).
CREATE TABLE source_dedup (
    source_id  TEXT NOT NULL,
    dedup_key  TEXT NOT NULL,
    msg_id     TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (source_id, dedup_key)
) WITHOUT ROWID;
-- Purging a source's expired claims.
CREATE INDEX source_dedup_expiry ON source_dedup (source_id, expires_at);

-- The rejected-requests log: why a request was refused and a redacted excerpt of it.
CREATE TABLE source_rejection (
    id          TEXT PRIMARY KEY NOT NULL,
    source_id   TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    code        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    method      TEXT NOT NULL,
    url         TEXT NOT NULL,
    headers     TEXT NOT NULL,
    body        BLOB NOT NULL,
    body_size   INTEGER NOT NULL
);
CREATE INDEX source_rejection_by_source ON source_rejection (source_id, id);

-- An inbound message's origin (source, the provider's headers, its dedup claim) as
-- JSON; NULL for messages created through the API.
ALTER TABLE message ADD COLUMN inbound TEXT;
