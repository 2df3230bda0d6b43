-- A runner records an execution's end with one CALL: the UPDATE (which
-- commits on its own, as before) and, when the caller waits for the
-- result, the final row read back in the same round trip, so that the
-- waiting API worker can answer without reading it again (docs/
-- architecture.md, "The final row"). The row's columns are those of
-- EXEC_COLS in src/store_executions.c, in that order, then `updated`
-- (1 when this call ended the run, 0 when the row was no longer running).
-- SQL SECURITY INVOKER: the caller's rights apply, whoever migrated.
CREATE PROCEDURE execution_finish(
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
    finished_at = UTC_TIMESTAMP(3), duration_ms = p_duration_ms,
    cpu_user_ms = p_cpu_user_ms, cpu_system_ms = p_cpu_system_ms,
    max_rss_kb = p_max_rss_kb,
    started_at = COALESCE(started_at,
      UTC_TIMESTAMP(3) - INTERVAL p_since_exec_us MICROSECOND)
    WHERE id = p_id AND status = 'running';
  SET n = ROW_COUNT();
  IF p_want_row THEN
    SELECT id, script_id, script_name, script_version, `trigger`,
      status, input, exit_code, `signal`, stdout, stderr,
      stdout_truncated, stderr_truncated, output, output_file, error,
      queued_at, started_at, finished_at, duration_ms, cpu_user_ms,
      cpu_system_ms, max_rss_kb, node, n AS updated
      FROM executions WHERE id = p_id;
  ELSE
    SELECT n AS updated;
  END IF;
END;
