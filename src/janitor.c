/*
 * janitor.c - periodic upkeep of the execution table, in its own process
 * so that the master never waits on the database.
 *
 * Every heartbeat interval: executions whose runner stopped sending
 * heartbeats are marked lost (any node's janitor may do it; the update is
 * conditional, so two janitors cannot both claim one). Every minute: a
 * batch of at most 500 executions past the retention period is deleted,
 * repeated while batches come back full, so no long lock is ever held;
 * and the venvs of this node beyond the cache bounds are evicted (venv.c).
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "shm.h"
#include "store.h"
#include "venv.h"
#include "janitor.h"

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
sweep_lost(const struct conf *c, struct db *db, struct shm *shm)
{
	int n = 0;

	/* Those marked before a failure count all the same. */
	if (store_exec_mark_lost(db, c->heartbeat_timeout_s, &n) == -1 &&
	    db_error(db) != DB_EUNAVAIL)
		log_warnx("lost sweep: %s", db_errmsg(db));
	for (int i = 0; i < n; i++)
		metrics_execution(shm, "lost", -1, -1);
	if (n > 0)
		log_warnx("%d execution%s marked lost (no heartbeat for %d s)",
		    n, n == 1 ? "" : "s", c->heartbeat_timeout_s);
}

/* The venv cache bounds of this node (max_cache_bytes, max_age_days). */
static void
venv_bounds(const struct conf *c, struct db *db)
{
	int n = 0;

	if (venv_prune(db, c, &n) == -1 && db_error(db) != DB_EUNAVAIL)
		log_warnx("venv eviction: %s", db_errmsg(db));
	if (n > 0)
		log_info("venv eviction: %d venv%s removed", n,
		    n == 1 ? "" : "s");
}

/* Builds left `building` by a killed process, on this node. */
static void
venv_interrupted(const struct conf *c, struct db *db)
{
	int n = 0;

	if (venv_sweep_interrupted(db, c, &n) == -1 &&
	    db_error(db) != DB_EUNAVAIL)
		log_warnx("interrupted venv builds: %s", db_errmsg(db));
	if (n > 0)
		log_warnx("%d venv build%s interrupted (the process building "
		    "stopped); the next run builds again", n, n == 1 ? " was" :
		    "s were");
}

static void
retention(const struct conf *c, struct db *db)
{
	long long deleted, total = 0;

	if (c->retention_days == 0)
		return;
	do {
		if (store_exec_delete_old(db, c->retention_days, 500,
		    &deleted) == -1) {
			if (db_error(db) != DB_EUNAVAIL)
				log_warnx("retention: %s", db_errmsg(db));
			return;
		}
		total += deleted;
		/* Leave room for other writers between batches. */
		if (deleted == 500)
			usleep(50 * 1000);
	} while (deleted == 500 && !stopping);
	if (total > 0)
		log_info("retention: deleted %lld executions older than %d days",
		    total, c->retention_days);
}

void
janitor_main(const struct conf *c, struct shm *shm)
{
	struct sigaction sa;
	struct db *db = db_new(c);
	double last_retention = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	while (!stopping) {
		if (db_begin(db) == 0) {
			sweep_lost(c, db, shm);
			venv_interrupted(c, db);
			double now = clock_mono_ms();
			if (now - last_retention > 60000) {
				retention(c, db);
				venv_bounds(c, db);
				last_retention = now;
			}
		}
		/* sleep() returns early when SIGTERM arrives. */
		sleep((unsigned int)c->heartbeat_interval_s);
	}
	db_close(db);
	_exit(0);
}
