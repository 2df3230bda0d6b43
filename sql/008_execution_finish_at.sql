-- The final record carries the run's own times (issue 13). A runner that
-- could not reach the database when its child ended writes the record
-- later, retrying; finished_at was the time of that write, seconds after
-- the end. The runner now tells how long ago the child was reaped
-- (p_ended_ago_us), measured on its monotonic clock just before the CALL,
-- so finished_at is the end on the database's clock, the same clock as
-- queued_at and started_at. p_since_exec_us, measured the same way, gives
-- started_at when no tick recorded it. Otherwise as execution_finish of
-- 007_execution_finish.sql, whose description holds. That one stays, under
-- its name and with its parameters, for the runners of a daemon not yet
-- restarted after an upgrade (postinst migrates while it runs): they go
-- on recording their results as before until they stop.
CREATE PROCEDURE execution_finish_at(
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
