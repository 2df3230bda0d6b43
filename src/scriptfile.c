/*
 * scriptfile.c - is this file fit to be a script? The path's form, the
 * script roots, symlinks, the kind of file, the ELF header of a binary
 * (with libmagic's words for what it is instead), and whether the run
 * user can reach and read or execute it.
 *
 * And, for the registration form, what a candidate file is: the type its
 * first bytes suggest, libmagic's description, what would still refuse it.
 *
 * Everything here reads the file system and the user database only: no
 * database, no allocation that outlives a call.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <magic.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "run.h"
#include "scriptfile.h"

/* Absolute and in normal form (fs_path_normal). */
static int
check_path_form(const char *path, struct verr *e)
{
	if (path[0] != '/') {
		verr_set(e, "path", "path must be an absolute path");
		return -1;
	}
	if (strlen(path) >= PATH_MAX) {
		verr_set(e, "path", "path is too long");
		return -1;
	}
	if (!fs_path_normal(path, FS_PATH_ABSOLUTE)) {
		verr_set(e, "path", "path must be normalized (no \".\" or "
		    "\"..\" segments, no \"//\", no trailing \"/\")");
		return -1;
	}
	return 0;
}

/* 1 if path lies below dir ("/srv/s" holds "/srv/s/x", not "/srv/sx"). */
static int
below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/' && path[1] != '\0';
	return strncmp(path, dir, n) == 0 && path[n] == '/' &&
	    path[n + 1] != '\0';
}

/*
 * 1 if `path` is inside one of the roots. With `lexical` the root as
 * configured counts too (for the first, cheap check, so that a path
 * outside every root is told so before anything is looked up on disk);
 * the final check uses only the root's realpath.
 */
static int
in_roots(const struct conf *c, const char *path, int lexical)
{
	char real[PATH_MAX];

	for (int i = 0; i < c->n_script_roots; i++) {
		if (lexical && below(path, c->script_roots[i]))
			return 1;
		if (realpath(c->script_roots[i], real) != NULL &&
		    below(path, real))
			return 1;
	}
	return 0;
}

static void
roots_text(const struct conf *c, struct buf *out)
{
	for (int i = 0; i < c->n_script_roots; i++) {
		if (i > 0)
			buf_adds(out, ", ");
		buf_adds(out, c->script_roots[i]);
	}
}

static const char *
kind_of(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a named pipe";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	return "not a regular file";
}

/* The run user, resolved once per check. */
struct runuser {
	const char *name;
	uid_t uid;
	gid_t *groups;
	int ngroups;
};

static int
runuser_load(const struct conf *c, struct runuser *ru, struct verr *e)
{
	struct passwd *pw;
	int n = 32;

	memset(ru, 0, sizeof(*ru));
	ru->name = c->run_user;
	errno = 0;
	if ((pw = getpwnam(c->run_user)) == NULL) {
		verr_set(e, "path", "the run user %s does not exist on this "
		    "host, so nothing can be checked against it", c->run_user);
		return -1;
	}
	ru->uid = pw->pw_uid;
	for (;;) {
		int got = n;
		if ((ru->groups = calloc((size_t)n, sizeof(gid_t))) == NULL)
			fatal("calloc");
		if (getgrouplist(pw->pw_name, pw->pw_gid, ru->groups,
		    &got) != -1) {
			ru->ngroups = got;
			return 0;
		}
		free(ru->groups);
		ru->groups = NULL;
		if (got <= n || got > 65536) {
			ru->groups = calloc(1, sizeof(gid_t));
			if (ru->groups == NULL)
				fatal("calloc");
			ru->groups[0] = pw->pw_gid;
			ru->ngroups = 1;
			return 0;
		}
		n = got;
	}
}

static void
runuser_free(struct runuser *ru)
{
	free(ru->groups);
	ru->groups = NULL;
}

/*
 * Whether the mode bits of `st` grant all of `want` (4 read, 1 execute
 * or search) to the run user: the owner class if it owns the file, else
 * the group class if one of its groups does, else other - only one class
 * applies, as in the kernel (ACLs are not looked at). A root run user (a
 * misconfiguration the runner refuses anyway) may read anything and
 * execute what has any execute bit.
 */
