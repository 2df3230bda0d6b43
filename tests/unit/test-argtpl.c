/* Unit tests for argtpl.c (the args template). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "argtpl.h"
#include "buf.h"
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

static const char *
show(const char *s)
{
	return s != NULL ? s : "no input";
}

static const struct argtpl_vars VARS = {
	"/var/lib/scriptorch/work/42", "/var/lib/scriptorch/work/42/out.png",
	"42"
};
static const struct argtpl_vars VARS_NOFILE = {
	"/var/lib/scriptorch/work/42", NULL, "42"
};

/* Expands and joins the entries with '|' (or returns NULL and fills e). */
static char *
expand(const char *args, const char *input, const struct argtpl_vars *vars,
    struct verr *e)
{
	yajl_val a = P(args), in = input != NULL ? P(input) : NULL;
	struct buf b = BUF_INIT;
	char **argv = NULL;
	size_t i;

	verr_clear(e);
	if (argtpl_expand(a, in, vars, &argv, e) == -1) {
		ok(argv == NULL, "  argv is NULL on error");
		yajl_tree_free(a);
		yajl_tree_free(in);
		return NULL;
	}
	for (i = 0; argv[i] != NULL; i++) {
		if (i > 0)
			buf_addc(&b, '|');
		buf_adds(&b, argv[i]);
	}
	argtpl_free(argv);
	yajl_tree_free(a);
	yajl_tree_free(in);
	return buf_detach(&b, NULL);
}

#define EXPANDS(args, input, want) do {					\
	struct verr e_;							\
	char *got_ = expand(args, input, &VARS, &e_);			\
	is_str(got_, want, "expand %s with %s", args, show(input));		\
	if (got_ == NULL)						\
		printf("#   %s: %s\n", e_.field, e_.message);		\
	free(got_);							\
} while (0)

#define EXPAND_FAILS(args, input, vars, fld, msg) do {			\
	struct verr e_;							\
	char *got_ = expand(args, input, vars, &e_);			\
	ok(got_ == NULL, "expand fails: %s with %s", args, show(input));	\
	is_str(e_.field, fld, "  field");				\
	if ((msg) != NULL)						\
		is_str(e_.message, (const char *)(msg), "  message");	\
	else								\
		printf("#   message: %s\n", e_.message);		\
	free(got_);							\
} while (0)

static int
check(const char *args, struct verr *e)
{
	yajl_val a = P(args);
	int rc;

	verr_clear(e);
	rc = argtpl_check(a, e);
	yajl_tree_free(a);
	return rc;
}

#define CHECK_OK(args) do {						\
	struct verr e_;							\
	int rc_ = check(args, &e_);					\
	ok(rc_ == 0, "check ok: %s", args);				\
	if (rc_ != 0)							\
		printf("#   %s: %s\n", e_.field, e_.message);		\
} while (0)

#define CHECK_BAD(args, fld, msg) do {					\
	struct verr e_;							\
	ok(check(args, &e_) == -1, "check rejects: %s", args);		\
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

	ok(argtpl_check(NULL, &e) == 0, "no args is fine");
	CHECK_OK("[]");
	CHECK_OK("[\"--in\", \"{segment_path}\", \"--out\", \"{output_file}\"]");
	CHECK_OK("[\"{a}{b}\", \"x{_a.b-c9}y\", \"{{literal}}\", \"}}{{\", \"\"]");
	CHECK_OK("[\"{{{a}}}\"]");
	CHECK_BAD("{}", "args", "args must be an array of strings");
	CHECK_BAD("\"--in\"", "args", NULL);
	CHECK_BAD("[\"a\", 3]", "args[1]", "args[1] must be a string");
	CHECK_BAD("[\"a\", [\"b\"]]", "args[1]", NULL);
	CHECK_BAD("[\"a\", \"{}\"]", "args[1]",
	    "args[1] has an empty placeholder {}");
	CHECK_BAD("[\"a\", \"b\", \"{x\"]", "args[2]",
	    "args[2] has an unmatched { (write {{ for a literal brace)");
	CHECK_BAD("[\"x}\"]", "args[0]",
	    "args[0] has an unmatched } (write }} for a literal brace)");
	CHECK_BAD("[\"{a{b}\"]", "args[0]", NULL);
	CHECK_BAD("[\"{a b}\"]", "args[0]", NULL);
	CHECK_BAD("[\"{ a}\"]", "args[0]", NULL);
	CHECK_BAD("[\"{1a}\"]", "args[0]",
	    "args[0] has an invalid placeholder {1a}: a name starts with a "
	    "letter or _");
	CHECK_BAD("[\"{a$}\"]", "args[0]", NULL);
	CHECK_BAD("[\"{{a}\"]", "args[0]", NULL);	/* "{" then "a}" */
	CHECK_BAD("[\"{a}}\"]", "args[0]", NULL);	/* {a} then "}" */
}

