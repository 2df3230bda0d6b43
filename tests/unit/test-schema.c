/* Unit tests for schema.c (the inputs JSON Schema subset) and names.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "json.h"
#include "names.h"
#include "schema.h"
#include "tap.h"

static yajl_val
P(const char *text)
{
	char err[256];
	yajl_val v = yajl_tree_parse(text, err, sizeof(err));

	if (v == NULL) {
		printf("Bail out! bad test JSON %s: %s\n", text, err);
		exit(1);
	}
	return v;
}

/* schema_check on text; returns rc and leaves the error in *e. */
static int
check(const char *schema, struct verr *e)
{
	yajl_val s = P(schema);
	int rc;

	verr_clear(e);
	rc = schema_check(s, e);
	yajl_tree_free(s);
	return rc;
}

static int
validate(const char *schema, const char *input, struct verr *e)
{
	yajl_val s = P(schema), v = P(input);
	int rc;

	verr_clear(e);
	rc = schema_check(s, e);
	if (rc == 0)
		rc = schema_validate(s, v, "input", e);
	else
		printf("# schema itself rejected: %s\n", e->message);
	yajl_tree_free(s);
	yajl_tree_free(v);
	return rc;
}

#define CHECK_OK(s) do {						\
	struct verr e_;							\
	int rc_ = check(s, &e_);					\
	ok(rc_ == 0, "check ok: %s", s);				\
	if (rc_ != 0)							\
		printf("#   %s: %s\n", e_.field, e_.message);		\
} while (0)

#define CHECK_BAD(s, fld) do {						\
	struct verr e_;							\
	ok(check(s, &e_) == -1, "check rejects: %s", s);		\
	is_str(e_.field, fld, "  field");				\
	printf("#   message: %s\n", e_.message);			\
} while (0)

#define VALID(s, i) do {						\
	struct verr e_;							\
	int rc_ = validate(s, i, &e_);					\
	ok(rc_ == 0, "valid: %s", i);					\
	if (rc_ != 0)							\
		printf("#   %s: %s\n", e_.field, e_.message);		\
} while (0)

#define INVALID(s, i, fld, msg) do {					\
	struct verr e_;							\
	ok(validate(s, i, &e_) == -1, "invalid: %s", i);		\
	is_str(e_.field, fld, "  field");				\
	if ((msg) != NULL)						\
		is_str(e_.message, (const char *)(msg), "  message");	\
	else								\
		printf("#   message: %s\n", e_.message);		\
} while (0)

