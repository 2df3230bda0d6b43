/*
 * Unit tests of runlimits.h: the script's `limits` and `network` fields
 * against the config's maxima, the effective limits (defaults, lowered
 * to the maxima), the rlimit fallback, the texts, and the cgroup files
 * limits_apply writes and limits_verdict reads, on plain directories laid
 * out as a cgroup v2 and as cgroup v1 groups (a cgroup v2 with the
 * controllers cannot be had on the build machine; the executor's shell
 * tests, tests/exec/t-limits.sh, use the real ones there are).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "json.h"
#include "runlimits.h"
#include "tap.h"

static struct conf c;

static int
check(const char *json, struct buf *stored, struct verr *e)
{
	yajl_val v = json_parse(json, strlen(json), NULL, 0);
	int rc;

	buf_reset(stored);
	verr_clear(e);
	rc = limits_check(&c, v, stored, e);
	yajl_tree_free(v);
	return rc;
}

static void
taken(const char *json, const char *want)
{
	struct buf b = BUF_INIT;
	struct verr e;

	if (!ok(check(json, &b, &e) == 0 && strcmp(buf_str(&b), want) == 0,
	    "limits %s is stored as %s", json, want))
		printf("#   got \"%s\" (%s)\n", buf_str(&b), e.message);
	buf_free(&b);
}

static void
refused(const char *json, const char *field, const char *words)
{
	struct buf b = BUF_INIT;
	struct verr e;

	if (!ok(check(json, &b, &e) == -1 && strcmp(e.field, field) == 0 &&
	    strstr(e.message, words) != NULL, "limits %s is refused on %s",
	    json, field))
		printf("#   field \"%s\": %s\n", e.field, e.message);
	buf_free(&b);
}

static void
test_fields(void)
{
	yajl_val v;
	const char *net = NULL;
	struct verr e;

	taken("{}", "{}");
	taken("{\"memory_mb\": 512, \"pids\": 32}",
	    "{\"memory_mb\":512,\"pids\":32}");
	/* Stored in one order whatever the order given; null is absent. */
	taken("{\"output_cap_kb\": 4, \"cpu_cores\": 0.5, \"file_size_mb\": 1, "
	    "\"pids\": null}",
	    "{\"cpu_cores\":0.5,\"file_size_mb\":1,\"output_cap_kb\":4}");
	taken("{\"memory_mb\": 32768, \"cpu_cores\": 2}",
	    "{\"memory_mb\":32768,\"cpu_cores\":2}");
	refused("{\"memory_mb\": 32769}", "limits.memory_mb",
	    "from 1 to 32768 (the configured maximum)");
	refused("{\"memory_mb\": 0}", "limits.memory_mb", "from 1 to");
	refused("{\"memory_mb\": 51.5}", "limits.memory_mb", "an integer");
	refused("{\"memory_mb\": \"512\"}", "limits.memory_mb", "an integer");
	refused("{\"pids\": 4097}", "limits.pids", "from 1 to 4096");
	refused("{\"file_size_mb\": 102401}", "limits.file_size_mb",
	    "from 1 to 102400");
	refused("{\"output_cap_kb\": 16385}", "limits.output_cap_kb",
	    "from 1 to 16384");
	refused("{\"cpu_cores\": 2.5}", "limits.cpu_cores", "from 0.01 to 2");
	refused("{\"cpu_cores\": 0.001}", "limits.cpu_cores", "from 0.01");
	refused("{\"cpu_cores\": true}", "limits.cpu_cores", "a number");
	refused("{\"swap_mb\": 1}", "limits.swap_mb", "unknown limit");
	refused("[1]", "limits", "must be an object");

	v = json_parse("\"none\"", 6, NULL, 0);
	ok(limits_network_check(v, &net, &e) == 0 && strcmp(net, "none") == 0,
	    "network \"none\" is taken");
	yajl_tree_free(v);
	v = json_parse("\"host\"", 6, NULL, 0);
	ok(limits_network_check(v, &net, &e) == 0 && strcmp(net, "host") == 0,
	    "network \"host\" is taken");
	yajl_tree_free(v);
	v = json_parse("\"bridge\"", 8, NULL, 0);
	ok(limits_network_check(v, &net, &e) == -1 &&
	    strcmp(e.field, "network") == 0, "network \"bridge\" is refused");
	yajl_tree_free(v);
}

