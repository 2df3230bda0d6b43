/* Unit tests of the checks of a script's file (scriptfile.h), on real
 * files made in a temporary script root: the path's form, the roots,
 * symlinks, the kind of file, ELF headers (real ones copied from this
 * very program and a library it loaded, and made-up ones), libmagic's
 * words, and what the run user (nobody) may reach, read and execute. */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <magic.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "run.h"
#include "scriptfile.h"
#include "tap.h"

static struct conf c;
static char dir[] = "/tmp/sto-file-XXXXXX";

/* dir + "/" + name, in one of four static buffers used in turn (so that
 * a call may take two). */
static const char *
in_dir(const char *name)
{
	static char p[4][PATH_MAX];
	static int next;

	next = (next + 1) % 4;
	snprintf(p[next], sizeof(p[next]), "%s/%s", dir, name);
	return p[next];
}

/* A step that makes the files to check failed: the test stops. */
#define SETUP_FAILS(cond) do {					\
	if (cond) {							\
		printf("Bail out! line %d: %s\n", __LINE__,		\
		    strerror(errno));					\
		return 2;						\
	}								\
} while (0)

static int
write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = 0;

	if (fd == -1)
		return -1;
	if (n > 0 && write(fd, data, n) != (ssize_t)n)
		rc = -1;
	if (close(fd) == -1 || chmod(path, mode) == -1)
		rc = -1;
	return rc;
}

static int
copy_file(const char *from, const char *to, mode_t mode)
{
	char chunk[65536];
	ssize_t n;
	int in, out, rc = -1;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		close(in);
		return -1;
	}
	while ((n = read(in, chunk, sizeof(chunk))) > 0)
		if (write(out, chunk, (size_t)n) != n)
			goto out;
	if (n == 0 && fchmod(out, mode) == 0)
		rc = 0;
out:
	close(in);
	close(out);
	return rc;
}

/* The file of a library this program has mapped, found by `part` of its
 * name in /proc/self/maps. */
static int
mapped_library(const char *part, char *out, size_t n)
{
	char line[PATH_MAX + 128], *p;
	FILE *f = fopen("/proc/self/maps", "re");
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if ((p = strchr(line, '/')) == NULL || strstr(p, part) == NULL)
			continue;
		p[strcspn(p, "\n")] = '\0';
		snprintf(out, n, "%s", p);
		found = 1;
	}
	fclose(f);
	return found;
}

/* A 64-byte ELF header of this host's class and byte order, with the
 * given type and machine. */
static void
elf_header(unsigned char h[64], int class, uint16_t type, uint16_t machine)
{
	memset(h, 0, 64);
	memcpy(h, ELFMAG, SELFMAG);
	h[EI_CLASS] = (unsigned char)class;
	h[EI_DATA] = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ?
	    ELFDATA2LSB : ELFDATA2MSB;
	h[EI_VERSION] = EV_CURRENT;
	memcpy(h + 16, &type, 2);    /* in host order, as EI_DATA says */
	memcpy(h + 18, &machine, 2);
}

static int host_class = sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32;

/* This host's ELF machine, as this very program's header has it. */
static uint16_t
host_machine(const char *self)
{
	unsigned char h[20];
	uint16_t m = 0;
	int fd = open(self, O_RDONLY | O_CLOEXEC);

	if (fd != -1 && read(fd, h, sizeof(h)) == (ssize_t)sizeof(h))
		memcpy(&m, h + 18, 2);
	if (fd != -1)
		close(fd);
	return m;
}

/* The checks of `path` as a script of `type` fail with a message that
 * holds `words`. */
static void
fails(const char *type, const char *path, void *magic, int run_user,
    const char *words)
{
	struct verr e;
	int rc;

	verr_clear(&e);
	rc = scriptfile_check(&c, magic, type, path, run_user, NULL, &e);
	if (!ok(rc == -1 && strcmp(e.field, "path") == 0 &&
	    strstr(e.message, words) != NULL, "%s %s%s: %s", type, path,
	    magic != NULL ? " (libmagic)" : "", e.message))
		printf("#   want \"%s\"\n", words);
}

