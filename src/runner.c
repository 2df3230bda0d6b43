/*
 * runner.c - a runner worker: claim the oldest runnable execution, run it
 * through the executor, record everything, repeat. What a run is (its
 * script and input made into the executor's spec, the executor's result
 * made into the final record) is run.c's; here: finding work, owning it
 * (the claims), the hooks that save live output and read cancels while
 * it runs, and writing the record.
 *
 * Finding work, first: an API worker that reserved this runner while it
 * was idle (execution.h, "direct assignment") puts the execution in our
 * mailbox with its input and its script's revision; a script read
 * lately comes from our cache, so nothing is read before the start. The
 * row names us: an execution that a caller waits for was inserted
 * running; any other was inserted queued, and the UPDATE that makes it
 * running is awaited after its child has started.
 * Then: an API worker that found no runner idle puts the id of an
 * execution of a script without max_concurrency in a hand-off slot;
 * runners take the smallest id first, read the row and its script in
 * one statement, and claim it by id (one UPDATE) just before its child
 * starts.
 * Everything else is found by scanning the queue (SELECT ... FOR UPDATE
 * SKIP LOCKED, honouring max_concurrency, passing over handed-off rows):
 * once per counted backlog (no free slot, a limited script queued, a
 * limited run ended, work another node queued: below) and once per poll
 * interval per node for anything else, at once again while such a poll
 * finds work (a queue left from before the node started drains at the
 * pace of the runs). Idle runners sleep on their
 * mailbox's bell (runners without one, on shm->queue_gen) with the poll
 * interval as the timeout.
 *
 * Work queued on another node reaches this one through the database
 * alone: while other nodes are up, one idle runner of the node watches
 * (dispatch.h, "watching"): every queue_probe_ms it reads the newest
 * queued id and, when that changed or the node is still finding work,
 * how many rows this node's labels allow it to claim, and counts them as
 * a backlog for the node's idle runners. Every scan and look passes over
 * executions whose node_labels this node lacks.
 *
 * A claim the database did not answer (the connection lost at its
 * commit, as when a server of a Galera cluster dies, or a deadlock) is
 * settled on a fresh connection: the row says whether it is ours.
 *
 * While a script runs, the executor calls our tick every 200 ms: once a
 * second (or at once when an API worker of this node signalled a cancel)
 * the output so far and a heartbeat are saved and the cancel flag is
 * read back in the same visit to the database.
 */
#include "config.h"

#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "capture.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "dispatch.h"
#include "exec.h"
#include "execution.h"
#include "fsutil.h"
#include "json.h"
#include "labels.h"
#include "log.h"
#include "metrics.h"
#include "registry.h"
#include "run.h"
#include "runner.h"
#include "sandbox.h"
#include "sender.h"
#include "shm.h"
#include "store.h"
#include "wake.h"

#define TICK_MS 200
#define SAVE_MS 1000.0
/* A look at the queue counts at most this many rows (runners to wake). */
#define PROBE_MAX 8
/* How long a claim in doubt is asked after (claim_settle), at most. */
#define CLAIM_SETTLE_MS 5000.0

static volatile sig_atomic_t stopping;

struct runner {
	const struct conf *c;
	struct shm *shm;
	struct db *db;
	struct sandbox sb;
	uid_t uid;              /* ours from the run uid pool */
	gid_t gid;              /* the run group: run_user's */
	int uid_lock;           /* holds uid (sandbox_uid_take) */
	pid_t pid;
	int box;                /* our mailbox (execution.h), or -1 */
	long long answer_id;    /* the box job a caller waits for, or 0 */
	struct script_memo scripts;  /* read lately, for box jobs */
	struct version_memo versions;   /* script files hashed lately */
	struct buf labels_re;   /* labels_regexp() of the node's labels */
	double last_probe;      /* when this runner last looked (watching) */
};

/* What the hooks of one run need. */
struct run_state {
	struct runner *rn;
	long long id;
	const char *version;
	const struct secret_mask *mask;  /* the run's secret values */
	double last_save;
	uint32_t cancel_seen;
	int cancel;
	double exec_ms;         /* monotonic time of the child's exec */
	int started_saved;
	int claim_pending;      /* handed off, not yet claimed (claim_now) */
	int claim_sent;         /* ... and its claim is in flight */
	int claim_late;         /* reserved for us: claimed after the start */
	int not_ours;           /* a claim failed: record nothing */
	int uncommitted;        /* its row's commit not yet told (gate_pass) */
};

