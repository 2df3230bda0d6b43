/*
 * router.h - the static table of routes: method, path pattern, handler and
 * the least role allowed. Patterns are literal segments and "{}" for one
 * captured segment, e.g. "/api/v1/admin/scripts/{}".
 */
#ifndef SCRIPTORCH_ROUTER_H
#define SCRIPTORCH_ROUTER_H

#include "request.h"

typedef void (*handler_fn)(struct request *r);

struct route {
	const char *method;
	const char *pattern;
	handler_fn fn;
	enum role need;     /* ROLE_NONE: no token needed */
	const char *label;  /* for metrics: the pattern with {id} names */
};

/* The route table and its length (the metrics module labels by index). */
extern const struct route routes[];
extern const int nroutes;

/*
 * Finds the route for (method, path). On a match returns its index and
 * stores the captures in r->params. Returns -1 when no pattern matches
 * the path (404), or -2 when patterns match but none for this method
 * (405): then `allow` gets the comma-separated methods that would.
 */
int router_match(struct request *r, const char *method, const char *path,
    struct buf *allow);
/* Matches, authenticates and runs the handler; answers every request. */
void router_dispatch(struct request *r);

#endif
