-- Endpoint transformations and payload filters (issue 7): both JSON text, NULL when
-- the endpoint has none (herald_store::codec writes and reads them). A delivery that
-- the filter or transformation skipped settles with status 4 (filtered), no attempt.
ALTER TABLE endpoint ADD COLUMN transformation TEXT;
ALTER TABLE endpoint ADD COLUMN payload_filter TEXT;
