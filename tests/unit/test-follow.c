/*
 * Unit tests of the client's follow.c (printing each byte of a capped,
 * growing stream once) against the server's own capture (capture.c makes
 * the renderings), and of render.c (safe text, widths, tables, times).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "follow.h"
#include "render.h"
#include "tap.h"

/* The whole stream a test script writes: numbered lines, so any byte out
 * of place shows. */
static void
make_stream(struct buf *b, size_t len)
{
	for (unsigned long i = 0; b->len < len; i++)
		buf_printf(b, "%07lu\n", i);
	b->len = len;
	b->data[len] = '\0';
}

/*
 * Checks that `shown` is the stream with some runs of bytes replaced by
 * "\n[... M bytes omitted ...]\n" markers, M exactly the bytes missing,
 * and nothing else: every byte in its place, none twice, all accounted
 * for. *markers gets how many there were.
 */
/* The length of a marker "\n[... M bytes omitted ...]\n" at p (n bytes
 * there), its M in *m; 0 when there is none. */
static size_t
marker_len(const char *p, size_t n, unsigned long long *m)
{
	static const char open[] = "\n[... ", close[] = " bytes omitted ...]\n";
	size_t i = sizeof(open) - 1, d = 0;

	if (n < i || memcmp(p, open, i) != 0)
		return 0;
	*m = 0;
	while (i + d < n && p[i + d] >= '0' && p[i + d] <= '9') {
		*m = *m * 10 + (unsigned long long)(p[i + d] - '0');
		d++;
	}
	if (d == 0 || n - i - d < sizeof(close) - 1 ||
	    memcmp(p + i + d, close, sizeof(close) - 1) != 0)
		return 0;
	return i + d + sizeof(close) - 1;
}

/*
 * Checks that `shown` is the stream with some runs of bytes replaced by
 * markers "\n[... M bytes omitted ...]\n", M exactly the bytes missing,
 * and nothing else: every byte in its place, none twice, all accounted
 * for. *markers gets how many there were. (The test streams hold digits
 * and newlines only, so a marker is never the stream's own text.)
 */
static int
accounts_for(const struct buf *shown, const struct buf *stream, int *markers)
{
	size_t i = 0, pos = 0, used;
	unsigned long long m;

	*markers = 0;
	while (i < shown->len) {
		if ((used = marker_len(shown->data + i, shown->len - i, &m)) > 0) {
			(*markers)++;
			pos += (size_t)m;
			i += used;
			if (pos > stream->len)
				return 0;
			continue;
		}
		if (pos >= stream->len || shown->data[i] != stream->data[pos])
			return 0;
		i++;
		pos++;
	}
	return pos == stream->len;
}

/* Writes `stream` into a capture of `cap` in chunks of `chunk` bytes,
 * following the rendering after each chunk. Returns what was shown; 0 in
 * *failed unless follow_feed refused a rendering. */
static void
follow_capture(const struct buf *stream, size_t cap, size_t chunk,
    int always_maybe, struct buf *shown, int *failed)
{
	struct capture c;
	struct follow f;
	struct buf r = BUF_INIT, err = BUF_INIT;

	*failed = 0;
	capture_init(&c, cap);
	follow_init(&f);
	for (size_t at = 0; at <= stream->len; at += chunk) {
		size_t n = stream->len - at < chunk ? stream->len - at : chunk;
		int final = at + n == stream->len;
		capture_add(&c, stream->data + at, n);
		buf_reset(&r);
		capture_render(&c, &r);
		if (follow_feed(&f, r.data, r.len, always_maybe ||
		    capture_truncated(&c), final, shown, &err) == -1) {
			printf("# follow_feed: %s\n", buf_str(&err));
			*failed = 1;
			break;
		}
		if (final)
			break;
	}
	follow_free(&f);
	capture_free(&c);
	buf_free(&r);
	buf_free(&err);
}

