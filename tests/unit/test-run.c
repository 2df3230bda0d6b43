/* Unit tests for run.c: #! parsing, status classification, stdout as
 * JSON, the executor's spec built from a script and an input, and the
 * final record made from the executor's result. */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "capture.h"
#include "clock.h"
#include "conf.h"
#include "exec.h"
#include "json.h"
#include "registry.h"
#include "run.h"
#include "sandbox.h"
#include "tap.h"

#define FIXED_PATH "/usr/local/bin:/usr/bin:/bin"

static char tmp[64];            /* the scripts */
static char work[64];           /* the work base */
static struct conf conf;

static void
shebang(const char *label, const char *text, enum run_shebang want,
    const char *want_interp, const char *want_arg)
{
	char head[256], *interp, *arg;
	size_t n = strlen(text);

	memcpy(head, text, n + 1);
	is_int(run_shebang_parse(head, n, &interp, &arg), want, "#! %s: kind",
	    label);
	is_str(interp, want_interp, "#! %s: interpreter", label);
	is_str(arg, want_arg, "#! %s: argument", label);
}

static void
test_shebang(void)
{
	shebang("plain", "#!/bin/sh\necho\n", RUN_SHEBANG_OK, "/bin/sh", NULL);
	shebang("one argument", "#!/bin/sh -e\n", RUN_SHEBANG_OK, "/bin/sh",
	    "-e");
	shebang("the rest is one argument",
	    "#! /usr/bin/env  python3 -u \t\r\nprint(1)\n", RUN_SHEBANG_OK,
	    "/usr/bin/env", "python3 -u");
	shebang("tabs", "#!\t/bin/bash\t-x\n", RUN_SHEBANG_OK, "/bin/bash",
	    "-x");
	shebang("blanks after the interpreter", "#!/bin/sh  \t\n",
	    RUN_SHEBANG_OK, "/bin/sh", NULL);
	shebang("a lone \\r as argument", "#!/bin/sh \r\n", RUN_SHEBANG_OK,
	    "/bin/sh", NULL);
	shebang("no #!", "echo hi\n", RUN_SHEBANG_NONE, NULL, NULL);
	shebang("#! alone", "#!", RUN_SHEBANG_NONE, NULL, NULL);
	shebang("empty", "", RUN_SHEBANG_NONE, NULL, NULL);
	shebang("no end of line", "#!/bin/sh", RUN_SHEBANG_LONG, NULL, NULL);
	shebang("relative", "#!sh -e\n", RUN_SHEBANG_RELATIVE, NULL, NULL);
	shebang("empty line", "#!\n", RUN_SHEBANG_RELATIVE, NULL, NULL);
}

static const char *
status_of(int exited, int code, int signaled, int timed_out, int canceled)
{
	struct exec_result res;

	memset(&res, 0, sizeof(res));
	res.exited = exited;
	res.exit_code = code;
	res.signaled = signaled;
	res.signo = signaled ? 15 : 0;
	res.timed_out = timed_out;
	res.canceled = canceled;
	return run_status(&res);
}

static void
test_status(void)
{
	is_str(status_of(1, 0, 0, 0, 0), "succeeded", "exit 0");
	is_str(status_of(1, 3, 0, 0, 0), "failed", "exit 3");
	is_str(status_of(0, -1, 1, 0, 0), "failed", "killed by a signal");
	is_str(status_of(0, -1, 1, 1, 0), "timed_out", "killed at the deadline");
	is_str(status_of(1, 0, 0, 1, 0), "timed_out",
	    "exit 0 after the deadline's SIGTERM");
	is_str(status_of(0, -1, 1, 0, 1), "canceled", "killed for a cancel");
	is_str(status_of(0, -1, 1, 1, 1), "canceled",
	    "a cancel counts before the deadline");
}

static void
stdout_json(const char *label, const char *out, int truncated,
    const char *why_before, int want_rc, const char *want_json,
    const char *want_why_prefix)
{
	struct buf json = BUF_INIT, why = BUF_INIT;
	int rc;

	buf_adds(&why, why_before);
	rc = run_stdout_json(out, out ? strlen(out) : 0, truncated, &json,
	    &why);
	is_int(rc, want_rc, "stdout %s: result", label);
	is_str(buf_str(&json), want_json, "stdout %s: JSON", label);
	ok(strncmp(buf_str(&why), want_why_prefix,
	    strlen(want_why_prefix)) == 0, "stdout %s: error text", label);
	if (want_rc == 0)
		is_str(buf_str(&why), want_why_prefix, "stdout %s: no error "
		    "added", label);
	else
		ok(why.len > strlen(why_before) + 2, "stdout %s: says why "
		    "(%s)", label, buf_str(&why));
	buf_free(&json);
	buf_free(&why);
}

