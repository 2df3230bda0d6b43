/*
 * runner.c - a runner worker: claim the oldest runnable execution, run it
 * through the executor, record everything, repeat.
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
 * limited run ended) and once per poll interval per node for work queued
 * by other nodes. Idle runners sleep on their mailbox's bell (runners
 * without one, on shm->queue_gen) with the poll interval as the timeout.
 *
 * While a script runs, the executor calls our tick every 200 ms: once a
 * second (or at once when an API worker of this node signalled a cancel)
 * the output so far and a heartbeat are saved and the cancel flag is
 * read back in the same visit to the database.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "argtpl.h"
#include "buf.h"
#include "capture.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "exec.h"
#include "execution.h"
#include "fsutil.h"
#include "inputenv.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "registry.h"
#include "runner.h"
#include "sandbox.h"
#include "shm.h"
#include "store.h"
#include "venv.h"
#include "wake.h"

#define FIXED_PATH "/usr/local/bin:/usr/bin:/bin"
#define TICK_MS 200
#define SAVE_MS 1000.0

static volatile sig_atomic_t stopping;

struct runner {
	const struct conf *c;
	struct shm *shm;
	struct db *db;
	struct sandbox sb;
	uid_t uid;              /* ours from the run uid pool */
	gid_t gid;              /* the run group: run_user's */
	int uid_lock;           /* holds uid (sandbox_uid_take) */
	const char *hide[CONF_MAX_PRIVATE + 1];    /* conf_private_paths */
	pid_t pid;
	int box;                /* our mailbox (execution.h), or -1 */
	long long answer_id;    /* the box job a caller waits for, or 0 */
	struct script_memo scripts;  /* read lately, for box jobs */
	struct version_memo versions;   /* script files hashed lately */
};

