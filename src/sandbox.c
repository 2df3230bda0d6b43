/*
 * sandbox.c - tree containment (cgroup v2 or subreaper + process group),
 * accounting cgroups, and work directories. See sandbox.h.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include <sys/file.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "fsutil.h"
#include "log.h"
#include "runlimits.h"
#include "sandbox.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* How long sandbox_run_finish() waits for a killed tree to be gone. */
#define FINISH_WAIT_MS 2000

static void remove_cgroup(const char *path);
static void run_cgroup_close(struct run_cgroup *cg);

static const struct run_cgroup no_cgroup = RUN_CGROUP_NONE;
static int make_run_cgroup(const char *base, const char *name,
    const char *join, char **path_out, int *fd_out, char *err,
    size_t errlen);

static char *
path_join(const char *a, const char *b)
{
	struct buf b_ = BUF_INIT;

	buf_printf(&b_, "%s/%s", a, b);
	return buf_detach(&b_, NULL);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Reads a small file into `out` (NUL-terminated, truncated to outlen-1).
 * Returns the length or -1 (errno set). */
static ssize_t
read_small(const char *path, char *out, size_t outlen)
{
	ssize_t n, got = 0;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	while ((size_t)got < outlen - 1) {
		n = read(fd, out + got, outlen - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		got += n;
	}
	out[got] = '\0';
	close(fd);
	return got;
}

static int
write_str(const char *path, const char *s)
{
	ssize_t n;
	int fd, saved;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	do
		n = write(fd, s, strlen(s));
	while (n == -1 && errno == EINTR);
	saved = errno;
	close(fd);
	errno = saved;
	return n == -1 ? -1 : 0;
}

/* Looks up "key value" in a flat keyed file (cpu.stat, cgroup.events). */
static int
keyed_value(const char *text, const char *key, long long *val)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
			*val = strtoll(p + klen + 1, NULL, 10);
			return 0;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

/*
 * Finds the mount point of a cgroup hierarchy in /proc/self/mountinfo:
 * the cgroup2 one when `controller` is NULL, else the v1 one whose super
 * options name `controller`. Returns a malloc'd path, or NULL.
 */
static char *
find_cgroup_mount(const char *controller)
{
	char line[4096], *mnt, *fstype, *opts, *sep, *tok, *save;
	FILE *f;
	char *found = NULL;
	int i;

	f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return NULL;
	while (found == NULL && fgets(line, sizeof(line), f) != NULL) {
		sep = strstr(line, " - ");
		if (sep == NULL)
			continue;
		*sep = '\0';
		/* fields: id parent maj:min root mountpoint ... */
		mnt = line;
		for (i = 0; i < 4 && mnt != NULL; i++) {
			mnt = strchr(mnt, ' ');
			if (mnt != NULL)
				mnt++;
		}
		if (mnt == NULL)
			continue;
		*strchrnul(mnt, ' ') = '\0';
		fstype = sep + 3;
		opts = strchr(fstype, ' ');
		if (opts == NULL)
			continue;
		*opts++ = '\0';
		opts = strchr(opts, ' ');        /* skip the source */
		if (opts == NULL)
			continue;
		opts++;
		opts[strcspn(opts, "\n")] = '\0';
		if (controller == NULL) {
			if (strcmp(fstype, "cgroup2") == 0)
				found = xstrdup(mnt);
			continue;
		}
		if (strcmp(fstype, "cgroup") != 0)
			continue;
		for (tok = strtok_r(opts, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save))
			if (strcmp(tok, controller) == 0)
				found = xstrdup(mnt);
	}
	fclose(f);
	return found;
}

/* Our own cgroup path in the hierarchy with `controller` (NULL: v2, the
 * "0::" line), malloc'd, or NULL. */
static char *
own_cgroup(const char *controller)
{
	char line[4096], *ctl, *path, *tok, *save;
	FILE *f;
	char *found = NULL;

	f = fopen("/proc/self/cgroup", "re");
	if (f == NULL)
		return NULL;
	while (found == NULL && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		ctl = strchr(line, ':');
		if (ctl == NULL)
			continue;
		*ctl++ = '\0';
		path = strchr(ctl, ':');
		if (path == NULL)
			continue;
		*path++ = '\0';
		if (controller == NULL) {
			if (strcmp(line, "0") == 0 && *ctl == '\0')
				found = xstrdup(path);
			continue;
		}
		for (tok = strtok_r(ctl, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save))
			if (strcmp(tok, controller) == 0)
				found = xstrdup(path);
	}
	fclose(f);
	return found;
}

/* The leaf of the daemon's own cgroup v2 that sandbox_host_prepare()
 * moves its processes into. */
#define DAEMON_LEAF "scriptorchd"

/* `own` (a cgroup path, changed in place) without the leaf above. */
static void
own_unleaf(char *own)
{
	size_t n = strlen(own), l = strlen("/" DAEMON_LEAF);

	if (n > l && strcmp(own + n - l, "/" DAEMON_LEAF) == 0)
		own[n - l] = '\0';
	else if (strcmp(own, "/" DAEMON_LEAF) == 0)
		own[1] = '\0';
}

/* Creates `base` if needed and checks that a child cgroup can be made
 * there and has the file `need` (e.g. "cgroup.kill"). */
static int
probe_base(const char *base, const char *need, char *err, size_t errlen)
{
	struct buf p = BUF_INIT;
	int rc = -1;

	if (mkdir(base, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create cgroup \"%s\": %s", base,
		    strerror(errno));
		goto out;
	}
	buf_printf(&p, "%s/probe-%ld", base, (long)getpid());
	if (mkdir(buf_str(&p), 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create cgroup \"%s\": %s",
		    buf_str(&p), strerror(errno));
		goto out;
	}
	buf_printf(&p, "/%s", need);
	if (access(buf_str(&p), F_OK) == -1) {
		snprintf(err, errlen, "no \"%s\" in cgroups under \"%s\"",
		    need, base);
	} else {
		rc = 0;
	}
	buf_reset(&p);
	buf_printf(&p, "%s/probe-%ld", base, (long)getpid());
	rmdir(buf_str(&p));
out:
	buf_free(&p);
	return rc;
}

/* What each controller is called, and a file its cgroups have. */
static const struct {
	const char *name;
	const char *probe;
} ctrls[SANDBOX_NCTRL] = {
	[SANDBOX_MEMORY] = { "memory", "memory.limit_in_bytes" },
	[SANDBOX_PIDS] = { "pids", "pids.max" },
	[SANDBOX_CPU] = { "cpu", "cpu.cfs_quota_us" },
};

/* The parent of per-run groups in the cgroup v1 hierarchy of controller
 * `ctl` ("<mount><own group>/scriptorch"), if the host mounts one and a
 * group made there has the controller's files; else NULL. */
static char *
detect_v1(enum sandbox_ctrl ctl)
{
	char *mnt = NULL, *own = NULL, *base = NULL;
	char err[256];

	mnt = find_cgroup_mount(ctrls[ctl].name);
	if (mnt == NULL)
		goto out;
	own = own_cgroup(ctrls[ctl].name);
	if (own == NULL)
		goto out;
	base = path_join(mnt, strcmp(own, "/") == 0 ? "scriptorch" : own + 1);
	if (strcmp(own, "/") != 0) {
		char *b2 = path_join(base, "scriptorch");

		free(base);
		base = b2;
	}
	if (probe_base(base, ctrls[ctl].probe, err, sizeof(err)) == -1) {
		log_debug("no cgroup v1 %s groups: %s", ctrls[ctl].name, err);
		free(base);
		base = NULL;
	}
out:
	free(mnt);
	free(own);
	return base;
}

/* Per-run v1 groups for every controller the run cgroups v2 lack. */
static void
detect_v1_all(struct sandbox *sb)
{
	struct buf p = BUF_INIT;

	for (int i = 0; i < SANDBOX_NCTRL; i++)
		if (!(sb->cg2_ctrl & (1u << i)))
			sb->v1_base[i] = detect_v1((enum sandbox_ctrl)i);
	if (sb->v1_base[SANDBOX_MEMORY] != NULL) {
		/* Swap accounting (swapaccount=1) adds the memsw files. */
		buf_printf(&p, "%s/memory.memsw.limit_in_bytes",
		    sb->v1_base[SANDBOX_MEMORY]);
		sb->memv1_memsw = access(buf_str(&p), F_OK) == 0;
	}
	buf_free(&p);
}

/*
 * Enables the controllers the limits use in the run cgroups below
 * `base` (best effort: the kernel refuses those not delegated to us, and
 * each is tried alone so one refusal keeps no other out), then reads back
 * which are on.
 */
static unsigned
enable_cg2_controllers(const char *base)
{
	char text[512], *tok, *save;
	struct buf p = BUF_INIT;
	unsigned on = 0;

	buf_printf(&p, "%s/cgroup.subtree_control", base);
	for (int i = 0; i < SANDBOX_NCTRL; i++) {
		char w[32];

		snprintf(w, sizeof(w), "+%s", ctrls[i].name);
		if (write_str(buf_str(&p), w) == -1)
			log_debug("no %s controller under \"%s\": %s",
			    ctrls[i].name, base, strerror(errno));
	}
	if (read_small(buf_str(&p), text, sizeof(text)) > 0)
		for (tok = strtok_r(text, " \n", &save); tok != NULL;
		    tok = strtok_r(NULL, " \n", &save))
			for (int i = 0; i < SANDBOX_NCTRL; i++)
				if (strcmp(tok, ctrls[i].name) == 0)
					on |= 1u << i;
	buf_free(&p);
	return on;
}

/* The info line of sandbox_init: tree control, then each limit's way. */
static void
log_mechanisms(const struct sandbox *sb, const char *why)
{
	struct buf lim = BUF_INIT;

	limits_describe_host(sb, &lim);
	if (sb->kind == SANDBOX_CGROUP2)
		log_info("process trees: cgroup v2 under \"%s\" (cgroup.kill), "
		    "memory peak from %s; limits: %s", sb->cg2_base,
		    sb->v1_base[SANDBOX_MEMORY] ? "cgroup v1 memory" :
		    "memory.peak or rusage", buf_str(&lim));
	else
		log_info("process trees: subreaper and process group (%s), "
		    "memory peak from %s; limits: %s", why,
		    sb->v1_base[SANDBOX_MEMORY] ? "cgroup v1 memory" : "rusage",
		    buf_str(&lim));
	buf_free(&lim);
}

static void
spare_init(struct sandbox_spare *sp)
{
	sp->owner = getpid();
	sp->next = no_cgroup;
	sp->done = NULL;
}

int
sandbox_init(struct sandbox *sb, const char *cgroup_root, int with_memv1,
    char *err, size_t errlen)
{
	char *mnt = NULL, *own = NULL, *base = NULL;
	char why[512] = "";
	struct statfs sfs;
	int rc = -1;

	memset(sb, 0, sizeof(*sb));
	sb->kind = SANDBOX_FALLBACK;
	spare_init(&sb->spare);
	if (cgroup_root != NULL) {
		if (statfs(cgroup_root, &sfs) == -1) {
			snprintf(err, errlen, "cgroup root \"%s\": %s",
			    cgroup_root, strerror(errno));
			goto out;
		}
		if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
			snprintf(err, errlen, "cgroup root \"%s\" is not on a "
			    "cgroup v2 file system", cgroup_root);
			goto out;
		}
		base = xstrdup(cgroup_root);
		if (probe_base(base, "cgroup.kill", err, errlen) == -1)
			goto out;
	} else {
		mnt = find_cgroup_mount(NULL);
		own = mnt != NULL ? own_cgroup(NULL) : NULL;
		if (mnt == NULL || own == NULL) {
			snprintf(why, sizeof(why), "no cgroup v2 mounted");
		} else {
			struct buf b = BUF_INIT;

			/* Beside the leaf sandbox_host_prepare() moved the
			 * daemon into, if it did. */
			own_unleaf(own);
			buf_printf(&b, "%s%s/scriptorch", mnt,
			    strcmp(own, "/") == 0 ? "" : own);
			base = buf_detach(&b, NULL);
			if (probe_base(base, "cgroup.kill", why,
			    sizeof(why)) == -1) {
				free(base);
				base = NULL;
			}
		}
	}
	if (base != NULL) {
		/* The limits' controllers (and memory.peak): refused unless
		 * delegated to us. */
		sb->cg2_ctrl = enable_cg2_controllers(base);
		sb->kind = SANDBOX_CGROUP2;
		sb->cg2_base = base;
		base = NULL;
	}
	/* Where the controllers live only in cgroup v1, per-run groups
	 * there are the one way to limit a whole tree (the memory group
	 * also gives its peak); the child joins them cheaply (exec.c,
	 * child_join). */
	(void)with_memv1;
	detect_v1_all(sb);
	log_mechanisms(sb, why);
	rc = 0;
out:
	free(mnt);
	free(own);
	free(base);
	return rc;
}

/* Moves every process of cgroup `from` into `to` (both cgroup v2
 * directories): 0 once `from` is empty, else -1 (errno set). */
static int
move_members(const char *from, const char *to)
{
	char path[PATH_MAX], text[4096], *p, *end;
	int fd, tries;
	long v;

	snprintf(path, sizeof(path), "%s/cgroup.procs", to);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/cgroup.procs", from);
	/* A member may fork meanwhile: read again until none is left. */
	for (tries = 0; tries < 20; tries++) {
		if (read_small(path, text, sizeof(text)) < 0)
			break;
		if (text[0] == '\0') {
			close(fd);
			return 0;
		}
		for (p = text;; p = end) {
			char num[32];

			v = strtol(p, &end, 10);
			if (end == p)
				break;
			snprintf(num, sizeof(num), "%ld", v);
			if (write(fd, num, strlen(num)) == -1 && errno != ESRCH)
				log_warn("cannot move %ld into \"%s\"", v, to);
		}
	}
	close(fd);
	errno = EBUSY;
	return -1;
}

void
sandbox_host_prepare(const char *cgroup_root)
{
	char *mnt = NULL, *own = NULL, avail[512], on[512], *tok, *save;
	struct buf dir = BUF_INIT, leaf = BUF_INIT, p = BUF_INIT;
	unsigned want = 0, have = 0;

	if (cgroup_root != NULL && cgroup_root[0] != '\0')
		goto out;           /* the admin placed the runs */
	if ((mnt = find_cgroup_mount(NULL)) == NULL ||
	    (own = own_cgroup(NULL)) == NULL || strcmp(own, "/") == 0)
		goto out;           /* the root may hold processes and hand out */
	buf_printf(&dir, "%s%s", mnt, own);
	buf_printf(&p, "%s/cgroup.controllers", buf_str(&dir));
	if (read_small(buf_str(&p), avail, sizeof(avail)) <= 0)
		goto out;
	buf_reset(&p);
	buf_printf(&p, "%s/cgroup.subtree_control", buf_str(&dir));
	if (read_small(buf_str(&p), on, sizeof(on)) < 0)
		goto out;
	for (tok = strtok_r(avail, " \n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \n", &save))
		for (int i = 0; i < SANDBOX_NCTRL; i++)
			if (strcmp(tok, ctrls[i].name) == 0)
				want |= 1u << i;
	for (tok = strtok_r(on, " \n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \n", &save))
		for (int i = 0; i < SANDBOX_NCTRL; i++)
			if (strcmp(tok, ctrls[i].name) == 0)
				have |= 1u << i;
	if ((want & ~have) == 0)
		goto out;           /* none delegated, or all on already */
	buf_printf(&leaf, "%s/" DAEMON_LEAF, buf_str(&dir));
	if ((mkdir(buf_str(&leaf), 0755) == -1 && errno != EEXIST) ||
	    move_members(buf_str(&dir), buf_str(&leaf)) == -1) {
		log_warn("cannot move the daemon into \"%s\" to hand the "
		    "cgroup controllers to the runs", buf_str(&leaf));
		goto out;
	}
	for (int i = 0; i < SANDBOX_NCTRL; i++) {
		char w[32];

		if (!(want & ~have & (1u << i)))
			continue;
		snprintf(w, sizeof(w), "+%s", ctrls[i].name);
		if (write_str(buf_str(&p), w) == -1)
			log_warn("cannot enable the %s controller in \"%s\"",
			    ctrls[i].name, buf_str(&dir));
	}
	log_info("daemon moved into \"%s\", so that the run cgroups beside "
	    "it get the delegated controllers", buf_str(&leaf));
out:
	buf_free(&dir);
	buf_free(&leaf);
	buf_free(&p);
	free(mnt);
	free(own);
}

void
sandbox_init_fallback(struct sandbox *sb, int with_memv1)
{
	memset(sb, 0, sizeof(*sb));
	sb->kind = SANDBOX_FALLBACK;
	spare_init(&sb->spare);
	if (with_memv1)
		detect_v1_all(sb);
	log_mechanisms(sb, "asked for");
}

void
sandbox_free(struct sandbox *sb)
{
	struct sandbox_spare *sp = &sb->spare;

	if (sp->owner == getpid()) {
		run_cgroup_close(&sp->next);
		if (sp->next.path != NULL)
			remove_cgroup(sp->next.path);
		if (sp->done != NULL)
			remove_cgroup(sp->done);
		for (int i = 0; i < SANDBOX_NCTRL; i++)
			if (sp->v1_keep[i].path != NULL) {
				close(sp->v1_keep[i].fd);
				remove_cgroup(sp->v1_keep[i].path);
			}
	}
	free(sp->next.path);
	free(sp->done);
	for (int i = 0; i < SANDBOX_NCTRL; i++)
		free(sp->v1_keep[i].path);
	free(sb->cg2_base);
	for (int i = 0; i < SANDBOX_NCTRL; i++)
		free(sb->v1_base[i]);
	memset(sb, 0, sizeof(*sb));
}

const char *
sandbox_kind_name(const struct sandbox *sb)
{
	return sb != NULL && sb->kind == SANDBOX_CGROUP2 ? "cgroup2" :
	    "subreaper+pgroup";
}

int
sandbox_ctrl_version(const struct sandbox *sb, enum sandbox_ctrl ctl)
{
	if (sb == NULL)
		return 0;
	if (sb->kind == SANDBOX_CGROUP2 && (sb->cg2_ctrl & (1u << ctl)))
		return 2;
	return sb->v1_base[ctl] != NULL ? 1 : 0;
}

/* ---- the run uid pool ------------------------------------------------ */

int
sandbox_uid_take(const char *lockdir, unsigned long long base,
    unsigned int count, unsigned int prefer, uid_t avoid, uid_t *uid,
    int *lock_fd, char *err, size_t errlen)
{
	char path[PATH_MAX];
	unsigned int i;
	uid_t u;
	int fd;

	if (mkdir(lockdir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create \"%s\": %s", lockdir,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < count; i++) {
		u = (uid_t)(base + (prefer + i) % count);
		if (u == avoid || u == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%lu", lockdir,
		    (unsigned long)u);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0600);
		if (fd == -1) {
			snprintf(err, errlen, "cannot open \"%s\": %s", path,
			    strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
			close(fd);
			if (errno == EWOULDBLOCK || errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot lock \"%s\": %s", path,
			    strerror(errno));
			return -1;
		}
		/* A uid somebody has: not one for runs. */
		if (getpwuid(u) != NULL) {
			log_warnx("run uid %lu belongs to user \"%s\": not used "
			    "for runs (run_uid_base, run_uid_count)",
			    (unsigned long)u, getpwuid(u)->pw_name);
			close(fd);
			continue;
		}
		*uid = u;
		*lock_fd = fd;
		return 1;
	}
	return 0;
}

/* ---- work directories ------------------------------------------------ */

int
sandbox_workdir_create(const char *base, unsigned long long exec_id,
    uid_t uid, gid_t gid, char **path_out, char *err, size_t errlen)
{
	struct buf p = BUF_INIT;
	char *path = NULL;
	int fd = -1, rc = -1;

	*path_out = NULL;
	buf_printf(&p, "%s/%llu-XXXXXX", base, exec_id);
	path = buf_detach(&p, NULL);
	if (mkdtemp(path) == NULL) {
		snprintf(err, errlen, "cannot create work dir in \"%s\": %s",
		    base, strerror(errno));
		goto out;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 ||
	    (uid != (uid_t)-1 && fchown(fd, uid, gid) == -1) ||
	    fchmod(fd, 0700) == -1) {
		snprintf(err, errlen, "cannot set up work dir \"%s\": %s",
		    path, strerror(errno));
		rmdir(path);
		goto out;
	}
	*path_out = path;
	path = NULL;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(path);
	return rc;
}

int
sandbox_workdir_remove(const char *path, char *err, size_t errlen)
{
	struct buf errs = BUF_INIT;
	int rc = 0;

	/* Most scripts leave their work dir empty: one call then. rmdir
	 * removes neither a link nor a directory with anything in it. */
	if (rmdir(path) == 0 || errno == ENOENT)
		return 0;
	if (fs_remove_path(path, &errs) == -1) {
		snprintf(err, errlen, "cannot remove all of work dir \"%s\": %s",
		    path, errs.len > 0 ? buf_str(&errs) : strerror(errno));
		rc = -1;
	}
	buf_free(&errs);
	return rc;
}

/* ---- per run ------------------------------------------------------- */

/* Appends the children of every thread of `pid` to out[*n] (bounded). */
static void
list_children(pid_t pid, pid_t *out, int *n, int max)
{
	char path[320], text[4096], *p, *end;
	struct dirent *de;
	DIR *d;
	long v;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	d = opendir(path);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%s/children",
		    (long)pid, de->d_name);
		if (read_small(path, text, sizeof(text)) <= 0)
			continue;
		for (p = text; *n < max; p = end) {
			v = strtol(p, &end, 10);
			if (end == p)
				break;
			out[(*n)++] = (pid_t)v;
		}
	}
	closedir(d);
}

