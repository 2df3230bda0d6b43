#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "inputenv.h"
#include "json.h"
#include "log.h"
#include "schema.h"

/* The layers of the header, in increasing precedence. */
enum layer {
	L_DEFAULT = 1, L_SCRIPT, L_FIXED, L_INPUT, L_RUN, L_EXTRA
};

struct ent {
	char *s;		/* "NAME=value", owned */
	size_t namelen;
	enum layer layer;
	size_t seq;		/* insertion order, breaks ties in the sort */
	const char *key;	/* the input key or script env name, borrowed */
};

struct envlist {
	struct ent *v;
	size_t n, cap;
};

static void
envlist_free(struct envlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].s);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static void
add(struct envlist *l, const char *name, size_t namelen, const char *value,
    enum layer layer, const char *key)
{
	struct buf b = BUF_INIT;
	struct ent *ent;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 32;

		if ((ent = reallocarray(l->v, ncap, sizeof(*ent))) == NULL)
			fatal("reallocarray %zu env entries", ncap);
		l->v = ent;
		l->cap = ncap;
	}
	buf_add(&b, name, namelen);
	buf_addc(&b, '=');
	buf_adds(&b, value);
	ent = &l->v[l->n];
	ent->s = buf_detach(&b, NULL);
	ent->namelen = namelen;
	ent->layer = layer;
	ent->seq = l->n;
	ent->key = key;
	l->n++;
}

