-- Facts about the database itself, as key/value text: for example the check value
-- that proves the configured secret key is the one this database was written with.
CREATE TABLE herald_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