static void
test_check(void)
{
	struct verr e;

	CHECK_OK("{\"type\":\"object\"}");
	CHECK_OK("{\"properties\":{}}");
	CHECK_OK("{\"type\":\"object\",\"required\":[\"segment_path\"],"
	    "\"properties\":{\"segment_path\":{\"type\":\"string\"},"
	    "\"strength\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}}}");
	CHECK_OK("{\"type\":\"object\",\"title\":\"t\",\"description\":\"d\","
	    "\"properties\":{\"frames\":{\"type\":\"array\",\"items\":"
	    "{\"type\":\"integer\",\"minimum\":0}},"
	    "\"mode\":{\"enum\":[\"a\",1,null,true,{\"x\":1},[1]]},"
	    "\"opt\":{\"type\":[\"string\",\"null\"],\"maxLength\":3},"
	    "\"any\":{}}}");
	CHECK_OK("{\"type\":\"object\",\"required\":[\"x\"]}");

	ok(schema_check(NULL, &e) == -1, "NULL schema rejected");
	CHECK_BAD("[]", "inputs");
	CHECK_BAD("{}", "inputs");
	CHECK_BAD("{\"type\":\"array\"}", "inputs.type");
	CHECK_BAD("{\"type\":[\"object\"]}", "inputs.type");
	CHECK_BAD("{\"type\":\"object\",\"propertys\":{}}", "inputs.propertys");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"strength\":"
	    "{\"type\":\"number\",\"minimun\":0}}}",
	    "inputs.properties.strength.minimun");
	check("{\"type\":\"object\",\"properties\":{\"s\":{\"minimun\":0}}}",
	    &e);
	ok(strstr(e.message, "unknown keyword \"minimun\"") != NULL,
	    "message names the unknown keyword: %s", e.message);
	CHECK_BAD("{\"type\":\"object\",\"additionalProperties\":false}",
	    "inputs.additionalProperties");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"s\":"
	    "{\"type\":\"strng\"}}}", "inputs.properties.s.type");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"s\":"
	    "{\"type\":[]}}}", "inputs.properties.s.type");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"s\":"
	    "{\"type\":[\"string\",\"string\"]}}}", "inputs.properties.s.type");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"s\":"
	    "{\"type\":[\"string\",3]}}}", "inputs.properties.s.type");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"s\":"
	    "{\"type\":3}}}", "inputs.properties.s.type");
	CHECK_BAD("{\"type\":\"object\",\"properties\":[]}", "inputs.properties");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"s\":3}}",
	    "inputs.properties.s");
	CHECK_BAD("{\"type\":\"object\",\"required\":\"s\"}", "inputs.required");
	CHECK_BAD("{\"type\":\"object\",\"required\":[1]}", "inputs.required");
	CHECK_BAD("{\"type\":\"object\",\"required\":[\"a\",\"a\"]}",
	    "inputs.required");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"segment_path\":{}},"
	    "\"required\":[\"segmentpath\"]}", "inputs.required");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"e\":{\"enum\":[]}}}",
	    "inputs.properties.e.enum");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"e\":{\"enum\":3}}}",
	    "inputs.properties.e.enum");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"strength\":"
	    "{\"minimum\":\"0\"}}}", "inputs.properties.strength.minimum");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"strength\":"
	    "{\"maximum\":true}}}", "inputs.properties.strength.maximum");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"strength\":"
	    "{\"minimum\":2,\"maximum\":1}}}",
	    "inputs.properties.strength.minimum");
	CHECK_OK("{\"type\":\"object\",\"properties\":{\"strength\":"
	    "{\"minimum\":1,\"maximum\":1.0}}}");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"s\":"
	    "{\"maxLength\":-1}}}", "inputs.properties.s.maxLength");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"s\":"
	    "{\"maxLength\":2.0}}}", "inputs.properties.s.maxLength");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"s\":"
	    "{\"maxLength\":\"2\"}}}", "inputs.properties.s.maxLength");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"s\":"
	    "{\"items\":[{}]}}}", "inputs.properties.s.items");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"s\":"
	    "{\"items\":{\"type\":\"array\",\"items\":{\"maxLenght\":1}}}}}",
	    "inputs.properties.s.items.items.maxLenght");
	CHECK_BAD("{\"type\":\"object\",\"properties\":{\"a b\":"
	    "{\"type\":\"strin\"}}}", "inputs.properties[\"a b\"].type");
	CHECK_BAD("{\"type\":\"object\",\"description\":3}",
	    "inputs.description");

	{	/* nesting beyond the limit */
		struct buf b = BUF_INIT;
		int i;

		buf_adds(&b, "{\"type\":\"object\",\"properties\":{\"a\":");
		for (i = 0; i < SCHEMA_MAX_DEPTH + 2; i++)
			buf_adds(&b, "{\"items\":");
		buf_adds(&b, "{}");
		for (i = 0; i < SCHEMA_MAX_DEPTH + 2; i++)
			buf_adds(&b, "}");
		buf_adds(&b, "}}");
		ok(check(buf_str(&b), &e) == -1, "too deep a schema is rejected");
		printf("#   %s\n", e.message);
		buf_free(&b);
	}
}

#define S_MAIN "{\"type\":\"object\",\"required\":[\"segment_path\"]," \
	"\"properties\":{\"segment_path\":{\"type\":\"string\"}," \
	"\"strength\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}," \
	"\"count\":{\"type\":\"integer\",\"minimum\":1}," \
	"\"flag\":{\"type\":\"boolean\"}," \
	"\"name\":{\"type\":\"string\",\"maxLength\":3}," \
	"\"frames\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}," \
	"\"grid\":{\"type\":\"array\",\"items\":{\"type\":\"array\"," \
	"\"items\":{\"type\":\"number\",\"maximum\":9}}}," \
	"\"opt\":{\"type\":[\"string\",\"null\"]}," \
	"\"mode\":{\"enum\":[\"fast\",3,null,true,{\"k\":[1,2]}]}," \
	"\"meta\":{\"type\":\"object\",\"required\":[\"by\"]," \
	"\"properties\":{\"by\":{\"type\":\"string\"}}}}}"

