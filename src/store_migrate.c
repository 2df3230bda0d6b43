/*
 * store_migrate.c - applies sql/NNN_name.sql files in order, once each.
 *
 * The applied versions are recorded in schema_migrations; a lease (one row
 * of migration_lease, taken by a conditional UPDATE) keeps two
 * `scriptorchd migrate` runs (two nodes starting together) from applying
 * the same file twice. Not GET_LOCK: MariaDB Galera does not replicate
 * named locks, so two nodes of a cluster would both get it. A lease whose
 * holder died runs out after LEASE_S and is taken over.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* How long a lease holds without renewal (each file renews it), and how
 * long a second run waits for it. */
#define LEASE_S 300
#define LEASE_WAIT_S 60
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *lease_take = "UPDATE migration_lease SET holder = ?, "
    "until = UTC_TIMESTAMP(3) + INTERVAL " STR(LEASE_S) " SECOND WHERE id = 1 AND "
    "(holder IS NULL OR holder = ? OR until < UTC_TIMESTAMP(3))";

/*
 * Takes (or renews) the lease for `me`, waiting up to LEASE_WAIT_S while
 * another run holds it: 1 taken, 0 not within the wait, -1 database error.
 * A deadlock (two Galera nodes updating the row at once) is a lost race:
 * tried again like a held lease.
 */
static int
lease_get(struct db *db, const char *me)
{
	struct dbp p[2] = { DBP_S(me), DBP_S(me) };
	unsigned long long affected;

	for (int i = 0; i < LEASE_WAIT_S * 5; i++) {
		if (db_exec(db, lease_take, p, 2, NULL, &affected, NULL) == -1) {
			if (db_error(db) != DB_EDEADLOCK)
				return -1;
		} else if (affected == 1) {
			return 1;
		}
		usleep(200 * 1000);
	}
	return 0;
}

int
store_migrate(struct db *db, const char *dir, int *applied, char *err,
    size_t errlen)
{
	static const char *unlock = "UPDATE migration_lease SET holder = NULL, "
	    "until = NULL WHERE id = 1 AND holder = ?";
	static const char *seen = "SELECT 1 FROM schema_migrations "
	    "WHERE version = ?";
	static const char *record = "INSERT INTO schema_migrations "
	    "(version, name, applied_at) VALUES (?, ?, UTC_TIMESTAMP(3))";
	char **names = NULL;
	size_t n = 0;
	struct dbres res;
	int rc = -1, locked = 0;
	char me[300], host[256];

	*applied = 0;
	if (list_migrations(dir, &names, &n, err, errlen) == -1)
		return -1;
	if (db_exec_script(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version INT UNSIGNED NOT NULL PRIMARY KEY, "
	    "name VARCHAR(255) NOT NULL, applied_at DATETIME(3) NOT NULL"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4") == -1)
		goto dberr;
	if (db_exec_script(db, "CREATE TABLE IF NOT EXISTS migration_lease ("
	    "id TINYINT UNSIGNED NOT NULL PRIMARY KEY, "
	    "holder VARCHAR(300) NULL, until DATETIME(3) NULL"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4; "
	    "INSERT IGNORE INTO migration_lease (id) VALUES (1)") == -1)
		goto dberr;
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	snprintf(me, sizeof(me), "%s:%ld", host, (long)getpid());
	if ((locked = lease_get(db, me)) == -1)
		goto dberr;
	if (!locked) {
		snprintf(err, errlen, "another migration has held the lease "
		    "(table migration_lease) for over %d s", LEASE_WAIT_S);
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
		/* Renewed before each file: a long migration keeps it. */
		switch (lease_get(db, me)) {
		case -1:
			goto dberr;
		case 0:
			snprintf(err, errlen, "the migration lease ran out and "
			    "another run holds it now");
			locked = 0;
			goto out;
		}
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
	if (locked == 1) {
		const char *holder = me;
		struct dbp pu[1] = { DBP_S(holder) };
		(void)db_exec(db, unlock, pu, 1, NULL, NULL, NULL);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
