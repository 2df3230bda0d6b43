/*
 * registry.c - the script registry: what a script may be, its version,
 * and the writes that change it. The API (api_scripts.c) and the admin CLI
 * (cli.c) both come through here, so a rule exists once.
 *
 * A create or an update is: apply the fields of the JSON object to a
 * struct script (defaults, or the stored row), each checked on its own;
 * then the rules that span fields (requirements only for python,
 * {output_file} only with outputs.file, the file itself when path or type
 * changed); then the version of the result; then one transaction that
 * writes the row, the history and the audit record.
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
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argtpl.h"
#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "inputenv.h"
#include "json.h"
#include "log.h"
#include "names.h"
#include "registry.h"
#include "reqs.h"
#include "schema.h"
#include "shm.h"
#include "store.h"

/* What fits the TEXT columns (description, requirements, args, outputs,
 * env); inputs is MEDIUMTEXT, bounded by the request body limit. */
#define TEXT_MAX 65535
#define OUTPUT_FILE_MAX 1024
#define MAX_CONCURRENCY_MAX 1000000

/* strdup that keeps NULL. */
static char *
xstrdup_opt(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
script_dup(const struct script *src, struct script *dst)
{
	*dst = *src;
	dst->path = xstrdup_opt(src->path);
	dst->description = xstrdup_opt(src->description);
	dst->requirements = xstrdup_opt(src->requirements);
	dst->args_json = xstrdup_opt(src->args_json);
	dst->inputs_json = xstrdup_opt(src->inputs_json);
	dst->outputs_json = xstrdup_opt(src->outputs_json);
	dst->env_json = xstrdup_opt(src->env_json);
}

void
script_free(struct script *s)
{
	if (s == NULL)
		return;
	free(s->path);
	free(s->description);
	free(s->requirements);
	free(s->args_json);
	free(s->inputs_json);
	free(s->outputs_json);
	free(s->env_json);
	memset(s, 0, sizeof(*s));
}


static void
set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = xstrdup_opt(src);
}

/* Replaces *dst with the compact JSON text of v. */
static void
set_json(char **dst, yajl_val v)
{
	struct buf b = BUF_INIT;

	json_dump(&b, v);
	free(*dst);
	*dst = buf_detach(&b, NULL);
}

static int
type_valid(const char *t)
{
	return t != NULL && (strcmp(t, "shell") == 0 ||
	    strcmp(t, "python") == 0 || strcmp(t, "binary") == 0);
}

/* ------------------------------------------------------------------ */
/* The file: path form, roots, kind, ELF header, run-user permissions.  */