static void
test_validate(void)
{
	struct verr e;
	yajl_val s, v;

	VALID(S_MAIN, "{\"segment_path\":\"/mnt/seg/001.mp4\"}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"extra\":[1,{}],"
	    "\"strength\":0.5}");
	INVALID(S_MAIN, "{}", "input.segment_path",
	    "input.segment_path is required");
	INVALID(S_MAIN, "{\"segment_path\":3}", "input.segment_path",
	    "input.segment_path must be a string, not 3");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"strength\":\"0.5\"}",
	    "input.strength", "input.strength must be a number, not a string");

	/* bounds, exact for integers, inclusive */
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"strength\":0}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"strength\":1.0}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"strength\":-0}");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"strength\":1.0001}",
	    "input.strength", "input.strength must be at most 1");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"strength\":-1e-9}",
	    "input.strength", "input.strength must be at least 0");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"strength\":1e400}",
	    "input.strength", NULL);

	/* integers vs numbers */
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"count\":3}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"count\":"
	    "99999999999999999999}");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"count\":3.0}",
	    "input.count", "input.count must be an integer, not 3.0");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"count\":1e2}",
	    "input.count", NULL);
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"count\":0}",
	    "input.count", "input.count must be at least 1");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"count\":true}",
	    "input.count", "input.count must be an integer, not true");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"flag\":1}",
	    "input.flag", "input.flag must be a boolean, not 1");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"flag\":false}");

	/* maxLength counts code points */
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"name\":\"abc\"}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"name\":\"\xc3\xa9t\xc3\xa9\"}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"name\":\"\\u00e9\\u00e9\"}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"name\":"
	    "\"\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac\"}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"name\":"
	    "\"\\ud83c\\udfac\\ud83c\\udfac\"}");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"name\":\"abcd\"}",
	    "input.name", "input.name must be at most 3 characters long, not 4");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"name\":"
	    "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", "input.name", NULL);
	is_int(schema_utf8_len("\xe6\x97\xa5\xe6\x9c\xac"), 2, "utf8_len CJK");
	is_int(schema_utf8_len(""), 0, "utf8_len empty");

	/* arrays and nested items */
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"frames\":[]}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"frames\":[1,2,3]}");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"frames\":[1,2,2.5]}",
	    "input.frames[2]", "input.frames[2] must be an integer, not 2.5");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"frames\":{}}",
	    "input.frames", NULL);
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"grid\":[[1,2],[],[9]]}");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"grid\":[[1,2],[3,10]]}",
	    "input.grid[1][1]", "input.grid[1][1] must be at most 9");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"grid\":[[1],\"no\"]}",
	    "input.grid[1]", NULL);

	/* type arrays */
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"opt\":null}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"opt\":\"\"}");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"opt\":1}", "input.opt",
	    "input.opt must be a string or null, not 1");

	/* enum of mixed types, JSON equality */
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"mode\":\"fast\"}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"mode\":3}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"mode\":3.0}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"mode\":null}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"mode\":true}");
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"mode\":{\"k\":[1,2.0]}}");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"mode\":\"3\"}", "input.mode",
	    "input.mode must be one of \"fast\", 3, null, true, {...}");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"mode\":false}",
	    "input.mode", NULL);
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"mode\":{\"k\":[2,1]}}",
	    "input.mode", NULL);
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"mode\":\"Fast\"}",
	    "input.mode", NULL);

	/* nested objects */
	VALID(S_MAIN, "{\"segment_path\":\"x\",\"meta\":{\"by\":\"me\"}}");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"meta\":{}}", "input.meta.by",
	    "input.meta.by is required");
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"meta\":{\"by\":[]}}",
	    "input.meta.by", NULL);

	/* keys that are not identifiers are quoted in the path */
	INVALID("{\"type\":\"object\",\"properties\":{\"frame rate\":"
	    "{\"type\":\"number\"}}}", "{\"frame rate\":\"x\"}",
	    "input[\"frame rate\"]", NULL);
	/* a duplicated key is checked every time */
	INVALID(S_MAIN, "{\"segment_path\":\"x\",\"segment_path\":1}",
	    "input.segment_path", NULL);

	/* the root is always an object */
	s = P(S_MAIN);
	v = P("[]");
	ok(schema_validate(s, v, "input", &e) == -1, "array input rejected");
	is_str(e.field, "input", "  field");
	is_str(e.message, "input must be an object, not an array", "  message");
	ok(schema_validate(s, NULL, "input", &e) == -1, "NULL input rejected");
	yajl_tree_free(v);
	v = P("{\"a\":1}");
	ok(schema_validate(NULL, v, "input", &e) == 0, "NULL schema accepts");
	yajl_tree_free(v);
	yajl_tree_free(s);

	/* properties without type at the root */
	VALID("{\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"a\":\"b\"}");
	INVALID("{\"properties\":{\"a\":{\"type\":\"string\"}}}",
	    "{\"a\":false}", "input.a", NULL);
}

