/* Unit tests of fsutil.h: the one rule for a path's normal form, in its
 * absolute form (a script's path) and its relative one (outputs.file),
 * the size cap of fs_read_file on a real file, and the one recursive
 * delete. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "tap.h"

static char base[] = "/tmp/test-fsutil.XXXXXX";

/* base/rel, in one of two buffers (two may be in use at once). */
static const char *
at(const char *rel)
{
	static char p[2][512];
	static int i;

	i = !i;
	snprintf(p[i], sizeof(p[i]), "%s/%s", base, rel);
	return p[i];
}

static void
put(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	if ((f = fopen(p, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static int
exists(const char *rel)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	return lstat(p, &st) == 0;
}

static void
mk(const char *rel, mode_t mode)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	mkdir(p, mode);
}


struct path_case {
	const char *path;
	int absolute;   /* the answer with FS_PATH_ABSOLUTE */
	int relative;   /* the answer with FS_PATH_RELATIVE */
};

static const struct path_case cases[] = {
	/* the ordinary ones */
	{ "/srv/scripts/a.sh", 1, 0 },
	{ "/a", 1, 0 },
	{ "out/result.json", 0, 1 },
	{ "a", 0, 1 },
	/* dots inside a name are no segment of their own */
	{ "/srv/.hidden/..x/x../a.b", 1, 0 },
	{ ".env", 0, 1 },
	{ "...", 0, 1 },
	{ "/...", 1, 0 },
	/* empty: nothing, the root, doubled and trailing slashes */
	{ "", 0, 0 },
	{ "/", 0, 0 },
	{ "//", 0, 0 },
	{ "//srv/a", 0, 0 },
	{ "/srv//a", 0, 0 },
	{ "/srv/a/", 0, 0 },
	{ "a//b", 0, 0 },
	{ "a/", 0, 0 },
	/* "." and ".." anywhere */
	{ ".", 0, 0 },
	{ "..", 0, 0 },
	{ "/.", 0, 0 },
	{ "/..", 0, 0 },
	{ "/srv/./a", 0, 0 },
	{ "/srv/../a", 0, 0 },
	{ "/srv/a/..", 0, 0 },
	{ "/srv/a/.", 0, 0 },
	{ "./a", 0, 0 },
	{ "../a", 0, 0 },
	{ "a/../b", 0, 0 },
	{ "a/./b", 0, 0 },
	{ "a/..", 0, 0 },
};

/* The one recursive delete: links never followed, closed directories,
 * trees deeper than the descriptors it keeps open. */
static void
test_remove(void)
{
	char p[512];
	struct buf errs = BUF_INIT;
	int dfd, fd;

	if (mkdtemp(base) == NULL) {
		printf("Bail out! mkdtemp\n");
		exit(2);
	}
	dfd = open(base, O_RDONLY | O_DIRECTORY);

	/* Something outside the tree that links point at. */
	mk("outside", 0755);
	put("outside/keep", "keep");
	mk("t", 0755);
	mk("t/a", 0755);
	mk("t/a/b", 0755);
	put("t/a/b/f", "x");
	put("t/file", "y");
	ok(symlink(at("outside"), at("t/a/to-dir")) == 0,
	    "(a link to a directory outside)");
	ok(symlink(at("outside/keep"), at("t/to-file")) == 0,
	    "(a link to a file outside)");
	snprintf(p, sizeof(p), "%s/t/fifo", base);
	ok(mkfifo(p, 0600) == 0, "(a fifo)");
	mk("t/closed", 0755);
	put("t/closed/inside", "z");
	snprintf(p, sizeof(p), "%s/t/closed", base);
	chmod(p, 0);
	ok(fs_remove_at(dfd, "t", &errs) == 0, "a tree is removed: %s",
	    buf_str(&errs));
	ok(!exists("t"), "nothing of it is left");
	ok(exists("outside/keep"), "what links pointed at is untouched");

	ok(fs_remove_at(dfd, "missing", NULL) == 0, "a missing entry is no error");
	put("plain", "p");
	snprintf(p, sizeof(p), "%s/plain", base);
	ok(fs_remove_path(p, NULL) == 0 && !exists("plain"), "a file by path");
	ok(symlink(at("outside"), at("link")) == 0 &&
	    fs_remove_at(dfd, "link", NULL) == 0 && !exists("link") &&
	    exists("outside/keep"), "a link at the top: the link goes, not its target");

	/* 300 levels: more than it keeps open (64), so subtrees are moved up
	 * and taken from the top. With 100 descriptors allowed, a walk that
	 * kept one per level open would fail with EMFILE. */
	{
		struct rlimit rl = { 100, 100 };
		ok(setrlimit(RLIMIT_NOFILE, &rl) == 0, "(100 descriptors at most)");
	}
	mk("deep", 0755);
	fd = openat(dfd, "deep", O_RDONLY | O_DIRECTORY);
	for (int i = 0; i < 300 && fd != -1; i++) {
		int next;
		mkdirat(fd, "d", 0755);
		if (i % 50 == 0) {
			int f = openat(fd, "f", O_WRONLY | O_CREAT, 0644);
			close(f);
		}
		next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		close(fd);
		fd = next;
	}
	if (fd != -1)
		close(fd);
	buf_reset(&errs);
	ok(fs_remove_at(dfd, "deep", &errs) == 0 && !exists("deep"),
	    "a tree 300 levels deep is removed: %s", buf_str(&errs));

	ok(fs_remove_path("relative-name", NULL) == -1 && errno == EINVAL,
	    "a path without a directory is refused");
	fs_remove_at(dfd, "outside", NULL);
	close(dfd);
	rmdir(base);
	ok(!exists(""), "the test's own dir is gone");
	buf_free(&errs);
}

int
main(void)
{
	char dir[] = "/tmp/sto-fsutil-XXXXXX", path[64], err[256];
	struct buf b = BUF_INIT;
	FILE *f;

	plan_lazy();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct path_case *t = &cases[i];

		is_int(fs_path_normal(t->path, FS_PATH_ABSOLUTE), t->absolute,
		    "absolute \"%s\"", t->path);
		is_int(fs_path_normal(t->path, FS_PATH_RELATIVE), t->relative,
		    "relative \"%s\"", t->path);
	}

	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/ten", dir);
	if ((f = fopen(path, "w")) == NULL || fputs("0123456789", f) < 0 ||
	    fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", path);
		return 2;
	}
	ok(fs_read_file(path, 10, &b, err, sizeof(err)) == 0 &&
	    b.len == 10 && memcmp(b.data, "0123456789", 10) == 0,
	    "a file of exactly the cap is read whole");
	buf_reset(&b);
	ok(fs_read_file(path, 9, &b, err, sizeof(err)) == -1 &&
	    strstr(err, "larger than 9 bytes") != NULL,
	    "a file over the cap is refused: %s", err);
	buf_reset(&b);
	snprintf(path, sizeof(path), "%s/none", dir);
	ok(fs_read_file(path, 9, &b, err, sizeof(err)) == -1 &&
	    strstr(err, "cannot open") != NULL,
	    "a missing file is refused: %s", err);
	buf_free(&b);
	snprintf(path, sizeof(path), "%s/ten", dir);
	unlink(path);
	rmdir(dir);
	test_remove();
	return done_testing();
}
