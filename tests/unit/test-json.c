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
/* Parses a literal without a NUL into v, its message into err. */
#define PARSE(lit) json_parse(lit, strlen(lit), err, sizeof(err))

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
	/* Found by fuzz-json: two keys that differ only in lone surrogate
	 * escapes were accepted, and written back as one key twice. */
	v = PARSE("{\"k\\udd37\":1,\"k\\udd38\":2}");
	ok(v == NULL && strstr(err, "surrogate"),
	    "keys with lone surrogate escapes refused: %s", err);
	v = PARSE("[\"\\udc00\"]");
	ok(v == NULL && strstr(err, "UTF-8"),
	    "a string value with a lone surrogate refused: %s", err);
	v = PARSE("[\"\\ud83c\\udfac\"]");
	{
		const char *s0 = v != NULL && v->u.array.len == 1 ?
		    YAJL_GET_STRING(v->u.array.values[0]) : NULL;

		ok(s0 != NULL && strcmp(s0, "\xf0\x9f\x8e\xac") == 0,
		    "a surrogate pair is one character");
	}
	yajl_tree_free(v);
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
	{
		/* A megabyte of '[' (it crashed the API worker that freed the
		 * tree yajl_tree_parse had built): refused at level 65. */
		struct buf deep = BUF_INIT;
		for (int i = 0; i < 524288; i++)
			buf_addc(&deep, '[');
		for (int i = 0; i < 524288; i++)
			buf_addc(&deep, ']');
		v = json_parse(deep.data, deep.len, err, sizeof(err));
		ok(v == NULL && strstr(err, "nested deeper than 64"),
		    "a megabyte of '[' is refused: %s", err);
		buf_free(&deep);
		/* Exactly the limit is fine, one more is not. */
		for (int i = 0; i < JSON_MAX_DEPTH; i++)
			buf_addc(&deep, '[');
		for (int i = 0; i < JSON_MAX_DEPTH; i++)
			buf_addc(&deep, ']');
		v = json_parse(deep.data, deep.len, err, sizeof(err));
		ok(v != NULL, "nesting of exactly %d levels parses", JSON_MAX_DEPTH);
		yajl_tree_free(v);
		buf_reset(&deep);
		for (int i = 0; i <= JSON_MAX_DEPTH; i++)
			buf_add(&deep, "{\"a\":", 5);
		buf_addc(&deep, '1');
		for (int i = 0; i <= JSON_MAX_DEPTH; i++)
			buf_addc(&deep, '}');
		v = json_parse(deep.data, deep.len, err, sizeof(err));
		ok(v == NULL && strstr(err, "nested"), "objects %d deep refused",
		    JSON_MAX_DEPTH + 1);
		buf_free(&deep);
	}
	{
		/* 90,000 keys (41 s with the pairwise check): the check is
		 * linear, so even 200,000 take well under the unit test's
		 * time; a duplicate among them is still found. */
		struct buf many = BUF_INIT;
		size_t n = 200000;
		buf_addc(&many, '{');
		for (size_t i = 0; i < n; i++)
			buf_printf(&many, "%s\"k%zu\":%zu", i ? "," : "", i, i);
		buf_addc(&many, '}');
		v = json_parse(many.data, many.len, err, sizeof(err));
		ok(v != NULL && v->u.object.len == n, "%zu distinct keys parse", n);
		ok(v != NULL && YAJL_IS_INTEGER(json_get(v, "k199999")) &&
		    YAJL_GET_INTEGER(json_get(v, "k199999")) == 199999,
		    "numbers keep their integer value");
		yajl_tree_free(v);
		many.len--;
		buf_add(&many, ",\"k123456\":0}", 13);
		v = json_parse(many.data, many.len, err, sizeof(err));
		ok(v == NULL && strstr(err, "duplicate key \"k123456\""),
		    "a duplicate among %zu keys is found: %s", n, err);
		buf_free(&many);
	}
	v = PARSE("{\"a\":1 /* note */}");
	ok(v == NULL, "a block comment is refused");
	v = PARSE("// note\n{\"a\":1}");
	ok(v == NULL, "a line comment is refused");
	v = PARSE("{\"a\":1} {}");
	ok(v == NULL, "text after the value is refused");
	v = PARSE("{\"a\":\"\xff\"}");
	ok(v == NULL, "invalid UTF-8 in a string is refused");
	v = json_parse("", 0, err, sizeof(err));
	ok(v == NULL && err[0] != '\0', "empty text is refused: %s", err);
	v = PARSE("{\"\\u0000k\":1}");
	ok(v == NULL && strstr(err, "u0000"), "a \\u0000 in a key is refused");
	v = PARSE("[1.5e3,-2,99999999999999999999,true,null,\"x\"]");
	ok(v != NULL && v->u.array.len == 6, "an array of every kind parses");
	ok(v != NULL && YAJL_IS_DOUBLE(v->u.array.values[0]) &&
	    YAJL_GET_DOUBLE(v->u.array.values[0]) == 1500.0, "double value");
	ok(v != NULL && !YAJL_IS_INTEGER(v->u.array.values[2]) &&
	    YAJL_IS_DOUBLE(v->u.array.values[2]),
	    "an integer past 64 bits is a double only");
	json_dump(&b, v);
	is_str(buf_str(&b), "[1.5e3,-2,99999999999999999999,true,null,\"x\"]",
	    "numbers are written back as they were read");
	buf_free(&b);
	yajl_tree_free(v);
	return done_testing();
}