static int
pid_in(pid_t pid, const pid_t *set, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (set[i] == pid)
			return 1;
	return 0;
}

/* Our children that were not there before the run: the main child and
 * orphans of its tree reparented to us (we are a subreaper). */
static int
new_children(const struct sandbox_run *run, pid_t *out, int max)
{
	pid_t all[SANDBOX_MAX_KIDS];
	int n = 0, i, k = 0;

	list_children(getpid(), all, &n, SANDBOX_MAX_KIDS);
	for (i = 0; i < n && k < max; i++)
		if (!pid_in(all[i], run->before, run->nbefore))
			out[k++] = all[i];
	return k;
}

/* Makes cgroup `name` under `base`, with its file `join` (cgroup.procs,
 * or tasks for a cgroup v1 group: see exec.c, child_join) open for
 * writing in *fd_out. */
static int
make_run_cgroup(const char *base, const char *name, const char *join,
    char **path_out, int *fd_out, char *err, size_t errlen)
{
	char *path, *procs;

	path = path_join(base, name);
	if (mkdir(path, 0755) == -1) {
		snprintf(err, errlen, "cannot create cgroup \"%s\": %s", path,
		    strerror(errno));
		free(path);
		return -1;
	}
	procs = path_join(path, join);
	*fd_out = open(procs, O_WRONLY | O_CLOEXEC);
	if (*fd_out == -1) {
		snprintf(err, errlen, "cannot open \"%s\": %s", procs,
		    strerror(errno));
		free(procs);
		rmdir(path);
		free(path);
		return -1;
	}
	free(procs);
	*path_out = path;
	return 0;
}

