/*
 * janitor.c - periodic upkeep of the execution table, in its own process
 * so that the master never waits on the database.
 *
 * Every heartbeat interval: executions whose runner stopped sending
 * heartbeats are marked lost (any node's janitor may do it; the update is
 * conditional, so two janitors cannot both claim one), except within a
 * heartbeat timeout after this janitor found the database unreachable. Every minute: a
 * batch of at most 500 executions past the retention period is deleted,
 * repeated while batches come back full, so no long lock is ever held;
 * the venvs of this node beyond the cache bounds are evicted (venv.c);
 * and, every heartbeat timeout, work dirs that runners which died left
 * behind are removed. Every heartbeat interval, Idempotency-Keys older
 * than 24 h are forgotten, and expired browser sessions deleted, in
 * batches of 500 as retention deletes.
 *
 * And first, every heartbeat interval, the node's own heartbeat: its row
 * in the nodes table (nodes.h), and how many other nodes are up, left in
 * shm->peers_up for the runners (dispatch.h, "watching"). Every minute,
 * nodes not seen for NODES_FORGET_DAYS are forgotten; on a clean stop
 * of the daemon (not a reload) the node's row records it.
 */
#include "config.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "dispatch.h"
#include "idempotency.h"
#include "log.h"
#include "metrics.h"
#include "nodes.h"
#include "sandbox.h"
#include "sender.h"
#include "shm.h"
#include "store.h"
#include "venv.h"
#include "janitor.h"

static volatile sig_atomic_t stopping;

/* A node down this long leaves the nodes table (and the API's list). */
#define NODES_FORGET_DAYS 7

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* This node's heartbeat, and the others' count for the runners. */
static void
node_beat(const struct conf *c, struct db *db, struct shm *shm)
{
	int peers = 0;

	if (nodes_beat(db, c, shm, &peers) == -1) {
		if (db_error(db) != DB_EUNAVAIL)
			log_warnx("node heartbeat: %s", db_errmsg(db));
		return;
	}
	int was = atomic_exchange(&shm->peers_up, peers);
	if (was == peers)
		return;
	log_info("%d other node%s up", peers, peers == 1 ? "" : "s");
	/* The first other node: an idle runner, asleep for a whole poll
	 * interval, starts watching the queue now. */
	if (was == 0)
		dispatch_wake_one(shm);
}

static void
nodes_prune(struct db *db)
{
	int n = 0;

	if (nodes_forget(db, NODES_FORGET_DAYS, &n) == -1 &&
	    db_error(db) != DB_EUNAVAIL)
		log_warnx("nodes: %s", db_errmsg(db));
	if (n > 0)
		log_info("nodes: forgot %d node%s not seen for %d days", n,
		    n == 1 ? "" : "s", NODES_FORGET_DAYS);
}

