/*
 * store_migrate.c - applies sql/NNN_name.sql files in order, once each.
 *
 * The applied versions are recorded in schema_migrations; a named lock
 * keeps two `scriptorchd migrate` runs (two nodes starting together) from
 * applying the same file twice.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "fsutil.h"
#include "log.h"
#include "store.h"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists "NNN_*.sql" names in dir, sorted. Caller frees names and array. */
static int
list_migrations(const char *dir, char ***names, size_t *n, char *err,
    size_t errlen)
{
	DIR *d;
	struct dirent *e;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "cannot open migrations directory \"%s\": "
		    "%s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 8 || strspn(e->d_name, "0123456789") != 3 ||
		    e->d_name[3] != '_' || strcmp(e->d_name + len - 4, ".sql"))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*names = realloc(*names, cap * sizeof(**names));
			if (*names == NULL)
				fatal("realloc");
		}
		if (((*names)[(*n)++] = strdup(e->d_name)) == NULL)
			fatal("strdup");
	}
	closedir(d);
	qsort(*names, *n, sizeof(**names), cmp_str);
	return 0;
}

int
store_migrate(struct db *db, const char *dir, int *applied, char *err,
    size_t errlen)
{
	static const char *lock = "SELECT GET_LOCK('scriptorch_migrate', 60)";
	static const char *unlock = "SELECT RELEASE_LOCK('scriptorch_migrate')";
	static const char *seen = "SELECT 1 FROM schema_migrations "
	    "WHERE version = ?";
	static const char *record = "INSERT INTO schema_migrations "
	    "(version, name, applied_at) VALUES (?, ?, UTC_TIMESTAMP(3))";
	char **names = NULL;
	size_t n = 0;
	struct dbres res;
	int rc = -1, locked = 0;

	*applied = 0;
	if (list_migrations(dir, &names, &n, err, errlen) == -1)
		return -1;
	if (db_exec_script(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version INT UNSIGNED NOT NULL PRIMARY KEY, "
	    "name VARCHAR(255) NOT NULL, applied_at DATETIME(3) NOT NULL"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4") == -1)
		goto dberr;
	if (db_exec(db, lock, NULL, 0, &res, NULL, NULL) == -1)
		goto dberr;
	locked = res.nrows == 1 && dbres_get(&res, 0, 0) &&
	    strcmp(dbres_get(&res, 0, 0), "1") == 0;
	dbres_free(&res);
	if (!locked) {
		snprintf(err, errlen, "another migration holds the lock");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		long version = strtol(names[i], NULL, 10);
		struct dbp p[2] = { DBP_I(version), DBP_S(names[i]) };
		struct buf path = BUF_INIT, sql = BUF_INIT;
		int done;

		if (db_exec(db, seen, p, 1, &res, NULL, NULL) == -1)
			goto dberr;
		done = res.nrows > 0;
		dbres_free(&res);
		if (done)
			continue;
		buf_printf(&path, "%s/%s", dir, names[i]);
		if (fs_read_file(buf_str(&path), 16 << 20, &sql, err,
		    errlen) == -1) {
			buf_free(&path);
			goto out;
		}
		log_info("applying migration \"%s\"", names[i]);
		if (db_exec_script(db, buf_str(&sql)) == -1) {
			snprintf(err, errlen, "migration \"%s\" failed: %s",
			    names[i], db_errmsg(db));
			buf_free(&path);
			buf_free(&sql);
			goto out;
		}
		buf_free(&path);
		buf_free(&sql);
		if (db_exec(db, record, p, 2, NULL, NULL, NULL) == -1)
			goto dberr;
		(*applied)++;
	}
	rc = 0;
	goto out;
dberr:
	snprintf(err, errlen, "%s", db_errmsg(db));
out:
	if (locked && db_exec(db, unlock, NULL, 0, &res, NULL, NULL) == 0)
		dbres_free(&res);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