static int
mode_allows(const struct stat *st, const struct runuser *ru, int want)
{
	int bits;

	if (ru->uid == 0) {
		if ((want & 1) && !(st->st_mode & 0111) && !S_ISDIR(st->st_mode))
			return 0;
		return 1;
	}
	if (st->st_uid == ru->uid) {
		bits = (st->st_mode >> 6) & 7;
	} else {
		int member = 0;
		for (int i = 0; i < ru->ngroups; i++)
			if (ru->groups[i] == st->st_gid)
				member = 1;
		bits = member ? (st->st_mode >> 3) & 7 : st->st_mode & 7;
	}
	return (bits & want) == want;
}

/* Every directory above the file must be searchable by the run user. */
static int
check_parents(const char *path, const struct runuser *ru, struct verr *e)
{
	char dir[PATH_MAX];
	struct stat st;
	size_t len = strlen(path);

	/* "/", then each prefix that ends before a '/'. */
	for (size_t i = 0; i < len; i++) {
		if (path[i] != '/')
			continue;
		if (i == 0) {
			dir[0] = '/';
			dir[1] = '\0';
		} else {
			memcpy(dir, path, i);
			dir[i] = '\0';
		}
		if (stat(dir, &st) == -1) {
			verr_set(e, "path", "cannot look at directory %s: %s",
			    dir, strerror(errno));
			return -1;
		}
		if (!mode_allows(&st, ru, 1)) {
			verr_set(e, "path", "directory %s is not searchable by "
			    "the run user %s (mode %04o)", dir, ru->name,
			    (unsigned)(st.st_mode & 07777));
			return -1;
		}
	}
	return 0;
}

static int
check_run_user(const struct conf *c, const char *type, const char *path,
    const struct stat *st, struct verr *e)
{
	struct runuser ru;
	int rc = -1;

	if (runuser_load(c, &ru, e) == -1)
		return -1;
	if (check_parents(path, &ru, e) == -1)
		goto out;
	/*
	 * A binary is exec'd: it needs the execute bit, and no read bit.
	 * Shell and python scripts are read by their interpreter (the runner
	 * parses a shell script's #! line itself), so they need read only.
	 */
	if (strcmp(type, "binary") == 0) {
		if (!mode_allows(st, &ru, 1)) {
			verr_set(e, "path", "path is not executable by the run "
			    "user %s (mode %04o)", ru.name,
			    (unsigned)(st->st_mode & 07777));
			goto out;
		}
	} else if (!mode_allows(st, &ru, 4)) {
		verr_set(e, "path", "path is not readable by the run user %s "
		    "(mode %04o)", ru.name, (unsigned)(st->st_mode & 07777));
		goto out;
	}
	rc = 0;
out:
	runuser_free(&ru);
	return rc;
}

/* This machine, as ELF names it. */
#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#elif defined(__i386__)
#define HOST_MACHINE EM_386
#elif defined(__arm__)
#define HOST_MACHINE EM_ARM
#elif defined(__riscv)
#define HOST_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define HOST_MACHINE EM_PPC64
#elif defined(__s390x__)
#define HOST_MACHINE EM_S390
#elif defined(__loongarch__)
#define HOST_MACHINE 258 /* EM_LOONGARCH */
#else
#error "scriptfile.c: add this architecture's ELF e_machine"
#endif
#define HOST_CLASS (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif

/* libmagic's names, so that both ways of describing a file agree. */
static const char *
machine_name(unsigned m)
{
	switch (m) {
	case EM_X86_64: return "x86-64";
	case EM_AARCH64: return "ARM aarch64";
	case EM_386: return "Intel 80386";
	case EM_ARM: return "ARM";
	case EM_RISCV: return "UCB RISC-V";
	case EM_PPC64: return "64-bit PowerPC or cisco 7500";
	case EM_PPC: return "PowerPC or cisco 4500";
	case EM_S390: return "IBM S/390";
	case EM_MIPS: return "MIPS";
	case EM_SPARCV9: return "SPARC V9";
	case 258: return "LoongArch";
	default: return NULL;
	}
}

/*
 * libmagic's description made into the object of "path is ...": cut at
 * the first comma (the rest is detail: "ASCII text executable", build
 * ids), with an article where English wants one.
 */
