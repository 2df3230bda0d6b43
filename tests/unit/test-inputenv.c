/* Unit tests for inputenv.c (the child's environment and stdin). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "buf.h"
#include "inputenv.h"
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

static const char *const EXTRA[] = { "VIRTUAL_ENV=/venvs/abc", NULL };
static const struct inputenv_vars VARS = {
	"42", "/work/42", NULL, "/work/42/out.png", "/usr/bin:/bin", EXTRA
};

/* The value of `name` in envp, or NULL; also counts how often it is set. */
static const char *
get(char **envp, const char *name, int *count)
{
	const char *found = NULL;
	size_t n = strlen(name), i;

	*count = 0;
	for (i = 0; envp[i] != NULL; i++)
		if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=') {
			found = envp[i] + n + 1;
			(*count)++;
		}
	return found;
}

#define HAS(envp, name, want) do {					\
	int c_;								\
	const char *v_ = get(envp, name, &c_);				\
	is_str(v_, want, "%s", name);					\
	if (c_ > 1)							\
		ok(0, "  %s set %d times", name, c_);			\
} while (0)

struct run {
	char **envp;
	struct buf in;
	struct verr e;
	int rc;
};

static void
build(struct run *r, const char *input, const char *mode, const char *senv,
    const struct inputenv_vars *vars)
{
	yajl_val in = input != NULL ? P(input) : NULL;
	yajl_val se = senv != NULL ? P(senv) : NULL;

	buf_init(&r->in);
	verr_clear(&r->e);
	r->rc = inputenv_build(in, mode, se, vars, &r->envp, &r->in, &r->e);
	if (r->rc != 0)
		printf("#   build: %s: %s\n", r->e.field, r->e.message);
	yajl_tree_free(in);
	yajl_tree_free(se);
}

static void
done(struct run *r)
{
	inputenv_free(r->envp);
	buf_free(&r->in);
}

static void
test_names(void)
{
	static const struct { const char *key, *want; } t[] = {
		{ "segment_path", "INPUT_SEGMENT_PATH" },
		{ "frame-rate", "INPUT_FRAME_RATE" },
		{ "a.b c", "INPUT_A_B_C" },
		{ "Mixed9", "INPUT_MIXED9" },
		{ "\xc3\xa9", "INPUT__" },			/* é: 2 bytes, 1 char */
		{ "caf\xc3\xa9", "INPUT_CAF_" },
		{ "\xe2\x82\xac" "1", "INPUT__1" },		/* € */
		{ "\xf0\x9f\x8e\xac" "x", "INPUT__X" },		/* 4 bytes */
		{ "x\xcc\x81", "INPUT_X_" },			/* combining mark */
		{ "", "INPUT_" },
		{ "$a=b", "INPUT__A_B" },
	};
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&b);
		inputenv_key_name(t[i].key, &b);
		is_str(buf_str(&b), t[i].want, "key name of \"%s\"", t[i].key);
	}
	buf_free(&b);
}