static void
test_stdout_json(void)
{
	stdout_json("object", "{ \"a\": [1, 2.50, null], \"b\": \"\\u00e9\" }\n",
	    0, "", 0, "{\"a\":[1,2.50,null],\"b\":\"\xc3\xa9\"}", "");
	stdout_json("number", " 42 ", 0, "", 0, "42", "");
	stdout_json("not JSON", "done\n", 0, "", -1, "",
	    "stdout is not valid JSON: ");
	stdout_json("empty", NULL, 0, "", -1, "",
	    "stdout is not valid JSON: ");
	stdout_json("truncated", "{\"a\": 1}", 1, "", -1, "",
	    "stdout is not valid JSON: stdout was truncated");
	stdout_json("after another error", "[", 0, "timed out after 5 s", -1,
	    "", "timed out after 5 s; stdout is not valid JSON: ");
}

/* A script of `type` in the test's dir as `name` (written with `body`
 * unless NULL). */
static void
script_make(struct script *s, const char *type, const char *name,
    const char *body, const char *args, const char *env,
    const char *outputs, const char *mode)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	if (body != NULL) {
		FILE *f = fopen(path, "w");
		if (f == NULL || fputs(body, f) == EOF || fclose(f) != 0) {
			printf("Bail out! cannot write %s\n", path);
			exit(1);
		}
		chmod(path, 0755);
	}
	memset(s, 0, sizeof(*s));
	s->id = 7;
	snprintf(s->name, sizeof(s->name), "t");
	snprintf(s->type, sizeof(s->type), "%s", type);
	snprintf(s->version, sizeof(s->version), "sha256:%064d", 0);
	snprintf(s->input_mode, sizeof(s->input_mode), "%s", mode);
	s->path = xstrdup(path);
	s->args_json = xstrdup(args);
	s->env_json = xstrdup(env);
	s->outputs_json = xstrdup(outputs);
	s->timeout_s = 30;
}

/* Prepares run r of execution 42 for script s up to its spec, with the
 * runner's identity kept: 0, or -1 with r->error. */
static int
prepare(struct run *r, struct script *s, const char *input)
{
	run_init(r, &conf, 42);
	run_take_script(r, s);
	if (run_parse(r, input, NULL) == -1)
		return -1;
	if (run_workdir(r, (uid_t)-1, (gid_t)-1) == -1)
		return -1;
	return run_spec(r, (uid_t)-1, (gid_t)-1, NULL);
}

/* The value of `name` in envp, or NULL. */
static const char *
env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static int
strv_has(const char *const *v, const char *want)
{
	for (; v != NULL && *v != NULL; v++)
		if (strcmp(*v, want) == 0)
			return 1;
	return 0;
}

static void
argv_is(char *const *argv, const char *const *want, const char *label)
{
	int i;

	for (i = 0; want[i] != NULL; i++)
		is_str(argv[i], want[i], "%s: argv[%d]", label, i);
	ok(argv[i] == NULL, "%s: argv has %d entries", label, i);
}