static void
sweep_lost(const struct conf *c, struct db *db, struct shm *shm)
{
	int n = 0;

	/* Those marked before a failure count all the same. */
	if (store_execution_mark_lost(db, c->heartbeat_timeout_s, &n) == -1 &&
	    db_error(db) != DB_EUNAVAIL)
		log_warnx("lost sweep: %s", db_errmsg(db));
	for (int i = 0; i < n; i++)
		metrics_execution(shm, "lost", -1, -1);
	/* Those with a callback_url got their delivery with the update. */
	if (n > 0)
		sender_notify(shm);
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

/*
 * Work dirs left behind: a runner removes its run's work dir before it
 * records the result, so a dir whose execution is final (or gone) was
 * left by a runner that died mid-run. Only this node's work base is
 * looked at, and only names a runner makes ("<id>-XXXXXX"); a queued or
 * running execution's dir is never touched (a runner may make it just
 * before its claim makes the row "running"). A runner's spare work dir
 * and its last run's, moved out of the way (".next-<pid>-...",
 * ".gone-<pid>-...", sandbox.h), go once that runner is gone.
 */
static void
workdir_sweep(const struct conf *c, struct db *db)
{
	char status[16], err[512];
	struct buf path = BUF_INIT;
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (c->keep_workdirs || c->work_dir == NULL ||
	    (d = opendir(c->work_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && !stopping) {
		char *end;
		long long id = strtoll(de->d_name, &end, 10);

		if (sandbox_workdir_stale(de->d_name)) {
			buf_reset(&path);
			buf_printf(&path, "%s/%s", c->work_dir, de->d_name);
			if (sandbox_workdir_remove(buf_str(&path), err,
			    sizeof(err)) == -1)
				log_warnx("work dir sweep: %s", err);
			else
				n++;
			continue;
		}
		if (id <= 0 || *end != '-' || strlen(end) != 7)
			continue;
		if (store_execution_status(db, id, status) == -1) {
			if (db_error(db) != DB_EUNAVAIL)
				log_warnx("work dir sweep: %s", db_errmsg(db));
			break;
		}
		if (strcmp(status, "queued") == 0 ||
		    strcmp(status, "running") == 0)
			continue;
		buf_reset(&path);
		buf_printf(&path, "%s/%s", c->work_dir, de->d_name);
		if (sandbox_workdir_remove(buf_str(&path), err,
		    sizeof(err)) == -1)
			log_warnx("work dir sweep: %s", err);
		else
			n++;
	}
	closedir(d);
	buf_free(&path);
	if (n > 0)
		log_info("work dir sweep: removed %d work dir%s of finished "
		    "runs", n, n == 1 ? "" : "s");
}

/* Rows a batched DELETE takes at once; a pause between full batches
 * leaves room for other writers. */
#define BATCH 500

/* One batched DELETE: 0 with *deleted, or -1 (db_error says why). */
typedef int (*batch_fn)(struct db *db, const struct conf *c,
    long long *deleted);

/*
 * Runs `fn` until a batch comes back short (or the janitor is asked to
 * stop). Returns the rows deleted, or -1 after a failure, which is
 * logged with `what` unless the database is just unreachable (the next
 * tick tries again).
 */
static long long
delete_in_batches(struct db *db, const struct conf *c, const char *what,
    batch_fn fn)
{
	long long deleted, total = 0;

	do {
		if (fn(db, c, &deleted) == -1) {
			if (db_error(db) != DB_EUNAVAIL)
				log_warnx("%s: %s", what, db_errmsg(db));
			return -1;
		}
		total += deleted;
		if (deleted == BATCH)
			usleep(50 * 1000);
	} while (deleted == BATCH && !stopping);
	return total;
}

static int
old_executions(struct db *db, const struct conf *c, long long *deleted)
{
	return store_execution_delete_old(db, c->retention_days, BATCH,
	    deleted);
}

/*
 * Idempotency-Keys past their 24 h, which execution.c no longer answers
 * from. Every tick rather than once a minute with retention: the DELETE
 * walks the created_at index from its start, so a tick with nothing to
 * forget costs one index probe, and the table holds a day of keys and
 * not more.
 */
static int
old_keys(struct db *db, const struct conf *c, long long *deleted)
{
	(void)c;
	return store_idem_forget_old(db, IDEM_TTL_S, BATCH, deleted);
}

/* Browser sessions past their expiry (session.h): no lookup finds them
 * any more; this keeps the table to the sessions that are open. */
static int
expired_sessions(struct db *db, const struct conf *c, long long *deleted)
{
	(void)c;
	return store_session_delete_expired(db, BATCH, deleted);
}

/* Callback deliveries by their own age, as many days as executions; a
 * pending one stays until its sender ends it (callback_max_age_s). */
static int
old_deliveries(struct db *db, const struct conf *c, long long *deleted)
{
	return store_delivery_delete_old(db, c->retention_days, BATCH,
	    deleted);
}

static void
retention(const struct conf *c, struct db *db)
{
	long long n;

	if (c->retention_days == 0)
		return;
	if ((n = delete_in_batches(db, c, "retention", old_executions)) > 0)
		log_info("retention: deleted %lld executions older than %d days",
		    n, c->retention_days);
	if ((n = delete_in_batches(db, c, "retention", old_deliveries)) > 0)
		log_info("retention: deleted %lld callback deliveries older "
		    "than %d days", n, c->retention_days);
}

static void
forget_keys(const struct conf *c, struct db *db)
{
	long long n;

	if ((n = delete_in_batches(db, c, "idempotency keys", old_keys)) > 0)
		log_info("idempotency keys: forgot %lld key%s older than 24 h",
		    n, n == 1 ? "" : "s");
}

static void
forget_sessions(const struct conf *c, struct db *db)
{
	long long n;

	if ((n = delete_in_batches(db, c, "sessions", expired_sessions)) > 0)
		log_debug("sessions: deleted %lld expired session%s", n,
		    n == 1 ? "" : "s");
}

void
janitor_main(const struct conf *c, struct shm *shm)
{
	struct sigaction sa;
	struct db *db = db_new(c);
	double last_retention = 0, last_workdirs = 0, last_outage = -1e18;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	while (!stopping) {
		if (db_begin(db) == -1) {
			last_outage = clock_mono_ms();
		} else {
			node_beat(c, db, shm);
			/* While the database was away no runner could send a
			 * heartbeat: give them a whole timeout after it comes
			 * back to record their results before any run is
			 * taken for lost (a finished run was marked lost by the
			 * first sweep after an outage longer than the
			 * timeout, racing its runner's retry). */
			if (clock_mono_ms() - last_outage >
			    c->heartbeat_timeout_s * 1000.0)
				sweep_lost(c, db, shm);
			venv_interrupted(c, db);
			forget_keys(c, db);
			forget_sessions(c, db);
			double now = clock_mono_ms();
			/* A dir can be left behind only by a run marked lost,
			 * which takes heartbeat_timeout_s: look as often. */
			if (now - last_workdirs > c->heartbeat_timeout_s * 1000.0) {
				workdir_sweep(c, db);
				last_workdirs = now;
			}
			if (now - last_retention > 60000) {
				retention(c, db);
				venv_bounds(c, db);
				nodes_prune(db);
				last_retention = now;
			}
		}
		/* sleep() returns early when SIGTERM arrives. */
		sleep((unsigned int)c->heartbeat_interval_s);
	}
	if (atomic_load(&shm->node_stopping) && (db_begin(db) == -1 ||
	    nodes_stopped(db, c) == -1))
		log_warnx("cannot record the node's stop: %s", db_errmsg(db));
	db_close(db);
	_exit(0);
}
