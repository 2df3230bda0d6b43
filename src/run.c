/*
 * run.c - one run of a script: from the script and its input to the
 * executor's spec, from the executor's result to the final record.
 *
 * The runner is privileged and the script is not: everything read here
 * on the script's behalf (its #! line, the output file in its work dir)
 * is read so that the script cannot make us read elsewhere.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "argtpl.h"
#include "clock.h"
#include "conf.h"
#include "fsutil.h"
#include "inputenv.h"
#include "json.h"
#include "log.h"
#include "run.h"
#include "sandbox.h"
#include "secret.h"

#define MIB (1024LL * 1024)

void
run_init(struct run *r, const struct conf *c, long long id)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->id = id;
	snprintf(r->idtext, sizeof(r->idtext), "%lld", id);
	r->venv.lock_fd = -1;
}

void
run_errorf(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&r->error, fmt, ap);
	va_end(ap);
}

/* Adds one more complaint to the record's error text. */
static void
why_add(struct buf *why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
why_add(struct buf *why, const char *fmt, ...)
{
	va_list ap;

	if (why->len)
		buf_adds(why, "; ");
	va_start(ap, fmt);
	buf_vprintf(why, fmt, ap);
	va_end(ap);
}

void
run_take_script(struct run *r, struct script *s)
{
	script_free(&r->s);
	r->s = *s;
	memset(s, 0, sizeof(*s));
}

int
run_load(struct run *r, struct db *db, struct version_memo *versions,
    long long script_id, struct script *loaded)
{
	enum reg_status rs = REG_OK;
	struct verr e;

	verr_clear(&e);
	if (loaded != NULL)
		run_take_script(r, loaded);
	else
		rs = registry_load(db, script_id, NULL, &r->s);
	if (rs == REG_NOT_FOUND) {
		run_errorf(r, "the script was deleted before this execution "
		    "could start");
		return -1;
	}
	if (rs == REG_OK)
		rs = registry_refresh_version(db, r->c, &r->s, versions, &e);
	if (rs == REG_DB) {
		run_errorf(r, "the database failed while the script was "
		    "loaded");
		return -1;
	}
	/* A script that cannot run is recorded with the version it had, if
	 * any. */
	r->version_known = rs == REG_OK || r->s.version[0] != '\0';
	if (rs != REG_OK) {
		run_errorf(r, "the script cannot run: %s", e.message);
		return -1;
	}
	return 0;
}

/* Wipes and frees a buffer that held a secret. */
static void
buf_wipe(struct buf *b)
{
	if (b->data != NULL)
		sodium_memzero(b->data, b->cap);
	buf_free(b);
}

/* Replaces b's text with its masked form (cut: secret.h's flags). */
static void
mask_buf(const struct secret_mask *m, struct buf *b, int cut)
{
	struct buf masked = BUF_INIT;

	if (m->n == 0 || b->len == 0)
		return;
	secret_mask_apply(m, b->data, b->len, cut, &masked);
	buf_free(b);
	*b = masked;
}

/* A string value, as it is and as the text of a JSON string. */
static void
mask_string(struct secret_mask *m, const char *s, size_t len)
{
	struct buf j = BUF_INIT;
	struct jw w;

	secret_mask_add(m, s, len);
	jw_init(&w, &j);
	jw_strn(&w, s, len);
	jw_free(&w);
	if (j.len >= 2 && (j.len - 2 != len || memcmp(j.data + 1, s,
	    len) != 0))
		secret_mask_add(m, j.data + 1, j.len - 2);
	buf_wipe(&j);
}

/* The strings inside an object or array. */
static void
mask_leaves(struct secret_mask *m, yajl_val v)
{
	if (YAJL_IS_STRING(v))
		mask_string(m, v->u.string, strlen(v->u.string));
	else if (YAJL_IS_OBJECT(v))
		for (size_t i = 0; i < v->u.object.len; i++)
			mask_leaves(m, v->u.object.values[i]);
	else if (YAJL_IS_ARRAY(v))
		for (size_t i = 0; i < v->u.array.len; i++)
			mask_leaves(m, v->u.array.values[i]);
}

void
run_mask_value(struct secret_mask *m, yajl_val v)
{
	struct buf text = BUF_INIT;

	if (v == NULL)
		return;
	if (YAJL_IS_STRING(v)) {
		mask_string(m, v->u.string, strlen(v->u.string));
		return;
	}
	json_dump(&text, v);
	secret_mask_add(m, text.data, text.len);
	buf_wipe(&text);
	mask_leaves(m, v);
}

int
run_mask_json(const struct secret_mask *m, const char *json, size_t len,
    struct buf *out)
{
	struct buf masked = BUF_INIT;
	yajl_val v;

	secret_mask_apply(m, json, len, 0, &masked);
	v = json_parse(masked.data, masked.len, NULL, 0);
	buf_free(&masked);
	if (v == NULL)
		return -1;
	json_dump(out, v);
	yajl_tree_free(v);
	return 0;
}

void
run_merge_secret_input(yajl_val input, yajl_val secret, struct buf *out)
{
	struct jw w;
	yajl_val x;

	jw_init(&w, out);
	jw_obj(&w);
	for (size_t i = 0; YAJL_IS_OBJECT(input) && i < input->u.object.len;
	    i++) {
		const char *key = input->u.object.keys[i];

		jw_key(&w, key);
		x = json_get(secret, key);
		jw_value(&w, x != NULL ? x : input->u.object.values[i]);
	}
	for (size_t i = 0; YAJL_IS_OBJECT(secret) &&
	    i < secret->u.object.len; i++) {
		const char *key = secret->u.object.keys[i];

		if (json_get(input, key) != NULL)
			continue;
		jw_key(&w, key);
		jw_value(&w, secret->u.object.values[i]);
	}
	jw_obj_end(&w);
	jw_free(&w);
}

/* Opens `sealed` with the node's key into `plain`; `what` names it for
 * the error. */
static int
open_sealed(struct run *r, const char *sealed, const char *what,
    struct buf *plain)
{
	char err[256];

	if (!r->c->has_secret_key) {
		run_errorf(r, "%s cannot be opened: this node has no secret key "
		    "(the file \"%s\" does not exist)", what,
		    r->c->secret_key_file);
		return -1;
	}
	if (secret_open(&r->c->secret_key, sealed, plain, err,
	    sizeof(err)) == -1) {
		run_errorf(r, "%s cannot be opened: %s", what, err);
		return -1;
	}
	return 0;
}

/* The input's secret properties, opened and put back in r->input. */
static int
open_secret_input(struct run *r, const char *input_secret)
{
	struct buf plain = BUF_INIT, merged = BUF_INIT;
	yajl_val sec = NULL, in = NULL;
	int rc = -1;

	if (open_sealed(r, input_secret, "the execution's secret inputs",
	    &plain) == -1)
		goto out;
	sec = json_parse(plain.data, plain.len, NULL, 0);
	if (!YAJL_IS_OBJECT(sec) || !YAJL_IS_OBJECT(r->input)) {
		run_errorf(r, "the execution's secret inputs are not a JSON "
		    "object");
		goto out;
	}
	run_merge_secret_input(r->input, sec, &merged);
	if ((in = json_parse(merged.data, merged.len, NULL, 0)) == NULL) {
		run_errorf(r, "the execution's secret inputs cannot be merged "
		    "into its input");
		goto out;
	}
	for (size_t i = 0; i < sec->u.object.len; i++)
		run_mask_value(&r->mask, sec->u.object.values[i]);
	yajl_tree_free(r->input);
	r->input = in;
	rc = 0;
out:
	yajl_tree_free(sec);
	buf_wipe(&plain);
	buf_wipe(&merged);
	return rc;
}

/* The script's secret_env, opened and added to r->env after its own
 * names (a name in both, which registration refuses, takes the secret). */
static int
open_secret_env(struct run *r)
{
	const char *text = r->s.secret_env_json;
	struct buf plain = BUF_INIT, merged = BUF_INIT, what = BUF_INIT;
	yajl_val sec = NULL, env = NULL;
	struct jw w;
	int rc = -1, bad = 0;

	if (text == NULL)
		return 0;
	sec = json_parse(text, strlen(text), NULL, 0);
	if (!YAJL_IS_OBJECT(sec)) {
		run_errorf(r, "the script's stored secret_env is not a JSON "
		    "object");
		goto out;
	}
	jw_init(&w, &merged);
	jw_obj(&w);
	for (size_t i = 0; YAJL_IS_OBJECT(r->env) && i < r->env->u.object.len;
	    i++) {
		if (json_get(sec, r->env->u.object.keys[i]) != NULL)
			continue;
		jw_key(&w, r->env->u.object.keys[i]);
		jw_value(&w, r->env->u.object.values[i]);
	}
	for (size_t i = 0; i < sec->u.object.len; i++) {
		const char *name = sec->u.object.keys[i];
		yajl_val v = sec->u.object.values[i];

		buf_reset(&what);
		buf_printf(&what, "secret_env %s", name);
		buf_reset(&plain);
		if (!YAJL_IS_STRING(v)) {
			run_errorf(r, "%s is not a sealed value", buf_str(&what));
			bad = 1;
			break;
		}
		if (open_sealed(r, v->u.string, buf_str(&what), &plain) == -1) {
			bad = 1;
			break;
		}
		jw_key(&w, name);
		jw_strn(&w, plain.data ? plain.data : "", plain.len);
		mask_string(&r->mask, plain.data ? plain.data : "", plain.len);
	}
	if (bad) {
		jw_free(&w);
		goto out;
	}
	jw_obj_end(&w);
	jw_free(&w);
	if ((env = json_parse(merged.data, merged.len, NULL, 0)) == NULL) {
		run_errorf(r, "the script's secret_env cannot be added to its "
		    "env");
		goto out;
	}
	yajl_tree_free(r->env);
	r->env = env;
	rc = 0;
out:
	yajl_tree_free(sec);
	buf_wipe(&plain);
	buf_wipe(&merged);
	buf_free(&what);
	return rc;
}

int
run_parse(struct run *r, const char *input_json, const char *input_secret)
{
	const struct script *s = &r->s;
	char err[256];

	r->input = json_parse(input_json, strlen(input_json), err,
	    sizeof(err));
	r->args = json_parse(s->args_json, strlen(s->args_json), err,
	    sizeof(err));
	r->env = json_parse(s->env_json, strlen(s->env_json), err,
	    sizeof(err));
	r->outputs = json_parse(s->outputs_json, strlen(s->outputs_json), err,
	    sizeof(err));
	if (r->input == NULL || r->args == NULL || r->env == NULL ||
	    r->outputs == NULL) {
		run_errorf(r, "the stored execution or script holds invalid "
		    "JSON");
		return -1;
	}
	r->outfile_rel = json_get_str(r->outputs, "file");
	if (input_secret != NULL && open_secret_input(r, input_secret) == -1)
		return -1;
	return open_secret_env(r);
}

int
run_is_python(const struct run *r)
{
	return strcmp(r->s.type, "python") == 0;
}

int
run_venv(struct run *r, struct db *db, struct shm *shm)
{
	return venv_prepare(db, r->c, shm, &r->s, r->id, &r->venv,
	    &r->error);
}

int
run_workdir(struct run *r, struct sandbox *sb, uid_t uid, gid_t gid)
{
	char err[512];

	r->wd_sb = sb;
	if (sandbox_workdir_take(sb, r->c->work_dir, (unsigned long long)r->id,
	    uid, gid, &r->workdir, err, sizeof(err)) == -1) {
		run_errorf(r, "cannot create the work dir: %s", err);
		return -1;
	}
	if (r->outfile_rel != NULL)
		buf_printf(&r->outfile_abs, "%s/%s", r->workdir,
		    r->outfile_rel);
	return 0;
}

enum run_shebang
run_shebang_parse(char *head, size_t len, char **interp, char **arg)
{
	char *p, *end, *a = NULL;

	*interp = *arg = NULL;
	if (len <= 2 || head[0] != '#' || head[1] != '!')
		return RUN_SHEBANG_NONE;
	p = head + 2;
	if ((end = strchr(p, '\n')) == NULL)
		return RUN_SHEBANG_LONG;
	*end = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strcspn(p, " \t");
	if (*end != '\0') {
		*end++ = '\0';
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end != '\0') {
			size_t l = strlen(end);
			while (l > 0 && (end[l - 1] == ' ' ||
			    end[l - 1] == '\t' || end[l - 1] == '\r'))
				end[--l] = '\0';
			if (l > 0)
				a = end;
		}
	}
	if (*p != '/')
		return RUN_SHEBANG_RELATIVE;
	*interp = p;
	*arg = a;
	return RUN_SHEBANG_OK;
}

