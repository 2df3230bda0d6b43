/* Unit tests of the pure parts of browser sessions (session.h): finding
 * the cookie in a Cookie header, the Set-Cookie text, the cross-site
 * header check, and whether a request came over TLS (request.h). */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "request.h"
#include "session.h"
#include "tap.h"

#define ID43 "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde"

static void
find(void)
{
	char id[SESSION_ID_SIZE];

	is_int(strlen(ID43), 43, "the test id has the form");
	is_int(session_cookie_find("scriptorch_session=" ID43, id), 1,
	    "the cookie alone");
	is_str(id, ID43, "its value");
	is_int(session_cookie_find("a=1; scriptorch_session=" ID43 "; b=2",
	    id), 1, "among others");
	is_str(id, ID43, "its value among others");
	is_int(session_cookie_find("a=1;scriptorch_session=" ID43, id), 1,
	    "without the space after ;");
	is_str(id, ID43, "... its value");
	is_int(session_cookie_find("scriptorch_session=\"" ID43 "\"", id), 1,
	    "a quoted value");
	is_str(id, ID43, "taken without its quotes");
	is_int(session_cookie_find("xscriptorch_session=" ID43 "; "
	    "scriptorch_sessionx=" ID43, id), 0,
	    "names that only contain the cookie's name are other cookies");
	is_str(id, "", "no id then");
	is_int(session_cookie_find(NULL, id), 0, "no header");
	is_int(session_cookie_find("", id), 0, "an empty header");
	is_int(session_cookie_find("scriptorch_session=short", id), 1,
	    "a value of another form still counts as the cookie");
	is_str(id, "", "but names no session");
	is_int(session_cookie_find("scriptorch_session=" ID43 "x", id), 1,
	    "44 characters");
	is_str(id, "", "name no session");
	is_int(session_cookie_find("scriptorch_session=" ID43 "; "
	    "scriptorch_session=" ID43, id), 2, "two of them are counted");
	is_int(session_cookie_find("scriptorch_session=AbCdEfGhIjKlMnOpQrStUv"
	    "WxYz0123456789+/abcde", id), 1, "standard base64");
	is_str(id, "", "is not the URL-safe form");
	is_int(session_cookie_find("scriptorch_session", id), 0,
	    "a name without =");
	is_int(session_cookie_find("scriptorch_session=" ID43, NULL), 1,
	    "counting only");
}

static void
collect(void *arg, const char *id)
{
	struct buf *b = arg;

	buf_printf(b, "[%s]", id);
}

static void
each(void)
{
	struct buf b = BUF_INIT;

	session_cookie_each("scriptorch_session=" ID43 "; x=1; "
	    "scriptorch_session=bad; scriptorch_session=" ID43, collect, &b);
	is_str(buf_str(&b), "[" ID43 "][" ID43 "]",
	    "each value of the form, in order; others skipped");
	buf_reset(&b);
	session_cookie_each(NULL, collect, &b);
	is_str(buf_str(&b), "", "none in no header");
	buf_free(&b);
}

static void
set_cookie(void)
{
	struct buf b = BUF_INIT;

	session_set_cookie(&b, ID43, 43200, 0);
	is_str(buf_str(&b), "scriptorch_session=" ID43 "; Path=/api/; "
	    "Max-Age=43200; HttpOnly; SameSite=Strict", "a session over HTTP");
	buf_reset(&b);
	session_set_cookie(&b, ID43, 60, 1);
	is_str(buf_str(&b), "scriptorch_session=" ID43 "; Path=/api/; "
	    "Max-Age=60; HttpOnly; SameSite=Strict; Secure",
	    "over TLS: Secure");
	buf_reset(&b);
	session_set_cookie(&b, NULL, 43200, 0);
	is_str(buf_str(&b), "scriptorch_session=; Path=/api/; Max-Age=0; "
	    "HttpOnly; SameSite=Strict", "forgetting it: empty, Max-Age=0");
	buf_free(&b);
}

static void
csrf(void)
{
	ok(session_csrf_ok("scriptorch"), "the header's value");
	ok(!session_csrf_ok(NULL), "absent");
	ok(!session_csrf_ok(""), "empty");
	ok(!session_csrf_ok("XMLHttpRequest"), "another value");
	ok(!session_csrf_ok("scriptorch "), "with a trailing space");
}

/* A request whose FastCGI environment is `env` (NULL-terminated). */
static int
secure(char **env)
{
	FCGX_Request fcgi;
	struct request r;

	memset(&fcgi, 0, sizeof(fcgi));
	memset(&r, 0, sizeof(r));
	fcgi.envp = env;
	r.fcgi = &fcgi;
	return req_secure(&r);
}

static void
tls(void)
{
	char *on[] = { "HTTPS=on", "REQUEST_SCHEME=https", NULL };
	char *https_only[] = { "HTTPS=ON", NULL };
	char *scheme_only[] = { "REQUEST_SCHEME=https", NULL };
	char *plain[] = { "REQUEST_SCHEME=http", NULL };
	char *none[] = { NULL };
	char *off[] = { "HTTPS=off", "REQUEST_SCHEME=http", NULL };

	ok(secure(on), "nginx over TLS");
	ok(secure(https_only), "HTTPS alone, in any case");
	ok(secure(scheme_only), "the scheme alone");
	ok(!secure(plain), "plain HTTP");
	ok(!secure(none), "neither parameter");
	ok(!secure(off), "HTTPS=off");
}

int
main(void)
{
	plan_lazy();
	find();
	each();
	set_cookie();
	csrf();
	tls();
	return done_testing();
}
