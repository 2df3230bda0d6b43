-- The admin UI's needs (issue 20), in one migration:
--
-- 1. Browser sessions (docs/api.md, "Sessions"). POST /api/v1/session
--    opens one for a token and hands the browser its id in the cookie
--    scriptorch_session; only the SHA-256 of that id is kept here (the id
--    carries 256 random bits from libsodium, so a fast hash is enough, as
--    for tokens). A session authenticates as its token while it has not
--    expired and the token is not revoked (the lookup joins the token and
--    checks both), until DELETE /api/v1/session removes it. Revoking a
--    token deletes its sessions in the same transaction; the janitor
--    deletes expired ones in batches. No foreign key, as elsewhere: the
--    lookup's join is what ties a session to a live token.
CREATE TABLE sessions (
  session_hash BINARY(32) NOT NULL PRIMARY KEY,
  token_id     BIGINT UNSIGNED NOT NULL,
  created_at   DATETIME(3) NOT NULL,
  expires_at   DATETIME(3) NOT NULL,
  KEY sessions_expires (expires_at),
  KEY sessions_token (token_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- 2. Who asked for each execution: the name of the token (or of the
--    signed-in session's token) that submitted it. NULL for executions
--    made before this column; added last and NULL, so MariaDB adds it
--    instantly and a daemon not yet restarted goes on without it.
--
-- 3. History counts (GET /api/v1/executions/counts) by status over a
--    time range, for all scripts or one: the queued_at index gains the
--    status, and a (script_id, queued_at, status) index serves one
--    script's, so that both counts read only an index range. The old
--    one-column index is a prefix of the new one (retention and `since`
--    use it as before).
ALTER TABLE executions
  ADD COLUMN triggered_by VARCHAR(128) NULL,
  DROP INDEX executions_queued_at,
  ADD INDEX executions_queued_at (queued_at, status),
  ADD INDEX executions_script_queued (script_id, queued_at, status);
