-- Executions are the queue and the log at once. script_id carries no
-- foreign key on purpose: a deleted script's executions stay readable with
-- the name and version they ran.
CREATE TABLE executions (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  script_id        BIGINT UNSIGNED NOT NULL,
  script_name      VARCHAR(64) NOT NULL,
  script_version   VARCHAR(80) NULL,
  `trigger`        VARCHAR(16) NOT NULL,
  status           ENUM('queued','running','succeeded','failed','timed_out',
                        'canceled','error','lost') NOT NULL,
  input            MEDIUMTEXT NOT NULL,   -- JSON object
  exit_code        INT NULL,
  `signal`         INT NULL,
  stdout           LONGBLOB NULL,
  stderr           LONGBLOB NULL,
  stdout_truncated TINYINT(1) NOT NULL DEFAULT 0,
  stderr_truncated TINYINT(1) NOT NULL DEFAULT 0,
  output           LONGTEXT NULL,         -- JSON, from outputs.stdout = json
  output_file      LONGBLOB NULL,
  error            TEXT NULL,
  queued_at        DATETIME(3) NOT NULL,
  started_at       DATETIME(3) NULL,
  finished_at      DATETIME(3) NULL,
  duration_ms      DOUBLE NULL,
  cpu_user_ms      BIGINT NULL,
  cpu_system_ms    BIGINT NULL,
  max_rss_kb       BIGINT NULL,
  node             VARCHAR(255) NULL,
  runner_pid       INT NULL,
  heartbeat_at     DATETIME(3) NULL,
  cancel_requested TINYINT(1) NOT NULL DEFAULT 0,
  KEY executions_status (status, id),
  KEY executions_script (script_id, id),
  KEY executions_script_status (script_id, status),
  KEY executions_trigger (`trigger`, id),
  KEY executions_queued_at (queued_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
