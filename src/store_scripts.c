/*
 * store_scripts.c - SQL for the script registry and its version history.
 *
 * Rows come back as struct script (script.h): every text member is a
 * fresh heap copy the caller releases with script_free().
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "script.h"
#include "store.h"
#include "store_int.h"

#define SCRIPT_COLS SCRIPT_COLS_P("")

static char *
dup_cell(const struct dbres *res, size_t row, size_t col)
{
	const char *v = dbres_get(res, row, col);
	char *p;

	if (v == NULL)
		return NULL;
	if ((p = strdup(v)) == NULL)
		fatal("strdup");
	return p;
}

void
store_row_to_script(const struct dbres *res, size_t i, size_t c0,
    struct script *s)
{
	const char *v;

	memset(s, 0, sizeof(*s));
	s->id = strtoll(dbres_get(res, i, c0 + 0), NULL, 10);
	snprintf(s->name, sizeof(s->name), "%s", dbres_get(res, i, c0 + 1));
	snprintf(s->type, sizeof(s->type), "%s", dbres_get(res, i, c0 + 2));
	s->path = dup_cell(res, i, c0 + 3);
	s->description = dup_cell(res, i, c0 + 4);
	s->enabled = strcmp(dbres_get(res, i, c0 + 5), "0") != 0;
	snprintf(s->version, sizeof(s->version), "%s",
	    dbres_get(res, i, c0 + 6));
	s->requirements = dup_cell(res, i, c0 + 7);
	s->args_json = dup_cell(res, i, c0 + 8);
	snprintf(s->input_mode, sizeof(s->input_mode), "%s",
	    dbres_get(res, i, c0 + 9));
	s->inputs_json = dup_cell(res, i, c0 + 10);
	s->outputs_json = dup_cell(res, i, c0 + 11);
	s->env_json = dup_cell(res, i, c0 + 12);
	s->timeout_s = atoi(dbres_get(res, i, c0 + 13));
	v = dbres_get(res, i, c0 + 14);
	s->max_concurrency = v != NULL ? atoi(v) : 0;
	clock_db_to_rfc3339(dbres_get(res, i, c0 + 15), s->created_at,
	    sizeof(s->created_at));
	clock_db_to_rfc3339(dbres_get(res, i, c0 + 16), s->updated_at,
	    sizeof(s->updated_at));
	s->secret_env_json = dup_cell(res, i, c0 + 17);
	s->limits_json = dup_cell(res, i, c0 + 18);
	v = dbres_get(res, i, c0 + 19);
	snprintf(s->network, sizeof(s->network), "%s", v != NULL ? v : "host");
	s->node_labels = dup_cell(res, i, c0 + 20);
	s->callback_url = dup_cell(res, i, c0 + 21);
}

static int
get_one(struct db *db, const char *sql, const struct dbp *p,
    struct script *s, int *found)
{
	struct dbres res;

	if (db_exec(db, sql, p, 1, &res, NULL, NULL) == -1)
		return -1;
	*found = res.nrows == 1;
	if (*found)
		store_row_to_script(&res, 0, 0, s);
	dbres_free(&res);
	return 0;
}

int
store_script_get(struct db *db, long long id, int for_update,
    struct script *s, int *found)
{
	static const char *sql = "SELECT " SCRIPT_COLS
	    " FROM scripts WHERE id = ?";
	static const char *sql_lock = "SELECT " SCRIPT_COLS
	    " FROM scripts WHERE id = ? FOR UPDATE";
	struct dbp p[1] = { DBP_I(id) };

	return get_one(db, for_update ? sql_lock : sql, p, s, found);
}

int
store_script_get_by_name(struct db *db, const char *name, struct script *s,
    int *found)
{
	static const char *sql = "SELECT " SCRIPT_COLS
	    " FROM scripts WHERE name = ?";
	struct dbp p[1] = { DBP_S(name) };

	return get_one(db, sql, p, s, found);
}

int
store_script_get_probe(struct db *db, long long id, const char *name,
    int max_queued, struct script *s, int *found, int *queue_full)
{
	/* Probe and insert are two statements (an INSERT ... SELECT from
	 * the same table takes InnoDB's table-level auto-increment lock and
	 * fails under concurrency), so the limit may be overshot by at most
	 * the number of API workers: a bound, still. */
	static const char *by_id = "SELECT " SCRIPT_COLS ", " QUEUE_PROBE
	    " FROM scripts WHERE id = ?";
	static const char *by_name = "SELECT " SCRIPT_COLS ", " QUEUE_PROBE
	    " FROM scripts WHERE name = ?";
	struct dbp p[2] = { DBP_I(max_queued - 1),
	    name ? DBP_S(name) : DBP_I(id) };
	struct dbres res;

	*found = *queue_full = 0;
	if (db_exec(db, name ? by_name : by_id, p, 2, &res, NULL,
	    NULL) == -1)
		return -1;
	*found = res.nrows == 1;
	if (*found) {
		store_row_to_script(&res, 0, 0, s);
		*queue_full = dbres_get(&res, 0, SCRIPT_NCOLS) != NULL;
	}
	dbres_free(&res);
	return 0;
}

