/*
 * store_venvs.c - SQL for the venvs table (sql/005_venvs.sql).
 *
 * One row per venv key, shared by all nodes: it tells the outcome of the
 * last build anywhere, keeps that build's log, and the last use that the
 * eviction orders by. Whether a venv is usable on a node is decided by
 * its directory on that node (venv.c), never by this row alone.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "store.h"

void
venv_rec_free(struct venv_rec *v)
{
	free(v->requirements);
	free(v->error);
	free(v->build_log);
	v->requirements = v->error = v->build_log = NULL;
}

/* Positions of the columns in VENV_COLS, then build_log or NULL. */
enum { VC_ID, VC_KEY, VC_PYTHON, VC_STATUS, VC_REQS, VC_SIZE, VC_CREATED,
	VC_USED, VC_SECS, VC_FAILED, VC_ERROR, VC_NODE, VC_IDLE, VC_FAGE,
	VC_LOG };

#define VENV_COLS "id, vkey, python, status, requirements, size_bytes, " \
	"created_at, last_used_at, build_seconds, failed_at, error, node, " \
	"TIMESTAMPDIFF(SECOND, COALESCE(last_used_at, created_at), " \
	"UTC_TIMESTAMP(3)), TIMESTAMPDIFF(SECOND, failed_at, UTC_TIMESTAMP(3))"

static char *
dup_cell(const struct dbres *res, size_t i, int col)
{
	const char *v = dbres_get(res, i, (size_t)col);
	char *d;

	if (v == NULL)
		return NULL;
	if ((d = strdup(v)) == NULL)
		abort();
	return d;
}

static void
row_to_venv(const struct dbres *res, size_t i, struct venv_rec *v)
{
	const char *x;

	memset(v, 0, sizeof(*v));
	v->id = strtoll(dbres_get(res, i, VC_ID), NULL, 10);
	snprintf(v->key, sizeof(v->key), "%s", dbres_get(res, i, VC_KEY));
	snprintf(v->python, sizeof(v->python), "%s",
	    dbres_get(res, i, VC_PYTHON));
	snprintf(v->status, sizeof(v->status), "%s",
	    dbres_get(res, i, VC_STATUS));
	v->requirements = dup_cell(res, i, VC_REQS);
	x = dbres_get(res, i, VC_SIZE);
	v->size_bytes = x ? strtoll(x, NULL, 10) : -1;
	clock_db_to_rfc3339(dbres_get(res, i, VC_CREATED), v->created_at,
	    sizeof(v->created_at));
	if ((x = dbres_get(res, i, VC_USED)) != NULL)
		clock_db_to_rfc3339(x, v->last_used_at, sizeof(v->last_used_at));
	x = dbres_get(res, i, VC_SECS);
	v->build_seconds = x ? strtod(x, NULL) : -1;
	if ((x = dbres_get(res, i, VC_FAILED)) != NULL)
		clock_db_to_rfc3339(x, v->failed_at, sizeof(v->failed_at));
	v->error = dup_cell(res, i, VC_ERROR);
	if ((x = dbres_get(res, i, VC_NODE)) != NULL)
		snprintf(v->node, sizeof(v->node), "%s", x);
	x = dbres_get(res, i, VC_IDLE);
	v->idle_s = x ? strtoll(x, NULL, 10) : 0;
	x = dbres_get(res, i, VC_FAGE);
	v->failed_age_s = x ? strtoll(x, NULL, 10) : -1;
	v->build_log = dup_cell(res, i, VC_LOG);
}

static int
get_one(struct db *db, const char *sql, struct dbp *p, struct venv_rec *v,
    int *found)
{
	struct dbres res;

	if (db_exec(db, sql, p, 1, &res, NULL, NULL) == -1)
		return -1;
	*found = res.nrows == 1;
	if (*found)
		row_to_venv(&res, 0, v);
	dbres_free(&res);
	return 0;
}

int
store_venv_by_key(struct db *db, const char *key, int with_log,
    struct venv_rec *v, int *found)
{
	static const char *sql = "SELECT " VENV_COLS ", NULL FROM venvs "
	    "WHERE vkey = ?";
	static const char *sql_log = "SELECT " VENV_COLS ", build_log FROM "
	    "venvs WHERE vkey = ?";
	struct dbp p[1] = { DBP_S(key) };

	return get_one(db, with_log ? sql_log : sql, p, v, found);
}

int
store_venv_by_id(struct db *db, long long id, int with_log,
    struct venv_rec *v, int *found)
{
	static const char *sql = "SELECT " VENV_COLS ", NULL FROM venvs "
	    "WHERE id = ?";
	static const char *sql_log = "SELECT " VENV_COLS ", build_log FROM "
	    "venvs WHERE id = ?";
	struct dbp p[1] = { DBP_I(id) };

	return get_one(db, with_log ? sql_log : sql, p, v, found);
}

static int
each_row(struct db *db, const char *sql, const struct dbp *p, size_t np,
    void (*fn)(void *arg, const struct venv_rec *v), void *arg)
{
	struct dbres res;
	struct venv_rec v;

	if (db_exec(db, sql, p, np, &res, NULL, NULL) == -1)
		return -1;
	for (size_t i = 0; i < res.nrows; i++) {
		row_to_venv(&res, i, &v);
		fn(arg, &v);
		venv_rec_free(&v);
	}
	dbres_free(&res);
	return 0;
}

