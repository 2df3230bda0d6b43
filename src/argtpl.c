#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argtpl.h"
#include "buf.h"
#include "log.h"
#include "schema.h"

/* What to do with the pieces of a template element as walk() finds them. */
struct walk_ops {
	void (*lit)(const char *s, size_t len, void *arg);
	int (*ph)(const char *name, size_t len, size_t idx, void *arg,
	    struct verr *e);
};

static int
name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

int
argtpl_is_reserved(const char *name)
{
	return strcmp(name, "workdir") == 0 ||
	    strcmp(name, "output_file") == 0 ||
	    strcmp(name, "execution_id") == 0;
}

static int
shape_check(yajl_val args, struct verr *e)
{
	size_t i;

	if (args == NULL)
		return 0;
	if (!YAJL_IS_ARRAY(args)) {
		verr_set(e, "args", "args must be an array of strings");
		return -1;
	}
	for (i = 0; i < args->u.array.len; i++)
		if (!YAJL_IS_STRING(args->u.array.values[i])) {
			char f[32];

			snprintf(f, sizeof(f), "args[%zu]", i);
			verr_set(e, f, "%s must be a string", f);
			return -1;
		}
	return 0;
}

/*
 * The one parser of the template syntax: splits element `idx` into
 * literal runs and placeholders, left to right, so "{{{a}}}" is "{",
 * {a}, "}". Every user of the template goes through here, so the check
 * at registration and the expansion at run time cannot disagree.
 */
static int
walk(const char *tpl, size_t idx, const struct walk_ops *ops, void *arg,
    struct verr *e)
{
	const char *p = tpl, *run = tpl, *q;
	char f[32];

	snprintf(f, sizeof(f), "args[%zu]", idx);
	while (*p != '\0') {
		if (*p != '{' && *p != '}') {
			p++;
			continue;
		}
		if (ops->lit != NULL && p > run)
			ops->lit(run, (size_t)(p - run), arg);
		if (p[1] == p[0]) {		/* {{ or }} */
			if (ops->lit != NULL)
				ops->lit(p, 1, arg);
			p += 2;
			run = p;
			continue;
		}
		if (*p == '}') {
			verr_set(e, f, "%s has an unmatched } (write }} for a "
			    "literal brace)", f);
			return -1;
		}
		for (q = p + 1; *q != '\0' && *q != '}' && *q != '{'; q++)
			;
		if (*q != '}') {
			verr_set(e, f, "%s has an unmatched { (write {{ for a "
			    "literal brace)", f);
			return -1;
		}
		if (q == p + 1) {
			verr_set(e, f, "%s has an empty placeholder {}", f);
			return -1;
		}
		if (!name_start(p[1])) {
			verr_set(e, f, "%s has an invalid placeholder {%.*s}: a "
			    "name starts with a letter or _", f,
			    (int)(q - p - 1), p + 1);
			return -1;
		}
		for (run = p + 1; run < q; run++)
			if (!name_char(*run)) {
				verr_set(e, f, "%s has an invalid placeholder "
				    "{%.*s}: a name has only letters, digits, "
				    "_, . and -", f, (int)(q - p - 1), p + 1);
				return -1;
			}
		if (ops->ph != NULL &&
		    ops->ph(p + 1, (size_t)(q - p - 1), idx, arg, e) == -1)
			return -1;
		p = q + 1;
		run = p;
	}
	if (ops->lit != NULL && p > run)
		ops->lit(run, (size_t)(p - run), arg);
	return 0;
}

/* Runs walk() over every element after checking the array's shape. */
static int
walk_all(yajl_val args, const struct walk_ops *ops, void *arg,
    struct verr *e)
{
	size_t i;

	if (shape_check(args, e) == -1)
		return -1;
	for (i = 0; args != NULL && i < args->u.array.len; i++)
		if (walk(args->u.array.values[i]->u.string, i, ops, arg,
		    e) == -1)
			return -1;
	return 0;
}

int
argtpl_check(yajl_val args, struct verr *e)
{
	static const struct walk_ops none = { NULL, NULL };

	return walk_all(args, &none, NULL, e);
}

struct ph_thunk {
	int (*fn)(const char *, size_t, void *, struct verr *);
	void *arg;
	struct buf name;
};

static int
ph_thunk(const char *name, size_t len, size_t idx, void *arg, struct verr *e)
{
	struct ph_thunk *t = arg;

	buf_reset(&t->name);
	buf_add(&t->name, name, len);
	return t->fn(buf_str(&t->name), idx, t->arg, e);
}

int
argtpl_placeholders(yajl_val args,
    int (*fn)(const char *name, size_t index, void *arg, struct verr *e),
    void *arg, struct verr *e)
{
	static const struct walk_ops ops = { NULL, ph_thunk };
	struct ph_thunk t = { fn, arg, BUF_INIT };
	int rc;

	rc = walk_all(args, &ops, &t, e);
	buf_free(&t.name);
	return rc;
}

/* --- resolving placeholders: shared by the check and the expansion ------ */

struct ctx {
	yajl_val input;
	const struct argtpl_vars *vars;	/* NULL: check only */
	int has_output_file;
	int check_input;		/* 0: registration, no input yet */
	struct buf *out;		/* NULL: check only */
	/* Every input at fault, not the first only (argtpl_check_input_all):
	 * each is added here and the walk goes on. */
	struct verr_list *all;
	int failed;
};