static void
test_expand(void)
{
	EXPANDS("[]", NULL, "");
	EXPANDS("[\"--in\", \"{segment_path}\", \"--out\", \"{output_file}\"]",
	    "{\"segment_path\":\"/mnt/seg/001.mp4\"}",
	    "--in|/mnt/seg/001.mp4|--out|/var/lib/scriptorch/work/42/out.png");
	/* values with spaces, quotes, ; and $() stay one argv entry each */
	EXPANDS("[\"{p}\", \"--x={p}\"]",
	    "{\"p\":\"a b; rm -rf / \\\"q\\\" 'q' $(x) `y` |&\"}",
	    "a b; rm -rf / \"q\" 'q' $(x) `y` |&|--x=a b; rm -rf / \"q\" 'q' "
	    "$(x) `y` |&");
	{
		yajl_val a = P("[\"{p}\", \"{p}{p}\"]");
		yajl_val in = P("{\"p\":\"a b\\nc\\td\"}");
		char **argv = NULL;
		struct verr e;

		ok(argtpl_expand(a, in, &VARS, &argv, &e) == 0, "expand ok");
		ok(argv != NULL && argv[0] != NULL && argv[1] != NULL &&
		    argv[2] == NULL, "two entries, NULL-terminated");
		is_str(argv[0], "a b\nc\td", "newline and tab kept in one entry");
		is_str(argv[1], "a b\nc\tda b\nc\td", "concatenated value");
		argtpl_free(argv);
		yajl_tree_free(a);
		yajl_tree_free(in);
	}
	/* numbers keep the client's text */
	EXPANDS("[\"{i}\", \"{d}\", \"{f}\", \"{x}\", \"{n}\", \"{big}\"]",
	    "{\"i\":3,\"d\":2.50,\"f\":3.0,\"x\":1e-3,\"n\":-7,"
	    "\"big\":12345678901234567890}",
	    "3|2.50|3.0|1e-3|-7|12345678901234567890");
	EXPANDS("[\"--w={workdir}\", \"{execution_id}\"]", NULL,
	    "--w=/var/lib/scriptorch/work/42|42");
	/* reserved names win over input keys */
	EXPANDS("[\"{workdir}\", \"{execution_id}\", \"{output_file}\"]",
	    "{\"workdir\":\"/etc\",\"execution_id\":\"1\","
	    "\"output_file\":\"/etc/passwd\"}",
	    "/var/lib/scriptorch/work/42|42|/var/lib/scriptorch/work/42/out.png");
	/* dots and dashes are part of the top-level key, not a path */
	EXPANDS("[\"{a.b}\", \"{frame-rate}\"]",
	    "{\"a.b\":\"dot\",\"a\":{\"b\":\"nested\"},\"frame-rate\":24}",
	    "dot|24");
	/* literal braces; empty strings stay entries */
	EXPANDS("[\"{{x}}\", \"\", \"{{{x}}}\", \"}}\"]", "{\"x\":\"v\"}",
	    "{x}||{v}|}");
	EXPANDS("[\"{s}\"]", "{\"s\":\"\"}", "");
	EXPANDS("[\"{u}\"]", "{\"u\":\"\\u00e9\xe2\x82\xac\"}",
	    "\xc3\xa9\xe2\x82\xac");

	EXPAND_FAILS("[\"--in\", \"{segmentpath}\"]",
	    "{\"segment_path\":\"x\"}", &VARS, "input.segmentpath",
	    "input.segmentpath is required: args[1] uses {segmentpath}");
	EXPAND_FAILS("[\"{a}\"]", NULL, &VARS, "input.a", NULL);
	EXPAND_FAILS("[\"{o}\"]", "{\"o\":{}}", &VARS, "input.o",
	    "input.o must be a string or a number to fill {o} in args[0], "
	    "not an object");
	EXPAND_FAILS("[\"x\", \"{o}\"]", "{\"o\":[1]}", &VARS, "input.o", NULL);
	EXPAND_FAILS("[\"{o}\"]", "{\"o\":true}", &VARS, "input.o", NULL);
	EXPAND_FAILS("[\"{o}\"]", "{\"o\":null}", &VARS, "input.o", NULL);
	EXPAND_FAILS("[\"{a-b}\"]", "{\"a_b\":1}", &VARS, "input.a-b", NULL);
	EXPAND_FAILS("[\"--out\", \"{output_file}\"]", "{}", &VARS_NOFILE,
	    "args[1]", "args[1] uses {output_file}, but the script declares "
	    "no outputs.file");
	EXPAND_FAILS("[\"{x\"]", "{\"x\":1}", &VARS, "args[0]", NULL);
	EXPAND_FAILS("[1]", "{}", &VARS, "args[0]", NULL);
}

