-- Idempotent submissions (issue 17): an Idempotency-Key sent with
-- POST /scripts/{id}/executions is remembered here for 24 hours, with the
-- execution its first request created and a fingerprint of that request
-- (SHA-256 of the script id and the body in canonical form). The row is
-- inserted in the same transaction as its execution, so neither exists
-- without the other. The primary key is what makes concurrent requests
-- with one key create exactly one execution: every request but one gets a
-- duplicate-key error (on Galera, a certification failure at COMMIT) and
-- answers the winner's execution instead.
--
-- Keys are scoped to the token that sent them: two callers never see each
-- other's keys. The key is compared byte for byte (VARBINARY: no case
-- folding, no trailing-space padding). The janitor deletes rows older than
-- 24 hours in batches, by created_at; a submission treats an older row as
-- absent and replaces it. No foreign key: executions are deleted by
-- retention on their own schedule, a day old at the soonest, when their
-- key has (all but) expired; a key whose execution is gone is answered
-- 409.
CREATE TABLE idempotency_keys (
  token_id        BIGINT UNSIGNED NOT NULL,
  idempotency_key VARBINARY(255) NOT NULL,
  fingerprint     BINARY(32) NOT NULL,
  execution_id    BIGINT UNSIGNED NOT NULL,
  created_at      DATETIME(3) NOT NULL,
  PRIMARY KEY (token_id, idempotency_key),
  KEY idempotency_keys_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