int
store_venv_list(struct db *db,
    void (*fn)(void *arg, const struct venv_rec *v), void *arg)
{
	static const char *sql = "SELECT " VENV_COLS ", NULL FROM venvs "
	    "ORDER BY id";

	return each_row(db, sql, NULL, 0, fn, arg);
}

int
store_venv_lru(struct db *db,
    void (*fn)(void *arg, const struct venv_rec *v), void *arg)
{
	static const char *sql = "SELECT " VENV_COLS ", NULL FROM venvs "
	    "WHERE status = 'ready' "
	    "ORDER BY COALESCE(last_used_at, created_at), id";

	return each_row(db, sql, NULL, 0, fn, arg);
}

int
store_venv_building_on(struct db *db, const char *node,
    void (*fn)(void *arg, const struct venv_rec *v), void *arg)
{
	static const char *sql = "SELECT " VENV_COLS ", NULL FROM venvs "
	    "WHERE status = 'building' AND node = ? ORDER BY id";
	struct dbp p[1] = { DBP_S(node) };

	return each_row(db, sql, p, 1, fn, arg);
}

int
store_venv_interrupted(struct db *db, const char *key, const char *error)
{
	static const char *sql = "UPDATE venvs SET status = 'failed', "
	    "size_bytes = NULL, failed_at = NULL, error = ? "
	    "WHERE vkey = ? AND status = 'building'";
	struct dbp p[2] = { DBP_S(error), DBP_S(key) };

	return db_exec(db, sql, p, 2, NULL, NULL, NULL);
}

int
store_venv_building(struct db *db, const char *key, const char *python,
    const char *requirements, const char *node)
{
	/* created_at is the row's until the build succeeds; a rebuild after
	 * a failure or a crash keeps the failure visible until it ends. */
	static const char *sql = "INSERT INTO venvs (vkey, python, "
	    "requirements, status, created_at, node) VALUES (?, ?, ?, "
	    "'building', UTC_TIMESTAMP(3), ?) ON DUPLICATE KEY UPDATE "
	    "status = 'building', python = VALUES(python), "
	    "requirements = VALUES(requirements), node = VALUES(node)";
	struct dbp p[4] = { DBP_S(key), DBP_S(python), DBP_S(requirements),
	    DBP_S(node) };

	return db_exec(db, sql, p, 4, NULL, NULL, NULL);
}

int
store_venv_ready(struct db *db, const char *key, long long size_bytes,
    double seconds, const char *log)
{
	static const char *sql = "UPDATE venvs SET status = 'ready', "
	    "size_bytes = ?, build_seconds = ?, build_log = ?, "
	    "created_at = UTC_TIMESTAMP(3), last_used_at = UTC_TIMESTAMP(3), "
	    "failed_at = NULL, error = NULL WHERE vkey = ?";
	struct dbp p[4] = { DBP_I(size_bytes), DBP_D(seconds), DBP_S(log),
	    DBP_S(key) };

	return db_exec(db, sql, p, 4, NULL, NULL, NULL);
}

int
store_venv_failed(struct db *db, const char *key, double seconds,
    const char *log, const char *error)
{
	static const char *sql = "UPDATE venvs SET status = 'failed', "
	    "size_bytes = NULL, build_seconds = ?, build_log = ?, "
	    "failed_at = UTC_TIMESTAMP(3), error = ? WHERE vkey = ?";
	struct dbp p[4] = { DBP_D(seconds), DBP_S(log), DBP_S(error),
	    DBP_S(key) };

	return db_exec(db, sql, p, 4, NULL, NULL, NULL);
}

int
store_venv_touch(struct db *db, const char *key)
{
	/* Conditional, so a busy venv costs one cheap no-op per run and a
	 * row write at most once a minute. */
	static const char *sql = "UPDATE venvs SET last_used_at = "
	    "UTC_TIMESTAMP(3) WHERE vkey = ? AND (last_used_at IS NULL OR "
	    "last_used_at < UTC_TIMESTAMP(3) - INTERVAL 60 SECOND)";
	struct dbp p[1] = { DBP_S(key) };

	return db_exec(db, sql, p, 1, NULL, NULL, NULL);
}

int
store_venv_delete(struct db *db, long long id, int *found)
{
	static const char *sql = "DELETE FROM venvs WHERE id = ?";
	struct dbp p[1] = { DBP_I(id) };
	unsigned long long affected = 0;

	if (db_exec(db, sql, p, 1, NULL, &affected, NULL) == -1)
		return -1;
	*found = affected > 0;
	return 0;
}

int
store_venv_python_scripts(struct db *db,
    void (*fn)(void *arg, long long id, const char *requirements), void *arg)
{
	static const char *sql = "SELECT id, requirements FROM scripts "
	    "WHERE type = 'python' ORDER BY id";
	struct dbres res;

	if (db_exec(db, sql, NULL, 0, &res, NULL, NULL) == -1)
		return -1;
	for (size_t i = 0; i < res.nrows; i++)
		fn(arg, strtoll(dbres_get(&res, i, 0), NULL, 10),
		    dbres_get(&res, i, 1));
	dbres_free(&res);
	return 0;
}