static void
passes(const char *type, const char *path, void *magic, int run_user)
{
	struct verr e;

	verr_clear(&e);
	ok(scriptfile_check(&c, magic, type, path, run_user, NULL, &e) == 0,
	    "%s %s%s%s passes %s", type, path,
	    magic != NULL ? " (libmagic)" : "",
	    run_user ? " (run user)" : "", e.message);
}

/* scriptfile_guess of `text` with libmagic's description `desc`. */
static void
guesses(const char *text, const char *desc, const char *want)
{
	char head[256];
	int shebang;

	snprintf(head, sizeof(head), "%s", text);
	is_str(scriptfile_guess(head, strlen(head), desc, &shebang), want,
	    "\"%.*s\" (libmagic: %s) is %s", (int)strcspn(text, "\r\n"),
	    text, desc ? desc : "-", want ? want : "not told");
}

/* The type guess from a script's first bytes (pure). */
static void
guess_tests(void)
{
	char elf[8] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0 };
	char head[256];
	int shebang;

	memcpy(head, elf, sizeof(elf));
	is_str(scriptfile_guess(head, sizeof(elf), NULL, &shebang), "binary",
	    "an ELF header is binary");
	guesses("#!/bin/sh\necho\n", NULL, "shell");
	guesses("#!/bin/bash -e\necho\n", NULL, "shell");
	guesses("#!/usr/bin/env bash\necho\n", NULL, "shell");
	guesses("#!/usr/bin/perl -w\nprint 1;\n", "Perl script", "shell");
	guesses("#!/usr/bin/python3\nprint(1)\n", NULL, "python");
	guesses("#!/usr/bin/python\n", NULL, "python");
	guesses("#!/opt/py/bin/python3.11 -u\n", NULL, "python");
	guesses("#!/usr/bin/env python3\n", NULL, "python");
	guesses("#! /usr/bin/env  python3.12\r\n", NULL, "python");
	guesses("#!/usr/bin/env -S python3 -u\n", NULL, "python");
	guesses("#!/usr/bin/env -u LANG -i python3\n", NULL, "python");
	guesses("#!/usr/bin/env A=1 B=2 python3\n", NULL, "python");
	guesses("#!/usr/bin/env -S /opt/bin/python3 -u\n", NULL, "python");
	guesses("#!/usr/bin/env -u python3 sh\n", NULL, "shell");
	guesses("#!/usr/bin/env\n", NULL, "shell");
	guesses("#!/usr/bin/pythonic\n", NULL, "shell");
	guesses("#!/usr/bin/python3-config\n", NULL, "shell");
	guesses("#!python3\n", NULL, "python");
	guesses("#!sh\n", NULL, "shell");
	guesses("import os\nprint(1)\n", "Python script, ASCII text executable",
	    "python");
	guesses("echo hi\n", "POSIX shell script, ASCII text executable",
	    "shell");
	guesses("hello\n", "ASCII text", NULL);
	guesses("hello\n", NULL, NULL);
	guesses("", "empty", NULL);
	/* A #! line with no end in the bytes read is the runner's refusal
	 * for a shell script, and libmagic may still tell python. */
	memset(head, 'x', sizeof(head));
	memcpy(head, "#!/bin/sh ", 10);
	head[sizeof(head) - 1] = '\0';
	is_str(scriptfile_guess(head, sizeof(head) - 1, NULL, &shebang),
	    "shell", "a #! line longer than what is read is shell");
	is_int(shebang, RUN_SHEBANG_LONG, "and the runner would refuse it");
	memset(head, 'x', sizeof(head));
	memcpy(head, "#!/usr/bin/python3 ", 19);
	head[sizeof(head) - 1] = '\0';
	is_str(scriptfile_guess(head, sizeof(head) - 1, "Python script",
	    &shebang), "python", "or python when libmagic says so");
	snprintf(head, sizeof(head), "#!sh\n");
	(void)scriptfile_guess(head, strlen(head), NULL, &shebang);
	is_int(shebang, RUN_SHEBANG_RELATIVE, "a relative interpreter is told");
}

/* scriptfile_inspect of `path`: its guess, and problems holding `words`
 * (NULL: none). */