/* How run_one() comes to own its execution. */
enum claim_mode {
	CLAIMED,                /* by a queue scan, or inserted running */
	CLAIM_AT_START,         /* handed off: claimed before the child starts */
	CLAIM_AFTER_START,      /* reserved for us as it was queued: nobody
	                         * else takes it, the claim only makes it
	                         * "running" and overlaps the start */
};

static int claim_now(struct run_state *st);

/*
 * An execution put in our box before its row's commit (dispatch.h,
 * dispatch_mailbox_assign_uncommitted) is prepared meanwhile; nothing of
 * it starts, and nothing is recorded for it, before the API worker tells
 * that the commit went through. Returns 1 once it did (at once for any
 * other execution), 0 when it never will: the execution is then not ours
 * (there is no row).
 */
static int
gate_pass(struct run_state *st)
{
	int r;

	if (!st->uncommitted)
		return !st->not_ours;
	while ((r = dispatch_mailbox_settled(st->rn->shm, st->rn->box, st->id,
	    100)) == -1)
		;
	st->uncommitted = 0;
	if (r == 0) {
		log_info("its row was not committed: nothing started");
		st->not_ours = 1;
	}
	return r;
}

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* The child is exec'd: note when. started_at goes to the database with
 * the first tick (or with the result, for runs shorter than a tick), so
 * a quick script waits for no extra commit. */
static void
hook_started(void *arg, pid_t pid)
{
	struct run_state *st = arg;

	(void)pid;
	st->exec_ms = clock_mono_ms();
}

static int
hook_tick(void *arg, const struct capture *out, const struct capture *err)
{
	struct run_state *st = arg;
	double now = clock_mono_ms();
	uint32_t cg = wake_read(&st->rn->shm->cancel_gen);
	struct buf o = BUF_INIT, e = BUF_INIT;
	int cancel = 0;

	/* A claim after the start ends before anything else is saved; not
	 * ours after all (it cannot happen but by a failure): stop it. */
	if (!claim_now(st))
		return 1;
	if (!st->started_saved) {
		st->started_saved = 1;
		if (store_execution_started(st->rn->db, st->id, st->version,
		    now - st->exec_ms) == -1)
			log_warnx("cannot record the start: %s",
			    db_errmsg(st->rn->db));
	}
	if (now - st->last_save < SAVE_MS && cg == st->cancel_seen)
		return st->cancel;
	st->cancel_seen = cg;
	st->last_save = now;
	/* Masked as the final record is (run_result), and more: the end of
	 * the text may cut a value still being written. */
	capture_render_masked(out, st->mask, 1, &o);
	capture_render_masked(err, st->mask, 1, &e);
	if (store_execution_progress(st->rn->db, st->id, o.data, o.len,
	    capture_truncated(out), e.data, e.len, capture_truncated(err),
	    &cancel) == -1)
		log_warnx("cannot save live output: %s", db_errmsg(st->rn->db));
	else if (cancel && !st->cancel) {
		log_info("cancel requested");
		st->cancel = 1;
	}
	buf_free(&o);
	buf_free(&e);
	return st->cancel;
}

/* Leaves the final row for the caller waiting for it, if one of this
 * node's API workers does (rn->answer_id): it then answers without
 * reading the row. */
static void
leave_answer(struct runner *rn, long long id, const struct dbres *row)
{
	struct buf out = BUF_INIT;
	struct jw w;

	jw_init(&w, &out);
	execution_write_json(&w, row, 0, 1);
	jw_free(&w);
	dispatch_mailbox_result_put(rn->shm, rn->box, id, out.data, out.len);
	buf_free(&out);
}

/* Whether the final row may fit in the waiting worker's box: its
 * captured outputs alone must (their JSON form is no shorter). A larger
 * one is not read back: the worker reads it itself. */
static int
answer_may_fit(const struct execution_final *f)
{
	return f->outlen + f->errlen + f->output_file_len +
	    (f->error ? strlen(f->error) : 0) <= MAILBOX_RESULT_MAX;
}

/* Saves the final record, retrying while the database is away (or the
 * transaction lost a deadlock, as Galera reports conflicts): a run that
 * happened is never dropped for a transient outage. Any other error is
 * not cured by waiting (a value the schema refuses, say): the record is
 * then replaced, once, by an `error` record that says why, so that the
 * execution still ends at once with its exit status and times.
 * An attempt whose answer was lost with the connection may have been
 * recorded all the same: the next one then changes nothing (the record
 * is written only over a running row), and the first stands. */
