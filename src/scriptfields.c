/*
 * scriptfields.c - the rules of each field of a script, one setter per
 * field, and the rules that span fields.
 *
 * Each setter checks its value and, only when it is good, replaces the
 * member (JSON members are stored as compact JSON text). The messages
 * name the field as the contract does, so the API can point at it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argtpl.h"
#include "buf.h"
#include "callback.h"
#include "conf.h"
#include "fsutil.h"
#include "inputenv.h"
#include "json.h"
#include "labels.h"
#include "names.h"
#include "reqs.h"
#include "runlimits.h"
#include "schema.h"
#include "scriptfields.h"
#include "scriptfile.h"
#include "secret.h"

/* What fits the TEXT columns (description, requirements, args, outputs,
 * env); inputs is MEDIUMTEXT, bounded by the request body limit. */
#define TEXT_MAX 65535
#define OUTPUT_FILE_MAX 1024
#define MAX_CONCURRENCY_MAX 1000000

/* The defaults of the optional fields, as stored. */
#define DEFAULT_ARGS "[]"
#define DEFAULT_INPUT_MODE "both"
#define DEFAULT_OUTPUTS "{\"stdout\":\"text\"}"
#define DEFAULT_ENV "{}"

/* Replaces *dst with a copy of src (NULL stays NULL). */
static void
set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src != NULL ? xstrdup(src) : NULL;
}

/* Replaces *dst with the compact JSON text of v. */
static void
set_json(char **dst, yajl_val v)
{
	struct buf b = BUF_INIT;

	json_dump(&b, v);
	free(*dst);
	*dst = buf_detach(&b, NULL);
}

static int
is_null(yajl_val v)
{
	return v == NULL || YAJL_IS_NULL(v);
}

static int
is_int(yajl_val v)
{
	return YAJL_IS_INTEGER(v) && schema_is_integer(v);
}

/* A string of at most TEXT_MAX bytes. */
static int
check_text(yajl_val v, const char *field, struct verr *e)
{
	if (!YAJL_IS_STRING(v)) {
		verr_set(e, field, "%s must be a string", field);
		return -1;
	}
	if (strlen(v->u.string) > TEXT_MAX) {
		verr_set(e, field, "%s must be at most %d bytes", field,
		    TEXT_MAX);
		return -1;
	}
	return 0;
}

/* A relative path inside the work dir, in normal form (fs_path_normal). */
static int
check_output_file(const char *f, struct verr *e)
{
	if (*f == '\0' || strlen(f) > OUTPUT_FILE_MAX) {
		verr_set(e, "outputs.file", "outputs.file must be a relative "
		    "path of 1 to %d bytes", OUTPUT_FILE_MAX);
		return -1;
	}
	if (*f == '/') {
		verr_set(e, "outputs.file", "outputs.file must be relative to "
		    "the work dir, not absolute");
		return -1;
	}
	if (!fs_path_normal(f, FS_PATH_RELATIVE)) {
		verr_set(e, "outputs.file", "outputs.file must be a normalized "
		    "relative path (no \".\" or \"..\" segments, no \"//\", "
		    "no trailing \"/\")");
		return -1;
	}
	return 0;
}

/* One member of outputs: stdout's mode or the file, else refused. */
static int
check_output(const char *k, yajl_val x, const char **stdout_mode,
    const char **file, struct verr *e)
{
	struct buf f = BUF_INIT;

	if (strcmp(k, "stdout") == 0) {
		if (!YAJL_IS_STRING(x) || (strcmp(x->u.string, "text") &&
		    strcmp(x->u.string, "json"))) {
			verr_set(e, "outputs.stdout", "outputs.stdout must be "
			    "\"text\" or \"json\"");
			return -1;
		}
		*stdout_mode = x->u.string;
		return 0;
	}
	if (strcmp(k, "file") == 0) {
		if (!YAJL_IS_STRING(x)) {
			verr_set(e, "outputs.file", "outputs.file must be a "
			    "string");
			return -1;
		}
		if (check_output_file(x->u.string, e) == -1)
			return -1;
		*file = x->u.string;
		return 0;
	}
	buf_adds(&f, "outputs");
	schema_path_key(&f, k);
	verr_set(e, buf_str(&f), "unknown output \"%s\": outputs has only "
	    "stdout and file", k);
	buf_free(&f);
	return -1;
}

