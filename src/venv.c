/*
 * venv.c - the venv manager: key, lookup, the one build per key, the run's
 * shared lock, eviction. See venv.h for the rules and docs/venvs.md.
 *
 * The fast path of a run whose venv exists costs: normalizing the
 * requirements and one SHA-256 (microseconds), a stat() of the interpreter
 * (to trust the cached version), open() + flock(LOCK_SH) of the key's lock
 * file, a stat() of the ready marker, and at most once a minute per key a
 * conditional UPDATE of last_used_at (touch_use).
 *
 * Locking, per key, between the processes of one node (flock on
 * <venv_dir>/.locks/<key>.lock, an open file description each):
 *   run:    LOCK_SH, polled without blocking; held for the whole run.
 *   build:  LOCK_EX, polled without blocking every 200 ms (heartbeating
 *           the waiting execution), taken only when the marker is absent;
 *           the marker is looked at again under the lock, so of many runs
 *           that find the venv missing exactly one builds and the others
 *           find it ready when the lock frees.
 *   evict:  LOCK_EX | LOCK_NB once; failing means "in use".
 * Nobody ever waits in flock() itself: a waiting run must keep sending
 * heartbeats and give up after the build's own deadline.
 *
 * A build runs as the build user in its stage, <venv_dir>/.build/<key>;
 * root takes the stage over only after exec_run() returned, that is once
 * the builder and everything it started are gone, and walks it through
 * descriptors only (O_NOFOLLOW), since the build user wrote it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "db.h"
#include "exec.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "registry.h"
#include "reqs.h"
#include "store.h"
#include "venv.h"

#define MARKER ".scriptorch-ready"
#define LINKS ".scriptorch-links"  /* the builder's links left to root */
#define LOCKS ".locks"
#define BUILDS ".build"            /* the stages of builds in progress */
#define MAX_DEPTH 128              /* of a tree root walks or removes */
#define BUILD_LOG_CAP (4 * 1024 * 1024)
#define POLL_MS 200
#define HEARTBEAT_MS 1000.0
#define TAIL_LINES 25
#define TOOL_PATH "/usr/local/bin:/usr/bin:/bin"

/*
 * The interpreter's exact version, learnt by running it once per process
 * and trusted while the file (followed through symlinks) keeps its
 * identity: a Debian point upgrade of python3 replaces the file, and the
 * next lookup runs it again. One config per process, so one entry.
 */
static struct {
	char path[PATH_MAX];
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim;
	char version[32];
} probe_cache;

/*
 * When this process last recorded the use of a few keys, so that a busy
 * venv costs no database round trip at all: the row is written at most
 * once a minute per key and process (store_venv_touch also checks, for
 * the other processes). A small fixed table, the oldest entry replaced.
 */
#define TOUCH_SLOTS 16
#define TOUCH_MS 60000.0
static struct {
	char key[65];
	double at;
} touched[TOUCH_SLOTS];

static void
touch_use(struct db *db, const char *key)
{
	double now = clock_mono_ms();
	int i, oldest = 0;

	for (i = 0; i < TOUCH_SLOTS; i++) {
		if (strcmp(touched[i].key, key) == 0)
			break;
		if (touched[i].at < touched[oldest].at)
			oldest = i;
	}
	if (i < TOUCH_SLOTS && now - touched[i].at < TOUCH_MS)
		return;
	if (i == TOUCH_SLOTS)
		i = oldest;
	if (store_venv_touch(db, key) == -1) {
		log_debug("cannot record the venv's use: %s", db_errmsg(db));
		return;
	}
	memcpy(touched[i].key, key, sizeof(touched[i].key));
	touched[i].at = now;
}

static int ensure_dirs(const struct conf *c, struct buf *why);

static int
version_ok(const char *v, size_t n)
{
	return n > 0 && n < 32 && strspn(v, "0123456789.abcrdevpost+") >= n;
}

/* The node-wide memo of a probe: <venv_dir>/.locks/python-<identity>. */
static void
memo_path(const struct conf *c, const struct stat *st, char *path,
    size_t len)
{
	snprintf(path, len, "%s/" LOCKS "/python-%lu-%lu-%lld-%lld.%09ld",
	    c->venv_dir, (unsigned long)st->st_dev, (unsigned long)st->st_ino,
	    (long long)st->st_size, (long long)st->st_mtim.tv_sec,
	    st->st_mtim.tv_nsec);
}

static int
memo_read(const char *path, char version[32])
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	n = read(fd, version, 31);
	close(fd);
	if (n <= 0)
		return -1;
	version[n] = '\0';
	return version_ok(version, (size_t)n) ? 0 : -1;
}

static void
memo_write(const struct conf *c, const char *path, const char *version)
{
	char tmp[PATH_MAX + 32];
	struct buf ignored = BUF_INIT;
	size_t n = strlen(version);
	int fd;

	if (ensure_dirs(c, &ignored) == -1) {
		buf_free(&ignored);
		return;
	}
	buf_free(&ignored);
	snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1)
		return;
	if (write(fd, version, n) != (ssize_t)n || close(fd) == -1 ||
	    rename(tmp, path) == -1)
		unlink(tmp);
}

/*
 * The interpreter's version: from this process's cache, else from the
 * node's memo file (so that each new worker does not start python), else
 * by running it once.
 */
static int
python_version(const struct conf *c, char version[32], struct buf *why)
{
	static const char *code = "import platform;"
	    "print(platform.python_version())";
	char *argv[] = { c->python, "-I", "-c", (char *)code, NULL };
	char *envp[] = { "PATH=" TOOL_PATH, "LANG=C.UTF-8", NULL };
	struct exec_spec spec;
	struct exec_result res;
	struct buf out = BUF_INIT;
	char err[512], memo[PATH_MAX];
	struct stat st;
	size_t n;
	int rc = -1;

	if (stat(c->python, &st) == -1) {
		buf_printf(why, "the python interpreter \"%s\" is missing: %s",
		    c->python, strerror(errno));
		return -1;
	}
	if (probe_cache.version[0] != '\0' &&
	    strcmp(probe_cache.path, c->python) == 0 &&
	    probe_cache.dev == st.st_dev && probe_cache.ino == st.st_ino &&
	    probe_cache.size == st.st_size &&
	    probe_cache.mtim.tv_sec == st.st_mtim.tv_sec &&
	    probe_cache.mtim.tv_nsec == st.st_mtim.tv_nsec) {
		memcpy(version, probe_cache.version, 32);
		return 0;
	}
	memset(&res, 0, sizeof(res));
	memo_path(c, &st, memo, sizeof(memo));
	if (memo_read(memo, version) == 0)
		goto remember;
	memset(&spec, 0, sizeof(spec));
	spec.path = c->python;
	spec.argv = argv;
	spec.envp = envp;
	spec.uid = (uid_t)-1;
	spec.capture_cap = 4096;
	spec.timeout_s = 30;
	spec.grace_s = 1;
	if (exec_run(&spec, NULL, &res, err, sizeof(err)) == -1) {
		buf_printf(why, "cannot run the python interpreter: %s", err);
		goto out;
	}
	capture_render(&res.out, &out);
	n = out.len;
	while (n > 0 && (out.data[n - 1] == '\n' || out.data[n - 1] == '\r'))
		n--;
	if (!res.exited || res.exit_code != 0 || !version_ok(out.data, n)) {
		buf_printf(why, "the python interpreter \"%s\" did not tell its "
		    "version", c->python);
		goto out;
	}
	memcpy(version, out.data, n);
	version[n] = '\0';
	memo_write(c, memo, version);
remember:
	snprintf(probe_cache.path, sizeof(probe_cache.path), "%s", c->python);
	probe_cache.dev = st.st_dev;
	probe_cache.ino = st.st_ino;
	probe_cache.size = st.st_size;
	probe_cache.mtim = st.st_mtim;
	memcpy(probe_cache.version, version, 32);
	rc = 0;
out:
	exec_result_free(&res);
	buf_free(&out);
	return rc;
}