/*
 * The program and the arguments in front of the script's path: binaries
 * run as they are; shell scripts through their #! line (so the file need
 * not be executable) or /bin/sh; python ones through their venv's
 * interpreter with -I-like isolation.
 */
static int
program_for(struct run *r)
{
	const struct script *s = &r->s;
	char head[RUN_SHEBANG_HEAD], *interp, *arg;
	ssize_t n;
	int fd, npre = 0;

	if (strcmp(s->type, "binary") == 0) {
		r->prog = xstrdup(s->path);
		return 0;
	}
	if (run_is_python(r)) {
		r->prog = xstrdup(r->venv.python);
		r->pre[npre++] = xstrdup("-s");
		r->pre[npre++] = xstrdup("-E");
		return 0;
	}
	if ((fd = open(s->path, O_RDONLY | O_CLOEXEC)) == -1) {
		run_errorf(r, "cannot read \"%s\": %s", s->path,
		    strerror(errno));
		return -1;
	}
	n = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	head[n] = '\0';
	switch (run_shebang_parse(head, (size_t)n, &interp, &arg)) {
	case RUN_SHEBANG_NONE:
		r->prog = xstrdup("/bin/sh");
		return 0;
	case RUN_SHEBANG_LONG:
		run_errorf(r, "the #! line of \"%s\" is too long", s->path);
		return -1;
	case RUN_SHEBANG_RELATIVE:
		run_errorf(r, "the #! line of \"%s\" does not name an "
		    "absolute interpreter", s->path);
		return -1;
	case RUN_SHEBANG_OK:
		break;
	}
	r->prog = xstrdup(interp);
	if (arg != NULL)
		r->pre[npre++] = xstrdup(arg);
	return 0;
}