/* Makes run cgroup v2 `name` under the sandbox's base, with its
 * descriptors, its counters at zero. */
static int
make_run_cgroup2(const struct sandbox *sb, const char *name,
    struct run_cgroup *cg, char *err, size_t errlen)
{
	if (make_run_cgroup(sb->cg2_base, name, "cgroup.procs", &cg->path,
	    &cg->procs_fd, err, errlen) == -1)
		return -1;
	/* For clone3(CLONE_INTO_CGROUP); without it the child joins by
	 * writing cgroup.procs, which works everywhere but costs more. */
	cg->dir_fd = open(cg->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cg->user_us = cg->sys_us = 0;
	return 0;
}

static void
run_cgroup_close(struct run_cgroup *cg)
{
	if (cg->procs_fd >= 0)
		close(cg->procs_fd);
	if (cg->dir_fd >= 0)
		close(cg->dir_fd);
	cg->procs_fd = cg->dir_fd = -1;
}

/* "run-<pid>-<n>": unique on the host while this process lives, and
 * found by sandbox_reap_stale() once it is gone. */
static void
run_name(struct sandbox *sb, char *name, size_t len)
{
	snprintf(name, len, "run-%ld-%lu", (long)getpid(), ++sb->spare.seq);
}

/* The run cgroup made ahead by sandbox_tidy(), if this process has one:
 * 1 (run has it), else 0. */
static int
spare_take(struct sandbox *sb, struct sandbox_run *run)
{
	struct sandbox_spare *sp = &sb->spare;

	if (sp->owner != getpid() || sp->next.path == NULL)
		return 0;
	run->cg2 = sp->next;
	run->cg2_user0_us = sp->next.user_us;
	run->cg2_sys0_us = sp->next.sys_us;
	sp->next = no_cgroup;
	return 1;
}

/*
 * A run's cgroup v1 group of controller `ctl` may serve the next runs of
 * the same process, once the run left it empty: only the cpu one. The
 * first process to join a fresh cpu group takes about 3.5 ms longer
 * (measured here); joining a fresh memory or pids group costs nothing
 * measurable, and a fresh one starts with clean counters (the memory
 * peak, failcnt).
 */
#define V1_KEPT(ctl) ((ctl) == SANDBOX_CPU)

/* The group of controller `ctl` kept from this process's last run, if
 * any: 1 (run has it), else 0. */
static int
v1_take(struct sandbox *sb, struct sandbox_run *run, int ctl)
{
	struct sandbox_spare *sp = &sb->spare;

	if (!V1_KEPT(ctl) || sp->owner != getpid() ||
	    sp->v1_keep[ctl].path == NULL)
		return 0;
	run->v1_path[ctl] = sp->v1_keep[ctl].path;
	run->v1_procs_fd[ctl] = sp->v1_keep[ctl].fd;
	sp->v1_keep[ctl].path = NULL;
	sp->v1_keep[ctl].fd = -1;
	return 1;
}

/* 1 when the cgroup v1 group at `path` has no task. */
static int
v1_empty(const char *path)
{
	char p[PATH_MAX], text[64];

	snprintf(p, sizeof(p), "%s/tasks", path);
	return read_small(p, text, sizeof(text)) == 0;
}

void
sandbox_run_init(struct sandbox_run *run)
{
	memset(run, 0, sizeof(*run));
	run->cg2 = no_cgroup;
	for (int i = 0; i < SANDBOX_NCTRL; i++)
		run->v1_procs_fd[i] = -1;
	run->oom_kills0 = run->pids_max0 = -1;
	run->pid = -1;
}

int
sandbox_run_prepare(struct sandbox *sb, struct sandbox_run *run,
    char *err, size_t errlen)
{
	char name[64];

	sandbox_run_init(run);
	run->sb = sb;
	/* Orphans of the tree come to us, not to init: we can find, kill
	 * and reap them (and init may not reap at all in a container). */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "cannot become a child subreaper: %s",
		    strerror(errno));
		return -1;
	}
	list_children(getpid(), run->before, &run->nbefore, SANDBOX_MAX_KIDS);
	if (sb == NULL)
		return 0;
	run_name(sb, name, sizeof(name));
	if (sb->kind == SANDBOX_CGROUP2 && !spare_take(sb, run) &&
	    make_run_cgroup2(sb, name, &run->cg2, err, errlen) == -1)
		goto fail;
	for (int i = 0; i < SANDBOX_NCTRL; i++) {
		if (sb->v1_base[i] == NULL || v1_take(sb, run, i))
			continue;
		if (make_run_cgroup(sb->v1_base[i], name, "tasks",
		    &run->v1_path[i], &run->v1_procs_fd[i], err, errlen) == -1)
			goto fail;
	}
	return 0;