/* The key of requirements `reqs` under config c (key is 65 bytes). With
 * `norm` non-NULL the normalized text is appended to it. */
static int
key_for(const struct conf *c, const char *reqs, char key[65],
    struct buf *norm, char version[32], struct buf *why)
{
	struct buf n = BUF_INIT, opts = BUF_INIT;
	struct verr e;

	verr_clear(&e);
	if (reqs_normalize(reqs, &n, &e) == -1) {
		buf_printf(why, "the requirements are invalid: %s", e.message);
		buf_free(&n);
		return -1;
	}
	if (python_version(c, version, why) == -1) {
		buf_free(&n);
		return -1;
	}
	reqs_installer_opts(c->pip_index_url, c->pip_find_links,
	    c->pip_no_index, &opts);
	reqs_venv_key(buf_str(&n), version, buf_str(&opts), key);
	if (norm != NULL)
		buf_add(norm, buf_str(&n), n.len);
	buf_free(&n);
	buf_free(&opts);
	return 0;
}

static int
is_ready(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/" MARKER, dir) >=
	    sizeof(path))
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Creates <venv_dir> (0755: the run user must reach the venvs, each of
 * which restricts itself) and <venv_dir>/.locks (root's alone; .build is
 * made by stage_make, which knows the build user's group). */
static int
ensure_dirs(const struct conf *c, struct buf *why)
{
	char path[PATH_MAX], err[256];

	if (fs_mkdirs(c->venv_dir, 0755, err, sizeof(err)) == -1) {
		buf_printf(why, "cannot create the venv dir: %s", err);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/" LOCKS, c->venv_dir);
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		buf_printf(why, "cannot create \"%s\": %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Opens (creating) the lock file of `key`; -1 with why. */
static int
lock_open(const struct conf *c, const char *key, struct buf *why)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/" LOCKS "/%s.lock", c->venv_dir, key);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1 && errno == ENOENT) {
		if (ensure_dirs(c, why) == -1)
			return -1;
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0600);
	}
	if (fd == -1)
		buf_printf(why, "cannot open the venv lock \"%s\": %s", path,
		    strerror(errno));
	return fd;
}

/* ---- the builder's failure report ---- */

#define ERR_PREFIX "scriptorch-venv: error: "
#define TAIL_OPEN "--- pip output (last lines) ---\n"
#define TAIL_MAX 8192

/* The last occurrence of `needle` at the start of a line of `s`. */
static const char *
last_line_with(const char *s, const char *needle)
{
	const char *p = s, *last = NULL;

	while ((p = strstr(p, needle)) != NULL) {
		if (p == s || p[-1] == '\n')
			last = p;
		p++;
	}
	return last;
}

/*
 * Splits the builder's stderr into the one line that names what failed
 * (its final "error:" line) and pip's output tail (the section the builder
 * frames, else the last lines of the log), both appended.
 */
static void
parse_failure(const char *log, struct buf *errline, struct buf *tail)
{
	const char *p, *e, *start;
	size_t len;

	if ((p = last_line_with(log, ERR_PREFIX)) != NULL) {
		p += strlen(ERR_PREFIX);
		e = strchr(p, '\n');
		buf_add(errline, p, e ? (size_t)(e - p) : strlen(p));
	}
	if ((p = last_line_with(log, TAIL_OPEN)) != NULL) {
		start = p + strlen(TAIL_OPEN);
		e = strstr(start, "\n---\n");
		len = e ? (size_t)(e - start) : strlen(start);
	} else {
		int lines = 0;
		len = strlen(log);
		while (len > 0 && log[len - 1] == '\n')
			len--;
		start = log + len;
		while (start > log && lines < TAIL_LINES) {
			start--;
			if (*start == '\n' && ++lines == TAIL_LINES) {
				start++;
				break;
			}
		}
		len = (size_t)(log + len - start);
	}
	if (len > TAIL_MAX) {
		start += len - TAIL_MAX;
		len = TAIL_MAX;
		/* Do not start inside a UTF-8 sequence. */
		while (len > 0 && ((unsigned char)*start & 0xc0) == 0x80) {
			start++;
			len--;
		}
	}
	buf_add(tail, start, len);
}

static void
failure_message(struct buf *why, const char *what, const char *errline,
    const char *tail)
{
	buf_printf(why, "%s: %s", what, errline);
	if (tail != NULL && *tail != '\0')
		buf_printf(why, "\n--- pip output (last lines) ---\n%s\n---",
		    tail);
}

/* ---- trees that the build user wrote ---- */

/*
 * Everything here reaches entries through descriptors of directories
 * already opened, with O_NOFOLLOW, so a tree its owner may still be
 * changing (the build user's stage, an old cache) cannot send root
 * elsewhere through a symbolic link or a renamed directory.
 */

/* Who a build runs as, and the group the finished venv is for. */
struct build_ids {
	uid_t uid;
	gid_t gid;
	gid_t run_gid;
	int have_run;           /* run_gid is known */
};

/* conf_validate() checked the names; the accounts may have changed
 * since, so the uids are checked again, at every build. */
static int
build_identity(const struct conf *c, struct build_ids *id, struct buf *why)
{
	struct passwd *pw;

	memset(id, 0, sizeof(*id));
	if ((pw = getpwnam(c->build_user)) == NULL) {
		buf_printf(why, "the build user \"%s\" (build_user in [python]) "
		    "does not exist", c->build_user);
		return -1;
	}
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	if (id->uid == 0) {
		buf_printf(why, "the build user \"%s\" has uid 0: venv builds "
		    "never run as root", c->build_user);
		return -1;
	}
	if ((pw = getpwnam(c->run_user)) != NULL) {
		if (pw->pw_uid == id->uid) {
			buf_printf(why, "the build user \"%s\" has the run "
			    "user's uid: runs could change their venvs",
			    c->build_user);
			return -1;
		}
		id->run_gid = pw->pw_gid;
		id->have_run = 1;
	}
	return 0;
}

/*
 * The cache is the build user's own (0700). A cache someone else owns (root,
 * before builds had a user of their own, or an earlier build_user) is not
 * taken over but replaced: the venvs keep the files they link (the link
 * count just drops), and no build trusts what another user wrote.
 */
static int
prepare_cache(const struct conf *c, const struct build_ids *id,
    struct buf *why)
{
	const char *path = c->venv_cache_dir;
	char parent[PATH_MAX], old[PATH_MAX + 32], err[256], *slash;
	struct stat st;

	if (stat(path, &st) == 0 && (!S_ISDIR(st.st_mode) ||
	    st.st_uid != id->uid)) {
		snprintf(old, sizeof(old), "%s.old-%ld", path, (long)getpid());
		log_info("the venv cache \"%s\" belongs to uid %lu, not to the "
		    "build user \"%s\": starting a new one", path,
		    (unsigned long)st.st_uid, c->build_user);
		if (rename(path, old) == -1) {
			buf_printf(why, "cannot move the venv cache \"%s\" "
			    "away: %s", path, strerror(errno));
			return -1;
		}
		if (fs_remove_path(old, NULL) == -1)
			log_warn("cannot remove the old venv cache \"%s\"", old);
	}
	/* Its parents must let the build user through: 0755. */
	snprintf(parent, sizeof(parent), "%s", path);
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (fs_mkdirs(parent, 0755, err, sizeof(err)) == -1) {
			buf_printf(why, "cannot create the venv cache: %s", err);
			return -1;
		}
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		buf_printf(why, "cannot create the venv cache \"%s\": %s", path,
		    strerror(errno));
		return -1;
	}
	if (stat(path, &st) == -1 ||
	    ((st.st_uid != id->uid || st.st_gid != id->gid) &&
	    chown(path, id->uid, id->gid) == -1) ||
	    ((st.st_mode & 07777) != 0700 && chmod(path, 0700) == -1)) {
		buf_printf(why, "cannot give the venv cache \"%s\" to the build "
		    "user: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A fresh, empty stage for `key`: <venv_dir>/.build/<key>, the build user's,
 * 0700, in .build (root:<build group> 0710: only the build user gets
 * through, and cannot add, rename or remove anything there). A stage left
 * by a killed build is removed first (the caller holds the key's lock).
 * *bfd: a descriptor of .build, the caller's to close.
 */
static int
stage_make(const struct conf *c, const char *key, const struct build_ids *id,
    int *bfd, struct buf *why)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	*bfd = -1;
	if (ensure_dirs(c, why) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/" BUILDS, c->venv_dir);
	if (mkdir(path, 0710) == -1 && errno != EEXIST)
		goto fail;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		goto fail;
	if (fstat(fd, &st) == -1 ||
	    ((st.st_uid != 0 || st.st_gid != id->gid) &&
	    fchown(fd, 0, id->gid) == -1) ||
	    ((st.st_mode & 07777) != 0710 && fchmod(fd, 0710) == -1)) {
		close(fd);
		goto fail;
	}
	if (fs_remove_at(fd, key, NULL) == -1) {
		buf_printf(why, "cannot remove the stage a killed build left in "
		    "\"%s\": %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (mkdirat(fd, key, 0700) == -1 ||
	    fchownat(fd, key, id->uid, id->gid, AT_SYMLINK_NOFOLLOW) == -1) {
		close(fd);
		goto fail;
	}
	*bfd = fd;
	return 0;
fail:
	buf_printf(why, "cannot make the build's stage in \"%s\": %s", path,
	    strerror(errno));
	return -1;
}

/* What the walk of a stage carries. */
struct seal {
	uid_t uid;              /* the build user */
	struct buf path;        /* of the directory at hand, for messages */
	struct buf *why;
};

static int
seal_fail(struct seal *s, const char *name, const char *what)
{
	buf_printf(s->why, "cannot take the built venv over: \"%s%s\" %s",
	    buf_str(&s->path), name, what);
	return -1;
}

/*
 * Makes everything below directory fd (already root's, so that nobody else
 * can add, rename or remove entries in it any more) root's and read-only:
 * directories 0755, files 0444 (0555 when executable), no set-id bit.
 * A file that is also linked elsewhere (the build user's cache: the
 * builder hardlinks unpacked wheels) is one inode, so the cache's copy
 * becomes root's and read-only as well, which is what keeps a later
 * build from changing this venv through it. Files root already owns
 * (sealed for an earlier venv) are left alone if nobody can write them;
 * anything else (another user's file, a FIFO, a device) fails the build.
 */
static int
seal_dir(struct seal *s, int fd, int depth)
{
	DIR *d;
	struct dirent *ent;
	struct stat st;
	size_t plen = s->path.len;
	int sub, r, rc = -1;

	if ((sub = dup(fd)) == -1 || (d = fdopendir(sub)) == NULL) {
		if (sub != -1)
			close(sub);
		return seal_fail(s, "", strerror(errno));
	}
	for (;;) {
		const char *name;

		errno = 0;
		if ((ent = readdir(d)) == NULL) {
			if (errno != 0) {
				seal_fail(s, "", strerror(errno));
				goto out;
			}
			break;
		}
		name = ent->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			seal_fail(s, name, strerror(errno));
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if (st.st_uid != s->uid) {
				seal_fail(s, name, "is a directory that is not "
				    "the build user's");
				goto out;
			}
			if (depth + 1 >= MAX_DEPTH) {
				seal_fail(s, name, "is nested too deep");
				goto out;
			}
			sub = openat(fd, name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (sub == -1 || fchown(sub, 0, 0) == -1 ||
			    fchmod(sub, 0755) == -1) {
				seal_fail(s, name, strerror(errno));
				if (sub != -1)
					close(sub);
				goto out;
			}
			buf_printf(&s->path, "%s/", name);
			r = seal_dir(s, sub, depth + 1);
			s->path.len = plen;
			s->path.data[plen] = '\0';
			close(sub);
			if (r == -1)
				goto out;
		} else if (S_ISREG(st.st_mode)) {
			/* chown first: after it the build user may not chmod
			 * the file any more. */
			if (st.st_uid == s->uid) {
				if (fchownat(fd, name, 0, 0,
				    AT_SYMLINK_NOFOLLOW) == -1 ||
				    fchmodat(fd, name, (st.st_mode & S_IXUSR) ?
				    0555 : 0444, 0) == -1) {
					seal_fail(s, name, strerror(errno));
					goto out;
				}
			} else if (st.st_uid != 0 || (st.st_mode & 07222)) {
				seal_fail(s, name, "is a file that is neither the "
				    "build user's nor a read-only one of root's");
				goto out;
			}
		} else if (S_ISLNK(st.st_mode)) {
			if (st.st_uid == s->uid) {
				if (fchownat(fd, name, 0, 0,
				    AT_SYMLINK_NOFOLLOW) == -1) {
					seal_fail(s, name, strerror(errno));
					goto out;
				}
			} else if (st.st_uid != 0) {
				seal_fail(s, name, "is a symbolic link that is "
				    "not the build user's");
				goto out;
			}
		} else {
			seal_fail(s, name, "is neither a file, a directory nor "
			    "a symbolic link");
			goto out;
		}
	}
	rc = 0;
out:
	closedir(d);
	return rc;
}

/* A relative path without empty, "." or ".." components. */
static int
rel_ok(const char *p)
{
	const char *e;
	size_t n;

	if (*p == '\0' || *p == '/')
		return 0;
	for (;;) {
		e = strchr(p, '/');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (e == NULL)
			return 1;
		p = e + 1;
	}
}

/* The directory of the last path looked up below `root`, kept open: the
 * builder lists the links of a directory together. */
struct dircache {
	int root;
	char *dir;
	int fd;
};

static void
dircache_free(struct dircache *dc)
{
	if (dc->fd != -1 && dc->fd != dc->root)
		close(dc->fd);
	free(dc->dir);
	dc->dir = NULL;
	dc->fd = -1;
}

/* A descriptor of the directory that holds `rel` (modified: *leaf points
 * at its last component), reached without following a symbolic link.
 * Owned by dc. -1 with errno. */
static int
dircache_parent(struct dircache *dc, char *rel, const char **leaf)
{
	char *slash, *p, *e;
	int cur, next;

	if (!rel_ok(rel)) {
		errno = EINVAL;
		return -1;
	}
	if ((slash = strrchr(rel, '/')) == NULL) {
		*leaf = rel;
		return dc->root;
	}
	*slash = '\0';
	*leaf = slash + 1;
	if (dc->dir != NULL && strcmp(dc->dir, rel) == 0)
		return dc->fd;
	dircache_free(dc);
	cur = dc->root;
	for (p = rel; p != NULL; p = e) {
		if ((e = strchr(p, '/')) != NULL)
			*e++ = '\0';
		next = openat(cur, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (e != NULL)
			e[-1] = '/';
		if (cur != dc->root)
			close(cur);
		if (next == -1)
			return -1;
		cur = next;
	}
	dc->dir = xstrdup(rel);
	dc->fd = cur;
	return cur;
}

/*
 * Makes the links the builder left to root (LINKS in the stage, "<path in
 * the stage>\t<path in the cache>" a line): cache files that an earlier
 * venv's seal made root's, which the build user may not link any more.
 * Only such a file is linked: a regular file of root's that nobody may
 * write, which the build user cannot make, so a false list can at worst
 * put one sealed file in the place of another.
 */
static int
link_deferred(const struct conf *c, int sfd, int *linked, struct buf *why)
{
	struct dircache dst = { sfd, NULL, -1 }, src = { -1, NULL, -1 };
	struct buf text = BUF_INIT;
	struct stat st;
	char *line, *next, *tab;
	const char *dleaf, *sleaf;
	int fd, dp, sp, trunc = 0, rc = -1;

	*linked = 0;
	if ((fd = openat(sfd, LINKS, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fs_read_fd(fd, 64 << 20, &text, &trunc) == -1 || trunc) {
		buf_printf(why, "cannot read the builder's list of links%s",
		    trunc ? ": too long" : "");
		close(fd);
		goto out;
	}
	close(fd);
	if ((src.root = open(c->venv_cache_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		buf_printf(why, "cannot open the venv cache: %s",
		    strerror(errno));
		goto out;
	}
	for (line = text.data; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((tab = strchr(line, '\t')) == NULL) {
			buf_adds(why, "the builder's list of links is malformed");
			goto out;
		}
		*tab = '\0';
		if ((dp = dircache_parent(&dst, line, &dleaf)) == -1 ||
		    (sp = dircache_parent(&src, tab + 1, &sleaf)) == -1) {
			buf_printf(why, "cannot link \"%s\" from the cache: %s",
			    line, strerror(errno));
			goto out;
		}
		fd = openat(sp, sleaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_NOCTTY | O_CLOEXEC);
		if (fd == -1 || fstat(fd, &st) == -1) {
			buf_printf(why, "cannot link \"%s\" from the cache: %s",
			    line, strerror(errno));
			if (fd != -1)
				close(fd);
			goto out;
		}
		if (!S_ISREG(st.st_mode) || st.st_uid != 0 ||
		    (st.st_mode & 07222)) {
			buf_printf(why, "cannot link \"%s\": its file in the "
			    "cache is not one that was sealed for a venv", line);
			close(fd);
			goto out;
		}
		if (linkat(fd, "", dp, dleaf, AT_EMPTY_PATH) == -1) {
			buf_printf(why, "cannot link \"%s\" from the cache: %s",
			    line, strerror(errno));
			close(fd);
			goto out;
		}
		close(fd);
		(*linked)++;
	}
	if (unlinkat(sfd, LINKS, 0) == -1) {
		buf_printf(why, "cannot remove the builder's list of links: %s",
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	dircache_free(&dst);
	dircache_free(&src);
	if (src.root != -1)
		close(src.root);
	buf_free(&text);
	return rc;
}

/*
 * Takes the stage of a successful build over and puts it in place as
 * <venv_dir>/<key>: the stage itself first (root's, 0700: from then on
 * the build user cannot reach into it by any path), everything in it
 * (seal_dir), the links left to root, and last the venv's own mode
 * (root:<run group> 0750) and the rename. The marker was written by the
 * builder; until the rename, <venv_dir>/<key> has none. -1 with why.
 */
static int
adopt(const struct conf *c, int bfd, const char *key,
    const struct build_ids *id, struct buf *why)
{
	struct seal s = { id->uid, BUF_INIT, why };
	char trash[128];
	struct stat st;
	int sfd = -1, vfd = -1, linked, rc = -1;

	sfd = openat(bfd, key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd == -1 || fstat(sfd, &st) == -1) {
		buf_printf(why, "cannot open the build's stage: %s",
		    strerror(errno));
		goto out;
	}
	if (st.st_uid != id->uid) {
		buf_adds(why, "the build's stage is not the build user's");
		goto out;
	}
	if (fchown(sfd, 0, 0) == -1 || fchmod(sfd, 0700) == -1) {
		buf_printf(why, "cannot take the build's stage over: %s",
		    strerror(errno));
		goto out;
	}
	buf_adds(&s.path, "");
	if (seal_dir(&s, sfd, 0) == -1)
		goto out;
	if (link_deferred(c, sfd, &linked, why) == -1) {
		if (why->len == 0)
			buf_printf(why, "cannot read the builder's list of "
			    "links: %s", strerror(errno));
		goto out;
	}
	if (fstatat(sfd, MARKER, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode)) {
		buf_adds(why, "the builder reported success but left no ready "
		    "venv");
		goto out;
	}
	if (fchown(sfd, 0, id->have_run ? id->run_gid : 0) == -1 ||
	    fchmod(sfd, id->have_run ? 0750 : 0755) == -1 ||
	    (vfd = open(c->venv_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		buf_printf(why, "cannot put the venv in place: %s",
		    strerror(errno));
		goto out;
	}
	/* Whatever is in the way has no marker (the caller looked, under
	 * the key's lock): an unready leftover of an older builder. */
	if (fstatat(vfd, key, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		snprintf(trash, sizeof(trash), ".trash-%s-%ld", key,
		    (long)getpid());
		if (renameat(vfd, key, vfd, trash) == -1) {
			buf_printf(why, "cannot move the unready \"%s\" away: %s",
			    key, strerror(errno));
			goto out;
		}
		if (fs_remove_at(vfd, trash, NULL) == -1)
			log_warn("cannot remove \"%s/%s\"", c->venv_dir, trash);
	}
	if (renameat(bfd, key, vfd, key) == -1) {
		buf_printf(why, "cannot put the venv in place: %s",
		    strerror(errno));
		goto out;
	}
	(void)fsync(vfd);
	if (linked > 0)
		log_debug("venv \"%.12s\": %d file(s) linked from the sealed "
		    "cache", key, linked);
	rc = 0;
out:
	if (sfd != -1)
		close(sfd);
	if (vfd != -1)
		close(vfd);
	buf_free(&s.path);
	return rc;
}

/*
 * Removes the venv directory of `key` on this node (moved aside, then
 * deleted, so that no run ever sees half of it); the caller holds the
 * key's lock LOCK_EX. A directory that is not there is fine. 0, or -1
 * with why.
 */
static int
remove_dir_locked(const struct conf *c, const char *key, struct buf *why)
{
	char dir[PATH_MAX], trash[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/%s", c->venv_dir, key);
	snprintf(trash, sizeof(trash), "%s/.trash-%s-%ld", c->venv_dir, key,
	    (long)getpid());
	if (rename(dir, trash) == -1) {
		if (errno == ENOENT)
			return 0;
		buf_printf(why, "cannot move \"%s\" away: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (fs_remove_path(trash, NULL) == -1) {
		buf_printf(why, "cannot remove \"%s\": %s", trash,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- the build ---- */

/* Keeps a waiting or building execution from being taken for lost. */
struct heartbeat {
	struct db *db;
	long long exec_id;
	double last;
};

static void
heartbeat(struct heartbeat *hb)
{
	double now = clock_mono_ms();

	if (hb->exec_id <= 0 || now - hb->last < HEARTBEAT_MS)
		return;
	hb->last = now;
	if (store_execution_heartbeat(hb->db, hb->exec_id) == -1)
		log_warnx("cannot save the heartbeat: %s", db_errmsg(hb->db));
}

static int
heartbeat_tick(void *arg, const struct capture *out, const struct capture *err)
{
	(void)out;
	(void)err;
	heartbeat(arg);
	return 0;
}

/* Size reported by the builder's JSON line; -1 when absent. */
static long long
reported_size(const struct buf *out)
{
	yajl_val v, sz;
	char err[128];
	long long n = -1;

	if (out->len == 0)
		return -1;
	if ((v = json_parse(out->data, out->len, err, sizeof(err))) == NULL)
		return -1;
	sz = json_get(v, "size_bytes");
	if (sz != NULL && YAJL_IS_INTEGER(sz))
		n = YAJL_GET_INTEGER(sz);
	yajl_tree_free(v);
	return n;
}

/*
 * Runs the builder for `key` (the caller holds LOCK_EX) and records the
 * outcome. The builder runs as the build user, in a stage of its own
 * (stage_make), with the requirements on its stdin; root takes the stage
 * over when it succeeds (adopt). 0 when the venv is ready, -1 with the
 * execution's message.
 */
static int
build(struct db *db, const struct conf *c, struct shm *shm, const char *key,
    const char *dir, const char *version, const char *norm, int refresh,
    struct heartbeat *hb, struct buf *why)
{
	char stage[PATH_MAX], err[512], *fl = NULL, *tok, *save;
	char *argv[64];
	char *envp[4];
	struct buf home = BUF_INIT, raw = BUF_INIT, log = BUF_INIT;
	struct buf out = BUF_INIT, errline = BUF_INIT, tail = BUF_INIT;
	struct buf input = BUF_INIT, prep = BUF_INIT;
	struct build_ids id;
	struct exec_spec spec;
	struct exec_hooks hooks;
	struct exec_result res;
	double t0 = clock_mono_ms(), secs;
	int k = 0, started = 0, ok = 0, bfd = -1, rc = -1;
	size_t nlen = strlen(norm);

	memset(&res, 0, sizeof(res));
	if (store_venv_building(db, key, version, norm, c->node_name) == -1)
		log_warnx("cannot record the venv build: %s", db_errmsg(db));
	if (build_identity(c, &id, &prep) == -1 ||
	    prepare_cache(c, &id, &prep) == -1 ||
	    stage_make(c, key, &id, &bfd, &prep) == -1)
		goto done;
	snprintf(stage, sizeof(stage), "%s/" BUILDS "/%s", c->venv_dir, key);

	argv[k++] = c->venv_builder;
	argv[k++] = "build";
	argv[k++] = "--python";
	argv[k++] = c->python;
	argv[k++] = "--dest";
	argv[k++] = (char *)dir;
	argv[k++] = "--stage";
	argv[k++] = stage;
	argv[k++] = "--cache";
	argv[k++] = c->venv_cache_dir;
	argv[k++] = "--requirements";
	argv[k++] = "-";
	if (c->pip_index_url[0] != '\0') {
		argv[k++] = "--index-url";
		argv[k++] = c->pip_index_url;
	}
	/* find_links may list several places, separated by spaces or
	 * commas; each becomes one --find-links. */
	if ((fl = strdup(c->pip_find_links)) == NULL)
		fatal("strdup");
	for (tok = strtok_r(fl, " ,\t\n", &save); tok != NULL && k < 52;
	    tok = strtok_r(NULL, " ,\t\n", &save)) {
		argv[k++] = "--find-links";
		argv[k++] = tok;
	}
	if (c->pip_no_index)
		argv[k++] = "--no-index";
	if (c->allow_sdist)
		argv[k++] = "--allow-sdist";
	if (c->allow_direct_urls)
		argv[k++] = "--allow-direct-urls";
	if (refresh)
		argv[k++] = "--refresh";
	argv[k] = NULL;
	buf_printf(&home, "HOME=%s", c->venv_cache_dir);
	envp[0] = "PATH=" TOOL_PATH;
	envp[1] = "LANG=C.UTF-8";
	envp[2] = (char *)buf_str(&home);
	envp[3] = NULL;
	buf_add(&input, norm, nlen);
	buf_addc(&input, '\n');

	memset(&spec, 0, sizeof(spec));
	spec.path = c->venv_builder;
	spec.argv = argv;
	spec.envp = envp;
	spec.cwd = "/";
	spec.uid = id.uid;
	spec.gid = id.gid;
	spec.stdin_data = input.data;
	spec.stdin_len = input.len;
	spec.capture_cap = BUILD_LOG_CAP;
	spec.timeout_s = c->venv_build_timeout_s;
	spec.grace_s = c->kill_grace_s;
	memset(&hooks, 0, sizeof(hooks));
	hooks.tick = heartbeat_tick;
	hooks.tick_ms = POLL_MS;
	hooks.arg = hb;

	log_info("building venv \"%.12s\" as \"%s\" (%s)", key, c->build_user,
	    nlen ? norm : "no requirements");
	started = exec_run(&spec, &hooks, &res, err, sizeof(err)) == 0;
	if (started) {
		capture_render(&res.err, &raw);
		capture_render(&res.out, &out);
	}
	/* exec_run returned: the builder and everything it started are
	 * gone, so nothing of this build changes the stage any more. */
	ok = started && res.exited && res.exit_code == 0;
	if (ok && adopt(c, bfd, key, &id, &prep) == -1)
		ok = 0;
	ok = ok && is_ready(dir);
done:
	secs = (clock_mono_ms() - t0) / 1000.0;
	utf8_sanitize(&log, raw.data ? raw.data : "", raw.len);
	(void)db_begin(db);
	if (ok) {
		if (store_venv_ready(db, key, reported_size(&out), secs,
		    buf_str(&log)) == -1)
			log_warnx("cannot record the venv: %s", db_errmsg(db));
		if (shm != NULL)
			metrics_venv_build(shm, 1, secs);
		log_info("venv \"%.12s\" ready in %.2f s", key, secs);
		rc = 0;
		goto out;
	}
	parse_failure(buf_str(&log), &errline, &tail);
	if (prep.len > 0) {
		/* Before or after the builder, on root's side. */
		buf_reset(&errline);
		buf_add(&errline, prep.data, prep.len);
	} else if (!started) {
		buf_reset(&errline);
		buf_printf(&errline, "cannot start the venv builder: %s", err);
	} else if (res.timed_out) {
		buf_reset(&errline);
		buf_printf(&errline, "the build took longer than %d s "
		    "(build_timeout_s)", c->venv_build_timeout_s);
	} else if (res.signaled) {
		buf_reset(&errline);
		buf_printf(&errline, "the builder was killed by signal %d",
		    res.signo);
	} else if (errline.len == 0) {
		if (res.exit_code == 0)
			buf_adds(&errline, "the builder reported success but "
			    "left no ready venv");
		else
			buf_printf(&errline, "the builder failed with exit "
			    "status %d", res.exit_code);
	}
	if (store_venv_failed(db, key, secs, buf_str(&log),
	    buf_str(&errline)) == -1)
		log_warnx("cannot record the venv failure: %s", db_errmsg(db));
	if (shm != NULL)
		metrics_venv_build(shm, 0, secs);
	log_warnx("venv \"%.12s\" build failed after %.2f s: %s", key, secs,
	    buf_str(&errline));
	failure_message(why, "cannot build the python venv", buf_str(&errline),
	    buf_str(&tail));
out:
	if (bfd != -1) {
		/* Gone once adopted; a failed build's stage goes now. */
		if (fs_remove_at(bfd, key, NULL) == -1)
			log_warn("cannot remove the stage of venv \"%.12s\"",
			    key);
		close(bfd);
	}
	exec_result_free(&res);
	free(fl);
	buf_free(&home);
	buf_free(&raw);
	buf_free(&log);
	buf_free(&out);
	buf_free(&errline);
	buf_free(&tail);
	buf_free(&input);
	buf_free(&prep);
	return rc;
}

/*
 * One attempt at building, under LOCK_EX taken without waiting: 0 when
 * another process holds the lock (wait and look again), 1 when the venv
 * is ready now (built here or meanwhile), -1 with `why` when the build
 * failed now or failed recently enough that it is not retried yet.
 */
static int
try_build(struct db *db, const struct conf *c, struct shm *shm, int fd,
    const char *key, const char *dir, const char *version, const char *norm,
    struct heartbeat *hb, struct buf *why)
{
	struct venv_rec v;
	struct buf errline = BUF_INIT, tail = BUF_INIT, what = BUF_INIT;
	int found = 0, refresh, rc;

	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		buf_printf(why, "cannot lock the venv: %s", strerror(errno));
		return -1;
	}
	if (is_ready(dir)) {
		flock(fd, LOCK_UN);
		return 1;
	}
	memset(&v, 0, sizeof(v));
	if (store_venv_by_key(db, key, 1, &v, &found) == -1) {
		log_warnx("cannot read the venv record, building anyway: %s",
		    db_errmsg(db));
		found = 0;
	}
	if (found && strcmp(v.status, "failed") == 0 && v.failed_age_s >= 0 &&
	    v.failed_age_s < c->venv_retry_backoff_s) {
		/* The back-off: report the recorded failure, build nothing. */
		parse_failure(v.build_log ? v.build_log : "", &errline, &tail);
		buf_printf(&what, "the python venv failed to build %lld s ago "
		    "and is retried %lld s after that failure (retry_backoff_s)"
		    "; the build said", v.failed_age_s,
		    (long long)c->venv_retry_backoff_s);
		failure_message(why, buf_str(&what), v.error ? v.error :
		    buf_str(&errline), buf_str(&tail));
		venv_rec_free(&v);
		buf_free(&errline);
		buf_free(&tail);
		buf_free(&what);
		flock(fd, LOCK_UN);
		return -1;
	}
	/* A new key, a venv an admin deleted or a failed one: resolve the
	 * requirements again rather than reuse a cached resolution. */
	refresh = !(found && strcmp(v.status, "ready") == 0);
	venv_rec_free(&v);
	rc = build(db, c, shm, key, dir, version, norm, refresh, hb, why);
	flock(fd, LOCK_UN);
	return rc == 0 ? 1 : -1;
}

int
venv_prepare(struct db *db, const struct conf *c, struct shm *shm,
    const struct script *s, long long exec_id, struct venv_ready *out,
    struct buf *why)
{
	struct buf norm = BUF_INIT;
	struct heartbeat hb = { db, exec_id, 0 };
	char key[65], version[32], dir[PATH_MAX];
	double deadline, t0;
	int fd = -1, rc = -1, r, built = 0;

	out->dir = out->python = NULL;
	out->lock_fd = -1;
	t0 = hb.last = clock_mono_ms();
	if (key_for(c, s->requirements, key, &norm, version, why) == -1)
		goto out;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", c->venv_dir, key) >=
	    sizeof(dir) - sizeof("/bin/python") - sizeof(MARKER)) {
		buf_adds(why, "the venv dir path is too long");
		goto out;
	}
	if ((fd = lock_open(c, key, why)) == -1)
		goto out;
	/* A build has its own deadline; a waiter allows it a minute more. */
	deadline = clock_mono_ms() + (c->venv_build_timeout_s + 60) * 1000.0;
	for (;;) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
			if (is_ready(dir))
				break;
			flock(fd, LOCK_UN);
			r = try_build(db, c, shm, fd, key, dir, version,
			    buf_str(&norm), &hb, why);
			if (r == -1)
				goto out;
			if (r == 1) {
				built = 1;
				continue;
			}
		} else if (errno != EWOULDBLOCK && errno != EINTR) {
			buf_printf(why, "cannot lock the venv: %s",
			    strerror(errno));
			goto out;
		}
		if (clock_mono_ms() > deadline) {
			buf_printf(why, "gave up waiting after %d s for another "
			    "run's build of the python venv",
			    c->venv_build_timeout_s + 60);
			goto out;
		}
		heartbeat(&hb);
		usleep(POLL_MS * 1000);
	}
	touch_use(db, key);
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("venv \"%.12s\" %s in %.3f ms", key, built ?
		    "built and locked" : "looked up and locked",
		    clock_mono_ms() - t0);
	if ((out->dir = strdup(dir)) == NULL)
		fatal("strdup");
	if (asprintf(&out->python, "%s/bin/python", dir) == -1)
		fatal("asprintf");
	out->lock_fd = fd;
	fd = -1;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	buf_free(&norm);
	return rc;
}

void
venv_release(struct venv_ready *v)
{
	/* Closing the descriptor drops the shared lock. Only a prepared
	 * struct (dir set) owns one, so a zeroed struct is safe. */
	if (v->dir != NULL && v->lock_fd >= 0)
		close(v->lock_fd);
	v->lock_fd = -1;
	free(v->dir);
	free(v->python);
	v->dir = v->python = NULL;
}

/* ---- removal ---- */

/*
 * Removes the venv of `key` on this node unless it is in use (*busy = 1,
 * -1). The directory is first renamed out of the way, so no run can see
 * a half-removed venv; a crash leaves a .trash-* entry for venv_prune.
 */
static int
remove_local(const struct conf *c, const char *key, int *busy,
    struct buf *why)
{
	int fd, rc = -1;

	*busy = 0;
	if ((fd = lock_open(c, key, why)) == -1)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			*busy = 1;
		else
			buf_printf(why, "cannot lock the venv: %s",
			    strerror(errno));
		goto out;
	}
	rc = remove_dir_locked(c, key, why);
out:
	close(fd);
	return rc;
}

/* ---- the admin side ---- */

enum venv_status
venv_rebuild(struct db *db, const struct conf *c, struct shm *shm,
    long long id, const char *actor, struct buf *why)
{
	struct venv_rec v;
	struct buf norm = BUF_INIT, ignored = BUF_INIT;
	struct heartbeat hb = { db, 0, 0 };
	char key[65], version[32], dir[PATH_MAX];
	int found = 0, fd = -1;
	enum venv_status st = VENV_FS;

	memset(&v, 0, sizeof(v));
	if (store_venv_by_id(db, id, 0, &v, &found) == -1)
		return VENV_DB;
	if (!found)
		return VENV_NOT_FOUND;
	/* Its requirements under this node's config must still give its
	 * key: a venv of another interpreter or other installer options is
	 * no script's here, and a build would put today's packages under
	 * yesterday's key. */
	if (key_for(c, v.requirements, key, &norm, version, why) == -1)
		goto out;
	if (strcmp(key, v.key) != 0) {
		buf_printf(why, "venv %lld was made for another interpreter or "
		    "other installer options than this node's (its key is not "
		    "what its requirements give now): no script runs in it; "
		    "delete it instead", id);
		st = VENV_STALE;
		goto out;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", c->venv_dir, key) >=
	    sizeof(dir) - sizeof("/bin/python") - sizeof(MARKER)) {
		buf_adds(why, "the venv dir path is too long");
		goto out;
	}
	if ((fd = lock_open(c, key, why)) == -1)
		goto out;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK) {
			buf_printf(why, "cannot lock the venv: %s",
			    strerror(errno));
			goto out;
		}
		st = VENV_BUSY;
		goto out;
	}
	/* Nobody uses it now, and nobody can until the build is done. */
	if (remove_dir_locked(c, key, why) == -1)
		goto out;
	if (store_audit(db, actor, "venv.rebuild", "venv", id, key) == -1)
		log_warnx("audit of the rebuild of venv %lld: %s", id,
		    db_errmsg(db));
	log_info("venv %lld \"%.12s\" rebuilt at the request of \"%s\"", id,
	    key, actor);
	/* A failed build is recorded (status, error, log) like a run's: the
	 * caller shows it; `why` is not what it answers. */
	(void)build(db, c, shm, key, dir, version, buf_str(&norm), 1, &hb,
	    &ignored);
	st = VENV_OK;
out:
	if (fd != -1)
		close(fd);
	venv_rec_free(&v);
	buf_free(&norm);
	buf_free(&ignored);
	return st;
}

struct skey {
	char key[65];
	long long id;
};

struct skeys {
	const struct conf *c;
	struct skey *v;
	size_t n, cap;
};

static void
collect_key(void *arg, long long id, const char *reqs)
{
	struct skeys *k = arg;
	struct buf why = BUF_INIT;
	char version[32];

	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 16;
		if ((k->v = realloc(k->v, k->cap * sizeof(*k->v))) == NULL)
			fatal("realloc");
	}
	if (key_for(k->c, reqs, k->v[k->n].key, NULL, version, &why) == 0)
		k->v[k->n++].id = id;
	buf_free(&why);
}

/* The key of every python script under the current config. */
static int
script_keys(struct db *db, const struct conf *c, struct skeys *k)
{
	memset(k, 0, sizeof(*k));
	k->c = c;
	return store_venv_python_scripts(db, collect_key, k);
}

static void
ids_for(const struct skeys *k, const char *key, long long **ids, size_t *n)
{
	*n = 0;
	if ((*ids = calloc(k->n + 1, sizeof(**ids))) == NULL)
		fatal("calloc");
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->v[i].key, key) == 0)
			(*ids)[(*n)++] = k->v[i].id;
}

struct list_ctx {
	struct skeys *k;
	void (*fn)(void *arg, const struct venv_rec *v,
	    const long long *scripts, size_t n);
	void *arg;
};

static void
list_one(void *arg, const struct venv_rec *v)
{
	struct list_ctx *lc = arg;
	long long *ids;
	size_t n;

	ids_for(lc->k, v->key, &ids, &n);
	lc->fn(lc->arg, v, ids, n);
	free(ids);
}

int
venv_list(struct db *db, const struct conf *c,
    void (*fn)(void *arg, const struct venv_rec *v, const long long *scripts,
    size_t n), void *arg)
{
	struct skeys k;
	struct list_ctx lc;
	int rc;

	if (script_keys(db, c, &k) == -1) {
		free(k.v);
		return -1;
	}
	lc.k = &k;
	lc.fn = fn;
	lc.arg = arg;
	rc = store_venv_list(db, list_one, &lc);
	free(k.v);
	return rc;
}

enum venv_status
venv_get(struct db *db, const struct conf *c, long long id,
    struct venv_rec *v, long long **scripts, size_t *n)
{
	struct skeys k;
	int found = 0;

	*scripts = NULL;
	*n = 0;
	memset(v, 0, sizeof(*v));
	if (store_venv_by_id(db, id, 1, v, &found) == -1)
		return VENV_DB;
	if (!found)
		return VENV_NOT_FOUND;
	if (script_keys(db, c, &k) == -1) {
		free(k.v);
		venv_rec_free(v);
		return VENV_DB;
	}
	ids_for(&k, v->key, scripts, n);
	free(k.v);
	return VENV_OK;
}

static void
jw_ts(struct jw *w, const char *key, const char *ts)
{
	jw_key(w, key);
	jw_str(w, ts[0] ? ts : NULL);
}

void
venv_write_json(struct jw *w, const struct conf *c, const struct venv_rec *v,
    const long long *scripts, size_t n, int with_log)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/%s", c->venv_dir, v->key);
	jw_obj(w);
	jw_key(w, "id");
	jw_int(w, v->id);
	jw_key(w, "key");
	jw_str(w, v->key);
	jw_key(w, "python");
	jw_str(w, v->python);
	jw_key(w, "requirements");
	jw_str(w, v->requirements ? v->requirements : "");
	jw_key(w, "status");
	jw_str(w, v->status);
	jw_key(w, "size_bytes");
	if (v->size_bytes >= 0)
		jw_int(w, v->size_bytes);
	else
		jw_null(w);
	jw_ts(w, "created_at", v->created_at);
	jw_ts(w, "last_used_at", v->last_used_at);
	jw_key(w, "build_seconds");
	if (v->build_seconds >= 0)
		jw_double(w, v->build_seconds);
	else
		jw_null(w);
	jw_key(w, "scripts");
	jw_arr(w);
	for (size_t i = 0; i < n; i++)
		jw_int(w, scripts[i]);
	jw_arr_end(w);
	jw_key(w, "present");
	jw_bool(w, is_ready(dir));
	jw_key(w, "error");
	jw_str(w, v->error);
	jw_ts(w, "failed_at", v->failed_at);
	jw_key(w, "node");
	jw_str(w, v->node[0] ? v->node : NULL);
	if (with_log) {
		jw_key(w, "build_log");
		jw_str(w, v->build_log);
	}
	jw_obj_end(w);
}

void
venv_write_for_script(struct jw *w, struct db *db, const struct conf *c,
    const struct script *s)
{
	struct buf why = BUF_INIT;
	struct venv_rec v;
	char key[65], version[32], dir[PATH_MAX];
	int found = 0;

	jw_obj(w);
	if (key_for(c, s->requirements, key, NULL, version, &why) == -1) {
		jw_key(w, "key");
		jw_null(w);
		jw_key(w, "status");
		jw_str(w, strncmp(buf_str(&why), "the requirements", 16) == 0 ?
		    "invalid" : "unknown");
		jw_key(w, "error");
		jw_str(w, buf_str(&why));
		goto out;
	}
	jw_key(w, "key");
	jw_str(w, key);
	memset(&v, 0, sizeof(v));
	if (store_venv_by_key(db, key, 0, &v, &found) == -1 || !found) {
		jw_key(w, "status");
		jw_str(w, "absent");
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/%s", c->venv_dir, key);
	jw_key(w, "id");
	jw_int(w, v.id);
	jw_key(w, "status");
	jw_str(w, v.status);
	jw_key(w, "python");
	jw_str(w, v.python);
	jw_key(w, "size_bytes");
	if (v.size_bytes >= 0)
		jw_int(w, v.size_bytes);
	else
		jw_null(w);
	jw_ts(w, "last_used_at", v.last_used_at);
	jw_key(w, "present");
	jw_bool(w, is_ready(dir));
	if (v.error != NULL) {
		jw_key(w, "error");
		jw_str(w, v.error);
	}
	venv_rec_free(&v);
out:
	jw_obj_end(w);
	buf_free(&why);
}

enum venv_status
venv_evict(struct db *db, const struct conf *c, long long id,
    const char *actor, struct buf *why)
{
	struct venv_rec v;
	int found = 0, busy;
	enum venv_status st = VENV_OK;

	memset(&v, 0, sizeof(v));
	if (store_venv_by_id(db, id, 0, &v, &found) == -1)
		return VENV_DB;
	if (!found)
		return VENV_NOT_FOUND;
	if (remove_local(c, v.key, &busy, why) == -1) {
		st = busy ? VENV_BUSY : VENV_FS;
		goto out;
	}
	if (store_venv_delete(db, id, &found) == -1 ||
	    store_audit(db, actor, "venv.delete", "venv", id, v.key) == -1) {
		st = VENV_DB;
		goto out;
	}
	log_info("venv %lld \"%.12s\" evicted by \"%s\"", id, v.key, actor);
out:
	venv_rec_free(&v);
	return st;
}

static int
is_key(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/*
 * Removes the stages in <venv_dir>/.build whose build is over (nobody
 * holds the key's lock: the build's runner was killed), without waiting
 * for that key's next build.
 */
static void
sweep_stages(const struct conf *c)
{
	struct buf why = BUF_INIT;
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int lfd;

	snprintf(path, sizeof(path), "%s/" BUILDS, c->venv_dir);
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!is_key(e->d_name))
			continue;
		buf_reset(&why);
		if ((lfd = lock_open(c, e->d_name, &why)) == -1)
			continue;
		if (flock(lfd, LOCK_EX | LOCK_NB) == 0) {
			if (fs_remove_at(dirfd(d), e->d_name, NULL) == -1)
				log_warn("cannot remove the stage \"%s/%s\"",
				    path, e->d_name);
			flock(lfd, LOCK_UN);
		}
		close(lfd);
	}
	closedir(d);
	buf_free(&why);
}

/* Removes .trash-<key>-<pid> entries whose eviction died midway, and the
 * <key>.tmp-<pid> / .old-<pid> of builders of older versions, which ran as
 * root and renamed their venvs into place themselves. */
static void
sweep_trash(const struct conf *c)
{
	DIR *d;
	struct dirent *e;
	char path[PATH_MAX];

	if ((d = opendir(c->venv_dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		const char *dash;
		long pid;

		if (strncmp(e->d_name, ".trash-", 7) != 0 &&
		    !(strlen(e->d_name) > 64 && (strncmp(e->d_name + 64,
		    ".tmp-", 5) == 0 || strncmp(e->d_name + 64, ".old-", 5) == 0)))
			continue;
		if ((dash = strrchr(e->d_name, '-')) == NULL)
			continue;
		pid = strtol(dash + 1, NULL, 10);
		if (pid <= 0 || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->venv_dir, e->d_name);
		if (fs_remove_path(path, NULL) == -1)
			log_warn("cannot remove \"%s\"", path);
	}
	closedir(d);
	sweep_stages(c);
}

struct cand {
	char key[65];
	long long id, size, idle_s;
};

struct cands {
	const struct conf *c;
	int ready_only;         /* pass over venvs not ready on this node */
	struct cand *v;
	size_t n, cap;
};

static void
collect_cand(void *arg, const struct venv_rec *v)
{
	struct cands *cs = arg;
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/%s", cs->c->venv_dir, v->key);
	if (cs->ready_only && !is_ready(dir))
		return;         /* not on this node */
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? cs->cap * 2 : 16;
		if ((cs->v = realloc(cs->v, cs->cap * sizeof(*cs->v))) == NULL)
			fatal("realloc");
	}
	memcpy(cs->v[cs->n].key, v->key, sizeof(v->key));
	cs->v[cs->n].id = v->id;
	cs->v[cs->n].size = v->size_bytes > 0 ? v->size_bytes : 0;
	cs->v[cs->n].idle_s = v->idle_s;
	cs->n++;
}

int
venv_prune(struct db *db, const struct conf *c, int *evicted)
{
	struct cands cs;
	struct buf why = BUF_INIT;
	long long total = 0, max_age_s = c->venv_max_age_days * 86400LL;
	int busy, found;

	*evicted = 0;
	sweep_trash(c);
	if (c->venv_max_bytes <= 0 && c->venv_max_age_days <= 0)
		return 0;
	memset(&cs, 0, sizeof(cs));
	cs.c = c;
	cs.ready_only = 1;
	if (store_venv_lru(db, collect_cand, &cs) == -1) {
		free(cs.v);
		return -1;
	}
	for (size_t i = 0; i < cs.n; i++)
		total += cs.v[i].size;
	/* Least recently used first: once one is neither too old nor needed
	 * to get under the size bound, none after it is. */
	for (size_t i = 0; i < cs.n; i++) {
		struct cand *v = &cs.v[i];
		int old = max_age_s > 0 && v->idle_s > max_age_s;
		int over = c->venv_max_bytes > 0 && total > c->venv_max_bytes;

		if (!old && !over)
			break;
		buf_reset(&why);
		if (remove_local(c, v->key, &busy, &why) == -1) {
			if (!busy)
				log_warnx("cannot evict venv \"%.12s\": %s",
				    v->key, buf_str(&why));
			continue;
		}
		if (store_venv_delete(db, v->id, &found) == -1) {
			free(cs.v);
			buf_free(&why);
			return -1;
		}
		total -= v->size;
		(*evicted)++;
		log_info("evicted venv %lld \"%.12s\": %s", v->id, v->key,
		    old ? "unused for longer than max_age_days" :
		    "the venvs are over max_cache_bytes");
	}
	free(cs.v);
	buf_free(&why);
	return 0;
}

int
venv_sweep_interrupted(struct db *db, const struct conf *c, int *marked)
{
	struct cands cs;
	struct buf why = BUF_INIT;
	int fd, rc = 0;

	*marked = 0;
	memset(&cs, 0, sizeof(cs));
	cs.c = c;
	if (store_venv_building_on(db, c->node_name, collect_cand, &cs) == -1) {
		free(cs.v);
		return -1;
	}
	for (size_t i = 0; i < cs.n && rc == 0; i++) {
		buf_reset(&why);
		if ((fd = lock_open(c, cs.v[i].key, &why)) == -1) {
			log_warnx("%s", buf_str(&why));
			continue;
		}
		/* A builder holds the lock for its whole build, and the
		 * kernel drops it with the builder's runner: free, nobody
		 * builds. Marked while we hold it, so a build starting now
		 * records itself after us. */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (store_venv_interrupted(db, cs.v[i].key,
			    "the build was interrupted: the process building "
			    "it stopped before it finished; the next run "
			    "builds it again") == -1)
				rc = -1;
			else
				(*marked)++;
			flock(fd, LOCK_UN);
		}
		close(fd);
	}
	free(cs.v);
	buf_free(&why);
	return rc;
}