static void
test_plain(void)
{
	struct follow f;
	struct buf out = BUF_INIT, err = BUF_INIT;

	follow_init(&f);
	ok(follow_feed(&f, "", 0, 0, 0, &out, &err) == 0 && out.len == 0,
	    "an empty stream shows nothing");
	ok(follow_feed(&f, "ab", 2, 0, 0, &out, &err) == 0, "first bytes");
	is_str(buf_str(&out), "ab", "they are shown");
	buf_reset(&out);
	ok(follow_feed(&f, "ab", 2, 0, 0, &out, &err) == 0 && out.len == 0,
	    "the same rendering again shows nothing");
	ok(follow_feed(&f, "abcd\n", 5, 1, 0, &out, &err) == 0, "growth");
	is_str(buf_str(&out), "cd\n", "only the new bytes are shown");
	buf_reset(&out);
	ok(follow_feed(&f, "abXd\nmore", 9, 0, 0, &out, &err) == -1 &&
	    out.len == 0 && err.len > 0,
	    "a rendering that changes shown bytes is refused, nothing shown");
	buf_reset(&err);
	ok(follow_feed(&f, "ab", 2, 0, 0, &out, &err) == -1,
	    "a rendering shorter than what was shown is refused");
	follow_free(&f);

	/* A line that looks like the server's marker, in a stream the
	 * server did not truncate, is the script's own text. */
	{
		const char *s = "x\n[... 5 bytes omitted ...]\nyy";
		follow_init(&f);
		buf_reset(&out);
		ok(follow_feed(&f, s, strlen(s), 0, 0, &out, &err) == 0,
		    "a marker-like line in an untruncated stream");
		is_str(buf_str(&out), s, "is shown as it is");
		follow_free(&f);
	}
	buf_free(&out);
	buf_free(&err);
}

static void
test_masked_tail(void)
{
	struct follow f;
	struct buf out = BUF_INIT, err = BUF_INIT;

	follow_init(&f);
	ok(follow_feed(&f, "pw: ***", 7, 0, 0, &out, &err) == 0,
	    "a live save ending in *** (a cut secret, maybe)");
	is_str(buf_str(&out), "pw: ", "holds the *** back");
	buf_reset(&out);
	ok(follow_feed(&f, "pw: se", 6, 0, 0, &out, &err) == 0,
	    "the next save shows ordinary text there");
	is_str(buf_str(&out), "se", "which is shown, with nothing refused");
	buf_reset(&out);
	ok(follow_feed(&f, "pw: se***", 9, 0, 1, &out, &err) == 0,
	    "the final rendering ending in ***");
	is_str(buf_str(&out), "***", "shows it");
	follow_free(&f);
	buf_free(&out);
	buf_free(&err);
}

static void
test_parse(void)
{
	struct capture c;
	struct buf r = BUF_INIT, s = BUF_INIT;
	size_t head, tail;
	unsigned long long n;

	make_stream(&s, 5000);
	for (size_t cap = 1024; cap <= 1025; cap++) {
		capture_init(&c, cap);
		capture_add(&c, s.data, s.len);
		buf_reset(&r);
		capture_render(&c, &r);
		ok(follow_parse(r.data, r.len, (size_t)-1, &head, &n, &tail) &&
		    head == cap / 2 && n == 5000 - cap &&
		    r.len - tail == cap - cap / 2,
		    "cap %zu: the server's head-and-tail form is parsed", cap);
		ok(follow_parse(r.data, r.len, cap / 2, &head, &n, &tail),
		    "cap %zu: also with the head's length known", cap);
		ok(!follow_parse(r.data, r.len, cap / 2 + 1, &head, &n, &tail),
		    "cap %zu: and not at another head length", cap);
		capture_free(&c);
	}
	/* The same shape with a fake marker inside the head: only the one
	 * where the geometry fits counts. */
	buf_reset(&r);
	buf_adds(&r, "aa\n[... 9 bytes omitted ...]\naaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaa");       /* 60 bytes */
	buf_adds(&r, "\n[... 77 bytes omitted ...]\n");
	for (size_t i = 0; i < 60; i++)
		buf_addc(&r, 'b');
	ok(follow_parse(r.data, r.len, (size_t)-1, &head, &n, &tail) &&
	    head == 60 && n == 77,
	    "a marker-like line in the head is not taken for the server's");
	ok(!follow_parse("\n[... 07 bytes omitted ...]\n", 28, (size_t)-1, &head,
	    &n, &tail), "a count with a leading zero is not a marker");
	buf_free(&r);
	buf_free(&s);
}