static void
finish(struct runner *rn, long long id, const struct execution_final *f,
    const struct secret_mask *mask)
{
	double give_up = clock_mono_ms() + 600000.0;
	int updated = 0, delivery = 0, warned = 0, answer = 0;
	int doubt = 0;          /* an attempt lost its connection */
	struct execution_final fallback;
	struct buf why = BUF_INIT, dberr = BUF_INIT;
	struct dbres row;

	memset(&row, 0, sizeof(row));
	for (;;) {
		answer = rn->answer_id == id && answer_may_fit(f);
		if (db_begin(rn->db) == 0 &&
		    store_execution_finish(rn->db, id, f, &updated, &delivery,
		    answer ? &row : NULL) == 0)
			break;
		if (db_error(rn->db) != DB_EUNAVAIL &&
		    db_error(rn->db) != DB_EDEADLOCK && f != &fallback) {
			/* The server's message may quote the value it
			 * refused: masked before it is logged or stored. */
			const char *m = db_errmsg(rn->db);
			secret_mask_apply(mask, m, strlen(m), 0, &dberr);
			log_warnx("cannot record the result: %s; recording an "
			    "error instead", buf_str(&dberr));
			buf_printf(&why, "the run ended (%s) but its result could "
			    "not be recorded: %s", f->status, buf_str(&dberr));
			fallback = *f;
			fallback.status = "error";
			fallback.out = fallback.err = NULL;
			fallback.outlen = fallback.errlen = 0;
			fallback.out_trunc = fallback.err_trunc = 0;
			fallback.output_json = NULL;
			fallback.output_file = NULL;
			fallback.output_file_len = 0;
			fallback.error = buf_str(&why);
			f = &fallback;
			continue;
		}
		if (db_error(rn->db) != DB_EUNAVAIL &&
		    db_error(rn->db) != DB_EDEADLOCK) {
			log_warnx("cannot record even the error record: %s",
			    db_errmsg(rn->db));
			goto out;
		}
		if (db_error(rn->db) == DB_EUNAVAIL)
			doubt = 1;
		if (!warned++)
			log_warnx("cannot record the result yet, retrying: %s",
			    db_errmsg(rn->db));
		if (clock_mono_ms() > give_up) {
			log_warnx("giving up recording the result: %s",
			    db_errmsg(rn->db));
			goto out;
		}
		usleep(500 * 1000);
	}
	/* Its callback's delivery committed with the record: the sender
	 * starts on it now (or may have, with a record in doubt). */
	if (delivery || (!updated && doubt))
		sender_notify(rn->shm);
	if (!updated && doubt)
		log_info("result recorded by an attempt whose answer was lost "
		    "(or the execution was marked lost meanwhile)");
	else if (!updated)
		log_warnx("execution was no longer running when it ended "
		    "(marked lost or changed meanwhile); result not recorded");
	else if (answer && row.nrows == 1)
		leave_answer(rn, id, &row);
	else if (answer)
		log_warnx("result recorded, but not read back for the caller "
		    "waiting (who reads it): %s", db_errmsg(rn->db));
	dbres_free(&row);
out:
	buf_free(&why);
	buf_free(&dberr);
	dispatch_notify_done(rn->shm, id);
}

/* Until when a statement whose answer was lost is asked again (a claim,
 * claim_settle; the read of a row reserved for us, serve_box): at most
 * CLAIM_SETTLE_MS and half the heartbeat timeout (a row running for us
 * gets no heartbeat until its run starts). */
static double
settle_until(const struct runner *rn)
{
	double budget = rn->c->heartbeat_timeout_s * 500.0;

	return clock_mono_ms() + (budget < CLAIM_SETTLE_MS ? budget :
	    CLAIM_SETTLE_MS);
}

/*
 * A claim of execution `id` whose outcome the database did not tell: the
 * connection was lost before the answer (a server of a Galera cluster
 * died under it: the claim may have committed), or it lost a deadlock.
 * Asked again on a fresh connection (db_connect takes the next server),
 * until settle_until(): `again`, the claim by id is sent once more (a
 * hand-off, or a row reserved for us), then the row says whether it runs
 * for us. 1 ours, 0 not, -1 still unknown.
 */
static int
claim_settle(struct runner *rn, long long id, int again)
{
	double until = settle_until(rn);
	int claimed, owned;

	for (;;) {
		if (db_begin(rn->db) == 0) {
			if (again && store_execution_claim_id(rn->db, id,
			    rn->c->node_name, (int)rn->pid, &claimed) == 0 &&
			    claimed)
				return 1;
			if ((!again || db_error(rn->db) == DB_OK ||
			    db_error(rn->db) == DB_EDEADLOCK) &&
			    store_execution_owned(rn->db, id, rn->c->node_name,
			    (int)rn->pid, &owned) == 0)
				return owned;
		}
		if (clock_mono_ms() > until)
			return -1;
		usleep(100 * 1000);
	}
}

