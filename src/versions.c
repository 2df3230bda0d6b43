/*
 * versions.c - a script's version: the SHA-256 of its file, its
 * normalized requirements and its args template, and a runner's memory
 * of the files it hashed.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "reqs.h"
#include "scriptfile.h"
#include "versions.h"

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
int
version_compute(const struct script *s, char out[VERSION_LEN],
    struct stat *hashed, struct verr *e)
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
	snprintf(out, VERSION_LEN, "sha256:%s", hex);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	buf_free(&reqs);
	return rc;
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

/* Checks the file, then hashes it unless its stamp is remembered. */
int
version_of_file(const struct conf *c, const struct script *s,
    struct version_memo *vm, char out[VERSION_LEN], struct verr *e)
{
	struct stat now, hashed;
	const char *known;

	verr_clear(e);
	if (scriptfile_check(c, NULL, s->type, s->path, 0, &now, e) == -1)
		return -1;
	if (vm != NULL && (known = version_memo_get(vm, s, &now)) != NULL) {
		snprintf(out, VERSION_LEN, "%s", known);
		return 0;
	}
	if (version_compute(s, out, &hashed, e) == -1)
		return -1;
	if (vm != NULL)
		version_memo_put(vm, s, &hashed, out);
	return 0;
}
