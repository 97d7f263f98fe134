-- Endpoint health: since when an endpoint has failed without a success in between
-- (NULL while healthy), so one failing continuously for the configured window can be
-- disabled automatically; and why it was disabled, when Herald did it.
ALTER TABLE endpoint ADD COLUMN failing_since INTEGER;
ALTER TABLE endpoint ADD COLUMN disabled_reason TEXT;
