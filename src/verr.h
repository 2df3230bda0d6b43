/*
 * verr.h - the error a validation function hands back to its caller.
 *
 * The pure validation and templating modules (schema, argtpl, inputenv,
 * reqs, names) return 0 on success and -1 on failure; on failure they
 * fill a caller-owned struct verr, which the API turns into a 422 body
 * {"error": {"code": "validation_failed", "message": ..., "field": ...}}.
 *
 * `field` is the JSON path at fault ("inputs.properties.strength.minimum",
 * "input.segment_path", "args[2]") or "" when no single field is; the API
 * omits "field" then. `message` is one human sentence without a trailing
 * period. Both are always NUL-terminated; text that does not fit is cut
 * (on a UTF-8 boundary), never overflowed. A struct verr owns no memory.
 */
#ifndef SCRIPTORCH_VERR_H
#define SCRIPTORCH_VERR_H

struct verr {
	char field[128];
	char message[512];
};

/* Empties both strings. `e` may be NULL. */
void verr_clear(struct verr *e);

/*
 * Every invalid field of one request (the API's "errors" array), in the
 * order found, each field once, up to VERR_LIST_MAX of them: a body of
 * ninety thousand unknown members gets the first ones, and the
 * validation that fills the list stops there (verr_list_full), so that
 * neither its time nor the answer grows with such a body. The list owns
 * its array: verr_list_free() releases it (a zeroed list, VERR_LIST_INIT,
 * is empty and needs no free until something was added).
 */
#define VERR_LIST_MAX 50
struct verr_list {
	struct verr *v;
	size_t n, cap;
};
#define VERR_LIST_INIT { NULL, 0, 0 }

/* Appends a copy of `e` unless an error of the same field is in the list
 * already (the first one found stands) or it is full; `l` may be NULL
 * (dropped). */
void verr_list_add(struct verr_list *l, const struct verr *e);
/* Whether the list holds VERR_LIST_MAX errors: look no further. */
int verr_list_full(const struct verr_list *l);
/* Whether the list holds an error for exactly `field`. */
int verr_list_has(const struct verr_list *l, const char *field);
void verr_list_free(struct verr_list *l);

/*
 * Fills `e` (which may be NULL: the error is then dropped) with `field`
 * (NULL is the same as "") and a printf-formatted message. `field` and
 * the arguments may point into *e itself (both are formatted into copies).
 */
void verr_set(struct verr *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
