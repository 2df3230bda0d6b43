/*
 * follow.h - the new part of a stream of a running execution.
 *
 * `scriptorch run --follow` fetches a stream (GET .../stdout or .../stderr)
 * again and again while the execution runs, and must print each byte once.
 * The server keeps a stream up to its cap C: while the stream is shorter,
 * each fetch is the stream so far, and grows only at its end. Past the cap
 * the server keeps the first C/2 bytes (the head) and the last C - C/2
 * bytes (the tail) and renders them as
 *
 *     head "\n[... N bytes omitted ...]\n" tail
 *
 * so from then on the rendering stops growing at the head and its tail
 * jumps ahead. A struct follow remembers how far into the real stream
 * (every byte the script wrote) it has shown, and turns each rendering
 * into the bytes not shown yet: the rest of the head, then the tail from
 * where it left off. When the tail has moved past bytes that were never
 * shown (more than the tail's size written between two fetches), it shows
 * a marker in the server's own words for those, "\n[... M bytes omitted
 * ...]\n", where M is exactly how many bytes it could not show. A client
 * that keeps up thus shows the whole stream, more than the server keeps.
 *
 * A rendering in the head-and-tail form is recognised by its shape: the
 * marker sits right after the head, and the tail is as long as the head
 * or one byte longer. Whether the form is possible at all is the
 * caller's to say (the execution's `stdout_truncated`, read after the
 * stream): a stream known not to be truncated is never parsed for a
 * marker, so a script that prints such a line is shown as it is.
 *
 * Ownership: a struct follow owns a copy of what it has shown (at most the
 * server's cap); follow_free() releases it. Pure: no I/O.
 */
#ifndef SCRIPTORCH_CLIENT_FOLLOW_H
#define SCRIPTORCH_CLIENT_FOLLOW_H

#include <stddef.h>

#include "buf.h"

struct follow {
	unsigned long long shown; /* bytes of the real stream shown so far */
	int truncated;            /* a head-and-tail rendering was seen */
	size_t head;              /* then: the head's length */
	struct buf seen;          /* the bytes shown, until truncated; then
	                             the head */
};

void follow_init(struct follow *f);
void follow_free(struct follow *f);

/*
 * Takes the latest rendering (`len` bytes of `data`) and appends to `out`
 * what is new in it. `maybe_truncated` is 0 when the rendering is known
 * to hold every byte (no marker is looked for), 1 when it may be in the
 * head-and-tail form. `final` is 1 for a rendering made after the run
 * ended. Returns 0, or -1 when the rendering cannot follow the ones
 * before (it lost bytes that were shown, or a head changed): then `err`
 * says why, nothing is appended, and the caller stops following this
 * stream.
 *
 * Until `final`, a rendering's last three bytes are held back when they
 * are "***": the server masks secret values in output, and a live save
 * that ends inside a value shows its beginning as "***" too, which the
 * next save may turn back into ordinary text (when the bytes were not a
 * secret after all). Held back, they are shown with what follows them.
 */
int follow_feed(struct follow *f, const char *data, size_t len,
    int maybe_truncated, int final, struct buf *out, struct buf *err);

/*
 * Looks for the head-and-tail form in a rendering: returns 1 and sets
 * *head (the head's length, where the marker starts), *omitted (the N of
 * the marker) and *tail (where the tail starts in data), or 0 when the
 * rendering does not have that shape. When known_head is not (size_t)-1
 * only that head length is tried.
 */
int follow_parse(const char *data, size_t len, size_t known_head,
    size_t *head, unsigned long long *omitted, size_t *tail);

#endif