static void
adds(struct envlist *l, const char *name, const char *value, enum layer layer)
{
	add(l, name, strlen(name), value, layer, NULL);
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	size_t n = x->namelen < y->namelen ? x->namelen : y->namelen;
	int c = memcmp(x->s, y->s, n);

	if (c != 0)
		return c;
	if (x->namelen != y->namelen)
		return x->namelen < y->namelen ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* --- names -------------------------------------------------------------- */

void
inputenv_key_name(const char *key, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)key;
	size_t n;

	buf_adds(out, "INPUT_");
	while (*p != '\0') {
		if (*p >= 'a' && *p <= 'z') {
			buf_addc(out, (char)(*p - 'a' + 'A'));
			p++;
		} else if ((*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_') {
			buf_addc(out, (char)*p);
			p++;
		} else {
			/* One `_` per character: a UTF-8 lead byte takes
			 * its continuation bytes with it. */
			buf_addc(out, '_');
			n = *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : *p >= 0xC0 ? 1 : 0;
			for (p++; n > 0 && (*p & 0xC0) == 0x80; n--)
				p++;
		}
	}
}

static int
env_name_valid(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
	    *s == '_'))
		return 0;
	for (s++; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static int
env_name_reserved(const char *s)
{
	return strcmp(s, "PATH") == 0 || strcmp(s, "HOME") == 0 ||
	    strcmp(s, "TMPDIR") == 0 || strncmp(s, "INPUT_", 6) == 0 ||
	    strncmp(s, "SCRIPTORCH_", 11) == 0;
}

int
inputenv_check_script_env(yajl_val env, struct verr *e)
{
	struct buf f = BUF_INIT;
	const char *name;
	yajl_val v;
	size_t i, j;
	int rc = -1;

	if (env == NULL)
		return 0;
	if (!YAJL_IS_OBJECT(env)) {
		verr_set(e, "env", "env must be an object of strings");
		return -1;
	}
	for (i = 0; i < env->u.object.len; i++) {
		name = env->u.object.keys[i];
		v = env->u.object.values[i];
		buf_reset(&f);
		buf_adds(&f, "env");
		schema_path_key(&f, name);
		if (name[0] == '\0') {
			verr_set(e, "env", "env has an empty variable name");
			goto out;
		}
		if (!env_name_valid(name)) {
			verr_set(e, buf_str(&f), "env name \"%s\" is not a valid "
			    "variable name: use letters, digits and _, not "
			    "starting with a digit", name);
			goto out;
		}
		if (env_name_reserved(name)) {
			verr_set(e, buf_str(&f), "env may not set %s: PATH, HOME, "
			    "TMPDIR, INPUT_* and SCRIPTORCH_* are set by "
			    "scriptorch", name);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (strcmp(env->u.object.keys[j], name) == 0) {
				verr_set(e, buf_str(&f), "env sets %s twice",
				    name);
				goto out;
			}
		if (!YAJL_IS_STRING(v)) {
			verr_set(e, buf_str(&f), "%s must be a string",
			    buf_str(&f));
			goto out;
		}
		if (strlen(name) + 1 + strlen(v->u.string) >
		    INPUTENV_MAX_STRING) {
			verr_set(e, buf_str(&f), "%s is too long for the "
			    "environment (at most %d bytes with its name)",
			    buf_str(&f), INPUTENV_MAX_STRING);
			goto out;
		}
	}
	rc = 0;
out:
	buf_free(&f);
	return rc;
}

/* --- building ----------------------------------------------------------- */

static int
too_deep(yajl_val v, int depth)
{
	size_t i;

	if (depth > INPUTENV_MAX_DEPTH)
		return 1;
	if (YAJL_IS_OBJECT(v)) {
		for (i = 0; i < v->u.object.len; i++)
			if (too_deep(v->u.object.values[i], depth + 1))
				return 1;
	} else if (YAJL_IS_ARRAY(v)) {
		for (i = 0; i < v->u.array.len; i++)
			if (too_deep(v->u.array.values[i], depth + 1))
				return 1;
	}
	return 0;
}

/* The text of one input value as INPUT_<KEY> carries it. */
static void
value_text(yajl_val v, struct buf *out)
{
	if (YAJL_IS_STRING(v))
		buf_adds(out, v->u.string);
	else if (YAJL_IS_NUMBER(v) && v->u.number.r != NULL)
		buf_adds(out, v->u.number.r);
	else if (YAJL_IS_TRUE(v))
		buf_adds(out, "true");
	else if (YAJL_IS_FALSE(v))
		buf_adds(out, "false");
	else if (v == NULL || YAJL_IS_NULL(v))
		buf_adds(out, "null");
	else
		json_dump(out, v);
}

static void
field_of(const struct ent *x, struct buf *f)
{
	if (x->layer == L_INPUT) {
		buf_adds(f, "input");
		schema_path_key(f, x->key);
	} else if (x->layer == L_SCRIPT) {
		buf_adds(f, "env");
		schema_path_key(f, x->key);
	} else if (x->namelen == 10 && memcmp(x->s, "INPUT_JSON", 10) == 0) {
		buf_adds(f, "input");
	}
}

/*
 * Sorts the list by name and keeps, for each name, the entry of the
 * highest layer (the last added). Two input keys on one name, or an input
 * key on a name the run itself sets, are errors instead. Sorting makes
 * this O(n log n): an input may have many thousands of keys.
 */
static int
resolve(struct envlist *l, char ***envp_out, struct verr *e)
{
	struct buf f = BUF_INIT;
	struct ent *a, *b;
	char **envp;
	size_t i, j, k, n = 0;

	qsort(l->v, l->n, sizeof(*l->v), ent_cmp);
	if ((envp = calloc(l->n + 1, sizeof(*envp))) == NULL)
		fatal("calloc %zu env entries", l->n + 1);
	for (i = 0; i < l->n; i = j) {
		for (j = i + 1; j < l->n && l->v[j].namelen == l->v[i].namelen &&
		    memcmp(l->v[j].s, l->v[i].s, l->v[i].namelen) == 0; j++)
			;
		for (k = i; k + 1 < j; k++) {
			a = &l->v[k];
			b = &l->v[k + 1];
			if (a->layer != L_INPUT)
				continue;
			buf_adds(&f, "input");
			schema_path_key(&f, a->key);
			if (b->layer == L_INPUT)
				verr_set(e, buf_str(&f), "input keys \"%s\" and "
				    "\"%s\" both become %.*s", a->key, b->key,
				    (int)a->namelen, a->s);
			else
				verr_set(e, buf_str(&f), "input key \"%s\" would "
				    "become %.*s, which scriptorch sets itself",
				    a->key, (int)a->namelen, a->s);
			goto fail;
		}
		b = &l->v[j - 1];
		if (strlen(b->s) > INPUTENV_MAX_STRING) {
			field_of(b, &f);
			verr_set(e, buf_str(&f), "%.*s is too large for the "
			    "environment (%zu bytes, at most %d); pass big "
			    "inputs with input_mode stdin", (int)b->namelen,
			    b->s, strlen(b->s), INPUTENV_MAX_STRING);
			goto fail;
		}
		envp[n++] = b->s;
		b->s = NULL;	/* moved into envp */
	}
	buf_free(&f);
	*envp_out = envp;
	return 0;
fail:
	buf_free(&f);
	inputenv_free(envp);
	return -1;
}

int
inputenv_build(yajl_val input, const char *mode, yajl_val script_env,
    const struct inputenv_vars *vars, char ***envp_out, struct buf *stdin_out,
    struct verr *e)
{
	struct envlist l = { NULL, 0, 0 };
	struct buf name = BUF_INIT, val = BUF_INIT, json = BUF_INIT;
	const char *const *x;
	const char *eq;
	int want_env, want_stdin, rc = -1;
	size_t i;

	*envp_out = NULL;
	if (mode == NULL || strcmp(mode, "both") == 0)
		want_env = want_stdin = 1;
	else if (strcmp(mode, "env") == 0)
		want_env = 1, want_stdin = 0;
	else if (strcmp(mode, "stdin") == 0)
		want_env = 0, want_stdin = 1;
	else {
		verr_set(e, "input_mode", "input_mode must be env, stdin or "
		    "both");
		return -1;
	}
	if (input != NULL && !YAJL_IS_OBJECT(input)) {
		verr_set(e, "input", "input must be an object");
		return -1;
	}
	/* The JSON writer gives up past its own depth limit; say so here. */
	if (input != NULL && too_deep(input, 1)) {
		verr_set(e, "input", "input nests deeper than %d levels",
		    INPUTENV_MAX_DEPTH);
		return -1;
	}
	if (input != NULL)
		json_dump(&json, input);
	else
		buf_adds(&json, "{}");

	adds(&l, "LANG", "C.UTF-8", L_DEFAULT);
	for (i = 0; YAJL_IS_OBJECT(script_env) && i < script_env->u.object.len;
	    i++)
		if (YAJL_IS_STRING(script_env->u.object.values[i]))
			add(&l, script_env->u.object.keys[i],
			    strlen(script_env->u.object.keys[i]),
			    script_env->u.object.values[i]->u.string, L_SCRIPT,
			    script_env->u.object.keys[i]);
	adds(&l, "PATH", vars->path, L_FIXED);
	adds(&l, "HOME", vars->workdir, L_FIXED);
	adds(&l, "TMPDIR", vars->tmpdir != NULL ? vars->tmpdir : vars->workdir,
	    L_FIXED);
	for (i = 0; want_env && input != NULL && i < input->u.object.len; i++) {
		buf_reset(&name);
		buf_reset(&val);
		inputenv_key_name(input->u.object.keys[i], &name);
		value_text(input->u.object.values[i], &val);
		add(&l, buf_str(&name), name.len, buf_str(&val), L_INPUT,
		    input->u.object.keys[i]);
	}
	if (want_env)
		adds(&l, "INPUT_JSON", buf_str(&json), L_RUN);
	adds(&l, "SCRIPTORCH_EXECUTION_ID", vars->execution_id, L_RUN);
	adds(&l, "SCRIPTORCH_WORKDIR", vars->workdir, L_RUN);
	if (vars->output_file != NULL)
		adds(&l, "SCRIPTORCH_OUTPUT_FILE", vars->output_file, L_RUN);
	for (x = vars->extra; x != NULL && *x != NULL; x++) {
		if ((eq = strchr(*x, '=')) == NULL || eq == *x)
			fatalx("inputenv: extra variable \"%s\" is not "
			    "NAME=value", *x);
		add(&l, *x, (size_t)(eq - *x), eq + 1, L_EXTRA, NULL);
	}

	if (resolve(&l, envp_out, e) == -1)
		goto out;
	if (want_stdin && stdin_out != NULL)
		buf_add(stdin_out, json.data, json.len);
	rc = 0;
out:
	envlist_free(&l);
	buf_free(&name);
	buf_free(&val);
	buf_free(&json);
	return rc;
}

void
inputenv_free(char **envp)
{
	size_t i;

	if (envp == NULL)
		return;
	for (i = 0; envp[i] != NULL; i++)
		free(envp[i]);
	free(envp);
}