fail:
	sandbox_run_release(run);
	return -1;
}

const char *
sandbox_run_ctrl_dir(const struct sandbox_run *run, enum sandbox_ctrl ctl,
    int *version)
{
	*version = 0;
	if (run->cg2.path != NULL && run->sb != NULL &&
	    sandbox_ctrl_version(run->sb, ctl) == 2) {
		*version = 2;
		return run->cg2.path;
	}
	if (run->v1_path[ctl] != NULL) {
		*version = 1;
		return run->v1_path[ctl];
	}
	return NULL;
}

/* 1 while the run cgroup has live members, 0 once it has none, -1 when
 * it cannot tell; *frozen (may be NULL) tells whether it is frozen, -1
 * when unknown. */
static int
cg2_populated(const struct sandbox_run *run, int *frozen)
{
	char path[PATH_MAX], text[512];
	long long v = 1, f = -1;

	if (frozen != NULL)
		*frozen = -1;
	snprintf(path, sizeof(path), "%s/cgroup.events", run->cg2.path);
	if (read_small(path, text, sizeof(text)) < 0)
		return -1;
	if (frozen != NULL && keyed_value(text, "frozen", &f) == 0)
		*frozen = f != 0;
	if (keyed_value(text, "populated", &v) == -1)
		return -1;
	return v != 0;
}

