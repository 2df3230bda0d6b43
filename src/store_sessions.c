/*
 * store_sessions.c - SQL for browser sessions (sql/012_sessions_history.sql;
 * the rules are session.c's).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "clock.h"
#include "db.h"
#include "store.h"
#include "store_int.h"

int
store_session_insert(struct db *db, const unsigned char hash[32],
    long long token_id, int ttl_s, char expires_at[32])
{
	static const char *sql = "INSERT INTO sessions (session_hash, "
	    "token_id, created_at, expires_at) VALUES (?, ?, UTC_TIMESTAMP(3), "
	    "UTC_TIMESTAMP(3) + INTERVAL ? SECOND) RETURNING expires_at";
	struct dbp p[3] = { DBP_B((const char *)hash, 32), DBP_I(token_id),
	    DBP_I(ttl_s) };
	struct dbres res;

	expires_at[0] = '\0';
	if (db_exec(db, sql, p, 3, &res, NULL, NULL) == -1)
		return -1;
	if (res.nrows != 1 || dbres_get(&res, 0, 0) == NULL) {
		dbres_free(&res);
		return db_fail(db, "INSERT ... RETURNING gave no row");
	}
	clock_db_to_rfc3339(dbres_get(&res, 0, 0), expires_at, 32);
	dbres_free(&res);
	return 0;
}

int
store_session_token(struct db *db, const unsigned char hash[32],
    unsigned char stored[32], struct token_rec *t, char expires_at[32],
    int *found)
{
	static const char *sql = "SELECT " TOKEN_COLS_P("t.") ", "
	    "s.session_hash, s.expires_at FROM sessions s JOIN tokens t "
	    "ON t.id = s.token_id WHERE s.session_hash = ? AND "
	    "s.expires_at > UTC_TIMESTAMP(3)";
	struct dbp p[1] = { DBP_B((const char *)hash, 32) };
	struct dbres res;

	*found = 0;
	expires_at[0] = '\0';
	if (db_exec(db, sql, p, 1, &res, NULL, NULL) == -1)
		return -1;
	if (res.nrows == 1 && dbres_len(&res, 0, TOKEN_NCOLS) == 32) {
		store_row_to_token(&res, 0, 0, t);
		memcpy(stored, dbres_get(&res, 0, TOKEN_NCOLS), 32);
		clock_db_to_rfc3339(dbres_get(&res, 0, TOKEN_NCOLS + 1),
		    expires_at, 32);
		*found = 1;
	}
	dbres_free(&res);
	return 0;
}

int
store_session_delete(struct db *db, const unsigned char hash[32])
{
	static const char *sql = "DELETE FROM sessions WHERE session_hash = ?";
	struct dbp p[1] = { DBP_B((const char *)hash, 32) };

	return db_exec(db, sql, p, 1, NULL, NULL, NULL);
}

int
store_session_delete_token(struct db *db, long long token_id)
{
	static const char *sql = "DELETE FROM sessions WHERE token_id = ?";
	struct dbp p[1] = { DBP_I(token_id) };

	return db_exec(db, sql, p, 1, NULL, NULL, NULL);
}

int
store_session_delete_expired(struct db *db, int batch, long long *deleted)
{
	static const char *sql = "DELETE FROM sessions WHERE expires_at <= "
	    "UTC_TIMESTAMP(3) ORDER BY expires_at LIMIT ?";
	struct dbp p[1] = { DBP_I(batch) };
	unsigned long long affected;

	*deleted = 0;
	if (db_exec(db, sql, p, 1, NULL, &affected, NULL) == -1)
		return -1;
	*deleted = (long long)affected;
	return 0;
}
