/*
 * test-capture - the bounded head + tail capture.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "capture.h"
#include "secret.h"
#include "tap.h"

static char *
render(const struct capture *c, size_t *len)
{
	struct buf b = BUF_INIT;

	capture_render(c, &b);
	return buf_detach(&b, len);
}

static void
test_small(void)
{
	struct capture c;
	char *s;
	size_t len;

	capture_init(&c, 10);
	s = render(&c, &len);
	is_int(len, 0, "empty capture renders nothing");
	free(s);
	capture_add(&c, "hello", 5);
	capture_add(&c, "world", 5);
	s = render(&c, &len);
	is_str(s, "helloworld", "exactly cap bytes are kept whole");
	is_int(capture_truncated(&c), 0, "not truncated at exactly cap");
	is_int(capture_total(&c), 10, "total counts 10");
	free(s);
	capture_free(&c);
}

static void
test_truncated(void)
{
	struct capture c;
	char *s;
	size_t len;

	capture_init(&c, 10);
	capture_add(&c, "0123456789abcdefghij", 20);
	s = render(&c, &len);
	is_str(s, "01234\n[... 10 bytes omitted ...]\nfghij",
	    "head, marker line, tail");
	is_int(capture_truncated(&c), 1, "truncated flag");
	is_int(capture_total(&c), 20, "total counts every byte");
	is_int(capture_omitted(&c), 10, "omitted count");
	free(s);

	/* Mid-run rendering, then more bytes: the ring keeps moving. */
	capture_add(&c, "XYZ", 3);
	s = render(&c, &len);
	is_str(s, "01234\n[... 13 bytes omitted ...]\nijXYZ",
	    "rendering again after more output");
	free(s);
	capture_free(&c);
}

static void
test_byte_by_byte(void)
{
	struct capture c;
	char want[64], *s;
	size_t len;
	int i;

	capture_init(&c, 7);            /* odd: head 3, tail 4 */
	for (i = 0; i < 26; i++) {
		char ch = (char)('a' + i);

		capture_add(&c, &ch, 1);
		if (i == 5) {
			s = render(&c, &len);
			is_str(s, "abcdef", "mid-run, under cap: exact");
			free(s);
		}
	}
	snprintf(want, sizeof(want), "abc\n[... 19 bytes omitted ...]\nwxyz");
	s = render(&c, &len);
	is_str(s, want, "byte by byte with an odd cap wraps the ring");
	free(s);
	capture_free(&c);
}

static void
test_binary_and_big(void)
{
	struct capture c;
	unsigned char bin[256], *big;
	char *s;
	size_t len, i;

	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)i;
	capture_init(&c, 1024);
	capture_add(&c, bin, sizeof(bin));
	s = render(&c, &len);
	ok(len == sizeof(bin) && memcmp(s, bin, len) == 0,
	    "binary bytes with NULs kept exactly");
	free(s);
	capture_free(&c);

	big = malloc(1 << 20);
	for (i = 0; i < (1 << 20); i++)
		big[i] = (unsigned char)('A' + i % 26);
	capture_init(&c, 4096);
	for (i = 0; i < 50; i++)
		capture_add(&c, big, 1 << 20);
	is_int(capture_total(&c), 50LL << 20, "50 MiB counted");
	ok(c.head_alloc <= 2048 && c.tail_cap == 2048,
	    "storage stays at the cap");
	s = render(&c, &len);
	ok(len < 4096 + 64, "rendering is about cap bytes (%zu)", len);
	ok(memcmp(s, big, 2048) == 0, "head is the first bytes");
	ok(memcmp(s + len - 2048, big + (1 << 20) - 2048, 2048) == 0,
	    "tail is the last bytes");
	ok(strstr(s, "\n[... 52424704 bytes omitted ...]\n") != NULL,
	    "marker counts the omitted bytes");
	free(s);
	capture_free(&c);
	free(big);
}

static void
test_zero_cap(void)
{
	struct capture c;
	char *s;
	size_t len;

	capture_init(&c, 0);
	capture_add(&c, "abc", 3);
	s = render(&c, &len);
	is_str(s, "\n[... 3 bytes omitted ...]\n", "cap 0 keeps nothing");
	free(s);
	capture_free(&c);
}

static char *
render_masked(const struct capture *c, const struct secret_mask *m,
    int live)
{
	struct buf b = BUF_INIT;

	capture_render_masked(c, m, live, &b);
	return buf_detach(&b, NULL);
}

/* Secrets masked in a rendering: whole, and cut by the dropped middle on
 * either side; while the run goes on, also cut by the end so far. */
static void
test_masked(void)
{
	struct secret_mask m = SECRET_MASK_INIT;
	struct capture c;
	char *s;

	secret_mask_add(&m, "SECRET", 6);
	capture_init(&c, 20);
	capture_add(&c, "a SECRET b", 10);
	s = render_masked(&c, &m, 0);
	is_str(s, "a *** b", "masked whole");
	free(s);
	s = render_masked(&c, NULL, 0);
	is_str(s, "a SECRET b", "no mask: as it is");
	free(s);
	capture_free(&c);
	/* The head (10 bytes) ends inside a value, which goes on in the
	 * ring: nothing dropped, so they are one text. */
	capture_init(&c, 20);
	capture_add(&c, "abcdeSECRETz", 12);
	s = render_masked(&c, &m, 0);
	is_str(s, "abcde***z", "a value across the head's end, nothing "
	    "dropped");
	free(s);
	capture_free(&c);

	/* Head "0123SEC", dropped, tail "RET-tail": a value on each side of
	 * the cut. */
	capture_init(&c, 14);
	capture_add(&c, "0123SECRET---lots---of---bytes---SECRET-tail", 44);
	s = render_masked(&c, &m, 0);
	is_str(s, "0123***\n[... 30 bytes omitted ...]\n***-tail",
	    "a value cut at either side of the dropped middle is masked");
	free(s);
	s = render_masked(&c, &m, 1);
	is_str(s, "0123***\n[... 30 bytes omitted ...]\n***-tail",
	    "the same while live");
	free(s);
	capture_free(&c);

	/* Live: the text so far ends in the first bytes of a value. */
	capture_init(&c, 100);
	capture_add(&c, "key: SEC", 8);
	s = render_masked(&c, &m, 1);
	is_str(s, "key: ***", "live: a value being written is masked");
	free(s);
	s = render_masked(&c, &m, 0);
	is_str(s, "key: SEC", "final: the end is the end");
	free(s);
	capture_free(&c);
	secret_mask_free(&m);
}

int
main(void)
{
	plan_lazy();
	test_small();
	test_truncated();
	test_byte_by_byte();
	test_binary_and_big();
	test_zero_cap();
	test_masked();
	return done_testing();
}