/*
 * A handed-off execution is claimed as late as possible: just before its
 * child is started, or before anything else is recorded for it.
 * One reserved for us as it was queued is claimed after its child
 * started, before anything else is recorded for it.
 * Returns 1 when this runner owns the execution, 0 when it must leave it
 * alone: another runner took it, it was canceled, or the database failed
 * (then it stays queued and the queue scan finds it again; a reserved
 * one is marked lost by the heartbeat sweep).
 */
static int
claim_now(struct run_state *st)
{
	struct runner *rn = st->rn;
	int claimed = 0;

	if (!st->claim_pending)
		return !st->not_ours;
	st->claim_pending = 0;
	int rc = st->claim_sent ? store_execution_claim_id_end(rn->db,
	    &claimed) :
	    store_execution_claim_id(rn->db, st->id, rn->c->node_name,
	    (int)rn->pid, &claimed);
	if (rc == -1 && (db_error(rn->db) == DB_EUNAVAIL ||
	    db_error(rn->db) == DB_EDEADLOCK)) {
		int settled = claim_settle(rn, st->id, 1);
		if (settled >= 0) {
			log_info("claim settled on a fresh connection: %s",
			    settled ? "ours" : "not ours");
			claimed = settled;
			rc = 0;
		}
	}
	if (rc == -1) {
		log_warnx("cannot claim the execution handed over: %s",
		    db_errmsg(rn->db));
		/* Still queued: a scan finds it, unless it is reserved for
		 * us (scans pass over it; the heartbeat sweep ends it). */
		if (!st->claim_late)
			dispatch_backlog(rn->shm);
		st->not_ours = 1;
		return 0;
	}
	if (!claimed) {
		log_debug("execution handed over was taken or canceled "
		    "meanwhile");
		/* A hand-off is taken from its slot before it is claimed, and a
		 * scan meanwhile no longer passes over it: a scan took it, which
		 * may have been counted for a row still queued. That row's scan
		 * is counted again (at worst, one scan that finds nothing). */
		if (!st->claim_late)
			dispatch_backlog(rn->shm);
		st->not_ours = 1;
	}
	return claimed;
}

/* Sends the claim of a handed-off execution, to be ended by claim_now()
 * while the run is prepared in between, with no other use of the
 * database. If it cannot be sent, claim_now() tries once more. */
static void
claim_send(struct run_state *st)
{
	struct runner *rn = st->rn;

	if (!st->claim_pending || st->claim_sent)
		return;
	if (store_execution_claim_id_send(rn->db, st->id, rn->c->node_name,
	    (int)rn->pid) == 0)
		st->claim_sent = 1;
}

/* Whether the execution is ours to start and record: its row committed
 * (gate_pass) and claimed (claim_now). 0: leave it alone. */
static int
own_now(struct run_state *st)
{
	if (!gate_pass(st)) {
		(void)claim_now(st);    /* ends a claim in flight, if any */
		return 0;
	}
	return claim_now(st);
}

static int
hook_ready(void *arg)
{
	struct run_state *st = arg;

	if (st->claim_late)
		return 0;       /* claimed while the child starts */
	return claim_now(st) ? 0 : -1;
}

/* The child is being made (with isolation, its init makes the run's
 * mounts): whether the program may start, once the row's commit is told
 * (gate_pass). */
static int
hook_gate(void *arg)
{
	struct run_state *st = arg;

	if (gate_pass(st))
		return 0;
	(void)claim_now(st);    /* ends a claim in flight, if any */
	return -1;
}

/* A run that cannot go on ends `error` with the reason in r->error, if
 * it is ours to record. */
static void
finish_error(struct run_state *st, struct run *r)
{
	struct runner *rn = st->rn;

	if (!own_now(st))
		return;
	/* Whoever sees the execution ended finds its work dir gone. */
	run_drop_workdir(r);
	run_error_final(r);
	log_info("error: %s", r->final.error);
	finish(rn, st->id, &r->final, &r->mask);
	metrics_execution(rn->shm, "error", -1, -1);
}

/*
 * The script of an execution run without one read already (a scan's, a
 * hand-off's): a read whose answer the connection's loss took is asked
 * again on a fresh connection until settle_until(). A claimed execution
 * runs for this runner alone (no scan takes it again), so giving up at
 * once would end it `error` for nothing. 0, or -1 (*out empty) when it
 * cannot be read: run_load() then reads it itself and reports why.
 */