static void
test_spec_shell(void)
{
	char wd_prefix[128], ofile[256];
	struct script s;
	struct run r;

	script_make(&s, "shell", "add.sh",
	    "#!/bin/sh -e\n"
	    "line=$(cat)\n"
	    "printf '{\"n\": %s, \"args\": %d, \"stdin\": %s}\\n' "
	    "\"$INPUT_COUNT\" $# \"$line\"\n"
	    "printf 'file %s' \"$INPUT_NAME\" > out.txt\n",
	    "[\"--n\", \"{count}\", \"{workdir}\", \"{output_file}\", "
	    "\"id={execution_id}\"]", "{\"GREETING\": \"hi\"}",
	    "{\"stdout\": \"json\", \"file\": \"out.txt\"}", "both");
	if (!ok(prepare(&r, &s, "{\"count\": 3, \"name\": \"a b\"}") == 0,
	    "shell: spec built"))
		printf("#   %s\n", buf_str(&r.error));
	snprintf(wd_prefix, sizeof(wd_prefix), "%s/42-", work);
	ok(r.workdir != NULL && strncmp(r.workdir, wd_prefix,
	    strlen(wd_prefix)) == 0, "shell: work dir %s", r.workdir);
	snprintf(ofile, sizeof(ofile), "%s/out.txt", r.workdir);
	is_str(r.spec.path, "/bin/sh", "shell: the #! interpreter runs");
	const char *want[] = { "/bin/sh", "-e", r.s.path, "--n", "3", r.workdir,
	    ofile, "id=42", NULL };
	argv_is(r.spec.argv, want, "shell");
	is_str(r.spec.cwd, r.workdir, "shell: cwd is the work dir");
	is_str(env_get(r.spec.envp, "INPUT_COUNT"), "3", "shell: INPUT_COUNT");
	is_str(env_get(r.spec.envp, "INPUT_NAME"), "a b", "shell: INPUT_NAME");
	is_str(env_get(r.spec.envp, "GREETING"), "hi", "shell: script env");
	is_str(env_get(r.spec.envp, "PATH"), FIXED_PATH, "shell: PATH");
	is_str(env_get(r.spec.envp, "HOME"), r.workdir, "shell: HOME");
	is_str(env_get(r.spec.envp, "SCRIPTORCH_OUTPUT_FILE"), ofile,
	    "shell: SCRIPTORCH_OUTPUT_FILE");
	is_str(env_get(r.spec.envp, "SCRIPTORCH_EXECUTION_ID"), "42",
	    "shell: SCRIPTORCH_EXECUTION_ID");
	ok(env_get(r.spec.envp, "VIRTUAL_ENV") == NULL, "shell: no venv");
	ok(r.spec.stdin_data != NULL && r.spec.stdin_len ==
	    strlen("{\"count\":3,\"name\":\"a b\"}") && memcmp(r.spec.stdin_data,
	    "{\"count\":3,\"name\":\"a b\"}", r.spec.stdin_len) == 0,
	    "shell: the input on stdin");
	is_int(r.spec.timeout_s, 30, "shell: the script's timeout");
	ok(r.spec.grace_s == conf.kill_grace_s, "shell: the kill grace");
	ok(r.spec.isolation != NULL && r.spec.isolation->keep[0] == r.workdir &&
	    r.spec.isolation->keep[1] == NULL, "shell: isolated, its work dir "
	    "kept read-write");
	ok(r.spec.isolation != NULL && strv_has(r.spec.isolation->keep_ro, tmp),
	    "shell: the script root kept read-only");
	ok(r.spec.isolation != NULL &&
	    strv_has(r.spec.isolation->hide, work) &&
	    strv_has(r.spec.isolation->hide, conf.secret_key_file),
	    "shell: the work base and the secret key file hidden");
	is_int(r.spec.capture_cap, conf.limit_output_cap_kb * 1024,
	    "shell: capture cap, the configured default");
	is_int(r.spec.uid, (uid_t)-1, "shell: uid");
	ok(r.spec.limits != NULL && r.spec.limits->nofile ==
	    conf.rlimit_nofile && r.spec.limits->cpu_s ==
	    conf.rlimit_cpu_s && r.spec.limits->memory_bytes ==
	    conf.limit_memory_mb << 20 && r.spec.limits->pids ==
	    conf.limit_pids && r.spec.limits->fsize_bytes ==
	    conf.limit_file_size_mb << 20 && r.spec.limits->cpu_cores ==
	    conf.limit_cpu_cores, "shell: limits from the configuration");
	/* No sandbox here: memory and pids fall back to rlimits. */
	ok(r.spec.limits->as_bytes == conf.limit_memory_mb << 20 &&
	    r.spec.limits->nproc == conf.limit_pids,
	    "shell: without cgroups, memory and pids as RLIMIT_AS, RLIMIT_NPROC");
	is_int(r.spec.network_none, 0, "shell: the host's network");

	/* The same run through the executor, and its record. */
	char err[512];
	double exec_ms = clock_mono_ms();
	if (!ok(exec_run(&r.spec, NULL, &r.res, err, sizeof(err)) == 0,
	    "shell: runs"))
		printf("#   %s\n", err);
	run_result(&r, exec_ms);
	is_str(r.final.status, "succeeded", "record: status");
	ok(r.final.has_exit && r.final.exit_code == 0 && !r.final.has_signal,
	    "record: exit 0");
	is_str(r.final.output_json, "{\"n\":3,\"args\":5,\"stdin\":{\"count\":3,"
	    "\"name\":\"a b\"}}", "record: stdout as JSON");
	ok(r.final.output_file != NULL && r.final.output_file_len == 8 &&
	    memcmp(r.final.output_file, "file a b", 8) == 0,
	    "record: the output file");
	is_str(r.final.error, NULL, "record: no error");
	char version[80];
	snprintf(version, sizeof(version), "sha256:%064d", 0);
	is_str(r.final.version, version, "record: the version that ran");
	ok(r.final.has_stats && r.final.duration_ms > 0, "record: stats");
	ok(r.final.exec_mono_ms == exec_ms && r.final.ended_mono_ms >=
	    exec_ms + r.final.duration_ms - 1, "record: exec and end times");
	char *wd = xstrdup(r.workdir);
	run_drop_workdir(&r);
	ok(access(wd, F_OK) == -1, "the work dir is removed");
	free(wd);
	run_release(&r);
}

