-- Endpoint transformations and payload filters (issue 7). Placeholder until filled.
SELECT 1;