static int
script_read(struct runner *rn, long long id, struct script *out)
{
	double until = settle_until(rn);
	enum reg_status rs;

	for (;;) {
		if ((rs = registry_load(rn->db, id, NULL, out)) == REG_OK)
			return 0;
		script_free(out);
		if (rs != REG_DB || db_error(rn->db) != DB_EUNAVAIL ||
		    clock_mono_ms() > until)
			return -1;
		log_info("reading script %lld: %s; asked again", id,
		    db_errmsg(rn->db));
		usleep(100 * 1000);
		(void)db_begin(rn->db);
	}
}

/*
 * Runs one execution, owned as `mode` says (see claim_now): the run
 * module prepares it, the executor runs it with our hooks, the run module
 * makes the record and we write it. `loaded`: its script if already read
 * (taken over: *loaded is left empty), else NULL. Returns 1 if the script
 * has a max_concurrency (its end may let a queued one start), else 0.
 */
static int
run_one(struct runner *rn, const struct execution_claim *cl,
    enum claim_mode mode, int uncommitted,
    struct script *loaded)
{
	struct run r;
	struct run_state st;
	struct exec_hooks hooks;
	char err[512];
	int erc;
	double claimed_ms = clock_mono_ms();
	int limited;
	struct script read;

	/* Busy now: another idle runner watches the queue. */
	dispatch_watch_leave(rn->shm);
	/* The last run's cgroup goes and the next is made while the runner
	 * is idle (idle_wait); a runner busy since then does it now. */
	sandbox_tidy(&rn->sb);
	run_init(&r, rn->c, cl->id);
	memset(&st, 0, sizeof(st));
	st.rn = rn;
	st.id = cl->id;
	st.claim_pending = mode != CLAIMED;
	st.claim_late = mode == CLAIM_AFTER_START;
	st.uncommitted = uncommitted;
	log_set_id(r.idtext);

	if (loaded == NULL && script_read(rn, cl->script_id, &read) == 0)
		loaded = &read;         /* taken over by run_load */
	if (run_load(&r, rn->db, &rn->versions, cl->script_id, loaded) == -1) {
		finish_error(&st, &r);
		goto out;
	}
	/* A handed-off execution: its claim commits while the run is
	 * prepared (no database use until claim_now). */
	claim_send(&st);
	if (run_parse(&r, cl->input_json, cl->input_secret) == -1) {
		finish_error(&st, &r);
		goto out;
	}
	if (run_is_python(&r)) {
		/* A venv build may take minutes: own the execution first, so
		 * that it shows as running meanwhile. */
		if (!own_now(&st))
			goto out;
		if (run_venv(&r, rn->db, rn->shm) == -1) {
			finish_error(&st, &r);
			goto out;
		}
	}
	/* The spare work dir (sandbox_workdir_spare) while the host has CPU
	 * to spare: it takes a run's mkdir and removal off its path for two
	 * renames, which cost CPU (about 60 us a run) where the CPU is what
	 * limits the runs (dispatch.h, dispatch_mailbox_early). */
	if (run_workdir(&r, dispatch_mailbox_early(rn->shm) ? &rn->sb : NULL,
	    rn->uid, rn->gid) == -1 ||
	    run_spec(&r, rn->uid, rn->gid, &rn->sb) == -1) {
		finish_error(&st, &r);
		goto out;
	}

	st.version = r.s.version;
	st.mask = &r.mask;
	st.last_save = clock_mono_ms();
	st.cancel_seen = wake_read(&rn->shm->cancel_gen);
	memset(&hooks, 0, sizeof(hooks));
	hooks.ready = hook_ready;
	hooks.gate = hook_gate;
	hooks.started = hook_started;
	hooks.tick = hook_tick;
	hooks.tick_ms = TICK_MS;
	hooks.arg = &st;
	erc = exec_run(&r.spec, &hooks, &r.res, err, sizeof(err));
	/* The run's processes are gone: its venv is no longer in use, and
	 * must not be once its final status can be read (run_release would
	 * let go of it only after the record). */
	venv_release(&r.venv);
	if (erc == -1) {
		if (r.res.refused)
			goto out;       /* not ours after all */
		run_errorf(&r, "could not start: %s", err);
		finish_error(&st, &r);
		goto out;
	}
	run_result(&r, st.exec_ms);
	if (!claim_now(&st)) {
		log_warnx("the run ended, but the execution was no longer "
		    "this runner's to record");
		goto out;
	}
	run_drop_workdir(&r);
	finish(rn, cl->id, &r.final, &r.mask);
	/* Overhead: queued -> claimed by the database clock, then claimed
	 * -> exec'd by ours. */
	metrics_execution(rn->shm, r.final.status, cl->waited_ms +
	    (st.exec_ms - claimed_ms), r.res.duration_ms);
	log_info("%s in %.1f ms (script \"%s\")", r.final.status,
	    r.res.duration_ms, r.s.name);
out:
	limited = r.s.max_concurrency > 0;
	run_release(&r);        /* the work dir too, if no result was recorded */
	log_set_id(NULL);
	return limited;
}