/* Checks outputs and writes its stored form: stdout always present. */
static int
check_outputs(yajl_val v, struct buf *out, struct verr *e)
{
	const char *stdout_mode = "text", *file = NULL;
	struct jw w;

	if (!YAJL_IS_OBJECT(v)) {
		verr_set(e, "outputs", "outputs must be an object such as "
		    "{\"stdout\": \"json\", \"file\": \"result.png\"}");
		return -1;
	}
	for (size_t i = 0; i < v->u.object.len; i++) {
		const char *k = v->u.object.keys[i];

		for (size_t j = 0; j < i; j++)
			if (strcmp(v->u.object.keys[j], k) == 0) {
				verr_set(e, "outputs", "outputs names \"%s\" "
				    "twice", k);
				return -1;
			}
		if (check_output(k, v->u.object.values[i], &stdout_mode,
		    &file, e) == -1)
			return -1;
	}
	jw_init(&w, out);
	jw_obj(&w);
	jw_key(&w, "stdout");
	jw_str(&w, stdout_mode);
	if (file != NULL) {
		jw_key(&w, "file");
		jw_str(&w, file);
	}
	jw_obj_end(&w);
	jw_free(&w);
	return 0;
}

/*
 * A field holding JSON (args, env): null puts back `def`; otherwise the
 * value must be an array (want_array) or an object, pass `check`, and its
 * compact text must fit the column.
 */
static int
set_checked_json(char **dst, yajl_val v, const char *name, const char *def,
    int want_array, const char *kind, int (*check)(yajl_val, struct verr *),
    struct verr *e)
{
	if (is_null(v)) {
		set_str(dst, def);
		return 0;
	}
	if (want_array ? !YAJL_IS_ARRAY(v) : !YAJL_IS_OBJECT(v)) {
		verr_set(e, name, "%s must be %s", name, kind);
		return -1;
	}
	if (check(v, e) == -1)
		return -1;
	set_json(dst, v);
	if (strlen(*dst) > TEXT_MAX) {
		verr_set(e, name, "%s must be at most %d bytes as JSON", name,
		    TEXT_MAX);
		return -1;
	}
	return 0;
}

/* An integer from 1 to max, into *out. */
static int
set_count(int *out, yajl_val v, long long max)
{
	if (!is_int(v) || v->u.number.i < 1 || v->u.number.i > max)
		return -1;
	*out = (int)v->u.number.i;
	return 0;
}

/* The setters, one per field: 0, or -1 with e. */
typedef int (*field_setter)(const struct conf *, yajl_val, struct script *,
    struct verr *);

static int
set_name(const struct conf *c, yajl_val v, struct script *s, struct verr *e)
{
	(void)c;
	if (!YAJL_IS_STRING(v)) {
		verr_set(e, "name", "name must be a string");
		return -1;
	}
	if (names_check_script(v->u.string, e) == -1)
		return -1;
	snprintf(s->name, sizeof(s->name), "%s", v->u.string);
	return 0;
}

static int
set_type(const struct conf *c, yajl_val v, struct script *s, struct verr *e)
{
	(void)c;
	if (!YAJL_IS_STRING(v) || !script_type_valid(v->u.string)) {
		verr_set(e, "type", "type must be shell, python or binary");
		return -1;
	}
	snprintf(s->type, sizeof(s->type), "%s", v->u.string);
	return 0;
}

/* The path's form and its file are checked with the merged result. */
static int
set_path(const struct conf *c, yajl_val v, struct script *s, struct verr *e)
{
	(void)c;
	if (!YAJL_IS_STRING(v)) {
		verr_set(e, "path", "path must be a string");
		return -1;
	}
	set_str(&s->path, v->u.string);
	return 0;
}

