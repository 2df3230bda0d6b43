/* Unit tests of the pure parts of a request (request.h): roles, status
 * texts, percent-decoding, and query parameters. */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "request.h"
#include "tap.h"

/* The decoded text, or NULL when malformed. */
static const char *
dec(const char *s, int form, struct buf *out)
{
	buf_reset(out);
	if (url_decode(s, strlen(s), form, out) == -1)
		return NULL;
	return buf_str(out);
}

static void
roles(void)
{
	enum role r = ROLE_NONE;

	ok(role_parse("admin", &r) == 0 && r == ROLE_ADMIN, "admin");
	ok(role_parse("operator", &r) == 0 && r == ROLE_OPERATOR, "operator");
	ok(role_parse("viewer", &r) == 0 && r == ROLE_VIEWER, "viewer");
	r = ROLE_VIEWER;
	ok(role_parse("Admin", &r) == -1 && role_parse("", &r) == -1 &&
	    role_parse(NULL, &r) == -1 && role_parse("none", &r) == -1 &&
	    r == ROLE_VIEWER, "nothing else is a role, and *out is untouched");
	is_str(role_name(ROLE_ADMIN), "admin", "names: admin");
	is_str(role_name(ROLE_OPERATOR), "operator", "operator");
	is_str(role_name(ROLE_VIEWER), "viewer", "viewer");
	is_str(role_name(ROLE_NONE), "none", "none");
	ok(ROLE_VIEWER < ROLE_OPERATOR && ROLE_OPERATOR < ROLE_ADMIN,
	    "roles are ordered: each may do what the one below may");
}

static void
reasons(void)
{
	is_str(http_reason(200), "OK", "200");
	is_str(http_reason(202), "Accepted", "202");
	is_str(http_reason(422), "Unprocessable Entity", "422");
	is_str(http_reason(429), "Too Many Requests", "429");
	is_str(http_reason(503), "Service Unavailable", "503");
	is_str(http_reason(418), "Unknown", "an unlisted code");
}

static void
decoding(void)
{
	struct buf b = BUF_INIT;

	is_str(dec("a%20b%2Fc", 0, &b), "a b/c", "escapes decode");
	is_str(dec("%e2%82%ac", 0, &b), "\342\202\254", "in either case");
	is_str(dec("a+b", 0, &b), "a+b", "a path keeps '+'");
	is_str(dec("a+b", 1, &b), "a b", "a query reads '+' as a space");
	is_str(dec("", 0, &b), "", "empty is empty, not NULL");
	ok(dec("%", 0, &b) == NULL && dec("ab%4", 0, &b) == NULL &&
	    dec("%zz", 0, &b) == NULL && dec("%4g", 1, &b) == NULL,
	    "a cut or bad escape is refused");
	buf_reset(&b);
	ok(url_decode("a%00b", 5, 0, &b) == -1,
	    "a NUL byte is refused: what handlers get is C text");
	buf_reset(&b);
	ok(url_decode("%ff", 3, 0, &b) == -1, "so is invalid UTF-8");
	is_str(dec("%C3%A9", 1, &b), "\xc3\xa9", "a two-byte character");
	ok(dec("%ED%A0%80", 1, &b) == NULL, "a surrogate is refused");
	buf_reset(&b);
	buf_adds(&b, "\xff");
	ok(url_decode("ok", 2, 1, &b) == 0,
	    "only what it appends is checked, not what the buffer held");
	buf_free(&b);
}

static void
query(void)
{
	struct request r;
	struct buf v = BUF_INIT;

	memset(&r, 0, sizeof(r));
	r.query = "wait=30&status=failed&name=a%20b+c&flag&empty=&x=1&x=2";
	is_str(req_query(&r, "wait", &v), "30", "a parameter");
	is_str(req_query(&r, "name", &v), "a b c", "decoded as a form");
	is_str(req_query(&r, "flag", &v), "", "one without '=' is \"\"");
	is_str(req_query(&r, "empty", &v), "", "one with nothing after '='");
	is_str(req_query(&r, "x", &v), "1", "the first of two");
	ok(req_query(&r, "wai", &v) == NULL && req_query(&r, "waits", &v) ==
	    NULL && req_query(&r, "failed", &v) == NULL,
	    "names match whole, values are not names");
	r.query = "bad=%zz&good=1";
	ok(req_query(&r, "bad", &v) == NULL, "a malformed value is absent");
	is_str(req_query(&r, "good", &v), "1", "the rest still reads");
	r.query = "";
	ok(req_query(&r, "wait", &v) == NULL, "an empty query has none");
	r.query = "&&a=1&";
	is_str(req_query(&r, "a", &v), "1", "stray '&' are skipped");
	buf_free(&v);
}

int
main(void)
{
	plan_lazy();
	roles();
	reasons();
	decoding();
	query();
	return done_testing();
}