/*
 * The script of a box job: a copy of the cached one when the API worker
 * read the same revision of it (updated_at), else read now and cached.
 * 0, or -1 when it cannot be read (run_one then reads it itself, and
 * reports what is wrong).
 */
static int
cached_script(struct runner *rn, long long id, const char *updated_at,
    struct script *out)
{
	if (registry_memo_get_rev(&rn->scripts, id, updated_at, out) == 0)
		return 0;
	if (registry_load(rn->db, id, NULL, out) != REG_OK) {
		script_free(out);
		return -1;
	}
	registry_memo_put(&rn->scripts, out, 0);
	return 0;
}

/* Runs the execution an API worker put in our box. */
static void
serve_box(struct runner *rn, struct mailbox_job *j)
{
	struct execution_claim cl;
	struct script s;
	int have_s = 0, found = 1;

	memset(&cl, 0, sizeof(cl));
	memset(&s, 0, sizeof(s));
	/* A connection idle for a while is checked (a ping) before the run
	 * relies on it; a failure shows again when the result is saved. */
	(void)db_begin(rn->db);
	if (j->input_json == NULL) {
		double until = settle_until(rn);

		/* Too big for the box: the row has it (and the script). It
		 * is reserved for us, running or queued: no scan takes it,
		 * so a read whose answer the connection's loss took is asked
		 * again on a fresh one, or only the heartbeat sweep would
		 * end it (lost, never run). */
		while (store_execution_peek(rn->db, j->id,
		    &cl, &found, &s, &have_s) == -1) {
			if (db_error(rn->db) != DB_EUNAVAIL ||
			    clock_mono_ms() > until) {
				log_warnx("reading execution %lld: %s", j->id,
				    db_errmsg(rn->db));
				return;
			}
			usleep(100 * 1000);
			(void)db_begin(rn->db);
		}
		if (!found)
			return;         /* ended meanwhile (lost) */
	} else {
		cl.id = j->id;
		cl.script_id = j->script_id;
		cl.input_json = j->input_json;
		j->input_json = NULL;
		have_s = cached_script(rn, j->script_id, j->script_updated_at,
		    &s) == 0;
	}
	cl.waited_ms = clock_mono_ms() - j->queued_ms;
	/* Inserted running: a caller of this node waits for its end. */
	rn->answer_id = j->running ? j->id : 0;
	if (run_one(rn, &cl, j->running ? CLAIMED : CLAIM_AFTER_START,
	    j->uncommitted, have_s ? &s : NULL))
		dispatch_backlog(rn->shm);
	rn->answer_id = 0;
	script_free(&s);
	free(cl.input_json);
}

/*
 * The watcher's look at the queue (dispatch.h, "watching"), at most
 * every queue_probe_ms: 1 when it found work other nodes queued, counted
 * as a backlog (one scan for this runner, the rest for other idle ones,
 * woken), else 0.
 */
static int
watch_probe(struct runner *rn)
{
	struct shm *shm = rn->shm;
	double now = clock_mono_ms();
	long long seen = atomic_load(&shm->probe_newest), newest;
	int n, idle;

	if (now - rn->last_probe < rn->c->queue_probe_ms)
		return 0;
	rn->last_probe = now;
	/* Quiet (the queue held nothing this node may claim, or a scan came
	 * back empty: rows of a script at its max_concurrency, say): the
	 * head of the queue is read again only once a newer row came. */
	if (db_begin(rn->db) == -1 || store_execution_probe(rn->db,
	    buf_str(&rn->labels_re), PROBE_MAX,
	    atomic_load(&shm->probe_quiet) ? seen : -1, &n, &newest) == -1)
		return 0;
	atomic_store(&shm->probe_newest, newest);
	if (n == 0) {
		/* Nothing this node may claim (or not looked at, quiet). */
		if (newest > 0)
			atomic_store(&shm->probe_quiet, 1);
		return 0;
	}
	atomic_store(&shm->probe_quiet, 0);
	idle = dispatch_runners_idle(shm);
	dispatch_backlog_wake(shm, n < idle ? n : (idle > 0 ? idle : 1));
	return 1;
}

