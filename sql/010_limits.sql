-- Per-run resource limits (docs/api.md, "Limits").
--  - scripts.limits: a JSON object of the limits the script sets itself
--    (memory_mb, pids, cpu_cores, file_size_mb, output_cap_kb), NULL when
--    it sets none: each one missing is the running node's configured
--    default, so a new default reaches every script that did not choose.
--  - scripts.network: "host" or "none" (an empty network namespace).
--  - executions.limit: the limit that stopped a failed run ("memory",
--    "pids", "file_size", "cpu_time"), NULL otherwise.
-- Added last, NULL or with a default: MariaDB adds such columns instantly
-- (no copy of a large executions table), and a daemon not yet restarted
-- after an upgrade goes on reading and writing its own columns.
ALTER TABLE scripts
  ADD COLUMN `limits` TEXT NULL,
  ADD COLUMN network ENUM('host','none') NOT NULL DEFAULT 'host';
ALTER TABLE executions
  ADD COLUMN `limit` VARCHAR(16) NULL;

-- execution_finish_at (sql/008_execution_finish_at.sql), whose
-- description holds, with the limit: p_limit is written into `limit`, and
-- the final row carries it after `node` (EXEC_COLS in
-- src/store_executions.c), then `updated`. The earlier procedures stay,
-- under their names and with their parameters, for the runners of a
-- daemon not yet restarted after an upgrade.
CREATE PROCEDURE execution_finish_limit(
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
      cpu_system_ms, max_rss_kb, node, `limit`, n AS updated
      FROM executions WHERE id = p_id;
  ELSE
    SELECT n AS updated;
  END IF;
END;