static void
test_spec_binary_and_python(void)
{
	struct script s;
	struct run r;
	char py[128];

	script_make(&s, "binary", "tool", "", "[\"x{count}\", \"{{y}}\"]",
	    "{}", "{}", "env");
	ok(prepare(&r, &s, "{\"count\": 2.50}") == 0, "binary: spec built");
	const char *want[] = { r.s.path, "x2.50", "{y}", NULL };
	argv_is(r.spec.argv, want, "binary");
	is_str(r.spec.path, r.s.path, "binary: runs itself");
	ok(r.spec.stdin_data == NULL && r.spec.stdin_len == 0,
	    "binary: env mode, nothing on stdin");
	is_str(env_get(r.spec.envp, "INPUT_JSON"), "{\"count\":2.50}",
	    "binary: INPUT_JSON");
	is_str(env_get(r.spec.envp, "SCRIPTORCH_OUTPUT_FILE"), NULL,
	    "binary: no output file declared");
	run_release(&r);

	script_make(&s, "python", "job.py", "print(1)\n", "[\"{name}\"]", "{}",
	    "{}", "stdin");
	run_init(&r, &conf, 42);
	run_take_script(&r, &s);
	ok(run_is_python(&r), "python: is python");
	ok(run_parse(&r, "{\"name\": \"n\"}", NULL) == 0 &&
	    run_workdir(&r, (uid_t)-1, (gid_t)-1) == 0, "python: prepared");
	/* What run_venv leaves: the venv's dir and interpreter. */
	r.venv.dir = xstrdup("/venvs/k1");
	r.venv.python = xstrdup("/venvs/k1/bin/python");
	ok(run_spec(&r, (uid_t)-1, (gid_t)-1, NULL) == 0, "python: spec built");
	snprintf(py, sizeof(py), "/venvs/k1/bin:%s", FIXED_PATH);
	const char *pwant[] = { "/venvs/k1/bin/python", "-s", "-E", r.s.path,
	    "n", NULL };
	argv_is(r.spec.argv, pwant, "python");
	is_str(env_get(r.spec.envp, "PATH"), py, "python: the venv on PATH");
	is_str(env_get(r.spec.envp, "VIRTUAL_ENV"), "/venvs/k1",
	    "python: VIRTUAL_ENV");
	is_str(env_get(r.spec.envp, "INPUT_NAME"), NULL,
	    "python: stdin mode, no INPUT_ variables");
	run_release(&r);

	script_make(&s, "shell", "plain.sh", "echo hi\n", "[]", "{}", "{}",
	    "env");
	ok(prepare(&r, &s, "{}") == 0, "no #!: spec built");
	const char *swant[] = { "/bin/sh", r.s.path, NULL };
	argv_is(r.spec.argv, swant, "no #!");
	run_release(&r);
}

/* A spec that cannot be built: -1, and r->error starts with `want`. */
static void
spec_fails(const char *label, const char *name, const char *body,
    const char *args, const char *input, const char *want)
{
	struct script s;
	struct run r;

	script_make(&s, "shell", name, body, args, "{}", "{}", "both");
	is_int(prepare(&r, &s, input), -1, "%s: refused", label);
	ok(strncmp(buf_str(&r.error), want, strlen(want)) == 0, "%s: %s",
	    label, buf_str(&r.error));
	run_release(&r);
}

static void
test_spec_errors(void)
{
	char want[256];

	snprintf(want, sizeof(want), "the #! line of \"%s/bad.sh\" does not "
	    "name an absolute interpreter", tmp);
	spec_fails("relative #!", "bad.sh", "#!sh\n", "[]", "{}", want);
	snprintf(want, sizeof(want), "the #! line of \"%s/bad.sh\" is too long",
	    tmp);
	spec_fails("#! without an end", "bad.sh", "#!/bin/sh", "[]", "{}",
	    want);
	snprintf(want, sizeof(want), "cannot read \"%s/missing.sh\": No such "
	    "file or directory", tmp);
	spec_fails("missing file", "missing.sh", NULL, "[]", "{}", want);
	spec_fails("missing placeholder", "bad.sh", "echo\n", "[\"{nope}\"]",
	    "{}", "cannot build the arguments: ");
	spec_fails("bad input JSON", "bad.sh", "echo\n", "[]", "{", "the stored "
	    "execution or script holds invalid JSON");
}