static int
name_is(const char *name, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(name, word, len) == 0;
}

static yajl_val
input_get(yajl_val input, const char *name, size_t len)
{
	size_t i;

	if (!YAJL_IS_OBJECT(input))
		return NULL;
	for (i = 0; i < input->u.object.len; i++)
		if (name_is(name, len, input->u.object.keys[i]))
			return input->u.object.values[i];
	return NULL;
}

static int
reserved(struct ctx *c, const char *name, size_t len, size_t idx,
    struct verr *e)
{
	const char *val = NULL;
	char f[32];

	snprintf(f, sizeof(f), "args[%zu]", idx);
	if (name_is(name, len, "output_file")) {
		if (c->vars != NULL ? c->vars->output_file == NULL :
		    !c->has_output_file) {
			verr_set(e, f, "%s uses {output_file}, but the script "
			    "declares no outputs.file", f);
			return -1;
		}
		val = c->vars != NULL ? c->vars->output_file : NULL;
	} else if (c->vars != NULL) {
		val = name_is(name, len, "workdir") ? c->vars->workdir :
		    c->vars->execution_id;
		if (val == NULL) {	/* a caller's bug, not the user's */
			verr_set(e, f, "%s uses {%.*s}, which this run does "
			    "not have", f, (int)len, name);
			return -1;
		}
	}
	if (c->out != NULL && val != NULL)
		buf_adds(c->out, val);
	return 0;
}

static int
resolve(const char *name, size_t len, size_t idx, void *arg, struct verr *e)
{
	struct ctx *c = arg;
	struct buf path = BUF_INIT, key = BUF_INIT;
	yajl_val v;
	int rc = -1;

	if (name_is(name, len, "workdir") || name_is(name, len, "output_file")
	    || name_is(name, len, "execution_id"))
		return reserved(c, name, len, idx, e);
	if (!c->check_input)
		return 0;
	v = input_get(c->input, name, len);
	if (YAJL_IS_STRING(v) || YAJL_IS_NUMBER(v)) {
		if (c->out == NULL)
			return 0;
		if (YAJL_IS_STRING(v))
			buf_adds(c->out, v->u.string);
		else if (v->u.number.r != NULL)
			buf_adds(c->out, v->u.number.r);
		else if (YAJL_IS_INTEGER(v))	/* built in code, not parsed */
			buf_printf(c->out, "%lld", v->u.number.i);
		else
			buf_printf(c->out, "%.17g", v->u.number.d);
		return 0;
	}
	buf_add(&key, name, len);
	buf_adds(&path, "input");
	schema_path_key(&path, buf_str(&key));
	if (v == NULL)
		verr_set(e, buf_str(&path), "%s is required: args[%zu] uses "
		    "{%s}", buf_str(&path), idx, buf_str(&key));
	else
		verr_set(e, buf_str(&path), "%s must be a string or a number "
		    "to fill {%s} in args[%zu], not %s", buf_str(&path),
		    buf_str(&key), idx, YAJL_IS_OBJECT(v) ? "an object" :
		    YAJL_IS_ARRAY(v) ? "an array" : YAJL_IS_NULL(v) ? "null" :
		    "a boolean");
	buf_free(&path);
	buf_free(&key);
	if (c->all != NULL) {
		verr_list_add(c->all, e);
		c->failed = 1;
		return 0;
	}
	return rc;
}

static void
literal(const char *s, size_t len, void *arg)
{
	struct ctx *c = arg;

	buf_add(c->out, s, len);
}

int
argtpl_check_input(yajl_val args, yajl_val input, int has_output_file,
    struct verr *e)
{
	return argtpl_check_input_all(args, input, has_output_file, e, NULL);
}

int
argtpl_check_input_all(yajl_val args, yajl_val input, int has_output_file,
    struct verr *e, struct verr_list *all)
{
	static const struct walk_ops ops = { NULL, resolve };
	struct ctx c = { input, NULL, has_output_file, input != NULL, NULL,
	    all, 0 };

	if (walk_all(args, &ops, &c, e) == -1)
		return -1;
	return c.failed ? -1 : 0;
}

int
argtpl_expand(yajl_val args, yajl_val input, const struct argtpl_vars *vars,
    char ***argv_out, struct verr *e)
{
	static const struct walk_ops ops = { literal, resolve };
	struct buf cur = BUF_INIT;
	struct ctx c = { input, vars, vars->output_file != NULL, 1, &cur,
	    NULL, 0 };
	char **argv = NULL;
	size_t i, n;

	*argv_out = NULL;
	if (shape_check(args, e) == -1)
		return -1;
	n = args != NULL ? args->u.array.len : 0;
	if ((argv = calloc(n + 1, sizeof(*argv))) == NULL)
		fatal("calloc argv of %zu entries", n + 1);
	for (i = 0; i < n; i++) {
		buf_reset(&cur);
		if (walk(args->u.array.values[i]->u.string, i, &ops, &c,
		    e) == -1) {
			buf_free(&cur);
			argtpl_free(argv);
			return -1;
		}
		/* "" must become an empty entry, not a NULL end marker. */
		argv[i] = buf_detach(&cur, NULL);
	}
	buf_free(&cur);
	*argv_out = argv;
	return 0;
}

void
argtpl_free(char **argv)
{
	size_t i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}
