/*
 * runlimits.c - a run's resource limits: the script's fields, the config's
 * defaults and maxima, the cgroup files that enforce them and the
 * counters that tell a run hit one. See runlimits.h.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "json.h"
#include "runlimits.h"
#include "schema.h"

#define MIB (1024LL * 1024)

/* How far limits_file_at looks. */
#define FILE_AT_MAX_ENTRIES 4096
#define FILE_AT_MAX_DEPTH 16

/* The five limits: JSON name, and where the config keeps the default and
 * the maximum (offsets into struct conf); cpu_cores is the one double. */
enum { L_MEMORY, L_PIDS, L_CPU, L_FSIZE, L_OUTPUT, L_COUNT };

static const struct {
	const char *name;
	size_t def, max;
} lim[L_COUNT] = {
	[L_MEMORY] = { "memory_mb", offsetof(struct conf, limit_memory_mb),
	    offsetof(struct conf, limit_memory_mb_max) },
	[L_PIDS] = { "pids", offsetof(struct conf, limit_pids),
	    offsetof(struct conf, limit_pids_max) },
	[L_CPU] = { "cpu_cores", offsetof(struct conf, limit_cpu_cores),
	    offsetof(struct conf, limit_cpu_cores_max) },
	[L_FSIZE] = { "file_size_mb", offsetof(struct conf, limit_file_size_mb),
	    offsetof(struct conf, limit_file_size_mb_max) },
	[L_OUTPUT] = { "output_cap_kb",
	    offsetof(struct conf, limit_output_cap_kb),
	    offsetof(struct conf, limit_output_cap_kb_max) },
};

static long long
conf_ll(const struct conf *c, size_t off)
{
	return *(const long long *)(const void *)((const char *)c + off);
}

static double
conf_dbl(const struct conf *c, size_t off)
{
	return *(const double *)(const void *)((const char *)c + off);
}

static int
limit_index(const char *name)
{
	for (int i = 0; i < L_COUNT; i++)
		if (strcmp(lim[i].name, name) == 0)
			return i;
	return -1;
}

/* ---- the script's fields ------------------------------------------- */

/* One member: 0 with the value in *ll or *d, or -1 with e. */
static int
check_one(const struct conf *c, int i, yajl_val v, long long *ll, double *d,
    struct verr *e)
{
	char field[64];

	snprintf(field, sizeof(field), "limits.%s", lim[i].name);
	if (i == L_CPU) {
		double max = conf_dbl(c, lim[i].max);

		if (!YAJL_IS_NUMBER(v) || !isfinite(YAJL_GET_DOUBLE(v)) ||
		    YAJL_GET_DOUBLE(v) < LIMITS_MIN_CPU_CORES ||
		    YAJL_GET_DOUBLE(v) > max) {
			verr_set(e, field, "%s must be a number of CPUs from "
			    "%g to %g (the configured maximum)", field,
			    LIMITS_MIN_CPU_CORES, max);
			return -1;
		}
		*d = YAJL_GET_DOUBLE(v);
		return 0;
	}
	long long max = conf_ll(c, lim[i].max);
	if (!YAJL_IS_INTEGER(v) || !schema_is_integer(v) ||
	    YAJL_GET_INTEGER(v) < 1 || YAJL_GET_INTEGER(v) > max) {
		verr_set(e, field, "%s must be an integer from 1 to %lld (the "
		    "configured maximum)", field, max);
		return -1;
	}
	*ll = YAJL_GET_INTEGER(v);
	return 0;
}

int
limits_check(const struct conf *c, yajl_val v, struct buf *stored,
    struct verr *e)
{
	long long ll[L_COUNT] = { 0 };
	double d = 0;
	int set[L_COUNT] = { 0 };
	struct jw w;

