-- What each attempt sent (issue 6): its method and headers (credentials redacted, as a
-- JSON list of [name, value] pairs), and its body only when a transformation made it
-- differ from the message payload. NULL on rows recorded before this version and on
-- attempts that sent nothing. Nullable columns without defaults: no table rewrite.
ALTER TABLE attempt ADD COLUMN request_method TEXT;
ALTER TABLE attempt ADD COLUMN request_headers TEXT;
ALTER TABLE attempt ADD COLUMN request_body TEXT;

-- Retention empties request bodies with response bodies: the index of what is left
-- to purge now covers both.
DROP INDEX attempt_response_age;
CREATE INDEX attempt_content_age ON attempt (created_at)
    WHERE response <> '' OR request_body IS NOT NULL;
