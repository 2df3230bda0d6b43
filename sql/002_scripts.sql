-- The script registry and the history of every version seen.
CREATE TABLE scripts (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name            VARCHAR(64) NOT NULL,
  type            ENUM('shell','python','binary') NOT NULL,
  path            VARCHAR(4096) NOT NULL,
  description     TEXT NOT NULL,
  enabled         TINYINT(1) NOT NULL DEFAULT 1,
  version         VARCHAR(80) NOT NULL,
  requirements    TEXT NULL,
  args            TEXT NOT NULL,          -- JSON array
  input_mode      ENUM('env','stdin','both') NOT NULL DEFAULT 'both',
  inputs          MEDIUMTEXT NULL,        -- JSON object (schema) or NULL
  outputs         TEXT NOT NULL,          -- JSON object
  env             TEXT NOT NULL,          -- JSON object
  timeout_s       INT UNSIGNED NOT NULL DEFAULT 300,
  max_concurrency INT UNSIGNED NULL,
  created_at      DATETIME(3) NOT NULL,
  updated_at      DATETIME(3) NOT NULL,
  UNIQUE KEY scripts_name (name),
  KEY scripts_type (type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE script_versions (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  script_id   BIGINT UNSIGNED NOT NULL,
  version     VARCHAR(80) NOT NULL,
  recorded_at DATETIME(3) NOT NULL,
  KEY script_versions_script (script_id, id),
  CONSTRAINT script_versions_fk FOREIGN KEY (script_id)
    REFERENCES scripts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