static void
test_build(void)
{
	struct run r;
	size_t i;
	int sorted = 1;

	build(&r, "{\"segment_path\":\"/mnt/seg/001.mp4\",\"strength\":0.50,"
	    "\"n\":3,\"ok\":true,\"no\":false,\"nil\":null,"
	    "\"frame-rate\":24,\"obj\":{\"a\": [1, 2.0, \"x y\"]},"
	    "\"arr\":[],\"text\":\"a b\\n\\\"c\\\"\\u00e9\"}", "both",
	    "{\"STUDIO\":\"acme\",\"LANG\":\"fr_FR.UTF-8\"}", &VARS);
	ok(r.rc == 0, "build both");
	HAS(r.envp, "PATH", "/usr/bin:/bin");
	HAS(r.envp, "HOME", "/work/42");
	HAS(r.envp, "TMPDIR", "/work/42");
	HAS(r.envp, "LANG", "fr_FR.UTF-8");
	HAS(r.envp, "STUDIO", "acme");
	HAS(r.envp, "INPUT_SEGMENT_PATH", "/mnt/seg/001.mp4");
	HAS(r.envp, "INPUT_STRENGTH", "0.50");
	HAS(r.envp, "INPUT_N", "3");
	HAS(r.envp, "INPUT_OK", "true");
	HAS(r.envp, "INPUT_NO", "false");
	HAS(r.envp, "INPUT_NIL", "null");
	HAS(r.envp, "INPUT_FRAME_RATE", "24");
	HAS(r.envp, "INPUT_OBJ", "{\"a\":[1,2.0,\"x y\"]}");
	HAS(r.envp, "INPUT_ARR", "[]");
	HAS(r.envp, "INPUT_TEXT", "a b\n\"c\"\xc3\xa9");
	HAS(r.envp, "INPUT_JSON", "{\"segment_path\":\"/mnt/seg/001.mp4\","
	    "\"strength\":0.50,\"n\":3,\"ok\":true,\"no\":false,\"nil\":null,"
	    "\"frame-rate\":24,\"obj\":{\"a\":[1,2.0,\"x y\"]},\"arr\":[],"
	    "\"text\":\"a b\\n\\\"c\\\"\xc3\xa9\"}");
	HAS(r.envp, "SCRIPTORCH_EXECUTION_ID", "42");
	HAS(r.envp, "SCRIPTORCH_WORKDIR", "/work/42");
	HAS(r.envp, "SCRIPTORCH_OUTPUT_FILE", "/work/42/out.png");
	HAS(r.envp, "VIRTUAL_ENV", "/venvs/abc");
	is_str(buf_str(&r.in), get(r.envp, "INPUT_JSON", &(int){0}),
	    "stdin is the compact JSON of the input");
	for (i = 0; r.envp[i] != NULL; i++)
		if (i > 0 && strcmp(r.envp[i - 1], r.envp[i]) >= 0)
			sorted = 0;
	ok(sorted, "envp sorted, no duplicates");
	is_int(i, 20, "nothing else in the environment");
	done(&r);

	/* stdin mode: no INPUT_*, but the run's own variables */
	build(&r, "{\"a\":1}", "stdin", NULL, &VARS);
	ok(r.rc == 0, "build stdin");
	HAS(r.envp, "INPUT_A", NULL);
	HAS(r.envp, "INPUT_JSON", NULL);
	HAS(r.envp, "SCRIPTORCH_WORKDIR", "/work/42");
	HAS(r.envp, "LANG", "C.UTF-8");
	is_str(buf_str(&r.in), "{\"a\":1}", "stdin data");
	done(&r);

	/* env mode: nothing on stdin */
	build(&r, "{\"a\":1}", "env", NULL, &VARS);
	ok(r.rc == 0, "build env");
	HAS(r.envp, "INPUT_A", "1");
	HAS(r.envp, "INPUT_JSON", "{\"a\":1}");
	is_int(r.in.len, 0, "no stdin data in env mode");
	done(&r);

	/* default mode is both; NULL input is {} */
	{
		struct inputenv_vars v = VARS;

		v.output_file = NULL;
		v.extra = NULL;
		v.tmpdir = "/work/42/tmp";
		build(&r, NULL, NULL, NULL, &v);
		ok(r.rc == 0, "build with defaults");
		HAS(r.envp, "INPUT_JSON", "{}");
		HAS(r.envp, "SCRIPTORCH_OUTPUT_FILE", NULL);
		HAS(r.envp, "TMPDIR", "/work/42/tmp");
		HAS(r.envp, "VIRTUAL_ENV", NULL);
		is_str(buf_str(&r.in), "{}", "stdin {}");
		done(&r);
	}

	/* reserved names win over a script env (registered before the rule) */
	build(&r, "{\"a\":\"in\"}", "both", "{\"PATH\":\"/evil\",\"HOME\":\"/\","
	    "\"INPUT_A\":\"script\",\"SCRIPTORCH_WORKDIR\":\"/x\","
	    "\"VIRTUAL_ENV\":\"/other\",\"INPUT_JSON\":\"x\"}", &VARS);
	ok(r.rc == 0, "build with colliding script env");
	HAS(r.envp, "PATH", "/usr/bin:/bin");
	HAS(r.envp, "HOME", "/work/42");
	HAS(r.envp, "INPUT_A", "in");
	HAS(r.envp, "SCRIPTORCH_WORKDIR", "/work/42");
	HAS(r.envp, "VIRTUAL_ENV", "/venvs/abc");
	HAS(r.envp, "INPUT_JSON", "{\"a\":\"in\"}");
	done(&r);

	/* an input key cannot take a name scriptorch sets */
	build(&r, "{\"json\":1}", "env", NULL, &VARS);
	ok(r.rc == -1 && r.envp == NULL, "input key json rejected");
	is_str(r.e.field, "input.json", "  field");
	done(&r);
	build(&r, "{\"json\":1}", "stdin", NULL, &VARS);
	ok(r.rc == 0, "input key json is fine in stdin mode");
	done(&r);

	/* two keys, one name */
	build(&r, "{\"frame-rate\":1,\"frame_rate\":2}", "both", NULL, &VARS);
	ok(r.rc == -1, "frame-rate and frame_rate collide");
	printf("#   %s\n", r.e.message);
	ok(strstr(r.e.message, "INPUT_FRAME_RATE") != NULL, "  message names it");
	done(&r);
	build(&r, "{\"\xc3\xa9\":1,\"\xc3\xa8\":2}", "both", NULL, &VARS);
	ok(r.rc == -1, "two accented keys collide");
	done(&r);

	/* bad arguments */
	build(&r, "{}", "pipe", NULL, &VARS);
	ok(r.rc == -1, "unknown mode");
	is_str(r.e.field, "input_mode", "  field");
	done(&r);
	build(&r, "[]", "both", NULL, &VARS);
	ok(r.rc == -1, "array input");
	done(&r);

	/* too deep for the JSON writer: an error, not a crash */
	{
		struct buf b = BUF_INIT;
		int i2;

		buf_adds(&b, "{\"a\":");
		for (i2 = 0; i2 < 200; i2++)
			buf_addc(&b, '[');
		for (i2 = 0; i2 < 200; i2++)
			buf_addc(&b, ']');
		buf_addc(&b, '}');
		build(&r, buf_str(&b), "both", NULL, &VARS);
		ok(r.rc == -1, "deep input rejected");
		is_str(r.e.field, "input", "  field");
		done(&r);
		buf_free(&b);
	}

	/* a value exec would refuse (over 128 KiB) */
	{
		struct buf b = BUF_INIT;
		size_t k;

		buf_adds(&b, "{\"big\":\"");
		for (k = 0; k < 140000; k++)
			buf_addc(&b, 'x');
		buf_adds(&b, "\"}");
		build(&r, buf_str(&b), "env", NULL, &VARS);
		ok(r.rc == -1, "oversize value rejected in env mode");
		is_str(r.e.field, "input.big", "  field");
		done(&r);
		build(&r, buf_str(&b), "stdin", NULL, &VARS);
		ok(r.rc == 0, "oversize value fine in stdin mode");
		is_int(r.in.len, b.len, "  all of it on stdin");
		done(&r);
		buf_free(&b);
	}

	/* many keys: no quadratic blow-up, all present */
	{
		struct buf b = BUF_INIT;
		int k, c;

		buf_addc(&b, '{');
		for (k = 0; k < 5000; k++)
			buf_printf(&b, "%s\"k%d\":%d", k ? "," : "", k, k);
		buf_addc(&b, '}');
		build(&r, buf_str(&b), "env", NULL, &VARS);
		ok(r.rc == 0, "5000 keys");
		is_str(get(r.envp, "INPUT_K4999", &c), "4999", "  last key");
		done(&r);
		buf_free(&b);
	}
}

