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

-- The final record with triggered_by: execution_finish_limit of
-- sql/010_limits.sql, whose description holds, with the final row
-- carrying triggered_by after `limit` (EXEC_COLS in
-- src/store_executions.c), then `updated`. The earlier procedures stay,
-- under their names and with their parameters, for the runners of a
-- daemon not yet restarted after an upgrade.
CREATE PROCEDURE execution_finish_by(
  IN p_id            BIGINT UNSIGNED,
  IN p_status        VARCHAR(16),
  IN p_version       VARCHAR(80),
  IN p_exit_code     INT,
  IN p_signal        INT,
  IN p_stdout        LONGBLOB,
  IN p_stderr        LONGBLOB,
  IN p_stdout_trunc  TINYINT,
  IN p_stderr_trunc  TINYINT,
  IN p_output        LONGTEXT CHARACTER SET utf8mb4,
  IN p_output_file   LONGBLOB,
  IN p_error         TEXT CHARACTER SET utf8mb4,
  IN p_duration_ms   DOUBLE,
  IN p_cpu_user_ms   BIGINT,
  IN p_cpu_system_ms BIGINT,
  IN p_max_rss_kb    BIGINT,
  IN p_since_exec_us BIGINT,
  IN p_ended_ago_us  BIGINT,
  IN p_limit         VARCHAR(16),
  IN p_want_row      TINYINT)
  SQL SECURITY INVOKER
BEGIN
  DECLARE n INT;
  UPDATE executions SET status = p_status,
    script_version = COALESCE(p_version, script_version),
    exit_code = p_exit_code, `signal` = p_signal,
    stdout = p_stdout, stderr = p_stderr,
    stdout_truncated = p_stdout_trunc, stderr_truncated = p_stderr_trunc,
    output = p_output, output_file = p_output_file, error = p_error,
    finished_at = UTC_TIMESTAMP(3) - INTERVAL p_ended_ago_us MICROSECOND,
    duration_ms = p_duration_ms,
    cpu_user_ms = p_cpu_user_ms, cpu_system_ms = p_cpu_system_ms,
    max_rss_kb = p_max_rss_kb, `limit` = p_limit,
    started_at = COALESCE(started_at,
      UTC_TIMESTAMP(3) - INTERVAL p_since_exec_us MICROSECOND)
    WHERE id = p_id AND status = 'running';
  SET n = ROW_COUNT();
  IF p_want_row THEN
    SELECT id, script_id, script_name, script_version, `trigger`,
      status, input, exit_code, `signal`, stdout, stderr,
      stdout_truncated, stderr_truncated, output, output_file, error,
      queued_at, started_at, finished_at, duration_ms, cpu_user_ms,
      cpu_system_ms, max_rss_kb, node, `limit`, triggered_by, n AS updated
      FROM executions WHERE id = p_id;
  ELSE
    SELECT n AS updated;
  END IF;
END;
