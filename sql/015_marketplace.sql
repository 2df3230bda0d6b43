-- The marketplace (issue 19): which scripts were installed from which
-- item of the marketplace, so that GET /api/v1/marketplace can say of
-- each item whether it is installed, and as which scripts. A row is
-- written in the transaction that registers the script; deleting the
-- script deletes it (the item then shows as not installed, or as the
-- scripts installed from it that remain). item_version is the item's
-- version at the install (the script's own version then), which tells an
-- installed copy that the marketplace has since changed.
CREATE TABLE marketplace_installs (
  script_id    BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  item         VARCHAR(64) NOT NULL,
  item_version VARCHAR(80) NOT NULL,
  installed_at DATETIME(3) NOT NULL,
  KEY marketplace_installs_item (item, script_id),
  CONSTRAINT marketplace_installs_script_fk FOREIGN KEY (script_id)
    REFERENCES scripts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