static void
test_check_script_env(void)
{
	static const struct { const char *env, *field; } bad[] = {
		{ "[]", "env" },
		{ "{\"A\":1}", "env.A" },
		{ "{\"A\":null}", "env.A" },
		{ "{\"\":\"x\"}", "env" },
		{ "{\"A=B\":\"x\"}", "env[\"A=B\"]" },
		{ "{\"1A\":\"x\"}", "env.1A" },
		{ "{\"A-B\":\"x\"}", "env.A-B" },
		{ "{\"A B\":\"x\"}", "env[\"A B\"]" },
		{ "{\"PATH\":\"/x\"}", "env.PATH" },
		{ "{\"HOME\":\"/x\"}", "env.HOME" },
		{ "{\"TMPDIR\":\"/x\"}", "env.TMPDIR" },
		{ "{\"INPUT_X\":\"x\"}", "env.INPUT_X" },
		{ "{\"INPUT_JSON\":\"x\"}", "env.INPUT_JSON" },
		{ "{\"SCRIPTORCH_WORKDIR\":\"x\"}", "env.SCRIPTORCH_WORKDIR" },
		{ "{\"A\":\"1\",\"A\":\"2\"}", "env.A" },
		{ "{\"\xc3\xa9\":\"x\"}", "env[\"\xc3\xa9\"]" },
	};
	static const char *const good[] = {
		"{}", "{\"STUDIO\":\"acme\",\"LANG\":\"de_DE.UTF-8\","
		"\"LC_ALL\":\"C\",\"_x9\":\"\",\"input_x\":\"lower case\","
		"\"PYTHONUNBUFFERED\":\"1\",\"V\":\"a=b; c \\\"d\\\"\"}",
	};
	struct verr e;
	size_t i;
	yajl_val v;

	ok(inputenv_check_script_env(NULL, &e) == 0, "no env is fine");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = P(good[i]);
		ok(inputenv_check_script_env(v, &e) == 0, "env ok: %s", good[i]);
		yajl_tree_free(v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = P(bad[i].env);
		verr_clear(&e);
		ok(inputenv_check_script_env(v, &e) == -1, "env rejected: %s",
		    bad[i].env);
		is_str(e.field, bad[i].field, "  field");
		printf("#   %s\n", e.message);
		yajl_tree_free(v);
	}
}

int
main(void)
{
	plan_lazy();
	test_names();
	test_build();
	test_check_script_env();
	return done_testing();
}
