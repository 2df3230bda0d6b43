/*
 * store_tokens.c - SQL for API tokens and the audit trail.
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
store_token_insert(struct db *db, const char *name, enum role role,
    const unsigned char hash[32], long long *id, char created_at[32])
{
	static const char *ins = "INSERT INTO tokens (name, role, token_hash, "
	    "created_at) VALUES (?, ?, ?, UTC_TIMESTAMP(3))";
	static const char *sel = "SELECT created_at FROM tokens WHERE id = ?";
	struct dbp p[3] = { DBP_S(name), DBP_S(role_name(role)),
	    DBP_B((const char *)hash, 32) };
	unsigned long long newid;
	struct dbres res;

	if (db_exec(db, ins, p, 3, NULL, NULL, &newid) == -1)
		return -1;
	*id = (long long)newid;
	struct dbp q[1] = { DBP_I(newid) };
	if (db_exec(db, sel, q, 1, &res, NULL, NULL) == -1)
		return -1;
	created_at[0] = '\0';
	if (res.nrows == 1)
		clock_db_to_rfc3339(dbres_get(&res, 0, 0), created_at, 32);
	dbres_free(&res);
	return 0;
}

void
store_row_to_token(const struct dbres *res, size_t i, size_t c0,
    struct token_rec *t)
{
	const char *v;

	memset(t, 0, sizeof(*t));
	t->id = strtoll(dbres_get(res, i, c0), NULL, 10);
	snprintf(t->name, sizeof(t->name), "%s", dbres_get(res, i, c0 + 1));
	(void)role_parse(dbres_get(res, i, c0 + 2), &t->role);
	clock_db_to_rfc3339(dbres_get(res, i, c0 + 3), t->created_at,
	    sizeof(t->created_at));
	if ((v = dbres_get(res, i, c0 + 4)) != NULL)
		clock_db_to_rfc3339(v, t->last_used_at, sizeof(t->last_used_at));
	t->revoked = dbres_get(res, i, c0 + 5) != NULL;
	if (dbres_len(res, i, c0 + 6) == 32)
		memcpy(t->hash, dbres_get(res, i, c0 + 6), 32);
	t->stale_use = strcmp(dbres_get(res, i, c0 + 7), "1") == 0;
}

#define TOKEN_COLS TOKEN_COLS_P("")

int
store_token_by_hash(struct db *db, const unsigned char hash[32],
    struct token_rec *t, int *found)
{
	static const char *sql = "SELECT " TOKEN_COLS
	    " FROM tokens WHERE token_hash = ?";
	struct dbp p[1] = { DBP_B((const char *)hash, 32) };
	struct dbres res;

	if (db_exec(db, sql, p, 1, &res, NULL, NULL) == -1)
		return -1;
	*found = res.nrows == 1;
	if (*found)
		store_row_to_token(&res, 0, 0, t);
	dbres_free(&res);
	return 0;
}

int
store_token_touch(struct db *db, long long id)
{
	static const char *sql = "UPDATE tokens SET last_used_at = "
	    "UTC_TIMESTAMP(3) WHERE id = ?";
	struct dbp p[1] = { DBP_I(id) };

	return db_exec(db, sql, p, 1, NULL, NULL, NULL);
}

int
store_token_list(struct db *db,
    void (*fn)(void *arg, const struct token_rec *t), void *arg)
{
	static const char *sql = "SELECT " TOKEN_COLS
	    " FROM tokens ORDER BY id";
	struct dbres res;
	struct token_rec t;

	if (db_exec(db, sql, NULL, 0, &res, NULL, NULL) == -1)
		return -1;
	for (size_t i = 0; i < res.nrows; i++) {
		store_row_to_token(&res, i, 0, &t);
		fn(arg, &t);
	}
	dbres_free(&res);
	return 0;
}

int
store_token_revoke(struct db *db, long long id, int *found)
{
	static const char *upd = "UPDATE tokens SET revoked_at = "
	    "COALESCE(revoked_at, UTC_TIMESTAMP(3)) WHERE id = ?";
	static const char *sel = "SELECT 1 FROM tokens WHERE id = ?";
	struct dbp p[1] = { DBP_I(id) };
	struct dbres res;

	if (db_exec(db, sel, p, 1, &res, NULL, NULL) == -1)
		return -1;
	*found = res.nrows == 1;
	dbres_free(&res);
	if (!*found)
		return 0;
	return db_exec(db, upd, p, 1, NULL, NULL, NULL);
}

int
store_audit(struct db *db, const char *actor, const char *action,
    const char *object_type, long long object_id, const char *detail)
{
	static const char *sql = "INSERT INTO audit_log (at, actor, action, "
	    "object_type, object_id, detail) VALUES (UTC_TIMESTAMP(3), ?, ?, "
	    "?, ?, ?)";
	struct dbp p[5] = { DBP_S(actor), DBP_S(action), DBP_S(object_type),
	    object_id > 0 ? DBP_I(object_id) : DBP_NUL, DBP_S(detail) };

	return db_exec(db, sql, p, 5, NULL, NULL, NULL);
}

int
store_ping(struct db *db)
{
	static const char *sql = "SELECT 1";
	struct dbres res;

	if (db_exec(db, sql, NULL, 0, &res, NULL, NULL) == -1)
		return -1;
	dbres_free(&res);
	return 0;
}
