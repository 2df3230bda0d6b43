/* Unit tests of the runners' memory of hashed script files (versions.h,
 * struct version_memo): a file changed lately is hashed every time; one
 * left alone is remembered, and any change of it (even of the same size,
 * with its modification time put back) or of the script's revision is
 * hashed again. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "versions.h"
#include "tap.h"

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int
remembered(const struct version_memo *vm, long long id)
{
	for (int i = 0; i < VERSION_MEMO_SLOTS; i++)
		if (vm->v[i].script_id == id)
			return 1;
	return 0;
}

int
main(void)
{
	char dir[] = "/tmp/sto-versions-XXXXXX", path[64], v1[80], v2[80];
	char v3[80], v4[80], v5[80];
	struct version_memo vm;
	struct conf c;
	struct script s;
	struct verr e;
	struct stat st;

	plan_lazy();
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/grade.sh", dir);
	memset(&c, 0, sizeof(c));
	c.script_roots[0] = dir;
	c.n_script_roots = 1;
	memset(&s, 0, sizeof(s));
	memset(&vm, 0, sizeof(vm));
	s.id = 7;
	snprintf(s.type, sizeof(s.type), "shell");
	snprintf(s.updated_at, sizeof(s.updated_at), "2026-11-26T10:00:00.000Z");
	s.path = path;
	s.args_json = "[]";

	if (write_file(path, "#!/bin/sh\necho A\n") == -1)
		return 2;
	ok(version_of_file(&c, &s, &vm, v1, &e) == 0 &&
	    strncmp(v1, "sha256:", 7) == 0, "a version: %s", v1);
	ok(!remembered(&vm, 7), "a file changed just now is not remembered");
	if (write_file(path, "#!/bin/sh\necho B\n") == -1)
		return 2;
	ok(version_of_file(&c, &s, &vm, v2, &e) == 0 &&
	    strcmp(v1, v2) != 0, "so a change in the same second counts");

	sleep(VERSION_SETTLE_S + 1);
	ok(version_of_file(&c, &s, &vm, v3, &e) == 0 &&
	    strcmp(v3, v2) == 0 && remembered(&vm, 7),
	    "a file left alone is remembered");
	/* What is remembered is used: mark the entry to see it come back. */
	for (int i = 0; i < VERSION_MEMO_SLOTS; i++)
		if (vm.v[i].script_id == 7)
			snprintf(vm.v[i].version, sizeof(vm.v[i].version),
			    "sha256:remembered");
	ok(version_of_file(&c, &s, &vm, v4, &e) == 0 &&
	    strcmp(v4, "sha256:remembered") == 0,
	    "an unchanged file is not read again");

	/* The same size, its modification time put back: the change time
	 * still tells. */
	if (stat(path, &st) == -1 || write_file(path, "#!/bin/sh\necho C\n"))
		return 2;
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	if (utimensat(AT_FDCWD, path, times, 0) == -1)
		return 2;
	ok(version_of_file(&c, &s, &vm, v5, &e) == 0 &&
	    strcmp(v5, "sha256:remembered") != 0 && strcmp(v5, v2) != 0,
	    "a rewrite of the same size with the old mtime is hashed");

	sleep(VERSION_SETTLE_S + 1);
	ok(version_of_file(&c, &s, &vm, v5, &e) == 0 &&
	    remembered(&vm, 7), "remembered again once settled");
	for (int i = 0; i < VERSION_MEMO_SLOTS; i++)
		if (vm.v[i].script_id == 7)
			snprintf(vm.v[i].version, sizeof(vm.v[i].version),
			    "sha256:remembered");
	snprintf(s.updated_at, sizeof(s.updated_at), "2026-11-26T10:00:01.000Z");
	ok(version_of_file(&c, &s, &vm, v4, &e) == 0 &&
	    strcmp(v4, v5) == 0,
	    "a new revision of the script (args, requirements) is hashed");
	s.args_json = "[\"--fast\"]";
	snprintf(s.updated_at, sizeof(s.updated_at), "2026-11-26T10:00:02.000Z");
	ok(version_of_file(&c, &s, &vm, v4, &e) == 0 &&
	    strcmp(v4, v5) != 0, "and its args are part of the version");

	/* A file that is gone is reported, not taken from memory. */
	unlink(path);
	ok(version_of_file(&c, &s, &vm, v4, &e) == -1 &&
	    strstr(e.message, "does not exist") != NULL,
	    "a file that is gone: %s", e.message);
	rmdir(dir);
	return done_testing();
}