static int
set_description(const struct conf *c, yajl_val v, struct script *s,
    struct verr *e)
{
	(void)c;
	if (!is_null(v) && check_text(v, "description", e) == -1)
		return -1;
	set_str(&s->description, is_null(v) ? "" : v->u.string);
	return 0;
}

static int
set_enabled(const struct conf *c, yajl_val v, struct script *s,
    struct verr *e)
{
	(void)c;
	if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
		verr_set(e, "enabled", "enabled must be true or false");
		return -1;
	}
	s->enabled = YAJL_IS_TRUE(v);
	return 0;
}

/* Checked against the type once every field is applied. */
static int
set_requirements(const struct conf *c, yajl_val v, struct script *s,
    struct verr *e)
{
	(void)c;
	if (!is_null(v) && check_text(v, "requirements", e) == -1)
		return -1;
	set_str(&s->requirements, is_null(v) ? NULL : v->u.string);
	return 0;
}

static int
set_args(const struct conf *c, yajl_val v, struct script *s, struct verr *e)
{
	(void)c;
	return set_checked_json(&s->args_json, v, "args", DEFAULT_ARGS, 1,
	    "an array of strings", argtpl_check, e);
}

static int
set_input_mode(const struct conf *c, yajl_val v, struct script *s,
    struct verr *e)
{
	const char *m = DEFAULT_INPUT_MODE;

	(void)c;
	if (!is_null(v)) {
		if (!YAJL_IS_STRING(v) || (strcmp(v->u.string, "env") &&
		    strcmp(v->u.string, "stdin") &&
		    strcmp(v->u.string, "both"))) {
			verr_set(e, "input_mode", "input_mode must be env, "
			    "stdin or both");
			return -1;
		}
		m = v->u.string;
	}
	snprintf(s->input_mode, sizeof(s->input_mode), "%s", m);
	return 0;
}

static int
set_inputs(const struct conf *c, yajl_val v, struct script *s,
    struct verr *e)
{
	(void)c;
	if (is_null(v)) {
		set_str(&s->inputs_json, NULL);
		return 0;
	}
	if (schema_check(v, e) == -1)
		return -1;
	set_json(&s->inputs_json, v);
	return 0;
}

static int
set_outputs(const struct conf *c, yajl_val v, struct script *s,
    struct verr *e)
{
	struct buf b = BUF_INIT;

	(void)c;
	if (is_null(v)) {
		set_str(&s->outputs_json, DEFAULT_OUTPUTS);
		return 0;
	}
	if (check_outputs(v, &b, e) == -1) {
		buf_free(&b);
		return -1;
	}
	free(s->outputs_json);
	s->outputs_json = buf_detach(&b, NULL);
	return 0;
}

static int
set_env(const struct conf *c, yajl_val v, struct script *s, struct verr *e)
{
	(void)c;
	return set_checked_json(&s->env_json, v, "env", DEFAULT_ENV, 0,
	    "an object of strings", inputenv_check_script_env, e);
}

/* The names the environment of a run may take from a script: those of
 * inputenv_check_script_env (letters, digits and _, not starting with a
 * digit; not PATH, HOME, TMPDIR, INPUT_* or SCRIPTORCH_*, which
 * scriptorch sets). */
static int
check_secret_name(const char *name, const char *field, struct verr *e)
{
	const char *p = name;

	if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
	    *p == '_')) {
		verr_set(e, field, "secret_env name \"%s\" is not a valid "
		    "variable name: use letters, digits and _, not starting "
		    "with a digit", name);
		return -1;
	}
	for (p++; *p != '\0'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_')) {
			verr_set(e, field, "secret_env name \"%s\" is not a "
			    "valid variable name: use letters, digits and _, "
			    "not starting with a digit", name);
			return -1;
		}
	if (strcmp(name, "PATH") == 0 || strcmp(name, "HOME") == 0 ||
	    strcmp(name, "TMPDIR") == 0 || strncmp(name, "INPUT_", 6) == 0 ||
	    strncmp(name, "SCRIPTORCH_", 11) == 0) {
		verr_set(e, field, "secret_env may not set %s: PATH, HOME, "
		    "TMPDIR, INPUT_* and SCRIPTORCH_* are set by scriptorch",
		    name);
		return -1;
	}
	return 0;
}