/*
 * What the run may see (exec.h, isolation), unless the config turns
 * isolation off: none of the daemon's paths, but its work dir, and
 * read-only the script roots (those that exist) and its venv.
 */
static void
run_isolation(struct run *r)
{
	const struct conf *c = r->c;
	int k = 0;

	if (!c->isolation)
		return;
	conf_private_paths(c, r->hide, CONF_MAX_PRIVATE);
	r->keep[0] = r->workdir;
	r->keep[1] = NULL;
	for (int i = 0; i < c->n_script_roots; i++)
		if (access(c->script_roots[i], F_OK) == 0)
			r->keep_ro[k++] = c->script_roots[i];
	if (r->venv.dir != NULL)
		r->keep_ro[k++] = r->venv.dir;
	r->keep_ro[k] = NULL;
	r->iso.hide = r->hide;
	r->iso.keep = r->keep;
	r->iso.keep_ro = r->keep_ro;
	r->spec.isolation = &r->iso;
}

int
run_spec(struct run *r, uid_t uid, gid_t gid, struct sandbox *sb)
{
	const struct conf *c = r->c;
	const struct script *s = &r->s;
	const char *outfile = r->outfile_rel ? buf_str(&r->outfile_abs) : NULL;
	struct verr e;
	size_t n, k = 0;

	verr_clear(&e);
	if (r->venv.dir != NULL) {
		buf_printf(&r->venv_env, "VIRTUAL_ENV=%s", r->venv.dir);
		r->extra_env[0] = buf_str(&r->venv_env);
		buf_printf(&r->venv_path, "%s/bin:" RUN_FIXED_PATH,
		    r->venv.dir);
	}
	struct inputenv_vars iv = {
		.execution_id = r->idtext,
		.workdir = r->workdir,
		.tmpdir = NULL,
		.output_file = outfile,
		.path = r->venv.dir ? buf_str(&r->venv_path) : RUN_FIXED_PATH,
		.extra = r->extra_env[0] ? r->extra_env : NULL,
	};
	if (inputenv_build(r->input, s->input_mode, r->env, &iv, &r->envp,
	    &r->stdin_data, &e) == -1) {
		run_errorf(r, "cannot pass the input: %s", e.message);
		return -1;
	}
	struct argtpl_vars av = { r->workdir, outfile, r->idtext };
	if (argtpl_expand(r->args, r->input, &av, &r->tplv, &e) == -1) {
		run_errorf(r, "cannot build the arguments: %s", e.message);
		return -1;
	}
	if (program_for(r) == -1)
		return -1;

	/* The program, up to 2 arguments of its own, the script, the
	 * template's, NULL. */
	for (n = 0; r->tplv[n] != NULL; n++)
		;
	if ((r->argv = calloc(n + 5, sizeof(*r->argv))) == NULL)
		fatal("calloc");
	r->argv[k++] = r->prog;
	for (int i = 0; i < 3 && r->pre[i] != NULL; i++)
		r->argv[k++] = r->pre[i];
	if (strcmp(s->type, "binary") != 0)
		r->argv[k++] = s->path;
	for (size_t i = 0; i < n; i++)
		r->argv[k++] = r->tplv[i];
	r->argv[k] = NULL;

	/* The configured rlimits, then the run's limits: a file size limit
	 * of both is the lower; memory and pids become rlimits where the
	 * sandbox has no cgroup for them. */
	limits_effective(c, s->limits_json, &r->limits);
	r->lim.cpu_s = (long)c->rlimit_cpu_s;
	r->lim.as_bytes = c->rlimit_as_mb * MIB;
	r->lim.nofile = (long)c->rlimit_nofile;
	r->lim.nproc = (long)c->rlimit_nproc;
	r->lim.fsize_bytes = r->limits.file_size_mb * MIB;
	if (c->rlimit_fsize_mb > 0 && c->rlimit_fsize_mb < r->limits.file_size_mb)
		r->lim.fsize_bytes = c->rlimit_fsize_mb * MIB;
	r->lim.memory_bytes = r->limits.memory_mb * MIB;
	r->lim.pids = r->limits.pids;
	r->lim.cpu_cores = r->limits.cpu_cores;
	limits_fallback(sb, &r->lim);
	r->spec.path = r->prog;
	r->spec.argv = r->argv;
	r->spec.envp = r->envp;
	r->spec.cwd = r->workdir;
	r->spec.uid = uid;
	r->spec.gid = gid;
	r->spec.limits = &r->lim;
	r->spec.stdin_data = r->stdin_data.len ? r->stdin_data.data : NULL;
	r->spec.stdin_len = r->stdin_data.len;
	r->spec.capture_cap = (size_t)r->limits.output_cap_kb * 1024;
	r->spec.network_none = strcmp(s->network, "none") == 0;
	r->spec.timeout_s = s->timeout_s;
	r->spec.grace_s = c->kill_grace_s;
	r->spec.sandbox = sb;
	run_isolation(r);
	return 0;
}

