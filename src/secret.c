/*
 * secret.c - sealing secrets under the node's key, and masking them in
 * output (see secret.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"

#define SEALED_PREFIX "v1:"

int
secret_key_load(const char *path, struct secret_key *key, char *err,
    size_t errlen)
{
	char text[80];
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "cannot open the secret key file \"%s\": "
		    "%s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "the secret key file \"%s\" is not a "
		    "regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "the secret key file \"%s\" has mode "
		    "%04o: only its owner may read it (chmod 600)", path,
		    (unsigned int)(st.st_mode & 07777));
		goto out;
	}
	while (got < sizeof(text) - 1 &&
	    (n = read(fd, text + got, sizeof(text) - 1 - got)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot read the secret key file "
			    "\"%s\": %s", path, strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	text[got] = '\0';
	if (got > 0 && text[got - 1] == '\n')
		text[--got] = '\0';
	if (got != 2 * SECRET_KEY_BYTES || sodium_hex2bin(key->k,
	    sizeof(key->k), text, got, NULL, NULL, NULL) != 0) {
		snprintf(err, errlen, "the secret key file \"%s\" must hold %d "
		    "hex characters (make one with \"scriptorchd secret-key "
		    "create\")", path, 2 * SECRET_KEY_BYTES);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(text, sizeof(text));
	close(fd);
	return rc;
}

int
secret_key_create(const char *path, char *err, size_t errlen)
{
	unsigned char k[SECRET_KEY_BYTES];
	char hex[2 * SECRET_KEY_BYTES + 2];
	size_t len;
	int fd, rc = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		snprintf(err, errlen, "cannot create the secret key file \"%s\":"
		    " %s", path, strerror(errno));
		return -1;
	}
	randombytes_buf(k, sizeof(k));
	sodium_bin2hex(hex, sizeof(hex) - 1, k, sizeof(k));
	len = strlen(hex);
	hex[len++] = '\n';
	/* The umask may have taken bits away, never added them; be sure. */
	if (fchmod(fd, 0600) == -1 || write(fd, hex, len) != (ssize_t)len ||
	    fsync(fd) == -1) {
		snprintf(err, errlen, "cannot write the secret key file \"%s\": "
		    "%s", path, strerror(errno));
		unlink(path);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(k, sizeof(k));
	sodium_memzero(hex, sizeof(hex));
	close(fd);
	return rc;
}

void
secret_key_wipe(struct secret_key *key)
{
	sodium_memzero(key->k, sizeof(key->k));
}

int
secret_is_sealed(const char *s)
{
	return s != NULL && strncmp(s, SEALED_PREFIX, strlen(SEALED_PREFIX)) == 0;
}

void
secret_seal(const struct secret_key *key, const char *plain, size_t len,
    struct buf *out)
{
	size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
	    len;
	size_t b64len = sodium_base64_ENCODED_LEN(blen,
	    sodium_base64_VARIANT_ORIGINAL);
	unsigned char *box = malloc(blen);
	char *b64 = malloc(b64len);

	if (box == NULL || b64 == NULL) {
		/* As buf.h: a daemon that cannot allocate cannot answer. */
		fprintf(stderr, "secret_seal: out of memory\n");
		abort();
	}
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES,
	    (const unsigned char *)plain, len, box, key->k);
	sodium_bin2base64(b64, b64len, box, blen,
	    sodium_base64_VARIANT_ORIGINAL);
	buf_adds(out, SEALED_PREFIX);
	buf_adds(out, b64);
	free(box);
	free(b64);
}

int
secret_open(const struct secret_key *key, const char *sealed,
    struct buf *out, char *err, size_t errlen)
{
	const char *b64;
	unsigned char *box = NULL, *plain = NULL;
	size_t b64len, blen, plen;
	int rc = -1;