/* The member of object `v` named `key`, or NULL. */
static yajl_val
member(yajl_val v, const char *key)
{
	for (size_t i = 0; YAJL_IS_OBJECT(v) && i < v->u.object.len; i++)
		if (strcmp(v->u.object.keys[i], key) == 0)
			return v->u.object.values[i];
	return NULL;
}

/* "***", what a read shows, given back for a name: keep its value. */
static int
is_kept(yajl_val x)
{
	return YAJL_IS_STRING(x) && strcmp(x->u.string, SECRET_MASK) == 0;
}

/* Each member of a secret_env object: a valid name, given once, with a
 * string that fits the environment (and a key to seal it), "***" for a
 * name stored already (`old`), or null. */
static int
check_secret_env(const struct conf *c, yajl_val v, yajl_val old,
    struct verr *e)
{
	struct buf f = BUF_INIT;
	int rc = -1;

	for (size_t i = 0; i < v->u.object.len; i++) {
		const char *name = v->u.object.keys[i];
		yajl_val x = v->u.object.values[i];

		buf_reset(&f);
		buf_adds(&f, "secret_env");
		schema_path_key(&f, name);
		if (check_secret_name(name, buf_str(&f), e) == -1)
			goto out;
		for (size_t j = 0; j < i; j++)
			if (strcmp(v->u.object.keys[j], name) == 0) {
				verr_set(e, buf_str(&f), "secret_env sets %s "
				    "twice", name);
				goto out;
			}
		if (is_null(x))
			continue;
		if (!YAJL_IS_STRING(x)) {
			verr_set(e, buf_str(&f), "%s must be a string (or null "
			    "to remove it)", buf_str(&f));
			goto out;
		}
		if (is_kept(x)) {
			if (member(old, name) != NULL)
				continue;
			verr_set(e, buf_str(&f), "%s is \"%s\", which keeps a "
			    "stored value, but %s has none: give its value",
			    buf_str(&f), SECRET_MASK, name);
			goto out;
		}
		if (strlen(name) + 1 + strlen(x->u.string) >
		    INPUTENV_MAX_STRING) {
			verr_set(e, buf_str(&f), "%s is too long for the "
			    "environment (at most %d bytes with its name)",
			    buf_str(&f), INPUTENV_MAX_STRING);
			goto out;
		}
		if (!c->has_secret_key) {
			verr_set(e, buf_str(&f), "secret_env values cannot be "
			    "stored: this node has no secret key (the file "
			    "\"%s\" does not exist; make it with \"scriptorchd "
			    "secret-key create\" and reload the daemon)",
			    c->secret_key_file);
			goto out;
		}
	}
	rc = 0;
out:
	buf_free(&f);
	return rc;
}

/* Writes NAME: the sealed form of `plain`. */
static void
write_sealed(const struct conf *c, struct jw *w, const char *name,
    const char *plain)
{
	struct buf sealed = BUF_INIT;

	secret_seal(&c->secret_key, plain, strlen(plain), &sealed);
	jw_key(w, name);
	jw_str(w, buf_str(&sealed));
	buf_free(&sealed);
}

/*
 * The merge of a PATCH into the stored secret_env (see scriptfields.h):
 * the stored names in their order, each replaced, removed or kept, then
 * the new names in the order given. No name left: NULL.
 */
static int
set_secret_env(const struct conf *c, yajl_val v, struct script *s,
    struct verr *e)
{
	struct buf out = BUF_INIT;
	struct jw w;
	yajl_val old = NULL, x;
	size_t n = 0;

