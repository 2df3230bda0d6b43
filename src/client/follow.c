/*
 * follow.c - printing each byte of a capped, growing stream once
 * (follow.h says what the server's renderings look like).
 */
#include "config.h"

#include <string.h>

#include "follow.h"

#define MARK_OPEN "\n[... "
#define MARK_CLOSE " bytes omitted ...]\n"
#define MARK_FIXED (sizeof(MARK_OPEN) - 1 + sizeof(MARK_CLOSE) - 1)
#define MAX_DIGITS 20           /* an unsigned long long */
#define MASK "***"              /* the server's mask of a secret value */
#define MASK_LEN (sizeof(MASK) - 1)

/* How many of the last bytes of data[0..len) to hold back (follow.h). */
static size_t
held_back(const char *data, size_t len, int final)
{
	if (final || len < MASK_LEN ||
	    memcmp(data + len - MASK_LEN, MASK, MASK_LEN) != 0)
		return 0;
	return MASK_LEN;
}

void
follow_init(struct follow *f)
{
	memset(f, 0, sizeof(*f));
	buf_init(&f->seen);
}

void
follow_free(struct follow *f)
{
	buf_free(&f->seen);
	follow_init(f);
}

/* 1 when data[at..] starts with a marker of exactly `digits` digits (a
 * positive number without leading zeros), its number in *n. */
static int
marker_at(const char *data, size_t len, size_t at, size_t digits,
    unsigned long long *n)
{
	const char *p = data + at;
	unsigned long long v = 0;
	size_t i;

	if (at + MARK_FIXED + digits > len)
		return 0;
	if (memcmp(p, MARK_OPEN, sizeof(MARK_OPEN) - 1) != 0)
		return 0;
	p += sizeof(MARK_OPEN) - 1;
	if (p[0] == '0')
		return 0;
	for (i = 0; i < digits; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		if (v > (~0ULL - 9) / 10)
			return 0;
		v = v * 10 + (unsigned long long)(p[i] - '0');
	}
	if (memcmp(p + digits, MARK_CLOSE, sizeof(MARK_CLOSE) - 1) != 0)
		return 0;
	*n = v;
	return 1;
}

/*
 * The server's capture keeps a head of C/2 bytes and a tail of C - C/2
 * (capture.h), and a rendering past the cap always has a full tail. So
 * with a marker of d digits the length is 2 * head + fixed + d + (0 or 1),
 * which leaves, for each d, at most one place the marker can be: no
 * search through the bytes, and a marker-like line the script printed
 * inside the head or the tail is never taken for the server's.
 */
int
follow_parse(const char *data, size_t len, size_t known_head, size_t *head,
    unsigned long long *omitted, size_t *tail)
{
	for (size_t d = 1; d <= MAX_DIGITS; d++) {
		size_t mlen = MARK_FIXED + d;
		for (size_t odd = 0; odd <= 1; odd++) {
			size_t h;
			if (len < mlen + odd || (len - mlen - odd) % 2 != 0)
				continue;
			h = (len - mlen - odd) / 2;
			if (known_head != (size_t)-1 && h != known_head)
				continue;
			if (marker_at(data, len, h, d, omitted)) {
				*head = h;
				*tail = h + mlen;
				return 1;
			}
		}
	}
	return 0;
}

static void
add_marker(struct buf *out, unsigned long long n)
{
	buf_printf(out, MARK_OPEN "%llu" MARK_CLOSE, n);
}

/* A rendering that holds every byte so far: it must start with what was
 * shown; the rest is new. */
static int
feed_plain(struct follow *f, const char *data, size_t len, int final,
    struct buf *out, struct buf *err)
{
	if (f->truncated) {
		buf_printf(err, "the stream lost its head-and-tail form");
		return -1;
	}
	if (len < f->seen.len || memcmp(data, f->seen.data ? f->seen.data : "",
	    f->seen.len) != 0) {
		buf_printf(err, "the stream changed bytes it had shown");
		return -1;
	}
	len -= held_back(data, len, final);
	if (len < f->seen.len)
		return 0;
	buf_add(out, data + f->seen.len, len - f->seen.len);
	buf_add(&f->seen, data + f->seen.len, len - f->seen.len);
	f->shown = len;
	return 0;
}

/*
 * A head-and-tail rendering: head bytes [0, head), then `omitted` bytes
 * that are gone, then the tail, data[tail..len), which is the real
 * stream's [head + omitted, head + omitted + tail_len).
 */
static int
feed_truncated(struct follow *f, const char *data, size_t len, size_t head,
    unsigned long long omitted, size_t tail, int final, struct buf *out,
    struct buf *err)
{
	unsigned long long tail_at = (unsigned long long)head + omitted;
	unsigned long long end = tail_at + (len - tail);
	size_t same, hold = held_back(data + tail, len - tail, final);

	/* The head is the stream's start: it must agree with what was
	 * shown of it (and, once truncated, it never changes). */
	same = f->seen.len < head ? f->seen.len : head;
	if (f->seen.data != NULL && memcmp(data, f->seen.data, same) != 0) {
		buf_printf(err, "the stream's head changed");
		return -1;
	}
	if (!f->truncated) {
		/* And what was shown past the tail's start must be the
		 * tail's first bytes. */
		if (f->seen.len > tail_at && f->seen.len <= end &&
		    memcmp(data + tail, f->seen.data + (size_t)tail_at,
		    f->seen.len - (size_t)tail_at) != 0) {
			buf_printf(err, "the stream's tail does not go on from "
			    "what was shown");
			return -1;
		}
	}
	if (end < f->shown) {
		buf_printf(err, "the stream is shorter than what was shown");
		return -1;
	}
	if (end - hold < f->shown)      /* nothing new but what is held */
		hold = (size_t)(end - f->shown);
	end -= hold;
	if (f->shown < head) {
		buf_add(out, data + f->shown, head - (size_t)f->shown);
		f->shown = head;
	}
	if (f->shown < tail_at) {
		add_marker(out, tail_at - f->shown);
		f->shown = tail_at;
	}
	buf_add(out, data + tail + (size_t)(f->shown - tail_at),
	    (size_t)(end - f->shown));
	f->shown = end;
	if (!f->truncated) {
		f->truncated = 1;
		f->head = head;
		buf_reset(&f->seen);
		buf_add(&f->seen, data, head);
	}
	return 0;
}

int
follow_feed(struct follow *f, const char *data, size_t len,
    int maybe_truncated, int final, struct buf *out, struct buf *err)
{
	size_t head, tail;
	unsigned long long omitted;

	if (data == NULL)
		data = "";
	if (maybe_truncated && follow_parse(data, len,
	    f->truncated ? f->head : (size_t)-1, &head, &omitted, &tail)) {
		if (feed_truncated(f, data, len, head, omitted, tail, final,
		    out, err) == 0)
			return 0;
		if (f->truncated)
			return -1;
		/* The shape fits but the bytes do not go on from what was
		 * shown: a script's own output that happens to look like
		 * the server's form. Read it as it is. */
		buf_reset(err);
	}
	return feed_plain(f, data, len, final, out, err);
}