	if (!secret_is_sealed(sealed)) {
		snprintf(err, errlen, "not a sealed secret");
		return -1;
	}
	b64 = sealed + strlen(SEALED_PREFIX);
	b64len = strlen(b64);
	if ((box = malloc(b64len + 1)) == NULL)
		goto out;
	if (sodium_base642bin(box, b64len + 1, b64, b64len, NULL, &blen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
		snprintf(err, errlen, "a sealed secret is damaged");
		goto out;
	}
	plen = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	if ((plain = malloc(plen + 1)) == NULL)
		goto out;
	if (crypto_secretbox_open_easy(plain, box + crypto_secretbox_NONCEBYTES,
	    blen - crypto_secretbox_NONCEBYTES, box, key->k) != 0) {
		snprintf(err, errlen, "a sealed secret does not open with this "
		    "node's key (another key, or altered)");
		goto out;
	}
	buf_add(out, plain, plen);
	sodium_memzero(plain, plen);
	rc = 0;
out:
	if (rc == -1 && box == NULL)
		snprintf(err, errlen, "out of memory");
	free(box);
	free(plain);
	return rc;
}

void
secret_mask_add(struct secret_mask *m, const char *val, size_t len)
{
	char **nv;
	size_t *nl;

	if (val == NULL || len < SECRET_MASK_MIN)
		return;
	for (size_t i = 0; i < m->n; i++)
		if (m->lens[i] == len && memcmp(m->vals[i], val, len) == 0)
			return;
	nv = realloc(m->vals, (m->n + 1) * sizeof(*nv));
	if (nv != NULL)
		m->vals = nv;
	nl = realloc(m->lens, (m->n + 1) * sizeof(*nl));
	if (nl != NULL)
		m->lens = nl;
	if (nv == NULL || nl == NULL || (nv[m->n] = malloc(len)) == NULL) {
		fprintf(stderr, "secret_mask_add: out of memory\n");
		abort();
	}
	memcpy(nv[m->n], val, len);
	nl[m->n] = len;
	m->first[(unsigned char)val[0]] = 1;
	m->n++;
}

void
secret_mask_free(struct secret_mask *m)
{
	for (size_t i = 0; i < m->n; i++) {
		sodium_memzero(m->vals[i], m->lens[i]);
		free(m->vals[i]);
	}
	free(m->vals);
	free(m->lens);
	memset(m, 0, sizeof(*m));
}

/* Length of the longest value that starts at in[0..len), or 0. */
static size_t
match_at(const struct secret_mask *m, const char *in, size_t len)
{
	size_t best = 0;

	for (size_t k = 0; k < m->n; k++)
		if (m->lens[k] > best && m->lens[k] <= len &&
		    memcmp(in, m->vals[k], m->lens[k]) == 0)
			best = m->lens[k];
	return best;
}

/*
 * A value cut in two by a cut: the longest p < len(value) such that
 * in's first p bytes are a value's last p bytes (at_end 0: the value
 * began before the text), or in's last p bytes a value's first p bytes
 * (at_end 1: the value goes on after the text).
 */
static size_t
cut_len(const struct secret_mask *m, const char *in, size_t len, int at_end)
{
	size_t best = 0;

	for (size_t k = 0; k < m->n; k++)
		for (size_t p = m->lens[k] - 1; p > best; p--) {
			if (p > len)
				continue;
			const char *text = at_end ? in + len - p : in;
			const char *val = at_end ? m->vals[k] :
			    m->vals[k] + m->lens[k] - p;
			if (memcmp(text, val, p) == 0) {
				best = p;
				break;
			}
		}
	return best;
}

size_t
secret_mask_apply(const struct secret_mask *m, const char *in, size_t len,
    int cut, struct buf *out)
{
	size_t i = 0, start, hits = 0, l;

	if (m == NULL || m->n == 0) {
		buf_add(out, in, len);
		return 0;
	}
	/* The end of a value cut off before the text began; a whole value
	 * there is longer and taken instead. */
	if ((cut & SECRET_CUT_BEFORE) && (l = cut_len(m, in, len, 0)) > 0 &&
	    l > match_at(m, in, len)) {
		buf_adds(out, SECRET_MASK);
		i = l;
		hits++;
	}
	start = i;
	while (i < len) {
		if (!m->first[(unsigned char)in[i]]) {
			i++;
			continue;
		}
		l = match_at(m, in + i, len - i);
		/* A longer value that the cut ends here ("p4ssw" of
		 * "p4ssword", though "p4ss" is whole): mask to the end. */
		if ((cut & SECRET_CUT_AFTER) && cut_len(m, in + i, len - i,
		    1) == len - i && len - i > l) {
			buf_add(out, in + start, i - start);
			buf_adds(out, SECRET_MASK);
			return hits + 1;
		}
		if (l > 0) {
			buf_add(out, in + start, i - start);
			buf_adds(out, SECRET_MASK);
			hits++;
			i += l;
			start = i;
		} else {
			i++;
		}
	}
	/* The beginning of a value cut off where the text ends can only be
	 * in what followed the last whole value. */
	l = (cut & SECRET_CUT_AFTER) ? cut_len(m, in + start,
	    len - start, 1) : 0;
	buf_add(out, in + start, len - start - l);
	if (l > 0) {
		buf_adds(out, SECRET_MASK);
		hits++;
	}
	return hits;
}