	if (is_null(v)) {
		set_str(&s->secret_env_json, NULL);
		return 0;
	}
	if (!YAJL_IS_OBJECT(v)) {
		verr_set(e, "secret_env", "secret_env must be an object of "
		    "strings (null for a name removes it)");
		return -1;
	}
	if (s->secret_env_json != NULL)
		old = json_parse(s->secret_env_json,
		    strlen(s->secret_env_json), NULL, 0);
	if (check_secret_env(c, v, old, e) == -1) {
		yajl_tree_free(old);
		return -1;
	}
	jw_init(&w, &out);
	jw_obj(&w);
	for (size_t i = 0; YAJL_IS_OBJECT(old) && i < old->u.object.len; i++) {
		const char *name = old->u.object.keys[i];

		if ((x = member(v, name)) == NULL || is_kept(x)) {
			jw_key(&w, name);
			jw_value(&w, old->u.object.values[i]);
		} else if (YAJL_IS_STRING(x)) {
			write_sealed(c, &w, name, x->u.string);
		} else {
			continue;       /* null: removed */
		}
		n++;
	}
	for (size_t i = 0; i < v->u.object.len; i++) {
		const char *name = v->u.object.keys[i];

		x = v->u.object.values[i];
		if (!YAJL_IS_STRING(x) || member(old, name) != NULL)
			continue;
		write_sealed(c, &w, name, x->u.string);
		n++;
	}
	jw_obj_end(&w);
	jw_free(&w);
	yajl_tree_free(old);
	free(s->secret_env_json);
	s->secret_env_json = n > 0 ? buf_detach(&out, NULL) : NULL;
	buf_free(&out);
	return 0;
}

static int
set_timeout(const struct conf *c, yajl_val v, struct script *s,
    struct verr *e)
{
	if (is_null(v)) {
		s->timeout_s = c->default_timeout_s;
		return 0;
	}
	if (set_count(&s->timeout_s, v, c->max_timeout_s) == -1) {
		verr_set(e, "timeout_s", "timeout_s must be an integer from 1 "
		    "to %d", c->max_timeout_s);
		return -1;
	}
	return 0;
}

static int
set_max_concurrency(const struct conf *c, yajl_val v, struct script *s,
    struct verr *e)
{
	(void)c;
	if (is_null(v)) {
		s->max_concurrency = 0;
		return 0;
	}
	if (set_count(&s->max_concurrency, v, MAX_CONCURRENCY_MAX) == -1) {
		verr_set(e, "max_concurrency", "max_concurrency must be null "
		    "(no limit) or an integer from 1 to %d",
		    MAX_CONCURRENCY_MAX);
		return -1;
	}
	return 0;
}

/* The limits it sets (null or {}: none, the config's defaults), each
 * within the config's maximum. */
static int
set_limits(const struct conf *c, yajl_val v, struct script *s,
    struct verr *e)
{
	struct buf b = BUF_INIT;

	if (is_null(v)) {
		set_str(&s->limits_json, NULL);
		return 0;
	}
	if (limits_check(c, v, &b, e) == -1) {
		buf_free(&b);
		return -1;
	}
	set_str(&s->limits_json, strcmp(buf_str(&b), "{}") == 0 ? NULL :
	    buf_str(&b));
	buf_free(&b);
	return 0;
}

static int
set_network(const struct conf *c, yajl_val v, struct script *s,
    struct verr *e)
{
	const char *n = "host";

	(void)c;
	if (!is_null(v) && limits_network_check(v, &n, e) == -1)
		return -1;
	snprintf(s->network, sizeof(s->network), "%s", n);
	return 0;
}

/* The labels a node must have to run it (labels.h): an array of labels,
 * each once; null or [] for none. */
static int
set_node_labels(const struct conf *c, yajl_val v, struct script *s,
    struct verr *e)
{
	const char *names[LABELS_MAX];
	struct buf b = BUF_INIT;
	size_t n;

