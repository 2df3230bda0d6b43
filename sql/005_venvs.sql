-- Python venvs, one row per venv key (see docs/venvs.md). The directory
-- itself lives on each node under [python] venv_dir/<vkey>; this row keeps
-- the last build's outcome, its log, and the use times that drive eviction.
CREATE TABLE venvs (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  vkey          CHAR(64) CHARACTER SET ascii NOT NULL,
  python        VARCHAR(32) NOT NULL,        -- the interpreter's exact version
  requirements  TEXT NOT NULL,               -- normalized
  status        ENUM('building','ready','failed') NOT NULL,
  size_bytes    BIGINT NULL,
  created_at    DATETIME(3) NOT NULL,        -- of the row; of the venv once ready
  last_used_at  DATETIME(3) NULL,
  build_seconds DOUBLE NULL,
  build_log     MEDIUMTEXT NULL,             -- the builder's whole stderr
  failed_at     DATETIME(3) NULL,
  error         TEXT NULL,                   -- one line: what failed
  node          VARCHAR(255) NULL,           -- where the last build ran
  UNIQUE KEY venvs_vkey (vkey),
  KEY venvs_lru (status, last_used_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