static int
collect(const char *name, size_t idx, void *arg, struct verr *e)
{
	buf_printf(arg, "%zu:%s,", idx, name);
	return 0;
}

static int
stop_at_b(const char *name, size_t idx, void *arg, struct verr *e)
{
	if (strcmp(name, "b") == 0) {
		verr_set(e, "x", "stopped at %s", name);
		return -1;
	}
	return 0;
}

static void
test_placeholders(void)
{
	yajl_val a = P("[\"{a}\", \"-{{x}}{b}{workdir}\", \"{a}\"]");
	yajl_val in;
	struct buf b = BUF_INIT;
	struct verr e;

	ok(argtpl_placeholders(a, collect, &b, &e) == 0, "placeholders ok");
	is_str(buf_str(&b), "0:a,1:b,1:workdir,2:a,", "placeholders in order");
	ok(argtpl_placeholders(a, stop_at_b, NULL, &e) == -1, "callback stops");
	is_str(e.message, "stopped at b", "  callback's error kept");
	buf_free(&b);

	/* the check before queueing: same resolution as the expansion */
	in = P("{\"a\":\"x\",\"b\":2}");
	ok(argtpl_check_input(a, in, 0, &e) == 0, "check_input ok");
	yajl_tree_free(in);
	in = P("{\"a\":\"x\"}");
	ok(argtpl_check_input(a, in, 0, &e) == -1, "check_input: missing b");
	is_str(e.field, "input.b", "  field");
	yajl_tree_free(in);
	in = P("{\"a\":\"x\",\"b\":[]}");
	ok(argtpl_check_input(a, in, 0, &e) == -1, "check_input: b an array");
	yajl_tree_free(in);
	yajl_tree_free(a);

	/* registration: input NULL checks only syntax and {output_file} */
	a = P("[\"{anything}\", \"{output_file}\"]");
	ok(argtpl_check_input(a, NULL, 1, &e) == 0,
	    "registration with outputs.file");
	ok(argtpl_check_input(a, NULL, 0, &e) == -1,
	    "registration without outputs.file");
	is_str(e.field, "args[1]", "  field");
	yajl_tree_free(a);

	ok(argtpl_is_reserved("workdir") && argtpl_is_reserved("output_file")
	    && argtpl_is_reserved("execution_id"), "reserved names");
	ok(!argtpl_is_reserved("work_dir") && !argtpl_is_reserved(""),
	    "not reserved");
	argtpl_free(NULL);
	ok(1, "argtpl_free(NULL)");
}

int
main(void)
{
	plan_lazy();
	test_check();
	test_expand();
	test_placeholders();
	return done_testing();
}