static void
test_effective(void)
{
	struct run_limits l;
	struct buf b = BUF_INIT;
	struct jw w;

	limits_effective(&c, NULL, &l);
	ok(l.memory_mb == 2048 && l.pids == 256 && l.cpu_cores == 2 &&
	    l.file_size_mb == 10240 && l.output_cap_kb == 1024,
	    "no limits: the config's defaults");
	limits_effective(&c, "{\"memory_mb\":128,\"cpu_cores\":0.5}", &l);
	ok(l.memory_mb == 128 && l.cpu_cores == 0.5 && l.pids == 256,
	    "the script's limits replace the defaults they name");
	/* Stored under a higher maximum: this node's maximum holds. */
	limits_effective(&c, "{\"memory_mb\":99999,\"cpu_cores\":64,"
	    "\"pids\":100000}", &l);
	ok(l.memory_mb == 32768 && l.cpu_cores == 2 && l.pids == 4096,
	    "a stored limit above the maximum is lowered to it");
	limits_effective(&c, "not json", &l);
	ok(l.memory_mb == 2048, "stored text that does not parse: defaults");

	jw_init(&w, &b);
	limits_effective(&c, "{\"cpu_cores\":0.5}", &l);
	limits_write(&w, &l);
	jw_free(&w);
	is_str(buf_str(&b), "{\"memory_mb\":2048,\"pids\":256,\"cpu_cores\":0.5,"
	    "\"file_size_mb\":10240,\"output_cap_kb\":1024}",
	    "the effective limits as JSON");
	buf_free(&b);
}

static void
test_fallback_and_texts(void)
{
	struct sandbox sb = SANDBOX_INIT;
	struct exec_limits l;
	struct buf b = BUF_INIT;

	memset(&l, 0, sizeof(l));
	l.memory_bytes = 512LL << 20;
	l.pids = 32;
	limits_fallback(NULL, &l);
	ok(l.as_bytes == 512LL << 20 && l.nproc == 32,
	    "no cgroups: memory as RLIMIT_AS, pids as RLIMIT_NPROC");
	memset(&l, 0, sizeof(l));
	l.memory_bytes = 512LL << 20;
	l.as_bytes = 256LL << 20;
	l.pids = 32;
	l.nproc = 100;
	limits_fallback(NULL, &l);
	ok(l.as_bytes == 256LL << 20 && l.nproc == 32,
	    "the lower of the configured rlimit and the limit");
	sb.kind = SANDBOX_CGROUP2;
	sb.cg2_ctrl = 1u << SANDBOX_MEMORY;
	sb.v1_base[SANDBOX_PIDS] = (char *)"/x";
	memset(&l, 0, sizeof(l));
	l.memory_bytes = 512LL << 20;
	l.pids = 32;
	limits_fallback(&sb, &l);
	ok(l.as_bytes == 0 && l.nproc == 0,
	    "with the controllers (v2 memory, v1 pids): no rlimits");
	limits_describe_host(&sb, &b);
	ok(strstr(buf_str(&b), "memory_mb by cgroup v2 memory.max") != NULL &&
	    strstr(buf_str(&b), "pids by cgroup v1 pids.max") != NULL &&
	    strstr(buf_str(&b), "cpu_cores by nothing (not enforced)") != NULL,
	    "the host's mechanisms: %s", buf_str(&b));

	memset(&l, 0, sizeof(l));
	l.memory_bytes = 512LL << 20;
	l.pids = 32;
	l.fsize_bytes = 1LL << 20;
	l.cpu_s = 10;
	buf_reset(&b);
	limits_describe_hit(EXEC_LIMIT_MEMORY, &l, &b);
	is_str(buf_str(&b), "memory limit of 512 MB exceeded", "memory text");
	buf_reset(&b);
	limits_describe_hit(EXEC_LIMIT_PIDS, &l, &b);
	is_str(buf_str(&b), "pids limit of 32 exceeded", "pids text");
	buf_reset(&b);
	limits_describe_hit(EXEC_LIMIT_FILE_SIZE, &l, &b);
	is_str(buf_str(&b), "file size limit of 1 MB exceeded", "file size text");
	buf_reset(&b);
	limits_describe_hit(EXEC_LIMIT_CPU_TIME, &l, &b);
	is_str(buf_str(&b), "CPU time limit of 10 s exceeded", "CPU time text");
	is_str(limits_name(EXEC_LIMIT_FILE_SIZE), "file_size", "name");
	ok(limits_name(EXEC_LIMIT_NONE) == NULL, "no limit: no name");
	buf_free(&b);
}

/* ---- cgroup files, on plain directories ---- */

static char tmp[] = "/tmp/test-runlimits.XXXXXX";

static void
put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static char *
get(const char *dir, const char *name)
{
	static char text[256];
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	text[0] = '\0';
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
	}
	return text;
}

