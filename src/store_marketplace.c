/*
 * store_marketplace.c - SQL for marketplace_installs (sql/015): which
 * scripts came from which item of the marketplace.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "store.h"

int
store_market_install_add(struct db *db, long long script_id,
    const char *item, const char *item_version)
{
	static const char *sql = "INSERT INTO marketplace_installs "
	    "(script_id, item, item_version, installed_at) "
	    "VALUES (?, ?, ?, UTC_TIMESTAMP(3))";
	struct dbp p[3] = { DBP_I(script_id), DBP_S(item),
	    DBP_S(item_version) };

	return db_exec(db, sql, p, 3, NULL, NULL, NULL);
}

int
store_market_installs(struct db *db,
    void (*fn)(void *arg, const struct market_install *mi), void *arg)
{
	static const char *sql = "SELECT m.item, m.script_id, s.name, "
	    "s.version, m.item_version, m.installed_at "
	    "FROM marketplace_installs m JOIN scripts s ON s.id = m.script_id "
	    "ORDER BY m.item, m.installed_at, m.script_id";
	struct market_install mi;
	struct dbres res;

	if (db_exec(db, sql, NULL, 0, &res, NULL, NULL) == -1)
		return -1;
	for (size_t i = 0; i < res.nrows; i++) {
		memset(&mi, 0, sizeof(mi));
		mi.item = dbres_get(&res, i, 0);
		mi.script_id = strtoll(dbres_get(&res, i, 1), NULL, 10);
		mi.script_name = dbres_get(&res, i, 2);
		mi.script_version = dbres_get(&res, i, 3);
		mi.item_version = dbres_get(&res, i, 4);
		clock_db_to_rfc3339(dbres_get(&res, i, 5), mi.installed_at,
		    sizeof(mi.installed_at));
		fn(arg, &mi);
	}
	dbres_free(&res);
	return 0;
}