	if (!YAJL_IS_OBJECT(v)) {
		verr_set(e, "limits", "limits must be an object such as "
		    "{\"memory_mb\": 512, \"pids\": 64}");
		return -1;
	}
	for (size_t k = 0; k < v->u.object.len; k++) {
		const char *name = v->u.object.keys[k];
		yajl_val x = v->u.object.values[k];
		int i = limit_index(name);
		struct buf f = BUF_INIT;

		if (i < 0) {
			buf_adds(&f, "limits");
			schema_path_key(&f, name);
			verr_set(e, buf_str(&f), "unknown limit \"%s\": limits "
			    "has memory_mb, pids, cpu_cores, file_size_mb and "
			    "output_cap_kb", name);
			buf_free(&f);
			return -1;
		}
		if (set[i]) {
			verr_set(e, "limits", "limits names \"%s\" twice", name);
			return -1;
		}
		if (YAJL_IS_NULL(x))
			continue;
		if (check_one(c, i, x, &ll[i], &d, e) == -1)
			return -1;
		set[i] = 1;
	}
	jw_init(&w, stored);
	jw_obj(&w);
	for (int i = 0; i < L_COUNT; i++) {
		if (!set[i])
			continue;
		jw_key(&w, lim[i].name);
		if (i == L_CPU)
			jw_double(&w, d);
		else
			jw_int(&w, ll[i]);
	}
	jw_obj_end(&w);
	jw_free(&w);
	return 0;
}

int
limits_network_check(yajl_val v, const char **out, struct verr *e)
{
	if (YAJL_IS_STRING(v) && strcmp(v->u.string, "host") == 0) {
		*out = "host";
		return 0;
	}
	if (YAJL_IS_STRING(v) && strcmp(v->u.string, "none") == 0) {
		*out = "none";
		return 0;
	}
	verr_set(e, "network", "network must be \"host\" (the host's network) "
	    "or \"none\" (an empty network namespace)");
	return -1;
}

void
limits_effective(const struct conf *c, const char *stored,
    struct run_limits *out)
{
	long long *ll[L_COUNT] = {
		[L_MEMORY] = &out->memory_mb, [L_PIDS] = &out->pids,
		[L_FSIZE] = &out->file_size_mb,
		[L_OUTPUT] = &out->output_cap_kb,
	};
	yajl_val v = NULL;

	for (int i = 0; i < L_COUNT; i++)
		if (i != L_CPU)
			*ll[i] = conf_ll(c, lim[i].def);
	out->cpu_cores = c->limit_cpu_cores;
	if (stored != NULL && *stored != '\0')
		v = json_parse(stored, strlen(stored), NULL, 0);
	for (int i = 0; i < L_COUNT; i++) {
		yajl_val x = json_get(v, lim[i].name);

		if (x == NULL || !YAJL_IS_NUMBER(x))
			continue;
		if (i == L_CPU) {
			double d = YAJL_GET_DOUBLE(x);

			if (isfinite(d) && d >= LIMITS_MIN_CPU_CORES)
				out->cpu_cores = d;
		} else if (YAJL_IS_INTEGER(x) && YAJL_GET_INTEGER(x) >= 1) {
			*ll[i] = YAJL_GET_INTEGER(x);
		}
	}
	yajl_tree_free(v);
	for (int i = 0; i < L_COUNT; i++)
		if (i != L_CPU && *ll[i] > conf_ll(c, lim[i].max))
			*ll[i] = conf_ll(c, lim[i].max);
	if (out->cpu_cores > c->limit_cpu_cores_max)
		out->cpu_cores = c->limit_cpu_cores_max;
}

void
limits_write(struct jw *w, const struct run_limits *l)
{
	jw_obj(w);
	jw_key(w, "memory_mb");
	jw_int(w, l->memory_mb);
	jw_key(w, "pids");
	jw_int(w, l->pids);
	jw_key(w, "cpu_cores");
	jw_double(w, l->cpu_cores);
	jw_key(w, "file_size_mb");
	jw_int(w, l->file_size_mb);
	jw_key(w, "output_cap_kb");
	jw_int(w, l->output_cap_kb);
	jw_obj_end(w);
}

/* ---- to the executor ----------------------------------------------- */

/* The lower of two limits where 0 means none. */
static long long
lower(long long a, long long b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

void
limits_fallback(const struct sandbox *sb, struct exec_limits *l)
{
	if (l->memory_bytes > 0 && sandbox_ctrl_version(sb, SANDBOX_MEMORY) == 0)
		l->as_bytes = lower(l->as_bytes, l->memory_bytes);
	if (l->pids > 0 && sandbox_ctrl_version(sb, SANDBOX_PIDS) == 0)
		l->nproc = (long)lower(l->nproc, l->pids);
}

/* Writes `value` into file `name` of cgroup `dir`. */
static int
cg_write(const char *dir, const char *name, const char *value)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, saved;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	do
		n = write(fd, value, strlen(value));
	while (n == -1 && errno == EINTR);
	saved = errno;
	close(fd);
	errno = saved;
	return n == -1 ? -1 : 0;
}