/* The run cgroup's CPU times so far (cpu.stat, kept in run), and whether
 * the cgroup may serve another run: empty, thawed, counted, never killed
 * (Linux 6.18 kills every child cloned into a cgroup once cgroup.kill was
 * written there), and without a memory.peak (which counts from the
 * cgroup's birth). */
static void
cg2_count(struct sandbox_run *run, int populated, int frozen)
{
	char path[PATH_MAX], text[2048];
	long long u, y;

	snprintf(path, sizeof(path), "%s/cpu.stat", run->cg2.path);
	if (read_small(path, text, sizeof(text)) > 0 &&
	    keyed_value(text, "user_usec", &u) == 0 &&
	    keyed_value(text, "system_usec", &y) == 0) {
		run->cg2.user_us = u;
		run->cg2.sys_us = y;
		run->cg2_counted = 1;
	}
	snprintf(path, sizeof(path), "%s/memory.peak", run->cg2.path);
	run->cg2_reusable = !populated && frozen == 0 && run->cg2_counted &&
	    !run->cg2_killed && access(path, F_OK) == -1 && errno == ENOENT;
}

/*
 * Signals every member of the run cgroup. The cgroup is frozen while its
 * member list is read and signalled, so no member can exit and have its
 * pid reused by an unrelated process in between; the signal is delivered
 * when it thaws.
 */
