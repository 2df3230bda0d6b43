/*
 * store_executions.c - SQL for the execution queue and log.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"

int
store_exec_gauges(struct db *db, long long *queued, long long *running)
{
	static const char *sql = "SELECT status, COUNT(*) FROM executions "
	    "WHERE status IN ('queued', 'running') GROUP BY status";
	struct dbres res;

	*queued = *running = 0;
	if (db_exec(db, sql, NULL, 0, &res, NULL, NULL) == -1)
		return -1;
	for (size_t i = 0; i < res.nrows; i++) {
		long long n = strtoll(dbres_get(&res, i, 1), NULL, 10);
		if (strcmp(dbres_get(&res, i, 0), "queued") == 0)
			*queued = n;
		else
			*running = n;
	}
	dbres_free(&res);
	return 0;
}

int
store_exec_mark_lost(struct db *db, int timeout_s, int *n)
{
	static const char *sql = "UPDATE executions SET status = 'lost', "
	    "finished_at = UTC_TIMESTAMP(3), "
	    "error = CONCAT('its runner (node ', COALESCE(node, '?'), ', pid ', "
	    "COALESCE(runner_pid, '?'), ') stopped sending heartbeats; the run "
	    "could not be finished') "
	    "WHERE status = 'running' AND heartbeat_at < "
	    "UTC_TIMESTAMP(3) - INTERVAL ? SECOND";
	struct dbp p[1] = { DBP_I(timeout_s) };
	unsigned long long affected;

	*n = 0;
	if (db_exec(db, sql, p, 1, NULL, &affected, NULL) == -1)
		return -1;
	*n = (int)affected;
	return 0;
}

int
store_exec_delete_old(struct db *db, int days, int batch, long long *deleted)
{
	static const char *sql = "DELETE FROM executions WHERE queued_at < "
	    "UTC_TIMESTAMP(3) - INTERVAL ? DAY AND status NOT IN "
	    "('queued', 'running') ORDER BY queued_at LIMIT ?";
	struct dbp p[2] = { DBP_I(days), DBP_I(batch) };
	unsigned long long affected;

	*deleted = 0;
	if (db_exec(db, sql, p, 2, NULL, &affected, NULL) == -1)
		return -1;
	*deleted = (long long)affected;
	return 0;
}