const char *
run_status(const struct exec_result *res)
{
	if (res->canceled)
		return "canceled";
	if (res->timed_out)
		return "timed_out";
	if (res->exited && res->exit_code == 0)
		return "succeeded";
	return "failed";
}

int
run_stdout_json(const char *out, size_t len, int truncated,
    struct buf *json, struct buf *why)
{
	yajl_val parsed;
	char err[512];

	if (truncated) {
		why_add(why, "stdout is not valid JSON: stdout was truncated");
		return -1;
	}
	if ((parsed = json_parse(out ? out : "", len, err,
	    sizeof(err))) == NULL) {
		why_add(why, "stdout is not valid JSON: %s", err);
		return -1;
	}
	json_dump(json, parsed);
	yajl_tree_free(parsed);
	return 0;
}

/*
 * Reads the declared output file without following any symlink and without
 * leaving the work dir. *present = 0 when the script made none; a file
 * that cannot be read, or only in part, is told in `why`.
 */
static int
read_output_file(const char *workdir, const char *rel, size_t cap,
    struct buf *out, int *present, int *trunc, struct buf *why)
{
	struct open_how how;
	int dfd = -1, fd = -1, rc = -1;

	*present = *trunc = 0;
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
			why_add(why, "the output file \"%s\" could not be "
			    "read: %s", rel, strerror(errno));
		goto out;
	}
	if (fs_read_fd(fd, cap, out, trunc) == -1) {
		why_add(why, "the output file \"%s\" could not be read: %s",
		    rel, strerror(errno));
		goto out;
	}
	*present = 1;
	if (*trunc)
		why_add(why, "the output file \"%s\" is larger than %zu "
		    "bytes; only the start was kept", rel, cap);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	return rc;
}