/* Whether cgroup `dir` has file `name`. */
static int
cg_has(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* The value of `key` in the flat keyed file `name` of `dir` (memory.events,
 * memory.oom_control, pids.events), or -1 when there is none. */
static long long
cg_keyed(const char *dir, const char *name, const char *key)
{
	char path[PATH_MAX], text[1024];
	size_t klen = strlen(key);
	ssize_t n, got = 0;
	const char *p;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((size_t)got < sizeof(text) - 1) {
		n = read(fd, text + got, sizeof(text) - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	text[got] = '\0';
	for (p = text; *p != '\0';) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
			return strtoll(p + klen + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return -1;
}

/* A single number file (memory.failcnt), or -1. */
static long long
cg_number(const char *dir, const char *name)
{
	char path[PATH_MAX], text[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	do
		n = read(fd, text, sizeof(text) - 1);
	while (n == -1 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	return strtoll(text, NULL, 10);
}

/* The OOM kills counted in a run's memory cgroup so far, or -1. */
static long long
oom_kills(const char *dir, int version)
{
	if (version == 2)
		return cg_keyed(dir, "memory.events", "oom_kill");
	return cg_keyed(dir, "memory.oom_control", "oom_kill");
}

static int
apply_memory(struct sandbox_run *run, long long bytes, char *err,
    size_t errlen)
{
	const char *dir;
	char v[32];
	int version;

	dir = sandbox_run_ctrl_dir(run, SANDBOX_MEMORY, &version);
	if (dir == NULL)
		return 0;
	if (version == 2) {
		snprintf(v, sizeof(v), bytes > 0 ? "%lld" : "max", bytes);
		if (cg_write(dir, "memory.max", v) == -1)
			goto fail;
		/* No swap at all: memory.max then caps RAM + swap. */
		if (cg_has(dir, "memory.swap.max") &&
		    cg_write(dir, "memory.swap.max", bytes > 0 ? "0" :
		    "max") == -1)
			goto fail;
	} else {
		snprintf(v, sizeof(v), "%lld", bytes > 0 ? bytes : -1LL);
		/*
		 * memsw (RAM + swap) must stay at or above the RAM limit at
		 * every step: raising, memsw goes first; lowering, it goes
		 * second. Written before and after, whichever the first
		 * refuses (EINVAL) the second sets; a fresh group has neither
		 * limit yet, so it only ever lowers.
		 */
		if (run->sb->memv1_memsw && !run->v1_fresh[SANDBOX_MEMORY])
			(void)cg_write(dir, "memory.memsw.limit_in_bytes", v);
		if (cg_write(dir, "memory.limit_in_bytes", v) == -1)
			goto fail;
		if (run->sb->memv1_memsw &&
		    cg_write(dir, "memory.memsw.limit_in_bytes", v) == -1)
			goto fail;
	}
	/* A group made for this run has counted nothing yet. */
	run->oom_kills0 = version == 1 && run->v1_fresh[SANDBOX_MEMORY] ? 0 :
	    oom_kills(dir, version);
	return 0;
fail:
	snprintf(err, errlen, "cannot set the memory limit in \"%s\": %s", dir,
	    strerror(errno));
	return -1;
}

static int
apply_pids(struct sandbox_run *run, long long pids, char *err, size_t errlen)
{
	const char *dir;
	char v[32];
	int version;

	dir = sandbox_run_ctrl_dir(run, SANDBOX_PIDS, &version);
	if (dir == NULL)
		return 0;
	snprintf(v, sizeof(v), pids > 0 ? "%lld" : "max", pids);
	/* A group kept from the last run may hold this limit already. */
	if (version == 1 && strcmp(run->v1_limits[SANDBOX_PIDS], v) == 0)
		;
	else if (cg_write(dir, "pids.max", v) == -1) {
		snprintf(err, errlen, "cannot set the pids limit in \"%s\": %s",
		    dir, strerror(errno));
		return -1;
	} else if (version == 1)
		snprintf(run->v1_limits[SANDBOX_PIDS],
		    sizeof(run->v1_limits[SANDBOX_PIDS]), "%s", v);
	run->pids_max0 = version == 1 && run->v1_fresh[SANDBOX_PIDS] ? 0 :
	    cg_keyed(dir, "pids.events", "max");
	return 0;
}

static int
apply_cpu(struct sandbox_run *run, double cores, char *err, size_t errlen)
{
	long long quota = (long long)(cores * LIMITS_CPU_PERIOD_US + 0.5);
	const char *dir;
	char v[64];
	int version, rc;

	dir = sandbox_run_ctrl_dir(run, SANDBOX_CPU, &version);
	if (dir == NULL)
		return 0;
	if (cores > 0 && quota < 1000)
		quota = 1000;
	if (version == 2) {
		if (cores > 0)
			snprintf(v, sizeof(v), "%lld %d", quota,
			    LIMITS_CPU_PERIOD_US);
		else
			snprintf(v, sizeof(v), "max %d", LIMITS_CPU_PERIOD_US);
		rc = cg_write(dir, "cpu.max", v);
	} else {
		/* A group kept from the last run may hold this limit already. */
		char period[32];

		snprintf(v, sizeof(v), "%lld", cores > 0 ? quota : -1LL);
		if (strcmp(run->v1_limits[SANDBOX_CPU], v) == 0)
			return 0;
		snprintf(period, sizeof(period), "%d", LIMITS_CPU_PERIOD_US);
		rc = cg_write(dir, "cpu.cfs_period_us", period);
		if (rc == 0)
			rc = cg_write(dir, "cpu.cfs_quota_us", v);
		snprintf(run->v1_limits[SANDBOX_CPU],
		    sizeof(run->v1_limits[SANDBOX_CPU]), "%s", rc == 0 ? v : "");
	}
	if (rc == -1) {
		snprintf(err, errlen, "cannot set the CPU limit in \"%s\": %s",
		    dir, strerror(errno));
		return -1;
	}
	return 0;
}

int
limits_apply(struct sandbox_run *run, const struct exec_limits *l, char *err,
    size_t errlen)
{
	static const struct exec_limits none;

	if (run->sb == NULL)
		return 0;
	if (l == NULL)
		l = &none;
	if (apply_memory(run, l->memory_bytes, err, errlen) == -1 ||
	    apply_pids(run, l->pids, err, errlen) == -1 ||
	    apply_cpu(run, l->cpu_cores, err, errlen) == -1)
		return -1;
	return 0;
}

/* The child died of `sig`, or exited as a shell does when its command
 * died of it. */
static int
died_of(int status, int sig)
{
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == sig;
	return WIFEXITED(status) && WEXITSTATUS(status) == 128 + sig;
}

/* Whether the kernel's OOM killer killed in the run's memory cgroup. */
static int
hit_memory(const struct sandbox_run *run, int status)
{
	const char *dir;
	long long now;
	int version;

	dir = sandbox_run_ctrl_dir(run, SANDBOX_MEMORY, &version);
	if (dir == NULL)
		return 0;
	now = oom_kills(dir, version);
	if (now >= 0 && run->oom_kills0 >= 0)
		return now > run->oom_kills0;
	/* A v1 kernel before 4.13 counts no kills: the limit was hit and
	 * the child died of SIGKILL, which we did not send (the caller
	 * sees to that: timeouts and cancels are told first). */
	if (version == 1 && WIFSIGNALED(status) &&
	    WTERMSIG(status) == SIGKILL)
		return cg_number(dir, run->sb->memv1_memsw ?
		    "memory.memsw.failcnt" : "memory.failcnt") > 0;
	return 0;
}

/* Whether a fork of the run was refused at its pids limit. */
static int
hit_pids(const struct sandbox_run *run)
{
	const char *dir;
	long long now;
	int version;

	dir = sandbox_run_ctrl_dir(run, SANDBOX_PIDS, &version);
	if (dir == NULL || run->pids_max0 < 0)
		return 0;
	now = cg_keyed(dir, "pids.events", "max");
	return now > run->pids_max0;
}

enum exec_limit
limits_verdict(const struct sandbox_run *run, const struct exec_limits *l,
    int status)
{
	if (l == NULL)
		return EXEC_LIMIT_NONE;
	if (l->memory_bytes > 0 && hit_memory(run, status))
		return EXEC_LIMIT_MEMORY;
	if (l->fsize_bytes > 0 && died_of(status, SIGXFSZ))
		return EXEC_LIMIT_FILE_SIZE;
	if (l->cpu_s > 0 && died_of(status, SIGXCPU))
		return EXEC_LIMIT_CPU_TIME;
	if (l->pids > 0 && hit_pids(run))
		return EXEC_LIMIT_PIDS;
	return EXEC_LIMIT_NONE;
}

/* One directory of limits_file_at (`fd` consumed); *budget counts the
 * entries still to look at. */
static int
file_at_in(int fd, long long bytes, int depth, int *budget)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int found = 0, sub;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while (!found && *budget > 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		(*budget)--;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (S_ISREG(st.st_mode) && st.st_size >= bytes) {
			found = 1;
		} else if (S_ISDIR(st.st_mode) && depth < FILE_AT_MAX_DEPTH) {
			sub = openat(dirfd(d), de->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub != -1)
				found = file_at_in(sub, bytes, depth + 1,
				    budget);
		}
	}
	closedir(d);
	return found;
}

int
limits_file_at(const char *dir, long long bytes)
{
	int budget = FILE_AT_MAX_ENTRIES, fd;

	if (dir == NULL || bytes <= 0)
		return 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return 0;
	return file_at_in(fd, bytes, 0, &budget);
}

/* ---- telling ------------------------------------------------------- */

const char *
limits_name(enum exec_limit hit)
{
	switch (hit) {
	case EXEC_LIMIT_MEMORY:
		return "memory";
	case EXEC_LIMIT_PIDS:
		return "pids";
	case EXEC_LIMIT_FILE_SIZE:
		return "file_size";
	case EXEC_LIMIT_CPU_TIME:
		return "cpu_time";
	case EXEC_LIMIT_NONE:
		break;
	}
	return NULL;
}

/* Bytes as the MB the config and the script gave (MiB, rounded up). */
static long long
as_mb(long long bytes)
{
	return (bytes + MIB - 1) / MIB;
}

void
limits_describe_hit(enum exec_limit hit, const struct exec_limits *l,
    struct buf *out)
{
	switch (hit) {
	case EXEC_LIMIT_MEMORY:
		buf_printf(out, "memory limit of %lld MB exceeded",
		    as_mb(l->memory_bytes));
		break;
	case EXEC_LIMIT_PIDS:
		buf_printf(out, "pids limit of %lld exceeded", l->pids);
		break;
	case EXEC_LIMIT_FILE_SIZE:
		buf_printf(out, "file size limit of %lld MB exceeded",
		    as_mb(l->fsize_bytes));
		break;
	case EXEC_LIMIT_CPU_TIME:
		buf_printf(out, "CPU time limit of %ld s exceeded", l->cpu_s);
		break;
	case EXEC_LIMIT_NONE:
		break;
	}
}

void
limits_describe_host(const struct sandbox *sb, struct buf *out)
{
	static const char *const v2[SANDBOX_NCTRL] = {
		[SANDBOX_MEMORY] = "cgroup v2 memory.max (memory.swap.max 0)",
		[SANDBOX_PIDS] = "cgroup v2 pids.max",
		[SANDBOX_CPU] = "cgroup v2 cpu.max",
	};
	static const char *const v1[SANDBOX_NCTRL] = {
		[SANDBOX_MEMORY] = "cgroup v1 memory.limit_in_bytes",
		[SANDBOX_PIDS] = "cgroup v1 pids.max",
		[SANDBOX_CPU] = "cgroup v1 cpu.cfs_quota_us",
	};
	static const char *const rl[SANDBOX_NCTRL] = {
		[SANDBOX_MEMORY] = "RLIMIT_AS of each process",
		[SANDBOX_PIDS] = "RLIMIT_NPROC of the run user",
		[SANDBOX_CPU] = "nothing (not enforced)",
	};
	static const char *const names[SANDBOX_NCTRL] = {
		[SANDBOX_MEMORY] = "memory_mb",
		[SANDBOX_PIDS] = "pids",
		[SANDBOX_CPU] = "cpu_cores",
	};

	for (int i = 0; i < SANDBOX_NCTRL; i++) {
		int ver = sandbox_ctrl_version(sb, (enum sandbox_ctrl)i);

		buf_printf(out, "%s by %s", names[i], ver == 2 ? v2[i] :
		    ver == 1 ? v1[i] : rl[i]);
		if (i == SANDBOX_MEMORY && ver == 1)
			buf_adds(out, sb->memv1_memsw ? " + memsw" :
			    " (no swap accounting: RAM only)");
		buf_adds(out, ", ");
	}
	buf_adds(out, "file_size_mb by RLIMIT_FSIZE, output_cap_kb by the "
	    "capture");
}
