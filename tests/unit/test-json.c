/* Unit tests of json.c: the writer, UTF-8 repair, parsing helpers. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tap.h"

#define J1 "{\"a\": {\"b\": \"c\"}, \"n\": 3}"
#define J2 "{\"a\":\"x\\u0000y\"}"
#define J3 "{\"a\":\"x\\\\u0000\"}"
#define J4 "{\"a\":1,\"a\":2}"

static char *
render(void (*fn)(struct jw *))
{
	struct buf b = BUF_INIT;
	struct jw w;

	jw_init(&w, &b);
	fn(&w);
	jw_free(&w);
	return buf_detach(&b, NULL);
}

static void
doc1(struct jw *w)
{
	jw_obj(w);
	jw_key(w, "s");
	jw_str(w, "a\"b\n");
	jw_key(w, "n");
	jw_int(w, -42);
	jw_key(w, "d");
	jw_double(w, 812.4);
	jw_key(w, "t");
	jw_bool(w, 1);
	jw_key(w, "z");
	jw_str(w, NULL);
	jw_key(w, "a");
	jw_arr(w);
	jw_int(w, 1);
	jw_double(w, 0.1);
	jw_arr_end(w);
	jw_obj_end(w);
}

static void
doc_bad_utf8(struct jw *w)
{
	jw_strn(w, "ok\xff\xfe" "end\xc3", 8);
}

int
main(void)
{
	char *s, err[128];
	yajl_val v;
	struct buf b = BUF_INIT;

	plan_lazy();
	s = render(doc1);
	is_str(s, "{\"s\":\"a\\\"b\\n\",\"n\":-42,\"d\":812.4,\"t\":true,"
	    "\"z\":null,\"a\":[1,0.1]}", "writer output, doubles shortest");
	free(s);

	s = render(doc_bad_utf8);
	is_str(s, "\"ok\xef\xbf\xbd\xef\xbf\xbd" "end\xef\xbf\xbd\"",
	    "invalid bytes become U+FFFD");
	free(s);

	ok(utf8_valid("h\xc3\xa9llo", 6), "valid two-byte sequence");
	ok(!utf8_valid("\xc0\xaf", 2), "overlong form is invalid");
	ok(!utf8_valid("\xed\xa0\x80", 3), "surrogate is invalid");
	ok(utf8_valid("\xf0\x9f\x8e\xac", 4), "four-byte emoji is valid");
	ok(!utf8_valid("\xf4\x90\x80\x80", 4), "past U+10FFFF is invalid");
	utf8_sanitize(&b, "a\x80" "b", 3);
	is_str(buf_str(&b), "a\xef\xbf\xbd" "b", "sanitize keeps the rest");
	buf_free(&b);

	v = json_parse(J1, strlen(J1), err, sizeof(err));
	ok(v != NULL, "parse an object");
	is_str(json_get_str(json_get(v, "a"), "b"), "c", "json_get nested");
	ok(json_get_str(v, "n") == NULL, "json_get_str of a number is NULL");
	ok(json_get(v, "missing") == NULL, "absent member is NULL");
	json_dump(&b, v);
	is_str(buf_str(&b), "{\"a\":{\"b\":\"c\"},\"n\":3}", "dump is compact");
	buf_free(&b);
	yajl_tree_free(v);

	v = json_parse("{\"a\": ", 6, err, sizeof(err));
	ok(v == NULL && err[0] != '\0', "truncated JSON fails with a message");
	ok(strchr(err, '\n') == NULL, "message is one line");
	v = json_parse("{\"a\":\"\0\"}", 9, err, sizeof(err));
	ok(v == NULL, "a NUL byte in the body is refused");
	v = json_parse(J2, strlen(J2), err, sizeof(err));
	ok(v == NULL && strstr(err, "u0000"), "a \\u0000 escape is refused: %s",
	    err);
	v = json_parse(J3, strlen(J3), err, sizeof(err));
	ok(v != NULL, "an escaped backslash before u0000 is fine");
	yajl_tree_free(v);
	v = json_parse(J4, strlen(J4), err, sizeof(err));
	ok(v == NULL && strstr(err, "duplicate"), "duplicate keys refused: %s",
	    err);
	{
		struct buf deep = BUF_INIT;
		for (int i = 0; i < 100; i++)
			buf_addc(&deep, '[');
		for (int i = 0; i < 100; i++)
			buf_addc(&deep, ']');
		v = json_parse(deep.data, deep.len, err, sizeof(err));
		ok(v == NULL && strstr(err, "nested"), "deep nesting refused");
		buf_free(&deep);
	}
	return done_testing();
}
