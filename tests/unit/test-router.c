/* Unit tests of the router's matching, the status texts, role names and
 * the clock helpers (the pieces of request handling with no I/O). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
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
	char out[64];
	enum role role;
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

	is_str(http_reason(422), "Unprocessable Entity", "422 text");
	is_str(http_reason(429), "Too Many Requests", "429 text");
	is_str(http_reason(503), "Service Unavailable", "503 text");
	ok(role_parse("operator", &role) == 0 && role == ROLE_OPERATOR,
	    "role parse");
	ok(role_parse("root", &role) == -1, "unknown role refused");
	ok(ROLE_ADMIN > ROLE_OPERATOR && ROLE_OPERATOR > ROLE_VIEWER,
	    "roles are ordered");
	is_str(role_name(ROLE_VIEWER), "viewer", "role name");

	is_str(clock_db_to_rfc3339("2026-11-26 05:36:24.123", out, sizeof(out)),
	    "2026-11-26T05:36:24.123Z", "database time to RFC 3339");
	ok(clock_db_to_rfc3339(NULL, out, sizeof(out)) == NULL, "NULL stays NULL");
	ok(clock_rfc3339_to_db("2026-11-26T05:36:24.5Z", out, sizeof(out)) == 0,
	    "RFC 3339 parses");
	is_str(out, "2026-11-26 05:36:24.500", "fraction padded");
	ok(clock_rfc3339_to_db("2026-11-26T07:36:24+02:00", out, sizeof(out))
	    == 0, "offset parses");
	is_str(out, "2026-11-26 05:36:24.000", "offset applied");
	ok(clock_rfc3339_to_db("yesterday", out, sizeof(out)) == -1,
	    "garbage refused");
	ok(clock_rfc3339_to_db("2026-11-26T05:36:24", out, sizeof(out)) == -1,
	    "a zone is required");
	ok(clock_rfc3339_to_db("2026-02-30T00:00:00Z", out, sizeof(out)) == -1,
	    "a day the month lacks is refused");
	ok(clock_rfc3339_to_db("2025-02-29T00:00:00Z", out, sizeof(out)) == -1,
	    "29 February of a common year is refused");
	ok(clock_rfc3339_to_db("2024-02-29T23:59:59.999Z", out, sizeof(out)) == 0 &&
	    strcmp(out, "2024-02-29 23:59:59.999") == 0, "29 February of a leap year");
	ok(clock_rfc3339_to_db("2026-04-31T10:00:00Z", out, sizeof(out)) == -1,
	    "31 April is refused");
	ok(clock_rfc3339_to_db("2026-01-01T00:30:00+01:00", out, sizeof(out)) == 0 &&
	    strcmp(out, "2025-12-31 23:30:00.000") == 0,
	    "an offset crossing the year is applied");
	ok(clock_rfc3339_to_db("2026-01-01T00:00:00+24:00", out, sizeof(out)) == -1,
	    "an offset of 24 hours is refused");

	struct buf d = BUF_INIT;
	ok(url_decode("a%20b+c", 7, 1, &d) == 0, "decode a query value");
	is_str(buf_str(&d), "a b c", "escapes and + decoded");
	buf_reset(&d);
	ok(url_decode("%ff", 3, 1, &d) == -1, "invalid UTF-8 is refused");
	buf_reset(&d);
	ok(url_decode("a%00b", 5, 1, &d) == -1, "a NUL is refused");
	buf_reset(&d);
	ok(url_decode("%C3%A9", 6, 1, &d) == 0 && strcmp(buf_str(&d), "\xc3\xa9") == 0,
	    "a two-byte character decodes");
	buf_reset(&d);
	ok(url_decode("%ED%A0%80", 9, 1, &d) == -1, "a surrogate is refused");
	buf_reset(&d);
	buf_adds(&d, "\xff");
	ok(url_decode("ok", 2, 1, &d) == 0, "only what it appends is checked");
	buf_reset(&d);
	ok(url_decode("a+b", 3, 0, &d) == 0 && strcmp(buf_str(&d), "a+b") == 0,
	    "+ kept in a path");
	buf_reset(&d);
	ok(url_decode("bad%2", 5, 1, &d) == -1, "short escape refused");
	buf_reset(&d);
	ok(url_decode("bad%zz", 6, 1, &d) == -1, "non-hex escape refused");
	buf_free(&d);
	return done_testing();
}
