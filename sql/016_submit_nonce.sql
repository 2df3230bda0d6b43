-- A submission's INSERT in doubt (docs/architecture.md, "Statements in
-- doubt").
--
-- A submission's INSERT run alone (autocommit) commits by itself, and when
-- the connection breaks before its answer comes back, its id never comes
-- back with it: nothing tells the API worker whether the execution exists.
-- Each submission draws a random 64-bit number (libsodium's randombytes)
-- and stores it in submit_nonce, so that the worker can look its row up
-- on a fresh connection and answer as if the INSERT had answered (or 503
-- with nothing created). NULL for rows inserted before this migration.
--
-- No index of its own: the look-up is rare (only after a lost answer) and
-- reads the last minute's rows through executions_queued_at (queued_at,
-- status), checking the nonce on each (store_execution_find_submitted,
-- src/store_executions.c). Added last and NULL: MariaDB adds such a
-- column instantly (no copy of a large executions table), and a daemon not
-- yet restarted after an upgrade goes on without it.
ALTER TABLE executions
  ADD COLUMN submit_nonce BIGINT NULL;