static char *
subdir(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", tmp, name) == -1 || mkdir(p, 0700) == -1) {
		perror(name);
		exit(1);
	}
	return p;
}

static void
test_cgroup2_files(void)
{
	struct sandbox sb = SANDBOX_INIT;
	struct sandbox_run run;
	struct exec_limits l;
	char err[256];
	char *d = subdir("v2");

	sb.kind = SANDBOX_CGROUP2;
	sb.cg2_ctrl = (1u << SANDBOX_MEMORY) | (1u << SANDBOX_PIDS) |
	    (1u << SANDBOX_CPU);
	sandbox_run_init(&run);
	run.sb = &sb;
	run.cg2.path = d;
	put(d, "memory.max", "");
	put(d, "memory.swap.max", "");
	put(d, "pids.max", "");
	put(d, "cpu.max", "");
	put(d, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"
	    "oom_group_kill 0\n");
	put(d, "pids.events", "max 2\n");

	memset(&l, 0, sizeof(l));
	l.memory_bytes = 128LL << 20;
	l.pids = 32;
	l.cpu_cores = 0.5;
	ok(limits_apply(&run, &l, err, sizeof(err)) == 0, "v2: applied");
	is_str(get(d, "memory.max"), "134217728", "v2: memory.max");
	is_str(get(d, "memory.swap.max"), "0", "v2: memory.swap.max 0");
	is_str(get(d, "pids.max"), "32", "v2: pids.max");
	is_str(get(d, "cpu.max"), "50000 100000", "v2: cpu.max");
	ok(run.oom_kills0 == 1 && run.pids_max0 == 2,
	    "v2: the counters before the run (from an earlier run)");
	is_int(limits_verdict(&run, &l, 0), EXEC_LIMIT_NONE,
	    "v2: counters unchanged: no limit");
	put(d, "pids.events", "max 5\n");
	is_int(limits_verdict(&run, &l, 3 << 8), EXEC_LIMIT_PIDS,
	    "v2: pids.events max grew: pids");
	put(d, "memory.events", "max 9\noom 2\noom_kill 2\n");
	is_int(limits_verdict(&run, &l, SIGKILL), EXEC_LIMIT_MEMORY,
	    "v2: memory.events oom_kill grew: memory, before pids");
	is_int(limits_verdict(&run, &l, 0), EXEC_LIMIT_MEMORY,
	    "v2: told whatever the child's end");

	/* A cgroup kept for the next run gets "max" for what it does not
	 * limit. */
	memset(&l, 0, sizeof(l));
	put(d, "memory.max", "");       /* a plain file is not truncated */
	put(d, "memory.swap.max", "");
	put(d, "pids.max", "");
	put(d, "cpu.max", "");
	ok(limits_apply(&run, &l, err, sizeof(err)) == 0, "v2: no limits");
	is_str(get(d, "memory.max"), "max", "v2: memory.max back to max");
	is_str(get(d, "memory.swap.max"), "max", "v2: memory.swap.max max");
	is_str(get(d, "pids.max"), "max", "v2: pids.max back to max");
	is_str(get(d, "cpu.max"), "max 100000", "v2: cpu.max back to max");
	ok(limits_apply(&run, NULL, err, sizeof(err)) == 0,
	    "v2: no limits at all (NULL)");

	/* A file the kernel refuses fails the run's start. */
	snprintf(err, sizeof(err), "rm -rf '%s'", d);
	if (system(err) != 0)
		exit(1);
	l.memory_bytes = 1 << 20;
	ok(limits_apply(&run, &l, err, sizeof(err)) == -1 &&
	    strstr(err, "cannot set the memory limit") != NULL,
	    "v2: a limit that cannot be written: %s", err);
	run.cg2.path = NULL;
	free(d);
}