static void
describe(const char *desc, struct buf *out)
{
	size_t n = strcspn(desc, ",");
	char first;

	while (n > 0 && desc[n - 1] == ' ')
		n--;
	if (n == 0) {
		buf_adds(out, "a file of an unknown kind");
		return;
	}
	if (n == 5 && strncmp(desc, "empty", 5) == 0) {
		buf_adds(out, "an empty file");
		return;
	}
	if ((n >= 4 && (strncmp(desc + n - 4, "text", 4) == 0 ||
	    strncmp(desc + n - 4, "data", 4) == 0))) {
		buf_add(out, desc, n);
		return;
	}
	first = desc[0];
	buf_adds(out, strchr("AEIOUaeiou", first) != NULL ? "an " : "a ");
	buf_add(out, desc, n);
}

static unsigned
elf_u16(const unsigned char *p, int data)
{
	return data == ELFDATA2LSB ? (unsigned)(p[0] | p[1] << 8) :
	    (unsigned)(p[0] << 8 | p[1]);
}

/*
 * A binary must be an ELF executable (or a PIE, which ELF calls a shared
 * object) for this machine. The header is read here, whatever libmagic
 * says, because the decision must not depend on its database; libmagic
 * (when the caller has a cookie) supplies the words for what the file is
 * and tells a PIE from a library (an ET_DYN with an interpreter or the
 * PIE flag). Without a cookie (the runner's recheck) any ET_DYN passes.
 */
static int
check_elf(const char *path, void *magic, struct verr *e)
{
	unsigned char h[64];
	const char *desc = NULL;
	struct buf what = BUF_INIT;
	ssize_t n;
	unsigned type, machine;
	int fd, rc = -1;

	if (magic != NULL) {
		desc = magic_file((magic_t)magic, path);
		if (desc == NULL)
			log_warnx("libmagic cannot describe \"%s\": %s", path,
			    magic_error((magic_t)magic));
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		verr_set(e, "path", "cannot open path: %s", strerror(errno));
		return -1;
	}
	do
		n = read(fd, h, sizeof(h));
	while (n == -1 && errno == EINTR);
	close(fd);
	if (n == -1) {
		verr_set(e, "path", "cannot read path: %s", strerror(errno));
		return -1;
	}
	if (n < 20 || memcmp(h, ELFMAG, SELFMAG) != 0) {
		if (desc != NULL) {
			describe(desc, &what);
			verr_set(e, "path", "path is %s, not an ELF executable",
			    buf_str(&what));
		} else if (n == 0) {
			verr_set(e, "path", "path is an empty file, not an ELF "
			    "executable");
		} else {
			verr_set(e, "path", "path is not an ELF executable");
		}
		goto out;
	}
	type = elf_u16(h + 16, h[EI_DATA]);
	machine = elf_u16(h + 18, h[EI_DATA]);
	if (h[EI_CLASS] != HOST_CLASS || h[EI_DATA] != HOST_DATA ||
	    machine != HOST_MACHINE) {
		const char *arch = machine_name(machine);
		char num[32];

		if (arch == NULL) {
			snprintf(num, sizeof(num), "machine %u", machine);
			arch = num;
		}
		verr_set(e, "path", "path is an ELF %s for %s%s%s, not for %s",
		    type == ET_EXEC || type == ET_DYN ? "executable" : "file",
		    arch, h[EI_CLASS] == HOST_CLASS ? "" :
		    h[EI_CLASS] == ELFCLASS32 ? " (32-bit)" :
		    h[EI_CLASS] == ELFCLASS64 ? " (64-bit)" : " (unknown class)",
		    h[EI_DATA] != HOST_DATA ? (h[EI_DATA] == ELFDATA2MSB ?
		    ", big-endian" : ", little-endian") : "",
		    machine_name(HOST_MACHINE));
		goto out;
	}
	switch (type) {
	case ET_EXEC:
		break;
	case ET_DYN:
		/* A PIE is ET_DYN too; a library has no interpreter. */
		if (desc != NULL && strstr(desc, "pie executable") == NULL &&
		    strstr(desc, "interpreter") == NULL) {
			verr_set(e, "path", "path is an ELF shared object (a "
			    "library without an interpreter), not an ELF "
			    "executable");
			goto out;
		}
		break;
	case ET_REL:
		verr_set(e, "path", "path is an ELF relocatable object (a .o "
		    "file), not an ELF executable");
		goto out;
	case ET_CORE:
		verr_set(e, "path", "path is an ELF core dump, not an ELF "
		    "executable");
		goto out;
	default:
		verr_set(e, "path", "path is an ELF file of unknown type %u, "
		    "not an ELF executable", type);
		goto out;
	}
	rc = 0;
out:
	buf_free(&what);
	return rc;
}