static void
test_names(void)
{
	struct verr e;
	char long_ok[65], long_bad[66];

	memset(long_ok, 'a', 64);
	long_ok[64] = '\0';
	memset(long_bad, 'a', 65);
	long_bad[65] = '\0';
	ok(names_check_script("color-correct", &e) == 0, "name color-correct");
	ok(names_check_script("a", &e) == 0, "name a");
	ok(names_check_script("a1._-z", &e) == 0, "name a1._-z");
	ok(names_check_script(long_ok, &e) == 0, "name of 64 chars");
	ok(names_check_script(long_bad, &e) == -1, "name of 65 chars");
	is_str(e.field, "name", "  field");
	ok(names_check_script("", &e) == -1, "empty name");
	ok(names_check_script(NULL, &e) == -1, "NULL name");
	ok(names_check_script("1abc", &e) == -1, "name starts with digit");
	ok(names_check_script("-abc", &e) == -1, "name starts with -");
	ok(names_check_script("Color", &e) == -1, "upper-case name");
	ok(names_check_script("a b", &e) == -1, "name with space");
	printf("#   %s\n", e.message);
	ok(names_check_script("a/b", &e) == -1, "name with slash");
	ok(names_check_script("caf\xc3\xa9", &e) == -1, "non-ASCII name");
}

static void
test_verr(void)
{
	struct verr e;
	char big[600];

	verr_set(&e, NULL, "x %d", 1);
	is_str(e.field, "", "verr NULL field is empty");
	is_str(e.message, "x 1", "verr message");
	verr_set(&e, e.message, "again %s", e.message);
	is_str(e.field, "x 1", "verr field from its own message");
	is_str(e.message, "again x 1", "verr message from itself");
	/* a cut never splits a UTF-8 sequence */
	memset(big, 'a', sizeof(big));
	big[510] = '\xc3';
	big[511] = '\xa9';
	big[520] = '\0';
	verr_set(&e, "f", "%s", big);
	is_int(strlen(e.message), 510, "verr cut before a split sequence");
	verr_set(NULL, "f", "no crash");
	ok(1, "verr_set(NULL) is a no-op");
}

/* A list of errors keeps each field once, the first one found. */
static void
test_verr_list(void)
{
	struct verr_list l = VERR_LIST_INIT;
	struct verr e;

	for (int i = 0; i < 20; i++) {
		verr_set(&e, i % 2 ? "b" : "a", "message %d", i);
		verr_list_add(&l, &e);
	}
	verr_set(&e, "c", "third");
	verr_list_add(&l, &e);
	is_int(l.n, 3, "three fields, each once");
	ok(strcmp(l.v[0].field, "a") == 0 && strcmp(l.v[0].message,
	    "message 0") == 0 && strcmp(l.v[1].message, "message 1") == 0 &&
	    strcmp(l.v[2].field, "c") == 0, "in the order found, the first "
	    "error of each field kept");
	ok(verr_list_has(&l, "b") && !verr_list_has(&l, "d") &&
	    !verr_list_has(NULL, "a"), "has");
	verr_list_add(NULL, &e);
	verr_list_free(&l);
	ok(l.n == 0 && l.v == NULL, "freed: empty");
	verr_list_free(&l);
	verr_list_free(NULL);
}