/*
 * One statement for every combination of filters: a NULL parameter turns
 * its condition off, so the statement is prepared once. `like` is already
 * a LIKE pattern with '!' as its escape character; the comparison is
 * case-insensitive (LOWER on both sides: the columns use a binary
 * collation; the parameter arrives as a binary string, which LOWER
 * leaves alone unless it is converted first).
 */
int
store_script_list(struct db *db, const char *type, int enabled,
    const char *like, void (*fn)(void *arg, const struct script *s),
    void *arg)
{
	static const char *sql = "SELECT " SCRIPT_COLS " FROM scripts"
	    " WHERE (? IS NULL OR type = ?)"
	    " AND (? IS NULL OR enabled = ?)"
	    " AND (? IS NULL"
	    "  OR LOWER(name) LIKE LOWER(CONVERT(? USING utf8mb4)) ESCAPE '!'"
	    "  OR LOWER(description) LIKE LOWER(CONVERT(? USING utf8mb4))"
	    "  ESCAPE '!')"
	    " ORDER BY name";
	struct dbp en = enabled < 0 ? DBP_NUL : DBP_I(enabled);
	struct dbp p[7] = { DBP_S(type), DBP_S(type), en, en, DBP_S(like),
	    DBP_S(like), DBP_S(like) };
	struct dbres res;
	struct script s;

	if (db_exec(db, sql, p, 7, &res, NULL, NULL) == -1)
		return -1;
	for (size_t i = 0; i < res.nrows; i++) {
		store_row_to_script(&res, i, 0, &s);
		fn(arg, &s);
		script_free(&s);
	}
	dbres_free(&res);
	return 0;
}

int
store_script_insert(struct db *db, const struct script *s, long long *id)
{
	static const char *sql = "INSERT INTO scripts (name, type, path, "
	    "description, enabled, version, requirements, args, input_mode, "
	    "inputs, outputs, env, timeout_s, max_concurrency, secret_env, "
	    "created_at, updated_at, `limits`, network, node_labels, "
	    "callback_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), ?, ?, ?, ?)";
	struct dbp p[19] = { DBP_S(s->name), DBP_S(s->type), DBP_S(s->path),
	    DBP_S(s->description), DBP_I(s->enabled ? 1 : 0),
	    DBP_S(s->version), DBP_S(s->requirements), DBP_S(s->args_json),
	    DBP_S(s->input_mode), DBP_S(s->inputs_json),
	    DBP_S(s->outputs_json), DBP_S(s->env_json), DBP_I(s->timeout_s),
	    s->max_concurrency > 0 ? DBP_I(s->max_concurrency) : DBP_NUL,
	    DBP_S(s->secret_env_json), DBP_S(s->limits_json),
	    DBP_S(s->network[0] != '\0' ? s->network : "host"),
	    DBP_S(s->node_labels), DBP_S(s->callback_url) };
	unsigned long long newid;

	if (db_exec(db, sql, p, 19, NULL, NULL, &newid) == -1)
		return -1;
	*id = (long long)newid;
	return 0;
}

