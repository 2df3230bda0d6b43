-- Secrets (issue 16, docs/api.md "Secrets"). Both columns hold values
-- sealed under the node's key (src/secret.h: "v1:" + base64 of nonce and
-- XSalsa20-Poly1305 ciphertext), never plain text:
--  - scripts.secret_env: a JSON object {"NAME": "<sealed value>"}; NULL
--    when the script has none. The API shows each name with "***".
--  - executions.input_secret: the sealed compact JSON object of the
--    input's secret properties (those marked "secret": true in the
--    script's inputs); the row's `input` shows "***" in their place, and
--    the runner merges them back before the run. NULL when there are none.
-- Both are added last and NULL by default: MariaDB adds such a column
-- instantly (no copy of a large executions table), and a daemon not yet
-- restarted after an upgrade goes on reading and writing its own columns.
ALTER TABLE scripts
  ADD COLUMN secret_env MEDIUMTEXT CHARACTER SET ascii NULL;
ALTER TABLE executions
  ADD COLUMN input_secret MEDIUMTEXT CHARACTER SET ascii NULL;