/* schema_validate_all: every top-level property at fault, once. */
static void
test_validate_all(void)
{
	yajl_val s = P("{\"type\":\"object\",\"required\":[\"a\",\"b\"],"
	    "\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":"
	    "\"integer\",\"minimum\":1},\"c\":{\"type\":\"array\",\"items\":"
	    "{\"type\":\"integer\"}},\"d\":{\"type\":\"object\",\"properties\":"
	    "{\"x\":{\"type\":\"string\"},\"y\":{\"type\":\"string\"}}}}}");
	yajl_val v;
	struct verr_list l = VERR_LIST_INIT;
	struct verr e;

	v = P("{\"b\":0,\"c\":[1,\"x\",\"y\"],\"d\":{\"x\":1,\"y\":2}}");
	ok(schema_validate_all(s, v, "input", &e, &l) == -1, "all: refused");
	is_int(l.n, 4, "a missing, b too small, c and d wrong: four");
	if (l.n == 4) {
		is_str(l.v[0].field, "input.a", "missing names first");
		is_str(l.v[1].field, "input.b", "then each property in order");
		is_str(l.v[2].field, "input.c[1]", "the first error within c");
		is_str(l.v[3].field, "input.d.x", "the first within d");
	}
	is_str(e.field, "input.a", "e is the first");
	verr_list_free(&l);
	yajl_tree_free(v);
	v = P("{\"a\":\"x\",\"b\":1,\"b\":0}");
	ok(schema_validate_all(s, v, "input", &e, &l) == -1 && l.n == 1 &&
	    strcmp(l.v[0].field, "input.b") == 0,
	    "a key given twice is checked each time, reported once");
	verr_list_free(&l);
	yajl_tree_free(v);
	v = P("{\"a\":\"x\",\"b\":2}");
	ok(schema_validate_all(s, v, "input", &e, &l) == 0 && l.n == 0,
	    "a valid input adds nothing");
	yajl_tree_free(v);
	v = P("[1]");
	ok(schema_validate_all(s, v, "input", &e, &l) == -1 && l.n == 0 &&
	    strcmp(e.field, "input") == 0, "not an object: e alone");
	yajl_tree_free(v);
	v = P("{\"b\":0}");
	ok(schema_validate(s, v, "input", &e) == -1 &&
	    strcmp(e.field, "input.a") == 0, "schema_validate stops at the "
	    "first");
	yajl_tree_free(v);
	yajl_tree_free(s);
}

/* split: the stored input and the secret object, from text. */
static void
split(const char *schema, const char *input, int want_n,
    const char *want_shown, const char *want_secret)
{
	yajl_val s = P(schema), v = P(input);
	struct buf shown = BUF_INIT, secret = BUF_INIT;
	int n = schema_split_secret(s, v, &shown, &secret);

	is_int(n, want_n, "split %s: %d secret", input, want_n);
	is_str(buf_str(&shown), want_shown, "  shown");
	is_str(buf_str(&secret), want_secret, "  secret");
	buf_free(&shown);
	buf_free(&secret);
	yajl_tree_free(s);
	yajl_tree_free(v);
}

/* "secret": true on a top-level property, and nowhere else; the split of
 * an input into what is stored and what is sealed. */
