/* Unit tests of the router's matching (router.h): routes, captures,
 * the methods of a known path. Roles, status texts and decoding are
 * request.c's (test-request.c); the clock's are in test-clock.c. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "router.h"
#include "tap.h"

static int
match(const char *method, const char *path, struct request *r,
    struct buf *allow)
{
	for (int i = 0; i < r->nparams; i++)
		free(r->params[i]);
	r->nparams = 0;
	buf_reset(allow);
	return router_match(r, method, path, allow);
}

int
main(void)
{
	struct request r;
	struct buf allow = BUF_INIT;
	int i;

	plan_lazy();
	memset(&r, 0, sizeof(r));
	i = match("GET", "/api/v1/health", &r, &allow);
	ok(i >= 0 && strcmp(routes[i].pattern, "/api/v1/health") == 0,
	    "health matches");
	ok(routes[i].need == ROLE_NONE, "health needs no token");
	i = match("DELETE", "/api/v1/admin/tokens/42", &r, &allow);
	ok(i >= 0 && r.nparams == 1 && strcmp(r.params[0], "42") == 0,
	    "a capture is taken");
	ok(routes[i].need == ROLE_ADMIN, "revoking needs admin");
	i = match("GET", "/api/v1/executions/7/stdout", &r, &allow);
	ok(i >= 0 && strcmp(routes[i].label, "/api/v1/executions/{id}/stdout")
	    == 0, "nested capture route");
	i = match("GET", "/api/v1/executions/", &r, &allow);
	ok(i >= 0 && strcmp(routes[i].pattern, "/api/v1/executions") == 0,
	    "one trailing slash is tolerated");
	is_int(match("GET", "/api/v1/nope", &r, &allow), -1, "unknown path");
	i = match("GET", "/api/v1/admin/tokens/", &r, &allow);
	ok(i >= 0 && r.nparams == 0, "a trailing slash is not an empty capture");
	is_int(match("PUT", "/api/v1/admin/tokens", &r, &allow), -2,
	    "known path, wrong method");
	ok(strstr(buf_str(&allow), "GET") && strstr(buf_str(&allow), "POST"),
	    "Allow lists the methods: %s", buf_str(&allow));
	is_int(match("GET", "/api/v1/admin/tokens/1/2", &r, &allow), -1,
	    "extra segment does not match");
	is_int(match("GET", "/api/v1//executions", &r, &allow), -1,
	    "empty segment does not match");
	for (i = 0; i < r.nparams; i++)
		free(r.params[i]);
	buf_free(&allow);

	return done_testing();
}