	(void)c;
	if (is_null(v)) {
		set_str(&s->node_labels, NULL);
		return 0;
	}
	if (!YAJL_IS_ARRAY(v)) {
		verr_set(e, "node_labels", "node_labels must be an array of "
		    "labels");
		return -1;
	}
	n = v->u.array.len;
	if (n > LABELS_MAX) {
		verr_set(e, "node_labels", "node_labels holds %zu labels; at "
		    "most %d", n, LABELS_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!YAJL_IS_STRING(v->u.array.values[i])) {
			char at[32];
			snprintf(at, sizeof(at), "node_labels[%zu]", i);
			verr_set(e, at, "%s must be a string", at);
			return -1;
		}
		names[i] = v->u.array.values[i]->u.string;
	}
	if (labels_canon(names, n, "node_labels", &b, e) == -1) {
		buf_free(&b);
		return -1;
	}
	set_str(&s->node_labels, b.len > 0 ? buf_str(&b) : NULL);
	buf_free(&b);
	return 0;
}

/* The executions' default callback URL (callback.h): checked against
 * the config's callback_allow_hosts, stored as libcurl normalizes it. */
static int
set_callback_url(const struct conf *c, yajl_val v, struct script *s,
    struct verr *e)
{
	struct buf url = BUF_INIT;
	char err[512];

	if (is_null(v)) {
		set_str(&s->callback_url, NULL);
		return 0;
	}
	if (!YAJL_IS_STRING(v)) {
		verr_set(e, "callback_url", "callback_url must be a string or "
		    "null");
		return -1;
	}
	if (!c->has_callback_secret) {
		verr_set(e, "callback_url", "callback_url cannot be accepted: "
		    "this node has no callback secret to sign callbacks with "
		    "(callback_secret, or the file \"%s\")",
		    c->callback_secret_file);
		return -1;
	}
	if (callback_url_check(v->u.string, c->callback_allow_hosts, &url,
	    err, sizeof(err)) == -1) {
		verr_set(e, "callback_url", "%s", err);
		buf_free(&url);
		return -1;
	}
	set_str(&s->callback_url, buf_str(&url));
	buf_free(&url);
	return 0;
}

/* Indexed by enum script_field. */
static const struct {
	const char *name;
	field_setter set;
} fields[SF_COUNT] = {
	[SF_NAME] = { "name", set_name },
	[SF_TYPE] = { "type", set_type },
	[SF_PATH] = { "path", set_path },
	[SF_DESCRIPTION] = { "description", set_description },
	[SF_ENABLED] = { "enabled", set_enabled },
	[SF_REQUIREMENTS] = { "requirements", set_requirements },
	[SF_ARGS] = { "args", set_args },
	[SF_INPUT_MODE] = { "input_mode", set_input_mode },
	[SF_INPUTS] = { "inputs", set_inputs },
	[SF_OUTPUTS] = { "outputs", set_outputs },
	[SF_ENV] = { "env", set_env },
	[SF_SECRET_ENV] = { "secret_env", set_secret_env },
	[SF_TIMEOUT] = { "timeout_s", set_timeout },
	[SF_MAX_CONCURRENCY] = { "max_concurrency", set_max_concurrency },
	[SF_LIMITS] = { "limits", set_limits },
	[SF_NETWORK] = { "network", set_network },
	[SF_NODE_LABELS] = { "node_labels", set_node_labels },
	[SF_CALLBACK_URL] = { "callback_url", set_callback_url },
};

/* In the script object, but only the server writes them. */
static const char *const readonly_names[] = {
	"id", "version", "created_at", "updated_at", "venv",
	"effective_limits", NULL,
};

void
scriptfields_defaults(const struct conf *c, struct script *s)
{
	s->enabled = 1;
	set_str(&s->description, "");
	set_str(&s->args_json, DEFAULT_ARGS);
	snprintf(s->input_mode, sizeof(s->input_mode), "%s", DEFAULT_INPUT_MODE);
	set_str(&s->outputs_json, DEFAULT_OUTPUTS);
	set_str(&s->env_json, DEFAULT_ENV);
	s->timeout_s = c->default_timeout_s;
	set_str(&s->limits_json, NULL);
	snprintf(s->network, sizeof(s->network), "host");
	set_str(&s->node_labels, NULL);
	set_str(&s->callback_url, NULL);
}

/* The field member `i` of `body` names, or -1 with e: given twice,
 * read-only or unknown. */