static void
test_secret(void)
{
	const char *sch = "{\"type\":\"object\",\"properties\":{"
	    "\"user\":{\"type\":\"string\"},"
	    "\"pw\":{\"type\":\"string\",\"secret\":true},"
	    "\"pin\":{\"type\":\"integer\",\"secret\":true},"
	    "\"open\":{\"secret\":false}}}";
	yajl_val s;

	CHECK_OK(sch);
	CHECK_BAD("{\"type\":\"object\",\"secret\":true}", "inputs.secret");
	CHECK_BAD("{\"properties\":{\"a\":{\"properties\":{\"b\":"
	    "{\"secret\":true}}}}}", "inputs.properties.a.properties.b.secret");
	CHECK_BAD("{\"properties\":{\"a\":{\"items\":{\"secret\":true}}}}",
	    "inputs.properties.a.items.secret");
	CHECK_BAD("{\"properties\":{\"a\":{\"secret\":\"yes\"}}}",
	    "inputs.properties.a.secret");
	VALID(sch, "{\"pw\":\"hunter22\",\"pin\":1234}");
	INVALID(sch, "{\"pin\":\"1234\"}", "input.pin",
	    "input.pin must be an integer, not a string");

	s = P(sch);
	ok(schema_prop_secret(s, "pw") && schema_prop_secret(s, "pin") &&
	    !schema_prop_secret(s, "user") && !schema_prop_secret(s, "open") &&
	    !schema_prop_secret(s, "nope") && !schema_prop_secret(NULL, "pw"),
	    "which properties are secret");
	yajl_tree_free(s);
	split(sch, "{\"user\":\"bob\",\"pw\":\"hunter22\",\"x\":[1,2.50],"
	    "\"pin\":1234}", 2,
	    "{\"user\":\"bob\",\"pw\":\"***\",\"x\":[1,2.50],\"pin\":\"***\"}",
	    "{\"pw\":\"hunter22\",\"pin\":1234}");
	split(sch, "{\"user\":\"bob\"}", 0, "{\"user\":\"bob\"}", "{}");
	split(sch, "{\"pw\":{\"deep\":[\"x\"]}}", 1, "{\"pw\":\"***\"}",
	    "{\"pw\":{\"deep\":[\"x\"]}}");
	split("{\"type\":\"object\"}", "{\"pw\":\"a\"}", 0, "{\"pw\":\"a\"}",
	    "{}");
}

/* apply: the input after schema_apply_defaults, from text ("" for an
 * input of NULL); want NULL: nothing filled. */
static void
apply(const char *schema, const char *input, int want_n, const char *want)
{
	yajl_val s = P(schema), v = *input ? P(input) : NULL, f = NULL;
	struct buf out = BUF_INIT;
	struct verr e;
	int n;

	verr_clear(&e);
	n = schema_apply_defaults(s, v, &f, &e);
	is_int(n, want_n, "defaults of %s: %d filled", *input ? input : "NULL",
	    want_n);
	if (f != NULL)
		json_dump(&out, f);
	is_str(f != NULL ? buf_str(&out) : NULL, want, "  the input filled");
	buf_free(&out);
	yajl_tree_free(f);
	yajl_tree_free(s);
	yajl_tree_free(v);
}

/*
 * "default": an annotation allowed on any schema, that must satisfy the
 * schema it sits in, is refused on a secret property, and on a property
 * of the root fills a missing input before the check.
 */
