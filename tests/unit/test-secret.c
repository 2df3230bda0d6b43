/* Unit tests of secret.c: the key file, sealing, and masking in output. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"
#include "tap.h"

static char *
masked(const struct secret_mask *m, const char *in, int cut, size_t *hits)
{
	struct buf b = BUF_INIT;
	size_t h = secret_mask_apply(m, in, strlen(in), cut, &b);

	if (hits != NULL)
		*hits = h;
	return buf_detach(&b, NULL);
}

#define MASKED(m, in, cut, want, name) do {				\
	char *got_ = masked(m, in, cut, NULL);				\
	is_str(got_, want, name);					\
	free(got_);							\
} while (0)

int
main(void)
{
	char dir[] = "/tmp/test-secret.XXXXXX", path[128], err[256];
	struct secret_key k1, k2;
	struct secret_mask m = SECRET_MASK_INIT;
	struct buf sealed = BUF_INIT, plain = BUF_INIT;
	size_t hits;
	char *s;
	int fd;

	plan_lazy();
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/key", dir);

	/* The key file. */
	ok(secret_key_create(path, err, sizeof(err)) == 0, "a key file is made");
	{
		struct stat st;
		ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
		    "with mode 0600");
	}
	ok(secret_key_create(path, err, sizeof(err)) == -1,
	    "never over an existing one: %s", err);
	ok(secret_key_load(path, &k1, err, sizeof(err)) == 0, "it loads");
	chmod(path, 0640);
	ok(secret_key_load(path, &k2, err, sizeof(err)) == -1 &&
	    strstr(err, "0640") != NULL, "a group-readable key is refused: %s",
	    err);
	chmod(path, 0600);
	fd = open(path, O_WRONLY | O_TRUNC);
	ok(write(fd, "abcd\n", 5) == 5, "(a short key written)");
	close(fd);
	ok(secret_key_load(path, &k2, err, sizeof(err)) == -1 &&
	    strstr(err, "64 hex") != NULL, "a key of the wrong form is refused");
	unlink(path);
	ok(secret_key_load(path, &k2, err, sizeof(err)) == -1,
	    "a missing key file is refused");
	ok(secret_key_create(path, err, sizeof(err)) == 0 &&
	    secret_key_load(path, &k2, err, sizeof(err)) == 0, "a second key");
	ok(memcmp(k1.k, k2.k, sizeof(k1.k)) != 0, "two keys differ");

	/* Sealing. */
	secret_seal(&k1, "hunter2-\0bytes", 14, &sealed);
	ok(secret_is_sealed(buf_str(&sealed)), "sealed form has its prefix");
	ok(strstr(buf_str(&sealed), "hunter2") == NULL,
	    "the value is not in the sealed text");
	ok(secret_open(&k1, buf_str(&sealed), &plain, err, sizeof(err)) == 0 &&
	    plain.len == 14 && memcmp(plain.data, "hunter2-\0bytes", 14) == 0,
	    "it opens to the same bytes, NUL included");
	buf_reset(&plain);
	ok(secret_open(&k2, buf_str(&sealed), &plain, err, sizeof(err)) == -1 &&
	    plain.len == 0, "another key cannot open it: %s", err);
	s = xstrdup(buf_str(&sealed));
	s[10] = s[10] == 'A' ? 'B' : 'A';
	ok(secret_open(&k1, s, &plain, err, sizeof(err)) == -1,
	    "an altered value is refused: %s", err);
	free(s);
	ok(secret_open(&k1, "plain text", &plain, err, sizeof(err)) == -1,
	    "a value that was never sealed is refused");
	{
		struct buf again = BUF_INIT;
		secret_seal(&k1, "hunter2-\0bytes", 14, &again);
		ok(strcmp(buf_str(&again), buf_str(&sealed)) != 0,
		    "sealing twice gives two texts (a fresh nonce each time)");
		buf_free(&again);
	}
	buf_reset(&sealed);
	secret_seal(&k1, "", 0, &sealed);
	buf_reset(&plain);
	ok(secret_open(&k1, buf_str(&sealed), &plain, err, sizeof(err)) == 0 &&
	    plain.len == 0, "an empty value seals and opens");

	/* Masking. */
	secret_mask_add(&m, "abc", 3);
	ok(m.n == 0, "values under 4 bytes are not masked");
	secret_mask_add(&m, "s3cr3t-token", 12);
	secret_mask_add(&m, "s3cr3t-token", 12);
	secret_mask_add(&m, "p4ss", 4);
	secret_mask_add(&m, "p4ssword", 8);
	ok(m.n == 3, "duplicates are kept once");
	s = masked(&m, "key=s3cr3t-token; again s3cr3t-tokens3cr3t-token.", 0,
	    &hits);
	is_str(s, "key=***; again ******.", "every occurrence, back to back");
	ok(hits == 3, "three replacements counted");
	free(s);
	MASKED(&m, "p4ssword and p4ss", 0, "*** and ***",
	    "the longest value wins where two start together");
	MASKED(&m, "nothing here", 0, "nothing here", "text without secrets");
	MASKED(&m, "", 0, "", "empty text");
	MASKED(&m, "s3cr3t-toke", 0, "s3cr3t-toke",
	    "a part of a value in uncut text stays");
	MASKED(&m, "tail of output s3cr3t-to", SECRET_CUT_AFTER,
	    "tail of output ***", "a value cut at the end of a head is masked");
	MASKED(&m, "ken and more", SECRET_CUT_BEFORE, "*** and more",
	    "its end at the start of a tail is masked");
	MASKED(&m, "p4ssword", SECRET_CUT_BEFORE | SECRET_CUT_AFTER, "***",
	    "a whole value at both cuts");
	MASKED(&m, "xs3cr3t-token", SECRET_CUT_AFTER, "x***",
	    "a whole value ending at the cut is a whole value");
	MASKED(&m, "ord then s3cr3t-token then p4ssw",
	    SECRET_CUT_BEFORE | SECRET_CUT_AFTER, "*** then *** then ***",
	    "both cuts and a whole value between");
	{
		/* A megabyte is masked in linear time. */
		struct buf big = BUF_INIT, out = BUF_INIT;
		for (int i = 0; i < 65536; i++)
			buf_adds(&big, i % 1000 ? "0123456789abcdef" :
			    "p4ssword.......");
		hits = secret_mask_apply(&m, big.data, big.len, 0, &out);
		ok(hits == 66 && strstr(buf_str(&out), "p4ss") == NULL,
		    "a megabyte with 66 values: all masked (%zu)", hits);
		buf_free(&big);
		buf_free(&out);
	}
	secret_mask_free(&m);
	ok(m.n == 0 && m.vals == NULL, "freed");

	secret_key_wipe(&k1);
	secret_key_wipe(&k2);
	buf_free(&sealed);
	buf_free(&plain);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
