/*
 * idempotency.h - the pure parts of idempotent submissions (issue 17):
 * the form of an Idempotency-Key, and the fingerprint of the request that
 * sent it, which tells a retry of that request from another request that
 * reuses the key.
 *
 * The rest lives with the submission: execution.c looks the key up and
 * records it in the transaction that inserts the execution,
 * store_executions.c holds the SQL, janitor.c forgets keys past
 * IDEM_TTL_S. Nothing here allocates memory a caller must free but what
 * is appended to a caller's struct buf.
 */
#ifndef SCRIPTORCH_IDEMPOTENCY_H
#define SCRIPTORCH_IDEMPOTENCY_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "buf.h"
#include "verr.h"

/* The request header, as FastCGI names it, and as HTTP does. */
#define IDEM_PARAM "HTTP_IDEMPOTENCY_KEY"
#define IDEM_HEADER "Idempotency-Key"
/* A key is 1..IDEM_KEY_MAX printable ASCII characters. */
#define IDEM_KEY_MAX 255
/* How long a key is remembered (the contract's 24 h). */
#define IDEM_TTL_S 86400
/* A fingerprint: SHA-256. */
#define IDEM_FP_BYTES 32

/* 0 when `key` is 1..IDEM_KEY_MAX characters from ' ' to '~'; else -1
 * with e (field IDEM_HEADER) saying what is wrong. */
int idem_key_check(const char *key, struct verr *e);

/*
 * Appends the canonical JSON text of `v` to out: compact, object members
 * ordered by their keys' bytes (at every depth), strings written with
 * the writer's escapes (so "\u0041" and "A" are one text), numbers as
 * they were written (1 and 1.0 differ). NULL is written as {}: an empty
 * body means an empty object.
 */
void idem_canonical(struct buf *out, yajl_val v);

/* fp = SHA-256 of the script id in decimal, a newline, and the canonical
 * text of the body (idem_canonical; NULL: an empty body). */
void idem_fingerprint(long long script_id, yajl_val body,
    unsigned char fp[IDEM_FP_BYTES]);

#endif