static void
test_default(void)
{
	const char *sch = "{\"type\":\"object\",\"required\":[\"in\"],"
	    "\"properties\":{\"in\":{\"type\":\"string\"},"
	    "\"lut\":{\"type\":\"string\",\"enum\":[\"warm\",\"cool\"],"
	    "\"default\":\"warm\",\"title\":\"LUT\",\"description\":\"d\"},"
	    "\"gain\":{\"type\":\"number\",\"minimum\":0,\"default\":1.50},"
	    "\"opts\":{\"type\":\"object\",\"default\":{\"a\":[1,{}]},"
	    "\"properties\":{\"a\":{\"type\":\"array\",\"default\":[]}}},"
	    "\"flag\":{\"type\":\"boolean\",\"default\":false},"
	    "\"nothing\":{\"default\":null},"
	    "\"plain\":{\"type\":\"integer\"}}}";

	CHECK_OK(sch);
	CHECK_OK("{\"type\":\"object\",\"default\":{}}");
	CHECK_OK("{\"properties\":{\"a\":{\"items\":{\"type\":\"integer\","
	    "\"default\":3}}}}");
	CHECK_BAD("{\"properties\":{\"n\":{\"type\":\"number\","
	    "\"default\":\"3\"}}}", "inputs.properties.n.default");
	CHECK_BAD("{\"properties\":{\"n\":{\"type\":\"number\","
	    "\"maximum\":2,\"default\":3}}}", "inputs.properties.n.default");
	CHECK_BAD("{\"properties\":{\"n\":{\"enum\":[\"a\",\"b\"],"
	    "\"default\":\"c\"}}}", "inputs.properties.n.default");
	CHECK_BAD("{\"properties\":{\"n\":{\"type\":\"string\","
	    "\"maxLength\":2,\"default\":\"abc\"}}}",
	    "inputs.properties.n.default");
	CHECK_BAD("{\"properties\":{\"o\":{\"properties\":{\"x\":"
	    "{\"type\":\"string\"}},\"required\":[\"x\"],"
	    "\"default\":{}}}}", "inputs.properties.o.default.x");
	CHECK_BAD("{\"properties\":{\"a\":{\"items\":{\"type\":\"integer\","
	    "\"default\":\"x\"}}}}", "inputs.properties.a.items.default");
	CHECK_BAD("{\"type\":\"object\",\"default\":3}", "inputs.default");
	CHECK_BAD("{\"properties\":{\"pw\":{\"type\":\"string\","
	    "\"secret\":true,\"default\":\"hunter22\"}}}",
	    "inputs.properties.pw.default");
	{
		struct verr e;
		check("{\"properties\":{\"n\":{\"type\":\"number\","
		    "\"default\":\"3\"}}}", &e);
		is_str(e.message, "inputs.properties.n.default must be a "
		    "number, not a string", "the message says what is wrong "
		    "with the default");
	}

	/* Filled: only what is missing, the caller's values stand, the
	 * caller's order first, then the schema's. */
	apply(sch, "{\"in\":\"a.mov\"}", 5,
	    "{\"in\":\"a.mov\",\"lut\":\"warm\",\"gain\":1.50,"
	    "\"opts\":{\"a\":[1,{}]},\"flag\":false,\"nothing\":null}");
	apply(sch, "{\"flag\":true,\"in\":\"b\",\"gain\":0,\"lut\":\"cool\","
	    "\"extra\":[1]}", 2,
	    "{\"flag\":true,\"in\":\"b\",\"gain\":0,\"lut\":\"cool\","
	    "\"extra\":[1],\"opts\":{\"a\":[1,{}]},\"nothing\":null}");
	/* A value the caller sent as null is sent, not missing. */
	apply(sch, "{\"in\":\"c\",\"lut\":null,\"gain\":2,\"opts\":{},"
	    "\"flag\":true,\"nothing\":1}", 0, NULL);
	apply(sch, "", 5, "{\"lut\":\"warm\",\"gain\":1.50,"
	    "\"opts\":{\"a\":[1,{}]},\"flag\":false,\"nothing\":null}");
	apply(sch, "[1]", 0, NULL);
	apply("{\"type\":\"object\"}", "{\"a\":1}", 0, NULL);
	/* Nested defaults document, they do not fill. */
	apply("{\"properties\":{\"o\":{\"properties\":{\"x\":"
	    "{\"default\":1}}}}}", "{\"o\":{}}", 0, NULL);

	/* A default fills before the check: a required property with one is
	 * satisfied, and what it fills is checked like the rest. */
	{
		const char *req = "{\"type\":\"object\",\"required\":[\"mode\"],"
		    "\"properties\":{\"mode\":{\"enum\":[\"a\",\"b\"],"
		    "\"default\":\"b\"}}}";
		yajl_val s = P(req), v = P("{}"), f = NULL;
		struct verr e;

		verr_clear(&e);
		ok(schema_check(s, &e) == 0 &&
		    schema_validate(s, v, "input", &e) == -1,
		    "without the fill a required property with a default is "
		    "missing");
		ok(schema_apply_defaults(s, v, &f, &e) == 1 &&
		    schema_validate(s, f, "input", &e) == 0,
		    "with the fill it is there");
		yajl_tree_free(f);
		yajl_tree_free(s);
		yajl_tree_free(v);
	}
}

int
main(void)
{
	plan_lazy();
	test_check();
	test_default();
	test_secret();
	test_validate();
	test_names();
	test_verr();
	test_verr_list();
	test_validate_all();
	return done_testing();
}
