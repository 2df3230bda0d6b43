/*
 * test-callback.c - the rules of completion callbacks (callback.h): the
 * URL check and allowed hosts (against libcurl's own parser, including
 * the spellings that would slip past a check of another parser), the
 * signature (against a fixed vector computed apart), the backoff, giving
 * up, and the tail of a stream.
 */
#include "config.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "callback.h"
#include "tap.h"

#define EXPECTED_SIG "95a94f8e9919abdf552708a6c1d5604116ad2a78af755c3113cf47afa01d92f2"

static int
url_ok(const char *url, const char *allow, const char *want)
{
	struct buf out = BUF_INIT;
	char err[512] = "";
	int rc = callback_url_check(url, allow, &out, err, sizeof(err));

	if (rc == 0 && want != NULL && strcmp(buf_str(&out), want) != 0) {
		printf("#   %s normalized to %s, not %s\n", url, buf_str(&out),
		    want);
		rc = -1;
	}
	if (rc == -1 && err[0])
		printf("#   %s: %s\n", url, err);
	buf_free(&out);
	return rc == 0;
}

static int
url_refused(const char *url, const char *allow, const char *needle)
{
	char err[512] = "";
	int rc = callback_url_check(url, allow, NULL, err, sizeof(err));

	if (rc == 0)
		return 0;
	if (needle != NULL && strstr(err, needle) == NULL) {
		printf("#   %s: \"%s\" lacks \"%s\"\n", url, err, needle);
		return 0;
	}
	return 1;
}

static void
test_urls(void)
{
	ok(url_ok("https://hooks.example.com/run?x=1", "", NULL),
	    "https with a query");
	ok(url_ok("http://127.0.0.1:8000/h", NULL, "http://127.0.0.1:8000/h"),
	    "http to an address and port");
	ok(url_ok("HTTP://Example.COM/a", "", NULL), "scheme in capitals");
	ok(url_refused("ftp://example.com/x", "", "http"), "ftp refused");
	ok(url_refused("file:///etc/passwd", "", NULL), "file refused");
	ok(url_refused("gopher://example.com/", "", NULL), "gopher refused");
	ok(url_refused("example.com/hook", "", "absolute"),
	    "no scheme refused");
	ok(url_refused("", "", "empty"), "empty refused");
	ok(url_refused("http://user:pw@example.com/", "", "password"),
	    "credentials refused");
	ok(url_refused("http://user@example.com/", "", "user"),
	    "a user name refused");
	ok(url_refused("http://exa mple.com/", "", "ASCII"), "blank refused");
	ok(url_refused("http://ex\xc3\xa4mple.com/", "", "ASCII"),
	    "non-ASCII refused");
	ok(url_refused("http://:80/", "", NULL), "no host refused");
	ok(url_refused("http://example.com:99999/", "", NULL),
	    "port out of range refused");

	char *longu = malloc(CALLBACK_URL_MAX + 64);
	strcpy(longu, "http://example.com/");
	memset(longu + strlen(longu), 'a', CALLBACK_URL_MAX);
	longu[CALLBACK_URL_MAX + 1] = '\0';
	ok(url_refused(longu, "", "longer"), "over 2048 bytes refused");
	free(longu);
}