static void
cg2_signal(const struct sandbox_run *run, int sig)
{
	char path[PATH_MAX], *text = NULL, *p, *end;
	struct buf b = BUF_INIT;
	char chunk[4096];
	ssize_t n;
	long v;
	int fd = -1;

	if (sig == SIGKILL) {
		snprintf(path, sizeof(path), "%s/cgroup.kill", run->cg2.path);
		if (write_str(path, "1") == -1)
			log_warn("cannot write \"%s\"", path);
		return;
	}
	snprintf(path, sizeof(path), "%s/cgroup.freeze", run->cg2.path);
	(void)write_str(path, "1");
	snprintf(path, sizeof(path), "%s/cgroup.procs", run->cg2.path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		log_warn("cannot open \"%s\"", path);
		goto out;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_add(&b, chunk, (size_t)n);
	}
	text = buf_detach(&b, NULL);
	for (p = text;; p = end) {
		v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (run->main_is_init && (pid_t)v == run->pid)
			continue;
		if (v > 0 && kill((pid_t)v, sig) == -1 && errno != ESRCH)
			log_warn("cannot signal %ld", v);
	}
out:
	snprintf(path, sizeof(path), "%s/cgroup.freeze", run->cg2.path);
	(void)write_str(path, "0");
	if (fd != -1)
		close(fd);
	free(text);
	buf_free(&b);
}