/* How long an idle runner sleeps: the poll interval, or queue_probe_ms
 * for the node's watcher while other nodes are up. *probe: 1 for the
 * watcher then. */
static int
idle_timeout(struct runner *rn, int *probe)
{
	*probe = rn->c->queue_probe_ms > 0 &&
	    atomic_load(&rn->shm->peers_up) > 0 && dispatch_watch(rn->shm);
	return *probe ? rn->c->queue_probe_ms : rn->c->poll_interval_ms;
}

/*
 * The runner's wait for work: with a box, marked idle and asleep on its
 * bell; without, on the queue word. Returns early when work arrives
 * (the watcher's look at the queue included).
 */
static void
idle_wait(struct runner *rn, uint32_t queue_seen)
{
	int probe, timeout;

	if (rn->box < 0) {
		sandbox_tidy(&rn->sb);
		timeout = idle_timeout(rn, &probe);
		if (probe && watch_probe(rn))
			return;
		wake_wait(&rn->shm->queue_gen, queue_seen, timeout);
		return;
	}
	uint32_t seen = dispatch_mailbox_idle(rn->shm, rn->box);
	/* Reservable from here on: an assignment made while we tidy rings
	 * the bell, and the wait below returns at once. */
	sandbox_tidy(&rn->sb);
	/* Queued meanwhile, while we looked busy: do not sleep on it. */
	if (dispatch_work_waiting(rn->shm))
		return;
	/* Looked at while reservable: a local submission meanwhile gets
	 * this runner as if it slept. */
	timeout = idle_timeout(rn, &probe);
	if (probe && watch_probe(rn))
		return;
	wake_wait(&rn->shm->box[rn->box].bell, seen, timeout);
}

/*
 * Before other work, and before leaving: serves what an API worker put
 * in the box (or is putting there). Returns 1 when the box is busy
 * (ours to do other work with), 0 when it was served or must be
 * looked at again.
 */
static int
box_ready(struct runner *rn)
{
	struct mailbox_job j;

	if (rn->box < 0)
		return 1;
	if (dispatch_mailbox_take(rn->shm, rn->box, &j)) {
		serve_box(rn, &j);
		free(j.input_json);
		return 0;
	}
	if (dispatch_mailbox_reserved(rn->shm, rn->box)) {
		/* An API worker is inserting for us: its assignment rings. */
		struct runner_mailbox *b = &rn->shm->box[rn->box];
		uint32_t seen = wake_read(&b->bell);
		if (dispatch_mailbox_reserved(rn->shm, rn->box))
			wake_wait(&b->bell, seen, 100);
		return 0;
	}
	return dispatch_mailbox_busy(rn->shm, rn->box) == 0;
}

/*
 * Takes this runner's run uid from the pool, base + slot if free (held
 * by nobody: a runner of the last generation may still be finishing its
 * run after a reload), else another; waits while every one is held.
 */
static void
take_run_uid(struct runner *rn, int slot, uid_t avoid)
{
	const struct conf *c = rn->c;
	char dir[4096], err[512];
	int r, warned = 0;

	snprintf(dir, sizeof(dir), "%s/.run-uids", c->work_dir);
	while ((r = sandbox_uid_take(dir, (unsigned long long)c->run_uid_base,
	    (unsigned int)c->run_uid_count, (unsigned int)slot, avoid,
	    &rn->uid, &rn->uid_lock, err, sizeof(err))) == 0) {
		if (stopping) {
			log_info("runner %d stopping", slot);
			_exit(0);
		}
		if (!warned++)
			log_warnx("every run uid (%d from %lld) is held by a "
			    "runner; waiting for one (a runner of the last "
			    "generation still finishing?)", c->run_uid_count,
			    c->run_uid_base);
		usleep(200 * 1000);
	}
	if (r == -1)
		fatalx("%s", err);
}