static int
starts(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Makes r's record as if the executor reported an exit `code`, or the
 * signal `signo` when not 0, with `out` on stdout. */
static void
ended(struct run *r, int code, int signo, int timed_out, const char *out)
{
	r->res.exited = signo == 0;
	r->res.exit_code = signo == 0 ? code : -1;
	r->res.signaled = signo != 0;
	r->res.signo = signo;
	r->res.timed_out = timed_out;
	r->res.duration_ms = 30000;
	capture_init(&r->res.out, 64);
	capture_add(&r->res.out, out, strlen(out));
	run_result(r, 1);
}

/* Records made from results the executor could report. */
static void
test_records(void)
{
	struct script s;
	struct run r;
	char link[300];

	script_make(&s, "shell", "rec.sh", "echo\n", "[]", "{}",
	    "{\"stdout\": \"json\", \"file\": \"out.txt\"}", "env");
	ok(prepare(&r, &s, "{}") == 0, "timed out: prepared");
	/* The script made its output file a link: not followed. */
	snprintf(link, sizeof(link), "%s/out.txt", r.workdir);
	ok(symlink("/etc/passwd", link) == 0, "timed out: link made");
	ended(&r, 0, 15, 1, "{\"half\": ");
	is_str(r.final.status, "timed_out", "timed out: status");
	ok(!r.final.has_exit && r.final.has_signal && r.final.signo == 15,
	    "timed out: the signal");
	is_str(r.final.output_json, NULL, "timed out: stdout not parsed");
	ok(r.final.output_file == NULL, "timed out: no output file");
	ok(starts(r.final.error, "timed out after 30 s; the output file "
	    "\"out.txt\" could not be read: "), "timed out: error %s",
	    r.final.error);
	ok(r.final.outlen == 9 && memcmp(r.final.out, "{\"half\": ", 9) == 0,
	    "timed out: stdout kept");
	run_release(&r);

	script_make(&s, "shell", "rec.sh", NULL, "[]", "{}",
	    "{\"stdout\": \"json\"}", "env");
	ok(prepare(&r, &s, "{}") == 0, "failed: prepared");
	ended(&r, 2, 0, 0, "oops");
	is_str(r.final.status, "failed", "failed: status as the exit made it");
	is_str(r.final.output_json, NULL, "failed: no JSON");
	ok(starts(r.final.error, "stdout is not valid JSON: "),
	    "failed: error %s", r.final.error);
	run_release(&r);

	/* A run that could not start ends `error` with the reason. */
	run_init(&r, &conf, 42);
	script_make(&s, "shell", "rec.sh", NULL, "[]", "{}", "{}", "env");
	run_take_script(&r, &s);
	run_errorf(&r, "could not start: %s", "no");
	r.version_known = 1;
	run_error_final(&r);
	is_str(r.final.status, "error", "error: status");
	is_str(r.final.error, "could not start: no", "error: text");
	is_str(r.final.version, r.s.version, "error: the version known");
	ok(r.final.ended_mono_ms > 0 && !r.final.has_stats,
	    "error: an end time, no stats");
	r.version_known = 0;
	run_error_final(&r);
	is_str(r.final.version, NULL, "error: no version when unknown");
	run_release(&r);
}

/* Seals `plain` under conf's key: a fresh string (free it). */
static char *
sealed(const struct secret_key *k, const char *plain)
{
	struct buf b = BUF_INIT;

	secret_seal(k, plain, strlen(plain), &b);
	return buf_detach(&b, NULL);
}

/* 1 when `needle` occurs in data[0..len). */
static int
has(const char *data, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; data != NULL && i + n <= len; i++)
		if (memcmp(data + i, needle, n) == 0)
			return 1;
	return 0;
}

/* The input's secret properties merged back (run_merge_secret_input). */
static void
test_merge_secret_input(void)
{
	const char *it = "{\"a\":1,\"pw\":\"***\",\"z\":[2]}";
	const char *st = "{\"pw\":{\"k\":\"v\"},\"late\":\"x\"}";
	yajl_val in = json_parse(it, strlen(it), NULL, 0);
	yajl_val sec = json_parse(st, strlen(st), NULL, 0);
	struct buf out = BUF_INIT;

	ok(in != NULL && sec != NULL, "merge: inputs parse");
	run_merge_secret_input(in, sec, &out);
	is_str(buf_str(&out), "{\"a\":1,\"pw\":{\"k\":\"v\"},\"z\":[2],"
	    "\"late\":\"x\"}", "merge: each value in its place, a missing "
	    "one at the end");
	buf_reset(&out);
	run_merge_secret_input(in, NULL, &out);
	is_str(buf_str(&out), "{\"a\":1,\"pw\":\"***\",\"z\":[2]}",
	    "merge: nothing to merge leaves the input");
	buf_free(&out);
	yajl_tree_free(in);
	yajl_tree_free(sec);
}

/* What may show a value: raw, as JSON string text, as JSON. */
static void
test_mask_value(void)
{
	struct secret_mask m = SECRET_MASK_INIT;
	struct buf out = BUF_INIT;
	const char *vt = "[\"q\\\"uote-pw\", 123456, {\"u\":\"leafy\","
	    "\"n\":42}, \"abc\"]";
	const char *text = "q\"uote-pw|\"q\\\"uote-pw\"|123456|"
	    "{\"u\":\"leafy\",\"n\":42}|leafy|abc";
	const char *jt = "{\"a\":\"q\\\"uote-pw\",\"b\":123456}";
	yajl_val v = json_parse(vt, strlen(vt), NULL, 0);

	ok(v != NULL, "mask: values parse");
	for (size_t i = 0; v != NULL && i < v->u.array.len; i++)
		run_mask_value(&m, v->u.array.values[i]);
	secret_mask_apply(&m, text, strlen(text), 0, &out);
	is_str(buf_str(&out), "***|\"***\"|***|***|***|abc",
	    "mask: raw, JSON-escaped, number, object and its strings; "
	    "short values are not masked");
	buf_reset(&out);
	ok(run_mask_json(&m, jt, strlen(jt), &out) == -1 && out.len == 0,
	    "mask JSON: a value that is JSON's own (a number) breaks it: "
	    "refused, nothing written");
	buf_reset(&out);
	jt = "{\"a\":\"q\\\"uote-pw\",\"b\":[\"leafy\"]}";
	ok(run_mask_json(&m, jt, strlen(jt), &out) == 0,
	    "mask JSON: strings masked, still JSON");
	is_str(buf_str(&out), "{\"a\":\"***\",\"b\":[\"***\"]}",
	    "mask JSON: compact, each value \"***\"");
	buf_free(&out);
	secret_mask_free(&m);
	yajl_tree_free(v);
}