/*
 * The fallback tree: the main child's process group, then every process
 * reachable through /proc/<pid>/task/<tid>/children from the main child
 * (while not reaped) and from the orphans reparented to us. A descendant
 * of a descendant could exit and be reaped by its parent between listing
 * and kill(); that small pid-reuse window is why cgroups are preferred.
 * Returns how many processes were found.
 */
static int
fallback_signal(const struct sandbox_run *run, int sig, int main_alive)
{
	pid_t *set;
	int n = 0, i;

	set = calloc(SANDBOX_MAX_KIDS, sizeof(*set));
	if (set == NULL)
		fatal("calloc");
	if (main_alive) {
		/* Safe: the leader is not reaped, so the group id is ours.
		 * An init's group is the init alone. */
		if ((!run->main_is_init || sig == SIGKILL) &&
		    kill(-run->pid, sig) == -1 && errno != ESRCH)
			log_warn("cannot signal process group %ld",
			    (long)run->pid);
		set[n++] = run->pid;
	}
	n += new_children(run, set + n, SANDBOX_MAX_KIDS - n);
	for (i = 0; i < n; i++) {
		if (set[i] != run->pid &&
		    kill(set[i], sig) == -1 && errno != ESRCH)
			log_warn("cannot signal %ld", (long)set[i]);
		list_children(set[i], set, &n, SANDBOX_MAX_KIDS);
	}
	free(set);
	return n;
}