int
store_script_update(struct db *db, const struct script *s)
{
	static const char *sql = "UPDATE scripts SET name = ?, type = ?, "
	    "path = ?, description = ?, enabled = ?, version = ?, "
	    "requirements = ?, args = ?, input_mode = ?, inputs = ?, "
	    "outputs = ?, env = ?, timeout_s = ?, max_concurrency = ?, "
	    "secret_env = ?, `limits` = ?, network = ?, node_labels = ?, "
	    "callback_url = ?, "
	    "updated_at = UTC_TIMESTAMP(3) WHERE id = ?";
	struct dbp p[20] = { DBP_S(s->name), DBP_S(s->type), DBP_S(s->path),
	    DBP_S(s->description), DBP_I(s->enabled ? 1 : 0),
	    DBP_S(s->version), DBP_S(s->requirements), DBP_S(s->args_json),
	    DBP_S(s->input_mode), DBP_S(s->inputs_json),
	    DBP_S(s->outputs_json), DBP_S(s->env_json), DBP_I(s->timeout_s),
	    s->max_concurrency > 0 ? DBP_I(s->max_concurrency) : DBP_NUL,
	    DBP_S(s->secret_env_json), DBP_S(s->limits_json),
	    DBP_S(s->network[0] != '\0' ? s->network : "host"),
	    DBP_S(s->node_labels), DBP_S(s->callback_url), DBP_I(s->id) };

	return db_exec(db, sql, p, 20, NULL, NULL, NULL);
}

/*
 * Compare-and-set: two workers that notice the same change on disk at
 * once both compute the new version, but only the one whose UPDATE still
 * sees the old value records it in the history.
 */
int
store_script_set_version(struct db *db, long long id, const char *oldv,
    const char *newv, int *changed)
{
	static const char *sql = "UPDATE scripts SET version = ?, "
	    "updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND version = ?";
	struct dbp p[3] = { DBP_S(newv), DBP_I(id), DBP_S(oldv) };
	unsigned long long n = 0;

	if (db_exec(db, sql, p, 3, NULL, &n, NULL) == -1)
		return -1;
	*changed = n > 0;
	return 0;
}

int
store_script_version_add(struct db *db, long long id, const char *version)
{
	static const char *sql = "INSERT INTO script_versions (script_id, "
	    "version, recorded_at) VALUES (?, ?, UTC_TIMESTAMP(3))";
	struct dbp p[2] = { DBP_I(id), DBP_S(version) };

	return db_exec(db, sql, p, 2, NULL, NULL, NULL);
}

int
store_script_versions(struct db *db, long long id,
    void (*fn)(void *arg, const char *version, const char *recorded_at),
    void *arg)
{
	static const char *sql = "SELECT version, recorded_at FROM "
	    "script_versions WHERE script_id = ? ORDER BY id DESC";
	struct dbp p[1] = { DBP_I(id) };
	struct dbres res;
	char at[32];

	if (db_exec(db, sql, p, 1, &res, NULL, NULL) == -1)
		return -1;
	for (size_t i = 0; i < res.nrows; i++) {
		clock_db_to_rfc3339(dbres_get(&res, i, 1), at, sizeof(at));
		fn(arg, dbres_get(&res, i, 0), at);
	}
	dbres_free(&res);
	return 0;
}

/*
 * Deletes the script (its history goes with it: ON DELETE CASCADE) and
 * ends its executions that never started. Running ones are left to their
 * runner: they hold everything they need. Call inside a transaction.
 */
int
store_script_delete(struct db *db, long long id, int *found,
    long long *canceled)
{
	static const char *cancel = "UPDATE executions SET status = "
	    "'canceled', error = 'the script was deleted', finished_at = "
	    "UTC_TIMESTAMP(3) WHERE script_id = ? AND status = 'queued'";
	static const char *del = "DELETE FROM scripts WHERE id = ?";
	struct dbp p[1] = { DBP_I(id) };
	unsigned long long n = 0, d = 0;

	if (db_exec(db, cancel, p, 1, NULL, &n, NULL) == -1)
		return -1;
	if (db_exec(db, del, p, 1, NULL, &d, NULL) == -1)
		return -1;
	*canceled = (long long)n;
	*found = d > 0;
	return 0;
}
