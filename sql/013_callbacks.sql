-- Completion callbacks (issue 17; docs/api.md, "Completion callbacks").
--
-- An execution may carry a callback URL (the submission's, else its
-- script's default), and when it reaches a final status a delivery is
-- owed: a POST of the final execution to that URL, signed, retried with
-- backoff until it is answered 2xx or callback_max_age_s has passed.
-- The deliveries table is the outbox the sender processes work from
-- (src/sender.c, the SQL in src/store_deliveries.c).
--
-- Both new columns are added last and NULL: MariaDB adds such columns
-- instantly (no copy of a large executions table), and a daemon not yet
-- restarted after an upgrade goes on with its own columns. A URL is
-- printable ASCII (the API refuses anything else), at most 2048 bytes.
ALTER TABLE scripts
  ADD COLUMN callback_url VARCHAR(2048) CHARACTER SET ascii NULL;
ALTER TABLE executions
  ADD COLUMN callback_url VARCHAR(2048) CHARACTER SET ascii NULL;

-- One row per delivery owed. status: pending until an attempt is answered
-- 2xx (delivered) or the delivery is given up (failed). A pending row is
-- due at next_attempt_at. A sender claims due rows (SELECT ... FOR UPDATE
-- SKIP LOCKED, then an UPDATE that writes a claim token of its own and
-- moves next_attempt_at to the end of a lease, committed together), makes
-- the attempt outside any transaction, and records the outcome only while
-- its token is still there: with several senders (nodes) each attempt is
-- made by exactly one of them, and the row of a sender that dies
-- mid-attempt is due again when the lease ends. attempts counts the
-- attempts begun; last_status_code is the HTTP status of the last answer
-- (NULL: none came), last_error why the last attempt failed.
-- No foreign key: executions are deleted by retention on their own
-- schedule, and the janitor deletes deliveries by their own age.
CREATE TABLE deliveries (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  execution_id     BIGINT UNSIGNED NOT NULL,
  url              VARCHAR(2048) CHARACTER SET ascii NOT NULL,
  status           ENUM('pending','delivered','failed') NOT NULL
                     DEFAULT 'pending',
  attempts         INT UNSIGNED NOT NULL DEFAULT 0,
  last_status_code SMALLINT UNSIGNED NULL,
  last_error       VARCHAR(1024) NULL,
  created_at       DATETIME(3) NOT NULL,
  next_attempt_at  DATETIME(3) NULL,
  delivered_at     DATETIME(3) NULL,
  claim_token      BIGINT UNSIGNED NULL,
  KEY deliveries_due (status, next_attempt_at),
  KEY deliveries_execution (execution_id, id),
  KEY deliveries_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- No final status without its pending delivery: the row is written by a
-- trigger of the statement that makes the status final, so it commits in
-- the same transaction whichever path ends the execution (a runner's
-- record, an error record, a cancel of a queued run, the janitor's lost
-- sweep, a script's deletion canceling its queue, or a path added later).
-- A final status is never left again, so each execution gets one delivery.
-- On Galera the rows the trigger writes replicate with the UPDATE itself.
CREATE TRIGGER executions_callback_final AFTER UPDATE ON executions
FOR EACH ROW
BEGIN
  IF NEW.callback_url IS NOT NULL
      AND OLD.status IN ('queued', 'running')
      AND NEW.status NOT IN ('queued', 'running') THEN
    INSERT INTO deliveries (execution_id, url, status, attempts, created_at,
      next_attempt_at)
    VALUES (NEW.id, NEW.callback_url, 'pending', 0, UTC_TIMESTAMP(3),
      UTC_TIMESTAMP(3));
  END IF;
END;

-- No path inserts an execution already final today; should one, its
-- delivery is owed all the same.
CREATE TRIGGER executions_callback_insert AFTER INSERT ON executions
FOR EACH ROW
BEGIN
  IF NEW.callback_url IS NOT NULL
      AND NEW.status NOT IN ('queued', 'running') THEN
    INSERT INTO deliveries (execution_id, url, status, attempts, created_at,
      next_attempt_at)
    VALUES (NEW.id, NEW.callback_url, 'pending', 0, UTC_TIMESTAMP(3),
      UTC_TIMESTAMP(3));
  END IF;
END;

-- The final record: execution_finish_at (sql/008_execution_finish_at.sql),
-- whose description holds, with what came since in one procedure (sql/010
-- and sql/012 of the same release add the columns): p_limit is written
-- into `limit` (sql/010_limits.sql), and the final row carries `limit`,
-- triggered_by (sql/012_sessions_history.sql) and callback_url after
-- `node` (EXECUTION_COLS in src/store_executions.c), then `updated`;
-- without the row, `updated` and `delivery` (1 when this call ended the
-- run and a delivery is now owed, so the runner wakes this node's
-- sender). The earlier procedures stay, under their names and with their
-- parameters, for the runners of a daemon not yet restarted after an
-- upgrade; the trigger above writes the deliveries of their records too.
CREATE PROCEDURE execution_finish_cb(
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
      cpu_system_ms, max_rss_kb, node, `limit`, triggered_by, callback_url,
      n AS updated
      FROM executions WHERE id = p_id;
  ELSE
    SELECT n AS updated,
      n = 1 AND (SELECT callback_url IS NOT NULL FROM executions
        WHERE id = p_id) AS delivery;
  END IF;
END;
