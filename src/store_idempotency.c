/*
 * store_idempotency.c - SQL for the Idempotency-Keys of submissions
 * (sql/011_idempotency_keys.sql). execution.c decides what a key means;
 * this only reads, writes and forgets rows.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"

/* A row counts while it is younger than ttl_s, by the database's clock
 * (every node reads the same one). */
#define LIVE "created_at >= UTC_TIMESTAMP(3) - INTERVAL ? SECOND"
#define DEAD "created_at < UTC_TIMESTAMP(3) - INTERVAL ? SECOND"

int
store_idem_get(struct db *db, long long token_id, const char *key, int ttl_s,
    unsigned char fp[STORE_IDEM_FP], long long *execution_id, int *found)
{
	static const char *sql = "SELECT fingerprint, execution_id FROM "
	    "idempotency_keys WHERE token_id = ? AND idempotency_key = ? AND "
	    LIVE;
	struct dbp p[3] = { DBP_I(token_id), DBP_S(key), DBP_I(ttl_s) };
	struct dbres res;

	*found = 0;
	*execution_id = 0;
	if (db_exec(db, sql, p, 3, &res, NULL, NULL) == -1)
		return -1;
	if (res.nrows == 1) {
		if (dbres_get(&res, 0, 0) == NULL ||
		    dbres_len(&res, 0, 0) != STORE_IDEM_FP) {
			dbres_free(&res);
			return db_fail(db, "an idempotency key's fingerprint is "
			    "not 32 bytes");
		}
		memcpy(fp, dbres_get(&res, 0, 0), STORE_IDEM_FP);
		*execution_id = strtoll(dbres_get(&res, 0, 1), NULL, 10);
		*found = 1;
	}
	dbres_free(&res);
	return 0;
}

int
store_idem_insert(struct db *db, long long token_id, const char *key,
    int ttl_s, const unsigned char fp[STORE_IDEM_FP], long long execution_id)
{
	/* An expired row of this key that the janitor has not deleted yet
	 * would make the INSERT fail as if the key were in use: it goes
	 * first. Read committed (the caller's transaction): the DELETE
	 * locks that one row if there is one, and no gap. A row of the key
	 * that another transaction inserted and has not committed makes it
	 * wait for that commit; then the row is live, is not deleted (its
	 * lock is let go at once), and the INSERT fails as a duplicate. */
	static const char *del = "DELETE FROM idempotency_keys WHERE "
	    "token_id = ? AND idempotency_key = ? AND " DEAD;
	static const char *ins = "INSERT INTO idempotency_keys (token_id, "
	    "idempotency_key, fingerprint, execution_id, created_at) VALUES "
	    "(?, ?, ?, ?, UTC_TIMESTAMP(3))";
	struct dbp pd[3] = { DBP_I(token_id), DBP_S(key), DBP_I(ttl_s) };
	struct dbp pi[4] = { DBP_I(token_id), DBP_S(key),
	    DBP_B((const char *)fp, STORE_IDEM_FP), DBP_I(execution_id) };

	if (db_exec(db, del, pd, 3, NULL, NULL, NULL) == -1)
		return -1;
	return db_exec(db, ins, pi, 4, NULL, NULL, NULL);
}

int
store_idem_forget_old(struct db *db, int ttl_s, int batch, long long *deleted)
{
	static const char *sql = "DELETE FROM idempotency_keys WHERE " DEAD
	    " ORDER BY created_at LIMIT ?";
	struct dbp p[2] = { DBP_I(ttl_s), DBP_I(batch) };
	unsigned long long affected;

	*deleted = 0;
	if (db_exec(db, sql, p, 2, NULL, &affected, NULL) == -1)
		return -1;
	*deleted = (long long)affected;
	return 0;
}
