-- What each attempt actually sent: method, URL, headers (issue 6). Placeholder until filled.
SELECT 1;