void
sandbox_run_signal(struct sandbox_run *run, int sig)
{
	/* An init (main_is_init) is in none of the run's cgroups: its
	 * SIGKILL goes by its pid, which stays ours until it is reaped. */
	if (run->main_is_init && sig == SIGKILL && run->pid > 0 &&
	    kill(run->pid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("cannot kill %ld", (long)run->pid);
	if (run->cg2.path != NULL) {
		/* Nothing to signal in an empty cgroup, which nothing can
		 * join but through us; and one never killed may serve the
		 * next run (cg2_count). */
		if (cg2_populated(run, NULL) == 0)
			return;
		cg2_signal(run, sig);
		run->cg2_killed |= sig == SIGKILL;
	} else
		fallback_signal(run, sig, 1);
}

/* Reaps, by pid, the orphans of the run reparented to us. */
static void
reap_orphans(struct sandbox_run *run)
{
	pid_t kids[SANDBOX_MAX_KIDS];
	struct rusage ru;
	int n, i, status;
	pid_t r;

	n = new_children(run, kids, SANDBOX_MAX_KIDS);
	for (i = 0; i < n; i++) {
		if (kids[i] == run->pid)
			continue;       /* exec.c reaps the main child */
		do
			r = wait4(kids[i], &status, WNOHANG, &ru);
		while (r == -1 && errno == EINTR);
		if (r <= 0)
			continue;
		run->orphan_user_us += (long long)ru.ru_utime.tv_sec * 1000000 +
		    ru.ru_utime.tv_usec;
		run->orphan_sys_us += (long long)ru.ru_stime.tv_sec * 1000000 +
		    ru.ru_stime.tv_usec;
		if (ru.ru_maxrss > run->orphan_maxrss_kb)
			run->orphan_maxrss_kb = ru.ru_maxrss;
	}
}

void
sandbox_run_finish(struct sandbox_run *run)
{
	double deadline = clock_mono_ms() + FINISH_WAIT_MS;
	int left;

	if (run->cg2.path != NULL) {
		int populated, frozen;

		/* cgroup.kill also kills what forks meanwhile: once is
		 * enough; and none for an empty cgroup, which nothing can
		 * join but through us. */
		populated = cg2_populated(run, &frozen);
		if (populated != 0 && !run->cg2_killed) {
			cg2_signal(run, SIGKILL);
			run->cg2_killed = 1;
		}
		/* Unknown (-1) ends the wait as empty does. */
		while (populated == 1 && clock_mono_ms() < deadline) {
			reap_orphans(run);
			sleep_ms(2);
			populated = cg2_populated(run, &frozen);
		}
		if (populated == 1)
			log_warnx("cgroup \"%s\" still has processes after kill",
			    run->cg2.path);
		reap_orphans(run);
		cg2_count(run, populated, frozen);
		return;
	}
	for (;;) {
		left = fallback_signal(run, SIGKILL, 0);
		reap_orphans(run);
		if (left == 0)
			break;
		if (clock_mono_ms() >= deadline) {
			log_warnx("%d processes of run %ld survive SIGKILL",
			    left, (long)run->pid);
			break;
		}
		sleep_ms(2);
	}
}

void
sandbox_run_stats(const struct sandbox_run *run, long long *user_us,
    long long *sys_us, long long *peak_kb)
{
	char path[PATH_MAX], text[2048];
	long long v;

	if (run->cg2.path != NULL) {
		if (run->cg2_counted) {
			*user_us = run->cg2.user_us - run->cg2_user0_us;
			*sys_us = run->cg2.sys_us - run->cg2_sys0_us;
		}
		snprintf(path, sizeof(path), "%s/memory.peak", run->cg2.path);
		if (read_small(path, text, sizeof(text)) > 0 &&
		    (v = strtoll(text, NULL, 10) / 1024) > *peak_kb)
			*peak_kb = v;
	}
	if (run->v1_path[SANDBOX_MEMORY] != NULL) {
		snprintf(path, sizeof(path), "%s/memory.max_usage_in_bytes",
		    run->v1_path[SANDBOX_MEMORY]);
		if (read_small(path, text, sizeof(text)) > 0 &&
		    (v = strtoll(text, NULL, 10) / 1024) > *peak_kb)
			*peak_kb = v;
	}
}

static void
remove_cgroup(const char *path)
{
	int i;

	/* The kernel may report a cgroup empty a moment before rmdir
	 * agrees; retry briefly on EBUSY. */
	for (i = 0; i < 100; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			break;
		sleep_ms(5);
	}
	log_warn("cannot remove cgroup \"%s\"", path);
}

void
sandbox_run_release(struct sandbox_run *run)
{
	struct sandbox_spare *sp = run->sb != NULL ? &run->sb->spare : NULL;

	if (run->cg2.path != NULL && run->cg2_reusable && sp != NULL &&
	    sp->owner == getpid() && sp->next.path == NULL) {
		/* It serves the next run, with its descriptors and
		 * counters. */
		sp->next = run->cg2;
		run->cg2 = no_cgroup;
	}
	run_cgroup_close(&run->cg2);
	for (int i = 0; i < SANDBOX_NCTRL; i++) {
		if (run->v1_path[i] != NULL && V1_KEPT(i) && sp != NULL &&
		    sp->owner == getpid() && sp->v1_keep[i].path == NULL &&
		    v1_empty(run->v1_path[i])) {
			/* It serves the next run, joined the same way. */
			sp->v1_keep[i].path = run->v1_path[i];
			sp->v1_keep[i].fd = run->v1_procs_fd[i];
			run->v1_path[i] = NULL;
			run->v1_procs_fd[i] = -1;
			continue;
		}
		if (run->v1_procs_fd[i] >= 0)
			close(run->v1_procs_fd[i]);
		run->v1_procs_fd[i] = -1;
	}
	if (run->cg2.path != NULL && sp != NULL && sp->owner == getpid() &&
	    sp->done == NULL) {
		/* Removed by sandbox_tidy(), once the result is recorded. */
		sp->done = run->cg2.path;
		run->cg2.path = NULL;
	}
	if (run->cg2.path != NULL)
		remove_cgroup(run->cg2.path);
	free(run->cg2.path);
	run->cg2.path = NULL;
	for (int i = 0; i < SANDBOX_NCTRL; i++) {
		if (run->v1_path[i] != NULL)
			remove_cgroup(run->v1_path[i]);
		free(run->v1_path[i]);
		run->v1_path[i] = NULL;
	}
}

void
sandbox_tidy(struct sandbox *sb)
{
	struct sandbox_spare *sp = &sb->spare;
	char name[64], err[512];

	if (sp->owner != getpid())
		return;
	if (sp->done != NULL) {
		remove_cgroup(sp->done);
		free(sp->done);
		sp->done = NULL;
	}
	if (sb->kind != SANDBOX_CGROUP2 || sp->next.path != NULL)
		return;
	run_name(sb, name, sizeof(name));
	if (make_run_cgroup2(sb, name, &sp->next, err, sizeof(err)) == -1) {
		/* The next run tries again, and reports it; an idle runner
		 * comes here every poll interval: say it once. */
		if (!sp->failing++)
			log_warnx("%s", err);
		return;
	}
	sp->failing = 0;
}

/* Is "run-<pid>-<n>" the cgroup of a run whose runner is gone? */
static int
stale_run_name(const char *name)
{
	char *end;
	long pid;

	if (strncmp(name, "run-", 4) != 0)
		return 0;
	pid = strtol(name + 4, &end, 10);
	if (end == name + 4 || *end != '-' || pid <= 0)
		return 0;
	return kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

/* Kills what is left in stale run cgroups under `base` and removes them. */
static int
reap_stale_in(const char *base, int can_kill)
{
	DIR *d;
	struct dirent *e;
	char path[PATH_MAX];
	int n = 0;

	if (base == NULL || (d = opendir(base)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (!stale_run_name(e->d_name))
			continue;
		if (can_kill) {
			snprintf(path, sizeof(path), "%s/%s/cgroup.kill", base,
			    e->d_name);
			int fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd != -1) {
				if (write(fd, "1", 1) != 1)
					log_warn("write \"%s\"", path);
				close(fd);
			}
		}
		snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
		/* The kill is asynchronous: give the members a moment. */
		for (int i = 0; i < 50 && rmdir(path) == -1 && errno == EBUSY; i++)
			usleep(20 * 1000);
		n++;
	}
	closedir(d);
	return n;
}

int
sandbox_reap_stale(const struct sandbox *sb)
{
	int n = 0;

	if (sb == NULL)
		return 0;
	if (sb->kind == SANDBOX_CGROUP2)
		n = reap_stale_in(sb->cg2_base, 1);
	for (int i = 0; i < SANDBOX_NCTRL; i++)
		reap_stale_in(sb->v1_base[i], 0);
	if (n > 0)
		log_warnx("killed what was left of %d run%s of a dead runner", n,
		    n == 1 ? "" : "s");
	return n;
}
