/*
 * store_nodes.c - SQL for the nodes table (nodes.h, sql/014_nodes.sql).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "store.h"

/* Up: seen within the timeout `?`, and not stopped since. */
#define NODE_UP "(stopped_at IS NULL AND last_seen_at >= UTC_TIMESTAMP(3) " \
	"- INTERVAL ? SECOND)"

int
store_node_beat(struct db *db, const char *name, const char *labels,
    int runners, int busy, const char *version, long long started_unix_ms)
{
	/* One writer per row (the node's janitor): no lost update. The
	 * session's time zone is UTC (db.c), so FROM_UNIXTIME is too. */
	static const char *sql = "INSERT INTO nodes (name, labels, runners, "
	    "busy, version, started_at, last_seen_at, stopped_at) VALUES "
	    "(?, ?, ?, ?, ?, FROM_UNIXTIME(? / 1000), UTC_TIMESTAMP(3), "
	    "NULL) ON DUPLICATE KEY UPDATE labels = VALUES(labels), "
	    "runners = VALUES(runners), busy = VALUES(busy), "
	    "version = VALUES(version), started_at = VALUES(started_at), "
	    "last_seen_at = VALUES(last_seen_at), stopped_at = NULL";
	struct dbp p[6] = { DBP_S(name), DBP_S(labels), DBP_I(runners),
	    DBP_I(busy), DBP_S(version), DBP_I(started_unix_ms) };

	return db_exec(db, sql, p, 6, NULL, NULL, NULL);
}

int
store_node_peers_up(struct db *db, const char *name, int timeout_s, int *n)
{
	static const char *sql = "SELECT COUNT(*) FROM nodes WHERE name <> ? "
	    "AND " NODE_UP;
	struct dbp p[2] = { DBP_S(name), DBP_I(timeout_s) };
	struct dbres res;

	*n = 0;
	if (db_exec(db, sql, p, 2, &res, NULL, NULL) == -1)
		return -1;
	if (res.nrows == 1)
		*n = atoi(dbres_get(&res, 0, 0));
	dbres_free(&res);
	return 0;
}

int
store_node_stopped(struct db *db, const char *name)
{
	static const char *sql = "UPDATE nodes SET stopped_at = "
	    "UTC_TIMESTAMP(3), busy = 0 WHERE name = ?";
	struct dbp p[1] = { DBP_S(name) };

	return db_exec(db, sql, p, 1, NULL, NULL, NULL);
}

int
store_node_forget(struct db *db, int days, int *n)
{
	static const char *sql = "DELETE FROM nodes WHERE last_seen_at < "
	    "UTC_TIMESTAMP(3) - INTERVAL ? DAY";
	struct dbp p[1] = { DBP_I(days) };
	unsigned long long affected;

	*n = 0;
	if (db_exec(db, sql, p, 1, NULL, &affected, NULL) == -1)
		return -1;
	*n = (int)affected;
	return 0;
}

int
store_node_list(struct db *db, int timeout_s,
    void (*fn)(void *arg, const struct node_rec *n), void *arg)
{
	static const char *sql = "SELECT name, labels, runners, busy, "
	    "version, started_at, last_seen_at, " NODE_UP " FROM nodes "
	    "ORDER BY name";
	struct dbp p[1] = { DBP_I(timeout_s) };
	struct dbres res;
	struct node_rec n;

	if (db_exec(db, sql, p, 1, &res, NULL, NULL) == -1)
		return -1;
	for (size_t i = 0; i < res.nrows; i++) {
		memset(&n, 0, sizeof(n));
		n.name = dbres_get(&res, i, 0);
		n.labels = dbres_get(&res, i, 1);
		n.runners = atoi(dbres_get(&res, i, 2));
		n.busy = atoi(dbres_get(&res, i, 3));
		n.version = dbres_get(&res, i, 4);
		clock_db_to_rfc3339(dbres_get(&res, i, 5), n.started_at,
		    sizeof(n.started_at));
		clock_db_to_rfc3339(dbres_get(&res, i, 6), n.last_seen_at,
		    sizeof(n.last_seen_at));
		n.up = dbres_get(&res, i, 7) != NULL &&
		    strcmp(dbres_get(&res, i, 7), "1") == 0;
		fn(arg, &n);
	}
	dbres_free(&res);
	return 0;
}
