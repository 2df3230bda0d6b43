/*
 * buf.h - a growable byte buffer (after git's strbuf).
 *
 * A struct buf owns `data`; it is always NUL-terminated (the NUL is not
 * counted in `len`) once anything was added. buf_free() releases it;
 * buf_detach() hands the bytes to the caller, who then frees them with
 * free(), and leaves the buffer empty. Allocation failure is fatal: a
 * daemon that cannot allocate a few bytes cannot answer anyway.
 */
#ifndef SCRIPTORCH_BUF_H
#define SCRIPTORCH_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* Makes room for `extra` more bytes (plus the NUL). */
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Returns the bytes (never NULL; "" for an empty buffer), caller frees. */
char *buf_detach(struct buf *b, size_t *len);
/* Returns a NUL-terminated view ("" when empty); owned by the buffer. */
const char *buf_str(const struct buf *b);

/* strdup() under the same rule: failure is fatal. */
char *xstrdup(const char *s);

#endif
