-- API tokens (only a SHA-256 hash of each is kept) and the audit trail of
-- every write made through the API or the admin CLI.
CREATE TABLE tokens (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name         VARCHAR(128) NOT NULL,
  role         ENUM('admin','operator','viewer') NOT NULL,
  token_hash   BINARY(32) NOT NULL,
  created_at   DATETIME(3) NOT NULL,
  last_used_at DATETIME(3) NULL,
  revoked_at   DATETIME(3) NULL,
  UNIQUE KEY tokens_hash (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE audit_log (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at          DATETIME(3) NOT NULL,
  actor       VARCHAR(128) NOT NULL,
  action      VARCHAR(64) NOT NULL,
  object_type VARCHAR(32) NOT NULL,
  object_id   BIGINT UNSIGNED NULL,
  detail      TEXT NULL,
  KEY audit_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