static void
inspects(const char *path, void *magic, const char *want, int executable,
    const char *words)
{
	struct scriptfile_info info;
	struct verr e;
	int rc;

	verr_clear(&e);
	rc = scriptfile_inspect(&c, magic, path, &info, &e);
	if (!ok(rc == 0, "%s is looked at", path)) {
		printf("#   %s\n", e.message);
		return;
	}
	is_str(info.type_guess, want, "%s is taken for %s", path,
	    want ? want : "nothing");
	is_int(info.executable, executable, "%s is %sexecutable by the run "
	    "user", path, executable ? "" : "not ");
	if (words == NULL)
		is_int(info.nproblems, 0, "%s has no problem (%s)", path,
		    info.nproblems ? info.problems[0].message : "");
	else
		ok(info.nproblems == 1 &&
		    strstr(info.problems[0].message, words) != NULL,
		    "%s has the problem \"%s\" (%s)", path, words,
		    info.nproblems ? info.problems[0].message : "none");
}

/* A path scriptfile_inspect refuses, with the registration's words. */
static void
refused(const char *path, const char *words)
{
	struct scriptfile_info info;
	struct verr e, reg;

	verr_clear(&e);
	verr_clear(&reg);
	(void)scriptfile_check(&c, NULL, "shell", path, 1, NULL, &reg);
	ok(scriptfile_inspect(&c, NULL, path, &info, &e) == -1 &&
	    strcmp(e.field, "path") == 0 && strstr(e.message, words) &&
	    strcmp(e.message, reg.message) == 0,
	    "%s is not looked at: %s", path, e.message);
}