/* Absolute, and no "", "." or ".." segment: no "//", no trailing "/". */
static int
check_path_form(const char *path, struct verr *e)
{
	const char *p, *seg;
	size_t n;

	if (path[0] != '/') {
		verr_set(e, "path", "path must be an absolute path");
		return -1;
	}
	if (strlen(path) >= PATH_MAX) {
		verr_set(e, "path", "path is too long");
		return -1;
	}
	for (p = path; *p == '/'; ) {
		seg = p + 1;
		n = strcspn(seg, "/");
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.')) {
			verr_set(e, "path", "path must be normalized (no \".\" "
			    "or \"..\" segments, no \"//\", no trailing "
			    "\"/\")");
			return -1;
		}
		p = seg + n;
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
#error "registry.c: add this architecture's ELF e_machine"
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

/*
 * Everything the contract asks of a script's file. `magic` may be NULL
 * (the runner's recheck before a run): the ELF header is still checked.
 * `with_run_user` adds the permission check against the run user, which
 * needs user and group database look-ups: done at registration and
 * update; before a run the exec itself reports a missing permission.
 */
static int
check_file(const struct conf *c, void *magic, const char *type,
    const char *path, int with_run_user, struct stat *seen, struct verr *e)
{
	char real[PATH_MAX];
	struct stat st;
	struct buf roots = BUF_INIT;

	if (path == NULL || *path == '\0') {
		verr_set(e, "path", "path is required");
		return -1;
	}
	if (check_path_form(path, e) == -1)
		return -1;
	if (!in_roots(c, path, 1)) {
		roots_text(c, &roots);
		verr_set(e, "path", "path must be inside a script root (%s)",
		    buf_str(&roots));
		buf_free(&roots);
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
		roots_text(c, &roots);
		verr_set(e, "path", "path must be inside a script root (%s)",
		    buf_str(&roots));
		buf_free(&roots);
		return -1;
	}
	if (stat(path, &st) == -1) {
		verr_set(e, "path", "cannot look at path: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		verr_set(e, "path", "path is %s", kind_of(st.st_mode));
		return -1;
	}
	if (strcmp(type, "binary") == 0 && check_elf(path, magic, e) == -1)
		return -1;
	if (seen != NULL)
		*seen = st;
	return with_run_user ? check_run_user(c, type, path, &st, e) : 0;
}

/* ------------------------------------------------------------------ */
/* The version.                                                         */

static void
hash_len(crypto_hash_sha256_state *st, unsigned long long n)
{
	unsigned char b[8];

	for (int i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(n & 0xff);
		n >>= 8;
	}
	crypto_hash_sha256_update(st, b, sizeof(b));
}

static int
same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* The same file with the same size and change times: the same content. */
static int
same_stamp(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size && same_time(&a->st_mtim, &b->st_mtim) &&
	    same_time(&a->st_ctim, &b->st_ctim);
}

/*
 * version = "sha256:" + hex SHA-256 of
 *   content || len64(content) || reqs || len64(reqs) || args || len64(args)
 * (lengths as 8 bytes big-endian, each after its part, so the file can be
 * streamed and the encoding is still unambiguous read from the end).
 * reqs is the normalized requirements (reqs.h: "" for non-python
 * scripts and python ones without any), so an edit that changes no
 * installed package (a comment, spacing) does not make a new version;
 * args is the compact JSON of the template. docs/api.md documents this.
 */
static int
compute_version(const struct script *s, char out[80], struct stat *hashed,
    struct verr *e)
{
	crypto_hash_sha256_state st;
	unsigned char md[crypto_hash_sha256_BYTES], chunk[65536];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];
	struct buf reqs = BUF_INIT;
	unsigned long long total = 0;
	const char *args = s->args_json != NULL ? s->args_json : "[]";
	struct stat sb;
	ssize_t n;
	int fd = -1, rc = -1;

	if (strcmp(s->type, "python") == 0 && s->requirements != NULL &&
	    reqs_normalize(s->requirements, &reqs, e) == -1)
		return -1;
	if ((fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		if (errno == ENOENT)
			verr_set(e, "path", "path does not exist");
		else
			verr_set(e, "path", "cannot read path: %s",
			    strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		verr_set(e, "path", "path is no longer a regular file");
		goto out;
	}
	crypto_hash_sha256_init(&st);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			verr_set(e, "path", "cannot read path: %s",
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		crypto_hash_sha256_update(&st, chunk, (unsigned long long)n);
		total += (unsigned long long)n;
	}
	/* The stamp of what was hashed: none if it changed meanwhile. */
	if (hashed != NULL) {
		struct stat after;
		if (fstat(fd, &after) == -1 || !same_stamp(&sb, &after))
			memset(hashed, 0, sizeof(*hashed));
		else
			*hashed = sb;
	}
	hash_len(&st, total);
	crypto_hash_sha256_update(&st, (const unsigned char *)buf_str(&reqs),
	    reqs.len);
	hash_len(&st, reqs.len);
	crypto_hash_sha256_update(&st, (const unsigned char *)args,
	    strlen(args));
	hash_len(&st, strlen(args));
	crypto_hash_sha256_final(&st, md);
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	snprintf(out, 80, "sha256:%s", hex);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	buf_free(&reqs);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Fields.                                                              */

enum field {
	F_NAME, F_TYPE, F_PATH, F_DESCRIPTION, F_ENABLED, F_REQUIREMENTS,
	F_ARGS, F_INPUT_MODE, F_INPUTS, F_OUTPUTS, F_ENV, F_TIMEOUT,
	F_MAX_CONCURRENCY, F_COUNT
};

static const char *const field_names[F_COUNT] = {
	"name", "type", "path", "description", "enabled", "requirements",
	"args", "input_mode", "inputs", "outputs", "env", "timeout_s",
	"max_concurrency",
};

/* In the script object, but only the server writes them. */
static const char *const readonly_names[] = {
	"id", "version", "created_at", "updated_at", "venv", NULL,
};

#define BIT(f) (1u << (f))

static int
is_int(yajl_val v)
{
	return YAJL_IS_INTEGER(v) && schema_is_integer(v);
}

/* A relative path inside the work dir: no "", "." or ".." segment. */
static int
check_output_file(const char *f, struct verr *e)
{
	const char *p = f, *seg;
	size_t n;

	if (*f == '\0' || strlen(f) > OUTPUT_FILE_MAX) {
		verr_set(e, "outputs.file", "outputs.file must be a relative "
		    "path of 1 to %d bytes", OUTPUT_FILE_MAX);
		return -1;
	}
	if (*f == '/') {
		verr_set(e, "outputs.file", "outputs.file must be relative to "
		    "the work dir, not absolute");
		return -1;
	}
	for (;;) {
		seg = p;
		n = strcspn(seg, "/");
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.')) {
			verr_set(e, "outputs.file", "outputs.file must be a "
			    "normalized relative path (no \".\" or \"..\" "
			    "segments, no \"//\", no trailing \"/\")");
			return -1;
		}
		if (seg[n] == '\0')
			return 0;
		p = seg + n + 1;
	}
}

/* Checks outputs and writes its stored form: stdout always present. */
static int
check_outputs(yajl_val v, struct buf *out, struct verr *e)
{
	const char *stdout_mode = "text", *file = NULL;
	struct jw w;

	if (!YAJL_IS_OBJECT(v)) {
		verr_set(e, "outputs", "outputs must be an object such as "
		    "{\"stdout\": \"json\", \"file\": \"result.png\"}");
		return -1;
	}
	for (size_t i = 0; i < v->u.object.len; i++) {
		const char *k = v->u.object.keys[i];
		yajl_val x = v->u.object.values[i];

		for (size_t j = 0; j < i; j++)
			if (strcmp(v->u.object.keys[j], k) == 0) {
				verr_set(e, "outputs", "outputs names \"%s\" "
				    "twice", k);
				return -1;
			}
		if (strcmp(k, "stdout") == 0) {
			if (!YAJL_IS_STRING(x) || (strcmp(x->u.string, "text") &&
			    strcmp(x->u.string, "json"))) {
				verr_set(e, "outputs.stdout", "outputs.stdout "
				    "must be \"text\" or \"json\"");
				return -1;
			}
			stdout_mode = x->u.string;
		} else if (strcmp(k, "file") == 0) {
			if (!YAJL_IS_STRING(x)) {
				verr_set(e, "outputs.file", "outputs.file must "
				    "be a string");
				return -1;
			}
			if (check_output_file(x->u.string, e) == -1)
				return -1;
			file = x->u.string;
		} else {
			struct buf f = BUF_INIT;
			buf_adds(&f, "outputs");
			schema_path_key(&f, k);
			verr_set(e, buf_str(&f), "unknown output \"%s\": outputs "
			    "has only stdout and file", k);
			buf_free(&f);
			return -1;
		}
	}
	jw_init(&w, out);
	jw_obj(&w);
	jw_key(&w, "stdout");
	jw_str(&w, stdout_mode);
	if (file != NULL) {
		jw_key(&w, "file");
		jw_str(&w, file);
	}
	jw_obj_end(&w);
	jw_free(&w);
	return 0;
}

static int
check_text(yajl_val v, const char *field, struct verr *e)
{
	if (!YAJL_IS_STRING(v)) {
		verr_set(e, field, "%s must be a string", field);
		return -1;
	}
	if (strlen(v->u.string) > TEXT_MAX) {
		verr_set(e, field, "%s must be at most %d bytes", field,
		    TEXT_MAX);
		return -1;
	}
	return 0;
}

/* Sets one field of `s` from `v`; JSON null restores an optional field's
 * default. */

/*
 * A field holding JSON (args, env): null puts back `def`; otherwise the
 * value must be an array (want_array) or an object, pass `check`, and its
 * compact text must fit the column.
 */
static int
set_checked_json(char **dst, yajl_val v, int null, const char *name,
    const char *def, int want_array, const char *kind,
    int (*check)(yajl_val, struct verr *), struct verr *e)
{
	if (null) {
		set_str(dst, def);
		return 0;
	}
	if (want_array ? !YAJL_IS_ARRAY(v) : !YAJL_IS_OBJECT(v)) {
		verr_set(e, name, "%s must be %s", name, kind);
		return -1;
	}
	if (check(v, e) == -1)
		return -1;
	set_json(dst, v);
	if (strlen(*dst) > TEXT_MAX) {
		verr_set(e, name, "%s must be at most %d bytes as JSON", name,
		    TEXT_MAX);
		return -1;
	}
	return 0;
}

static int
apply_one(const struct conf *c, enum field f, yajl_val v, struct script *s,
    struct verr *e)
{
	struct buf b = BUF_INIT;
	const char *name = field_names[f];
	int null = v == NULL || YAJL_IS_NULL(v);

	switch (f) {
	case F_NAME:
		if (!YAJL_IS_STRING(v)) {
			verr_set(e, name, "name must be a string");
			return -1;
		}
		if (names_check_script(v->u.string, e) == -1)
			return -1;
		snprintf(s->name, sizeof(s->name), "%s", v->u.string);
		return 0;
	case F_TYPE:
		if (!YAJL_IS_STRING(v) || !type_valid(v->u.string)) {
			verr_set(e, name, "type must be shell, python or "
			    "binary");
			return -1;
		}
		snprintf(s->type, sizeof(s->type), "%s", v->u.string);
		return 0;
	case F_PATH:
		if (!YAJL_IS_STRING(v)) {
			verr_set(e, name, "path must be a string");
			return -1;
		}
		set_str(&s->path, v->u.string);
		return 0;
	case F_DESCRIPTION:
		if (!null && check_text(v, name, e) == -1)
			return -1;
		set_str(&s->description, null ? "" : v->u.string);
		return 0;
	case F_ENABLED:
		if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
			verr_set(e, name, "enabled must be true or false");
			return -1;
		}
		s->enabled = YAJL_IS_TRUE(v);
		return 0;
	case F_REQUIREMENTS:
		/* Checked against the type once every field is applied. */
		if (!null && check_text(v, name, e) == -1)
			return -1;
		set_str(&s->requirements, null ? NULL : v->u.string);
		return 0;
	case F_ARGS:
		return set_checked_json(&s->args_json, v, null, name, "[]", 1,
		    "an array of strings", argtpl_check, e);
	case F_INPUT_MODE:
		if (null) {
			snprintf(s->input_mode, sizeof(s->input_mode), "both");
			return 0;
		}
		if (!YAJL_IS_STRING(v) || (strcmp(v->u.string, "env") &&
		    strcmp(v->u.string, "stdin") && strcmp(v->u.string, "both"))) {
			verr_set(e, name, "input_mode must be env, stdin or "
			    "both");
			return -1;
		}
		snprintf(s->input_mode, sizeof(s->input_mode), "%s",
		    v->u.string);
		return 0;
	case F_INPUTS:
		if (null) {
			set_str(&s->inputs_json, NULL);
			return 0;
		}
		if (schema_check(v, e) == -1)
			return -1;
		set_json(&s->inputs_json, v);
		return 0;
	case F_OUTPUTS:
		if (null) {
			set_str(&s->outputs_json, "{\"stdout\":\"text\"}");
			return 0;
		}
		if (check_outputs(v, &b, e) == -1) {
			buf_free(&b);
			return -1;
		}
		free(s->outputs_json);
		s->outputs_json = buf_detach(&b, NULL);
		return 0;
	case F_ENV:
		return set_checked_json(&s->env_json, v, null, name, "{}", 0,
		    "an object of strings", inputenv_check_script_env, e);
	case F_TIMEOUT:
		if (null) {
			s->timeout_s = c->default_timeout_s;
			return 0;
		}
		if (!is_int(v) || v->u.number.i < 1 ||
		    v->u.number.i > c->max_timeout_s) {
			verr_set(e, name, "timeout_s must be an integer from 1 "
			    "to %d", c->max_timeout_s);
			return -1;
		}
		s->timeout_s = (int)v->u.number.i;
		return 0;
	case F_MAX_CONCURRENCY:
		if (null) {
			s->max_concurrency = 0;
			return 0;
		}
		if (!is_int(v) || v->u.number.i < 1 ||
		    v->u.number.i > MAX_CONCURRENCY_MAX) {
			verr_set(e, name, "max_concurrency must be null (no "
			    "limit) or an integer from 1 to %d",
			    MAX_CONCURRENCY_MAX);
			return -1;
		}
		s->max_concurrency = (int)v->u.number.i;
		return 0;
	case F_COUNT:
		break;
	}
	return -1;
}

/* Applies every member of `body`; *changed gets a bit per field given. */
static int
apply_fields(const struct conf *c, yajl_val body, struct script *s,
    unsigned *changed, struct verr *e)
{
	*changed = 0;
	if (!YAJL_IS_OBJECT(body)) {
		verr_set(e, NULL, "the script must be a JSON object");
		return -1;
	}
	for (size_t i = 0; i < body->u.object.len; i++) {
		const char *k = body->u.object.keys[i];
		int f;

		for (size_t j = 0; j < i; j++)
			if (strcmp(body->u.object.keys[j], k) == 0) {
				verr_set(e, k, "field \"%s\" is given twice", k);
				return -1;
			}
		for (int j = 0; readonly_names[j] != NULL; j++)
			if (strcmp(readonly_names[j], k) == 0) {
				verr_set(e, k, "%s is read-only", k);
				return -1;
			}
		for (f = 0; f < F_COUNT; f++)
			if (strcmp(field_names[f], k) == 0)
				break;
		if (f == F_COUNT) {
			verr_set(e, k, "unknown field \"%s\"", k);
			return -1;
		}
		if (apply_one(c, (enum field)f, body->u.object.values[i], s,
		    e) == -1)
			return -1;
		*changed |= BIT(f);
	}
	return 0;
}

/*
 * The rules that span fields, on the merged result. The file is looked at
 * only when path or type is new: a PATCH that disables a script whose file
 * went bad must still work.
 */
static int
check_merged(const struct conf *c, void *magic, const struct script *s,
    unsigned changed, struct verr *e)
{
	yajl_val args = NULL, outputs = NULL;
	struct buf reqs = BUF_INIT;
	int rc = -1;

	if (strcmp(s->type, "python") != 0 && s->requirements != NULL) {
		verr_set(e, "requirements", "requirements are only for python "
		    "scripts (this one is %s)", s->type);
		goto out;
	}
	if (s->requirements != NULL &&
	    (reqs_normalize(s->requirements, &reqs, e) == -1 ||
	    ((changed & BIT(F_REQUIREMENTS)) &&
	    reqs_check_sources(buf_str(&reqs), c->allow_direct_urls,
	    c->allow_sdist, e) == -1)))
		goto out;
	args = json_parse(s->args_json, strlen(s->args_json), NULL, 0);
	outputs = json_parse(s->outputs_json, strlen(s->outputs_json), NULL, 0);
	if (argtpl_check_input(args, NULL, json_get(outputs, "file") != NULL,
	    e) == -1)
		goto out;
	if ((changed & (BIT(F_PATH) | BIT(F_TYPE))) &&
	    check_file(c, magic, s->type, s->path, 1, NULL, e) == -1)
		goto out;
	rc = 0;
out:
	yajl_tree_free(args);
	yajl_tree_free(outputs);
	buf_free(&reqs);
	return rc;
}

static void
changed_text(unsigned changed, struct buf *out)
{
	for (int f = 0; f < F_COUNT; f++)
		if (changed & BIT(f)) {
			if (out->len > 0)
				buf_adds(out, ",");
			buf_adds(out, field_names[f]);
		}
}

/* ------------------------------------------------------------------ */
/* Reads.                                                               */

/* Records a new version: the row's version moves from s->version to
 * newv, and the history gets it, once (store_script_set_version). */
static enum reg_status
record_version(struct db *db, struct script *s, const char *newv)
{
	int changed, found;
	long long id = s->id;

	if (db_tx_begin(db) == -1)
		return REG_DB;
	if (store_script_set_version(db, s->id, s->version, newv,
	    &changed) == -1)
		goto fail;
	if (changed && store_script_version_add(db, s->id, newv) == -1)
		goto fail;
	if (db_tx_commit(db) == -1)
		return REG_DB;
	if (changed)
		log_info("script \"%s\" changed on disk: %s", s->name, newv);
	/* Re-read for updated_at (or for another worker's newer value). */
	script_free(s);
	if (store_script_get(db, id, 0, s, &found) == -1)
		return REG_DB;
	return found ? REG_OK : REG_NOT_FOUND;
fail:
	db_tx_rollback(db);
	return REG_DB;
}

/* Recomputes the version from the file and records it when it changed.
 * A file that cannot be hashed answers `unreadable`, with e saying why:
 * REG_OK for reads (the stored version stands), REG_INVALID before a run. */
static enum reg_status
refresh(struct db *db, struct script *s, struct verr *e,
    enum reg_status unreadable)
{
	char v[80];

	if (compute_version(s, v, NULL, e) == -1)
		return unreadable;
	if (strcmp(v, s->version) == 0)
		return REG_OK;
	return record_version(db, s, v);
}

/* The version remembered for s's file showing stamp `st`, or NULL. */
static const char *
version_memo_get(const struct version_memo *vm, const struct script *s,
    const struct stat *st)
{
	for (int i = 0; i < VERSION_MEMO_SLOTS; i++) {
		const struct version_stamp *v = &vm->v[i];
		if (v->script_id == s->id &&
		    strcmp(v->updated_at, s->updated_at) == 0 &&
		    v->dev == st->st_dev && v->ino == st->st_ino &&
		    v->size == st->st_size &&
		    same_time(&v->mtime, &st->st_mtim) &&
		    same_time(&v->ctime, &st->st_ctim))
			return v->version;
	}
	return NULL;
}

static void
version_memo_put(struct version_memo *vm, const struct script *s,
    const struct stat *st, const char *version)
{
	struct timespec now;
	struct version_stamp *v;
	int i;

	/* Changed lately (or not known whole): hash it again next time. */
	if (st->st_ino == 0 || clock_gettime(CLOCK_REALTIME, &now) == -1 ||
	    now.tv_sec - st->st_ctim.tv_sec <= VERSION_SETTLE_S ||
	    now.tv_sec - st->st_mtim.tv_sec <= VERSION_SETTLE_S)
		return;
	for (i = 0; i < VERSION_MEMO_SLOTS; i++)
		if (vm->v[i].script_id == s->id)
			break;          /* one entry per script */
	if (i == VERSION_MEMO_SLOTS) {
		i = vm->next;
		vm->next = (vm->next + 1) % VERSION_MEMO_SLOTS;
	}
	v = &vm->v[i];
	memset(v, 0, sizeof(*v));
	v->script_id = s->id;
	snprintf(v->updated_at, sizeof(v->updated_at), "%s", s->updated_at);
	v->dev = st->st_dev;
	v->ino = st->st_ino;
	v->size = st->st_size;
	v->mtime = st->st_mtim;
	v->ctime = st->st_ctim;
	snprintf(v->version, sizeof(v->version), "%s", version);
}

enum reg_status
registry_load(struct db *db, long long id, const char *name, struct script *s)
{
	int found;

	memset(s, 0, sizeof(*s));
	if ((name != NULL ? store_script_get_by_name(db, name, s, &found) :
	    store_script_get(db, id, 0, s, &found)) == -1)
		return REG_DB;
	return found ? REG_OK : REG_NOT_FOUND;
}

void
registry_memo_free(struct script_memo *m)
{
	for (int i = 0; i < SCRIPT_MEMO_SLOTS; i++)
		script_free(&m->s[i]);
	memset(m, 0, sizeof(*m));
}

int
registry_memo_get_rev(struct script_memo *m, long long id,
    const char *updated_at, struct script *s)
{
	for (int i = 0; i < SCRIPT_MEMO_SLOTS; i++)
		if (m->s[i].id == id &&
		    strcmp(m->s[i].updated_at, updated_at) == 0) {
			script_dup(&m->s[i], s);
			m->at[i] = clock_mono_ms();
			return 0;
		}
	return -1;
}

int
registry_memo_get_fresh(struct script_memo *m, long long id,
    const char *name, uint32_t gen, struct script *s)
{
	double now = clock_mono_ms();

	for (int i = 0; i < SCRIPT_MEMO_SLOTS; i++) {
		const struct script *c = &m->s[i];
		if (c->id == 0 || m->gen[i] != gen ||
		    now - m->at[i] >= SCRIPT_MEMO_MS)
			continue;
		if (name != NULL ? strcmp(c->name, name) == 0 : c->id == id) {
			script_dup(c, s);
			return 0;
		}
	}
	return -1;
}

void
registry_memo_put(struct script_memo *m, const struct script *s,
    uint32_t gen)
{
	int slot = 0;

	/* The same script's older entry, else the least recently used. */
	for (int i = 0; i < SCRIPT_MEMO_SLOTS; i++) {
		if (m->s[i].id == s->id) {
			slot = i;
			break;
		}
		if (m->at[i] < m->at[slot])
			slot = i;
	}
	script_free(&m->s[slot]);
	script_dup(s, &m->s[slot]);
	m->at[slot] = clock_mono_ms();
	m->gen[slot] = gen;
}

void
registry_changed(struct shm *shm)
{
	atomic_fetch_add(&shm->script_gen, 1);
}

enum reg_status
registry_load_for_submit(struct db *db, struct script_memo *memo,
    uint32_t gen, long long id, const char *name, int max_queued,
    struct script *s, int *queue_full)
{
	int found;

	memset(s, 0, sizeof(*s));
	if (memo != NULL &&
	    registry_memo_get_fresh(memo, id, name, gen, s) == 0) {
		*queue_full = -1;
		return REG_OK;
	}
	if (store_script_get_probe(db, id, name, max_queued, s, &found,
	    queue_full) == -1)
		return REG_DB;
	if (!found)
		return REG_NOT_FOUND;
	if (memo != NULL)
		registry_memo_put(memo, s, gen);
	return REG_OK;
}

enum reg_status
registry_get(struct db *db, const struct conf *c, long long id,
    struct script *s, struct verr *e)
{
	enum reg_status rs;

	(void)c;
	verr_clear(e);
	rs = registry_load(db, id, NULL, s);
	return rs == REG_OK ? refresh(db, s, e, REG_OK) : rs;
}

enum reg_status
registry_get_by_name(struct db *db, const struct conf *c, const char *name,
    struct script *s, struct verr *e)
{
	enum reg_status rs;

	(void)c;
	verr_clear(e);
	rs = registry_load(db, 0, name, s);
	return rs == REG_OK ? refresh(db, s, e, REG_OK) : rs;
}

int
registry_file_version(const struct conf *c, const struct script *s,
    struct version_memo *vm, char out[80], struct verr *e)
{
	struct stat now, hashed;
	const char *known;

	verr_clear(e);
	if (check_file(c, NULL, s->type, s->path, 0, &now, e) == -1)
		return -1;
	if (vm != NULL && (known = version_memo_get(vm, s, &now)) != NULL) {
		snprintf(out, 80, "%s", known);
		return 0;
	}
	if (compute_version(s, out, &hashed, e) == -1)
		return -1;
	if (vm != NULL)
		version_memo_put(vm, s, &hashed, out);
	return 0;
}

enum reg_status
registry_refresh_version(struct db *db, const struct conf *c,
    struct script *s, struct version_memo *vm, struct verr *e)
{
	char v[80];

	if (registry_file_version(c, s, vm, v, e) == -1)
		return REG_INVALID;
	if (strcmp(v, s->version) == 0)
		return REG_OK;
	return record_version(db, s, v);
}

enum reg_status
registry_list(struct db *db, const struct script_filter *f,
    void (*fn)(void *arg, const struct script *s), void *arg,
    struct verr *e)
{
	struct buf like = BUF_INIT;
	enum reg_status rs = REG_OK;

	verr_clear(e);
	if (f->type != NULL && !type_valid(f->type)) {
		verr_set(e, "type", "type must be shell, python or binary");
		return REG_INVALID;
	}
	if (f->q != NULL && *f->q != '\0') {
		/* '!' escapes LIKE's wildcards and itself. */
		buf_addc(&like, '%');
		for (const char *p = f->q; *p != '\0'; p++) {
			if (*p == '%' || *p == '_' || *p == '!')
				buf_addc(&like, '!');
			buf_addc(&like, *p);
		}
		buf_addc(&like, '%');
	}
	if (store_script_list(db, f->type, f->enabled,
	    like.len > 0 ? buf_str(&like) : NULL, fn, arg) == -1)
		rs = REG_DB;
	buf_free(&like);
	return rs;
}

enum reg_status
registry_versions(struct db *db, long long id,
    void (*fn)(void *arg, const char *version, const char *recorded_at),
    void *arg)
{
	struct script s;
	int found;

	if (store_script_get(db, id, 0, &s, &found) == -1)
		return REG_DB;
	if (!found)
		return REG_NOT_FOUND;
	script_free(&s);
	return store_script_versions(db, id, fn, arg) == -1 ? REG_DB : REG_OK;
}

/* ------------------------------------------------------------------ */
/* Writes.                                                              */

static enum reg_status
write_failed(struct db *db, const struct script *s, struct verr *e)
{
	if (db_error(db) == DB_EDUPLICATE) {
		verr_set(e, "name", "a script named \"%s\" already exists",
		    s->name);
		return REG_CONFLICT;
	}
	return REG_DB;
}

enum reg_status
registry_create(struct db *db, const struct conf *c, void *magic,
    yajl_val body, const char *actor, struct script *out, struct verr *e)
{
	struct script s;
	unsigned changed;
	long long id;
	int found;
	enum reg_status rs = REG_INVALID;

	verr_clear(e);
	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	s.enabled = 1;
	s.description = xstrdup("");
	s.args_json = xstrdup("[]");
	snprintf(s.input_mode, sizeof(s.input_mode), "both");
	s.outputs_json = xstrdup("{\"stdout\":\"text\"}");
	s.env_json = xstrdup("{}");
	s.timeout_s = c->default_timeout_s;

	if (apply_fields(c, body, &s, &changed, e) == -1)
		goto out;
	for (int f = F_NAME; f <= F_PATH; f++)
		if (!(changed & BIT(f))) {
			verr_set(e, field_names[f], "%s is required",
			    field_names[f]);
			goto out;
		}
	if (check_merged(c, magic, &s, changed, e) == -1)
		goto out;
	if (compute_version(&s, s.version, NULL, e) == -1)
		goto out;

	rs = REG_DB;
	if (db_tx_begin(db) == -1)
		goto out;
	if (store_script_insert(db, &s, &id) == -1 ||
	    store_script_version_add(db, id, s.version) == -1 ||
	    store_audit(db, actor, "script.create", "script", id,
	    s.name) == -1) {
		rs = write_failed(db, &s, e);
		db_tx_rollback(db);
		goto out;
	}
	if (db_tx_commit(db) == -1)
		goto out;
	log_info("script \"%s\" (%lld) registered by \"%s\"", s.name, id,
	    actor);
	if (store_script_get(db, id, 0, out, &found) == -1)
		goto out;
	rs = found ? REG_OK : REG_NOT_FOUND;
out:
	script_free(&s);
	return rs;
}

enum reg_status
registry_update(struct db *db, const struct conf *c, void *magic,
    long long id, yajl_val patch, const char *actor, struct script *out,
    struct verr *e)
{
	struct script s;
	struct buf detail = BUF_INIT;
	char oldv[80], newv[80];
	unsigned changed;
	int found;
	enum reg_status rs = REG_DB;

	verr_clear(e);
	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	if (!YAJL_IS_OBJECT(patch)) {
		verr_set(e, NULL, "the changes must be a JSON object");
		return REG_INVALID;
	}
	/* The row stays locked from the read to the write: two PATCHes of
	 * one script apply one after the other, never half each. */
	if (db_tx_begin(db) == -1)
		return REG_DB;
	if (store_script_get(db, id, 1, &s, &found) == -1)
		goto fail;
	if (!found) {
		rs = REG_NOT_FOUND;
		goto fail;
	}
	snprintf(oldv, sizeof(oldv), "%s", s.version);
	rs = REG_INVALID;
	if (apply_fields(c, patch, &s, &changed, e) == -1 ||
	    check_merged(c, magic, &s, changed, e) == -1)
		goto fail;
	/* A file that cannot be read now keeps its version (the PATCH may
	 * be the one disabling it); a new path was checked just above. */
	if (compute_version(&s, newv, NULL, NULL) == 0)
		snprintf(s.version, sizeof(s.version), "%s", newv);
	changed_text(changed, &detail);
	if (store_script_update(db, &s) == -1 ||
	    (strcmp(oldv, s.version) != 0 &&
	    store_script_version_add(db, id, s.version) == -1) ||
	    store_audit(db, actor, "script.update", "script", id,
	    buf_str(&detail)) == -1) {
		rs = write_failed(db, &s, e);
		goto fail;
	}
	if (db_tx_commit(db) == -1) {
		rs = REG_DB;
		goto out;
	}
	log_info("script \"%s\" (%lld) updated by \"%s\": %s", s.name, id,
	    actor, detail.len ? buf_str(&detail) : "nothing");
	rs = REG_DB;
	if (store_script_get(db, id, 0, out, &found) == -1)
		goto out;
	rs = found ? REG_OK : REG_NOT_FOUND;
	goto out;
fail:
	db_tx_rollback(db);
out:
	buf_free(&detail);
	script_free(&s);
	return rs;
}

enum reg_status
registry_delete(struct db *db, long long id, const char *actor)
{
	struct script s;
	struct buf detail = BUF_INIT;
	long long canceled = 0;
	int found;
	enum reg_status rs = REG_DB;

	memset(&s, 0, sizeof(s));
	if (db_tx_begin(db) == -1)
		return REG_DB;
	if (store_script_get(db, id, 1, &s, &found) == -1)
		goto fail;
	if (!found) {
		rs = REG_NOT_FOUND;
		goto fail;
	}
	if (store_script_delete(db, id, &found, &canceled) == -1)
		goto fail;
	buf_printf(&detail, "%s", s.name);
	if (canceled > 0)
		buf_printf(&detail, " (%lld queued execution%s canceled)",
		    canceled, canceled == 1 ? "" : "s");
	if (store_audit(db, actor, "script.delete", "script", id,
	    buf_str(&detail)) == -1)
		goto fail;
	if (db_tx_commit(db) == -1)
		goto out;
	log_info("script \"%s\" (%lld) deleted by \"%s\"%s", s.name, id, actor,
	    canceled > 0 ? "; its queued executions were canceled" : "");
	rs = REG_OK;
	goto out;
fail:
	db_tx_rollback(db);
out:
	buf_free(&detail);
	script_free(&s);
	return rs;
}

/* ------------------------------------------------------------------ */
/* Rendering.                                                           */

void
registry_write_members(struct jw *w, const struct script *s)
{
	jw_key(w, "id");
	jw_int(w, s->id);
	jw_key(w, "name");
	jw_str(w, s->name);
	jw_key(w, "type");
	jw_str(w, s->type);
	jw_key(w, "path");
	jw_str(w, s->path);
	jw_key(w, "description");
	jw_str(w, s->description != NULL ? s->description : "");
	jw_key(w, "enabled");
	jw_bool(w, s->enabled);
	jw_key(w, "version");
	jw_str(w, s->version);
	jw_key(w, "requirements");
	jw_str(w, s->requirements);
	jw_key(w, "args");
	jw_raw_json(w, s->args_json != NULL ? s->args_json : "[]",
	    s->args_json != NULL ? strlen(s->args_json) : 2);
	jw_key(w, "input_mode");
	jw_str(w, s->input_mode);
	jw_key(w, "inputs");
	jw_raw_json(w, s->inputs_json, s->inputs_json != NULL ?
	    strlen(s->inputs_json) : 0);
	jw_key(w, "outputs");
	jw_raw_json(w, s->outputs_json, s->outputs_json != NULL ?
	    strlen(s->outputs_json) : 0);
	jw_key(w, "env");
	jw_raw_json(w, s->env_json, s->env_json != NULL ?
	    strlen(s->env_json) : 0);
	jw_key(w, "timeout_s");
	jw_int(w, s->timeout_s);
	jw_key(w, "max_concurrency");
	if (s->max_concurrency > 0)
		jw_int(w, s->max_concurrency);
	else
		jw_null(w);
	jw_key(w, "created_at");
	jw_str(w, s->created_at);
	jw_key(w, "updated_at");
	jw_str(w, s->updated_at);
}

void
registry_write_json(struct jw *w, const struct script *s)
{
	jw_obj(w);
	registry_write_members(w, s);
	jw_obj_end(w);
}