/* "path must be inside a script root (...)", naming the roots. */
static void
outside_roots(const struct conf *c, struct verr *e)
{
	struct buf roots = BUF_INIT;

	roots_text(c, &roots);
	verr_set(e, "path", "path must be inside a script root (%s)",
	    buf_str(&roots));
	buf_free(&roots);
}

/*
 * Checks 1-6 of docs/api.md ("The file at path"), which every type
 * needs: `st` gets the file's stat. The order matters for the messages:
 * the form and the roots are checked on the path as given before anything
 * is looked up on disk (so a path outside the roots is refused the same
 * whether something is there or not), then what it resolves to, then
 * what it is.
 */
static int
check_place(const struct conf *c, const char *path, struct stat *st,
    struct verr *e)
{
	char real[PATH_MAX];

	if (path == NULL || *path == '\0') {
		verr_set(e, "path", "path is required");
		return -1;
	}
	if (check_path_form(path, e) == -1)
		return -1;
	if (!in_roots(c, path, 1)) {
		outside_roots(c, e);
		return -1;
	}
	if (realpath(path, real) == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			verr_set(e, "path", "path does not exist");
		else
			verr_set(e, "path", "path cannot be resolved: %s",
			    strerror(errno));
		return -1;
	}
	if (strcmp(real, path) != 0) {
		verr_set(e, "path", "path resolves through a symlink to %s; "
		    "register the real path", real);
		return -1;
	}
	if (!in_roots(c, real, 0)) {
		outside_roots(c, e);
		return -1;
	}
	if (stat(path, st) == -1) {
		verr_set(e, "path", "cannot look at path: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		verr_set(e, "path", "path is %s", kind_of(st->st_mode));
		return -1;
	}
	return 0;
}

int
scriptfile_check(const struct conf *c, void *magic, const char *type,
    const char *path, int with_run_user, struct stat *seen, struct verr *e)
{
	struct stat st;

	if (check_place(c, path, &st, e) == -1)
		return -1;
	if (strcmp(type, "binary") == 0 && check_elf(path, magic, e) == -1)
		return -1;
	if (seen != NULL)
		*seen = st;
	return with_run_user ? check_run_user(c, type, path, &st, e) : 0;
}

int
scriptfile_root_check(const struct conf *c, const char *root, struct verr *e)
{
	struct runuser ru;
	struct buf inside = BUF_INIT;
	struct stat st;
	int rc = -1;

	if (stat(root, &st) == -1) {
		verr_set(e, "script_roots", "%s cannot be used: %s", root,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		verr_set(e, "script_roots", "%s is %s, not a directory", root,
		    kind_of(st.st_mode));
		return -1;
	}
	if (runuser_load(c, &ru, e) == -1)
		return -1;
	/* The root itself, and every directory above it. */
	buf_printf(&inside, "%s/x", root);
	if (check_parents(buf_str(&inside), &ru, e) == 0)
		rc = 0;
	else
		verr_set(e, "script_roots", "%s", e->message);
	buf_free(&inside);
	runuser_free(&ru);
	return rc;
}

/* The last component of a path ("/usr/bin/python3" -> "python3"). */
static const char *
base_name(const char *p)
{
	const char *slash = strrchr(p, '/');

	return slash != NULL ? slash + 1 : p;
}

/* python, python3, python3.11 (a name, then digits and dots only). */
static int
is_python(const char *name, size_t n)
{
	if (n < 6 || strncmp(name, "python", 6) != 0)
		return 0;
	for (size_t i = 6; i < n; i++)
		if (!(name[i] >= '0' && name[i] <= '9') && name[i] != '.')
			return 0;
	return 1;
}

/*
 * The program a #! line names: the interpreter's own name, or for env
 * its first operand (its options, "-u NAME" with theirs, and NAME=value
 * settings skipped: "/usr/bin/env -S python3 -u" names python3). *n gets
 * the name's length; NULL when env names none.
 */
static const char *
shebang_program(const char *interp, const char *arg, size_t *n)
{
	const char *p = base_name(interp), *w;
	int skip_next = 0;

	if (strcmp(p, "env") != 0) {
		*n = strlen(p);
		return p;
	}
	for (w = arg; w != NULL && *w != '\0'; ) {
		size_t len;

		w += strspn(w, " \t");
		len = strcspn(w, " \t");
		if (len == 0)
			break;
		if (skip_next) {
			skip_next = 0;
		} else if (w[0] == '-') {
			/* The options of GNU env that take a separate value. */
			skip_next = len == 2 && strchr("uCP", w[1]) != NULL;
		} else if (memchr(w, '=', len) == NULL) {
			const char *b = w + len;

			while (b > w && b[-1] != '/')
				b--;
			*n = (size_t)(w + len - b);
			return b;
		}
		w += len;
	}
	return NULL;
}

const char *
scriptfile_guess(char *head, size_t len, const char *desc, int *shebang)
{
	char *interp, *arg;
	const char *prog;
	size_t n = 0;

	*shebang = RUN_SHEBANG_NONE;
	if (len >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0)
		return "binary";
	*shebang = run_shebang_parse(head, len, &interp, &arg);
	switch (*shebang) {
	case RUN_SHEBANG_OK:
		prog = shebang_program(interp, arg, &n);
		return prog != NULL && is_python(prog, n) ? "python" : "shell";
	case RUN_SHEBANG_RELATIVE:
		/* As the runner would find it: the line's first word. */
		prog = head + 2 + strspn(head + 2, " \t");
		n = strcspn(prog, " \t");
		return is_python(prog, n) ? "python" : "shell";
	case RUN_SHEBANG_LONG:
	case RUN_SHEBANG_NONE:
		break;
	}
	if (desc != NULL && strstr(desc, "Python script") != NULL)
		return "python";
	if (desc != NULL && strstr(desc, "shell script") != NULL)
		return "shell";
	return *shebang == RUN_SHEBANG_LONG ? "shell" : NULL;
}

/* Whether the run user may execute a file of stat `st`: 0 when it does
 * not exist (the problems say so). */
static int
run_user_may_execute(const struct conf *c, const struct stat *st)
{
	struct runuser ru;
	int ok;

	if (runuser_load(c, &ru, NULL) == -1)
		return 0;
	ok = mode_allows(st, &ru, 1);
	runuser_free(&ru);
	return ok;
}

int
scriptfile_inspect(const struct conf *c, void *magic, const char *path,
    struct scriptfile_info *out, struct verr *e)
{
	char head[RUN_SHEBANG_HEAD];
	const char *desc = NULL;
	struct stat st, fst;
	ssize_t n;
	int fd = -1, shebang, rc = -1;

	memset(out, 0, sizeof(*out));
	if (check_place(c, path, &st, e) == -1)
		return -1;
	/*
	 * One descriptor for the head and for libmagic, which is the file
	 * checked: not a link put in its place since, not another file
	 * renamed over it (O_NONBLOCK: nothing waits on a FIFO swapped in).
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY);
	if (fd == -1) {
		verr_set(e, "path", "cannot open path: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &fst) == -1 || !S_ISREG(fst.st_mode) ||
	    fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
		verr_set(e, "path", "path changed while it was looked at");
		goto out;
	}
	do
		n = pread(fd, head, sizeof(head) - 1, 0);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		verr_set(e, "path", "cannot read path: %s", strerror(errno));
		goto out;
	}
	head[n] = '\0';
	if (magic != NULL) {
		if ((desc = magic_descriptor((magic_t)magic, fd)) == NULL)
			log_warnx("libmagic cannot describe \"%s\": %s", path,
			    magic_error((magic_t)magic));
		else
			snprintf(out->description, sizeof(out->description),
			    "%s", desc);
	}
	out->type_guess = scriptfile_guess(head, (size_t)n, desc, &shebang);
	out->executable = run_user_may_execute(c, &fst);
	/* What a registration as the guess would be refused for. */
	if (scriptfile_check(c, magic, out->type_guess != NULL ?
	    out->type_guess : "shell", path, 1, NULL,
	    &out->problems[out->nproblems]) == -1)
		out->nproblems++;
	/* And what would stop a shell script's run (run.c, program_for). */
	if (out->type_guess == NULL || strcmp(out->type_guess, "shell") == 0) {
		if (shebang == RUN_SHEBANG_LONG)
			verr_set(&out->problems[out->nproblems++], "path",
			    "the #! line is too long (longer than %d bytes): "
			    "a shell script's run would fail",
			    RUN_SHEBANG_HEAD - 1);
		else if (shebang == RUN_SHEBANG_RELATIVE)
			verr_set(&out->problems[out->nproblems++], "path",
			    "the #! line does not name an absolute "
			    "interpreter: a shell script's run would fail");
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	return rc;
}