int
main(void)
{
	char root_msg[PATH_MAX + 64], other[PATH_MAX], lib[PATH_MAX];
	char self[PATH_MAX], rm[PATH_MAX + 32];
	unsigned char h[64];
	const char *sh = "#!/bin/sh\necho hi\n";
	const char *py = "#!/usr/bin/env python3\nprint(1)\n";
	uint16_t foreign, host;
	struct stat st, seen;
	magic_t magic;
	ssize_t n;

	plan_lazy();
	SETUP_FAILS(mkdtemp(dir) == NULL || chmod(dir, 0755) == -1);
	memset(&c, 0, sizeof(c));
	c.script_roots[0] = dir;
	c.n_script_roots = 1;
	c.run_user = "nobody";
	ok(getpwnam("nobody") != NULL && getuid() != getpwnam("nobody")->pw_uid,
	    "the run user of these tests, nobody, exists and is not us");
	magic = magic_open(MAGIC_NONE);
	SETUP_FAILS(magic == NULL || magic_load(magic, NULL) == -1);

	/* The path's form, before anything is looked at. */
	fails("shell", "", NULL, 0, "path is required");
	fails("shell", "x.sh", NULL, 0, "path must be an absolute path");
	snprintf(other, sizeof(other), "%s/a/../x.sh", dir);
	fails("shell", other, NULL, 0, "path must be normalized");
	snprintf(other, sizeof(other), "%s//x.sh", dir);
	fails("shell", other, NULL, 0, "path must be normalized");
	snprintf(other, sizeof(other), "%s/x.sh/", dir);
	fails("shell", other, NULL, 0, "path must be normalized");
	snprintf(other, sizeof(other), "%s/./x.sh", dir);
	fails("shell", other, NULL, 0, "path must be normalized");

	/* The roots. */
	snprintf(root_msg, sizeof(root_msg),
	    "path must be inside a script root (%s)", dir);
	fails("shell", "/etc/passwd", NULL, 0, root_msg);
	snprintf(other, sizeof(other), "%sx/y.sh", dir);
	fails("shell", other, NULL, 0, root_msg);
	fails("shell", dir, NULL, 0, root_msg);

	/* What the path resolves to. */
	fails("shell", in_dir("none.sh"), NULL, 0, "path does not exist");
	SETUP_FAILS(write_file(in_dir("real.sh"), sh, strlen(sh),
	    0644) == -1 || symlink(in_dir("real.sh"), in_dir("link.sh")) == -1);
	snprintf(other, sizeof(other), "path resolves through a symlink to "
	    "%s/real.sh; register the real path", dir);
	fails("shell", in_dir("link.sh"), NULL, 0, other);
	SETUP_FAILS(symlink("/etc/passwd", in_dir("out.sh")) == -1);
	fails("shell", in_dir("out.sh"), NULL, 0,
	    "path resolves through a symlink to /etc/passwd");

	/* The kind of file. */
	SETUP_FAILS(mkdir(in_dir("sub"), 0755) == -1 ||
	    mkfifo(in_dir("fifo"), 0644) == -1);
	fails("shell", in_dir("sub"), NULL, 0, "path is a directory");
	fails("shell", in_dir("fifo"), NULL, 0, "path is a named pipe");
	passes("shell", in_dir("real.sh"), NULL, 0);
	passes("python", in_dir("real.sh"), magic, 1);
	SETUP_FAILS(stat(in_dir("real.sh"), &st) == -1);
	memset(&seen, 0, sizeof(seen));
	ok(scriptfile_check(&c, NULL, "shell", in_dir("real.sh"), 0, &seen,
	    NULL) == 0 && seen.st_ino == st.st_ino &&
	    seen.st_size == st.st_size, "what was checked is handed back");

	/* The run user: nobody is in the other class of our files. */
	SETUP_FAILS(write_file(in_dir("private.sh"), sh, strlen(sh),
	    0640) == -1);
	passes("shell", in_dir("private.sh"), NULL, 0);
	fails("shell", in_dir("private.sh"), NULL, 1, "path is not readable "
	    "by the run user nobody (mode 0640)");
	SETUP_FAILS(mkdir(in_dir("closed"), 0750) == -1 ||
	    write_file(in_dir("closed/a.sh"), sh, strlen(sh), 0644) == -1);
	snprintf(other, sizeof(other), "directory %s/closed is not searchable "
	    "by the run user nobody (mode 0750)", dir);
	fails("shell", in_dir("closed/a.sh"), NULL, 1, other);
	c.run_user = "no-such-user-here";
	fails("shell", in_dir("real.sh"), NULL, 1, "the run user "
	    "no-such-user-here does not exist on this host");
	c.run_user = "nobody";

	/* Binaries: this very program is an ELF executable for this host. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	SETUP_FAILS(n == -1);
	self[n] = '\0';
	SETUP_FAILS(copy_file(self, in_dir("prog"), 0755) == -1 ||
	    copy_file(self, in_dir("prog-x"), 0754) == -1);
	passes("binary", in_dir("prog"), NULL, 1);
	passes("binary", in_dir("prog"), magic, 1);
	fails("binary", in_dir("prog-x"), NULL, 1, "path is not executable "
	    "by the run user nobody (mode 0754)");
	passes("shell", in_dir("prog"), NULL, 1);

	/* Not an ELF file at all. */
	fails("binary", in_dir("real.sh"), NULL, 0,
	    "path is not an ELF executable");
	fails("binary", in_dir("real.sh"), magic, 0, "shell script, not an "
	    "ELF executable");
	SETUP_FAILS(write_file(in_dir("empty"), "", 0, 0755) == -1 ||
	    write_file(in_dir("short"), ELFMAG, SELFMAG, 0755) == -1);
	fails("binary", in_dir("empty"), NULL, 0,
	    "path is an empty file, not an ELF executable");
	fails("binary", in_dir("empty"), magic, 0,
	    "path is an empty file, not an ELF executable");
	fails("binary", in_dir("short"), NULL, 0,
	    "path is not an ELF executable");

	/* ELF files that are not executables for this host. */
	host = host_machine(self);
	ok(host != 0, "this host's ELF machine: %u", host);
	foreign = EM_X86_64;
	if (foreign == host)
		foreign = EM_AARCH64;
	elf_header(h, host_class, ET_EXEC, foreign);
	SETUP_FAILS(write_file(in_dir("foreign"), h, sizeof(h), 0755) == -1);
	fails("binary", in_dir("foreign"), NULL, 0, foreign == EM_AARCH64 ?
	    "path is an ELF executable for ARM aarch64, not for" :
	    "path is an ELF executable for x86-64, not for");
	elf_header(h, host_class == ELFCLASS64 ? ELFCLASS32 : ELFCLASS64,
	    ET_EXEC, host);
	SETUP_FAILS(write_file(in_dir("class"), h, sizeof(h), 0755) == -1);
	fails("binary", in_dir("class"), NULL, 0, host_class == ELFCLASS64 ?
	    " (32-bit), not for" : " (64-bit), not for");
	elf_header(h, host_class, ET_REL, host);
	SETUP_FAILS(write_file(in_dir("obj.o"), h, sizeof(h), 0755) == -1);
	fails("binary", in_dir("obj.o"), NULL, 0,
	    "path is an ELF relocatable object (a .o file)");
	elf_header(h, host_class, ET_CORE, host);
	SETUP_FAILS(write_file(in_dir("core"), h, sizeof(h), 0755) == -1);
	fails("binary", in_dir("core"), NULL, 0, "path is an ELF core dump");
	elf_header(h, host_class, 0x77, host);
	SETUP_FAILS(write_file(in_dir("odd"), h, sizeof(h), 0755) == -1);
	fails("binary", in_dir("odd"), NULL, 0,
	    "path is an ELF file of unknown type 119");

	/* A library is an ET_DYN like a PIE: libmagic tells them apart. */
	ok(mapped_library("libmagic", lib, sizeof(lib)),
	    "this program has libmagic mapped: %s", lib);
	SETUP_FAILS(copy_file(lib, in_dir("libmagic.so"), 0755) == -1);
	passes("binary", in_dir("libmagic.so"), NULL, 0);
	fails("binary", in_dir("libmagic.so"), magic, 0, "path is an ELF "
	    "shared object (a library without an interpreter), not an ELF "
	    "executable");

	/* What a candidate file is (scriptfile_inspect). */
	guess_tests();
	SETUP_FAILS(write_file(in_dir("tool"), py, strlen(py), 0755) == -1);
	inspects(in_dir("tool"), magic, "python", 1, NULL);
	inspects(in_dir("real.sh"), magic, "shell", 0, NULL);
	inspects(in_dir("real.sh"), NULL, "shell", 0, NULL);
	SETUP_FAILS(copy_file(self, in_dir("self"), 0755) == -1);
	inspects(in_dir("self"), magic, "binary", 1, NULL);
	SETUP_FAILS(chmod(in_dir("self"), 0644) == -1);
	inspects(in_dir("self"), magic, "binary", 0,
	    "path is not executable by the run user nobody (mode 0644)");
	inspects(in_dir("foreign"), magic, "binary", 1,
	    "path is an ELF executable for");
	inspects(in_dir("libmagic.so"), magic, "binary", 1,
	    "ELF shared object");
	SETUP_FAILS(write_file(in_dir("rel"), "#!sh\n", 5, 0644) == -1);
	inspects(in_dir("rel"), magic, "shell", 0,
	    "the #! line does not name an absolute interpreter");
	SETUP_FAILS(write_file(in_dir("notes"), "some words\n", 11, 0600)
	    == -1);
	inspects(in_dir("notes"), magic, NULL, 0,
	    "path is not readable by the run user nobody (mode 0600)");
	refused("/etc/shadow", "path must be inside a script root");
	refused("/nonexistent-dir/shadow", "path must be inside a script root");
	refused(in_dir("none.sh"), "path does not exist");
	refused(in_dir("link.sh"), "path resolves through a symlink to");
	refused(in_dir("out.sh"), "path resolves through a symlink to "
	    "/etc/passwd");
	refused(in_dir("sub"), "path is a directory");
	refused(in_dir("fifo"), "path is a named pipe");
	{
		struct scriptfile_info info;
		struct verr e;

		ok(scriptfile_inspect(&c, magic, in_dir("tool"), &info, &e) ==
		    0 && strstr(info.description, "Python script") != NULL,
		    "libmagic's description: %s", info.description);
	}

	magic_close(magic);
	snprintf(rm, sizeof(rm), "rm -rf -- '%s'", dir);
	SETUP_FAILS(system(rm) != 0);
	return done_testing();
}
