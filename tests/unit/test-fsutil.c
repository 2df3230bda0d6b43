/* Unit tests of fsutil.c's tree removal: links never followed, closed
 * directories, trees deeper than the descriptors it keeps open. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

int
main(void)
{
	char p[512];
	struct buf errs = BUF_INIT;
	int dfd, fd;

	plan_lazy();
	if (mkdtemp(base) == NULL)
		return 1;
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
	return done_testing();
}