void
runner_main(const struct conf *c, struct shm *shm, int slot)
{
	struct runner rn;
	struct sigaction sa;
	struct passwd *pw;
	char err[512];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);

	memset(&rn, 0, sizeof(rn));
	rn.c = c;
	rn.shm = shm;
	rn.pid = getpid();
	if ((pw = getpwnam(c->run_user)) == NULL)
		fatalx("run_user \"%s\" does not exist", c->run_user);
	if (pw->pw_uid == 0)
		fatalx("run_user \"%s\" is root: scripts never run as root",
		    c->run_user);
	rn.gid = pw->pw_gid;
	if (fs_mkdirs(c->work_dir, 0711, err, sizeof(err)) == -1)
		fatalx("%s", err);
	take_run_uid(&rn, slot, pw->pw_uid);
	if (sandbox_init(&rn.sb, c->cgroup_root[0] ? c->cgroup_root : NULL,
	    c->memory_cgroup_v1, err, sizeof(err)) == -1)
		fatalx("%s", err);
	sandbox_reap_stale(&rn.sb);
	/* Work dirs too are made ahead and removed between runs. */
	if (!c->keep_workdirs)
		sandbox_workdir_spare(&rn.sb, c->work_dir, rn.uid, rn.gid);
	sandbox_tidy(&rn.sb);
	rn.db = db_new(c);
	labels_regexp(c->node_labels, &rn.labels_re);
	log_info("runner %d ready (runs as uid %lu, group of \"%s\", tree "
	    "control: %s, isolation: %s)", slot, (unsigned long)rn.uid,
	    c->run_user, sandbox_kind_name(&rn.sb), c->isolation ?
	    "namespaces" : "off");

	rn.box = dispatch_mailbox_open(shm);
	while (!stopping) {
		uint32_t seen = wake_read(&shm->queue_gen), adds;
		long long handed;
		struct execution_claim cl;
		int claimed = 0, scan;

		/* Our box first: an API worker chose us for that one. */
		if (!box_ready(&rn))
			continue;
		/* A counted backlog next: it holds what the hand-offs do not
		 * (queued while no runner was idle and every slot was taken,
		 * limited scripts, limits freed), and the scan takes the
		 * oldest of that, passing over the rows waiting in hand-off
		 * slots. */
		if ((scan = dispatch_scan_due(shm, c->poll_interval_ms,
		    &adds)) != 0 && db_begin(rn.db) == 0) {
			long long skip[SHM_HANDOFF_SLOTS];
			size_t nskip = dispatch_handoff_list(shm, skip);

			if (store_execution_claim(rn.db, c->node_name,
			    (int)rn.pid,
			    buf_str(&rn.labels_re), skip, nskip, &cl,
			    &claimed) == -1) {
				if (cl.in_doubt) {
					/* Committed or not: the row tells. */
					log_info("claim of execution %lld in doubt: "
					    "%s", cl.id, db_errmsg(rn.db));
					claimed = claim_settle(&rn, cl.id, 0) == 1;
					log_info("claim of execution %lld: %s", cl.id,
					    claimed ? "ours" : "not ours (or not known)");
				} else if (db_error(rn.db) != DB_EUNAVAIL) {
					log_warnx("claim: %s", db_errmsg(rn.db));
				}
				if (!claimed) {
					free(cl.input_json);
					memset(&cl, 0, sizeof(cl));
				}
			} else {
				dispatch_scanned(shm, claimed, adds);
			}
		}
		if (claimed) {
			/* A poll found work nothing had announced (queued
			 * before this node started, say): there may be more,
			 * which polls at their interval would start one at a
			 * time. More counted: let another runner scan
			 * meanwhile. */
			if (scan == DISPATCH_SCAN_POLL)
				dispatch_poll_again(shm);
			else if (atomic_load(&shm->backlog) > 0)
				dispatch_wake_one(shm);
			/* Its end may free its script's max_concurrency for
			 * the next one queued: one scan more. */
			if (run_one(&rn, &cl, CLAIMED, 0, NULL))
				dispatch_backlog(shm);
			free(cl.input_json);
			continue;
		}
		if ((handed = dispatch_take_handoff(shm)) > 0) {
			struct script hs;
			int have_s = 0;

			if (db_begin(rn.db) == 0 &&
			    store_execution_peek(rn.db, handed, &cl, &claimed,
			    &hs,
			    &have_s) == -1) {
				log_warnx("reading a handed-off execution: %s",
				    db_errmsg(rn.db));
				dispatch_backlog(shm);  /* still queued */
			}
			if (claimed) {
				if (run_one(&rn, &cl, CLAIM_AT_START, 0,
				    have_s ? &hs : NULL))
					dispatch_backlog(shm);
				free(cl.input_json);
			}
			continue;
		}
		idle_wait(&rn, seen);
	}
	/* Stopping: what an API worker assigned us meanwhile is ours to
	 * run; then nobody may reserve the box any more. */
	if (rn.box >= 0) {
		double until = clock_mono_ms() + 5000;
		while (!box_ready(&rn) && clock_mono_ms() < until)
			;
		dispatch_mailbox_close(shm, rn.box);
	}
	registry_memo_free(&rn.scripts);
	buf_free(&rn.labels_re);
	log_info("runner %d stopping", slot);
	db_close(rn.db);
	sandbox_free(&rn.sb);
	_exit(0);
}