/* What the hooks of one run need. */
struct run_state {
	struct runner *rn;
	long long id;
	const char *version;
	double last_save;
	uint32_t cancel_seen;
	int cancel;
	double exec_ms;         /* monotonic time of the child's exec */
	int started_saved;
	int claim_pending;      /* handed off, not yet claimed (claim_now) */
	int claim_sent;         /* ... and its claim is in flight */
	int claim_late;         /* reserved for us: claimed after the start */
	int not_ours;           /* a claim failed: record nothing */
	const char *workdir;    /* run_one's, once made */
	int workdir_gone;       /* removed before the result was recorded */
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
		if (store_exec_started(st->rn->db, st->id, st->version,
		    now - st->exec_ms) == -1)
			log_warnx("cannot record the start: %s",
			    db_errmsg(st->rn->db));
	}
	if (now - st->last_save < SAVE_MS && cg == st->cancel_seen)
		return st->cancel;
	st->cancel_seen = cg;
	st->last_save = now;
	capture_render(out, &o);
	capture_render(err, &e);
	if (store_exec_progress(st->rn->db, st->id, o.data, o.len,
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

/*
 * Reads the declared output file without following any symlink and without
 * leaving the work dir: the runner is privileged, the script is not.
 */
static int
read_output_file(const char *workdir, const char *rel, size_t cap,
    struct buf *out, int *present, struct buf *why)
{
	struct open_how how;
	int dfd = -1, fd = -1, trunc = 0, rc = -1;

	*present = 0;
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS;
	if ((dfd = open(workdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto out;
	fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
	if (fd == -1) {
		if (errno == ENOENT)
			rc = 0;
		else
			buf_printf(why, "the output file \"%s\" could not be "
			    "read: %s", rel, strerror(errno));
		goto out;
	}
	if (fs_read_fd(fd, cap, out, &trunc) == -1) {
		buf_printf(why, "the output file \"%s\" could not be read: %s",
		    rel, strerror(errno));
		goto out;
	}
	*present = 1;
	if (trunc)
		buf_printf(why, "the output file \"%s\" is larger than %zu "
		    "bytes; only the start was kept", rel, cap);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	return rc;
}

/*
 * The program and the arguments in front of the template's: binaries run
 * as they are; shell scripts through their #! line (parsed here, so the
 * file need not be executable) or /bin/sh; python ones through their
 * venv's interpreter with -I-like isolation.
 */
static int
program_for(const struct script *s, const char *python, char **prog,
    char *pre[3], int *npre, struct buf *why)
{
	char head[256];
	ssize_t n;
	int fd;

	*npre = 0;
	if (strcmp(s->type, "binary") == 0) {
		*prog = strdup(s->path);
		return *prog ? 0 : -1;
	}
	if (strcmp(s->type, "python") == 0) {
		*prog = strdup(python);
		pre[(*npre)++] = strdup("-s");
		pre[(*npre)++] = strdup("-E");
		return 0;
	}
	if ((fd = open(s->path, O_RDONLY | O_CLOEXEC)) == -1) {
		buf_printf(why, "cannot read \"%s\": %s", s->path,
		    strerror(errno));
		return -1;
	}
	n = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	head[n] = '\0';
	if (n > 2 && head[0] == '#' && head[1] == '!') {
		char *p = head + 2, *end, *arg = NULL;
		end = strchr(p, '\n');
		if (end == NULL) {
			buf_printf(why, "the #! line of \"%s\" is too long",
			    s->path);
			return -1;
		}
		*end = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		/* Like the kernel: the interpreter, then at most one
		 * argument made of the rest of the line. */
		end = p + strcspn(p, " \t");
		if (*end != '\0') {
			*end++ = '\0';
			while (*end == ' ' || *end == '\t')
				end++;
			if (*end != '\0')
				arg = end;
			if (arg != NULL) {
				size_t l = strlen(arg);
				while (l > 0 && (arg[l - 1] == ' ' ||
				    arg[l - 1] == '\t' || arg[l - 1] == '\r'))
					arg[--l] = '\0';
			}
		}
		if (*p != '/') {
			buf_printf(why, "the #! line of \"%s\" does not name an "
			    "absolute interpreter", s->path);
			return -1;
		}
		*prog = strdup(p);
		if (arg != NULL && *arg != '\0')
			pre[(*npre)++] = strdup(arg);
		return 0;
	}
	*prog = strdup("/bin/sh");
	return 0;
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
	execution_box_result_put(rn->shm, rn->box, id, out.data, out.len);
	buf_free(&out);
}

/* Saves the final record, retrying while the database is away: a run
 * that happened is never dropped for a transient outage. */
static void
finish(struct runner *rn, long long id, const struct exec_final *f)
{
	double give_up = clock_mono_ms() + 600000.0;
	int updated = 0, warned = 0, answer = rn->answer_id == id;
	struct dbres row;

	memset(&row, 0, sizeof(row));
	for (;;) {
		if (db_begin(rn->db) == 0 &&
		    store_exec_finish(rn->db, id, f, &updated,
		    answer ? &row : NULL) == 0)
			break;
		if (!warned++)
			log_warnx("cannot record the result yet, retrying: %s",
			    db_errmsg(rn->db));
		if (clock_mono_ms() > give_up) {
			log_warnx("giving up recording the result: %s",
			    db_errmsg(rn->db));
			return;
		}
		usleep(500 * 1000);
	}
	if (!updated)
		log_warnx("execution was no longer running when it ended "
		    "(marked lost or changed meanwhile); result not recorded");
	else if (answer)
		leave_answer(rn, id, &row);
	dbres_free(&row);
	execution_notify_done(rn->shm, id);
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
	if ((st->claim_sent ? store_exec_claim_id_end(rn->db, &claimed) :
	    store_exec_claim_id(rn->db, st->id, rn->c->node_name,
	    (int)rn->pid, &claimed)) == -1) {
		log_warnx("cannot claim the execution handed over: %s",
		    db_errmsg(rn->db));
		/* Still queued: a scan finds it, unless it is reserved for
		 * us (scans pass over it; the heartbeat sweep ends it). */
		if (!st->claim_late)
			execution_backlog(rn->shm);
		st->not_ours = 1;
		return 0;
	}
	if (!claimed) {
		log_debug("execution handed over was taken or canceled "
		    "meanwhile");
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
	if (store_exec_claim_id_send(rn->db, st->id, rn->c->node_name,
	    (int)rn->pid) == 0)
		st->claim_sent = 1;
}

static int
hook_ready(void *arg)
{
	struct run_state *st = arg;

	if (st->claim_late)
		return 0;       /* claimed while the child starts */
	return claim_now(st) ? 0 : -1;
}

/* A run's work dir goes before its result is recorded: whoever sees the
 * execution ended finds it gone (unless kept by configuration). */
static void
drop_workdir(struct run_state *st)
{
	char err[512];

	if (st->workdir == NULL || st->workdir_gone ||
	    st->rn->c->keep_workdirs)
		return;
	if (sandbox_workdir_remove(st->workdir, err, sizeof(err)) == -1)
		log_warnx("%s", err);
	st->workdir_gone = 1;
}

static void
finish_error(struct run_state *st, const char *version, const char *msg)
{
	struct runner *rn = st->rn;
	long long id = st->id;
	struct exec_final f;

	if (!claim_now(st))
		return;
	drop_workdir(st);
	memset(&f, 0, sizeof(f));
	f.status = "error";
	f.version = version;
	f.error = msg;
	log_info("error: %s", msg);
	finish(rn, id, &f);
	metrics_execution(rn->shm, "error", -1, -1);
}

/*
 * What a run may see (exec.h, isolation): none of the daemon's paths,
 * but its work dir, and read-only the script roots (those that exist)
 * and its venv (may be NULL). keep[] holds 2, keep_ro[] CONF_MAX_ROOTS +
 * 2. Returns `iso`, or NULL when the config turns isolation off.
 */
static const struct exec_isolation *
run_isolation(const struct runner *rn, const char *workdir,
    const char *venv_dir, struct exec_isolation *iso, const char **keep,
    const char **keep_ro)
{
	const struct conf *c = rn->c;
	int k = 0;

	if (!c->isolation)
		return NULL;
	keep[0] = workdir;
	keep[1] = NULL;
	for (int i = 0; i < c->n_script_roots; i++)
		if (access(c->script_roots[i], F_OK) == 0)
			keep_ro[k++] = c->script_roots[i];
	if (venv_dir != NULL)
		keep_ro[k++] = venv_dir;
	keep_ro[k] = NULL;
	iso->hide = rn->hide;
	iso->keep = keep;
	iso->keep_ro = keep_ro;
	return iso;
}

/* Runs one execution, owned as `mode` says (see claim_now). `loaded`:
 * its script if already read (taken over: *loaded is left empty), else
 * NULL. Returns 1 if the script has a max_concurrency (its end may let a
 * queued one start), else 0. */
static int
run_one(struct runner *rn, const struct exec_claim *cl, enum claim_mode mode,
    struct script *loaded)
{
	const struct conf *c = rn->c;
	struct script s;
	struct verr e;
	enum reg_status rs;
	yajl_val input = NULL, args = NULL, env = NULL, outputs = NULL;
	char **tplv = NULL, **envp = NULL, **argv = NULL;
	char *prog = NULL, *pre[3] = { NULL, NULL, NULL }, *workdir = NULL;
	char idtext[32], err[512];
	const char *venv_python = NULL;
	struct venv_ready vr = { NULL, NULL, -1 };
	const char *outfile_rel;
	struct buf outfile_abs = BUF_INIT, stdin_data = BUF_INIT, why = BUF_INIT;
	struct buf out = BUF_INIT, errb = BUF_INIT, ofile = BUF_INIT;
	struct buf output_json = BUF_INIT, msg = BUF_INIT;
	struct exec_result res;
	struct run_state st;
	struct exec_spec spec;
	struct exec_hooks hooks;
	struct exec_limits lim;
	struct exec_isolation iso;
	const char *keep[2], *keep_ro[CONF_MAX_ROOTS + 2];
	struct exec_final f;
	const char *extra_env[4] = { NULL, NULL, NULL, NULL };
	struct buf venv_env = BUF_INIT, venv_path = BUF_INIT;
	int npre, n, present = 0, limited, erc;

	double claimed_ms = clock_mono_ms();

	/* The last run's cgroup goes and the next is made while the runner
	 * is idle (idle_wait); a runner busy since then does it now. */
	sandbox_tidy(&rn->sb);
	memset(&s, 0, sizeof(s));
	memset(&res, 0, sizeof(res));
	memset(&st, 0, sizeof(st));
	st.rn = rn;
	st.id = cl->id;
	st.claim_pending = mode != CLAIMED;
	st.claim_late = mode == CLAIM_AFTER_START;
	verr_clear(&e);
	snprintf(idtext, sizeof(idtext), "%lld", cl->id);
	log_set_id(idtext);

	if (loaded != NULL) {
		s = *loaded;
		memset(loaded, 0, sizeof(*loaded));
		rs = REG_OK;
	} else
		rs = registry_load(rn->db, cl->script_id, NULL, &s);
	if (rs == REG_NOT_FOUND) {
		finish_error(&st, NULL, "the script was deleted before "
		    "this execution could start");
		goto out;
	}
	if (rs == REG_OK)
		rs = registry_refresh_version(rn->db, c, &s, &rn->versions,
		    &e);
	if (rs == REG_DB) {
		finish_error(&st, NULL, "the database failed while the "
		    "script was loaded");
		goto out;
	}
	if (rs != REG_OK) {
		buf_printf(&msg, "the script cannot run: %s", e.message);
		finish_error(&st, s.version[0] ? s.version : NULL,
		    buf_str(&msg));
		goto out;
	}
	/* A handed-off execution: its claim commits while the run is
	 * prepared (no database use until claim_now). */
	claim_send(&st);

	input = json_parse(cl->input_json, strlen(cl->input_json), err,
	    sizeof(err));
	args = json_parse(s.args_json, strlen(s.args_json), err, sizeof(err));
	env = json_parse(s.env_json, strlen(s.env_json), err, sizeof(err));
	outputs = json_parse(s.outputs_json, strlen(s.outputs_json), err,
	    sizeof(err));
	if (input == NULL || args == NULL || env == NULL || outputs == NULL) {
		finish_error(&st, s.version, "the stored execution or "
		    "script holds invalid JSON");
		goto out;
	}

	if (strcmp(s.type, "python") == 0) {
		/* A venv build may take minutes: own the execution first, so
		 * that it shows as running meanwhile. */
		if (!claim_now(&st))
			goto out;
		if (venv_prepare(rn->db, c, rn->shm, &s, cl->id, &vr,
		    &msg) == -1) {
			finish_error(&st, s.version, buf_str(&msg));
			goto out;
		}
		venv_python = vr.python;
		buf_printf(&venv_env, "VIRTUAL_ENV=%s", vr.dir);
		extra_env[0] = buf_str(&venv_env);
		buf_printf(&venv_path, "%s/bin:" FIXED_PATH, vr.dir);
	}

	if (sandbox_workdir_create(c->work_dir, (unsigned long long)cl->id,
	    rn->uid, rn->gid, &workdir, err, sizeof(err)) == -1) {
		buf_printf(&msg, "cannot create the work dir: %s", err);
		finish_error(&st, s.version, buf_str(&msg));
		goto out;
	}
	st.workdir = workdir;
	outfile_rel = json_get_str(outputs, "file");
	if (outfile_rel != NULL)
		buf_printf(&outfile_abs, "%s/%s", workdir, outfile_rel);

	struct inputenv_vars iv = {
		.execution_id = idtext,
		.workdir = workdir,
		.tmpdir = NULL,
		.output_file = outfile_rel ? buf_str(&outfile_abs) : NULL,
		.path = venv_python ? buf_str(&venv_path) : FIXED_PATH,
		.extra = extra_env[0] ? extra_env : NULL,
	};
	if (inputenv_build(input, s.input_mode, env, &iv, &envp, &stdin_data,
	    &e) == -1) {
		buf_printf(&msg, "cannot pass the input: %s", e.message);
		finish_error(&st, s.version, buf_str(&msg));
		goto out;
	}
	struct argtpl_vars av = { workdir, outfile_rel ? buf_str(&outfile_abs) :
	    NULL, idtext };
	if (argtpl_expand(args, input, &av, &tplv, &e) == -1) {
		buf_printf(&msg, "cannot build the arguments: %s", e.message);
		finish_error(&st, s.version, buf_str(&msg));
		goto out;
	}
	if (program_for(&s, venv_python, &prog, pre, &npre, &why) == -1) {
		finish_error(&st, s.version, buf_str(&why));
		goto out;
	}
	for (n = 0; tplv[n] != NULL; n++)
		;
	argv = calloc((size_t)n + 6, sizeof(*argv));
	if (argv == NULL)
		fatal("calloc");
	{
		int k = 0;
		argv[k++] = prog;
		for (int i = 0; i < npre; i++)
			argv[k++] = pre[i];
		if (strcmp(s.type, "binary") != 0)
			argv[k++] = s.path;
		for (int i = 0; i < n; i++)
			argv[k++] = tplv[i];
		argv[k] = NULL;
	}

	memset(&lim, 0, sizeof(lim));
	lim.cpu_s = (long)c->rlimit_cpu_s;
	lim.as_bytes = c->rlimit_as_mb * 1024 * 1024;
	lim.nofile = (long)c->rlimit_nofile;
	lim.nproc = (long)c->rlimit_nproc;
	lim.fsize_bytes = c->rlimit_fsize_mb * 1024 * 1024;
	memset(&spec, 0, sizeof(spec));
	spec.path = prog;
	spec.argv = argv;
	spec.envp = envp;
	spec.cwd = workdir;
	spec.uid = rn->uid;
	spec.gid = rn->gid;
	spec.limits = &lim;
	spec.stdin_data = stdin_data.len ? stdin_data.data : NULL;
	spec.stdin_len = stdin_data.len;
	spec.capture_cap = (size_t)c->output_cap_bytes;
	spec.timeout_s = s.timeout_s;
	spec.grace_s = c->kill_grace_s;
	spec.sandbox = &rn->sb;
	spec.isolation = run_isolation(rn, workdir, vr.dir, &iso, keep,
	    keep_ro);
	st.version = s.version;
	st.last_save = clock_mono_ms();
	st.cancel_seen = wake_read(&rn->shm->cancel_gen);
	hooks.ready = hook_ready;
	hooks.started = hook_started;
	hooks.tick = hook_tick;
	hooks.tick_ms = TICK_MS;
	hooks.arg = &st;

	erc = exec_run(&spec, &hooks, &res, err, sizeof(err));
	/* The run's processes are gone: its venv is no longer in use, and
	 * must not be once its final status can be read. */
	venv_release(&vr);
	if (erc == -1) {
		if (res.refused)
			goto out;       /* not ours after all */
		buf_printf(&msg, "could not start: %s", err);
		finish_error(&st, s.version, buf_str(&msg));
		goto out;
	}

	memset(&f, 0, sizeof(f));
	if (res.canceled)
		f.status = "canceled";
	else if (res.timed_out)
		f.status = "timed_out";
	else if (res.exited && res.exit_code == 0)
		f.status = "succeeded";
	else
		f.status = "failed";
	f.version = s.version;
	f.has_exit = res.exited;
	f.exit_code = res.exit_code;
	f.has_signal = res.signaled;
	f.signo = res.signo;
	capture_render(&res.out, &out);
	capture_render(&res.err, &errb);
	f.out = out.data;
	f.outlen = out.len;
	f.out_trunc = capture_truncated(&res.out);
	f.err = errb.data;
	f.errlen = errb.len;
	f.err_trunc = capture_truncated(&res.err);
	f.has_stats = 1;
	f.duration_ms = res.duration_ms;
	f.cpu_user_ms = res.cpu_user_ms;
	f.cpu_system_ms = res.cpu_system_ms;
	f.max_rss_kb = res.max_rss_kb;
	f.since_exec_ms = clock_mono_ms() - st.exec_ms;
	if (res.timed_out)
		buf_printf(&why, "timed out after %d s", s.timeout_s);

	/* outputs.stdout = json: a parse failure is reported in error and
	 * leaves the status as the exit made it. */
	const char *out_mode = json_get_str(outputs, "stdout");
	if (out_mode != NULL && strcmp(out_mode, "json") == 0 &&
	    !res.canceled && !res.timed_out) {
		yajl_val parsed = NULL;
		if (f.out_trunc)
			snprintf(err, sizeof(err), "stdout was truncated");
		else
			parsed = json_parse(out.data ? out.data : "", out.len,
			    err, sizeof(err));
		if (parsed != NULL) {
			json_dump(&output_json, parsed);
			f.output_json = buf_str(&output_json);
			yajl_tree_free(parsed);
		} else {
			if (why.len)
				buf_adds(&why, "; ");
			buf_printf(&why, "stdout is not valid JSON: %s", err);
		}
	}
	if (outfile_rel != NULL) {
		if (read_output_file(workdir, outfile_rel,
		    (size_t)c->output_file_cap_bytes, &ofile, &present,
		    &msg) == 0 && present) {
			f.output_file = ofile.data ? ofile.data : "";
			f.output_file_len = ofile.len;
		}
		if (msg.len) {
			if (why.len)
				buf_adds(&why, "; ");
			buf_add(&why, msg.data, msg.len);
		}
	}
	f.error = why.len ? buf_str(&why) : NULL;
	if (!claim_now(&st)) {
		log_warnx("the run ended, but the execution was no longer "
		    "this runner's to record");
		goto out;
	}
	drop_workdir(&st);
	finish(rn, cl->id, &f);
	/* Overhead: queued -> claimed by the database clock, then claimed
	 * -> exec'd by ours. */
	metrics_execution(rn->shm, f.status, cl->waited_ms + (st.exec_ms -
	    claimed_ms), res.duration_ms);
	log_info("%s in %.1f ms (script \"%s\")", f.status, res.duration_ms,
	    s.name);
out:
	drop_workdir(&st);      /* if no result was recorded */
	exec_result_free(&res);
	free(workdir);
	free(prog);
	for (int i = 0; i < 3; i++)
		free(pre[i]);
	free(argv);
	venv_release(&vr);
	argtpl_free(tplv);
	inputenv_free(envp);
	yajl_tree_free(input);
	yajl_tree_free(args);
	yajl_tree_free(env);
	yajl_tree_free(outputs);
	buf_free(&outfile_abs);
	buf_free(&stdin_data);
	buf_free(&why);
	buf_free(&out);
	buf_free(&errb);
	buf_free(&ofile);
	buf_free(&output_json);
	buf_free(&msg);
	buf_free(&venv_env);
	buf_free(&venv_path);
	limited = s.max_concurrency > 0;
	script_free(&s);
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
serve_box(struct runner *rn, struct box_job *j)
{
	struct exec_claim cl;
	struct script s;
	int have_s = 0, found = 1;

	memset(&cl, 0, sizeof(cl));
	memset(&s, 0, sizeof(s));
	/* A connection idle for a while is checked (a ping) before the run
	 * relies on it; a failure shows again when the result is saved. */
	(void)db_begin(rn->db);
	if (j->input_json == NULL) {
		/* Too big for the box: the row has it (and the script). */
		if (store_exec_peek(rn->db, j->id,
		    &cl, &found, &s, &have_s) == -1) {
			log_warnx("reading execution %lld: %s", j->id,
			    db_errmsg(rn->db));
			/* Reserved for us, running or queued: no scan takes
			 * it, the heartbeat sweep ends it lost. */
			return;
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
	    have_s ? &s : NULL))
		execution_backlog(rn->shm);
	rn->answer_id = 0;
	script_free(&s);
	free(cl.input_json);
}

/*
 * The runner's wait for work: with a box, marked idle and asleep on its
 * bell; without, on the queue word. Returns early when work arrives.
 */
static void
idle_wait(struct runner *rn, uint32_t queue_seen)
{
	if (rn->box < 0) {
		sandbox_tidy(&rn->sb);
		wake_wait(&rn->shm->queue_gen, queue_seen,
		    rn->c->poll_interval_ms);
		return;
	}
	uint32_t seen = execution_box_idle(rn->shm, rn->box);
	/* Reservable from here on: an assignment made while we tidy rings
	 * the bell, and the wait below returns at once. */
	sandbox_tidy(&rn->sb);
	/* Queued meanwhile, while we looked busy: do not sleep on it. */
	if (execution_work_waiting(rn->shm))
		return;
	wake_wait(&rn->shm->box[rn->box].bell, seen, rn->c->poll_interval_ms);
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
	struct box_job j;

	if (rn->box < 0)
		return 1;
	if (execution_box_take(rn->shm, rn->box, &j)) {
		serve_box(rn, &j);
		free(j.input_json);
		return 0;
	}
	if (execution_box_reserved(rn->shm, rn->box)) {
		/* An API worker is inserting for us: its assignment rings. */
		struct runner_box *b = &rn->shm->box[rn->box];
		uint32_t seen = wake_read(&b->bell);
		if (execution_box_reserved(rn->shm, rn->box))
			wake_wait(&b->bell, seen, 100);
		return 0;
	}
	return execution_box_busy(rn->shm, rn->box) == 0;
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
	conf_private_paths(c, rn.hide, CONF_MAX_PRIVATE);
	if (sandbox_init(&rn.sb, c->cgroup_root[0] ? c->cgroup_root : NULL,
	    c->memory_cgroup_v1, err, sizeof(err)) == -1)
		fatalx("%s", err);
	sandbox_reap_stale(&rn.sb);
	sandbox_tidy(&rn.sb);
	rn.db = db_new(c);
	log_info("runner %d ready (runs as uid %lu, group of \"%s\", tree "
	    "control: %s, isolation: %s)", slot, (unsigned long)rn.uid,
	    c->run_user, sandbox_kind_name(&rn.sb), c->isolation ?
	    "namespaces" : "off");

	rn.box = execution_box_open(shm);
	while (!stopping) {
		uint32_t seen = wake_read(&shm->queue_gen);
		long long handed;
		struct exec_claim cl;
		int claimed = 0;

		/* Our box first: an API worker chose us for that one. */
		if (!box_ready(&rn))
			continue;
		/* A counted backlog next: it holds what the hand-offs do not
		 * (queued while no runner was idle and every slot was taken,
		 * limited scripts, limits freed), and the scan takes the
		 * oldest of that, passing over the rows waiting in hand-off
		 * slots. */
		if (execution_scan_due(shm, c->poll_interval_ms) &&
		    db_begin(rn.db) == 0) {
			long long skip[SHM_HANDOFF_SLOTS];
			size_t nskip = execution_handoff_list(shm, skip);

			if (store_exec_claim(rn.db, c->node_name, (int)rn.pid,
			    skip, nskip, &cl, &claimed) == -1) {
				if (db_error(rn.db) != DB_EUNAVAIL)
					log_warnx("claim: %s", db_errmsg(rn.db));
			} else if (!claimed)
				execution_backlog_none(shm);
		}
		if (claimed) {
			/* More counted: let another runner scan meanwhile. */
			if (atomic_load(&shm->backlog) > 0)
				execution_wake_one(shm);
			/* Its end may free its script's max_concurrency for
			 * the next one queued: one scan more. */
			if (run_one(&rn, &cl, CLAIMED, NULL))
				execution_backlog(shm);
			free(cl.input_json);
			continue;
		}
		if ((handed = execution_take_handoff(shm)) > 0) {
			struct script hs;
			int have_s = 0;

			if (db_begin(rn.db) == 0 &&
			    store_exec_peek(rn.db, handed, &cl, &claimed, &hs,
			    &have_s) == -1) {
				log_warnx("reading a handed-off execution: %s",
				    db_errmsg(rn.db));
				execution_backlog(shm);  /* still queued */
			}
			if (claimed) {
				if (run_one(&rn, &cl, CLAIM_AT_START,
				    have_s ? &hs : NULL))
					execution_backlog(shm);
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
		execution_box_close(shm, rn.box);
	}
	registry_memo_free(&rn.scripts);
	log_info("runner %d stopping", slot);
	db_close(rn.db);
	sandbox_free(&rn.sb);
	_exit(0);
}