static int
field_of(yajl_val body, size_t i, struct verr *e)
{
	const char *k = body->u.object.keys[i];

	for (size_t j = 0; j < i; j++)
		if (strcmp(body->u.object.keys[j], k) == 0) {
			verr_set(e, k, "field \"%s\" is given twice", k);
			return -1;
		}
	for (int j = 0; readonly_names[j] != NULL; j++)
		if (strcmp(readonly_names[j], k) == 0) {
			verr_set(e, k, "%s is read-only", k);
			return -1;
		}
	for (int f = 0; f < SF_COUNT; f++)
		if (strcmp(fields[f].name, k) == 0)
			return f;
	verr_set(e, k, "unknown field \"%s\"", k);
	return -1;
}

/*
 * An error found: with `all` (every error wanted) it is added there and
 * the caller goes on (0); without, the caller stops (-1) with it in e.
 */
static int
found(struct verr *e, struct verr_list *all)
{
	if (all == NULL)
		return -1;
	verr_list_add(all, e);
	/* Enough said: no more work for a body made of errors. */
	return verr_list_full(all) ? -1 : 0;
}

/* Whether `all` holds an error about a field of `bits` (by the first
 * name of its path: "outputs.file" is about outputs). */
static int
in_error(const struct verr_list *all, unsigned bits)
{
	for (size_t i = 0; all != NULL && i < all->n; i++) {
		const char *p = all->v[i].field;
		size_t n = strcspn(p, ".[");

		for (int f = 0; f < SF_COUNT; f++)
			if ((bits & SF_BIT(f)) && strlen(fields[f].name) == n &&
			    strncmp(fields[f].name, p, n) == 0)
				return 1;
	}
	return 0;
}

/* scriptfields_apply, and with `all` every member tried (an invalid one
 * leaves its field as it was) and every error added there. */
static int
apply(const struct conf *c, yajl_val body, struct script *s,
    unsigned *changed, struct verr *e, struct verr_list *all)
{
	*changed = 0;
	if (!YAJL_IS_OBJECT(body)) {
		verr_set(e, NULL, "the script must be a JSON object");
		return -1;
	}
	for (size_t i = 0; i < body->u.object.len; i++) {
		int f = field_of(body, i, e);

		if (f == -1 ||
		    fields[f].set(c, body->u.object.values[i], s, e) == -1) {
			if (found(e, all) == -1)
				return -1;
			continue;
		}
		*changed |= SF_BIT(f);
	}
	return 0;
}

int
scriptfields_apply(const struct conf *c, yajl_val body, struct script *s,
    unsigned *changed, struct verr *e)
{
	return apply(c, body, s, changed, e, NULL);
}

static int
require(unsigned changed, struct verr *e, struct verr_list *all)
{
	static const enum script_field required[] = {
		SF_NAME, SF_TYPE, SF_PATH,
	};

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!(changed & SF_BIT(required[i])) &&
		    !in_error(all, SF_BIT(required[i]))) {
			verr_set(e, fields[required[i]].name, "%s is required",
			    fields[required[i]].name);
			if (found(e, all) == -1)
				return -1;
		}
	return 0;
}

int
scriptfields_require(unsigned changed, struct verr *e)
{
	return require(changed, e, NULL);
}

/* A name is in env or in secret_env, not both: the run would have to
 * pick one without telling. */
static int
check_env_apart(const struct script *s, struct verr *e)
{
	yajl_val env = NULL, sec = NULL;
	struct buf f = BUF_INIT;
	int rc = 0;

	if (s->secret_env_json == NULL || s->env_json == NULL)
		return 0;
	env = json_parse(s->env_json, strlen(s->env_json), NULL, 0);
	sec = json_parse(s->secret_env_json, strlen(s->secret_env_json), NULL,
	    0);
	for (size_t i = 0; YAJL_IS_OBJECT(sec) && i < sec->u.object.len; i++) {
		const char *name = sec->u.object.keys[i];

		if (member(env, name) == NULL)
			continue;
		buf_adds(&f, "secret_env");
		schema_path_key(&f, name);
		verr_set(e, buf_str(&f), "%s is in env too: a variable is set "
		    "by env or by secret_env, not both", name);
		rc = -1;
		break;
	}
	buf_free(&f);
	yajl_tree_free(env);
	yajl_tree_free(sec);
	return rc;
}