/*
 * A run with secrets, through the executor: the child gets every value
 * (secret_env after env, secret inputs in the input, INPUT_* and stdin),
 * and the record shows none of them (stdout, stderr, output, the output
 * file, the error). Values sealed under another key, or without a key,
 * end the run before it starts.
 */
static void
test_secrets(void)
{
	struct secret_key other;
	struct script s;
	struct run r;
	char err[512], *sec_env, *sec_in, *sec_other;
	struct buf b = BUF_INIT;

	conf.has_secret_key = 1;
	randombytes_buf(conf.secret_key.k, sizeof(conf.secret_key.k));
	randombytes_buf(other.k, sizeof(other.k));
	sec_env = sealed(&conf.secret_key, "Env-S3cret-Value");
	sec_in = sealed(&conf.secret_key, "{\"pw\":\"In-S3cret-Pw\"}");
	sec_other = sealed(&other, "Env-S3cret-Value");

	script_make(&s, "shell", "sec.sh",
	    "#!/bin/sh\n"
	    "line=$(cat)\n"
	    "printf '{\"k\": \"%s\", \"pw\": \"%s\", \"plain\": \"%s\", "
	    "\"in\": %s}' \"$API_KEY\" \"$INPUT_PW\" \"$PLAIN\" \"$line\"\n"
	    "printf 'err %s %s' \"$API_KEY\" \"$INPUT_PW\" >&2\n"
	    "printf 'file %s %s' \"$API_KEY\" \"$INPUT_PW\" > out.txt\n",
	    "[\"{pw}\"]", "{\"PLAIN\": \"plain-value\"}",
	    "{\"stdout\": \"json\", \"file\": \"out.txt\"}", "both");
	buf_printf(&b, "{\"API_KEY\": \"%s\"}", sec_env);
	s.secret_env_json = buf_detach(&b, NULL);
	run_init(&r, &conf, 42);
	run_take_script(&r, &s);
	if (!ok(run_parse(&r, "{\"user\": \"bob\", \"pw\": \"***\"}",
	    sec_in) == 0 && run_workdir(&r, (uid_t)-1, (gid_t)-1) == 0 &&
	    run_spec(&r, (uid_t)-1, (gid_t)-1, NULL) == 0,
	    "secrets: spec built"))
		printf("#   %s\n", buf_str(&r.error));
	is_str(env_get(r.spec.envp, "API_KEY"), "Env-S3cret-Value",
	    "secrets: secret_env reaches the child");
	is_str(env_get(r.spec.envp, "PLAIN"), "plain-value",
	    "secrets: env beside it");
	is_str(env_get(r.spec.envp, "INPUT_PW"), "In-S3cret-Pw",
	    "secrets: a secret input reaches the child");
	is_str(env_get(r.spec.envp, "INPUT_JSON"),
	    "{\"user\":\"bob\",\"pw\":\"In-S3cret-Pw\"}",
	    "secrets: in its place in the input");
	is_str(r.spec.argv[2], "In-S3cret-Pw", "secrets: and in the args");
	ok(exec_run(&r.spec, NULL, &r.res, err, sizeof(err)) == 0,
	    "secrets: runs");
	run_result(&r, clock_mono_ms());
	is_str(r.final.status, "succeeded", "secrets: status");
	is_str(r.final.output_json, "{\"k\":\"***\",\"pw\":\"***\","
	    "\"plain\":\"plain-value\",\"in\":{\"user\":\"bob\","
	    "\"pw\":\"***\"}}", "secrets: output masked");
	ok(!has(r.final.out, r.final.outlen, "S3cret") &&
	    has(r.final.out, r.final.outlen, "\"k\": \"***\""),
	    "secrets: stdout masked");
	ok(r.final.errlen == 11 && memcmp(r.final.err, "err *** ***", 11) == 0,
	    "secrets: stderr masked");
	ok(r.final.output_file_len == 12 &&
	    memcmp(r.final.output_file, "file *** ***", 12) == 0,
	    "secrets: the output file masked");
	run_release(&r);

	/* The error text, whatever put a value there. */
	script_make(&s, "shell", "sec.sh", NULL, "[]", "{}", "{}", "env");
	run_init(&r, &conf, 42);
	run_take_script(&r, &s);
	ok(run_parse(&r, "{\"pw\": \"***\"}", sec_in) == 0,
	    "secrets: error: parsed");
	run_errorf(&r, "could not start: In-S3cret-Pw");
	run_error_final(&r);
	is_str(r.final.error, "could not start: ***", "secrets: error masked");
	run_release(&r);

	/* Sealed under another key, or no key at all. */
	script_make(&s, "shell", "sec.sh", NULL, "[]", "{}", "{}", "env");
	buf_printf(&b, "{\"API_KEY\": \"%s\"}", sec_other);
	s.secret_env_json = buf_detach(&b, NULL);
	run_init(&r, &conf, 42);
	run_take_script(&r, &s);
	is_int(run_parse(&r, "{}", NULL), -1, "secrets: another key refused");
	ok(strstr(buf_str(&r.error), "secret_env API_KEY cannot be opened: "
	    "a sealed secret does not open with this node's key") != NULL,
	    "secrets: says so: %s", buf_str(&r.error));
	run_release(&r);
	script_make(&s, "shell", "sec.sh", NULL, "[]", "{}", "{}", "env");
	run_init(&r, &conf, 42);
	run_take_script(&r, &s);
	is_int(run_parse(&r, "{\"pw\": \"***\"}", sec_other), -1,
	    "secrets: a secret input under another key refused");
	ok(strstr(buf_str(&r.error), "the execution's secret inputs cannot be "
	    "opened") != NULL, "secrets: says so: %s", buf_str(&r.error));
	run_release(&r);
	conf.has_secret_key = 0;
	script_make(&s, "shell", "sec.sh", NULL, "[]", "{}", "{}", "env");
	run_init(&r, &conf, 42);
	run_take_script(&r, &s);
	is_int(run_parse(&r, "{\"pw\": \"***\"}", sec_in), -1,
	    "secrets: no key refused");
	ok(strstr(buf_str(&r.error), "this node has no secret key") != NULL,
	    "secrets: says so: %s", buf_str(&r.error));
	run_release(&r);
	free(sec_env);
	free(sec_in);
	free(sec_other);
}