/* The limit the run hit, told in r->error, and named in f->limit when
 * the run failed (run.h). */
static void
limit_result(struct run *r, struct execution_final *f)
{
	enum exec_limit hit = r->res.limit;
	struct buf text = BUF_INIT;
	int failed = strcmp(f->status, "failed") == 0;

	if (hit == EXEC_LIMIT_NONE && failed && r->lim.fsize_bytes > 0 &&
	    limits_file_at(r->workdir, r->lim.fsize_bytes))
		hit = EXEC_LIMIT_FILE_SIZE;
	if (hit == EXEC_LIMIT_NONE)
		return;
	limits_describe_hit(hit, &r->lim, &text);
	if (failed) {
		f->limit = limits_name(hit);
		why_add(&r->error, "%s", buf_str(&text));
	} else {
		why_add(&r->error, "%s during the run, which went on",
		    buf_str(&text));
	}
	buf_free(&text);
}

void
run_result(struct run *r, double exec_mono_ms)
{
	const struct exec_result *res = &r->res;
	struct execution_final *f = &r->final;
	const char *out_mode;
	int present = 0, ftrunc = 0;

	memset(f, 0, sizeof(*f));
	/* The child is reaped: the run ended now, whenever it is recorded. */
	f->ended_mono_ms = clock_mono_ms();
	f->exec_mono_ms = exec_mono_ms;
	f->status = run_status(res);
	f->version = r->s.version;
	f->has_exit = res->exited;
	f->exit_code = res->exit_code;
	f->has_signal = res->signaled;
	f->signo = res->signo;
	/* Every secret value is masked here, before anything is parsed,
	 * stored or shown. */
	capture_render_masked(&res->out, &r->mask, 0, &r->out);
	capture_render_masked(&res->err, &r->mask, 0, &r->err);
	f->out = r->out.data;
	f->outlen = r->out.len;
	f->out_trunc = capture_truncated(&res->out);
	f->err = r->err.data;
	f->errlen = r->err.len;
	f->err_trunc = capture_truncated(&res->err);
	f->has_stats = 1;
	f->duration_ms = res->duration_ms;
	f->cpu_user_ms = res->cpu_user_ms;
	f->cpu_system_ms = res->cpu_system_ms;
	f->max_rss_kb = res->max_rss_kb;
	if (res->timed_out)
		why_add(&r->error, "timed out after %d s", r->s.timeout_s);
	limit_result(r, f);

	/* outputs.stdout = json: a parse failure is reported in error and
	 * leaves the status as the exit made it. */
	out_mode = json_get_str(r->outputs, "stdout");
	if (out_mode != NULL && strcmp(out_mode, "json") == 0 &&
	    !res->canceled && !res->timed_out &&
	    run_stdout_json(r->out.data, r->out.len, f->out_trunc,
	    &r->output_json, &r->error) == 0)
		f->output_json = buf_str(&r->output_json);
	if (f->output_json != NULL && r->mask.n > 0) {
		struct buf m = BUF_INIT;

		if (run_mask_json(&r->mask, r->output_json.data,
		    r->output_json.len, &m) == 0) {
			buf_free(&r->output_json);
			r->output_json = m;
			f->output_json = buf_str(&r->output_json);
		} else {
			f->output_json = NULL;
			why_add(&r->error, "stdout's JSON held a secret value "
			    "that could not be masked in it; output is left "
			    "out");
		}
	}
	if (r->outfile_rel != NULL && read_output_file(r->workdir,
	    r->outfile_rel, (size_t)r->c->output_file_cap_bytes, &r->ofile,
	    &present, &ftrunc, &r->error) == 0 && present) {
		mask_buf(&r->mask, &r->ofile, ftrunc ? SECRET_CUT_AFTER : 0);
		f->output_file = r->ofile.data ? r->ofile.data : "";
		f->output_file_len = r->ofile.len;
	}
	mask_buf(&r->mask, &r->error, 0);
	f->error = r->error.len ? buf_str(&r->error) : NULL;
}

