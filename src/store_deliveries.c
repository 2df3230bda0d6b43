/*
 * store_deliveries.c - SQL of the callback outbox (sql/013_callbacks.sql):
 * the deliveries of an execution for the API, and the claim, record,
 * release and expiry of attempts for the senders (sender.c). Rows are
 * written by the database itself, by the trigger that fires when an
 * execution with a callback_url reaches a final status.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "store.h"

void
delivery_rec_free(struct delivery_rec *d)
{
	if (d == NULL)
		return;
	free(d->url);
	free(d->last_error);
	memset(d, 0, sizeof(*d));
}

static void
cell_time(const struct dbres *res, size_t i, size_t col, char out[32])
{
	const char *v = dbres_get(res, i, col);

	out[0] = '\0';
	if (v != NULL)
		clock_db_to_rfc3339(v, out, 32);
}

int
store_delivery_list(struct db *db, long long execution_id,
    void (*fn)(void *arg, const struct delivery_rec *d), void *arg)
{
	static const char *sql = "SELECT id, execution_id, url, status, "
	    "attempts, last_status_code, last_error, created_at, "
	    "next_attempt_at, delivered_at FROM deliveries "
	    "WHERE execution_id = ? ORDER BY id";
	struct dbp p[1] = { DBP_I(execution_id) };
	struct dbres res;
	struct delivery_rec d;
	const char *v;

	if (db_exec(db, sql, p, 1, &res, NULL, NULL) == -1)
		return -1;
	for (size_t i = 0; i < res.nrows; i++) {
		memset(&d, 0, sizeof(d));
		d.id = strtoll(dbres_get(&res, i, 0), NULL, 10);
		d.execution_id = strtoll(dbres_get(&res, i, 1), NULL, 10);
		d.url = xstrdup(dbres_get(&res, i, 2));
		snprintf(d.status, sizeof(d.status), "%s",
		    dbres_get(&res, i, 3));
		d.attempts = strtoll(dbres_get(&res, i, 4), NULL, 10);
		if ((v = dbres_get(&res, i, 5)) != NULL) {
			d.has_status_code = 1;
			d.last_status_code = atoi(v);
		}
		if ((v = dbres_get(&res, i, 6)) != NULL)
			d.last_error = xstrdup(v);
		cell_time(&res, i, 7, d.created_at);
		cell_time(&res, i, 8, d.next_attempt_at);
		cell_time(&res, i, 9, d.delivered_at);
		fn(arg, &d);
		delivery_rec_free(&d);
	}
	dbres_free(&res);
	return 0;
}

/* STORE_DELIVERY_CLAIM_MAX placeholders. */
#define IDS16 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"

/* One claim transaction: 0 with *n claimed (committed), or -1. */
static int
claim_once(struct db *db, unsigned long long token, int lease_s, size_t max,
    struct delivery_claim *out, size_t *n)
{
	/*
	 * Due rows, the longest due first, that no other transaction holds:
	 * a sender claiming at the same time (this node's next loop, another
	 * node) passes over them instead of waiting. The (status,
	 * next_attempt_at) index gives them in order; a row claimed by
	 * another sender is not due (its next_attempt_at is its lease's end).
	 */
	static const char *due_sql = "SELECT id, execution_id, url, attempts, "
	    "TIMESTAMPDIFF(MICROSECOND, created_at, UTC_TIMESTAMP(6)) "
	    "FROM deliveries WHERE status = 'pending' AND "
	    "next_attempt_at <= UTC_TIMESTAMP(3) ORDER BY next_attempt_at "
	    "LIMIT ? FOR UPDATE SKIP LOCKED";
	static const char *mark_sql = "UPDATE deliveries SET claim_token = ?, "
	    "attempts = attempts + 1, next_attempt_at = UTC_TIMESTAMP(3) + "
	    "INTERVAL ? SECOND WHERE status = 'pending' AND id IN (" IDS16 ")";
	struct dbp pd[1] = { DBP_I((long long)max) };
	struct dbp pm[2 + STORE_DELIVERY_CLAIM_MAX];
	struct dbres res;
	unsigned long long affected;
	size_t k;

	*n = 0;
	if (db_tx_begin_read_committed(db) == -1)
		return -1;
	if (db_exec(db, due_sql, pd, 1, &res, NULL, NULL) == -1)
		goto fail;
	if (res.nrows == 0) {
		dbres_free(&res);
		db_tx_rollback(db);
		return 0;
	}
	pm[0] = DBP_I((long long)token);
	pm[1] = DBP_I(lease_s);
	for (k = 0; k < STORE_DELIVERY_CLAIM_MAX; k++)
		pm[2 + k] = k < res.nrows ?
		    DBP_I(strtoll(dbres_get(&res, k, 0), NULL, 10)) : DBP_I(0);
	if (db_exec(db, mark_sql, pm, 2 + STORE_DELIVERY_CLAIM_MAX, NULL,
	    &affected, NULL) == -1) {
		dbres_free(&res);
		goto fail;
	}
	if (affected != res.nrows) {
		dbres_free(&res);
		db_fail(db, "a locked delivery was not pending any more");
		goto fail;
	}
	if (db_tx_commit(db) == -1) {
		dbres_free(&res);
		return -1;
	}
	for (k = 0; k < res.nrows; k++) {
		const char *age = dbres_get(&res, k, 4);
		out[k].id = strtoll(dbres_get(&res, k, 0), NULL, 10);
		out[k].execution_id = strtoll(dbres_get(&res, k, 1), NULL, 10);
		out[k].url = xstrdup(dbres_get(&res, k, 2));
		out[k].attempts = (unsigned)strtoul(dbres_get(&res, k, 3),
		    NULL, 10) + 1;
		out[k].age_ms = age != NULL ? strtod(age, NULL) / 1000.0 : 0;
	}
	*n = res.nrows;
	dbres_free(&res);
	return 0;
fail:
	db_tx_rollback(db);
	return -1;
}