/* The script's limits reach the spec; a limit the run hit reaches the
 * record, named only when the run failed. */
static void
test_limits(void)
{
	struct script s;
	struct run r;
	char path[300];
	FILE *f;

	script_make(&s, "shell", "lim.sh", "echo\n", "[]", "{}",
	    "{\"stdout\": \"text\"}", "env");
	s.limits_json = xstrdup("{\"memory_mb\":128,\"pids\":8,"
	    "\"cpu_cores\":0.5,\"file_size_mb\":3,\"output_cap_kb\":4}");
	snprintf(s.network, sizeof(s.network), "none");
	ok(prepare(&r, &s, "{}") == 0, "limits: prepared");
	ok(r.spec.limits->memory_bytes == 128 << 20 &&
	    r.spec.limits->pids == 8 && r.spec.limits->cpu_cores == 0.5 &&
	    r.spec.limits->fsize_bytes == 3 << 20,
	    "limits: the script's own in the spec");
	is_int(r.spec.capture_cap, 4096, "limits: output_cap_kb is the cap");
	is_int(r.spec.network_none, 1, "limits: network none in the spec");
	ok(r.spec.isolation != NULL, "limits: isolated by default");
	run_release(&r);
	conf.isolation = 0;
	script_make(&s, "shell", "lim.sh", NULL, "[]", "{}",
	    "{\"stdout\": \"text\"}", "env");
	snprintf(s.network, sizeof(s.network), "none");
	ok(prepare(&r, &s, "{}") == 0, "no isolation: prepared");
	ok(r.spec.isolation == NULL && r.spec.network_none == 1,
	    "no isolation: none in the spec, network none still");
	conf.isolation = 1;
	run_release(&r);
	script_make(&s, "shell", "lim.sh", NULL, "[]", "{}",
	    "{\"stdout\": \"text\"}", "env");
	s.limits_json = xstrdup("{\"memory_mb\":128,\"pids\":8,"
	    "\"cpu_cores\":0.5,\"file_size_mb\":3,\"output_cap_kb\":4}");
	ok(prepare(&r, &s, "{}") == 0, "limits: prepared again");

	r.res.limit = EXEC_LIMIT_MEMORY;
	ended(&r, 0, 9, 0, "");
	is_str(r.final.status, "failed", "OOM kill: failed");
	is_str(r.final.limit, "memory", "OOM kill: limit memory");
	is_str(r.final.error, "memory limit of 128 MB exceeded",
	    "OOM kill: the error names the limit and its value");
	run_release(&r);

	script_make(&s, "shell", "lim.sh", NULL, "[]", "{}",
	    "{\"stdout\": \"text\"}", "env");
	s.limits_json = xstrdup("{\"pids\":8,\"file_size_mb\":1}");
	ok(prepare(&r, &s, "{}") == 0, "limits: prepared again");
	r.res.limit = EXEC_LIMIT_PIDS;
	ended(&r, 0, 0, 0, "");
	is_str(r.final.status, "succeeded", "pids hit, exit 0: succeeded");
	is_str(r.final.limit, NULL, "pids hit, exit 0: no limit");
	is_str(r.final.error, "pids limit of 8 exceeded during the run, "
	    "which went on", "pids hit, exit 0: noted in the error");
	run_release(&r);

	script_make(&s, "shell", "lim.sh", NULL, "[]", "{}",
	    "{\"stdout\": \"text\"}", "env");
	s.limits_json = xstrdup("{\"pids\":8,\"file_size_mb\":1}");
	ok(prepare(&r, &s, "{}") == 0, "limits: prepared again");
	r.res.limit = EXEC_LIMIT_PIDS;
	ended(&r, 0, 15, 1, "");
	is_str(r.final.status, "timed_out", "pids hit, timed out: timed_out");
	is_str(r.final.limit, NULL, "pids hit, timed out: no limit");
	is_str(r.final.error, "timed out after 30 s; pids limit of 8 exceeded "
	    "during the run, which went on", "pids hit, timed out: noted");
	run_release(&r);

	/* Python ignores SIGXFSZ: its write fails with EFBIG, and the file
	 * it wrote stops at the limit in the work dir. */
	script_make(&s, "shell", "lim.sh", NULL, "[]", "{}",
	    "{\"stdout\": \"text\"}", "env");
	s.limits_json = xstrdup("{\"file_size_mb\":1}");
	ok(prepare(&r, &s, "{}") == 0, "limits: prepared again");
	snprintf(path, sizeof(path), "%s/big.bin", r.workdir);
	if ((f = fopen(path, "w")) == NULL || fclose(f) != 0 ||
	    truncate(path, 1 << 20) == -1)
		ok(0, "cannot make %s", path);
	ended(&r, 1, 0, 0, "");
	is_str(r.final.limit, "file_size",
	    "failed with a file at the limit in its work dir: file_size");
	is_str(r.final.error, "file size limit of 1 MB exceeded",
	    "file size: the error names it");
	run_release(&r);

	script_make(&s, "shell", "lim.sh", NULL, "[]", "{}",
	    "{\"stdout\": \"text\"}", "env");
	s.limits_json = xstrdup("{\"file_size_mb\":2}");
	ok(prepare(&r, &s, "{}") == 0, "limits: prepared again");
	snprintf(path, sizeof(path), "%s/big.bin", r.workdir);
	if ((f = fopen(path, "w")) == NULL || fclose(f) != 0 ||
	    truncate(path, 1 << 20) == -1)
		ok(0, "cannot make %s", path);
	ended(&r, 1, 0, 0, "");
	is_str(r.final.status, "failed", "failed below the limits: failed");
	is_str(r.final.limit, NULL, "failed below the limits: no limit");
	is_str(r.final.error, NULL, "failed below the limits: no error");
	run_release(&r);

	/* [runner] rlimit_fsize_mb below the run's file size limit wins. */
	conf.rlimit_fsize_mb = 2;
	script_make(&s, "shell", "lim.sh", NULL, "[]", "{}",
	    "{\"stdout\": \"text\"}", "env");
	ok(prepare(&r, &s, "{}") == 0, "limits: prepared again");
	is_int(r.spec.limits->fsize_bytes, 2 << 20,
	    "the configured rlimit_fsize_mb, when lower, holds");
	run_release(&r);
	conf.rlimit_fsize_mb = 0;
}

int
main(void)
{
	plan_lazy();
	conf_defaults(&conf);
	snprintf(tmp, sizeof(tmp), "/tmp/test-run-XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	/* As the daemon's: the scripts in a script root, the work dirs in
	 * a work base of their own beside it (hidden from isolated runs). */
	snprintf(work, sizeof(work), "/tmp/test-run-work-XXXXXX");
	if (mkdtemp(work) == NULL) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	free(conf.work_dir);
	conf.work_dir = xstrdup(work);
	conf.script_roots[conf.n_script_roots++] = xstrdup(tmp);

	test_shebang();
	test_status();
	test_stdout_json();
	test_spec_shell();
	test_spec_binary_and_python();
	test_spec_errors();
	test_records();
	test_merge_secret_input();
	test_mask_value();
	test_secrets();
	test_limits();

	char err[512];
	if (sandbox_workdir_remove(tmp, err, sizeof(err)) == -1 ||
	    sandbox_workdir_remove(work, err, sizeof(err)) == -1)
		printf("# %s\n", err);
	conf_free(&conf);
	return done_testing();
}