/*
 * scriptfields_check; with `all`, every rule is tried and its error added
 * there, except a rule about a field `all` already holds an error for
 * (its value is not the one given: the rule would judge the stored one,
 * or none).
 */
static int
check(const struct conf *c, void *magic, const struct script *s,
    unsigned changed, struct verr *e, struct verr_list *all)
{
	yajl_val args = NULL, outputs = NULL;
	struct buf reqs = BUF_INIT;
	const unsigned reqs_bits = SF_BIT(SF_TYPE) | SF_BIT(SF_REQUIREMENTS);
	int rc = -1;

	if (!in_error(all, reqs_bits) && strcmp(s->type, "python") != 0 &&
	    s->requirements != NULL) {
		verr_set(e, "requirements", "requirements are only for python "
		    "scripts (this one is %s)", s->type);
		if (found(e, all) == -1)
			goto out;
	}
	/* Where packages may come from is checked when the requirements
	 * are written (the config may allow more later; the builder checks
	 * again at every build). */
	if (!in_error(all, reqs_bits) && s->requirements != NULL &&
	    (reqs_normalize(s->requirements, &reqs, e) == -1 ||
	    ((changed & SF_BIT(SF_REQUIREMENTS)) &&
	    reqs_check_sources(buf_str(&reqs), c->allow_direct_urls,
	    c->allow_sdist, e) == -1)) && found(e, all) == -1)
		goto out;
	if (!in_error(all, SF_BIT(SF_ARGS) | SF_BIT(SF_OUTPUTS))) {
		args = json_parse(s->args_json, strlen(s->args_json), NULL, 0);
		outputs = json_parse(s->outputs_json, strlen(s->outputs_json),
		    NULL, 0);
		if (argtpl_check_input(args, NULL, json_get(outputs, "file") !=
		    NULL, e) == -1 && found(e, all) == -1)
			goto out;
	}
	if (!in_error(all, SF_BIT(SF_ENV) | SF_BIT(SF_SECRET_ENV)) &&
	    check_env_apart(s, e) == -1 && found(e, all) == -1)
		goto out;
	if ((changed & (SF_BIT(SF_PATH) | SF_BIT(SF_TYPE))) &&
	    s->path != NULL && s->type[0] != '\0' &&
	    !in_error(all, SF_BIT(SF_PATH) | SF_BIT(SF_TYPE)) &&
	    scriptfile_check(c, magic, s->type, s->path, 1, NULL, e) == -1 &&
	    found(e, all) == -1)
		goto out;
	rc = 0;
out:
	yajl_tree_free(args);
	yajl_tree_free(outputs);
	buf_free(&reqs);
	return rc;
}

int
scriptfields_check(const struct conf *c, void *magic,
    const struct script *s, unsigned changed, struct verr *e)
{
	return check(c, magic, s, changed, e, NULL);
}

int
scriptfields_validate(const struct conf *c, void *magic, yajl_val body,
    struct script *s, int create, unsigned *changed, struct verr *e,
    struct verr_list *all)
{
	struct verr one;

	verr_clear(&one);
	if (apply(c, body, s, changed, &one, all) == -1) {
		/* Not an object: nothing else can be said. */
		verr_list_add(all, &one);
		goto failed;
	}
	if (create)
		(void)require(*changed, &one, all);
	(void)check(c, magic, s, *changed, &one, all);
	if (all->n == 0)
		return 0;
failed:
	*e = all->v[0];
	return -1;
}

void
scriptfields_names(unsigned changed, struct buf *out)
{
	for (int f = 0; f < SF_COUNT; f++)
		if (changed & SF_BIT(f)) {
			if (out->len > 0)
				buf_adds(out, ",");
			buf_adds(out, fields[f].name);
		}
}
