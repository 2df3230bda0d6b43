-- Per-run resource limits (docs/api.md, "Limits").
--  - scripts.limits: a JSON object of the limits the script sets itself
--    (memory_mb, pids, cpu_cores, file_size_mb, output_cap_kb), NULL when
--    it sets none: each one missing is the running node's configured
--    default, so a new default reaches every script that did not choose.
--  - scripts.network: "host" or "none" (an empty network namespace).
--  - executions.limit: the limit that stopped a failed run ("memory",
--    "pids", "file_size", "cpu_time"), NULL otherwise. The runners write
--    it with the final record (execution_finish_cb, sql/013_callbacks.sql).
-- Added last, NULL or with a default: MariaDB adds such columns instantly
-- (no copy of a large executions table), and a daemon not yet restarted
-- after an upgrade goes on reading and writing its own columns.
ALTER TABLE scripts
  ADD COLUMN `limits` TEXT NULL,
  ADD COLUMN network ENUM('host','none') NOT NULL DEFAULT 'host';
ALTER TABLE executions
  ADD COLUMN `limit` VARCHAR(16) NULL;
