/*
 * capture.c - head + ring capture of a child's output (see capture.h).
 *
 * The head grows like a buffer up to head_cap so a run printing one line
 * costs a few bytes, not the cap. The ring is allocated in one piece the
 * first time the head is full: from then on memory stays constant.
 */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "log.h"
#include "secret.h"

void
capture_init(struct capture *c, size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->cap = cap;
	c->head_cap = cap / 2;
	c->tail_cap = cap - cap / 2;
}

void
capture_free(struct capture *c)
{
	free(c->head);
	free(c->ring);
	capture_init(c, 0);
}

static void
head_add(struct capture *c, const unsigned char *p, size_t n)
{
	size_t need = c->head_len + n, ncap;
	unsigned char *q;

	if (need > c->head_alloc) {
		ncap = c->head_alloc ? c->head_alloc : 256;
		while (ncap < need)
			ncap *= 2;
		if (ncap > c->head_cap)
			ncap = c->head_cap;
		q = realloc(c->head, ncap);
		if (q == NULL)
			fatal("realloc %zu bytes", ncap);
		c->head = q;
		c->head_alloc = ncap;
	}
	memcpy(c->head + c->head_len, p, n);
	c->head_len += n;
}

/* Writes the last bytes of p into the ring; only the last tail_cap bytes of
 * a long chunk can survive, so older ones are skipped without copying. */
static void
ring_add(struct capture *c, const unsigned char *p, size_t n)
{
	size_t k;

	if (c->tail_cap == 0)
		return;
	if (c->ring == NULL) {
		c->ring = malloc(c->tail_cap);
		if (c->ring == NULL)
			fatal("malloc %zu bytes", c->tail_cap);
	}
	if (n >= c->tail_cap) {
		memcpy(c->ring, p + (n - c->tail_cap), c->tail_cap);
		c->ring_pos = 0;
		c->ring_len = c->tail_cap;
		return;
	}
	k = c->tail_cap - c->ring_pos;
	if (k > n)
		k = n;
	memcpy(c->ring + c->ring_pos, p, k);
	memcpy(c->ring, p + k, n - k);
	c->ring_pos = (c->ring_pos + n) % c->tail_cap;
	c->ring_len += n;
	if (c->ring_len > c->tail_cap)
		c->ring_len = c->tail_cap;
}

void
capture_add(struct capture *c, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t n;

	c->total += len;
	if (c->head_len < c->head_cap) {
		n = c->head_cap - c->head_len;
		if (n > len)
			n = len;
		head_add(c, p, n);
		p += n;
		len -= n;
	}
	if (len > 0)
		ring_add(c, p, len);
}

unsigned long long
capture_total(const struct capture *c)
{
	return c->total;
}

unsigned long long
capture_omitted(const struct capture *c)
{
	return c->total - c->head_len - c->ring_len;
}

int
capture_truncated(const struct capture *c)
{
	return capture_omitted(c) > 0;
}

/* Appends the kept tail, oldest byte first. */
static void
tail_render(const struct capture *c, struct buf *out)
{
	size_t start;

	if (c->ring_len == 0)
		return;
	/* The oldest kept byte sits at ring_pos once the ring has wrapped. */
	start = c->ring_len < c->tail_cap ? 0 : c->ring_pos;
	if (start == 0) {
		buf_add(out, c->ring, c->ring_len);
	} else {
		buf_add(out, c->ring + start, c->tail_cap - start);
		buf_add(out, c->ring, start);
	}
}

void
capture_render(const struct capture *c, struct buf *out)
{
	if (c->head_len > 0)
		buf_add(out, c->head, c->head_len);
	if (capture_truncated(c))
		buf_printf(out, "\n[... %llu bytes omitted ...]\n",
		    capture_omitted(c));
	tail_render(c, out);
}

/*
 * Nothing dropped: head and tail are one text, masked as one (a value
 * across the head's end is whole). Something dropped: the head ends at
 * the cut and the tail starts after it, each masked with that flag, and
 * the marker between them is ours.
 */
void
capture_render_masked(const struct capture *c, const struct secret_mask *m,
    int live, struct buf *out)
{
	struct buf text = BUF_INIT;
	int end = live ? SECRET_CUT_AFTER : 0;

	if (m == NULL || m->n == 0) {
		capture_render(c, out);
		return;
	}
	if (!capture_truncated(c)) {
		buf_add(&text, c->head, c->head_len);
		tail_render(c, &text);
		secret_mask_apply(m, buf_str(&text), text.len, end, out);
	} else {
		secret_mask_apply(m, (const char *)c->head, c->head_len,
		    SECRET_CUT_AFTER, out);
		buf_printf(out, "\n[... %llu bytes omitted ...]\n",
		    capture_omitted(c));
		tail_render(c, &text);
		secret_mask_apply(m, buf_str(&text), text.len,
		    SECRET_CUT_BEFORE | end, out);
	}
	if (text.data != NULL)
		sodium_memzero(text.data, text.len);
	buf_free(&text);
}
