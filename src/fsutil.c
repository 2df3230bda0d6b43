#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

int
fs_read_fd(int fd, size_t max, struct buf *out, int *truncated)
{
	char tmp[65536];
	size_t got = 0;
	ssize_t n;

	if (truncated != NULL)
		*truncated = 0;
	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		if (got + (size_t)n > max) {
			buf_add(out, tmp, max - got);
			got = max;
			if (truncated != NULL)
				*truncated = 1;
			break;
		}
		buf_add(out, tmp, (size_t)n);
		got += (size_t)n;
	}
	if (out->data == NULL)
		buf_adds(out, "");
	return 0;
}

int
fs_read_file(const char *path, size_t max, struct buf *out, char *err,
    size_t errlen)
{
	int fd, trunc, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot open \"%s\": %s", path,
		    strerror(errno));
		return -1;
	}
	rc = fs_read_fd(fd, max, out, &trunc);
	if (rc == -1)
		snprintf(err, errlen, "cannot read \"%s\": %s", path,
		    strerror(errno));
	else if (trunc) {
		snprintf(err, errlen, "\"%s\" is larger than %zu bytes", path,
		    max);
		rc = -1;
	}
	close(fd);
	return rc;
}

int
fs_mkdirs(const char *path, unsigned int mode, char *err, size_t errlen)
{
	char tmp[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp)) {
		snprintf(err, errlen, "bad directory path \"%s\"", path);
		return -1;
	}
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(tmp, (mode_t)mode) == -1 && errno != EEXIST) {
				snprintf(err, errlen, "cannot create \"%s\": %s",
				    tmp, strerror(errno));
				return -1;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

int
fs_path_normal(const char *path, enum fs_path_kind kind)
{
	const char *seg = path;
	size_t n;

	if ((path[0] == '/') != (kind == FS_PATH_ABSOLUTE))
		return 0;
	if (kind == FS_PATH_ABSOLUTE)
		seg++;
	for (;;) {
		n = strcspn(seg, "/");
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (seg[n] == '\0')
			return 1;
		seg += n + 1;
	}
}

/*
 * Removing a tree that its owner (a script, a build) could shape at will:
 * every entry is reached through a descriptor of its directory opened with
 * O_NOFOLLOW, so a symbolic link is removed and never followed, and a
 * directory renamed or swapped meanwhile cannot lead elsewhere. A
 * directory its owner closed (mode 0) is given back search and write
 * permission through an O_PATH descriptor of that very directory. At most
 * FS_REMOVE_OPEN_DEPTH directories are open at once: a subtree deeper than
 * that is renamed up into the top directory and removed from there when
 * the top is read again, so no depth a script can make runs us out of
 * descriptors.
 */
#define FS_REMOVE_OPEN_DEPTH 64
#define FS_REMOVE_PASSES 8
#define FS_REMOVE_MAX_MOVES 1000000

struct rm_ctx {
	int top;                /* the directory being removed, or -1 */
	unsigned long hoisted;  /* names given to subtrees moved up */
	struct buf *errs;       /* may be NULL */
	int first_errno;
};

static void
rm_fail(struct rm_ctx *rc, const char *name, int err)
{
	if (rc->first_errno == 0)
		rc->first_errno = err;
	if (rc->errs != NULL)
		buf_printf(rc->errs, "\"%s\": %s; ", name, strerror(err));
}

/* Opens directory `name` of dfd for reading, giving back the permission
 * its owner took away if need be. -1 with errno. */
static int
open_dir_at(int dfd, const char *name)
{
	char proc[64];
	int fd, pfd;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd != -1 || errno != EACCES)
		return fd;
	pfd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pfd == -1)
		return -1;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	if (chmod(proc, 0700) == 0)
		fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else
		errno = EACCES;
	close(pfd);
	return fd;
}

static int rm_entry(struct rm_ctx *rc, int dfd, const char *name, int depth);

/* Empties the directory open at fd (consumed). 0 when it is empty. */
static int
rm_contents(struct rm_ctx *rc, int fd, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int ok = 0;

	/* Deleting entries needs write permission on the directory. */
	if (fstat(fd, &st) == 0 && (st.st_mode & 0300) != 0300)
		(void)fchmod(fd, st.st_mode | 0700);
	if ((d = fdopendir(fd)) == NULL) {
		rm_fail(rc, ".", errno);
		close(fd);
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (rm_entry(rc, dirfd(d), de->d_name, depth + 1) == -1)
			ok = -1;
	}
	if (errno != 0) {
		rm_fail(rc, "readdir", errno);
		ok = -1;
	}
	closedir(d);
	return ok;
}

static int
rm_entry(struct rm_ctx *rc, int dfd, const char *name, int depth)
{
	char moved[64];
	int fd;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM) {
		rm_fail(rc, name, errno);
		return -1;
	}
	if (depth >= FS_REMOVE_OPEN_DEPTH && rc->top != -1) {
		/* Too deep to open: move it up, to be taken on the top
		 * directory's next pass. */
		snprintf(moved, sizeof(moved), ".scriptorch-rm-%lu-%d",
		    rc->hoisted++, (int)getpid());
		if (renameat(dfd, name, rc->top, moved) == 0)
			return 0;
		rm_fail(rc, name, errno);
		return -1;
	}
	for (int pass = 0; pass < FS_REMOVE_PASSES; pass++) {
		unsigned long hoisted = rc->hoisted;

		if ((fd = open_dir_at(dfd, name)) == -1) {
			if (errno == ENOENT)
				return 0;
			rm_fail(rc, name, errno);
			return -1;
		}
		(void)rm_contents(rc, fd, depth);
		if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		/* Entries that appeared while we read it (its owner still
		 * at work), or subtrees moved up into it: read it again. */
		if (errno != ENOTEMPTY && errno != EEXIST) {
			rm_fail(rc, name, errno);
			return -1;
		}
		/* A pass that moved subtrees up made progress: it does not
		 * count (a tree of any depth goes, FS_REMOVE_OPEN_DEPTH
		 * levels a pass), up to a bound on the moves. */
		if (rc->hoisted != hoisted && rc->hoisted < FS_REMOVE_MAX_MOVES)
			pass--;
	}
	rm_fail(rc, name, ENOTEMPTY);
	return -1;
}

int
fs_remove_at(int dfd, const char *name, struct buf *errs)
{
	struct rm_ctx rc = { -1, 0, errs, 0 };
	int rv;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	/* The tree's top: where subtrees too deep to open are moved. */
	rc.top = open_dir_at(dfd, name);
	if (rc.top == -1) {
		if (errno == ENOENT)
			return 0;
		rm_fail(&rc, name, errno);
		return -1;
	}
	rv = rm_entry(&rc, dfd, name, 0);
	close(rc.top);
	if (rv == -1)
		errno = rc.first_errno != 0 ? rc.first_errno : EIO;
	return rv;
}

int
fs_remove_path(const char *path, struct buf *errs)
{
	char *parent;
	const char *slash = strrchr(path, '/');
	int dfd, rv, saved;

	if (slash == NULL || slash[1] == '\0') {
		errno = EINVAL;
		return -1;
	}
	parent = strndup(path, (size_t)(slash - path));
	if (parent == NULL)
		return -1;
	dfd = open(parent[0] != '\0' ? parent : "/", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	free(parent);
	if (dfd == -1)
		return -1;
	rv = fs_remove_at(dfd, slash + 1, errs);
	saved = errno;
	close(dfd);
	errno = saved;
	return rv;
}