void
run_error_final(struct run *r)
{
	struct execution_final *f = &r->final;

	memset(f, 0, sizeof(*f));
	f->ended_mono_ms = clock_mono_ms();
	f->status = "error";
	f->version = r->version_known ? r->s.version : NULL;
	mask_buf(&r->mask, &r->error, 0);
	f->error = buf_str(&r->error);
}

void
run_drop_workdir(struct run *r)
{
	char err[512];

	if (r->workdir == NULL || r->workdir_gone || r->c->keep_workdirs)
		return;
	if (sandbox_workdir_drop(r->wd_sb, r->workdir, err, sizeof(err)) == -1)
		log_warnx("%s", err);
	r->workdir_gone = 1;
}

void
run_release(struct run *r)
{
	run_drop_workdir(r);
	exec_result_free(&r->res);
	free(r->workdir);
	free(r->prog);
	for (int i = 0; i < 3; i++)
		free(r->pre[i]);
	free(r->argv);
	venv_release(&r->venv);
	argtpl_free(r->tplv);
	inputenv_free(r->envp);
	yajl_tree_free(r->input);
	yajl_tree_free(r->args);
	yajl_tree_free(r->env);
	yajl_tree_free(r->outputs);
	buf_free(&r->outfile_abs);
	buf_free(&r->venv_env);
	buf_free(&r->venv_path);
	buf_free(&r->stdin_data);
	buf_free(&r->out);
	buf_free(&r->err);
	buf_free(&r->ofile);
	buf_free(&r->output_json);
	buf_free(&r->error);
	secret_mask_free(&r->mask);
	script_free(&r->s);
	run_init(r, r->c, r->id);
}