static void
test_capped(void)
{
	struct buf s = BUF_INIT, shown = BUF_INIT;
	int failed, markers;

	make_stream(&s, 20000);
	/* Chunks no bigger than the tail: nothing is ever lost between
	 * two looks, so the follower shows the whole stream, far more than
	 * the server keeps. */
	follow_capture(&s, 1024, 300, 0, &shown, &failed);
	ok(!failed && shown.len == s.len && memcmp(shown.data, s.data, s.len) == 0,
	    "a follower that keeps up shows every byte of a 20000-byte stream "
	    "that the server caps at 1024");
	buf_reset(&shown);
	follow_capture(&s, 1025, 512, 1, &shown, &failed);
	ok(!failed && shown.len == s.len && memcmp(shown.data, s.data, s.len) == 0,
	    "the same with an odd cap, chunks as big as the tail, and every "
	    "rendering parsed for a marker");

	/* Chunks bigger than the tail: each look misses some bytes. */
	for (size_t chunk = 600; chunk <= 5000; chunk += 1100) {
		buf_reset(&shown);
		follow_capture(&s, 1024, chunk, 0, &shown, &failed);
		ok(!failed && accounts_for(&shown, &s, &markers) && markers > 0,
		    "chunks of %zu: every byte shown in its place once, the "
		    "rest as %d markers with their exact count", chunk, markers);
	}

	/* Pseudo-random chunks and caps, both flag policies. */
	srand(17);
	for (int round = 0; round < 200; round++) {
		size_t cap = 1024 + (size_t)(rand() % 3000);
		size_t chunk = 1 + (size_t)(rand() % 4000);
		int ok_round;
		buf_reset(&shown);
		follow_capture(&s, cap, chunk, round & 1, &shown, &failed);
		ok_round = !failed && accounts_for(&shown, &s, &markers) &&
		    (chunk > cap - cap / 2 || markers == 0);
		if (!ok_round || round == 199)
			ok(ok_round, "200 random rounds (cap %zu, chunk %zu): "
			    "every byte accounted for, no marker when the chunks "
			    "fit the tail", cap, chunk);
		if (!ok_round)
			break;
	}

	/* The first look after a truncation, when the follower had shown
	 * more than the head: it goes on from the tail. */
	{
		struct capture c;
		struct follow f;
		struct buf r = BUF_INIT, out = BUF_INIT, err = BUF_INIT;
		capture_init(&c, 1024);
		follow_init(&f);
		capture_add(&c, s.data, 900);
		capture_render(&c, &r);
		follow_feed(&f, r.data, r.len, 0, 0, &out, &err);
		capture_add(&c, s.data + 900, 300);
		buf_reset(&r);
		capture_render(&c, &r);
		ok(follow_feed(&f, r.data, r.len, 1, 0, &out, &err) == 0 &&
		    out.len == 1200 && memcmp(out.data, s.data, 1200) == 0,
		    "shown 900 of a 1024 cap, then 1200 written: the follower "
		    "shows bytes 900..1200 from the tail");
		/* A rendering whose head differs from what was shown. */
		buf_reset(&r);
		capture_render(&c, &r);
		r.data[3] ^= 1;
		ok(follow_feed(&f, r.data, r.len, 1, 0, &out, &err) == -1,
		    "a head that changed is refused");
		capture_free(&c);
		follow_free(&f);
		buf_free(&r);
		buf_free(&out);
		buf_free(&err);
	}
	buf_free(&s);
	buf_free(&shown);
}

static void
test_render(void)
{
	struct buf b = BUF_INIT;
	struct table t;
	static const char *const head[] = { "A", "LONG" };
	const char *row[2];
	char *text;
	size_t len;
	FILE *f;

	render_safe(&b, "a\x1b[31mb\tc\nd\x7f" "e\xc2\x9b" "f\xc3\xa9", 0);
	is_str(buf_str(&b), "a?[31mb?c?d?e?f\xc3\xa9",
	    "control characters (ESC, TAB, LF, DEL, C1 CSI) become ?, UTF-8 stays");
	buf_reset(&b);
	render_safe(&b, "l1\n\tl2\r", 1);
	is_str(buf_str(&b), "l1\n\tl2?", "keep_lines keeps newlines and tabs");
	is_int(render_width("h\xc3\xa9llo"), 5, "width counts code points");
	buf_reset(&b);
	render_time(&b, "2026-11-26T05:36:24.123Z");
	is_str(buf_str(&b), "2026-11-26 05:36:24", "times lose the T and ms");
	buf_reset(&b);
	render_time(&b, NULL);
	is_str(buf_str(&b), "-", "no time is -");
	buf_reset(&b);
	render_duration(&b, 812.4);
	buf_adds(&b, "|");
	render_duration(&b, 12345);
	buf_adds(&b, "|");
	render_duration(&b, 754000);
	buf_adds(&b, "|");
	render_duration(&b, 3723000);
	is_str(buf_str(&b), "812 ms|12.3 s|12m34s|1h02m03s", "durations");

	table_init(&t, 2, head);
	table_limit(&t, 1, 8);
	row[0] = "x\x1b";
	row[1] = "a description that is long";
	table_add(&t, row);
	row[0] = "\xc3\xa9t\xc3\xa9";
	row[1] = NULL;
	table_add(&t, row);
	f = open_memstream(&text, &len);
	table_print(&t, f);
	fclose(f);
	is_str(text, "A    LONG\nx?   a des...\n\xc3\xa9t\xc3\xa9  -\n",
	    "a table: padded by code points, cut with ..., unsafe bytes as ?, "
	    "NULL as -");
	free(text);
	table_free(&t);
	buf_free(&b);
}

int
main(void)
{
	plan_lazy();
	test_plain();
	test_masked_tail();
	test_parse();
	test_capped();
	test_render();
	return done_testing();
}
