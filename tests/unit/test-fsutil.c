/* Unit tests of fsutil.h: the one rule for a path's normal form, in its
 * absolute form (a script's path) and its relative one (outputs.file),
 * and the size cap of fs_read_file on a real file. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "tap.h"

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
	return done_testing();
}
