-- Several nodes (issue 18, docs/scale-out.md).
--
-- nodes: one row per scriptorchd sharing this database, written by that
-- node's janitor every heartbeat interval (INSERT ... ON DUPLICATE KEY
-- UPDATE on its name, so a node's row never needs two writers). A node is
-- "up" while last_seen_at is younger than heartbeat_timeout_s and it has
-- not said it stopped (stopped_at, set on a clean stop); otherwise "down".
-- labels: the node's config node_labels in canonical form (sorted,
-- distinct, joined by commas; '' for none).
--
-- scripts.node_labels and executions.node_labels: the labels a node must
-- have to run it, in the same canonical form, NULL for none. An execution
-- takes its script's labels when it is queued, so a change of the script
-- later does not move work already queued. The claim matches them against
-- the node's own labels with one REGEXP (store_executions.c).
--
-- migration_lease: the lease that keeps two `scriptorchd migrate` runs
-- (nodes starting together) from applying a file twice, taken with a
-- conditional UPDATE of its one row. It replaces GET_LOCK, which MariaDB
-- Galera does not replicate; the table is created by the migrate command
-- itself (store_migrate.c) before any file is applied, this one included.
--
-- Added last, NULL: MariaDB adds such columns instantly.
CREATE TABLE nodes (
  name         VARCHAR(255) NOT NULL PRIMARY KEY,
  labels       VARCHAR(1024) NOT NULL DEFAULT '',
  runners      INT NOT NULL,
  busy         INT NOT NULL,
  version      VARCHAR(64) NOT NULL,
  started_at   DATETIME(3) NOT NULL,
  last_seen_at DATETIME(3) NOT NULL,
  stopped_at   DATETIME(3) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE scripts
  ADD COLUMN node_labels VARCHAR(1024) NULL;
ALTER TABLE executions
  ADD COLUMN node_labels VARCHAR(1024) NULL;