int
store_delivery_claim(struct db *db, unsigned long long token, int lease_s,
    size_t max, struct delivery_claim *out, size_t *n)
{
	int tries = 0;

	*n = 0;
	if (max > STORE_DELIVERY_CLAIM_MAX)
		max = STORE_DELIVERY_CLAIM_MAX;
	if (max == 0)
		return 0;
	/* Galera reports a lost race for a row at COMMIT as a deadlock;
	 * InnoDB may too. Both mean: try again. */
	while (claim_once(db, token, lease_s, max, out, n) == -1) {
		if (db_error(db) != DB_EDEADLOCK || ++tries >= 5)
			return -1;
	}
	return 0;
}

int
store_delivery_record(struct db *db, long long id, unsigned long long token,
    const char *status, int status_code, const char *error, long long retry_ms,
    int *recorded)
{
	/* next_attempt_at + INTERVAL NULL is NULL: not due any more. */
	static const char *sql = "UPDATE deliveries SET status = ?, "
	    "last_status_code = ?, last_error = LEFT(?, 1024), "
	    "next_attempt_at = UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND, "
	    "delivered_at = IF(? = 'delivered', UTC_TIMESTAMP(3), NULL), "
	    "claim_token = NULL WHERE id = ? AND claim_token = ?";
	int pending = strcmp(status, "pending") == 0;
	struct dbp p[7] = { DBP_S(status),
	    status_code > 0 ? DBP_I(status_code) : DBP_NUL, DBP_S(error),
	    pending ? DBP_I(retry_ms * 1000) : DBP_NUL, DBP_S(status),
	    DBP_I(id), DBP_I((long long)token) };
	unsigned long long affected;

	*recorded = 0;
	if (db_exec(db, sql, p, 7, NULL, &affected, NULL) == -1)
		return -1;
	*recorded = affected == 1;
	return 0;
}

int
store_delivery_next_due(struct db *db, double *ms)
{
	/* The first entry of the (status, next_attempt_at) index. */
	static const char *sql = "SELECT TIMESTAMPDIFF(MICROSECOND, "
	    "UTC_TIMESTAMP(6), MIN(next_attempt_at)) FROM deliveries "
	    "WHERE status = 'pending'";
	struct dbres res;
	const char *v;

	*ms = -1;
	if (db_exec(db, sql, NULL, 0, &res, NULL, NULL) == -1)
		return -1;
	if (res.nrows == 1 && (v = dbres_get(&res, 0, 0)) != NULL) {
		*ms = strtod(v, NULL) / 1000.0;
		if (*ms < 0)
			*ms = 0;
	}
	dbres_free(&res);
	return 0;
}

int
store_delivery_release(struct db *db, long long id, unsigned long long token,
    const char *error)
{
	static const char *sql = "UPDATE deliveries SET claim_token = NULL, "
	    "next_attempt_at = UTC_TIMESTAMP(3), last_error = LEFT(?, 1024) "
	    "WHERE id = ? AND claim_token = ? AND status = 'pending'";
	struct dbp p[3] = { DBP_S(error), DBP_I(id), DBP_I((long long)token) };

	return db_exec(db, sql, p, 3, NULL, NULL, NULL);
}

int
store_delivery_expire(struct db *db, long long max_age_s, int batch,
    long long *n)
{
	/* Due (so not in anyone's hands) and too old: nothing tried it in
	 * time (no sender ran, or none could reach the database). A row
	 * that was tried keeps its last error after the reason. */
	static const char *sql = "UPDATE deliveries SET status = 'failed', "
	    "next_attempt_at = NULL, claim_token = NULL, last_error = "
	    "LEFT(CONCAT('not delivered within callback_max_age_s (', ?, "
	    "' s)', IF(last_error IS NULL, '', CONCAT('; the last attempt: ', "
	    "last_error))), 1024) WHERE status = 'pending' AND "
	    "next_attempt_at <= UTC_TIMESTAMP(3) AND created_at < "
	    "UTC_TIMESTAMP(3) - INTERVAL ? SECOND ORDER BY next_attempt_at "
	    "LIMIT ?";
	struct dbp p[3] = { DBP_I(max_age_s), DBP_I(max_age_s), DBP_I(batch) };
	unsigned long long affected;

	*n = 0;
	if (db_exec(db, sql, p, 3, NULL, &affected, NULL) == -1)
		return -1;
	*n = (long long)affected;
	return 0;
}

int
store_delivery_delete_old(struct db *db, int days, int batch,
    long long *deleted)
{
	static const char *sql = "DELETE FROM deliveries WHERE created_at < "
	    "UTC_TIMESTAMP(3) - INTERVAL ? DAY AND status <> 'pending' "
	    "ORDER BY created_at LIMIT ?";
	struct dbp p[2] = { DBP_I(days), DBP_I(batch) };
	unsigned long long affected;

	*deleted = 0;
	if (db_exec(db, sql, p, 2, NULL, &affected, NULL) == -1)
		return -1;
	*deleted = (long long)affected;
	return 0;
}