static void
test_allow(void)
{
	const char *list = "hooks.example.com, *.studio.test 127.0.0.1:8080,"
	    "[::1]:9000";
	char err[512];

	ok(callback_allow_check(list, err, sizeof(err)) == 0,
	    "a list of names, a wildcard, addresses with ports");
	ok(callback_allow_check("", err, sizeof(err)) == 0, "empty list");
	ok(callback_allow_check("a.example:0", err, sizeof(err)) == -1,
	    "port 0 refused");
	ok(callback_allow_check("::1", err, sizeof(err)) == -1,
	    "IPv6 without brackets refused");
	ok(callback_allow_check("exa*mple.com", err, sizeof(err)) == -1,
	    "a star inside a name refused");
	ok(callback_allow_check("http://x.com", err, sizeof(err)) == -1,
	    "a URL refused");

	ok(url_ok("https://hooks.example.com/x", list, NULL), "listed name");
	ok(url_ok("https://HOOKS.Example.com./x", list, NULL),
	    "listed name: case and a trailing dot");
	ok(url_ok("http://a.studio.test/x", list, NULL), "wildcard: a.studio");
	ok(url_ok("http://a.b.studio.test/x", list, NULL),
	    "wildcard: a.b.studio");
	ok(url_refused("http://studio.test/x", list, "not one"),
	    "wildcard: not the domain itself");
	ok(url_refused("http://evilstudio.test/x", list, NULL),
	    "wildcard: not a name that ends the same");
	ok(url_ok("http://127.0.0.1:8080/x", list, NULL), "address and port");
	ok(url_refused("http://127.0.0.1:3306/x", list, "3306"),
	    "the same address, another port: refused");
	ok(url_refused("http://127.0.0.1/x", list, NULL),
	    "the same address, port 80: refused");
	ok(url_ok("http://[::1]:9000/x", list, NULL), "IPv6 and port");
	ok(url_ok("http://[0:0::1]:9000/x", list, NULL),
	    "IPv6 written another way");
	ok(url_refused("http://[::1]:9001/x", list, NULL), "IPv6, other port");
	ok(url_refused("https://hooks.example.com.evil.net/x", list, NULL),
	    "a listed name as a prefix: refused");
	/* Spellings meant to slip past a check: what curl connects to is
	 * what is checked. */
	ok(url_refused("http://hooks.example.com@127.0.0.1:3306/", list,
	    NULL), "user@host: the host is the one after the @");
	ok(url_refused("http://127.0.0.1:3306#@hooks.example.com/", list,
	    NULL), "a fragment that looks like a host");
	ok(url_refused("http://127.0.0.1:3306\\@hooks.example.com/", list,
	    NULL), "a backslash before the @");
	ok(url_refused("http://2130706433:3306/", list, NULL),
	    "127.0.0.1 as one number, another port");
	ok(url_ok("http://2130706433:8080/", list, NULL),
	    "127.0.0.1 as one number is that address");
	ok(url_ok("http://0x7f.0.0.1:8080/", list, NULL),
	    "127.0.0.1 in hex is that address");
	ok(url_refused("http://0x7f.0.0.1:3306/", "hooks.example.com", NULL),
	    "127.0.0.1 in hex does not pass as a name");
	ok(callback_host_allowed("", "anything.example", 1) == 1,
	    "an empty list allows any host");
	ok(callback_host_allowed("bad:entry:x", "bad", 1) == 0,
	    "a list of only bad entries allows nothing");
}

static void
test_sign(void)
{
	/* HMAC-SHA256(key "secret-key-0123456789", "1700000000.{\"a\":1}"),
	 * computed with Python's hmac module. */
	const char *key = "secret-key-0123456789";
	char sig[CALLBACK_SIG_LEN];

	callback_sign((const unsigned char *)key, strlen(key), 1700000000LL,
	    "{\"a\":1}", 7, sig);
	is_str(sig, "sha256=" EXPECTED_SIG, "signature of a fixed vector");
	callback_sign((const unsigned char *)key, strlen(key), 1700000001LL,
	    "{\"a\":1}", 7, sig);
	ok(strcmp(sig, "sha256=" EXPECTED_SIG) != 0,
	    "another timestamp, another signature");
}

static void
test_backoff(void)
{
	is_int(callback_backoff_ms(1), 1000, "after the 1st attempt: 1 s");
	is_int(callback_backoff_ms(2), 2000, "after the 2nd: 2 s");
	is_int(callback_backoff_ms(3), 4000, "after the 3rd: 4 s");
	is_int(callback_backoff_ms(10), 512000, "after the 10th: 512 s");
	is_int(callback_backoff_ms(11), 600000, "capped at 10 min");
	is_int(callback_backoff_ms(4000000000u), 600000, "no overflow");
	ok(!callback_give_up(1000, 2000, 86400), "young: tried again");
	ok(callback_give_up(86399000.0, 2000, 86400),
	    "the next attempt would be past the max age: given up");
	ok(!callback_give_up(86397000.0, 2000, 86400),
	    "the next attempt just within the max age");
}

static void
test_tail(void)
{
	char buf[100];

	memset(buf, 'a', sizeof(buf));
	is_int(callback_tail_start(buf, 10, 64), 0, "short: whole");
	is_int(callback_tail_start(buf, 100, 64), 36, "long: the last 64");
	/* "é" is C3 A9: a cut at the A9 moves past it. */
	buf[36] = (char)0xA9;
	buf[35] = (char)0xC3;
	is_int(callback_tail_start(buf, 100, 64), 37,
	    "never inside a character");
}

int
main(void)
{
	plan_lazy();
	if (sodium_init() < 0)
		return 1;
	test_urls();
	test_allow();
	test_sign();
	test_backoff();
	test_tail();
	return done_testing();
}