static void
test_cgroup1_files(void)
{
	struct sandbox sb = SANDBOX_INIT;
	struct sandbox_run run;
	struct exec_limits l;
	char err[256];
	char *m = subdir("mem"), *p = subdir("pids"), *u = subdir("cpu");

	sb.kind = SANDBOX_CGROUP2;      /* tree control only */
	sb.v1_base[SANDBOX_MEMORY] = tmp;
	sb.v1_base[SANDBOX_PIDS] = tmp;
	sb.v1_base[SANDBOX_CPU] = tmp;
	sb.memv1_memsw = 1;
	sandbox_run_init(&run);
	run.sb = &sb;
	run.cg2.path = tmp;             /* without the controllers */
	run.v1_path[SANDBOX_MEMORY] = m;
	run.v1_path[SANDBOX_PIDS] = p;
	run.v1_path[SANDBOX_CPU] = u;
	put(m, "memory.limit_in_bytes", "");
	put(m, "memory.memsw.limit_in_bytes", "");
	put(m, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n"
	    "oom_kill 0\n");
	put(p, "pids.max", "");
	put(p, "pids.events", "max 0\n");
	put(u, "cpu.cfs_period_us", "");
	put(u, "cpu.cfs_quota_us", "");

	memset(&l, 0, sizeof(l));
	l.memory_bytes = 64LL << 20;
	l.pids = 16;
	l.cpu_cores = 1.5;
	l.fsize_bytes = 1 << 20;
	l.cpu_s = 5;
	ok(limits_apply(&run, &l, err, sizeof(err)) == 0, "v1: applied");
	is_str(get(m, "memory.limit_in_bytes"), "67108864",
	    "v1: memory.limit_in_bytes");
	is_str(get(m, "memory.memsw.limit_in_bytes"), "67108864",
	    "v1: memory.memsw.limit_in_bytes the same (no swap)");
	is_str(get(p, "pids.max"), "16", "v1: pids.max");
	is_str(get(u, "cpu.cfs_period_us"), "100000", "v1: cfs period");
	is_str(get(u, "cpu.cfs_quota_us"), "150000", "v1: cfs quota");
	is_int(limits_verdict(&run, &l, 0), EXEC_LIMIT_NONE, "v1: none hit");
	is_int(limits_verdict(&run, &l, SIGXFSZ), EXEC_LIMIT_FILE_SIZE,
	    "killed by SIGXFSZ: file_size");
	is_int(limits_verdict(&run, &l, (128 + SIGXFSZ) << 8),
	    EXEC_LIMIT_FILE_SIZE, "exit 153 (a shell's): file_size");
	is_int(limits_verdict(&run, &l, SIGXCPU), EXEC_LIMIT_CPU_TIME,
	    "killed by SIGXCPU: cpu_time");
	is_int(limits_verdict(&run, &l, SIGKILL), EXEC_LIMIT_NONE,
	    "a plain SIGKILL: no limit");
	put(m, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n"
	    "oom_kill 1\n");
	is_int(limits_verdict(&run, &l, SIGKILL), EXEC_LIMIT_MEMORY,
	    "v1: oom_control's oom_kill grew: memory");
	put(p, "pids.events", "max 1\n");
	is_int(limits_verdict(&run, &l, 0), EXEC_LIMIT_MEMORY,
	    "memory goes before pids");
	l.fsize_bytes = 0;
	l.cpu_s = 0;
	l.memory_bytes = 0;
	is_int(limits_verdict(&run, &l, SIGXFSZ), EXEC_LIMIT_PIDS,
	    "limits not set are not told (SIGXFSZ without a file size limit)");
	run.cg2.path = NULL;
	run.v1_path[SANDBOX_MEMORY] = run.v1_path[SANDBOX_PIDS] =
	    run.v1_path[SANDBOX_CPU] = NULL;
	free(m);
	free(p);
	free(u);
}

static void
test_file_at(void)
{
	char *d = subdir("work"), *deep;
	char path[600];

	ok(!limits_file_at(d, 1024), "an empty dir: no file at the limit");
	put(d, "small", "abc");
	ok(!limits_file_at(d, 1024), "a small file is not at the limit");
	if (asprintf(&deep, "%s/a", d) == -1 || mkdir(deep, 0700) == -1)
		exit(1);
	snprintf(path, sizeof(path), "%s/big", deep);
	put(deep, "big", "");
	if (truncate(path, 1024) == -1)
		exit(1);
	ok(limits_file_at(d, 1024), "a file at the limit, one level down");
	snprintf(path, sizeof(path), "%s/link", d);
	if (symlink(deep, path) == -1)
		exit(1);
	snprintf(path, sizeof(path), "%s/big", deep);
	unlink(path);
	snprintf(path, sizeof(path), "%s/out", tmp);
	put(tmp, "out", "");
	if (truncate(path, 4096) == -1)
		exit(1);
	snprintf(path, sizeof(path), "%s/link2", d);
	if (symlink(tmp, path) == -1)
		exit(1);
	ok(!limits_file_at(d, 1024), "links are not followed");
	free(deep);
	free(d);
}

int
main(void)
{
	char cmd[128];

	plan_lazy();
	conf_defaults(&c);
	c.limit_cpu_cores = c.limit_cpu_cores_max = 2;
	test_fields();
	test_effective();
	test_fallback_and_texts();
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_cgroup2_files();
	test_cgroup1_files();
	test_file_at();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		ok(0, "remove %s", tmp);
	conf_free(&c);
	return done_testing();
}
