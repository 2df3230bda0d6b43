/*
 * capture.h - a bounded capture of one output stream of a child.
 *
 * A capture keeps the first cap/2 bytes it is given (the head) and a ring of
 * the last cap - cap/2 bytes (the tail), and counts every byte. Its memory
 * never exceeds about `cap` bytes however much is added, so a child writing
 * gigabytes is neither blocked nor killed: the middle is simply dropped.
 *
 * Rendering gives the exact bytes while nothing was dropped, otherwise
 *   head "\n[... N bytes omitted ...]\n" tail
 * where N is the number of dropped bytes. Rendering does not change the
 * capture, so it may be called while the run goes on (live saving) and again
 * at the end.
 *
 * Ownership: a struct capture owns its storage; capture_free() releases it.
 * A zeroed struct capture is a valid empty capture with cap 0 (it counts
 * bytes but keeps none). Not thread-safe.
 */
#ifndef SCRIPTORCH_CAPTURE_H
#define SCRIPTORCH_CAPTURE_H

#include <stddef.h>

#include "buf.h"

struct capture {
	size_t cap;                 /* head_cap + tail_cap */
	size_t head_cap;            /* cap / 2 */
	size_t tail_cap;            /* cap - cap / 2 */
	unsigned char *head;        /* head_len bytes, allocated as needed */
	size_t head_len;
	size_t head_alloc;
	unsigned char *ring;        /* tail_cap bytes once the head is full */
	size_t ring_len;            /* bytes held in the ring (<= tail_cap) */
	size_t ring_pos;            /* index of the next byte to write */
	unsigned long long total;   /* every byte ever added */
};

/* Starts an empty capture keeping at most `cap` bytes. Allocates nothing
 * until bytes arrive. */
void capture_init(struct capture *c, size_t cap);
/* Releases the storage and leaves an empty capture with cap 0. */
void capture_free(struct capture *c);
/* Adds `len` bytes (any bytes, NULs included). */
void capture_add(struct capture *c, const void *data, size_t len);
/* 1 when bytes were dropped, i.e. total > cap. */
int capture_truncated(const struct capture *c);
/* Every byte ever added, kept or not. */
unsigned long long capture_total(const struct capture *c);
/* Bytes added but not kept (0 unless truncated). */
unsigned long long capture_omitted(const struct capture *c);
/* Appends the rendering described above to `out` (never resets it). */
void capture_render(const struct capture *c, struct buf *out);

struct secret_mask;
/*
 * The same rendering with every value of `m` (secret.h; NULL or empty:
 * none) replaced by "***", head and tail masked apart so that a value cut
 * by the dropped middle is masked on both sides of the cut. `live`: the
 * run goes on, and the text's end may cut a value being written, so the
 * beginning of a value there is masked too.
 */
void capture_render_masked(const struct capture *c,
    const struct secret_mask *m, int live, struct buf *out);

#endif
